"""SmartAmpPro json (GuitarML's Keras export): the engine against a direct float64 evaluation
written from the format (a window of N samples through two 'same'-padded strided convolutions,
an LSTM over what is left, dense), for the plugin's geometry and for one where the LSTM runs
several steps; and bad files. The shared files are matched against the plugin's own C++ in
test_golden."""

import json

import numpy as np
import pytest

from pedal.errors import ModelError
from pedal.models import load_model
from pedal.dsp.run import run_blocks


def _doc(window=120, k1=12, s1=12, k2=12, s2=12, c1=4, c2=4, hid=8, recurrent=True, seed=0):
    rng = np.random.default_rng(seed)
    r = lambda *s: (rng.standard_normal(s) * 0.4).astype(np.float32).tolist()  # noqa: E731
    lstm = {"kernel:0": r(c2, 4 * hid), "bias:0": r(4 * hid)}
    if recurrent:
        lstm["recurrent_kernel:0"] = r(hid, 4 * hid)
    else:
        lstm["lstm_cell"] = {}  # as the plugin's TubeClean file has it
    return {"conv1d": {"kernel:0": r(k1, 1, c1), "bias:0": r(c1)},
            "conv1d_1": {"kernel:0": r(k2, c1, c2), "bias:0": r(c2)},
            "lstm": lstm, "dense": {"kernel:0": r(hid, 1), "bias:0": r(1)},
            "input_size": window, "conv1d_stride": s1, "conv1d_1_stride": s2}


def _same(x, w, b, stride):
    """Keras Conv1D, padding='same': out = ceil(len/stride), floor(total/2) zeros first."""
    n, k = len(x), len(w)
    out = -(-n // stride)
    total = max((out - 1) * stride + k - n, 0)
    xp = np.concatenate([np.zeros((total // 2, x.shape[1])), x,
                         np.zeros((total - total // 2, x.shape[1]))])
    return np.array([b + np.einsum("kc,kco->o", xp[i * stride:i * stride + k], w)
                     for i in range(out)])


def _reference(doc, u):
    a = {k: {kk: np.array(vv, np.float64) for kk, vv in v.items() if kk != "lstm_cell"}
         for k, v in doc.items() if isinstance(v, dict)}
    n = doc["input_size"]
    kern, bias = a["lstm"]["kernel:0"], a["lstm"]["bias:0"]
    hid = kern.shape[1] // 4
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    up = np.concatenate([np.zeros(n - 1), u])
    y = np.empty(len(u))
    for t in range(len(u)):
        win = up[t:t + n, None]
        c1 = _same(win, a["conv1d"]["kernel:0"], a["conv1d"]["bias:0"], doc["conv1d_stride"])
        c2 = _same(c1, a["conv1d_1"]["kernel:0"], a["conv1d_1"]["bias:0"],
                   doc["conv1d_1_stride"])
        h, c = np.zeros(hid), np.zeros(hid)
        for step in c2:  # Keras gate order i, f, c, o
            z = step @ kern + bias + (h @ a["lstm"]["recurrent_kernel:0"] if h.any() else 0)
            c = sig(z[hid:2 * hid]) * c + sig(z[:hid]) * np.tanh(z[2 * hid:3 * hid])
            h = sig(z[3 * hid:]) * np.tanh(c)
        y[t] = h @ a["dense"]["kernel:0"][:, 0] + a["dense"]["bias:0"][0]
    return y


@pytest.mark.parametrize("geometry", [
    {},  # the plugin's: one LSTM step, recurrent kernel unused
    {"recurrent": False},
    {"window": 48, "k1": 8, "s1": 8, "k2": 3, "s2": 2, "c1": 3, "c2": 5},  # three LSTM steps
    {"window": 30, "k1": 5, "s1": 5, "k2": 4, "s2": 1, "hid": 5},  # stride 1, odd padding
])
def test_engine_matches_a_direct_evaluation(tmp_path, geometry):
    doc = _doc(**geometry)
    p = tmp_path / "sap.json"
    p.write_text(json.dumps(doc))
    model = load_model(p)
    assert model.family == "smartamppro" and model.sample_rate == 44100
    t = np.arange(700)
    u = (0.6 * np.sin(t * 0.07) * np.exp(-t / 500) + 0.05 * np.sin(t * 1.3)).astype(np.float32)
    ref = _reference(doc, u.astype(np.float64))
    outs = []
    for block in (64, 37, 1):
        eng = model.make_engine()
        eng.prepare(block)
        y = run_blocks(eng, u, block)
        outs.append(y)
        assert np.max(np.abs(y - ref)) < 2e-5 * max(1.0, np.abs(ref).max()), block
    # the blocks change nothing (float32 sums taken in the same order)
    assert np.array_equal(outs[0], outs[1]) and np.array_equal(outs[0], outs[2])
    eng.reset()  # silence before the next sample, as at the start of a file
    y = u[:100].copy()
    eng.process(y[:1])
    assert y[0] == outs[2][0]


@pytest.mark.parametrize("change,message", [
    (lambda d: d.pop("conv1d_1"), "conv1d_1: missing"),
    (lambda d: d["lstm"].pop("kernel:0"), "lstm.kernel:0: missing"),
    (lambda d: d["lstm"]["bias:0"].pop(), "lstm.kernel:0 (4, 32) / bias:0 (31,)"),
    (lambda d: d["conv1d"]["kernel:0"][3][0].__setitem__(1, float("nan")),
     "conv1d.kernel:0: NaN or infinite values"),
    (lambda d: d.update(input_size=125), "conv1d (kernel 12, stride 12) pads an input_size "
                                         "of 125"),
    (lambda d: d.update(conv1d_1_stride=2), "lstm.recurrent_kernel:0: needed with shape (8, 32)"
                                            ": the LSTM sees 5 positions"),
    (lambda d: d.update(input_size="120"), "input_size: must be a whole number 1..4096"),
])
def test_bad_files_get_one_clear_line(tmp_path, change, message):
    doc = _doc(recurrent=False)
    change(doc)
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(doc))
    with pytest.raises(ModelError) as err:
        load_model(p)
    assert str(err.value).startswith(str(p)) and message in str(err.value), str(err.value)
