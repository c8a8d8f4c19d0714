"""Every shared model file against the golden output of its own reference runtime
(NAM Core, PyTorch, RTNeural, GuitarML's C++; see ../shared/golden/README.md), or refused
with a clear reason."""

import json

import numpy as np
import pytest

from pedal.errors import ModelError
from pedal.models import load_model
from pedal.dsp.run import run_blocks

def _goldens(shared):
    return sorted(p for p in (shared / "golden").glob("*.npz") if not p.name.startswith("input_"))


def _run_golden(shared, gpath):
    g = np.load(gpath)
    rel = str(g["model_file"])
    model = load_model(shared / "data" / rel)
    if "slim" in g.files:
        model = model.at_slim(float(g["slim"]))
    x = np.load(gpath.parent / str(g["input_file"]))["input"].astype(np.float32)
    assert model.sample_rate == int(g["sample_rate"]), rel
    eng = model.make_engine([float(k) for k in g["knobs"]])
    eng.prepare(64)
    y = run_blocks(eng, x, 64)
    assert len(y) == len(g["output"])
    err = float(np.max(np.abs(y.astype(np.float64) - g["output"])))
    assert err <= float(g["atol"]), f"{rel}: {err:.3g} > {float(g['atol'])}"
    return rel, model, err


def test_every_shared_model_matches_its_golden(shared):
    """All 31 files, NAM 0.6/0.7 ones (A2, SlimmableContainer, condition_dsp, the slimmable
    and minimal WaveNets) included: none refused."""
    results = {}
    for gpath in _goldens(shared):
        rel, _, err = _run_golden(shared, gpath)
        results[rel] = err
    assert len(results) >= 31


def test_the_slim_goldens_match_the_size_nam_core_chose(shared):
    """golden/slim/: SetSlimmableSize(v) then Reset, in NAM Core; the same size here."""
    paths = sorted((shared / "golden" / "slim").glob("*.npz"))
    assert paths
    for gpath in paths:
        rel, model, _ = _run_golden(shared, gpath)
        full = load_model(shared / "data" / rel)
        assert model.spec.macs_per_sample < full.make_engine().spec.macs_per_sample, rel


def test_aidax_matches_its_own_batches_to_1e5(shared):
    path = shared / "data/json/aidax/AIDAX_tw40_california_clean_deerinkstudios.json"
    model = load_model(path)
    assert model.check_error is not None and model.check_error < 1e-5


@pytest.mark.parametrize("rel", ["json/neuralpi/NeuralPi_TS9_cond.json",
                                 "json/automated_gam/AGM_ht1-ht13_GRU32_model_best.json",
                                 "json/tsm1n3/TSM1N3_model_ts9_cond2.json"])
def test_guitarml_matches_pytorch_built_from_the_state_dict(shared, torch_mod, rel):
    torch = torch_mod
    doc = json.loads((shared / "data" / rel).read_text())
    md = doc["model_data"]
    cls = torch.nn.LSTM if md["unit_type"] == "LSTM" else torch.nn.GRU
    rnn = cls(md["input_size"], md["hidden_size"], md["num_layers"], batch_first=True)
    lin = torch.nn.Linear(md["hidden_size"], 1)
    with torch.no_grad():
        for k, v in doc["state_dict"].items():
            mod, attr = (rnn, k[4:]) if k.startswith("rec.") else (lin, k[4:])
            getattr(mod, attr).copy_(torch.tensor(v))
    knobs = [0.3, 0.7][: md["input_size"] - 1]
    x = (0.4 * np.sin(np.arange(8000) * 0.03) * np.linspace(0, 1.5, 8000)).astype(np.float32)
    feats = np.concatenate([x[:, None], np.tile(knobs, (len(x), 1))], 1) if knobs else x[:, None]
    with torch.no_grad():
        ref32 = lin(rnn(torch.tensor(feats[None], dtype=torch.float32))[0])[0, :, 0].numpy() + x
    # float64: the network's exact value (PyTorch's own float32 run of the GRU-32 is 2.3e-5
    # from it, so float32 is no 1e-5 reference)
    rnn, lin = rnn.double(), lin.double()
    with torch.no_grad():
        ref = lin(rnn(torch.tensor(feats[None], dtype=torch.float64))[0])[0, :, 0].numpy() + x
    model = load_model(shared / "data" / rel)
    err = {}
    for precise in (True, False):
        eng = model.make_engine(knobs, precise=precise)
        eng.prepare(128)
        y = run_blocks(eng, x, 128)
        err[precise] = np.max(np.abs(y - ref))
    assert err[True] < 1e-5
    # the real-time float32 engine is as close to the exact value as PyTorch's float32 is
    assert err[False] < max(2 * np.max(np.abs(ref32 - ref)), 1e-5)


