"""Write a model description as the pedal's ONNX amp model (needs the ``onnx`` package: extra
``pedal[tools]``; the daemon only reads these files).

The pedal's block signature (LSTM / GRU)::

    inputs   x [1, N, C] float32   audio in channel 0, knob values (0..1) in channels 1..C-1
             h [L, 1, H] float32   hidden state per layer
             c [L, 1, H] float32   cell state per layer (LSTM only)
    outputs  y [1, N, 1], h_out [L, 1, H], c_out [L, 1, H] (LSTM only)

built from standard ONNX ops (Transpose, Slice, LSTM/GRU, Squeeze, MatMul, Add, Concat), so any
ONNX runtime runs it. ``quantize="int8"`` stores the recurrent matrices as int8 with one scale
per gate row, behind DequantizeLinear nodes. Metadata props carry ``pedal.*`` keys.

WaveNets (NAM A1 and the GuitarML variant) use the same call with one flat state::

    inputs   x [1, N, 1], h [1, 1, S]   S = the history every dilated layer keeps,
                                        C x (K-1) x d values per layer, channel-major
    outputs  y [1, N, 1], h_out [1, 1, S]

Each dilated layer concatenates its slice of ``h`` with the block and runs a valid Conv; the
last (K-1) x d columns are its slice of ``h_out``. The initial state (for NAM: the state an
infinite silence leaves, which the format requires) is the initializer ``pedal_h0``, and
``pedal.wavenet`` holds the configuration, so the pedal reads the weights back by name into its
numba engine. Any ONNX runtime runs the graph as it is.

NAM's Linear (``pedal.linear``: the state is the last R-1 samples, one Conv) and SmartAmpPro
(``pedal.smartamppro``: the state is the last window-1 samples; the first conv runs over every
sample, the second as a conv dilated by the first's stride, then the LSTM step and the dense
layer per sample) use the same flat-state call.
"""

from __future__ import annotations

import json

import numpy as np

from ..arch.recurrent import RecurrentSpec
from .layout import FORMAT, STATE_INIT

OPSET = 17
# PyTorch gate order -> ONNX gate order
_LSTM_ORDER = (0, 3, 1, 2)  # i,f,g,o -> i,o,f,c
_GRU_ORDER = (1, 0, 2)  # r,z,n -> z,r,h


def _reorder(w: np.ndarray, order, hidden: int) -> np.ndarray:
    return np.concatenate([w[g * hidden:(g + 1) * hidden] for g in order], axis=0)


def quantize_rows(w: np.ndarray):
    """Symmetric int8 per row: w ~= q * scale[row]."""
    amax = np.max(np.abs(w), axis=-1)
    scale = np.where(amax > 0, amax / 127.0, 1.0).astype(np.float32)
    q = np.clip(np.round(w / scale[..., None]), -127, 127).astype(np.int8)
    return q, scale


