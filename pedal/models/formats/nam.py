"""Neural Amp Modeler ``.nam`` files (JSON): LSTM, A1 WaveNet and Linear.

Versions 0.5.x are read whole. Files stamped 0.6 / 0.7 are read when they use nothing newer:
NAM's trainer 0.13 stamps even a plain LSTM 0.7.0, and its layout is unchanged. What is new in
those versions (A2 WaveNet layer keys and activation objects, SlimmableContainer,
condition_dsp, per-layer heads) is refused whole with a message naming the feature, never
half-loaded. ``sample_rate`` absent means 48000.
"""

from __future__ import annotations

import numpy as np

from ...errors import ModelError
from .. import budget
from ..jsondoc import Node
from ..arch.linear import LinearSpec
from ..arch.recurrent import RecurrentLayer, RecurrentSpec
from ..arch.wavenet import MAX_CHANNELS, MAX_DILATION, LayerArray, WaveNetSpec

SUPPORTED = (0, 5)  # major, minor read whole
NEWER = ((0, 6), (0, 7))  # read when they use only what 0.5 has
_A1_LAYER_KEYS = {"input_size", "condition_size", "head_size", "channels", "kernel_size",
                  "dilations", "activation", "gated", "head_bias"}


class _Weights:
    def __init__(self, flat: np.ndarray, name: str):
        self.w = flat
        self.i = 0
        self.name = name

    def take(self, *shape):
        n = int(np.prod(shape, dtype=np.int64))
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


def _version(doc: Node):
    """(major, minor) of a version this reader takes, or raise."""
    node = doc["version"]
    raw = node.value
    try:
        parts = tuple(int(p) for p in str(raw).split(".")[:3])
        major, minor = parts[0], parts[1]
    except (ValueError, IndexError):
        raise node.error("must be like 0.5.4") from None
    if not isinstance(raw, str):
        raise node.error("must be a version string like 0.5.4")
    if (major, minor) != SUPPORTED and (major, minor) not in NEWER:
        raise ModelError(f"{doc.name}: version {raw} is not supported: this pedal reads .nam "
                         "0.5.x (LSTM, WaveNet A1, Linear), and 0.6/0.7 files that use only "
                         "those")
    return major, minor


def _newer_feature(doc: Node) -> str | None:
    """The first thing a 0.6/0.7 file uses that 0.5 does not have, or None."""
    arch, cfg = doc.value.get("architecture"), doc.value.get("config")
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
        new_keys = set(cfg) - {"layers", "head", "head_scale"}
        if new_keys:
            return f"config keys {sorted(new_keys)}"
        layers = cfg.get("layers")
        for i, lc in enumerate(layers if isinstance(layers, list) else []):
            if isinstance(lc, dict):
                new = set(lc) - _A1_LAYER_KEYS
                if new or not isinstance(lc.get("activation"), str):
                    what = sorted(new) if new else ["activation object"]
                    return f"config.layers[{i}] keys {what} (A2 WaveNet)"
    return None


def _metadata(doc: Node) -> dict:
    """The file's metadata object (numbers and text kept; anything else dropped)."""
    node = doc.get("metadata")
    if node is None:
        return {}
    return {k: v for k, v in node.obj().items()
            if isinstance(v, (str, int, float, dict)) and not isinstance(v, bool)}


def detect(doc) -> bool:
    return isinstance(doc, dict) and "architecture" in doc and "config" in doc


def parse(doc: Node):
    """A .nam document -> (spec, sample_rate, metadata)."""
    name = doc.name
    doc.obj()
    if _version(doc) != SUPPORTED:
        feature = _newer_feature(doc)
        if feature:
            raise ModelError(f"{name}: version {doc.value.get('version')} uses {feature}, "
                             "which this pedal does not support yet (it reads LSTM, WaveNet A1 "
                             "and Linear)")
    arch = doc["architecture"].str(("LSTM", "WaveNet", "Linear"))
    cfg = doc["config"]
    cfg.obj()
    sr_node = doc.get("sample_rate")
    sr = 48000 if sr_node is None or sr_node.value == 0 else int(sr_node.num(8000, 384000))
    meta = _metadata(doc)
    if sr_node is None:
        meta["sample_rate_stated"] = False
    if arch == "LSTM":
        spec = _lstm(cfg, doc, name)
    elif arch == "WaveNet":
        spec = _wavenet(cfg, doc, name)
    else:
        r = cfg["receptive_field"].int(1, 65536)
        bias = cfg["bias"].bool() if cfg.has("bias") else False
        w = _Weights(doc["weights"].array(ndim=1), name)
        spec = LinearSpec(w.take(r).copy(), float(w.take(1)[0]) if bias else 0.0)
        w.done()
    spec.sample_rate = sr
    spec.metadata = {k: v for k, v in meta.items() if isinstance(v, (str, int, float))}
    spec.validate(name)
    return spec, sr, meta


