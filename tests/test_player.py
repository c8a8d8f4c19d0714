"""The daemon's real-time engine: swaps crossfade, bypass and mute ramp, a broken model is
silenced, and a block allocates nothing, including across a swap and in tuner mode."""

import tracemalloc

import numpy as np
import pytest

from pedal.dsp import Chain, NoiseGate, OutputLevel
from pedal.service.player import Player
from pedal.models.arch.recurrent import RecurrentEngine
from pedal.dsp.block import Block
from helpers import random_spec

SR, N = 48000, 64


class Gain(Block):
    name = "gain"

    def __init__(self, g):
        super().__init__()
        self.g = g

    def _prepare(self, spec):
        pass

    def process(self, buf):
        buf *= self.g


class Poison(Gain):
    def process(self, buf):
        buf[3] = np.nan


def _run(engine, x, block=N):
    y = np.zeros_like(x)
    for i in range(0, len(x), block):
        engine.process(x[i:i + block], y[i:i + block])
    return y


def _signal(n, seed=0):
    return (0.3 * np.random.default_rng(seed).standard_normal(n)).astype(np.float32)


def test_swap_crossfades_linearly_from_old_to_new_chain():
    e = Player(SR, N, crossfade_ms=10)  # 480 samples
    e.offer(e.prepare_chain(Chain([Gain(0.5)])))
    x = _signal(64 * 40)
    y1 = _run(e, x[:640])
    np.testing.assert_array_equal(y1, 0.5 * x[:640])
    assert e.offer(e.prepare_chain(Chain([Gain(-0.25)])))
    y2 = _run(e, x[640:])
    a = np.clip(1.0 - np.arange(len(y2)) / 480.0, 0, 1)  # old chain's weight
    want = 0.5 * x[640:] * a + (-0.25) * x[640:] * (1 - a)
    np.testing.assert_allclose(y2, want, atol=1e-6)
    assert e.counters()["swaps"] == 1
    assert e.collect() == 1  # the old chain is released here, not on the audio thread
    assert not e.swapping


def test_swap_of_real_models_matches_each_model_run_alone():
    """Before the swap the output is exactly model A's; after the fade exactly model B's,
    whose state started from reset (as an independent run of B from the swap point)."""
    def chain(seed):
        eng = RecurrentEngine(random_spec(hidden=8, seed=seed))

        class Amp(Block):
            name = "amp"

            def _prepare(self, spec):
                eng.prepare(spec.max_block)

            def reset(self):
                eng.reset()

            def process(self, buf):
                eng.process(buf, 1.0, 1.0)
        return Chain([NoiseGate(-90), Amp(), OutputLevel(-6)])

    x = _signal(N * 60, 1)
    e = Player(SR, N, crossfade_ms=5)
    e.offer(e.prepare_chain(chain(1)))
    ya = _run(e, x[:N * 20])
    ref_a = Player(SR, N)
    ref_a.offer(ref_a.prepare_chain(chain(1)))
    np.testing.assert_array_equal(ya, _run(ref_a, x[:N * 20]))
    e.offer(e.prepare_chain(chain(2)))
    yb = _run(e, x[N * 20:])
    ref_b = Player(SR, N)
    ref_b.offer(ref_b.prepare_chain(chain(2)))
    want = _run(ref_b, x[N * 20:])
    fade = 240
    np.testing.assert_array_equal(yb[fade:], want[fade:])
    assert np.abs(yb[:fade] - want[:fade]).max() > 1e-4  # the fade did happen


def test_bypass_ramps_to_the_dry_signal_and_back_without_a_step():
    e = Player(SR, N, crossfade_ms=10)
    e.offer(e.prepare_chain(Chain([Gain(-1.0)])))
    x = np.full(N * 30, 0.25, np.float32)
    _run(e, x[:N * 5])
    e.set_bypass(True)
    y = _run(e, x[N * 5:])
    np.testing.assert_allclose(y[480:], 0.25, atol=1e-7)
    assert np.abs(np.diff(y)).max() <= 0.5 / 480 + 1e-6  # a ramp, not a click
    assert e.bypass
    e.set_bypass(False)
    y = _run(e, x[:N * 10])
    np.testing.assert_allclose(y[480:], -0.25, atol=1e-7)


def test_tuner_mutes_and_tracks_the_input():
    e = Player(SR, N, crossfade_ms=10)
    e.offer(e.prepare_chain(Chain([Gain(1.0)])))
    t = np.arange(SR) / SR
    x = (0.3 * np.sin(2 * np.pi * 110.0 * t)).astype(np.float32)
    e.set_tuner(True)
    y = _run(e, x)
    assert np.abs(y[480:]).max() == 0.0
    r = e.tracker.reading()
    assert r.freq_hz == pytest.approx(110.0, abs=0.01)
    e.set_tuner(False)
    y = _run(e, x[:N * 20])
    np.testing.assert_allclose(y[480:], x[480:N * 20], atol=1e-7)


def test_a_model_that_outputs_nan_is_silenced_and_counted():
    e = Player(SR, N)
    e.offer(e.prepare_chain(Chain([Poison(1.0)])))
    y = _run(e, _signal(N * 4))
    assert np.all(np.isfinite(y)) and y[3] == 0.0
    assert e.counters()["nonfinite"] == 4


