"""JSON amp-model families besides .nam, mapped onto the recurrent description:

- GuitarML "SimpleRNN" (NeuralPi, Proteus, Chameleon, TS-M1N3, Automated-GuitarAmpModelling):
  PyTorch state_dict names, LSTM or GRU, optional input skip, 1-2 knob inputs. No sample rate
  is stored: 44100 Hz (48000 when the file name says ``48k``).
- AIDA-X / RTNeural Keras-style: ``layers`` of lstm / gru / dense with Keras weight layouts;
  AIDA-X files carry ``input_batch`` / ``output_batch``, which are checked at load.
"""

from __future__ import annotations

import re

import numpy as np

from ..errors import ModelError
from .recurrent import RecurrentLayer, RecurrentSpec


def _arr(v, name, key, shape=None):
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError):
        raise ModelError(f"{name}: {key}: must be numbers") from None
    if shape is not None and a.shape != tuple(shape):
        raise ModelError(f"{name}: {key}: shape {a.shape}, expected {tuple(shape)}")
    if not np.all(np.isfinite(a)):
        raise ModelError(f"{name}: {key}: NaN or infinite values")
    return a


def parse_guitarml(doc: dict, name: str):
    md, sd = doc.get("model_data"), doc.get("state_dict")
    if not isinstance(md, dict) or not isinstance(sd, dict):
        raise ModelError(f"{name}: model_data and state_dict must be objects")
    if md.get("model") != "SimpleRNN":
        raise ModelError(f"{name}: model_data.model: only SimpleRNN is supported, got "
                         f"{md.get('model')!r}")
    unit = str(md.get("unit_type", "")).upper()
    if unit not in ("LSTM", "GRU"):
        raise ModelError(f"{name}: model_data.unit_type: must be LSTM or GRU, got {unit!r}")
    g = 4 if unit == "LSTM" else 3
    try:
        hid, n_layers = int(md["hidden_size"]), int(md.get("num_layers", 1))
        n_in = int(md.get("input_size", 1))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelError(f"{name}: model_data: missing or bad {exc}") from None
    if int(md.get("output_size", 1)) != 1:
        raise ModelError(f"{name}: model_data.output_size: must be 1")
    if not 1 <= n_in <= 9 or not 1 <= hid <= 256 or not 1 <= n_layers <= 8:
        raise ModelError(f"{name}: model_data: sizes out of range (input {n_in}, hidden {hid}, "
                         f"layers {n_layers})")
    layers, width = [], n_in
    for i in range(n_layers):
        def get(k, shape):
            key = f"state_dict.rec.{k}_l{i}"
            if f"rec.{k}_l{i}" not in sd:
                if k.startswith("bias") and not md.get("bias_fl", True):
                    return np.zeros(shape)
                raise ModelError(f"{name}: {key}: missing")
            return _arr(sd[f"rec.{k}_l{i}"], name, key, shape)
        layers.append(RecurrentLayer(get("weight_ih", (g * hid, width)),
                                     get("weight_hh", (g * hid, hid)),
                                     get("bias_ih", (g * hid,)), get("bias_hh", (g * hid,))))
        width = hid
    if "lin.weight" not in sd:
        raise ModelError(f"{name}: state_dict.lin.weight: missing")
    lw = _arr(sd["lin.weight"], name, "state_dict.lin.weight", (1, hid))[0]
    lb = _arr(sd.get("lin.bias", [0.0]), name, "state_dict.lin.bias", (1,))[0]
    sr = 48000 if re.search(r"48k", name, re.IGNORECASE) else 44100
    spec = RecurrentSpec(unit.lower(), layers, lw, float(lb), bool(md.get("skip", 0)), n_in, sr)
    spec.validate(name)
    return spec, sr, {}


