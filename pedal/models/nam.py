"""Neural Amp Modeler ``.nam`` files (JSON): LSTM, A1 WaveNet and Linear.

Versions 0.5.x are read whole. Files stamped 0.6 / 0.7 are read when they use nothing newer:
NAM's trainer 0.13 stamps even a plain LSTM 0.7.0, and its layout is unchanged. What is new in
those versions (A2 WaveNet layer keys and activation objects, SlimmableContainer,
condition_dsp, per-layer heads) is refused whole with a message naming the feature, never
half-loaded. ``sample_rate`` absent means 48000.
"""

from __future__ import annotations

import numpy as np

from ..errors import ModelError
from .linear import LinearSpec
from .recurrent import RecurrentLayer, RecurrentSpec
from .wavenet import LayerArray, WaveNetSpec

SUPPORTED = (0, 5)  # major, minor read whole
NEWER = ((0, 6), (0, 7))  # read when they use only what 0.5 has
_A1_LAYER_KEYS = {"input_size", "condition_size", "head_size", "channels", "kernel_size",
                  "dilations", "activation", "gated", "head_bias"}


class _Weights:
    def __init__(self, flat, name):
        self.w = np.asarray(flat, dtype=np.float64)
        self.i = 0
        self.name = name

    def take(self, *shape):
        n = int(np.prod(shape))
        if self.i + n > self.w.size:
            raise ModelError(f"{self.name}: weights: {self.w.size} values, the config needs "
                             "more (the file is truncated or its config does not match)")
        out = self.w[self.i:self.i + n].reshape(shape)
        self.i += n
        return out

    def done(self):
        if self.i != self.w.size:
            raise ModelError(f"{self.name}: weights: {self.w.size} values, the config uses "
                             f"{self.i}")


def _version(doc, name):
    """(major, minor) of a version this reader takes, or raise."""
    raw = doc.get("version")
    try:
        parts = tuple(int(p) for p in str(raw).split(".")[:3])
        major, minor = parts[0], parts[1]
    except (ValueError, IndexError):
        raise ModelError(f"{name}: version: must be like 0.5.4, got {raw!r}") from None
    if (major, minor) != SUPPORTED and (major, minor) not in NEWER:
        raise ModelError(f"{name}: version {raw} is not supported: this pedal reads .nam "
                         "0.5.x (LSTM, WaveNet A1, Linear), and 0.6/0.7 files that use only "
                         "those")
    return major, minor


def _newer_feature(doc) -> str | None:
    """The first thing a 0.6/0.7 file uses that 0.5 does not have, or None."""
    arch, cfg = doc.get("architecture"), doc.get("config")
    if arch not in ("LSTM", "WaveNet", "Linear"):
        return f"architecture {arch!r}"
    if not isinstance(cfg, dict):
        return None  # parse_nam says what is wrong with it
    if arch == "LSTM":
        extra = {k: v for k, v in cfg.items() if k not in ("input_size", "hidden_size",
                                                          "num_layers")}
        odd = {k: v for k, v in extra.items() if not (k in ("in_channels", "out_channels")
                                                      and v == 1)}
        return f"config keys {sorted(odd)}" if odd else None
    if arch == "WaveNet":
        extra = set(cfg) - {"layers", "head", "head_scale"}
        if extra:
            return f"config keys {sorted(extra)}"
        for i, lc in enumerate(cfg.get("layers") or []):
            if isinstance(lc, dict):
                new = set(lc) - _A1_LAYER_KEYS
                if new or not isinstance(lc.get("activation"), str):
                    what = sorted(new) if new else ["activation object"]
                    return f"config.layers[{i}] keys {what} (A2 WaveNet)"
    return None


def _int(cfg, key, name, lo=1, hi=1 << 16, prefix="config."):
    v = cfg.get(key)
    if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
        raise ModelError(f"{name}: {prefix}{key}: must be a whole number {lo}..{hi}, got {v!r}")
    return v