def _lstm(cfg: Node, doc: Node, name: str):
    cfg["input_size"].int(1, 1)
    hid = cfg["hidden_size"].int(1, 256)
    n_layers = cfg["num_layers"].int(1, 8)
    w = _Weights(doc["weights"].array(ndim=1), name)
    layers, h0, c0 = [], [], []
    width = 1
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
    w.done()
    return RecurrentSpec("lstm", layers, head_w, head_b, False, 1, 48000,
                         h0=np.array(h0), c0=np.array(c0))


def _wavenet(cfg: Node, doc: Node, name: str):
    arrays_cfg = cfg["layers"].items()
    if not 1 <= len(arrays_cfg) <= 16:
        raise cfg["layers"].error("must be a list of 1..16 layer arrays", show=False)
    if cfg.has("head"):
        raise cfg["head"].error("a post-stack head is not supported", show=False)
    # the declared sizes first: the budget is checked before any weight is read
    shapes, rf, macs = [], 1, 0
    for lc in arrays_cfg:
        lc.obj()
        act = lc["activation"]
        if not isinstance(act.value, str):
            raise act.error("is a newer-format activation object, not supported", show=False)
        unknown = set(lc.keys()) - _A1_LAYER_KEYS
        if unknown:
            raise lc.error(f"newer-format keys {sorted(unknown)} are not supported", show=False)
        ints = {k: lc[k].int(1, MAX_CHANNELS if k in ("channels", "input_size", "head_size")
                             else 4096)
                for k in ("input_size", "condition_size", "head_size", "channels", "kernel_size")}
        dil_node = lc["dilations"]
        dil = [d.int(1, MAX_DILATION) for d in dil_node.items()]
        if not 1 <= len(dil) <= 64:
            raise dil_node.error("must be a list of 1..64 dilations", show=False)
        gated = lc["gated"].bool() if lc.has("gated") else False
        head_bias = lc["head_bias"].bool() if lc.has("head_bias") else False
        c, k = ints["channels"], ints["kernel_size"]
        m = 2 * c if gated else c
        rf += (k - 1) * sum(dil)
        macs += ints["input_size"] * c + len(dil) * (m * c * k + m * ints["condition_size"]
                                                     + c * c) + ints["head_size"] * c
        shapes.append((ints, dil, act.str(), gated, head_bias))
    n_weights = doc["weights"].list()
    budget.check(name, weights=len(n_weights), macs=macs, receptive_field=rf)
    w = _Weights(doc["weights"].array(ndim=1), name)
    arrays = []
    for ints, dil, act, gated, head_bias in shapes:
        c, cin, cc, k, hd = (ints["channels"], ints["input_size"], ints["condition_size"],
                             ints["kernel_size"], ints["head_size"])
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
        head_b = w.take(hd).copy() if head_bias else None
        arrays.append(LayerArray(cin, cc, hd, c, k, list(dil), act, gated, head_bias, rech,
                                 conv_w, conv_b, mix, w1, b1, head_w, head_b))
    head_scale = float(w.take(1)[0])  # NAM Core reads it from the weights, not the config
    w.done()
    return WaveNetSpec(arrays, head_scale)


# ---------------------------------------------------------------------------------------------
VERSION_WRITTEN = "0.5.4"
NUMERIC_METADATA = ("loudness", "gain", "input_level_dbu", "output_level_dbu")


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
        arch = "LSTM"
        cfg: dict = {"input_size": 1, "hidden_size": hid, "num_layers": spec.num_layers}
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
        arch = "WaveNet"
        cfg = {"layers": layers, "head": None, "head_scale": spec.head_scale}
    else:
        raise ModelError(f"{type(spec).__name__}: no .nam form")
    flat = np.concatenate([np.asarray(v, np.float64).ravel() for v in w])
    meta = dict(metadata or {})
    for key in NUMERIC_METADATA:  # numbers as numbers, whatever carried them here (ONNX: text)
        if key in meta:
            try:
                meta[key] = float(meta[key])
            except (TypeError, ValueError):
                meta.pop(key)
    return {"version": VERSION_WRITTEN, "architecture": arch, "config": cfg,
            "weights": flat.tolist(), "sample_rate": spec.sample_rate, "metadata": meta}


def write_nam(spec, path, metadata: dict | None = None) -> None:
    import json

    from ...audio.files import atomic_path

    doc = to_nam(spec, metadata)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc))