def spec_to_onnx(spec: RecurrentSpec, quantize: str | None = None, metadata: dict | None = None):
    """Return an ``onnx.ModelProto`` for ``spec``."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    if quantize not in (None, "int8"):
        raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
    spec.validate()
    hid, n_layers, lstm = spec.hidden_size, spec.num_layers, spec.cell == "lstm"
    order = _LSTM_ORDER if lstm else _GRU_ORDER
    nodes, inits = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(np.asarray(arr), name))
        return name

    def weight(name, w):
        """w: [G*H, I] in ONNX order -> [1, G*H, I], maybe behind DequantizeLinear."""
        w = w[None].astype(np.float32)
        if quantize != "int8":
            return init(name, w)
        q, scale = quantize_rows(w[0])
        init(name + "_q", q[None])
        init(name + "_scale", scale)
        init(name + "_zero", np.zeros_like(q[:, 0]))
        nodes.append(helper.make_node("DequantizeLinear", [name + "_q", name + "_scale",
                                                          name + "_zero"], [name], axis=1))
        return name

    nodes.append(helper.make_node("Transpose", ["x"], ["x_t"], perm=[1, 0, 2]))
    init("ax0", np.array([0], np.int64))
    init("ax1", np.array([1], np.int64))
    init("ax2", np.array([2], np.int64))
    init("zero", np.array([0], np.int64))
    layer_in = "x_t"  # knob channels (if any) enter the first layer with the audio
    h_outs, c_outs = [], []
    for i, layer in enumerate(spec.layers):
        w = weight(f"W{i}", _reorder(layer.w_ih, order, hid))
        r = weight(f"R{i}", _reorder(layer.w_hh, order, hid))
        b = init(f"B{i}", np.concatenate([_reorder(layer.b_ih, order, hid),
                                          _reorder(layer.b_hh, order, hid)])[None]
                 .astype(np.float32))
        init(f"s{i}", np.array([i], np.int64))
        init(f"e{i}", np.array([i + 1], np.int64))
        nodes.append(helper.make_node("Slice", ["h", f"s{i}", f"e{i}", "ax0"], [f"h{i}"]))
        ins = [layer_in, w, r, b, "", f"h{i}"]
        outs = [f"Y{i}", f"Yh{i}"]
        if lstm:
            nodes.append(helper.make_node("Slice", ["c", f"s{i}", f"e{i}", "ax0"], [f"c{i}"]))
            ins.append(f"c{i}")
            outs.append(f"Yc{i}")
            nodes.append(helper.make_node("LSTM", ins, outs, hidden_size=hid))
            c_outs.append(f"Yc{i}")
        else:
            nodes.append(helper.make_node("GRU", ins, outs, hidden_size=hid,
                                          linear_before_reset=int(spec.linear_before_reset)))
        h_outs.append(f"Yh{i}")
        nodes.append(helper.make_node("Squeeze", [f"Y{i}", "ax1"], [f"seq{i}"]))  # [N,1,H]
        layer_in = f"seq{i}"
    init("Wd", spec.dense_w.astype(np.float32).reshape(hid, 1))
    init("Bd", np.array([spec.dense_b], np.float32))
    nodes.append(helper.make_node("MatMul", [layer_in, "Wd"], ["dense_mm"]))
    nodes.append(helper.make_node("Add", ["dense_mm", "Bd"], ["dense"]))
    out = "dense"
    if spec.skip:
        nodes.append(helper.make_node("Slice", ["x_t", "zero", "ax1", "ax2"], ["x_audio"]))
        nodes.append(helper.make_node("Add", ["dense", "x_audio"], ["dense_skip"]))
        out = "dense_skip"
    nodes.append(helper.make_node("Transpose", [out], ["y"], perm=[1, 0, 2]))
    concat = lambda names, o: nodes.append(  # noqa: E731
        helper.make_node("Concat", names, [o], axis=0) if len(names) > 1
        else helper.make_node("Identity", names, [o]))
    concat(h_outs, "h_out")
    f32 = TensorProto.FLOAT
    inputs = [helper.make_tensor_value_info("x", f32, [1, "N", spec.input_size]),
              helper.make_tensor_value_info("h", f32, [n_layers, 1, hid])]
    outputs = [helper.make_tensor_value_info("y", f32, [1, "N", 1]),
               helper.make_tensor_value_info("h_out", f32, [n_layers, 1, hid])]
    if lstm:
        concat(c_outs, "c_out")
        inputs.append(helper.make_tensor_value_info("c", f32, [n_layers, 1, hid]))
        outputs.append(helper.make_tensor_value_info("c_out", f32, [n_layers, 1, hid]))
    graph = helper.make_graph(nodes, "pedal_amp", inputs, outputs, inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="pedal")
    model.ir_version = 8
    meta = _meta_common(spec, quantize, metadata)
    if spec.prewarm > 0:  # NAM's prewarm as the initial state: what its silence leaves
        from dataclasses import replace

        from ..arch.recurrent import RecurrentEngine

        eng = RecurrentEngine(spec)
        eng.prepare(64)  # reset runs the prewarm
        spec = replace(spec, h0=eng._h.astype(np.float64).copy(),
                       c0=eng._c.astype(np.float64).copy() if lstm else None, prewarm=0)
    if spec.h0 is not None:
        meta["pedal.h0"] = json.dumps(np.asarray(spec.h0).tolist())
    if spec.c0 is not None:
        meta["pedal.c0"] = json.dumps(np.asarray(spec.c0).tolist())
    onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model


def write_onnx(spec, path, quantize: str | None = None, metadata: dict | None = None) -> None:
    """Write any model description atomically as the pedal's ONNX; raises ValueError for
    one that has no ONNX form (a SmartAmpPro whose LSTM runs several steps)."""
    from ...audio.files import atomic_path
    from ..arch.wavenet import WaveNetSpec

    from ..arch.linear import LinearSpec
    from ..arch.smartamppro import SmartAmpProSpec

    if isinstance(spec, WaveNetSpec):
        model = wavenet_to_onnx(spec, quantize, metadata)
    elif isinstance(spec, RecurrentSpec):
        model = spec_to_onnx(spec, quantize, metadata)
    elif isinstance(spec, LinearSpec):
        model = linear_to_onnx(spec, quantize, metadata)
    elif isinstance(spec, SmartAmpProSpec):
        model = smartamppro_to_onnx(spec, quantize, metadata)
    else:
        raise ValueError(f"{type(spec).__name__} models have no ONNX form")
    with atomic_path(path) as tmp:
        tmp.write_bytes(model.SerializeToString())


# ---------------------------------------------------------------------------------------------


def wavenet_state_layout(spec):
    """[(array, layer, channels, history length, offset)] of the flat state, and its size.
    Layer -1 is an array's head input, which keeps a history when its kernel is longer than
    one (NAM 0.7); its entry follows the array's layers."""
    out, off = [], 0
    for i, a in enumerate(spec.arrays):
        for j, d in enumerate(a.dilations):
            n = (a.kernel(j) - 1) * d
            out.append((i, j, a.channels, n, off))
            off += a.channels * n
        n = (a.head_kernel - 1) * a.head_dilation
        if n:
            out.append((i, -1, a.head_inputs, n, off))
            off += a.head_inputs * n
    return out, off