def parse_nam(doc: dict, name: str):
    """A .nam document -> (spec, sample_rate, metadata)."""
    if _version(doc, name) != SUPPORTED:
        feature = _newer_feature(doc)
        if feature:
            raise ModelError(f"{name}: version {doc.get('version')} uses {feature}, which "
                             "this pedal does not support yet (it reads LSTM, WaveNet A1 and "
                             "Linear)")
    arch = doc.get("architecture")
    cfg = doc.get("config")
    if not isinstance(cfg, dict):
        raise ModelError(f"{name}: config: must be an object")
    weights = doc.get("weights")
    if not isinstance(weights, list):
        raise ModelError(f"{name}: weights: must be a list of numbers")
    try:
        w = _Weights(weights, name)
    except (TypeError, ValueError):
        raise ModelError(f"{name}: weights: must be a list of numbers") from None
    if not np.all(np.isfinite(w.w)):
        raise ModelError(f"{name}: weights: NaN or infinite values")
    sr = doc.get("sample_rate", 48000) or 48000
    if not isinstance(sr, (int, float)) or not 8000 <= sr <= 384000:
        raise ModelError(f"{name}: sample_rate: must be 8000..384000, got {sr!r}")
    sr = int(sr)
    meta = doc.get("metadata") or {}
    if arch == "LSTM":
        spec = _lstm(cfg, w, name)
    elif arch == "WaveNet":
        spec = _wavenet(cfg, w, name)
    elif arch == "Linear":
        r = _int(cfg, "receptive_field", name)
        spec = LinearSpec(w.take(r), float(w.take(1)[0]) if cfg.get("bias") else 0.0)
    else:
        raise ModelError(f"{name}: architecture: {arch!r} is not supported (LSTM, WaveNet, "
                         "Linear)")
    w.done()
    spec.sample_rate = sr
    spec.metadata = {k: v for k, v in meta.items() if isinstance(v, (str, int, float))}
    spec.validate(name)
    return spec, sr, meta


def _lstm(cfg, w, name):
    n_in = _int(cfg, "input_size", name, 1, 1)
    hid = _int(cfg, "hidden_size", name, 1, 256)
    n_layers = _int(cfg, "num_layers", name, 1, 8)
    layers, h0, c0 = [], [], []
    width = n_in
    for _ in range(n_layers):
        m = w.take(4 * hid, width + hid)
        b = w.take(4 * hid)
        layers.append(RecurrentLayer(m[:, :width].copy(), m[:, width:].copy(), b.copy(),
                                     np.zeros(4 * hid)))
        h0.append(w.take(hid).copy())
        c0.append(w.take(hid).copy())
        width = hid
    head_w = w.take(1, hid)[0].copy()
    head_b = float(w.take(1)[0])
    return RecurrentSpec("lstm", layers, head_w, head_b, False, 1, 48000,
                         h0=np.array(h0), c0=np.array(c0))


def _wavenet(cfg, w, name):
    arrays_cfg = cfg.get("layers")
    if not isinstance(arrays_cfg, list) or not arrays_cfg:
        raise ModelError(f"{name}: config.layers: must be a non-empty list")
    if cfg.get("head") is not None:
        raise ModelError(f"{name}: config.head: a post-stack head is not supported")
    arrays = []
    for i, lc in enumerate(arrays_cfg):
        key = f"layers[{i}]"
        if not isinstance(lc, dict):
            raise ModelError(f"{name}: config.{key}: must be an object")
        act = lc.get("activation")
        if not isinstance(act, str):
            raise ModelError(f"{name}: config.{key}.activation: {act!r} is a newer-format "
                             "activation object, not supported")
        unknown = set(lc) - {"input_size", "condition_size", "head_size", "channels",
                             "kernel_size", "dilations", "activation", "gated", "head_bias"}
        if unknown:
            raise ModelError(f"{name}: config.{key}: newer-format keys {sorted(unknown)} are "
                             "not supported")
        ints = {k: _int(lc, k, name, 1, 4096, prefix=f"config.{key}.")
                for k in ("input_size", "condition_size", "head_size", "channels",
                          "kernel_size")}
        dil = lc.get("dilations")
        if not isinstance(dil, list) or not dil or not all(isinstance(d, int) for d in dil):
            raise ModelError(f"{name}: config.{key}.dilations: must be a list of whole numbers")
        c, cin, cc, k, hd = (ints["channels"], ints["input_size"], ints["condition_size"],
                             ints["kernel_size"], ints["head_size"])
        gated = bool(lc.get("gated", False))
        m = 2 * c if gated else c
        rech = w.take(c, cin).copy()
        conv_w, conv_b, mix, w1, b1 = [], [], [], [], []
        for _ in dil:
            conv_w.append(w.take(m, c, k).copy())
            conv_b.append(w.take(m).copy())
            mix.append(w.take(m, cc).copy())
            w1.append(w.take(c, c).copy())
            b1.append(w.take(c).copy())
        head_w = w.take(hd, c).copy()
        head_b = w.take(hd).copy() if lc.get("head_bias") else None
        arrays.append(LayerArray(cin, cc, hd, c, k, list(dil), act, gated,
                                 bool(lc.get("head_bias")), rech, conv_w, conv_b, mix, w1, b1,
                                 head_w, head_b))
    head_scale = float(w.take(1)[0])
    return WaveNetSpec(arrays, head_scale)


