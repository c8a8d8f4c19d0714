"""The layer arrays of a NAM WaveNet (.nam 0.5 to 0.7): each array's declared sizes, read and
checked before any weight (``_ArrayPlan``), its activations, gating modes, FiLMs and groups, and
its weights in NAM Core's order. Also the two helpers every part of the .nam reader uses."""

from __future__ import annotations

import numpy as np

from ...errors import ModelError
from ..jsondoc import Node
from ..arch.wavenet import (FILM_SITES, MAX_CHANNELS, MAX_DILATION, MAX_KERNEL, Activation, Film,
                            LayerArray)

ACTIVATION_NAMES = {"Tanh": "Tanh", "Hardtanh": "Hardtanh", "Fasttanh": "Fasttanh",
                    "ReLU": "ReLU", "LeakyReLU": "LeakyReLU", "PReLU": "PReLU",
                    "Sigmoid": "Sigmoid", "SiLU": "SiLU", "Hardswish": "Hardswish",
                    "LeakyHardtanh": "LeakyHardtanh", "LeakyHardTanh": "LeakyHardtanh",
                    "Softsign": "Softsign"}
_LAYER_KEYS = {"input_size", "condition_size", "head_size", "head_bias", "head", "channels",
               "bottleneck", "kernel_size", "kernel_sizes", "dilations", "activation", "gated",
               "gating_mode", "secondary_activation", "head1x1", "layer1x1", "groups_input",
               "groups_input_mixin", "slimmable"} | {f"{s}_film" for s in FILM_SITES}
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


def _unknown(node: Node, known: set) -> None:
    extra = sorted(set(node.keys()) - known)
    if extra:
        raise node.error(f"keys {extra} are not known to this pedal (a newer NAM file?)",
                         show=False)


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
