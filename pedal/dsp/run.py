"""Running a processor over a whole signal, block by block: the one loop every offline user
(loaders' self-checks, warm-up, rendering, training exports, benchmarks, tests) shares.

A processor is anything with ``process(buf)`` working in place on float32 blocks: a
``Block``, a ``Chain``, or a model engine. Never used on the audio path.
"""

from __future__ import annotations

import time

import numpy as np


def run_blocks(proc, x: np.ndarray, block: int = 64, *, inplace: bool = False,
               progress=None) -> np.ndarray:
    """``proc`` over ``x`` in blocks of ``block`` samples (the last one shorter). Returns the
    output: a float32 copy of ``x`` processed, or ``x`` itself when ``inplace``.
    ``progress(fraction)`` is called about a hundred times, if given."""
    if block < 1:
        raise ValueError(f"block must be at least 1, got {block}")
    fn = proc.process if hasattr(proc, "process") else proc
    y = x if inplace else np.array(x, dtype=np.float32)
    n = y.shape[0]
    every = max(1, (n // block) // 100)
    for k, i in enumerate(range(0, n, block)):
        fn(y[i:i + block])
        if progress is not None and k % every == 0:
            progress(i / n)
    if progress is not None:
        progress(1.0)
    return y


def stream_seconds(fn, x: np.ndarray, block: int, repeats: int = 1,
                   budget_s: float | None = None) -> float:
    """Best-of-``repeats`` seconds to feed a copy of ``x`` to ``fn`` block by block, after one
    warm-up block. A run that passes ``budget_s`` stops early and is scaled to the whole.
    (``pedal bench``, ``pedal bench models``, ``pedal info`` and the real-time budget check.)

    The blocks are cut before the clock starts, as a stream hands its callback a buffer: only
    ``fn`` is timed (cutting a view costs ~0.15 us, 2-4 % of a small model's 32-sample block,
    and the C++ players' timing loops charge nothing of the kind)."""
    fn(x[:block].copy())
    best = float("inf")
    for _ in range(repeats):
        y = x.copy()
        blocks = [y[i:i + block] for i in range(0, len(y), block)]
        if budget_s is None:
            t0 = time.perf_counter()
            for b in blocks:
                fn(b)
            best = min(best, time.perf_counter() - t0)
            continue
        done = 0
        t0 = time.perf_counter()
        for b in blocks:
            fn(b)
            done += len(b)
            if time.perf_counter() - t0 > budget_s:
                break
        best = min(best, (time.perf_counter() - t0) * len(y) / done)
    return best
