"""Compile (first time) or load from numba's cache (later) every real-time kernel, so the
first audio block never waits for the compiler. Run at install and at daemon start."""

from __future__ import annotations

import time

import numpy as np


def warm_up() -> float:
    """Run every kernel once, on small inputs; returns the seconds it took."""
    from ..kernels.io import deinterleave, interleave, mcp3202_decode
    from ..dsp import Band, CabinetIR, Chain, NoiseGate, OutputLevel, ParametricEQ, ProcessSpec
    from ..models.registry import ARCHITECTURES
    from ..service.player import Player
    from ..tuner.tracker import PitchTracker

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    chain = Chain([NoiseGate(), CabinetIR(rng.standard_normal(300), 48000),
                   ParametricEQ([Band("peak", 1000, 3, 1)]), OutputLevel(limiter=True)])
    chain.prepare(ProcessSpec(48000, 64))
    x = rng.standard_normal(64).astype(np.float32)
    chain.process(x)        # whole windows (FFT path)
    chain.process(x[:10])   # part windows (direct path)
    for arch in ARCHITECTURES:  # every engine's kernel, in each of its variants
        for spec, options in arch.examples():
            eng = arch.engine(spec, **options)
            eng.prepare(64)
            eng.process(x.copy())
    tracker = PitchTracker(48000)
    tone = (0.3 * np.sin(np.arange(4800) * 2 * np.pi * 110 / 48000)).astype(np.float32)
    for i in range(0, len(tone), 64):
        tracker.process(tone[i:i + 64])
    eng = Player(48000, 64)
    eng.offer(chain)
    y = np.zeros(64, np.float32)
    eng.process(x, y)
    eng.set_tuner(True)
    eng.process(x, y)
    from ..dsp.resample import ResampledEngine
    from ..kernels.filters import peak_meter

    peak_meter(x, 64, np.zeros(2))
    spec, options = ARCHITECTURES[0].examples()[0]
    resampled = ResampledEngine(ARCHITECTURES[0].engine(spec, **options), 44100, 48000)
    resampled.prepare(64)
    resampled.process(x.copy())
    buf = np.zeros(128, np.float32)
    deinterleave(buf, 64, 2, 0, y)
    interleave(y, 64, 2, buf)
    mcp3202_decode(np.zeros(192, np.uint8), 64, y, np.zeros(3))
    return time.perf_counter() - t0