def onnx_refusal(spec) -> str | None:
    """Why a WaveNet has no ONNX form here, or None. The NAM 0.7 forms the graph does not
    build yet: FiLM, a condition network, the post-stack head; a slimmable one is written at
    one size (``pedal convert --slim``)."""
    if spec.slimmable:
        return "a slimmable WaveNet is written at one size: choose it with --slim"
    if spec.condition is not None:
        return "a WaveNet with a condition network (condition_dsp) has no ONNX form yet"
    if spec.post_head is not None:
        return "a WaveNet with a post-stack head has no ONNX form yet"
    if any(a.films for a in spec.arrays):
        return "a WaveNet with FiLM layers has no ONNX form yet"
    return None


def _meta_common(spec, quantize, metadata):
    meta = {"pedal.format": FORMAT, "pedal.sample_rate": str(spec.sample_rate),
            "pedal.architecture": spec.arch, "pedal.quantize": quantize or "none"}
    for k, v in {**spec.metadata, **(metadata or {})}.items():
        meta[k if k.startswith("pedal.") else f"pedal.{k}"] = str(v)
    return meta


class _FlatStateGraph:
    """Builds a graph with the flat-state signature: x [1, N, 1], h [1, 1, S] -> y, h_out.
    Weights are named initializers (the loader reads them back by name); conv weights of 16
    values or more become int8 with one scale per output channel when quantize is "int8"."""

    def __init__(self, quantize):
        from onnx import helper, numpy_helper

        if quantize not in (None, "int8"):
            raise ValueError(f"quantize must be None or 'int8', got {quantize!r}")
        self.helper, self.numpy_helper = helper, numpy_helper
        self.quantize = quantize
        self.nodes, self.inits, self.count = [], [], 0

    def init(self, name, arr):
        self.inits.append(self.numpy_helper.from_array(np.asarray(arr), name))
        return name

    def ints(self, name, vals):
        return self.init(name, np.array(vals, np.int64))

    def weight(self, name, w):
        """A conv weight [O, I, K], maybe int8 with one scale per output channel."""
        w = np.asarray(w, np.float32)
        if self.quantize != "int8" or w.size < 16:
            return self.init(name, w)
        q, scale = quantize_rows(w.reshape(w.shape[0], -1))
        self.init(name + "_q", q.reshape(w.shape))
        self.init(name + "_scale", scale)
        self.init(name + "_zero", np.zeros(w.shape[0], np.int8))
        self.nodes.append(self.helper.make_node(
            "DequantizeLinear", [name + "_q", name + "_scale", name + "_zero"], [name], axis=0))
        return name

    def node(self, op, ins, **attrs):
        self.count += 1
        out = f"{op.lower()}_{self.count}"
        self.nodes.append(self.helper.make_node(op, ins, [out], **attrs))
        return out

    def conv(self, x, w_name, w, b_name=None, b=None, dil=1):
        ins = [x, self.weight(w_name, w)]
        if b is not None:
            ins.append(self.init(b_name, np.asarray(b, np.float32)))
        return self.node("Conv", ins, dilations=[dil], kernel_shape=[int(np.shape(w)[2])])

    def with_history(self, v, key, channels, n, off):
        """Concat the state's slice [off, off + channels*n) before v [1, C, T]; the last n
        columns of the result become that slice of h_out. Returns the concatenation."""
        hist = self.node("Slice", ["h", self.ints(f"{key}.s0", [off]),
                                   self.ints(f"{key}.s1", [off + channels * n]), "ax2"])
        hist = self.node("Reshape", [hist, self.ints(f"{key}.hshape", [1, channels, n])])
        full = self.node("Concat", [hist, v], axis=2)
        tail = self.node("Slice", [full, self.ints(f"{key}.t0", [-n]), "big", "ax2"])
        self.tails.append(self.node("Reshape", [tail, self.ints(f"{key}.tshape",
                                                                [1, 1, channels * n])]))
        return full

    def start(self):
        """x as [1, 1, N] (channels first, as Conv wants it)."""
        self.tails = []
        self.ints("ax1", [1])
        self.ints("ax2", [2])
        self.ints("big", [1 << 62])
        return self.node("Transpose", ["x"], perm=[0, 2, 1])

    def finish(self, y, size, graph_name, spec, metadata, key, config):
        """y [1, 1, N] -> the model, with ``pedal.<key>`` = config; checked."""
        import onnx
        from onnx import TensorProto

        helper = self.helper
        self.nodes.append(helper.make_node("Transpose", [y], ["y"], perm=[0, 2, 1]))
        if len(self.tails) > 1:
            self.nodes.append(helper.make_node("Concat", self.tails, ["h_out"], axis=2))
        else:
            self.nodes.append(helper.make_node("Identity", self.tails, ["h_out"]))
        if not any(t.name == STATE_INIT for t in self.inits):
            self.init(STATE_INIT, np.zeros((1, 1, size), np.float32))
        fl = TensorProto.FLOAT
        graph = helper.make_graph(
            self.nodes, graph_name,
            [helper.make_tensor_value_info("x", fl, [1, "N", 1]),
             helper.make_tensor_value_info("h", fl, [1, 1, size])],
            [helper.make_tensor_value_info("y", fl, [1, "N", 1]),
             helper.make_tensor_value_info("h_out", fl, [1, 1, size])], self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                                  producer_name="pedal")
        model.ir_version = 8
        meta = _meta_common(spec, self.quantize, metadata)
        meta[f"pedal.{key}"] = json.dumps(config)
        onnx.helper.set_model_props(model, meta)
        onnx.checker.check_model(model)
        return model


