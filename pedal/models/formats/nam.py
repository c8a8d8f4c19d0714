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
from ..arch.wavenet import (FILM_SITES, MAX_CHANNELS, MAX_DILATION, MAX_KERNEL, Activation, Film,
                            LayerArray, PostHead, WaveNetSpec)

EARLIEST, LATEST = (0, 5, 0), (0, 7, 0)  # as NAM Core's get_dsp.cpp
ARCHITECTURES = ("LSTM", "WaveNet", "Linear", "SlimmableContainer")
ACTIVATION_NAMES = {"Tanh": "Tanh", "Hardtanh": "Hardtanh", "Fasttanh": "Fasttanh",
                    "ReLU": "ReLU", "LeakyReLU": "LeakyReLU", "PReLU": "PReLU",
                    "Sigmoid": "Sigmoid", "SiLU": "SiLU", "Hardswish": "Hardswish",
                    "LeakyHardtanh": "LeakyHardtanh", "LeakyHardTanh": "LeakyHardtanh",
                    "Softsign": "Softsign"}
_TOP_KEYS = {"version", "architecture", "config", "weights", "sample_rate", "metadata"}
_WAVENET_KEYS = {"layers", "head", "head_scale", "condition_dsp", "in_channels"}
_LAYER_KEYS = {"input_size", "condition_size", "head_size", "head_bias", "head", "channels",
               "bottleneck", "kernel_size", "kernel_sizes", "dilations", "activation", "gated",
               "gating_mode", "secondary_activation", "head1x1", "layer1x1", "groups_input",
               "groups_input_mixin", "slimmable"} | {f"{s}_film" for s in FILM_SITES}
_LSTM_KEYS = {"input_size", "hidden_size", "num_layers", "in_channels", "out_channels"}
_LINEAR_KEYS = {"receptive_field", "bias", "in_channels", "out_channels", "implementation"}
MAX_SUBMODELS = 8
SLIM_METHOD = "slice_channels_uniform"


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

    def grouped(self, out_ch: int, in_ch: int, k: int, groups: int) -> np.ndarray:
        """A (grouped) convolution's weights as NAM Core stores them, for each group g, output
        i, input j, tap k, returned dense [out, in, k] with zeros between the groups."""
        if groups == 1:
            return self.take(out_ch, in_ch, k).copy()
        opg, ipg = out_ch // groups, in_ch // groups
        w = np.zeros((out_ch, in_ch, k))
        for g in range(groups):
            w[g * opg:(g + 1) * opg, g * ipg:(g + 1) * ipg] = self.take(opg, ipg, k)
        return w

    def done(self):
        if self.i != self.w.size:
            raise ModelError(f"{self.name}: weights: {self.w.size} values, the config uses "
                             f"{self.i}")


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


def _unknown(node: Node, known: set) -> None:
    extra = sorted(set(node.keys()) - known)
    if extra:
        raise node.error(f"keys {extra} are not known to this pedal (a newer NAM file?)",
                         show=False)


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
def _activation(node: Node) -> Activation:
    """A string, or an object {type, negative_slope(s) / min_val, max_val, ...}."""
    if isinstance(node.value, str):
        return Activation(node.str(tuple(ACTIVATION_NAMES)) and ACTIVATION_NAMES[node.value])
    node.obj()
    kind = ACTIVATION_NAMES[node["type"].str(tuple(ACTIVATION_NAMES))]
    if kind == "LeakyReLU":
        s = node["negative_slope"].num() if node.has("negative_slope") else 0.01
        return Activation(kind, (s,))
    if kind == "PReLU":
        if node.has("negative_slope"):
            return Activation(kind, (node["negative_slope"].num(),))
        if node.has("negative_slopes"):
            slopes = node["negative_slopes"].array(ndim=1)
            if not 1 <= slopes.size <= MAX_CHANNELS:
                raise node["negative_slopes"].error(f"must hold 1..{MAX_CHANNELS} slopes",
                                                    show=False)
            return Activation(kind, tuple(float(v) for v in slopes))
        return Activation(kind, (0.01,))
    if kind == "LeakyHardtanh":
        d = {"min_val": -1.0, "max_val": 1.0, "min_slope": 0.01, "max_slope": 0.01}
        return Activation(kind, tuple(node[k].num() if node.has(k) else v
                                      for k, v in d.items()))
    return Activation(kind)


