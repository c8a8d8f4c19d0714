"""WaveNetVA-family json (SmartPedal, SmartAmp, PedalNetRT): every activation the format names
against a direct numpy evaluation written from the format, and bad files. The shared files are
matched against GuitarML's own C++ in test_golden."""

import json

import numpy as np
import pytest

from pedal.errors import ModelError
from pedal.models import load_model

ACTS = {
    "gated": lambda a, g: np.tanh(a) / (1 + np.exp(-g)),
    "softgated": lambda a, g: a / (1 + np.abs(a)) * g / (1 + np.abs(g)),
    "tanh": np.tanh, "relu": lambda a: np.maximum(a, 0), "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
    "softsign": lambda a: a / (1 + np.abs(a)), "linear": lambda a: a,
}


def _doc(act="gated", c=3, k=3, dil=(1, 2, 4), seed=0, as_strings=False):
    rng = np.random.default_rng(seed)
    m = 2 * c if act in ("gated", "softgated") else c
    shapes = [(-1, "W", c), (-1, "b", c)]
    for i in range(len(dil)):
        shapes += [(i, "W_conv", k * c * m), (i, "b_conv", m), (i, "W_out", c * c),
                   (i, "b_out", c)]
    shapes += [(len(dil), "W", len(dil) * c), (len(dil), "b", 1)]
    variables = []
    for layer, name, n in shapes:
        data = (rng.standard_normal(n) * 0.5).astype(np.float32).tolist()
        variables.append({"layer_idx": layer, "name": name,
                          "data": [repr(v) for v in data] if as_strings else data})
    return {"activation": act, "output_channels": 1, "input_channels": 1,
            "residual_channels": c, "filter_width": k, "dilations": list(dil),
            "variables": variables}


def _reference(doc, u):
    """Direct evaluation in float64, zero history before the first sample."""
    c, k, dil = doc["residual_channels"], doc["filter_width"], doc["dilations"]
    v = {(x["layer_idx"], x["name"]): np.array(x["data"], dtype=np.float32).astype(np.float64)
         for x in doc["variables"]}
    act = ACTS[doc["activation"]]
    gated = doc["activation"] in ("gated", "softgated")
    m = 2 * c if gated else c
    h = v[(-1, "W")][:, None] * u[None, :] + v[(-1, "b")][:, None]  # [C, T]
    y = np.full(len(u), v[(len(dil), "b")][0])
    head = v[(len(dil), "W")].reshape(len(dil), c)
    for i, d in enumerate(dil):
        w = v[(i, "W_conv")].reshape(k, c, m)
        pad = np.concatenate([np.zeros((c, d * (k - 1))), h], 1)
        a = np.tile(v[(i, "b_conv")][:, None], (1, len(u)))
        for tap in range(k):
            a += w[tap].T @ pad[:, tap * d: tap * d + len(u)]
        z = act(a[:c], a[c:]) if gated else act(a)
        y += head[i] @ z
        h = h + v[(i, "W_out")].reshape(c, c).T @ z + v[(i, "b_out")][:, None]
    return y


@pytest.mark.parametrize("act", sorted(ACTS))
def test_every_activation_matches_a_direct_evaluation(tmp_path, act):
    doc = _doc(act, as_strings=(act == "gated"))
    p = tmp_path / "m.json"
    p.write_text(json.dumps(doc))
    model = load_model(p)
    assert model.family == "wavenetva" and model.sample_rate == 44100
    u = (0.5 * np.sin(np.arange(3000) * 0.05) * np.linspace(0, 2, 3000)).astype(np.float32)
    eng = model.make_engine()
    eng.prepare(64)
    y = u.copy()
    for i, n in enumerate([1, 63, 64, 17, 64, 64] * 100):  # odd block lengths too
        s = sum(([1, 63, 64, 17, 64, 64] * 100)[:i])
        if s >= len(y):
            break
        eng.process(y[s:s + n])
    ref = _reference(doc, u.astype(np.float64))
    assert np.max(np.abs(y - ref)) < 2e-5 * max(1.0, np.max(np.abs(ref)))


def _mutate(doc, what):
    v = doc["variables"]
    if what == "missing":
        del v[3]
    elif what == "count":
        v[2]["data"] = v[2]["data"][:-1]
    elif what == "nan":
        v[0]["data"][1] = "nan"
    elif what == "activation":
        doc["activation"] = "swish"
    elif what == "extra":
        v.append({"layer_idx": 7, "name": "W_conv", "data": [0.0]})
    elif what == "channels":
        doc["residual_channels"] = 100000
    return doc


@pytest.mark.parametrize("what,message", [
    ("missing", "variables[layer_idx=0, name=b_conv]: missing"),
    ("count", "variables[layer_idx=0, name=W_conv]: 53 values, expected 54"),
    ("nan", "variables[layer_idx=-1, name=W]: NaN or infinite"),
    ("activation", "activation: must be one of"),
    ("extra", "unexpected layer_idx/name (7, 'W_conv')"),
    ("channels", "residual_channels: must be a whole number 1..128"),
])
def test_bad_files_get_one_clear_line(tmp_path, what, message):
    doc = _doc()
    doc["variables"][0]["data"] = [str(x) for x in doc["variables"][0]["data"]]
    p = tmp_path / "bad.json"
    p.write_text(json.dumps(_mutate(doc, what)))
    with pytest.raises(ModelError) as err:
        load_model(p)
    assert str(err.value).startswith(str(p)) and message in str(err.value)