def test_other_onnx_interfaces_are_mapped(shared):
    lstm = load_model(shared / "data/onnx/ortbuilder_nam_lstm_3x24.onnx")
    sig = lstm.onnx.signature
    assert (sig.audio, sig.y, sig.states) == ("x", "y", [("hin", "hout"), ("cin", "cout")])
    assert lstm.engine_kind == "numba" and lstm.spec.arch == "lstm-3x24"
    one = load_model(shared / "data/onnx/aki_linear_phase_invert.onnx")
    assert one.onnx.signature.per_sample and one.engine_kind == "onnxruntime"


def test_fast_tanh_is_nams_formula_and_close_to_exact(shared):
    from pedal.kernels.activations import activate
    from pedal.models.arch.wavenet_engine import WaveNetEngine

    # the formula as NAM's activations.h writes it (the spec's rounded constants)
    x = np.linspace(-6, 6, 2001)
    ax = np.abs(x)
    nam = x * (2.4555 + 2.4555 * ax + (0.8932 + 0.8212 * ax) * x * x) / (
        2.4451 + (2.4451 + x * x) * np.abs(x + 0.8146 * x * ax))
    ours = np.array([activate.py_func(v, 5) for v in x])
    assert np.max(np.abs(ours - nam)) < 2e-4          # same curve (constants to 4 places)
    assert 1e-4 < np.max(np.abs(ours - np.tanh(x))) < 0.01  # an approximation, a close one
    model = load_model(shared / "data/nam/PhillipeP_BOSS_SD1_feather.nam")
    g = np.load(shared / "golden/nam__PhillipeP_BOSS_SD1_feather.nam.npz")
    xin = np.load(shared / "golden" / str(g["input_file"]))["input"].astype(np.float32)
    outs = []
    for fast in (False, True):
        eng = model.make_engine(fast_tanh=fast)
        assert isinstance(eng, WaveNetEngine) and eng.fast_tanh == fast
        eng.prepare(64)
        y = run_blocks(eng, xin, 64)
        outs.append(y)
    assert np.max(np.abs(outs[0] - g["output"])) < 1e-4
    assert 0 < np.max(np.abs(outs[1] - outs[0])) < 0.05


def test_newer_version_stamps_on_old_architectures_load(shared, tmp_path):
    """NAM's trainer 0.13 stamps a plain LSTM "0.7.0": such a file loads and plays exactly as
    its 0.5 twin; a 0.7 file with a new key, or version 0.8, is refused naming what is new."""
    doc = json.loads((shared / "data/nam/BossLSTM-1x16.nam").read_text())
    x = (0.4 * np.sin(np.arange(3000) * 0.03)).astype(np.float32)

    def run(d):
        p = tmp_path / "m.nam"
        p.write_text(json.dumps(d))
        eng = load_model(p).make_engine()
        eng.prepare(64)
        y = run_blocks(eng, x, 64)
        return y

    old = run(doc)
    assert np.array_equal(run({**doc, "version": "0.7.0"}), old)
    bad = {**doc, "version": "0.7.0", "config": {**doc["config"], "out_channels": 2}}
    with pytest.raises(ModelError, match=r"config.out_channels: must be a whole number 1..1"):
        run(bad)
    new_key = {**doc, "version": "0.7.0", "config": {**doc["config"], "attention": True}}
    with pytest.raises(ModelError, match=r"config: keys \['attention'\] are not known"):
        run(new_key)
    with pytest.raises(ModelError, match="version 0.8.0 is not supported"):
        run({**doc, "version": "0.8.0"})
    assert np.array_equal(run({**doc, "version": "0.7.3"}), old)  # a newer patch: read
