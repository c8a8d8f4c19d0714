"""Neural Amp Modeler ``.nam`` files (JSON), every version NAM Core reads (0.5.0 to 0.7.x):
LSTM, Linear, the WaveNet in its A1 and A2 forms (``condition_dsp``, per-layer kernel sizes and
activations, bottleneck, gating modes, head 1x1, grouped convolutions, FiLM, head blocks, a
post-stack head, the slimmable WaveNet) and ``SlimmableContainer``.

The keys, their defaults and the weights' order are NAM Core's (``NAM/wavenet/model.cpp``
``parse_config_json``, ``detail.h``, ``conv1d.cpp``, ``container.cpp``, ``lstm.cpp``,
``linear.cpp`` at daae2d0). Grouped convolutions are stored dense, with zeros between the
groups. A key this reader does not know, or a version newer than 0.7, is refused by name,
never half-loaded. ``sample_rate`` absent means 48000.

Where NAM's trainer and Core disagree, the pedal plays the file as Core does: a ``Linear``
file's ``weights[0]`` multiplies the newest sample in Core (it reverses the list into its
kernel), the oldest in the trainer's convolution.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...errors import ModelError
from .. import budget
from ..jsondoc import Node
from ..arch.linear import LinearSpec
from ..arch.recurrent import RecurrentLayer, RecurrentSpec
from ..arch.wavenet import MAX_CHANNELS, MAX_KERNEL, PostHead, WaveNetSpec
from .nam_layers import _ArrayPlan, _Weights, _activation, _unknown
from .nam_write import to_nam, write_nam  # noqa: F401  (the writer, beside the reader)

EARLIEST, LATEST = (0, 5, 0), (0, 7, 0)  # as NAM Core's get_dsp.cpp
ARCHITECTURES = ("LSTM", "WaveNet", "Linear", "SlimmableContainer")
_TOP_KEYS = {"version", "architecture", "config", "weights", "sample_rate", "metadata"}
_WAVENET_KEYS = {"layers", "head", "head_scale", "condition_dsp", "in_channels"}
_LSTM_KEYS = {"input_size", "hidden_size", "num_layers", "in_channels", "out_channels"}
_LINEAR_KEYS = {"receptive_field", "bias", "in_channels", "out_channels", "implementation"}
MAX_SUBMODELS = 8


def _version(doc: Node) -> tuple[int, int, int]:
    node = doc["version"]
    raw = node.value
    if not isinstance(raw, str):
        raise node.error("must be a version string like 0.5.4")
    parts = raw.split(".")
    if len(parts) != 3 or not all(p.isdigit() for p in parts):
        raise node.error("must be like 0.5.4")
    v = tuple(int(p) for p in parts)
    if v < EARLIEST or v[:2] > LATEST[:2]:
        raise ModelError(f"{doc.name}: version {raw} is not supported: this pedal reads .nam "
                         f"{'.'.join(map(str, EARLIEST))} to "
                         f"{'.'.join(map(str, LATEST[:2]))}.x, as NAM Core does")
    return v  # type: ignore[return-value]


def _metadata(doc: Node) -> dict:
    """The file's metadata object (numbers and text kept; anything else dropped)."""
    node = doc.get("metadata")
    if node is None:
        return {}
    return {k: v for k, v in node.obj().items()
            if isinstance(v, (str, int, float, dict)) and not isinstance(v, bool)}


def detect(doc) -> bool:
    return isinstance(doc, dict) and "architecture" in doc and "config" in doc


def parse(doc: Node, *, depth: int = 0, condition: bool = False):
    """A .nam document -> (spec, sample_rate, metadata). ``condition``: the document is a
    condition network (its model validates it, with its several output channels)."""
    name = doc.name
    doc.obj()
    version = _version(doc)
    _unknown(doc, _TOP_KEYS)
    arch = doc["architecture"].str(ARCHITECTURES)
    cfg = doc["config"]
    cfg.obj()
    sr_node = doc.get("sample_rate")
    sr = 48000 if sr_node is None or sr_node.value in (0, -1) else \
        int(sr_node.num(8000, 384000))
    meta = _metadata(doc)
    if sr_node is None:
        meta["sample_rate_stated"] = False
    if version > LATEST:
        meta["version_notice"] = (f"version {doc.value['version']} is newer than "
                                  f"{'.'.join(map(str, LATEST))}: read as 0.7 (partial support, "
                                  "as NAM Core says)")
    spec: Any
    if arch == "LSTM":
        _unknown(cfg, _LSTM_KEYS)
        spec = _lstm(cfg, doc, name)
        spec.prewarm = sr // 2 if sr_node is not None else 1  # NAM Core: half a second
    elif arch == "WaveNet":
        spec = _wavenet(cfg, doc, name, depth)
    elif arch == "Linear":
        spec = _linear(cfg, doc, name)
    else:
        spec = _container(cfg, doc, name, depth, sr)
    spec.sample_rate = sr
    spec.metadata = {k: v for k, v in meta.items() if isinstance(v, (str, int, float))}
    if not condition:
        spec.validate(name)
    return spec, sr, meta