def wavenet_to_onnx(spec, quantize: str | None = None, metadata: dict | None = None):
    """Return an ``onnx.ModelProto`` for a WaveNetSpec (see the module docstring)."""
    from onnx import numpy_helper

    spec.validate()
    why = onnx_refusal(spec)
    if why:
        raise ValueError(why)
    gb = _FlatStateGraph(quantize)
    node, init, conv, ints = gb.node, gb.init, gb.conv, gb.ints

    consts: dict[float, str] = {}

    def const(v) -> str:
        key = float(np.float32(v))
        if key not in consts:
            consts[key] = init(f"k{len(consts)}", np.array(key, np.float32))
        return consts[key]

    def act(v, kind, params=(), channels=0):
        """The activation ``kind`` (an arch.wavenet.Activation name) with its parameters."""
        if kind == "Tanh":
            return node("Tanh", [v])
        if kind == "Sigmoid":
            return node("Sigmoid", [v])
        if kind == "ReLU":
            return node("Relu", [v])
        if kind == "LeakyReLU":
            return node("LeakyRelu", [v], alpha=float(params[0]) if params else 0.01)
        if kind == "PReLU":  # one slope, or one per channel
            slopes = np.broadcast_to(np.asarray(params, np.float32), (channels,))
            return node("PRelu", [v, init(f"prelu{gb.count}", slopes.reshape(1, channels, 1))])
        if kind == "SiLU":
            return node("Mul", [v, node("Sigmoid", [v])])
        if kind == "Hardswish":
            return node("HardSwish", [v])
        if kind == "LeakyHardtanh":
            lo, hi, s_lo, s_hi = (float(p) for p in params)
            below = node("Mul", [node("Min", [node("Sub", [v, const(lo)]), const(0.0)]),
                                 const(s_lo)])
            above = node("Mul", [node("Max", [node("Sub", [v, const(hi)]), const(0.0)]),
                                 const(s_hi)])
            return node("Add", [node("Add", [node("Clip", [v, const(lo), const(hi)]), below]),
                                above])
        if kind == "Softsign":
            return node("Softsign", [v])
        if kind == "Hardtanh":
            return node("Clip", [v, "c_m1", "c_p1"])
        if kind == "Linear":
            return v
        if kind != "Fasttanh":
            raise ValueError(f"activation {kind} has no ONNX form")
        # Fasttanh: NAM's rational approximation, exactly as the numba engine computes it
        av = node("Abs", [v])
        x2 = node("Mul", [v, v])
        num = node("Mul", [v, node("Add", [node("Add", ["ft_a", node("Mul", ["ft_a", av])]),
                                          node("Mul", [node("Add", ["ft_b", node(
                                              "Mul", ["ft_c", av])]), x2])])])
        den = node("Add", ["ft_d", node("Mul", [node("Add", ["ft_d", x2]), node(
            "Abs", [node("Add", [v, node("Mul", [node("Mul", ["ft_e", v]), av])])])])])
        return node("Div", [num, den])

    f32 = lambda v: np.array(v, np.float32)  # noqa: E731
    init("c_m1", f32(-1.0))
    init("c_p1", f32(1.0))
    for k, v in (("ft_a", 2.45550750702956), ("ft_b", 0.893229853513558),
                 ("ft_c", 0.821226666969744), ("ft_d", 2.44506634652299),
                 ("ft_e", 0.814642734961073)):
        init(k, f32(v))
    layout, size = wavenet_state_layout(spec)
    cond = gb.start()  # [1, 1, N]
    layer_in, head = cond, None
    where = {(i, j): (n, off) for i, j, _, n, off in layout}
    for i, a in enumerate(spec.arrays):
        p = f"a{i}"
        c, b = a.channels, a.b
        z = conv(layer_in, f"{p}.rechannel", a.rechannel[:, :, None],
                 f"{p}.rechannel_b" if a.rechannel_b is not None else None, a.rechannel_b)
        acc = head
        for j, d in enumerate(a.dilations):
            q = f"{p}.l{j}"
            n, off = where[(i, j)]
            zin = gb.with_history(z, q, c, n, off) if n else z
            v = conv(zin, f"{q}.conv_w", a.conv_w[j], f"{q}.conv_b", a.conv_b[j], dil=d)
            v = node("Add", [v, conv(cond, f"{q}.mixin", a.mixin[j][:, :, None])])
            f, g = a.act(j), a.gate_act(j)
            if a.gate(j) == "none":
                v = act(v, f.name, f.params, b)
            else:
                lo = node("Slice", [v, ints(f"{q}.g0", [0]), ints(f"{q}.g1", [b]), "ax1"])
                hi = node("Slice", [v, ints(f"{q}.g1b", [b]), ints(f"{q}.g2", [2 * b]), "ax1"])
                gv = act(hi, g.name, g.params, b)
                if a.gate(j) == "gated":
                    v = node("Mul", [act(lo, f.name, f.params, b), gv])
                else:  # blended: lo + alpha (act(lo) - lo), as the numba kernel computes it
                    v = node("Add", [lo, node("Mul", [gv, node(
                        "Sub", [act(lo, f.name, f.params, b), lo])])])
            if a.head1x1_w:
                part = conv(v, f"{q}.head1x1", a.head1x1_w[j][:, :, None], f"{q}.head1x1_b",
                            a.head1x1_b[j])
            elif a.layer_head_w:
                part = conv(v, f"{q}.layer_head", a.layer_head_w[j][:, :, None])
            else:
                part = v
            acc = part if acc is None else node("Add", [acc, part])
            if a.layer1x1:
                z = node("Add", [z, conv(v, f"{q}.w1x1", a.w1x1[j][:, :, None], f"{q}.b1x1",
                                         a.b1x1[j])])
        if acc is None:  # an array with no layers is refused by validate; keep the graph sane
            raise ValueError(f"layer array {i} has no layers")
        hw = a.head_w if a.head_w.ndim == 3 else a.head_w[:, :, None]
        if (i, -1) in where:
            n, off = where[(i, -1)]
            acc = gb.with_history(acc, f"{p}.head", a.head_inputs, n, off)
        head = conv(acc, f"{p}.head_w", hw, f"{p}.head_b" if a.head_b is not None else None,
                    a.head_b, dil=a.head_dilation)
        layer_in = z
    init("head_scale", f32(spec.head_scale))
    y = node("Mul", [node("Slice", [head, ints("y0", [0]), ints("y1", [1]), "ax1"]),
                     "head_scale"])
    arrays = []
    for a in spec.arrays:
        d = {"input_size": a.input_size, "condition_size": a.condition_size,
             "head_size": a.head_size, "channels": a.channels,
             "kernel_size": a.kernel_size, "dilations": list(a.dilations),
             "activation": a.activation, "gated": a.gated,
             "head_bias": a.head_b is not None,
             "rechannel_bias": a.rechannel_b is not None,
             "gate_activation": a.gate_activation,
             "layer_heads": bool(a.layer_head_w)}
        if not a.is_a1:  # NAM 0.7: what the reader needs beyond A1's layout
            n = a.n_layers
            d.update(kernel_sizes=[a.kernel(j) for j in range(n)],
                     acts=[[a.act(j).name, list(a.act(j).params)] for j in range(n)],
                     gating=[a.gate(j) for j in range(n)],
                     gate_acts=[[a.gate_act(j).name, list(a.gate_act(j).params)]
                                for j in range(n)],
                     bottleneck=a.b, layer1x1=a.layer1x1,
                     head1x1=int(a.head1x1_w[0].shape[0]) if a.head1x1_w else 0,
                     head_kernel=a.head_kernel, head_dilation=a.head_dilation)
        arrays.append(d)
    config = {"head_scale": spec.head_scale, "prewarm": spec.prewarm, "arrays": arrays}
    model = gb.finish(y, size, "pedal_amp_wavenet", spec, metadata, "wavenet", config)
    if spec.prewarm:
        h0 = _prewarm(model, size, spec.receptive_field + 1)
        for t in model.graph.initializer:
            if t.name == STATE_INIT:
                t.CopyFrom(numpy_helper.from_array(h0, STATE_INIT))
    return model