def _per_layer(node: Node | None, n: int, parse, default, what: str) -> list:
    """A value for every layer: one given for all, or a list of n."""
    if node is None:
        return [default] * n
    if isinstance(node.value, list):
        items = node.items()
        if len(items) != n:
            raise node.error(f"{what}: {len(items)} entries for {n} dilations", show=False)
        return [parse(i) for i in items]
    return [parse(node)] * n


def _film(lc: Node, site: str):
    """(active, shift, groups) of a FiLM key: absent or false is inactive."""
    node = lc.get(f"{site}_film")
    if node is None or node.value is False:
        return None
    node.obj()
    _unknown(node, {"active", "shift", "groups"})
    if node.has("active") and not node["active"].bool():
        return None
    shift = node["shift"].bool() if node.has("shift") else True
    groups = node["groups"].int(1, MAX_CHANNELS) if node.has("groups") else 1
    return shift, groups


def _groups(node: Node, key: str, *sizes) -> int:
    g = node[key].int(1, MAX_CHANNELS) if node.has(key) else 1
    if any(s % g for s in sizes):
        raise node.error(f"{key}: {g} groups do not divide {' and '.join(map(str, sizes))} "
                         "channels", show=False)
    return g


class _ArrayPlan:
    """A layer array's declared sizes, read before any weight (the budget comes first)."""

    def __init__(self, lc: Node, where: str):
        lc.obj()
        _unknown(lc, _LAYER_KEYS)
        self.node = lc
        ints = {k: lc[k].int(1, MAX_CHANNELS) for k in ("input_size", "condition_size",
                                                        "channels")}
        self.cin, self.cc, self.c = ints["input_size"], ints["condition_size"], ints["channels"]
        self.b = lc["bottleneck"].int(1, MAX_CHANNELS) if lc.has("bottleneck") else self.c
        dil_node = lc["dilations"]
        self.dil = [d.int(1, MAX_DILATION) for d in dil_node.items()]
        n = len(self.dil)
        if not 1 <= n <= 64:
            raise dil_node.error("must be a list of 1..64 dilations", show=False)
        if lc.has("kernel_size") and lc.has("kernel_sizes"):
            raise lc.error("only one of kernel_size and kernel_sizes may be given", show=False)
        if lc.has("kernel_sizes"):
            ks = lc["kernel_sizes"]
            self.ks = [k.int(1, MAX_KERNEL) for k in ks.items()]
            if len(self.ks) != n:
                raise ks.error(f"{len(self.ks)} kernel sizes for {n} dilations", show=False)
        else:
            self.ks = [lc["kernel_size"].int(1, MAX_KERNEL)] * n
        head = lc.get("head")
        if head is not None:
            head.obj()
            _unknown(head, {"out_channels", "kernel_size", "bias", "head_dilation"})
            self.hd = head["out_channels"].int(1, MAX_CHANNELS)
            self.hk = head["kernel_size"].int(1, MAX_KERNEL)
            self.hbias = head["bias"].bool()
            self.hdil = head["head_dilation"].int(1, MAX_DILATION) \
                if head.has("head_dilation") else 1
        elif lc.has("head_size"):
            self.hd = lc["head_size"].int(1, MAX_CHANNELS)
            self.hk, self.hdil = 1, 1
            self.hbias = lc["head_bias"].bool()
        else:
            raise lc.error("needs a head object, or head_size and head_bias", show=False)
        self.acts = _per_layer(lc["activation"], n, _activation, None, "activation")
        self.gating, self.gate_acts = self._gating(lc, n)
        l1 = lc.get("layer1x1")
        self.l1_active, self.l1_groups = True, 1
        if l1 is not None:
            l1.obj()
            _unknown(l1, {"active", "groups"})
            self.l1_active = l1["active"].bool()
            self.l1_groups = _groups(l1, "groups", self.b, self.c)
        h1 = lc.get("head1x1")
        self.h1_active, self.h1_out, self.h1_groups = False, self.c, 1
        if h1 is not None:
            h1.obj()
            _unknown(h1, {"active", "out_channels", "groups"})
            self.h1_active = h1["active"].bool()
            self.h1_out = h1["out_channels"].int(1, MAX_CHANNELS)
            self.h1_groups = _groups(h1, "groups", self.b, self.h1_out) if self.h1_active else 1
        m_max = 2 * self.b if any(g != "none" for g in self.gating) else self.b
        self.groups = _groups(lc, "groups_input", self.c, self.b)
        self.groups_mixin = _groups(lc, "groups_input_mixin", self.cc, self.b)
        if any(g != "none" for g in self.gating):
            _groups(lc, "groups_input", self.c, m_max)
        self.films = {s: _film(lc, s) for s in FILM_SITES}
        if self.films["layer1x1_post"] and not self.l1_active:
            raise lc.error("layer1x1_post_film cannot be active when layer1x1 is not",
                           show=False)
        if self.films["head1x1_post"] and not self.h1_active:
            raise lc.error("head1x1_post_film needs an active head1x1", show=False)
        if not self.l1_active and self.b != self.c:
            raise lc.error(f"without layer1x1, bottleneck ({self.b}) must equal channels "
                           f"({self.c})", show=False)
        self.slim = self._slimmable(lc.get("slimmable"))

    @staticmethod
    def _gating(lc: Node, n: int):
        def sec(node):
            return Activation("Sigmoid") if node is None else _activation(node)

        gm = lc.get("gating_mode")
        sa = lc.get("secondary_activation")
        if gm is not None:
            if isinstance(gm.value, list):
                modes = [g.str(("none", "gated", "blended")) for g in gm.items()]
                if len(modes) != n:
                    raise gm.error(f"{len(modes)} gating modes for {n} dilations", show=False)
                if sa is not None and isinstance(sa.value, list) and len(sa.value) != n:
                    raise sa.error(f"{len(sa.value)} entries for {n} dilations", show=False)
                acts = []
                for j, mode in enumerate(modes):
                    if mode == "none":
                        acts.append(Activation("Sigmoid"))  # unused
                    elif sa is not None and isinstance(sa.value, list):
                        acts.append(sec(sa.get(j)))
                    else:
                        acts.append(sec(sa))
                return modes, acts
            mode = gm.str(("none", "gated", "blended"))
            return [mode] * n, [sec(sa) if mode != "none" else Activation("Sigmoid")] * n
        gated = lc["gated"].bool() if lc.has("gated") else False
        return ["gated" if gated else "none"] * n, [Activation("Sigmoid")] * n

    def _slimmable(self, node: Node | None):
        if node is None:
            return []
        node.obj()
        _unknown(node, {"method", "kwargs"})
        method = node["method"].str() if node.has("method") else ""
        if method != SLIM_METHOD:
            if method:
                raise node["method"].error(f"unknown slimmable method (this pedal knows "
                                           f"{SLIM_METHOD})")
            return []
        kw = node["kwargs"]
        kw.obj()
        allowed = [a.int(1, MAX_CHANNELS) for a in kw["allowed_channels"].items()]
        if not allowed or any(b <= a for a, b in zip(allowed, allowed[1:])) or \
                allowed[-1] != self.c:
            raise kw["allowed_channels"].error(f"must rise to the array's {self.c} channels")
        return allowed

    def m(self, j: int) -> int:
        return 2 * self.b if self.gating[j] != "none" else self.b

    @property
    def head_in(self) -> int:
        return self.h1_out if self.h1_active else self.b

    def macs(self) -> int:
        n = self.c * self.cin + self.hd * self.head_in * self.hk
        for j in range(len(self.dil)):
            m = self.m(j)
            n += m * self.c * self.ks[j] + m * self.cc + (self.c * self.b if self.l1_active
                                                          else 0)
            n += self.head_in * self.b if self.h1_active else 0
        return n

    def receptive_field(self) -> int:
        return 1 + sum((k - 1) * d for k, d in zip(self.ks, self.dil)) + (self.hk - 1) * \
            self.hdil

    def read(self, w: _Weights) -> LayerArray:
        """The weights, in NAM Core's order: rechannel, each layer (conv, input mixin, layer
        1x1, head 1x1, the FiLMs in FILM_SITES order), the head convolution."""
        c, b, cc, n = self.c, self.b, self.cc, len(self.dil)
        rech = w.take(c, self.cin).copy()
        conv_w, conv_b, mixin, w1, b1, h1w, h1b, films = [], [], [], [], [], [], [], []
        for j in range(n):
            m = self.m(j)
            conv_w.append(w.grouped(m, c, self.ks[j], self.groups))
            conv_b.append(w.take(m).copy())
            mixin.append(w.grouped(m, cc, 1, self.groups_mixin)[:, :, 0])
            if self.l1_active:
                w1.append(w.grouped(c, b, 1, self.l1_groups)[:, :, 0])
                b1.append(w.take(c).copy())
            if self.h1_active:
                h1w.append(w.grouped(self.h1_out, b, 1, self.h1_groups)[:, :, 0])
                h1b.append(w.take(self.h1_out).copy())
            dims = {"conv_pre": c, "conv_post": m, "input_mixin_pre": cc,
                    "input_mixin_post": m, "activation_pre": m, "activation_post": b,
                    "layer1x1_post": c, "head1x1_post": self.h1_out}
            layer_films = {}
            for site in FILM_SITES:
                f = self.films[site]
                if f is None:
                    continue
                shift, groups = f
                rows = (2 if shift else 1) * dims[site]
                if cc % groups or rows % groups:
                    raise self.node.error(f"{site}_film: {groups} groups do not divide its "
                                          "channels", show=False)
                fw = w.grouped(rows, cc, 1, groups)[:, :, 0]
                layer_films[site] = Film(fw, w.take(rows).copy(), shift)
            films.append(layer_films)
        hw = w.take(self.hd, self.head_in, self.hk).copy()
        hb = w.take(self.hd).copy() if self.hbias else None
        gated = any(g == "gated" for g in self.gating)
        a1_acts = all(a.name == self.acts[0].name and not a.params for a in self.acts)
        return LayerArray(
            self.cin, cc, self.hd, c, self.ks[0], list(self.dil), self.acts[0].name, gated,
            self.hbias, rech, conv_w, conv_b, mixin, w1, b1,
            hw[:, :, 0] if self.hk == 1 else hw, hb,
            kernel_sizes=None if len(set(self.ks)) == 1 else list(self.ks),
            acts=None if a1_acts else list(self.acts),
            gating=None if all(g == ("gated" if gated else "none") for g in self.gating)
            else list(self.gating),
            gate_acts=None if all(a.name == "Sigmoid" and not a.params
                                  for a in self.gate_acts) else list(self.gate_acts),
            bottleneck=None if b == c else b, layer1x1=self.l1_active,
            head1x1_w=h1w or None, head1x1_b=h1b or None,
            films=films if any(films) else None, head_dilation=self.hdil)


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
        if not spec.is_a1:
            return _to_nam_a2(spec, metadata)
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
    return {"version": VERSION_WRITTEN, "architecture": arch, "config": cfg,
            "weights": flat.tolist(), "sample_rate": spec.sample_rate,
            "metadata": _numeric_metadata(metadata)}


