"""Amp models: every supported file family loads into one of a few in-memory descriptions
(recurrent, WaveNet, linear, SmartAmpPro) that run on numba engines, or (ONNX graphs the pedal does not
recognise) on onnxruntime. ``load_model`` picks the family by content, not by extension.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelError
from . import smartamppro
from .engines import make_engine
from .linear import LinearSpec
from .recurrent import RecurrentSpec
from .smartamppro import SmartAmpProSpec
from .wavenet import WaveNetSpec

MAX_JSON_BYTES = 32 * 1024 * 1024


@dataclass
class NativeModel:
    """A model file loaded into a description the numba engines run."""

    path: str
    family: str
    spec: RecurrentSpec | WaveNetSpec | LinearSpec | SmartAmpProSpec
    sample_rate: int
    metadata: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    engine_kind: str = "numba"
    check_error: float | None = None  # against the file's own reference output, if it has one

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def knob_count(self) -> int:
        return getattr(self.spec, "input_size", 1) - 1

    def make_engine(self, knobs=(), fast_tanh: bool = False, precise: bool = False):
        return make_engine(self.spec, knobs, fast_tanh, precise)

    def describe(self) -> str:
        return f"{self.name} ({self.family} {self.spec.arch}, {self.sample_rate} Hz, numba)"


def _family(doc) -> str:
    if not isinstance(doc, dict):
        return ""
    if "architecture" in doc and "config" in doc:
        return "nam"
    if "model_data" in doc and "state_dict" in doc:
        return "guitarml"
    if "layers" in doc and "in_shape" in doc:
        return "keras"
    if "variables" in doc and "dilations" in doc:
        return "wavenetva"
    if "conv1d" in doc and "lstm" in doc:
        return "smartamppro"
    return ""


def load_model(path):
    """Load any supported amp-model file; raises ModelError naming the file."""
    from .files import checked_model_file
    from .onnx.load import MAX_FILE_BYTES, load_onnx

    p, _ = checked_model_file(path, max(MAX_FILE_BYTES, MAX_JSON_BYTES))
    name = str(p)
    with open(p, "rb") as f:
        head = f.read(64).lstrip()
    if not head.startswith(b"{"):
        return load_onnx(p)
    checked_model_file(p, MAX_JSON_BYTES)
    try:
        doc = json.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ModelError(f"{name}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ModelError(f"{name}: invalid JSON at line {exc.lineno}, column {exc.colno}: "
                         f"{exc.msg} (truncated file?)") from None
    family = _family(doc)
    from . import json_models, nam

    if family == "nam":
        spec, sr, meta = nam.parse_nam(doc, name)
    elif family == "guitarml":
        spec, sr, meta = json_models.parse_guitarml(doc, name)
    elif family == "keras":
        spec, sr, meta = json_models.parse_keras(doc, name)
    elif family == "wavenetva":
        from .wavenetva import parse_wavenetva

        spec, sr, meta = parse_wavenetva(doc, name)
    elif family == "smartamppro":
        spec, sr, meta = smartamppro.parse_smartamppro(doc, name)
    else:
        raise ModelError(f"{name}: not a known amp-model format (NAM .nam, GuitarML, "
                         "AIDA-X/RTNeural, WaveNet or SmartAmpPro json, or ONNX)")
    model = NativeModel(name, family, spec, sr, dict(meta))
    if family == "keras":
        err = json_models.embedded_check(doc, model.make_engine(), name)
        model.check_error = err
        if err is not None and err > 1e-4:
            model.notices.append(f"{name}: differs from the file's own output_batch by "
                                 f"{err:.2g}")
    return model
