"""The amp stage against independent references: PyTorch builds the network, onnxruntime runs
the written file on the whole signal at once, and the pedal's engines must agree with both."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from conftest import ROOT, chunked
from helpers import random_spec, torch_model, torch_run
from pedal.dsp import AmpModel, ProcessSpec
from pedal.errors import ModelError
from pedal.models.onnx.write import write_onnx
from pedal.models.onnx.load import load_onnx

SR = 48000


def _signal(n=6000, seed=0):
    r = np.random.default_rng(seed)
    t = np.arange(n) / SR
    return (0.6 * np.sin(2 * np.pi * 110 * t * (1 + t)) + 0.05 * r.standard_normal(n)) \
        .astype(np.float32)


def _ort_whole(path, x, knobs=(), initial=None):
    """onnxruntime on the whole signal in one call, from zero state (or ``initial``: state
    input name -> values, as the file's metadata gives them)."""
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feats = np.concatenate([x[:, None], np.tile(np.float32(knobs), (len(x), 1))], 1) \
        if len(knobs) else x[:, None]
    feed = {"x": feats[None].astype(np.float32)}
    for i in sess.get_inputs()[1:]:
        feed[i.name] = np.zeros(i.shape, np.float32)
        if initial and i.name in initial:
            feed[i.name][:] = initial[i.name]
    return sess.run(["y"], feed)[0][0, :, 0]


CASES = [("lstm", 16, 1, 1, False), ("lstm", 12, 2, 1, True), ("gru", 10, 1, 1, True),
         ("gru", 8, 2, 2, False), ("lstm", 20, 1, 3, True)]


@pytest.mark.parametrize("cell,hidden,layers,inputs,skip", CASES)
@pytest.mark.parametrize("quantize", [None, "int8"])
def test_engines_match_onnxruntime_whole_signal_and_torch(tmp_path, torch_mod, cell, hidden,
                                                          layers, inputs, skip, quantize):
    rnn, lin, spec = torch_model(torch_mod, cell, hidden, layers, inputs, skip)
    spec.skip = skip
    path = tmp_path / "m.onnx"
    write_onnx(spec, path, quantize=quantize)
    model = load_onnx(path)
    assert model.engine_kind == "numba", model.why_not_numba
    knobs = [0.25, 0.75][: inputs - 1]
    x = _signal()
    ref = _ort_whole(path, x, knobs)
    for kind in ("numba", "onnxruntime"):
        model.engine_kind = kind
        amp = AmpModel(model, knobs=knobs)
        amp.prepare(ProcessSpec(SR, 64))
        y = chunked(amp, x, [64, 13, 1, 50])
        assert np.max(np.abs(y - ref)) < 1e-5, kind
    if quantize is None:  # the float file is the torch network itself
        assert np.max(np.abs(ref - torch_run(torch_mod, rnn, lin, x, knobs, skip))) < 1e-5


def test_int8_weights_are_int8_in_the_file_and_close_to_float(tmp_path):
    spec = random_spec("lstm", 16)
    write_onnx(spec, tmp_path / "f.onnx")
    write_onnx(spec, tmp_path / "q.onnx", quantize="int8")
    m = onnx.load(str(tmp_path / "q.onnx"))
    kinds = {i.name: i.data_type for i in m.graph.initializer}
    assert kinds["W0_q"] == TensorProto.INT8 and kinds["R0_q"] == TensorProto.INT8
    raw = {i.name: len(i.raw_data) for i in m.graph.initializer}
    assert raw["W0_q"] == 64 * 1 and raw["R0_q"] == 64 * 16  # one byte per weight
    x = _signal()
    yf, yq = _ort_whole(tmp_path / "f.onnx", x), _ort_whole(tmp_path / "q.onnx", x)
    assert 0 < np.max(np.abs(yf - yq)) < 0.02


def test_gains_in_db(tmp_path):
    write_onnx(random_spec("gru", 6, skip=True), tmp_path / "m.onnx")
    model = load_onnx(tmp_path / "m.onnx")
    x = _signal() * 0.5
    plain = AmpModel(model)
    plain.prepare(ProcessSpec(SR, 64))
    ref = _ort_whole(tmp_path / "m.onnx", x * 10 ** (6 / 20)) * 10 ** (-10 / 20)
    amp = AmpModel(model, input_gain_db=6, output_gain_db=-10)
    amp.prepare(ProcessSpec(SR, 64))
    assert np.max(np.abs(chunked(amp, x, [64]) - ref)) < 1e-5


def _unrecognised_graph(path):
    """A valid stateful graph the numba engine does not know: tanh(dense(LSTM)) * 0.5."""
    h = 4
    r = np.random.default_rng(0)
    init = [numpy_helper.from_array(r.standard_normal((1, 16, 1)).astype(np.float32) * .5, "W"),
            numpy_helper.from_array(r.standard_normal((1, 16, h)).astype(np.float32) * .5, "R"),
            numpy_helper.from_array(r.standard_normal((h, 1)).astype(np.float32), "Wd"),
            numpy_helper.from_array(np.array([0.5], np.float32), "half"),
            numpy_helper.from_array(np.array([1], np.int64), "ax1")]
    nodes = [helper.make_node("Transpose", ["x"], ["xt"], perm=[1, 0, 2]),
             helper.make_node("LSTM", ["xt", "W", "R", "", "", "h", "c"], ["Y", "h_out", "c_out"],
                              hidden_size=h),
             helper.make_node("Squeeze", ["Y", "ax1"], ["s"]),
             helper.make_node("MatMul", ["s", "Wd"], ["d"]),
             helper.make_node("Tanh", ["d"], ["t"]),
             helper.make_node("Mul", ["t", "half"], ["m"]),
             helper.make_node("Transpose", ["m"], ["y"], perm=[1, 0, 2])]
    f = TensorProto.FLOAT
    g = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", f, [1, "N", 1]),
                                       helper.make_tensor_value_info("h", f, [1, 1, h]),
                                       helper.make_tensor_value_info("c", f, [1, 1, h])],
                          [helper.make_tensor_value_info("y", f, [1, "N", 1]),
                           helper.make_tensor_value_info("h_out", f, [1, 1, h]),
                           helper.make_tensor_value_info("c_out", f, [1, 1, h])], init)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)])
    m.ir_version = 8
    onnx.save(m, str(path))


