"""Write a RecurrentSpec as the pedal's ONNX amp model (needs the ``onnx`` package: extra
``pedal[tools]``; the daemon only reads these files).

The pedal's block signature::

    inputs   x [1, N, C] float32   audio in channel 0, knob values (0..1) in channels 1..C-1
             h [L, 1, H] float32   hidden state per layer
             c [L, 1, H] float32   cell state per layer (LSTM only)
    outputs  y [1, N, 1], h_out [L, 1, H], c_out [L, 1, H] (LSTM only)

built from standard ONNX ops (Transpose, Slice, LSTM/GRU, Squeeze, MatMul, Add, Concat), so any
ONNX runtime runs it. ``quantize="int8"`` stores the recurrent matrices as int8 with one scale
per gate row, behind DequantizeLinear nodes. Metadata props carry ``pedal.*`` keys.
"""

from __future__ import annotations

import json

import numpy as np

from .recurrent import RecurrentSpec

FORMAT = "pedal-amp/1"
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
    meta = {"pedal.format": FORMAT, "pedal.sample_rate": str(spec.sample_rate),
            "pedal.architecture": spec.arch, "pedal.quantize": quantize or "none"}
    if spec.h0 is not None:
        meta["pedal.h0"] = json.dumps(np.asarray(spec.h0).tolist())
    if spec.c0 is not None:
        meta["pedal.c0"] = json.dumps(np.asarray(spec.c0).tolist())
    for k, v in {**spec.metadata, **(metadata or {})}.items():
        meta[k if k.startswith("pedal.") else f"pedal.{k}"] = str(v)
    onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    return model


def write_onnx(spec: RecurrentSpec, path, quantize: str | None = None,
               metadata: dict | None = None) -> None:
    from ..audio_io import atomic_path

    model = spec_to_onnx(spec, quantize, metadata)
    with atomic_path(path) as tmp:
        tmp.write_bytes(model.SerializeToString())
