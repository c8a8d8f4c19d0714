"""The player's library for ``pedal match``: every model and IR file of the given folders (and
the bundled ones) that loads; each file that does not is skipped with its one-line reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .. import paths
from ..audio.ir import ImpulseResponse, load_ir
from ..errors import PedalError
from .features import RATE

MAX_FILES = 200          # per kind: a library folder is not a disk to crawl
MAX_IR_SECONDS = 2.0     # a cabinet, not a hall (longer files are skipped)


@dataclass
class Entry:
    path: Path | None
    item: object         # a ModelFile, or an ImpulseResponse at RATE (None: no cabinet)

    @property
    def name(self) -> str:
        return self.path.name if self.path else "(no cabinet)"


@dataclass
class Library:
    models: list[Entry] = field(default_factory=list)
    irs: list[Entry] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def _files(folders, suffixes) -> list[Path]:
    out: list[Path] = []
    for folder in folders:
        f = Path(folder).expanduser()
        if f.is_file():
            out.append(f)
            continue
        if not f.is_dir():
            raise PedalError(f"{f}: no such folder")
        out += sorted(p for p in f.iterdir()
                      if p.suffix.lower() in suffixes and p.is_file() and not p.name.startswith("."))
    seen, unique = set(), []
    for p in out:
        key = p.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(p)
    return unique


def _load_model(p: Path):
    from ..models import load_model
    from ..preset import measure_loudness

    model = load_model(p)
    if model.slimmable:
        model = model.at_slim(None, "pedal match plays the largest size")
    measure_loudness(model, [0.5] * model.knob_count)  # as the preset will normalise it
    return model


def load_library(model_dirs=(), ir_dirs=(), *, bundled: bool = True, log=None) -> Library:
    """Load every file; ``log(line)`` hears each skipped one. Raises PedalError when no model
    at all can be used (nothing to search)."""
    from ..errors import IRError, ModelError

    lib = Library()
    mdirs = ([paths.MODELS_DIR] if bundled else []) + list(model_dirs)
    idirs = ([paths.IR_DIR] if bundled else []) + list(ir_dirs)
    for kind, folders, suffixes in (("model", mdirs, paths.MODEL_SUFFIXES),
                                    ("IR", idirs, paths.IR_SUFFIXES)):
        files = _files(folders, suffixes)
        if len(files) > MAX_FILES:
            lib.skipped.append(f"{len(files)} {kind} files given; the first {MAX_FILES} are "
                               "searched")
            files = files[:MAX_FILES]
        for p in files:
            try:
                if kind == "model":
                    lib.models.append(Entry(p, _load_model(p)))
                else:
                    lib.irs.append(Entry(p, load_ir(p, RATE, max_seconds=MAX_IR_SECONDS)))
            except (ModelError, IRError) as exc:
                line = f"skipped: {str(exc).splitlines()[0]}"
                lib.skipped.append(line)
                if log:
                    log(line)
    if not lib.models:
        raise PedalError("no amp model in the library loads, so there is nothing to search "
                         "(give --models DIR with .nam, .json or .onnx files)")
    lib.irs.append(Entry(None, ImpulseResponse(None, RATE, "(none)")))  # type: ignore[arg-type]
    return lib