def test_other_graphs_run_through_onnxruntime_with_state_carried(tmp_path):
    path = tmp_path / "other.onnx"
    _unrecognised_graph(path)
    model = load_onnx(path)
    assert model.engine_kind == "onnxruntime"
    assert model.why_not_numba
    x = _signal()
    amp = AmpModel(model)
    amp.prepare(ProcessSpec(SR, 128))
    y = chunked(amp, x, [128, 1, 77])
    assert np.max(np.abs(y - _ort_whole(path, x))) < 1e-6


def test_bundled_default_model_runs_on_numba():
    model = load_onnx(ROOT / "models" / "pedal_overdrive_lstm16.onnx")
    assert model.engine_kind == "numba", model.why_not_numba
    assert model.spec.arch == "lstm-1x16" and model.sample_rate == 48000
    assert model.metadata.get("quantize") == "int8"
    x = _signal()
    amp = AmpModel(model)
    amp.prepare(ProcessSpec(SR, 64))
    y = chunked(amp, x, [64])
    # it starts from the zero-input steady state that pedal train stores (pedal.h0 / c0)
    assert set(model.onnx.initial) == {"h", "c"}
    assert np.max(np.abs(y - _ort_whole(model.path, x, initial=model.onnx.initial))) < 1e-5


def _bad(tmp_path, case):
    p = tmp_path / f"{case}.onnx"
    good = tmp_path / "good.onnx"
    write_onnx(random_spec("lstm", 4), good)
    data = good.read_bytes()
    if case == "empty":
        p.write_bytes(b"")
    elif case == "truncated":
        p.write_bytes(data[: len(data) // 2])
    elif case == "text":
        p.write_text("definitely not a model")
    elif case == "nan":
        m = onnx.load(str(good))
        w = numpy_helper.to_array(m.graph.initializer[[i.name for i in m.graph.initializer]
                                                      .index("W0")]).copy()
        w[0, 0, 0] = np.nan
        m.graph.initializer[[i.name for i in m.graph.initializer].index("W0")].CopyFrom(
            numpy_helper.from_array(w, "W0"))
        onnx.save(m, str(p))
    elif case == "signature":  # a state input whose shape no output carries on
        m = onnx.load(str(good))
        m.graph.input[0].name = "audio"
        for n in m.graph.node:
            n.input[:] = ["audio" if i == "x" else i for i in n.input]
        m.graph.input[2].type.tensor_type.shape.dim[2].dim_value = 5
        onnx.save(m, str(p))
    elif case == "fixed_length":
        m = onnx.load(str(good))
        m.graph.input[0].type.tensor_type.shape.dim[1].dim_value = 64
        onnx.save(m, str(p))
    return p


@pytest.mark.parametrize("case,message", [
    ("missing", "model file not found"), ("empty", "empty (0 bytes)"),
    ("truncated", "not a valid ONNX model"), ("text", "not a valid ONNX model"),
    ("nan", "NaN or infinite"), ("signature", "state input 'c' [1, 1, 5] has no output"),
    ("fixed_length", "block length is fixed at 64"),
])
def test_bad_models_get_one_clear_line(tmp_path, case, message):
    p = _bad(tmp_path, case) if case != "missing" else tmp_path / "nope.onnx"
    with pytest.raises(ModelError) as err:
        load_onnx(p)
    text = str(err.value)
    assert text.startswith(str(p)) and message in text and "\n" not in text


def test_knob_count_is_checked(tmp_path):
    write_onnx(random_spec("lstm", 4, input_size=2), tmp_path / "k.onnx")
    model = load_onnx(tmp_path / "k.onnx")
    assert model.knob_count == 1
    with pytest.raises(ModelError, match="takes 1 knob"):
        AmpModel(model, knobs=[])
    with pytest.raises(ModelError, match="0..1"):
        AmpModel(model, knobs=[1.5])


def test_a_model_at_another_rate_plays_resampled(tmp_path):
    """A 48 kHz model in a 44.1 kHz chain: resampled, with the resamplers' delay as latency
    (their quality: test_resample.py; an impossible ratio is refused there)."""
    write_onnx(random_spec("lstm", 4), tmp_path / "m.onnx")
    amp = AmpModel(load_onnx(tmp_path / "m.onnx"))
    amp.prepare(ProcessSpec(44100, 64))
    assert amp.resampled and 60 <= amp.latency <= 100
    assert "resampled from 44100 Hz" in amp.describe()


def test_a_graph_read_wrongly_is_caught_and_runs_on_onnxruntime(tmp_path, monkeypatch):
    """Verification tells a wrong reading (here the LSTM's g and o gates swapped, an error of order
    one) from rounding, and the file then plays through onnxruntime."""
    from pedal.models.onnx import load as load_mod
    from pedal.models.onnx import recognise

    write_onnx(random_spec("lstm", 6, seed=3), tmp_path / "m.onnx")
    real = recognise.recognise

    def swapped(*a, **kw):
        spec = real(*a, **kw)
        for layer in spec.layers:
            h = layer.w_hh.shape[1]
            for name in ("w_ih", "w_hh", "b_ih", "b_hh"):
                w = getattr(layer, name)
                setattr(layer, name, w[np.r_[0:2 * h, 3 * h:4 * h, 2 * h:3 * h]].copy())  # g <-> o
        return spec
    monkeypatch.setattr(load_mod, "recognise", swapped)
    model = load_onnx(tmp_path / "m.onnx")
    assert model.engine_kind == "onnxruntime" and "differs from onnxruntime" in \
        model.why_not_numba


def test_nam_loudness_normalisation_and_input_calibration(shared):
    from pedal.models import load_model

    model = load_model(shared / "data/nam/Mesa_Mk3_HiGain_standard.nam")
    loud = float(model.metadata["loudness"])
    x = _signal(4000) * 0.3
    plain = AmpModel(model)
    plain.prepare(ProcessSpec(SR, 64))
    ref = chunked(plain, x, [64])
    norm = AmpModel(model, normalize_loudness=True)
    assert norm.normalize_db == pytest.approx(-18 - loud)
    norm.prepare(ProcessSpec(SR, 64))
    np.testing.assert_allclose(chunked(norm, x, [64]), ref * 10 ** ((-18 - loud) / 20),
                               rtol=1e-5, atol=1e-7)
    # a file without input_level_dbu is not calibrated, whatever is asked
    assert AmpModel(model, calibrate_input=True).calibration_db == 0.0


def test_input_calibration_uses_the_stated_level(tmp_path):
    spec = random_spec("lstm", 4)
    write_onnx(spec, tmp_path / "m.onnx", metadata={"input_level_dbu": 18.5})
    amp = AmpModel(load_onnx(tmp_path / "m.onnx"), calibrate_input=True, interface_dbu=12)
    assert amp.calibration_db == pytest.approx(12 - 18.5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_a_stack_wider_than_the_kernels_scratch_is_refused(cell):
    """The kernels keep their gates on a stack sized for MAX_HIDDEN units: a wider file must
    be refused at load, naming the size, before any kernel could overrun it."""
    from pedal.kernels import recurrent as kr
    from pedal.models.arch.recurrent import MAX_HIDDEN, RecurrentEngine, RecurrentLayer, \
        RecurrentSpec

    assert MAX_HIDDEN == kr.MAX_HIDDEN and kr.MAX_GATES == 4 * kr.MAX_HIDDEN
    g, h = (4 if cell == "lstm" else 3), MAX_HIDDEN + 1
    layer = RecurrentLayer(np.zeros((g * h, 1)), np.zeros((g * h, h)), np.zeros(g * h),
                           np.zeros(g * h))
    with pytest.raises(ModelError, match=f"hidden size {h}, must be 1..{MAX_HIDDEN}"):
        RecurrentEngine(RecurrentSpec(cell, [layer], np.zeros(h), 0.0))
