"""Every hostile or broken file of issues 14 and 17, made here: name -> (bytes, what the refusal says).

Each was seen to crash, hang or exhaust the daemon (or read a local file) before the loaders
were hardened; ``test_hostile.py`` checks each refusal and ``test_daemon_hostile.py`` drops
them all into a playing daemon. An expected text of None means the file is valid and loads.
"""

from __future__ import annotations

import json

import numpy as np

import corpus


def _json(doc) -> bytes:
    return json.dumps(doc).encode()


def _onnx(nodes, inputs, outputs, inits=(), metadata=None, opset=17) -> bytes:
    from onnx import helper

    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    for k, v in (metadata or {}).items():
        p = m.metadata_props.add()
        p.key, p.value = k, v
    return m.SerializeToString()


def _io(name, shape):
    from onnx import TensorProto, helper

    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def json_files() -> dict[str, tuple[bytes, str | None]]:
    out = {}
    g = corpus.guitarml()
    text = json.dumps(g)
    out["guitarml_infinity.json"] = (text.replace('"hidden_size": 4', '"hidden_size": Infinity')
                                     .encode(), "model_data.hidden_size: must be a whole number")
    out["guitarml_1e400.json"] = (text.replace('"hidden_size": 4', '"hidden_size": 1e400')
                                  .encode(), "model_data.hidden_size: must be a whole number")
    bad = json.loads(text)
    bad["model_data"]["output_size"] = "x"
    out["guitarml_output_x.json"] = (_json(bad), "model_data.output_size: must be a whole number")
    nam = corpus.nam_lstm()
    w2 = dict(nam, weights=[nam["weights"][:35], nam["weights"][35:70]])
    out["nam_weights_2d.nam"] = (_json(w2), "weights: has 2 dimensions, expected 1")
    out["nam_metadata_list.nam"] = (_json(dict(nam, metadata=[1, 2])),
                                    "metadata: must be a JSON object")
    out["nam_metadata_text.nam"] = (_json(dict(nam, metadata="loud")),
                                    "metadata: must be a JSON object")
    out["nam_weights_text.nam"] = (_json(dict(nam, weights=[str(v) for v in nam["weights"]])),
                                   "weights: must be a list of numbers (it holds text)")
    out["nam_weights_bool.nam"] = (_json(dict(nam, weights=[True] + nam["weights"][1:])),
                                   "weights: must be a list of numbers (it holds true, false")
    out["deep.json"] = (b"[" * 100_000 + b"]" * 100_000, "nested too deeply")
    out["array.nam"] = (b"[1, 2, 3]", "a JSON list, not a model file")
    out["bom.nam"] = (b"\xef\xbb\xbf" + _json(nam), None)
    out["wav_named.nam"] = (b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64), "a WAV audio file")
    out["pickle.onnx"] = (b"\x80\x04\x95" + bytes(32), "a Python pickle")
    wn = corpus.nam_wavenet()
    wn["config"]["layers"][0]["dilations"] = [65536, 65536]
    out["nam_dilations_65536.nam"] = (_json(wn), "receptive field (samples), over the pedal's")
    return out


def _case(name: str) -> dict:
    return json.loads((corpus.NAM_CASES / f"{name}.nam").read_text())


