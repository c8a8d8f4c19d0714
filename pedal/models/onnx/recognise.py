"""Reading an ONNX graph back onto a numba engine's description.

Two ways: a graph the pedal wrote names its architecture in metadata (``pedal.wavenet``,
``pedal.linear``, ``pedal.smartamppro``) and its weights by initializer name; an LSTM or GRU
stack (+ dense, optional input skip, float or int8 weights behind DequantizeLinear) is
recognised by tracing the graph, whoever wrote it. Either way the result is checked against
onnxruntime before it is used (``load.py``), and anything that does not fit raises
ValueError saying why (the graph then runs on onnxruntime).
"""

from __future__ import annotations

import numpy as np

from ..arch.linear import LinearSpec
from ..arch.recurrent import RecurrentLayer, RecurrentSpec
from ..arch.smartamppro import SmartAmpProSpec
from ..arch.wavenet import LayerArray, WaveNetSpec
from ..jsondoc import Node as Doc, parse as parse_json
from .proto import Graph, Node
from .signature import Signature

_PLUMBING = {"Transpose", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Slice", "Cast",
             "Flatten"}
_LSTM_FROM_ONNX = (0, 2, 3, 1)  # ONNX i,o,f,c -> PyTorch i,f,g,o
_GRU_FROM_ONNX = (1, 0, 2)  # ONNX z,r,h -> PyTorch r,z,n


class _Tracer:
    def __init__(self, g: Graph):
        self.g = g
        self.producer = {o: n for n in g.nodes for o in n.outputs}

    def const(self, name: str):
        """Value of a constant tensor (initializer, Constant, DequantizeLinear of constants)."""
        if name in self.g.initializers:
            return self.g.initializers[name].astype(np.float64) \
                if self.g.initializers[name].dtype.kind == "f" else self.g.initializers[name]
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type == "Constant" and isinstance(node.attrs.get("value"), np.ndarray):
            return node.attrs["value"]
        if node.op_type in ("Identity", "Cast"):
            v = self.const(node.inputs[0])
            return None if v is None else v.astype(np.float64)
        if node.op_type == "DequantizeLinear":
            q = self.const(node.inputs[0])
            scale = self.const(node.inputs[1])
            zero = self.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else 0
            if q is None or scale is None:
                return None
            axis = node.attrs.get("axis", 1)
            scale = np.asarray(scale, np.float64)
            zero = np.asarray(zero, np.float64)
            if scale.ndim == 1 and scale.size > 1:
                shape = [1] * q.ndim
                shape[axis] = -1
                scale, zero = scale.reshape(shape), zero.reshape(shape) if zero.size > 1 else zero
            return (q.astype(np.float64) - zero) * scale
        return None

    def plumbing(self, node: Node) -> bool:
        """Shape-only: reshapes, and a Gather of one scalar index (picks a singleton axis)."""
        if node.op_type in _PLUMBING:
            return True
        if node.op_type == "Gather" and len(node.inputs) > 1:
            idx = self.const(node.inputs[1])
            return idx is not None and np.ndim(idx) == 0
        return False

    def source(self, name: str) -> str:
        """Follow shape-only ops back to the first tensor that is not plumbing."""
        seen = 0
        while name in self.producer and self.plumbing(self.producer[name]) and seen < 64:
            name = self.producer[name].inputs[0]
            seen += 1
        return name

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.g.nodes if name in n.inputs]

    def forward(self, name: str) -> str:
        """Follow shape-only ops forward while the tensor has exactly one consumer."""
        for _ in range(64):
            cons = self.consumers(name)
            if len(cons) != 1 or not self.plumbing(cons[0]):
                return name
            name = cons[0].outputs[0]
        return name