# ---------------------------------------------------------------------------------------------
VERSION_WRITTEN = "0.5.4"


def to_nam(spec, metadata: dict | None = None) -> dict:
    """A .nam 0.5.4 document for an LSTM (no input skip, no knobs) or an A1 WaveNet, in the
    exact weight order ``parse_nam`` reads (and NAM's trainer writes)."""
    w: list[np.ndarray] = []
    if isinstance(spec, RecurrentSpec):
        if spec.cell != "lstm" or spec.skip or spec.input_size != 1:
            raise ModelError(f"{spec.arch}: .nam holds LSTMs without input skip or knobs only")
        hid = spec.hidden_size
        for i, layer in enumerate(spec.layers):
            w += [np.concatenate([layer.w_ih, layer.w_hh], axis=1).ravel(),
                  layer.b_ih + layer.b_hh,
                  spec.h0[i] if spec.h0 is not None else np.zeros(hid),
                  spec.c0[i] if spec.c0 is not None else np.zeros(hid)]
        w += [spec.dense_w.ravel(), np.array([spec.dense_b])]
        arch, cfg = "LSTM", {"input_size": 1, "hidden_size": hid, "num_layers": spec.num_layers}
    elif isinstance(spec, WaveNetSpec):
        if any(a.rechannel_b is not None or a.layer_head_w or a.gate_activation != "Sigmoid"
               for a in spec.arrays):
            raise ModelError(f"{spec.arch}: this WaveNet variant (rechannel bias, per-layer "
                             "heads) has no .nam form")
        layers = []
        for a in spec.arrays:
            w.append(a.rechannel.ravel())
            for cw, cb, m, w1, b1 in zip(a.conv_w, a.conv_b, a.mixin, a.w1x1, a.b1x1):
                w += [cw.ravel(), cb, m.ravel(), w1.ravel(), b1]
            w.append(a.head_w.ravel())
            if a.head_b is not None:
                w.append(a.head_b)
            layers.append({"input_size": a.input_size, "condition_size": a.condition_size,
                           "head_size": a.head_size, "channels": a.channels,
                           "kernel_size": a.kernel_size, "dilations": list(a.dilations),
                           "activation": a.activation, "gated": a.gated,
                           "head_bias": a.head_b is not None})
        w.append(np.array([spec.head_scale]))
        arch, cfg = "WaveNet", {"layers": layers, "head": None, "head_scale": spec.head_scale}
    else:
        raise ModelError(f"{type(spec).__name__}: no .nam form")
    flat = np.concatenate([np.asarray(v, np.float64).ravel() for v in w])
    return {"version": VERSION_WRITTEN, "architecture": arch, "config": cfg,
            "weights": flat.tolist(), "sample_rate": spec.sample_rate,
            "metadata": dict(metadata or {})}


def write_nam(spec, path, metadata: dict | None = None) -> None:
    import json

    from ..audio.files import atomic_path

    doc = to_nam(spec, metadata)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc))
