"""One contract, every block: empty blocks, any chunking equals one-shot, reset clears the
tail, the reported latency is true, and process allocates nothing after prepare."""

import tracemalloc

import numpy as np
import pytest
from numba.core.runtime import rtsys

from conftest import ROOT, chunked
from pedal.dsp import (AmpModel, Band, CabinetIR, Chain, NoiseGate, OutputLevel, ParametricEQ,
                       ProcessSpec)
from pedal.tuner.block import Tuner
from pedal.tools.bench_models import random_wavenet
from pedal.models.onnx.load import load_onnx

SR = 48000
DEFAULT_MODEL = ROOT / "models" / "pedal_overdrive_lstm16.onnx"


def _amp(kind):
    model = load_onnx(DEFAULT_MODEL)
    assert model.engine_kind == "numba", model.why_not_numba
    model.engine_kind = kind
    return AmpModel(model, input_gain_db=3.0, output_gain_db=-2.0)


def _native_amp(family, spec, gain_db=0.0):
    """A model made in memory, at the chain's rate (the engines do not care about the rate)."""
    from pedal.models import ModelFile

    return AmpModel(ModelFile(f"<{family}>", family, spec, SR), output_gain_db=gain_db)


def _smartamppro_spec():
    from pedal.models.arch.smartamppro import SmartAmpProSpec

    r = np.random.default_rng(3)
    return SmartAmpProSpec(r.standard_normal((12, 4)) * 0.3, r.standard_normal(4) * 0.1,
                           r.standard_normal((12, 4, 4)) * 0.3, r.standard_normal(4) * 0.1,
                           r.standard_normal((4, 32)) * 0.3, r.standard_normal(32) * 0.1, None,
                           r.standard_normal(8) * 0.3, 0.01)


def _resampled_amp():
    import corpus
    from pedal.models import load_model_bytes

    return AmpModel(load_model_bytes(corpus.files()["guitarml.json"], "guitarml.json"))


def _ir():
    r = np.random.default_rng(5)
    return r.standard_normal(3000) * np.exp(-np.arange(3000) / 600.0)


FACTORIES = {
    "gate": lambda: NoiseGate(threshold_db=-50, attack_ms=0.5, hold_ms=5, release_ms=20),
    "amp-numba": lambda: _amp("numba"),
    "amp-onnxruntime": lambda: _amp("onnxruntime"),
    "amp-wavenet": lambda: _native_amp("nam", random_wavenet("feather"), 20.0),  # quiet net
    "amp-smartamppro": lambda: _native_amp("smartamppro", _smartamppro_spec()),
    "amp-resampled": lambda: _resampled_amp(),  # a 44.1 kHz model in the 48 kHz chain
    "cab": lambda: CabinetIR(_ir(), SR),
    "eq": lambda: ParametricEQ([Band("high_pass", 80), Band("peak", 700, 4, 1.5),
                                Band("high_shelf", 4000, -6, 0.7)]),
    "level": lambda: OutputLevel(-6.0),
    "tuner": lambda: Tuner(mute=False),
    "chain": lambda: Chain([NoiseGate(-50), _amp("numba"), CabinetIR(_ir(), SR),
                            ParametricEQ([Band("peak", 700, 4, 1.5)]), OutputLevel(-3)]),
}


@pytest.fixture(params=sorted(FACTORIES))
def make(request):
    return FACTORIES[request.param]