def _linear(cfg: Node, doc: Node, name: str) -> LinearSpec:
    _unknown(cfg, _LINEAR_KEYS)
    for key in ("in_channels", "out_channels"):
        if cfg.has(key):
            cfg[key].int(1, 1)
    if cfg.has("implementation"):
        cfg["implementation"].str(("auto", "direct", "fft"))  # the same sums either way
    r = cfg["receptive_field"].int(1, 65536)
    bias = cfg["bias"].bool() if cfg.has("bias") else False
    w = _Weights(doc["weights"].array(ndim=1), name)
    taps = w.take(r)[::-1].copy()  # NAM Core: weights[0] is the newest sample's
    spec = LinearSpec(taps, float(w.take(1)[0]) if bias else 0.0)
    w.done()
    return spec


def _lstm(cfg: Node, doc: Node, name: str) -> RecurrentSpec:
    for key in ("in_channels", "out_channels"):
        if cfg.has(key):
            cfg[key].int(1, 1)
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


# -- WaveNet -------------------------------------------------------------------------------------
def _wavenet(cfg: Node, doc: Node, name: str, depth: int) -> WaveNetSpec:
    _unknown(cfg, _WAVENET_KEYS)
    if cfg.has("in_channels"):
        cfg["in_channels"].int(1, 1)  # a guitar is one channel
    condition = None
    if cfg.has("condition_dsp"):
        if depth > 0:
            raise cfg["condition_dsp"].error("a condition network inside another one is not "
                                             "supported", show=False)
        sub = cfg["condition_dsp"]
        sub.obj()
        condition, _, _ = parse(Node(sub.value, f"{name}: config.condition_dsp"), depth=1,
                                condition=True)
        if not isinstance(condition, WaveNetSpec):
            raise sub.error("only a WaveNet can compute the condition here", show=False)
    arrays_node = cfg["layers"]
    items = arrays_node.items()
    if not 1 <= len(items) <= 16:
        raise arrays_node.error("must be a list of 1..16 layer arrays", show=False)
    # the declared sizes first: the budget is checked before any weight is read
    plans = [_ArrayPlan(lc, f"config.layers[{i}]") for i, lc in enumerate(items)]
    head = cfg.get("head")
    head_plan = None
    if head is not None:
        head.obj()
        _unknown(head, {"channels", "out_channels", "kernel_sizes", "activation", "in_channels"})
        hin = plans[-1].hd
        if head.has("in_channels") and head["in_channels"].int(1, MAX_CHANNELS) != hin:
            raise head["in_channels"].error(f"must be the last array's head size {hin}")
        ch = head["channels"].int(1, MAX_CHANNELS)
        out = head["out_channels"].int(1, MAX_CHANNELS)
        ks = [k.int(1, MAX_KERNEL) for k in head["kernel_sizes"].items()]
        if not 1 <= len(ks) <= 16:
            raise head["kernel_sizes"].error("must be a list of 1..16 kernel sizes", show=False)
        sizes = [hin] + [ch] * (len(ks) - 1) + [out]
        head_plan = (sizes, ks, _activation(head["activation"]))
    macs = sum(p.macs() for p in plans) + (condition.macs_per_sample if condition else 0)
    rf = 1 + sum(p.receptive_field() - 1 for p in plans)
    if head_plan:
        macs += sum(a * b * k for a, b, k in zip(head_plan[0], head_plan[0][1:], head_plan[1]))
        rf += sum(k - 1 for k in head_plan[1])
    n_weights = doc["weights"].list()
    budget.check(name, weights=len(n_weights), macs=macs, receptive_field=rf)
    w = _Weights(doc["weights"].array(ndim=1), name)
    arrays = [p.read(w) for p in plans]
    post = None
    if head_plan:
        sizes, ks, act = head_plan
        convs = []
        for cin, cout, k in zip(sizes, sizes[1:], ks):
            convs.append((w.take(cout, cin, k).copy(), w.take(cout).copy()))
        post = PostHead(convs, act)
    head_scale = float(w.take(1)[0])  # NAM Core reads it from the weights, not the config
    w.done()
    slim = [p.slim for p in plans]
    return WaveNetSpec(arrays, head_scale, condition=condition, post_head=post,
                       slimmable=slim if any(slim) else None)


def _container(cfg: Node, doc: Node, name: str, depth: int, sr: int):
    from ..arch.slim import ContainerSpec

    _unknown(cfg, {"submodels"})
    if depth > 0:
        raise cfg.error("a SlimmableContainer inside another model is not supported",
                        show=False)
    subs = cfg["submodels"]
    items = subs.items()
    if not 1 <= len(items) <= MAX_SUBMODELS:
        raise subs.error(f"must be a list of 1..{MAX_SUBMODELS} submodels", show=False)
    w = doc.get("weights")
    if w is not None and w.list():
        raise w.error("must be empty: each submodel carries its own weights", show=False)
    out, total = [], 0
    for i, item in enumerate(items):
        item.obj()
        _unknown(item, {"max_value", "model"})
        mv = item["max_value"].num(0.0, 1e9)
        model = item["model"]
        model.obj()
        spec, sub_sr, _ = parse(Node(model.value, f"{name}: config.submodels[{i}].model"),
                                depth=1)
        if sub_sr != sr and "sample_rate" in model.value and "sample_rate" in doc.value:
            raise model.error(f"runs at {sub_sr} Hz, the container at {sr} Hz", show=False)
        total += spec.n_weights
        budget.check(name, weights=total)
        out.append((mv, spec))
    return ContainerSpec(out)
