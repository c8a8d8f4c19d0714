"""``ModelFile``: what loading an amp-model file gives, whatever its format."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any


@dataclass
class ModelFile:
    """A loaded model: its architecture's description (``spec``, which a numba engine runs), or
    for an ONNX graph the pedal does not recognise, the graph itself (run by onnxruntime)."""

    path: str
    family: str                        # the format's registry name: nam, guitarml, onnx, ...
    spec: Any                          # an arch.*Spec; None: only onnxruntime runs the graph
    sample_rate: int
    metadata: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    engine_kind: str = "numba"         # numba | onnxruntime
    why_not_numba: str = ""
    check_error: float | None = None   # against the file's own reference output, if it has one
    rate_stated: bool = True           # False: the file states no rate, ``sample_rate`` assumed
    onnx: Any = None                   # onnx.runtime.OnnxGraph of an ONNX file
    sha256: str = ""                    # of the file's bytes (caches key on it)
    slim: float | None = None          # the slim value chosen (a model of several sizes)
    slim_note: str = ""                # which size plays and why

    @property
    def slimmable(self) -> bool:
        from .arch.slim import is_slimmable

        return self.spec is not None and is_slimmable(self.spec)

    def at_slim(self, value: float | None, why: str = "") -> "ModelFile":
        """This model at slim ``value`` (0..1, as NAM Core's SetSlimmableSize; None: the
        largest): the description of that size, with its own metadata (each size of a
        container states its own loudness). A model of one size is returned as it is."""
        if not self.slimmable:
            return self
        from .arch import slim

        v = 1.0 if value is None else float(value)
        sub = slim.at(self.spec, v)
        note = slim.describe(self.spec, v) + (f": {why}" if why else "")
        meta = {**self.metadata, **getattr(sub, "metadata", {})}
        meta.pop("loudness_measured", None)  # measured on another size
        return replace(self, spec=sub, metadata=meta, slim=v, slim_note=note,
                       notices=list(self.notices))

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def knob_count(self) -> int:
        if self.spec is not None:
            return getattr(self.spec, "input_size", 1) - 1
        return self.onnx.signature.knob_count

    def make_engine(self, knobs=(), fast_tanh: bool = False, precise: bool = False):
        """A new engine for this model. fast_tanh: WaveNets with NAM's tanh approximation (as
        NAM's plugin runs them); precise: LSTM/GRU in float64 (for comparisons with reference
        runtimes; real time runs float32)."""
        if self.engine_kind == "onnxruntime":
            from .onnx.runtime import OrtEngine

            return OrtEngine(self.onnx, knobs, self.path)
        from .arch.slim import at, is_slimmable
        from .registry import architecture

        spec = at(self.spec, 1.0) if is_slimmable(self.spec) else self.spec
        return architecture(spec).engine(spec, knobs, fast_tanh=fast_tanh, precise=precise)

    def describe(self) -> str:
        arch = self.spec.arch if self.spec is not None else "graph"
        fam = "" if self.family == "onnx" else f"{self.family} "
        return f"{self.name} ({fam}{arch}, {self.sample_rate} Hz, {self.engine_kind})"
