"""Range checks for block parameters: run when a parameter is set, never inside ``process``."""

from __future__ import annotations

import math


def check_range(name: str, value, lo: float, hi: float, unit: str = "") -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: must be a number, got {value!r}") from None
    if not math.isfinite(v) or not (lo <= v <= hi):
        u = f" {unit}" if unit else ""
        raise ValueError(f"{name}: must be {lo:g}..{hi:g}{u}, got {value!r}")
    return v


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def time_coef(ms: float, sample_rate: float) -> float:
    """One-pole coefficient reaching 63 % of a step in ``ms`` milliseconds (1 = instant)."""
    if ms <= 0:
        return 1.0
    return 1.0 - math.exp(-1.0 / (ms * 1e-3 * sample_rate))
