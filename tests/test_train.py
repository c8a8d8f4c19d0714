"""pedal train / compress: pair checks, a tiny capture of a simulated circuit to a known ESR,
exported ONNX and .nam against PyTorch, checkpoints, compression."""

import json

import numpy as np
import pytest

from pedal.synth import circuits, guitar as synth
from pedal.audio.files import write_audio
from pedal.cli import main
from pedal.train.pair import PairError, check_pair, find_latency

SR = 48000


@pytest.fixture(scope="module")
def sim_pair():
    """12 s of synthesized guitar at three levels through the project's overdrive circuit."""
    x = np.concatenate([synth.guitar_riff(SR, seed=s)[:4 * SR] * g
                        for s, g in ((1, 0.5), (2, 1.0), (3, 0.3))]).astype(np.float32)
    return x, circuits.overdrive(x, SR)


def _write(tmp_path, x, y, sr_x=SR, sr_y=SR, name="t"):
    a, b = tmp_path / f"{name}_in.wav", tmp_path / f"{name}_out.wav"
    write_audio(a, x, sr_x)
    write_audio(b, y, sr_y)
    return a, b


def _delay(y, n):
    return np.concatenate([np.zeros(n, np.float32), y[:len(y) - n]])


# --- the pair -------------------------------------------------------------------------------
def test_latency_is_found_to_the_sample_and_aligned(sim_pair, tmp_path):
    x, y = sim_pair
    clipped = np.tanh(3 * x).astype(np.float32)  # memoryless: its latency is the delay alone
    a, b = _write(tmp_path, x, _delay(clipped, 37))
    pair = check_pair(a, b)
    assert pair.latency == 37 and pair.warnings == []
    # aligned with 2 samples of the latency left in (see pair.SAFETY)
    assert np.array_equal(pair.y, _delay(clipped, 37)[35:])
    assert np.array_equal(pair.x, x[:len(x) - 35])
    # the overdrive's filters lead by a few samples; never read as later than the delay
    a, b = _write(tmp_path, x, _delay(y, 37), name="od")
    assert 32 <= check_pair(a, b).latency <= 37