def _numeric_metadata(metadata: dict | None) -> dict:
    meta = dict(metadata or {})
    for key in NUMERIC_METADATA:  # numbers as numbers, whatever carried them here (ONNX: text)
        if key in meta:
            try:
                meta[key] = float(meta[key])
            except (TypeError, ValueError):
                meta.pop(key)
    return meta


def write_nam(spec, path, metadata: dict | None = None) -> None:
    import json

    from ...audio.files import atomic_path

    doc = to_nam(spec, metadata)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(doc))


VERSION_WRITTEN_A2 = "0.7.0"


def _act_doc(a: Activation):
    """An Activation as NAM 0.7 writes it: a name, or an object with its parameters."""
    if a.name == "LeakyReLU":
        return {"type": "LeakyReLU", "negative_slope": float(a.params[0]) if a.params else 0.01}
    if a.name == "PReLU":
        return {"type": "PReLU", "negative_slopes": [float(v) for v in a.params]}
    if a.name == "LeakyHardtanh":
        return dict(zip(("type", "min_val", "max_val", "min_slope", "max_slope"),
                        ["LeakyHardtanh"] + [float(v) for v in a.params]))
    return a.name


def _to_nam_a2(spec, metadata):
    """A .nam 0.7 document for a NAM 0.6/0.7 WaveNet (one size of it), in the weight order
    ``_ArrayPlan.read`` takes (NAM Core's). Grouped convolutions are written dense (groups 1:
    the same numbers, with their zeros)."""
    if spec.slimmable:
        raise ModelError(f"{spec.arch}: a slimmable WaveNet is written at one size: choose it "
                         "with --slim")
    w: list[np.ndarray] = []
    layers = []
    for a in spec.arrays:
        n = a.n_layers
        w.append(a.rechannel.ravel())
        for j in range(n):
            w += [a.conv_w[j].ravel(), a.conv_b[j], a.mixin[j].ravel()]
            if a.layer1x1:
                w += [a.w1x1[j].ravel(), a.b1x1[j]]
            if a.head1x1_w:
                w += [a.head1x1_w[j].ravel(), a.head1x1_b[j]]
            for site in FILM_SITES:
                f = a.film(j, site)
                if f is not None:
                    w += [f.w.ravel(), f.b]
        hw = a.head_w if a.head_w.ndim == 3 else a.head_w[:, :, None]
        w.append(hw.ravel())
        if a.head_b is not None:
            w.append(a.head_b)
        lc: dict = {"input_size": a.input_size, "condition_size": a.condition_size,
                    "channels": a.channels, "bottleneck": a.b,
                    "kernel_sizes": [a.kernel(j) for j in range(n)],
                    "dilations": list(a.dilations),
                    "activation": [_act_doc(a.act(j)) for j in range(n)],
                    "gating_mode": [a.gate(j) for j in range(n)],
                    "secondary_activation": [_act_doc(a.gate_act(j)) if a.gate(j) != "none"
                                             else None for j in range(n)],
                    "head": {"out_channels": a.head_size, "kernel_size": a.head_kernel,
                             "bias": a.head_b is not None, "head_dilation": a.head_dilation},
                    "layer1x1": {"active": a.layer1x1, "groups": 1},
                    "head1x1": {"active": bool(a.head1x1_w), "groups": 1,
                                "out_channels": int(a.head1x1_w[0].shape[0])
                                if a.head1x1_w else a.channels}}
        for site in FILM_SITES:
            f = a.film(0, site) if a.films else None
            if any(a.film(j, site) is not None for j in range(n)) and f is None:
                raise ModelError(f"{spec.arch}: {site}_film on some layers only has no .nam "
                                 "form")
            if f is not None:
                lc[f"{site}_film"] = {"active": True, "shift": bool(f.shift), "groups": 1}
        layers.append(lc)
    cfg: dict = {"layers": layers, "head": None, "head_scale": spec.head_scale}
    if spec.post_head is not None:
        convs = spec.post_head.convs
        cfg["head"] = {"in_channels": int(convs[0][0].shape[1]),
                       "channels": int(convs[0][0].shape[0]),
                       "out_channels": int(convs[-1][0].shape[0]),
                       "kernel_sizes": [int(cw.shape[2]) for cw, _ in convs],
                       "activation": _act_doc(spec.post_head.activation)}
        for cw, cb in convs:
            w += [cw.ravel(), cb]
    if spec.condition is not None:
        cfg["condition_dsp"] = to_nam(spec.condition)
    w.append(np.array([spec.head_scale]))
    flat = np.concatenate([np.asarray(v, np.float64).ravel() for v in w])
    return {"version": VERSION_WRITTEN_A2, "architecture": "WaveNet", "config": cfg,
            "weights": flat.tolist(), "sample_rate": spec.sample_rate,
            "metadata": _numeric_metadata(metadata)}