def linear_to_onnx(spec, quantize: str | None = None, metadata: dict | None = None):
    """NAM's Linear (an FIR of R taps): the state is the last max(R-1, 1) input samples."""
    spec.validate()
    gb = _FlatStateGraph(quantize)
    r = len(spec.weights)
    size = max(r - 1, 1)
    full = gb.with_history(gb.start(), "x", 1, size, 0)
    v = gb.conv(full, "fir_w", np.asarray(spec.weights, np.float32)[None, None, :], "fir_b",
                [spec.bias])
    y = gb.node("Slice", [v, gb.ints("y0", [size - r + 1]), "big", "ax2"])
    return gb.finish(y, size, "pedal_amp_linear", spec, metadata, "linear", {"taps": r})


def smartamppro_to_onnx(spec, quantize: str | None = None, metadata: dict | None = None):
    """A SmartAmpPro model whose LSTM runs one step (the plugin's geometry), as one pass over
    the whole block: the first conv over every sample, the second as a conv dilated by the
    first's stride over that, then the LSTM step and the dense layer per sample. The state is
    the last window-1 input samples."""
    spec.validate()
    if spec.out2 != 1:
        raise ValueError(f"SmartAmpPro models whose LSTM runs several steps ({spec.out2} here) "
                         "have no ONNX form")
    if spec.window < 2:
        raise ValueError("a SmartAmpPro window of 1 sample has no state to carry")
    gb = _FlatStateGraph(quantize)
    node, ints = gb.node, gb.ints
    size = spec.window - 1
    xt = gb.start()
    full = gb.with_history(xt, "x", 1, size, 0)
    c1 = gb.conv(full, "conv1_w", spec.w1.T[:, None, :], "conv1_b", spec.b1)  # [1, C1, .]
    # position p of the second conv reads tap p + pad2: the taps that meet real positions
    k2 = len(spec.w2)
    taps = [p for p in range(spec.out1) if 0 <= p + spec.pad2 < k2]
    lo, hi = taps[0], taps[-1]
    w2 = np.transpose(spec.w2[lo + spec.pad2:hi + spec.pad2 + 1], (2, 1, 0))  # [C2, C1, Kv]
    c1 = node("Slice", [c1, ints("c1_0", [lo * spec.stride1]), "big", "ax2"])
    c2 = gb.conv(c1, "conv2_w", w2, "conv2_b", spec.b2, dil=spec.stride1)
    n = node("Slice", [node("Shape", ["x"]), ints("n0", [1]), ints("n1", [2])])
    c2 = node("Slice", [c2, ints("c2_0", [0]), n, "ax2"])  # sample t is column t
    hid = spec.hidden
    z = gb.conv(c2, "lstm_w", spec.kernel.T[:, :, None], "lstm_b", spec.bias)  # [1, 4H, N]
    gate = lambda g: node("Slice", [z, ints(f"g{g}0", [g * hid]),  # noqa: E731
                                    ints(f"g{g}1", [(g + 1) * hid]), "ax1"])
    c = node("Mul", [node("Sigmoid", [gate(0)]), node("Tanh", [gate(2)])])  # Keras i, f, c, o
    h = node("Mul", [node("Sigmoid", [gate(3)]), node("Tanh", [c])])
    y = gb.conv(h, "dense_w", spec.dense_w[None, :, None], "dense_b", [spec.dense_b])
    config = {"window": spec.window, "stride1": spec.stride1, "stride2": spec.stride2,
              "conv1_kernel": len(spec.w1), "conv2_kernel": k2, "conv2_taps": [lo, hi]}
    return gb.finish(y, size, "pedal_amp_smartamppro", spec, metadata, "smartamppro", config)


def _prewarm(model, size: int, n: int) -> np.ndarray:
    """The state ``n`` zero samples leave, computed by onnxruntime on the graph itself."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.log_severity_level = 3
    sess = ort.InferenceSession(model.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
    h = np.zeros((1, 1, size), np.float32)
    block = 4096
    while n > 0:
        m = min(n, block)
        _, h = sess.run(None, {"x": np.zeros((1, m, 1), np.float32), "h": h})
        n -= m
    return h
