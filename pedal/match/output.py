"""The preset ``pedal match`` writes, and rendering through a preset file exactly as
``pedal render`` and the daemon play it."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from .. import paths
from ..audio.files import atomic_path, resample
from ..errors import PedalError
from .features import RATE


def render_preset(preset_path, x: np.ndarray) -> np.ndarray:
    """x (at RATE) through a preset file's chain, as ``pedal render`` does, back at RATE."""
    from ..dsp import ProcessSpec
    from ..preset import load_preset
    from ..tools.render import process_array

    preset = load_preset(preset_path)
    if preset.model is not None and preset.model.slimmable:
        preset.model = preset.model.at_slim(None)
    sr = preset.sample_rate
    chain = preset.build_chain()
    chain.prepare(ProcessSpec(sr, 256))
    lat = chain.latency
    y = np.concatenate([resample(x, RATE, sr), np.zeros(lat, np.float32)])
    process_array(chain, y, 256)
    return resample(y[lat:], sr, RATE)[: len(x)]


def _rel(p: Path | None, base: Path) -> str | None:
    """A bundled file by its name (the preset loader finds it in the bundled folders), any
    other relative to the preset's folder."""
    if p is None:
        return None
    p = Path(p).resolve()
    if p.parent in (paths.MODELS_DIR.resolve(), paths.IR_DIR.resolve()):
        return p.name
    return os.path.relpath(p, base.resolve())


def write_preset(out: Path, name: str, model_path: Path, gain: float, ir_path: Path | None,
                 bands, gate_db: float, level_db: float, knobs=(), amp_extra=None) -> None:
    """The preset, atomically; its files named relative to it. A knob-conditioned model plays
    with its knobs as it was searched (all at half)."""
    import yaml

    doc = {
        "name": name,
        "gate": {"enabled": True, "threshold_db": gate_db},
        "amp": {"enabled": True, "model": _rel(model_path, out.parent),
                "input_gain_db": round(float(gain), 2), "knobs": list(knobs),
                "normalize_loudness": True, **(amp_extra or {})},
        "cab": ({"enabled": True, "ir": _rel(ir_path, out.parent)} if ir_path else None),
        "eq": {"enabled": True, "bands": [{"type": b.type, "freq_hz": b.freq_hz,
                                           "gain_db": b.gain_db, "q": b.q} for b in bands]},
        "output": {"level_db": round(float(np.clip(level_db, -60, 24)), 2),
                   "dc_block": True, "limiter": True},
    }
    text = ("# written by pedal match: the rig closest to the record it was given\n" +
            yaml.safe_dump(doc, sort_keys=False))
    try:
        with atomic_path(out) as tmp:
            tmp.write_text(text)
    except OSError as exc:
        raise PedalError(f"{out}: cannot write the preset ({exc.strerror or exc})") from None
