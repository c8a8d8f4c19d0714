"""Timing a block processor on a signal: shared by ``pedal bench``, ``pedal bench models``
and ``pedal info``. Never used on the audio path."""

from __future__ import annotations

import time

import numpy as np


def stream_seconds(fn, x: np.ndarray, block: int, repeats: int = 1,
                   budget_s: float | None = None) -> float:
    """Best-of-``repeats`` seconds to feed a copy of ``x`` to ``fn`` block by block, after one
    warm-up block. A run that passes ``budget_s`` stops early and is scaled to the whole."""
    fn(x[:block].copy())
    best = float("inf")
    for _ in range(repeats):
        y = x.copy()
        done = 0
        t0 = time.perf_counter()
        for i in range(0, len(y), block):
            fn(y[i:i + block])
            done = min(i + block, len(y))
            if budget_s is not None and time.perf_counter() - t0 > budget_s:
                break
        best = min(best, (time.perf_counter() - t0) * len(y) / done)
    return best
