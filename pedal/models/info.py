"""What a model file is and what it costs: ``pedal info`` and the real-time budget check."""

from __future__ import annotations

import numpy as np

from ..timing import stream_seconds


def measure_xrt(model, block: int = 64, seconds: float = 1.0, knobs=None) -> float:
    """Times real time of the model's engine on noise-like guitar level input."""
    eng = model.make_engine(knobs if knobs is not None else [0.5] * model.knob_count)
    eng.prepare(block)
    n = int(seconds * model.sample_rate)
    x = (0.2 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    return seconds / stream_seconds(eng.process, x, block)


def describe(model, block: int = 64, measure: bool = True) -> dict:
    spec = model.spec
    info = {
        "file": model.path,
        "family": getattr(model, "family", "onnx"),
        "architecture": spec.arch if spec is not None else "onnx graph",
        "engine": model.engine_kind,
        "sample_rate": model.sample_rate,
        "weights": spec.n_weights if spec is not None else None,
        "macs_per_sample": spec.macs_per_sample if spec is not None else None,
        "knobs": model.knob_count,
        "receptive_field": getattr(spec, "receptive_field", None),
    }
    meta = model.metadata or {}
    for key in ("loudness", "input_level_dbu", "output_level_dbu", "gain", "name",
                "modeled_by", "gear_make", "gear_model", "esr_float"):
        if key in meta:
            info[key] = meta[key]
    if measure:
        info["block"] = block
        info["xrt"] = round(measure_xrt(model, block), 1)
    return info
