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
        h, c = eng.state()
        spec = replace(spec, h0=h, c0=c if lstm else None, prewarm=0)
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
        from .write_wavenet import wavenet_to_onnx

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
