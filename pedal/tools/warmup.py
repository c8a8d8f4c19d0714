"""Compile (first time) or load from numba's cache (later) every real-time kernel, so the
first audio block never waits for the compiler. Run at install and at daemon start."""

from __future__ import annotations

import time

import numpy as np


def warm_up() -> float:
    from ..dsp import CabinetIR, Chain, NoiseGate, OutputLevel, ParametricEQ, ProcessSpec
    from ..dsp.eq import Band
    from ..models.recurrent import RecurrentEngine, RecurrentLayer, RecurrentSpec

    t0 = time.perf_counter()
    rng = np.random.default_rng(0)
    chain = Chain([NoiseGate(), CabinetIR(rng.standard_normal(300), 48000),
                   ParametricEQ([Band("peak", 1000, 3, 1)]), OutputLevel()])
    chain.prepare(ProcessSpec(48000, 64))
    x = rng.standard_normal(64).astype(np.float32)
    chain.process(x)        # whole windows (FFT path)
    chain.process(x[:10])   # part windows (direct path)
    for cell, g in (("lstm", 4), ("gru", 3)):
        for lbr in (True, False):
            layer = RecurrentLayer(*(rng.standard_normal(s) * 0.1 for s in
                                     ((g * 2, 1), (g * 2, 2), (g * 2,), (g * 2,))))
            spec = RecurrentSpec(cell, [layer, RecurrentLayer(
                *(rng.standard_normal(s) * 0.1 for s in ((g * 2, 2), (g * 2, 2), (g * 2,),
                                                         (g * 2,))))],
                rng.standard_normal(2), 0.0, linear_before_reset=lbr)
            for precise in (False, True):  # real time; render --raw
                eng = RecurrentEngine(spec, precise=precise)
                eng.prepare(64)
                eng.process(x.copy())
    from ..models.wavenet import LayerArray, WaveNetEngine, WaveNetSpec

    for gated in (False, True):
        m = 4 if gated else 2
        arr = LayerArray(1, 1, 1, 2, 3, [1, 2], "Tanh", gated, True, rng.standard_normal((2, 1)),
                         [rng.standard_normal((m, 2, 3)) * 0.1 for _ in range(2)],
                         [np.zeros(m)] * 2, [np.zeros((m, 1))] * 2,
                         [np.eye(2)] * 2, [np.zeros(2)] * 2, rng.standard_normal((1, 2)),
                         np.zeros(1))
        eng = WaveNetEngine(WaveNetSpec([arr], 0.5))
        eng.prepare(64)
        eng.process(x.copy())
    from ..models.smartamppro import SmartAmpProEngine, SmartAmpProSpec

    sap = SmartAmpProSpec(rng.standard_normal((4, 2)), np.zeros(2), rng.standard_normal((2, 2, 2)),
                          np.zeros(2), rng.standard_normal((2, 8)), np.zeros(8),
                          rng.standard_normal((2, 8)), rng.standard_normal(2), 0.0, window=8,
                          stride1=4, stride2=1)
    eng = SmartAmpProEngine(sap)
    eng.prepare(64)
    eng.process(x.copy())
    from ..tuner.tracker import PitchTracker

    tracker = PitchTracker(48000)
    tone = (0.3 * np.sin(np.arange(4800) * 2 * np.pi * 110 / 48000)).astype(np.float32)
    for i in range(0, len(tone), 64):
        tracker.process(tone[i:i + 64])
    from .. import kernels as K
    from ..service.player import Engine

    eng = Engine(48000, 64)
    eng.offer(chain)
    y = np.zeros(64, np.float32)
    eng.process(x, y)
    eng.set_tuner(True)
    eng.process(x, y)
    buf = np.zeros(128, np.float32)
    K.deinterleave(buf, 64, 2, 0, y)
    K.interleave(y, 64, 2, buf)
    K.mcp3202_decode(np.zeros(192, np.uint8), 64, y, np.zeros(3))
    return time.perf_counter() - t0