def recurrent(g: Graph, sig: Signature, sample_rate: int, name: str) -> RecurrentSpec:
    """The RecurrentSpec this graph computes, or raise ValueError saying what did not fit."""
    tr = _Tracer(g)
    rnn = [n for n in g.nodes if n.op_type in ("LSTM", "GRU")]
    if not rnn:
        raise ValueError("no LSTM or GRU node")
    cell = rnn[0].op_type.lower()
    if any(n.op_type.lower() != cell for n in rnn):
        raise ValueError("mixed LSTM and GRU layers")
    layers, prev = [], sig.audio
    hidden = None
    for i, node in enumerate(rnn):
        a = node.attrs
        if a.get("direction", "forward") not in ("forward", b"forward") or a.get("clip") \
                or a.get("activations") or a.get("input_forget", 0) or a.get("layout", 0):
            raise ValueError(f"layer {i}: unsupported attributes {sorted(a)}")
        if len(node.inputs) > 4 and node.inputs[4]:
            raise ValueError(f"layer {i}: sequence_lens is not supported")
        if len(node.inputs) > 7 and node.inputs[7]:
            raise ValueError(f"layer {i}: peephole weights are not supported")
        if tr.source(node.inputs[0]) != tr.source(prev):
            raise ValueError(f"layer {i}: input is not the previous layer's output")
        w, r = tr.const(node.inputs[1]), tr.const(node.inputs[2])
        b = tr.const(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
        if w is None or r is None:
            raise ValueError(f"layer {i}: weights are not constants")
        hidden = int(a.get("hidden_size", r.shape[-1]))
        gates = 4 if cell == "lstm" else 3
        if w.shape[:2] != (1, gates * hidden) or r.shape != (1, gates * hidden, hidden):
            raise ValueError(f"layer {i}: weight shapes {w.shape}, {r.shape}")
        b = np.zeros((1, 2 * gates * hidden)) if b is None else b
        order = _LSTM_FROM_ONNX if cell == "lstm" else _GRU_FROM_ONNX

        def reo(m):
            return np.concatenate([m[k * hidden:(k + 1) * hidden] for k in order], axis=0)

        layers.append(RecurrentLayer(reo(w[0]), reo(r[0]), reo(b[0, :gates * hidden]),
                                     reo(b[0, gates * hidden:])))
        if cell == "gru":
            lbr = bool(a.get("linear_before_reset", 0))
        prev = node.outputs[0]
    # dense head: MatMul(+Add) or Gemm on the last layer's output
    head = None
    for n in tr.consumers(tr.forward(prev)) + [n for n in g.nodes if n.op_type in
                                                ("MatMul", "Gemm")]:
        if n.op_type in ("MatMul", "Gemm") and tr.source(n.inputs[0]) == tr.source(prev):
            head = n
            break
    if head is None:
        raise ValueError("no dense layer after the last recurrent layer")
    wd = tr.const(head.inputs[1])
    if wd is None:
        raise ValueError("dense weights are not constants")
    if head.op_type == "Gemm" and head.attrs.get("transB", 0):
        wd = wd.T
    if wd.shape != (hidden, 1):
        raise ValueError(f"dense weight shape {wd.shape}, expected ({hidden}, 1)")
    bd, out = 0.0, head.outputs[0]
    if head.op_type == "Gemm" and len(head.inputs) > 2 and head.inputs[2]:
        bd = float(np.ravel(tr.const(head.inputs[2]))[0])
    skip = False
    for _ in range(3):  # bias add, then skip add, in either order
        cons = tr.consumers(tr.forward(out))
        if len(cons) != 1 or cons[0].op_type != "Add":
            break
        add = cons[0]
        other = [s for s in add.inputs if tr.source(s) != tr.source(out)][0]
        c = tr.const(other)
        if c is not None and c.size == 1:
            bd += float(np.ravel(c)[0])
        elif tr.source(other) == sig.audio and not skip:
            skip = True
        else:
            raise ValueError("an Add after the dense layer is neither a bias nor the input skip")
        out = add.outputs[0]
    if tr.source(sig.y) != tr.source(out):
        raise ValueError("the output is not the dense layer's result")
    n_layers = len(layers)
    spec = RecurrentSpec(cell, layers, wd[:, 0], bd, skip, sig.knob_count + 1, sample_rate,
                         linear_before_reset=lbr if cell == "gru" else True)
    if sig.state_shape is not None and hidden is not None and \
            int(np.prod(sig.state_shape)) != n_layers * hidden:
        raise ValueError(f"state shape {sig.state_shape} does not fit {n_layers}x{hidden}")
    if sig.h is None:
        raise ValueError("the graph carries no state between blocks")
    spec.validate(name)
    return spec


def _recognise_wavenet(g: Graph, sig: Signature, sample_rate: int, name: str) -> WaveNetSpec:
    """The WaveNetSpec a pedal-written WaveNet graph holds, read back by initializer name."""
    cfg = _config(g, "pedal.wavenet", name)
    get = _weights(g)

    arrays = []
    for i, node in enumerate(cfg["arrays"].items()):
        a = {k: node[k].int(1, 4096) for k in ("input_size", "condition_size", "head_size",
                                                "channels", "kernel_size")}
        a.update(gated=node["gated"].bool(), head_bias=node["head_bias"].bool(),
                 activation=node["activation"].str(),
                 dilations=[d.int(1, 1 << 16) for d in node["dilations"].items()])
        for k, kind in (("rechannel_bias", "bool"), ("gate_activation", "str"),
                        ("layer_heads", "bool")):
            if node.has(k):
                a[k] = getattr(node[k], kind)()
        p, c, n_lay = f"a{i}", a["channels"], len(a["dilations"])
        x = _a2_fields(node, n_lay, c) if node.has("kernel_sizes") else {}
        b = x.get("bottleneck", c)
        ks = x.get("kernel_sizes", [a["kernel_size"]] * n_lay)
        gating = x.get("gating", ["gated" if a["gated"] else "none"] * n_lay)
        ms = [2 * b if g != "none" else b for g in gating]
        layer = lambda j, k, shape: get(f"{p}.l{j}.{k}", shape)  # noqa: E731
        h1 = x.get("head1x1", 0)
        hk = x.get("head_kernel", 1)
        head_w = get(f"{p}.head_w")
        arr = LayerArray(
            a["input_size"], a["condition_size"], a["head_size"], c, a["kernel_size"],
            a["dilations"], a["activation"], a["gated"], a["head_bias"],
            get(f"{p}.rechannel", (c, a["input_size"])),
            [layer(j, "conv_w", (ms[j], c, ks[j])) for j in range(n_lay)],
            [layer(j, "conv_b", (ms[j],)) for j in range(n_lay)],
            [layer(j, "mixin", (ms[j], a["condition_size"])) for j in range(n_lay)],
            [layer(j, "w1x1", (c, b)) for j in range(n_lay)] if x.get("layer1x1", True)
            else [],
            [layer(j, "b1x1", (c,)) for j in range(n_lay)] if x.get("layer1x1", True)
            else [],
            head_w[:, :, 0] if hk == 1 else head_w,
            get(f"{p}.head_b") if a["head_bias"] else None,
            get(f"{p}.rechannel_b", (c,)) if a.get("rechannel_bias") else None,
            a.get("gate_activation", "Sigmoid"),
            [layer(j, "layer_head", None)[:, :, 0] for j in range(n_lay)]
            if a.get("layer_heads") else None)
        if x:
            arr.kernel_sizes, arr.acts, arr.gating = ks, x["acts"], gating
            arr.gate_acts, arr.bottleneck, arr.layer1x1 = x["gate_acts"], b, x["layer1x1"]
            arr.head_dilation = x["head_dilation"]
            if h1:
                arr.head1x1_w = [layer(j, "head1x1", (h1, b)) for j in range(n_lay)]
                arr.head1x1_b = [layer(j, "head1x1_b", (h1,)) for j in range(n_lay)]
        arrays.append(arr)
    spec = WaveNetSpec(arrays, cfg["head_scale"].num(), sample_rate,
                       prewarm=cfg["prewarm"].bool() if cfg.has("prewarm") else True)
    if sig.h is None or sig.state_shape is None:
        raise ValueError("WaveNet graph without its state input 'h'")
    return spec


def _a2_fields(node, n_lay: int, channels: int) -> dict:
    """The NAM 0.7 fields of one array in ``pedal.wavenet`` (write.py adds them past A1)."""
    from ..arch.wavenet import GATING, MAX_KERNEL, Activation

    def acts(key):
        out = []
        for item in node[key].items():
            item.list(2, 2)  # [name, [parameters]]
            name, params = item.items()
            params.list(0, 4096)
            out.append(Activation(name.str(), tuple(v.num() for v in params.items())))
        if len(out) != n_lay:
            raise node[key].error(f"{len(out)} entries for {n_lay} layers", show=False)
        return out

    ks = [k.int(1, MAX_KERNEL) for k in node["kernel_sizes"].items()]
    gating = [g.str(GATING) for g in node["gating"].items()]
    if len(ks) != n_lay or len(gating) != n_lay:
        raise node["kernel_sizes"].error(f"kernel sizes and gating modes for {n_lay} layers")
    return {"kernel_sizes": ks, "gating": gating, "acts": acts("acts"),
            "gate_acts": acts("gate_acts"), "bottleneck": node["bottleneck"].int(1, channels),
            "layer1x1": node["layer1x1"].bool(), "head1x1": node["head1x1"].int(0, 4096),
            "head_kernel": node["head_kernel"].int(1, MAX_KERNEL),
            "head_dilation": node["head_dilation"].int(1, 1 << 16)}


def _weights(g: Graph):
    tr = _Tracer(g)

    def get(key, shape=None):
        v = tr.const(key)
        if v is None:
            raise ValueError(f"weight {key!r} is missing")
        v = np.asarray(v, np.float64)
        return v if shape is None else v.reshape(shape)
    return get


def _recognise_linear(g: Graph, sig: Signature, sample_rate: int, name: str) -> LinearSpec:
    """The LinearSpec a pedal-written Linear graph holds, read back by initializer name."""
    get = _weights(g)
    taps = _config(g, "pedal.linear", name)["taps"].int(1, 65536)
    return LinearSpec(get("fir_w", (taps,)), float(get("fir_b", (1,))[0]), sample_rate)


def _recognise_smartamppro(g: Graph, sig: Signature, sample_rate: int,
                           name: str) -> SmartAmpProSpec:
    """The SmartAmpProSpec a pedal-written SmartAmpPro graph holds, read back by name."""
    get = _weights(g)
    cfg = _config(g, "pedal.smartamppro", name)
    w1 = get("conv1_w")[:, 0, :].T  # [K1, C1]
    w2v = np.transpose(get("conv2_w"), (2, 1, 0))  # [Kv, C1, C2]: the taps the file uses
    lo, hi = (t.int(0, 4096) for t in cfg["conv2_taps"].items())
    w2 = np.zeros((cfg["conv2_kernel"].int(1, 4096),) + w2v.shape[1:])  # taps on padding unused
    spec = SmartAmpProSpec(w1, get("conv1_b"), w2, get("conv2_b"), get("lstm_w")[:, :, 0].T,
                           get("lstm_b"), None, get("dense_w")[0, :, 0],
                           float(get("dense_b", (1,))[0]), cfg["window"].int(1, 4096),
                           cfg["stride1"].int(1, 1024), cfg["stride2"].int(1, 1024),
                           sample_rate)
    w2[lo + spec.pad2:hi + spec.pad2 + 1] = w2v  # pad2 follows from the geometry alone
    return spec


BY_METADATA = {"pedal.wavenet": _recognise_wavenet,
               "pedal.linear": _recognise_linear, "pedal.smartamppro": _recognise_smartamppro}


def _config(g: Graph, key: str, name: str) -> Doc:
    """The JSON configuration a pedal-written graph keeps in metadata ``key``."""
    return Doc(parse_json(g.metadata[key].encode(), f"{name}: metadata {key}"), name, key)


def recognise(g: Graph, sig: Signature, sample_rate: int, name: str):
    """The description a numba engine runs for this graph; raises ValueError (ModelError is
    one) saying what did not fit."""
    flat = [k for k in BY_METADATA if k in g.metadata]
    if flat:  # a flat-state graph; its initial state is the engine's own (prewarm or zeros)
        return BY_METADATA[flat[0]](g, sig, sample_rate, name)
    return recurrent(g, sig, sample_rate, name)