def nam_a2_files() -> dict[str, tuple[bytes, str | None]]:
    """The NAM 0.6/0.7 keys (issue 17), each broken the way a bad export or an attacker would."""
    out: dict[str, tuple[bytes, str | None]] = {}

    def put(name, base, change, want):
        doc = _case(base)
        change(doc)
        out[name] = (_json(doc), want)

    def subs(d):
        return d["config"]["submodels"]

    def layer(d, i=0):
        return d["config"]["layers"][i]

    def swap(d):
        subs(d)[0], subs(d)[1] = subs(d)[1], subs(d)[0]

    put("slim_out_of_order.nam", "container", swap, "max_value must rise from one submodel")
    put("slim_last_below_1.nam", "container", lambda d: subs(d)[-1].update(max_value=0.9),
        "the last max_value must be at least 1, got 0.9")
    put("slim_empty.nam", "container", lambda d: subs(d).clear(),
        "config.submodels: must be a list of 1..8 submodels")
    put("slim_nested.nam", "container", lambda d: subs(d)[0].update(model=_case("container")),
        "a SlimmableContainer inside another model is not supported")
    put("slim_rates_differ.nam", "container",
        lambda d: subs(d)[0]["model"].update(sample_rate=44100),
        "config.submodels[0].model: runs at 44100 Hz, the container at 48000 Hz")
    put("a2_weights_short.nam", "gating", lambda d: d["weights"].pop(),
        "weights: 953 values, the config needs more")
    put("a2_weights_long.nam", "gating", lambda d: d["weights"].append(0.0),
        "weights: 955 values, the config uses 954")
    put("a2_channels_huge.nam", "gating", lambda d: layer(d).update(channels=10**9),
        "config.layers[0].channels: must be a whole number 1..128")
    put("a2_kernel_huge.nam", "gating", lambda d: layer(d)["kernel_sizes"].__setitem__(0, 10**7),
        "config.layers[0].kernel_sizes[0]: must be a whole number 1..64")
    put("a2_bottleneck_huge.nam", "gating", lambda d: layer(d).update(bottleneck=10**8),
        "config.layers[0].bottleneck: must be a whole number 1..128")
    put("a2_head_kernel_huge.nam", "gating", lambda d: layer(d)["head"].update(kernel_size=10**6),
        "config.layers[0].head.kernel_size: must be a whole number 1..64")
    put("a2_gating_mode.nam", "gating",
        lambda d: layer(d)["gating_mode"].__setitem__(1, "sometimes"),
        "gating_mode[1]: must be one of none, gated, blended, got 'sometimes'")
    put("a2_gating_count.nam", "gating", lambda d: layer(d).update(gating_mode=["none"]),
        "gating_mode: 1 gating modes for 8 dilations")
    put("a2_prelu_count.nam", "gating",
        lambda d: layer(d)["activation"][4].update(negative_slopes=[0.1, 0.2]),
        "PReLU has 2 slopes for 4 channels")
    put("a2_activation_unknown.nam", "gating",
        lambda d: layer(d)["activation"].__setitem__(0, {"type": "Swish9"}),
        "activation[0].type: must be one of Tanh,")
    put("a2_film_groups.nam", "film_groups",
        lambda d: layer(d)["conv_post_film"].update(groups=3),
        "conv_post_film: 3 groups do not divide its channels")
    put("a2_conv_groups.nam", "bottleneck_groups", lambda d: layer(d).update(groups_input=5),
        "groups_input: 5 groups do not divide 6 and 4 channels")
    put("a2_condition_lstm.nam", "film_groups",
        lambda d: d["config"].update(condition_dsp=subs(_case("container"))[0]["model"]),
        "config.condition_dsp: only a WaveNet can compute the condition here")
    put("a2_condition_nested.nam", "film_groups",
        lambda d: d["config"].update(condition_dsp=_case("film_groups")),
        "a condition network inside another one is not supported")
    put("a2_weight_beyond_float32.nam", "gating", lambda d: d["weights"].__setitem__(3, 1e39),
        "weights: a value beyond the float32 range")
    put("a2_version_0_8.nam", "gating", lambda d: d.update(version="0.8.0"),
        "version 0.8.0 is not supported: this pedal reads .nam 0.5.0 to 0.7.x")
    put("a2_unknown_key.nam", "gating", lambda d: layer(d).update(surprise=1),
        "config.layers[0]: keys ['surprise'] are not known to this pedal")
    return out


def _standard_raised() -> bytes:
    """NAM's standard WaveNet size with its dilations raised 64x (a real capture's weights
    would fit the same config)."""
    from pedal.models.formats.nam import to_nam
    from pedal.tools.bench_models import random_wavenet

    doc = to_nam(random_wavenet("standard"), {})
    for arr in doc["config"]["layers"]:
        arr["dilations"] = [d * 64 for d in arr["dilations"]]
    return _json(doc)


