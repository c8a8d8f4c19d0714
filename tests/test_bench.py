"""pedal bench prints rows other tools can read; the numbers themselves are not asserted."""

import json

from pedal.cli import main
from pedal.tools.bench_peers import MODELS


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
    assert ("lstm-1x20", "onnxruntime") in engines
    import importlib.util

    if importlib.util.find_spec("torch") is not None:  # the PyTorch peer runs when installed
        assert ("lstm-1x20", "pytorch") in engines
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


def _fake_peer(path, body):
    import sys

    path.write_text(f"#!{sys.executable}\n" + body)
    path.chmod(0o755)


PEER_BODY = '''import json, sys
import numpy as np
args = [a for a in sys.argv[1:]]
reps = int(args[args.index("--time") + 1]) if "--time" in args else 0
model, block, inp, out = args[:4]
x = np.fromfile(inp, np.float32)
if {right}:
    from pedal.models import load_model
    from pedal.dsp.run import run_blocks
    eng = load_model(model).make_engine(fast_tanh=True)
    eng.prepare(int(block))
    y = run_blocks(eng, x, int(block))
else:
    y = x  # the input back: not what the model computes
if out != "-":
    y.astype(np.float32).tofile(out)
if reps:
    print(json.dumps({{"reps": [10.0 + i for i in range(reps)]}}))
'''


def test_peers_are_timed_only_when_they_compute_what_the_pedal_does(tmp_path):
    """The side-by-side bench with two stand-in peers: one that computes the model (timed, its
    ratio made from the same run), one that does not (refused with the difference)."""
    from pedal.tools.bench_peers import measure, table

    _fake_peer(tmp_path / "namref_native", PEER_BODY.format(right=True))
    _fake_peer(tmp_path / "natime_native", PEER_BODY.format(right=False))
    rows = measure(tmp_path, blocks=(64,), rounds=2, reps=2, seconds=0.2, names=("nano",))
    got = {r["engine"]: r for r in rows}
    assert got["Core native"]["best"] == 11.0 and got["Core native"]["passes"] == 4
    assert "differs from the pedal's by" in got["NeuralAudio native"]["error"]
    assert got["pedal"]["passes"] == 4 and got["pedal"]["best"] > 0
    text = table(rows)
    ratio = got["pedal"]["best"] / 11.0
    assert "| nano | 64 |" in text and f"| {ratio:.2f} |" in text


def test_without_peers_the_bench_says_so_and_times_the_pedal(tmp_path, capsys):
    assert main(["bench", "models", "--peers", str(tmp_path), "--blocks", "64", "--rounds",
                 "1", "--seconds", "0.05", "--json"]) == 0
    cap = capsys.readouterr()
    assert "no peer tools in" in cap.err
    rows = json.loads(cap.out)
    assert {r["engine"] for r in rows} == {"pedal", "pedal fast-tanh"}
    assert {r["model"] for r in rows} == set(MODELS)


def test_the_peers_bench_takes_a_subset_of_its_rows_and_refuses_an_unknown_one(tmp_path,
                                                                              capsys):
    args = ["bench", "models", "--peers", str(tmp_path), "--blocks", "32", "--rounds", "1",
            "--seconds", "0.05", "--json"]
    assert main(args + ["--models", "nano,lstm-2x8"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["model"] for r in rows} == {"nano", "lstm-2x8"}
    assert main(args + ["--models", "nano,lstm-9x9"]) == 2
    assert "no model lstm-9x9" in capsys.readouterr().err


def test_the_bench_rows_are_the_shapes_they_are_named_after(tmp_path):
    from pedal.models import load_model
    from pedal.tools.bench_peers import write_models

    paths = write_models(tmp_path, ("24ch", "lstm-2x8", "lstm-1x40"))
    wide = load_model(paths["24ch"]).spec
    assert [(a.channels, a.head_size) for a in wide.arrays] == [(24, 12), (12, 1)]
    two = load_model(paths["lstm-2x8"]).spec
    assert (two.num_layers, two.hidden_size) == (2, 8)
    assert load_model(paths["lstm-1x40"]).spec.hidden_size == 40


def test_stream_seconds_times_every_block_once_in_order():
    import numpy as np
    from pedal.dsp.run import stream_seconds

    seen = []
    x = np.arange(1000, dtype=np.float32)
    stream_seconds(lambda b: seen.append((float(b[0]), len(b))), x, 64, repeats=2)
    warm, passes = seen[0], seen[1:]
    assert warm == (0.0, 64)
    one = [(float(i), min(64, 1000 - i)) for i in range(0, 1000, 64)]
    assert passes == one + one