def test_output_is_limited_to_full_scale():
    e = Player(SR, N)
    e.offer(e.prepare_chain(Chain([Gain(10.0)])))
    y = _run(e, np.full(N, 0.5, np.float32))
    assert y.max() == 1.0 and e.counters()["clipped"] == N


def test_offer_checks_the_spec_and_never_races_the_audio_thread():
    e = Player(SR, N)
    other = Chain([Gain(1.0)])
    other.prepare(e.spec.__class__(SR, 128))
    with pytest.raises(ValueError, match="player runs"):
        e.offer(other)
    e.offer(e.prepare_chain(Chain([Gain(1.0)])))
    e.process(np.zeros(N, np.float32), np.zeros(N, np.float32))
    assert e.offer(e.prepare_chain(Chain([Gain(2.0)])))
    # the audio thread has not taken it: a second offer is refused at once, not raced
    assert not e.offer(e.prepare_chain(Chain([Gain(3.0)])))
    y = _run(e, np.full(N * 20, 0.25, np.float32))  # past the 20 ms crossfade
    assert y[-1] == pytest.approx(0.5)  # the first offer played
    assert e.offer(e.prepare_chain(Chain([Gain(3.0)])))  # and the slot is free again


class Raises(Block):
    """A block whose process fails after ``after`` calls, as a broken model might."""
    name = "raises"

    def __init__(self, after):
        super().__init__()
        self.after, self.calls = after, 0

    def _prepare(self, spec):
        pass

    def process(self, buf):
        self.calls += 1
        if self.calls > self.after:
            raise RuntimeError("model exploded")
        buf *= 0.5


def test_a_chain_that_raises_is_dropped_and_the_dry_signal_plays():
    e = Player(SR, N)
    e.offer(e.prepare_chain(Chain([Raises(after=16 + 3)])))  # 16 warm-up blocks, then 3
    x = np.full(N * 6, 0.25, np.float32)
    y = _run(e, x)
    np.testing.assert_array_equal(y[:3 * N], 0.125)
    np.testing.assert_array_equal(y[3 * N:], 0.25)  # dry from the failing block on
    assert e.counters()["faults"] == 1 and e.chain is None


def test_engine_process_allocates_nothing_across_swaps_and_tuner_mode():
    from numba.core.runtime import rtsys

    from pedal.preset import load_preset

    p = load_preset()
    e = Player(SR, N)
    e.offer(e.prepare_chain(p.build_chain()))
    spare = [e.prepare_chain(p.build_chain()) for _ in range(3)]
    x = _signal(N * 800, 3)
    y = np.zeros_like(x)
    ins = [x[i:i + N] for i in range(0, len(x), N)]
    outs = [y[i:i + N] for i in range(0, len(y), N)]
    for a, b in zip(ins[:50], outs[:50]):
        e.process(a, b)  # every path once
    e.set_tuner(True)
    for a, b in zip(ins[:50], outs[:50]):
        e.process(a, b)
    e.set_tuner(False)
    nrt_before = rtsys.get_allocation_stats()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for k, (a, b) in enumerate(zip(ins, outs)):
        if k in (100, 300, 500):
            e._pending = spare[(k // 200)]  # what offer() does, without its wait
        if k == 600:
            e.set_tuner(True)
        e.process(a, b)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    nrt_after = rtsys.get_allocation_stats()
    assert e.counters()["swaps"] == 3
    assert peak - base < 4096, f"python heap grew by up to {peak - base} bytes"
    assert current - base < 1024
    assert nrt_after.alloc - nrt_before.alloc == nrt_after.free - nrt_before.free


def test_a_retired_chain_is_freed_by_its_reference_count_alone(tmp_path):
    """The daemon freezes its start-up heap (pedal/service/daemon.py ``_freeze_heap``), so the
    chain it starts with must never need the garbage collector: with the collector off, every
    model family's chain, swapped out and collected by the player, is gone."""
    import gc
    import weakref

    import corpus
    from pedal.preset import load_preset

    files = corpus.files()
    names = [f"{k}.json" for k in corpus.JSON_FORMATS] + list(corpus.onnx_files()) + \
        [next(k for k in files if k.startswith("nam_a2_"))]
    chains = []
    for name in names:
        (tmp_path / name).write_bytes(files[name])
        chains.append(load_preset(model=tmp_path / name).build_chain())
    e = Player(SR, N)
    x, y = np.zeros(N, np.float32), np.zeros(N, np.float32)
    gc.collect()
    gc.disable()
    try:
        refs = []
        for c in chains:
            e.offer(e.prepare_chain(c))
            refs.append(weakref.ref(c))
            for _ in range(40):  # past the 20 ms crossfade
                e.process(x, y)
        del c
        chains.clear()
        e.offer(e.prepare_chain(load_preset().build_chain()))
        for _ in range(40):
            e.process(x, y)
        e.collect()
        alive = [n for n, r in zip(names, refs) if r() is not None]
    finally:
        gc.enable()
    assert not alive, f"kept alive by reference cycles: {alive}"