def onnx_files() -> dict[str, tuple[bytes, str | None]]:
    from onnx import TensorProto, helper, numpy_helper

    out = {}
    x, y = _io("x", [1, "N", 1]), _io("y", [1, "N", 1])
    # a graph of allowed operators that fails inside onnxruntime when it runs
    shape = numpy_helper.from_array(np.array([1, 7, 1], np.int64), "bad_shape")
    out["ort_fails.onnx"] = (_onnx([helper.make_node("Reshape", ["x", "bad_shape"], ["y"])],
                                   [x], [y], [shape]), "onnxruntime fails running the model")
    reps = numpy_helper.from_array(np.array([1, 3, 1], np.int64), "reps")
    out["tile.onnx"] = (_onnx([helper.make_node("Tile", ["x", "reps"], ["y"])], [x], [y],
                              [reps]), "operator 'Tile'")
    # Loop of 10^12 iterations
    body = helper.make_graph([helper.make_node("Identity", ["c_in"], ["c_out"])], "body",
                             [helper.make_tensor_value_info("i", TensorProto.INT64, []),
                              helper.make_tensor_value_info("c_in", TensorProto.BOOL, [])],
                             [helper.make_tensor_value_info("c_out", TensorProto.BOOL, [])])
    trip = numpy_helper.from_array(np.array(10 ** 12, np.int64), "trip")
    cond = numpy_helper.from_array(np.array(True), "cond")
    out["loop.onnx"] = (_onnx([helper.make_node("Loop", ["trip", "cond"], [], body=body),
                               helper.make_node("Identity", ["x"], ["y"])], [x], [y],
                              [trip, cond]), "subgraph")
    # ConstantOfShape of a billion values
    dims = numpy_helper.from_array(np.array([10 ** 9], np.int64), "dims")
    out["constant_of_shape.onnx"] = (_onnx([helper.make_node("ConstantOfShape", ["dims"], ["z"]),
                                            helper.make_node("Identity", ["x"], ["y"])],
                                           [x], [y], [dims]), "operator 'ConstantOfShape'")
    # a tiny file declaring a state of 250 million values
    h, h_out = _io("h", [1, 1, 250_000_000]), _io("h_out", [1, 1, 250_000_000])
    out["huge_state.onnx"] = (_onnx([helper.make_node("Identity", ["x"], ["y"]),
                                     helper.make_node("Identity", ["h"], ["h_out"])],
                                    [x, h], [y, h_out]), "a state of 250,000,000 values")
    # an initializer in an If branch whose data is "in a file": onnxruntime would read
    # /etc/passwd relative to the service's working directory
    ext = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[16])
    ext.data_location = TensorProto.EXTERNAL
    for k, v in (("location", "etc/passwd"), ("offset", "0"), ("length", "64")):
        e = ext.external_data.add()
        e.key, e.value = k, v
    branch = helper.make_graph([helper.make_node("Identity", ["w"], ["b_out"])], "then", [],
                               [_io("b_out", [16])], [ext])
    other = helper.make_graph([helper.make_node("Identity", ["w2"], ["b_out2"])], "else", [],
                              [_io("b_out2", [16])],
                              [numpy_helper.from_array(np.zeros(16, np.float32), "w2")])
    flag = numpy_helper.from_array(np.array(True), "flag")
    out["if_external.onnx"] = (_onnx([helper.make_node("If", ["flag"], ["b"], then_branch=branch,
                                                       else_branch=other),
                                      helper.make_node("Identity", ["x"], ["y"])],
                                     [x], [y], [flag]), "subgraph")
    top = TensorProto()
    top.CopyFrom(ext)
    top.name = "wt"
    out["external.onnx"] = (_onnx([helper.make_node("Identity", ["x"], ["y"])], [x], [y], [top]),
                            "keeps its data in an external file")
    # 60 MB of empty nodes: under the size limit
    head = _onnx([helper.make_node("Identity", ["x"], ["y"])], [x], [y])
    out["empty_nodes.onnx"] = (_graph_with_nodes(head, 30_000_000), "more than 10000 nodes")
    out["standard_dilations_x64.nam"] = (_standard_raised(),
                                         "receptive field (samples), over the pedal's")
    return out


def _graph_with_nodes(model: bytes, n: int) -> bytes:
    """``model`` with its graph followed by ``n`` empty NodeProtos (field 1, length 0)."""
    from onnx import ModelProto

    m = ModelProto()
    m.ParseFromString(model)
    graph = m.graph.SerializeToString() + b"\x0a\x00" * n
    m.ClearField("graph")

    def varint(v):
        out = bytearray()
        while True:
            out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
            v >>= 7
            if not v:
                return bytes(out)
    return m.SerializeToString() + b"\x3a" + varint(len(graph)) + graph


def slow_file() -> tuple[bytes, str]:
    """A valid LSTM far too slow for real time (checked in the loader, never in the daemon)."""
    import tempfile
    from pathlib import Path

    from helpers import random_spec
    from pedal.models.onnx.write import write_onnx

    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "slow.onnx"
        write_onnx(random_spec("lstm", hidden=192, layers=3, seed=5), p)
        return p.read_bytes(), "too slow for real time"


def all_files() -> dict[str, tuple[bytes, str | None]]:
    out = json_files()
    out.update(nam_a2_files())
    out.update(onnx_files())
    out["slow.onnx"] = slow_file()
    return out