def parse_keras(doc: dict, name: str):
    layers_doc = doc.get("layers")
    if not isinstance(layers_doc, list) or not layers_doc:
        raise ModelError(f"{name}: layers: must be a non-empty list")
    in_shape = doc.get("in_shape") or [None, None, 1]
    n_in = in_shape[-1] if isinstance(in_shape, list) and in_shape else 1
    if n_in != 1:
        raise ModelError(f"{name}: in_shape: only one input channel is supported, got {n_in}")
    rec, dense, cell = [], None, None
    width = 1
    for i, lay in enumerate(layers_doc):
        key = f"layers[{i}]"
        kind = lay.get("type") if isinstance(lay, dict) else None
        w = lay.get("weights") if isinstance(lay, dict) else None
        if kind in ("lstm", "gru"):
            if dense is not None:
                raise ModelError(f"{name}: {key}: recurrent layer after a dense layer")
            if cell not in (None, kind):
                raise ModelError(f"{name}: {key}: mixed lstm and gru layers")
            cell = kind
            g = 4 if kind == "lstm" else 3
            if not isinstance(w, list) or len(w) != 3:
                raise ModelError(f"{name}: {key}.weights: expected kernel, recurrent, bias")
            kern = _arr(w[0], name, f"{key}.weights[0]")
            hid = kern.shape[-1] // g if kern.ndim == 2 else 0
            kern = _arr(w[0], name, f"{key}.weights[0]", (width, g * hid))
            recur = _arr(w[1], name, f"{key}.weights[1]", (hid, g * hid))
            bias = _arr(w[2], name, f"{key}.weights[2]")
            if kind == "lstm":  # Keras gate order i, f, c, o == PyTorch's i, f, g, o
                if bias.shape != (g * hid,):
                    raise ModelError(f"{name}: {key}.weights[2]: shape {bias.shape}")
                rec.append(RecurrentLayer(kern.T.copy(), recur.T.copy(), bias,
                                          np.zeros(g * hid)))
            else:  # Keras z, r, h with reset_after -> PyTorch r, z, n
                if bias.shape != (2, g * hid):
                    raise ModelError(f"{name}: {key}.weights[2]: GRU bias must be [2, {g * hid}]"
                                     " (reset_after), got {bias.shape}")
                order = np.r_[hid:2 * hid, 0:hid, 2 * hid:3 * hid]
                rec.append(RecurrentLayer(kern.T[order].copy(), recur.T[order].copy(),
                                          bias[0][order].copy(), bias[1][order].copy()))
            width = hid
        elif kind == "dense":
            if dense is not None or not isinstance(w, list) or len(w) != 2:
                raise ModelError(f"{name}: {key}: one dense layer with kernel and bias expected")
            act = lay.get("activation") or ""
            if act not in ("", "linear"):
                raise ModelError(f"{name}: {key}.activation: {act!r} is not supported")
            dense = (_arr(w[0], name, f"{key}.weights[0]", (width, 1))[:, 0],
                     float(_arr(w[1], name, f"{key}.weights[1]", (1,))[0]))
        else:
            raise ModelError(f"{name}: {key}.type: {kind!r} is not supported (lstm, gru, "
                             "dense)")
    if not rec or dense is None:
        raise ModelError(f"{name}: layers: need recurrent layers followed by one dense layer")
    meta = doc.get("metadata") if isinstance(doc.get("metadata"), dict) else {}
    sr_raw = meta.get("samplerate", 48000 if meta else 44100)
    try:
        sr = int(float(sr_raw))
    except (TypeError, ValueError):
        raise ModelError(f"{name}: metadata.samplerate: must be a number, got {sr_raw!r}") \
            from None
    spec = RecurrentSpec(cell, rec, dense[0], dense[1], False, 1, sr,
                         metadata={k: v for k, v in meta.items() if isinstance(v, (str, int,
                                                                                   float))})
    spec.validate(name)
    return spec, sr, meta


def embedded_check(doc: dict, engine, name: str):
    """Max |difference| between the engine and the file's own output_batch (None if absent)."""
    if "input_batch" not in doc or "output_batch" not in doc:
        return None
    x = _arr(doc["input_batch"], name, "input_batch").astype(np.float32).reshape(-1)
    want = _arr(doc["output_batch"], name, "output_batch").reshape(-1)
    if x.size != want.size or x.size == 0:
        raise ModelError(f"{name}: input_batch and output_batch differ in length")
    engine.prepare(256)
    y = x.copy()
    for i in range(0, len(y), 256):
        engine.process(y[i:i + 256])
    engine.reset()
    return float(np.max(np.abs(y - want)))