def test_envelope_fallback_finds_an_octave_fuzz_latency():
    """Gear that keeps none of the waveform (here a square wave three octaves-ish up, so the
    signals themselves do not correlate) still lines up by the notes' envelopes."""
    env = np.repeat(np.random.default_rng(3).uniform(0, 1, 30), SR // 10)
    t = np.arange(len(env))
    x = (np.sin(t * 0.05) * env).astype(np.float32)
    y = _delay((np.sign(np.sin(t * 0.05 * 3.01)) * env).astype(np.float32), 200)
    lag, corr = find_latency(x, y, SR)
    assert abs(lag - 200) <= SR // 1000 and corr > 0.5


@pytest.mark.parametrize("case,words", [
    ("lengths", "trim them to the same start and length"),
    ("rates", "pass --resample"),
    ("stereo", "different channels"),
    ("silent", "is silent"),
    ("clipped", "target clips"),
    ("identity", "the input itself"),
    ("unrelated", "does not correlate"),
    ("short", "at least 2 s"),
])
def test_bad_pairs_are_refused_with_what_to_do(sim_pair, tmp_path, capsys, case, words):
    x, y = sim_pair
    sr_y = SR
    if case == "lengths":
        y = y[:len(y) - SR]
    elif case == "rates":
        sr_y = 44100
    elif case == "stereo":
        y = np.stack([y, -y], axis=1)
    elif case == "silent":
        y = y * 1e-5
    elif case == "clipped":
        y = np.clip(y * 4, -1, 1)
    elif case == "identity":
        y = x * 0.7
    elif case == "unrelated":  # noise: no lag lines it up with the guitar
        y = (np.random.default_rng(0).standard_normal(len(x)) * 0.1).astype(np.float32)
    elif case == "short":
        x, y = x[:SR], y[:SR]
    a, b = _write(tmp_path, x, y, sr_y=sr_y)
    with pytest.raises(PairError, match=words):
        check_pair(a, b)
    # the command says the same, in one line per problem, before importing torch
    assert main(["train", str(a), str(b), "-o", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err
    assert words in err and err.startswith("pedal: error: ")
    assert not (tmp_path / "m.onnx").exists()


def test_resample_and_warnings(sim_pair, tmp_path):
    x, y = sim_pair
    from pedal.audio.files import resample

    a, b = _write(tmp_path, x, resample(y, SR, 44100), sr_y=44100)
    pair = check_pair(a, b, resample_target=True)
    assert pair.sample_rate == SR and -5 <= pair.latency <= 0  # the circuit leads by 3
    assert any("resampled from 44100" in n for n in pair.notices)
    # a drifting clock: the target stretched by 0.05 % is flagged as time-variant
    stretched = np.interp(np.arange(len(y)) * 0.9995, np.arange(len(y)), y).astype(np.float32)
    a, b = _write(tmp_path, x, stretched, name="drift")
    assert any("time-variant" in w for w in check_pair(a, b).warnings)
    # hiss where the guitar is silent
    gap = np.concatenate([x, np.zeros(SR, np.float32)])
    noisy = np.concatenate([y, np.zeros(SR, np.float32)])
    noisy = noisy + 0.01 * np.random.default_rng(1).standard_normal(len(noisy)).astype(np.float32)
    a, b = _write(tmp_path, gap, noisy, name="noisy")
    assert any("noisy" in w for w in check_pair(a, b).warnings)


# --- training and export --------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained(sim_pair, tmp_path_factory, torch_mod):
    """An LSTM-8 trained for 250 steps (about 12 s on one thread) through the command."""
    d = tmp_path_factory.mktemp("train")
    x, y = sim_pair
    a, b = _write(d, x, _delay(y, 12))
    out = d / "m.onnx"
    assert main(["train", str(a), str(b), "-o", str(out), "--arch", "lstm-8", "--max-steps",
                 "250", "--nam", str(d / "m.nam"), "--no-plot", "--json", "--seed", "1"]) == 0
    return d, out, a, b


def test_tiny_capture_reaches_a_known_esr(trained, capsys):
    d, out, _, _ = trained
    from pedal.models import load_model

    m = load_model(out)
    assert m.engine_kind == "numba" and m.spec.arch == "lstm-1x8"
    esr = float(m.metadata["esr"])
    assert esr < 0.1, esr  # measured 0.064 (seed 1, 250 steps, 13 s); untrained: about 1
    info = json.loads(m.metadata["training"])
    assert 9 <= info["latency_samples"] <= 12 and info["steps"] == 250
    assert float(m.metadata["loudness"]) < 0 and (d / "m.ckpt.npz").exists()


def _torch_out(torch, net, x):
    from pedal.train.fit import predict

    net.double()
    try:
        return predict(net, x)
    finally:
        net.float()


@pytest.mark.parametrize("arch", ["lstm-6", "gru-5", "lstm-2x4", "wavenet-nano"])
def test_exported_onnx_and_nam_match_pytorch(torch_mod, tmp_path, arch):
    """The trained network's own forward pass (float64) against the pedal's loaders on the
    exported files: numba engine and onnxruntime, 1e-5."""
    from pedal.models import load_model
    from pedal.models.onnx.write import write_onnx
    from pedal.models.formats.nam import write_nam
    from pedal.train.arch import parse_arch
    from pedal.train.evaluate import run_file
    from pedal.train.nets import build

    torch_mod.manual_seed(4)
    net = build(parse_arch(arch), SR)
    with torch_mod.no_grad():  # livelier than the default init, so that errors show
        for p in net.parameters():
            p.mul_(2.0 if arch.startswith(("lstm", "gru")) else 1.5)
    x = (0.5 * np.sin(np.arange(6000) * 0.03) * np.linspace(0.2, 1.5, 6000)).astype(np.float32)
    ref = _torch_out(torch_mod, net, x)
    assert np.std(ref) > 1e-3
    spec = net.double().to_spec()
    net.float()
    files = [tmp_path / "m.onnx"]
    write_onnx(spec, files[0])
    if not arch.startswith("gru"):
        files.append(tmp_path / "m.nam")
        write_nam(spec, files[1])
    for f in files:
        m = load_model(f)
        assert m.engine_kind == "numba", m.why_not_numba if hasattr(m, "why_not_numba") else ""
        assert np.max(np.abs(run_file(m, x) - ref)) < 1e-5, f
    m = load_model(files[0])
    m.engine_kind = "onnxruntime"
    assert np.max(np.abs(run_file(m, x) - ref)) < 1e-5


def test_checkpoint_resumes_and_refuses_another_model(sim_pair, torch_mod, tmp_path):
    from pedal.errors import PedalError
    from pedal.train.fit import TrainConfig, train
    from pedal.train.nets import RecurrentNet

    x, y = sim_pair
    ck = tmp_path / "c.npz"
    cfg = TrainConfig(max_steps=20, val_every_steps=10, seed=2)
    torch_mod.manual_seed(0)
    first = train(RecurrentNet("lstm", 4), x, y, SR, cfg, checkpoint=ck, identity={"a": 1})
    assert first.steps == 20 and ck.exists()
    cfg.max_steps = 30
    torch_mod.manual_seed(0)
    net = RecurrentNet("lstm", 4)
    res = train(net, x, y, SR, cfg, checkpoint=ck, resume=True, identity={"a": 1})
    assert res.steps == 30 and [h[0] for h in res.history] == [10, 20, 30]
    # the resumed net started from the checkpoint's weights, not its fresh init
    assert res.history[1][3] == first.history[1][3]
    with pytest.raises(PedalError, match="different model or pair"):
        train(RecurrentNet("lstm", 5), x, y, SR, cfg, checkpoint=ck, resume=True,
              identity={"a": 2})
    np.load(ck, allow_pickle=False)  # data only


def test_verdicts():
    from pedal.train.fit import verdict

    assert [verdict(v) for v in (0.005, 0.02, 0.05, 0.2, 0.5)] == [
        "great", "not bad", "might be ok", "won't sound great", "something went wrong"]


# --- compression ----------------------------------------------------------------------------
def test_shrink_hidden_drops_dead_units_exactly(torch_mod):
    from pedal.train.evaluate import run_spec
    from pedal.train.compress import shrink_hidden
    from tests.helpers import random_spec

    spec = random_spec("lstm", hidden=6, seed=3)
    dead = [1, 4]  # units nothing reads: no recurrent or dense weight leaves them
    for layer in spec.layers:
        layer.w_hh[:, dead] = 0.0
    spec.dense_w[dead] = 0.0
    small = shrink_hidden(spec, 4)
    assert small.hidden_size == 4 and small.n_weights < spec.n_weights
    x = (0.5 * np.sin(np.arange(4000) * 0.05)).astype(np.float32)
    assert np.max(np.abs(run_spec(small, x) - run_spec(spec, x))) < 1e-6


def test_compress_command_table(trained, torch_mod, capsys):
    d, out, a, b = trained
    small = d / "small.onnx"
    assert main(["compress", str(out), "-o", str(small), "--pair", str(a), str(b),
                 "--l1", "1e-3", "--hidden", "4", "--prune", "0.5", "--int8", "--max-steps",
                 "40", "--json"]) == 0
    text = capsys.readouterr().out
    rows = json.loads(text.strip().splitlines()[-1])
    assert [r["variant"] for r in rows] == ["original", "unit L1 0.001", "hidden 4",
                                            "pruned 50%", "int8"]
    orig, _, hid, pruned, q = rows
    # LSTM-4: 16 (input) + 64 (recurrent) + 4 (dense) weights, 32 biases; LSTM-8: 360 in all
    assert (orig["weights"], hid["weights"]) == (360, 116)
    assert pruned["weights"] - pruned["nonzero"] == 42  # half of the 84 matrix weights
    assert pruned["gzip_bytes"] < hid["gzip_bytes"]  # the zeros compress (84 weights here)
    from pedal.models import load_model

    m = load_model(small)
    assert m.engine_kind == "numba" and m.spec.hidden_size == 4
    assert m.metadata["quantize"] == "int8"
    assert all(np.isfinite(r["esr"]) and r["esr"] < 1.0 for r in rows)


def test_daemon_and_command_line_never_import_torch():
    """Training lives in an extra: the daemon, the parser (which lists train/compress) and the
    pair checks run without PyTorch being imported."""
    import subprocess
    import sys

    code = ("import sys; import pedal.service.daemon, pedal.train.pair; from pedal.cli import "
            "build_parser; build_parser().parse_args(['train', 'a', 'b', '-o', 'c']); "
            "print(sorted(m for m in ('torch', 'matplotlib', 'librosa') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


def test_unit_l1_penalises_whole_hidden_units(torch_mod):
    """The group penalty is the sum over units of the norm of every weight that reads the
    unit; checked against a hand computation for a 2-layer LSTM."""
    from pedal.train.nets import RecurrentNet

    torch_mod.manual_seed(0)
    net = RecurrentNet("lstm", 3, layers=2)
    sd = {k: v.detach().numpy() for k, v in net.state_dict().items()}
    want = [np.linalg.norm(np.concatenate([sd["rec.weight_hh_l0"][:, j],
                                           sd["rec.weight_ih_l1"][:, j]])) for j in range(3)]
    want += [np.linalg.norm(np.concatenate([sd["rec.weight_hh_l1"][:, j],
                                            sd["lin.weight"][:, j]])) for j in range(3)]
    assert np.allclose(net.unit_norms().detach().numpy(), want, rtol=1e-5)


def test_exported_nam_has_numbers_where_nam_reads_numbers(trained):
    """The .nam written by --nam: loudness, gain and levels are numbers and the date NAM's dict
    (its loaders read them so); read back with NAM's own Python package when installed."""
    d, out, _, _ = trained
    doc = json.loads((d / "m.nam").read_text())
    meta = doc["metadata"]
    assert isinstance(meta["loudness"], float) and meta["loudness"] < 0
    assert set(meta["date"]) == {"year", "month", "day", "hour", "minute", "second"}
    assert all(isinstance(v, int) for v in meta["date"].values())
    assert isinstance(meta["training"]["validation_esr"], float)
    assert isinstance(doc["sample_rate"], int) and doc["version"] == "0.5.4"
    nam = pytest.importorskip("nam.models", reason="neural-amp-modeler not installed (its own "
                              "loader is the cross-check)")
    model = nam.init_from_nam(doc)
    assert model is not None


def test_allow_clipping_trains_on_a_clipped_pair_and_says_what_it_means(sim_pair, tmp_path,
                                                                          capsys):
    x, y = sim_pair
    a, b = _write(tmp_path, x, np.clip(y * 4, -1, 1), name="clip")
    pair = check_pair(a, b, allow_clipping=True)
    assert any("target clips" in w and "learns the interface's clipping" in w
               for w in pair.warnings)
    assert main(["train", str(a), str(b), "-o", str(tmp_path / "m.onnx"), "--arch", "lstm-4",
                 "--max-steps", "5", "--no-plot", "--allow-clipping"]) == 0
    assert "training anyway" in capsys.readouterr().err
    assert (tmp_path / "m.onnx").exists()
