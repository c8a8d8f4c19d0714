"""The pedal's ONNX form of a WaveNet (NAM A1 and the A2 forms the graph builds, GuitarML's
WaveNetVA): one flat state holding every dilated layer's history (and a head kernel's), a valid
Conv per layer over that history and the block, the zero-input initial state computed by
onnxruntime on the graph itself, and ``pedal.wavenet`` naming what the reader needs to put the
weights back onto the numba engine (see write.py for the signature)."""

from __future__ import annotations

import numpy as np

from .layout import STATE_INIT
from .write import _FlatStateGraph


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
