"""pedal bench prints rows other tools can read; the numbers themselves are not asserted."""

import json

from pedal.cli import main


def test_bench_json_rows(capsys):
    assert main(["bench", "--json", "--seconds", "0.2", "--blocks", "32,64"]) == 0
    rows = json.loads(capsys.readouterr().out)
    seen = {(r["stage"], r["engine"], r["block"]) for r in rows}
    for block in (32, 64):
        for stage in ("gate", "amp", "cab", "eq", "level", "chain"):
            assert (stage, "pedal", block) in seen
        assert ("amp", "onnxruntime", block) in seen
        assert ("cab", "scipy.oaconvolve", block) in seen
        assert ("eq", "scipy.sosfilt", block) in seen
        assert ("48<>44.1k", "pedal", block) in seen and ("48<>44.1k", "soxr HQ", block) in seen
    for r in rows:
        assert r["xrt"] > 0 and r["us_per_block"] > 0


def test_bench_models_json_rows(capsys):
    assert main(["bench", "models", "--json", "--seconds", "0.05", "--blocks", "64"]) == 0
    rows = json.loads(capsys.readouterr().out)
    engines = {(r["model"], r["engine"]) for r in rows}
    for model in ("nam-wavenet-standard", "nam-wavenet-nano", "lstm-1x16", "gru-1x32"):
        assert (model, "pedal-numba") in engines
    assert ("lstm-1x20", "onnxruntime") in engines and ("lstm-1x20", "pytorch") in engines
    assert all(r["xrt"] > 0 and r["samples_per_s"] > 0 and r["block"] == 64 for r in rows)


def test_bench_random_wavenets_have_the_published_sizes():
    from pedal.tools.bench_models import random_wavenet

    sizes = {n: random_wavenet(n).n_weights for n in ("standard", "lite", "feather", "nano")}
    assert sizes == {"standard": 13802, "lite": 6554, "feather": 3026, "nano": 842}


def test_the_resampler_peers_do_the_same_round_trip():
    """What the bench times side by side is the same work: 48 -> 44.1 -> 48 kHz, block by
    block, gives the input back delayed, for ours and for each peer."""
    import numpy as np
    from pedal.dsp.resample import ResampledEngine
    from pedal.dsp.run import run_blocks
    from pedal.tools.bench import _PassThrough, _pedalboard_pair, _soxr_pair

    sr = 48000
    x = (0.5 * np.sin(2 * np.pi * 997 * np.arange(sr) / sr)).astype(np.float32)
    ours = ResampledEngine(_PassThrough(), 44100, sr)
    ours.prepare(64)
    peers = {"pedal": ours.process, "soxr": _soxr_pair(sr, 44100, "HQ", 64)}
    try:
        peers["pedalboard"] = _pedalboard_pair(sr, 44100, 64)
    except ImportError:
        pass
    t = np.arange(8000, 40000) / sr
    basis = np.stack([np.sin(2 * np.pi * 997 * t), np.cos(2 * np.pi * 997 * t)], axis=1)
    for name, fn in peers.items():
        y = run_blocks(fn, x, 64)[8000:40000].astype(np.float64)  # after each one's delay
        fit, *_ = np.linalg.lstsq(basis, y, rcond=None)
        rest = y - basis @ fit
        assert abs(np.hypot(*fit) - 0.5) < 0.005, (name, np.hypot(*fit))
        assert 20 * np.log10(np.max(np.abs(rest)) / 0.5) < -60, name  # no gaps, no clicks
