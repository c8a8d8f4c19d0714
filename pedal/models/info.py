"""What a model file is and what it costs: ``pedal info`` and the real-time budget check."""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..dsp.run import stream_seconds


MAX_LOAD = 0.5  # share of each block's time the amp model may take on the audio thread


def check_rate(model, sample_rate: int) -> str | None:
    """The one sample-rate rule: a model runs at its own rate; in a chain at another rate it
    plays between a pair of resamplers (``dsp/resample.py``), which this says, or refuses
    (naming both rates) when the ratio cannot be made."""
    from ..dsp.resample import design

    if int(model.sample_rate) == int(sample_rate):
        return None
    try:
        design(int(sample_rate), int(model.sample_rate))
    except ValueError as exc:
        raise ModelError(f"{model.path}: {exc}") from None
    return (f"{model.path}: made at {model.sample_rate} Hz; it plays resampled to and from "
            f"the pedal's {int(sample_rate)} Hz")


def measure_xrt(model, block: int = 64, seconds: float = 1.0, knobs=None,
                budget_s: float | None = None, rate: int | None = None) -> float:
    """Times real time of the model's engine on noise-like guitar level input (a run longer
    than ``budget_s`` wall seconds stops early and is scaled), in a chain at ``rate``: at
    another rate than the model's the resamplers are timed with it."""
    eng = model.make_engine(knobs if knobs is not None else [0.5] * model.knob_count)
    rate = int(rate or model.sample_rate)
    if rate != model.sample_rate:
        from ..dsp.resample import ResampledEngine

        eng = ResampledEngine(eng, model.sample_rate, rate)
    eng.prepare(block)
    n = int(seconds * rate)
    x = (0.2 * np.random.default_rng(0).standard_normal(n)).astype(np.float32)
    return seconds / stream_seconds(eng.process, x, block, budget_s=budget_s)


def check_realtime(model, block: int, max_load: float = MAX_LOAD, knobs=None,
                   xrt: float | None = None, rate: int | None = None) -> float:
    """The real-time budget check a model passes before it is swapped in: its engine, timed
    here at ``block`` (unless its real-time factor ``xrt`` is given), must take at most
    ``max_load`` of each block's duration. Returns the load (0..1); raises ModelError naming
    the file and both figures. Off the audio thread."""
    if xrt is None:
        xrt = measure_xrt(model, block, seconds=0.5, knobs=knobs, budget_s=0.5, rate=rate)
    load = 1.0 / xrt
    if load > max_load:
        ms = 1000.0 * block / int(rate or model.sample_rate)
        raise ModelError(f"{model.path}: too slow for real time at block {block}: it needs "
                         f"{load * ms:.2f} ms of each {ms:.2f} ms block ({100 * load:.0f}%, "
                         f"{xrt:.1f}x real time), the limit is {100 * max_load:.0f}%")
    return load


def pick_slim(model, block: int, max_load: float = MAX_LOAD, knobs=None,
              rate: int | None = None):
    """``amp.slim: auto``: the model at the largest size that passes the real-time budget
    check at ``block`` here (each size timed, largest first), and its load. A model of one size
    is checked as it is. Raises ModelError naming the file and every size's figure."""
    if not model.slimmable:
        return model, check_realtime(model, block, max_load, knobs=knobs, rate=rate)
    from .arch.slim import choose

    loads = {}

    def fits(value):
        m = model.at_slim(value)
        xrt = measure_xrt(m, block, seconds=0.5, knobs=knobs, budget_s=0.5, rate=rate)
        loads[value] = 1.0 / xrt
        return 1.0 / xrt <= max_load, f"{100 / xrt:.0f}% of each block"

    try:
        value, why = choose(model.spec, block, fits)
    except ModelError as exc:
        raise ModelError(f"{model.path}: {exc} (the limit is {100 * max_load:.0f}%)") from None
    return model.at_slim(value, why), loads[value]


def readable(v):
    """A figure as a person reads it: 4 significant digits (text that is a number too)."""
    if isinstance(v, (bool, int)):
        return v
    try:
        return float(f"{float(v):.4g}")
    except (TypeError, ValueError):
        return v


def describe(model, block: int = 64, measure: bool = True) -> dict:
    spec = model.spec
    stated = getattr(model, "rate_stated", True)
    info = {
        "file": model.path,
        "family": getattr(model, "family", "onnx"),
        "architecture": spec.arch if spec is not None else "onnx graph",
        "engine": model.engine_kind,
        "sample_rate": model.sample_rate,
        "sample_rate_stated": stated,
        "weights": spec.n_weights if spec is not None else None,
        "macs_per_sample": spec.macs_per_sample if spec is not None else None,
        "knobs": model.knob_count,
        "receptive_field": getattr(spec, "receptive_field", None),
    }
    meta = model.metadata or {}
    for key in ("loudness", "input_level_dbu", "output_level_dbu", "gain", "name",
                "modeled_by", "gear_make", "gear_model", "esr", "esr_float"):
        if key in meta:
            info[key] = meta[key]
    if "loudness" not in info:
        from .loudness import loudness

        info["loudness_measured"] = round(loudness(model, [0.5] * model.knob_count)[0], 2)
    if model.slimmable:
        from .arch.slim import sizes

        info["sizes"] = [f"slim {v:g}: {s.arch}, {s.macs_per_sample:,} MAC/sample"
                         for v, s in sizes(model.spec)]
    if measure and model.slimmable:
        try:
            chosen, _ = pick_slim(model, block)
            info["slim_auto"] = chosen.slim_note
        except ModelError as exc:
            info["slim_auto"] = str(exc)
    if measure:
        info["block"] = block
        xrt = measure_xrt(model, block)
        info["xrt"] = round(xrt, 1)
        # the share of each block the daemon's budget check would see (limit MAX_LOAD)
        info["realtime_load"] = round(1.0 / xrt, 3)
        info["realtime_ok"] = 1.0 / xrt <= MAX_LOAD
    return info