def _signal(n=4096, seed=1):
    r = np.random.default_rng(seed)
    t = np.arange(n) / SR
    x = 0.4 * np.sin(2 * np.pi * 196 * t) * np.exp(-t * 3) + 0.02 * r.standard_normal(n)
    x[: n // 8] *= np.linspace(0, 1, n // 8)  # starts quiet, so the gate opens on the way
    return x.astype(np.float32)


def _prepared(make, max_block):
    b = make()
    b.prepare(ProcessSpec(SR, max_block))
    return b


def _close(a, b, tol=2e-5):
    scale = max(1.0, float(np.max(np.abs(b))))
    err = float(np.max(np.abs(a.astype(np.float64) - b)))
    assert err <= tol * scale, f"max difference {err:.3g} (scale {scale:.3g})"


def test_chunking_equals_one_shot(make):
    x = _signal()
    one_shot = chunked(_prepared(make, 4096), x, [4096])
    for sizes in ([512], [64], [1, 7, 64, 3, 500, 100, 33], list(np.random.default_rng(3)
                                                              .integers(1, 513, 50))):
        _close(chunked(_prepared(make, 512), x, sizes), one_shot)


def test_one_sample_blocks(make):
    x = _signal(1500)
    _close(chunked(_prepared(make, 1), x, [1]), chunked(_prepared(make, 256), x, [256]))


def test_empty_block_changes_nothing(make):
    x = _signal(1024)
    a = _prepared(make, 128)
    ref = chunked(a, x, [128])
    b = _prepared(make, 128)
    y = x.copy()
    for i in range(0, len(y), 128):
        b.process(y[i:i])  # an empty block between every block
        b.process(y[i:i + 128])
    np.testing.assert_array_equal(y, ref)


def test_reset_clears_the_tail(make):
    x = _signal(2048)
    b = _prepared(make, 256)
    first = chunked(b, x, [256])
    b.reset()
    np.testing.assert_array_equal(chunked(b, x, [256]), first)
    b.reset()
    silence = chunked(b, np.zeros(512, np.float32), [256])
    fresh = chunked(_prepared(make, 256), np.zeros(512, np.float32), [256])
    np.testing.assert_array_equal(silence, fresh)


def test_reported_latency_is_true(make):
    """A change of input sample k first changes output sample k + latency. (A resampled amp's
    latency is its linear-phase filters' delay, whose pre-ringing comes earlier:
    test_resample checks it against the exactly delayed input.)"""
    x = _signal(3000)
    k = 2000
    b = _prepared(make, 64)
    if getattr(b, "resampled", False):
        assert 60 <= b.latency <= 100  # 44.1 <-> 48 kHz: 81 samples
        return
    y1 = chunked(b, x, [64])
    x2 = x.copy()
    x2[k] += 0.05
    b.reset()
    y2 = chunked(b, x2, [64])
    diff = np.abs(y1.astype(np.float64) - y2)
    # FFT rounding spreads ~1e-8 over the whole window; the real effect is ~1e-2
    first = int(np.argmax(diff > 1e-4 * diff.max()))
    assert diff.max() > 1e-3
    assert first == k + b.latency


def test_process_allocates_nothing_after_prepare(make):
    """The Python side of process makes no buffers (a 2048-sample float32 block is 8 KiB;
    only small transient objects such as call arguments and views are allowed) and keeps
    nothing."""
    x = _signal(8192 * 4)
    b = _prepared(make, 2048)
    sizes = np.random.default_rng(9).integers(1500, 2049, 40).tolist() + [1, 7, 64, 300]
    chunked(b, x, sizes)  # every path once
    y = x.copy()
    views, i = [], 0
    for n in sizes * 20:  # the block views are made here, as an audio driver hands them over
        if i >= len(y):
            break
        views.append(y[i:i + n])
        i += n
    nrt_before = rtsys.get_allocation_stats()
    tracemalloc.start()
    base, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    for v in views:
        b.process(v)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    nrt_after = rtsys.get_allocation_stats()
    assert peak - base < 4096, f"python heap grew by up to {peak - base} bytes in process"
    assert current - base < 256
    # numba wraps each array argument in a MemInfo for the call and frees it on return
    assert nrt_after.alloc - nrt_before.alloc == nrt_after.free - nrt_before.free
    assert np.all(np.isfinite(y))


OFFLINE_KERNELS = {"plucked_string", "diode_clipper"}  # synthesis, never on the audio path


def test_realtime_kernels_contain_no_allocation():
    """Compile every real-time kernel afresh (the cache keeps no IR) with the signatures the
    warm-up used, and look for calls into numba's allocator in the LLVM IR."""
    import re

    from numba import njit
    from numba.core.registry import CPUDispatcher

    import importlib
    import pkgutil

    from pedal import kernels
    from pedal.tools.warmup import warm_up

    warm_up()
    checked = set()
    every = []
    for info in pkgutil.iter_modules(kernels.__path__):
        mod = importlib.import_module(f"pedal.kernels.{info.name}")
        every += [(name, getattr(mod, name)) for name in dir(mod)
                  if isinstance(getattr(mod, name), CPUDispatcher)
                  and getattr(mod, name).py_func.__module__ == mod.__name__]
    for name, k in every:
        if name in OFFLINE_KERNELS or name.endswith("_f"):
            continue
        opts = {key: v for key, v in k.targetoptions.items() if key not in ("cache", "nopython")}
        fresh = njit(**opts)(k.py_func)
        for sig in k.signatures:
            fresh.compile(sig)
            ir = fresh.inspect_llvm(sig)
            calls = re.findall(r"call [^\n]*@(NRT_MemInfo_alloc\w*|NRT_Allocate\w*|"
                               r"NRT_MemInfo_new\w*)", ir)
            assert not calls, f"{name}{sig} allocates: {sorted(set(calls))}"
            checked.add(name)
    assert {"noise_gate", "lstm_block", "gru_block", "smartamppro_block", "upols",
            "biquad_cascade", "level_dc", "wavenet_block", "pitch_block", "mix_block",
            "deinterleave", "interleave", "mcp3202_decode", "fir_history"} <= checked


def test_engine_buffers_start_on_cache_lines():
    """Vectors that straddle cache lines made engine speed vary 1.4x from one load to the next;
    every array the kernels stream through starts on a 64-byte line (and keeps its values)."""
    from pedal.dsp import aligned
    from pedal.tools.bench_models import random_recurrent, random_wavenet
    from pedal.models.arch.recurrent import RecurrentEngine
    from pedal.models.arch.wavenet_engine import WaveNetEngine

    a = aligned.copy(np.arange(7, dtype=np.float64)[1:], np.float32)
    assert a.ctypes.data % 64 == 0 and a.dtype == np.float32 and a.tolist() == [1, 2, 3, 4, 5, 6]
    assert aligned.zeros((3, 5), np.float32).ctypes.data % 64 == 0
    for precise in (False, True):
        eng = RecurrentEngine(random_recurrent("lstm", 20), precise=precise)
        eng.prepare(64)
        for name in ("_wa", "_wx", "_wh", "_b", "_h", "_c", "_seq", "_dense_w"):
            assert getattr(eng, name).ctypes.data % 64 == 0, name
    eng = WaveNetEngine(random_wavenet("lite"))
    eng.prepare(50)
    assert eng._rows % 16 == 0 and eng._hout.shape[1] == 64
    for name in ("_wp", "_bp", "_ws", "_hout", "_acc", "_cond", "_yout"):
        assert getattr(eng, name).ctypes.data % 64 == 0, name
    assert eng._ws.strides[0] % 64 == 0 and eng._ws.strides[1] % 64 == 0  # every scratch row
