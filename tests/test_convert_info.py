"""pedal convert: the converted ONNX plays like the original; pedal info reports the model."""

import json
from pathlib import Path

import numpy as np
import pytest

from pedal.cli import main
from pedal.models import load_model
from pedal.dsp.run import run_blocks


def _run(model, x, knobs=()):
    eng = model.make_engine(knobs)
    eng.prepare(64)
    y = run_blocks(eng, x, 64)
    return y


@pytest.mark.parametrize("rel,knobs", [("nam/BossLSTM-1x16.nam", []),
                                       ("json/proteus/Proteus_TS9_DriveKnob.json", [0.6]),
                                       ("json/rtneural/BYOD_centaur_50.json", []),
                                       ("json/aidax/AIDAX_tw40_california_clean_deerinkstudios"
                                        ".json", []),
                                       ("nam/BossWN-nano.nam", []),
                                       ("nam/HelgaB_6505plus_RedCh_NoBoost_standard.nam", []),
                                       ("json/smartpedal_wavenet/SmartPedal_ts9_fullD.json", []),
                                       ("json/smartpedal_wavenet/WaveNetVA_WaveNet1-ts7.json",
                                        []),
                                       ("json/smartamppro/SmartAmpPro_Heavy.json", []),
                                       ("json/smartamppro/SmartAmpPro_TubeClean.json", []),
                                       ("nam/identity_linear_1.nam", [])])
def test_converted_onnx_plays_like_the_original(shared, tmp_path, capsys, rel, knobs):
    src = shared / "data" / rel
    out = tmp_path / "m.onnx"
    assert main(["convert", str(src), str(out)]) == 0
    orig, conv = load_model(src), load_model(out)
    assert conv.engine_kind == "numba" and conv.sample_rate == orig.sample_rate
    assert conv.metadata["source_family"] == orig.family
    x = (0.4 * np.sin(np.arange(20000) * 0.02) * np.linspace(0.1, 1.2, 20000)).astype(np.float32)
    assert np.max(np.abs(_run(conv, x, knobs) - _run(orig, x, knobs))) < 1e-5
    # and onnxruntime agrees on the converted file, to float32's precision (both run float32,
    # summing in different orders; a WaveNet's graph starts from its stored prewarm)
    conv.engine_kind = "onnxruntime"
    assert np.max(np.abs(_run(conv, x, knobs) - _run(orig, x, knobs))) < 5e-5


def test_converted_wavenet_int8_stays_close(shared, tmp_path):
    """int8 conv weights (one scale per output channel) move a nano WaveNet's output by less
    than 2 % of its level (measured 1.4 %, -37 dB)."""
    src = shared / "data/nam/BossWN-nano.nam"
    out = tmp_path / "q.onnx"
    assert main(["convert", str(src), str(out), "--quantize", "int8"]) == 0
    orig, conv = load_model(src), load_model(out)
    assert conv.engine_kind == "numba" and conv.metadata["quantize"] == "int8"
    x = (0.4 * np.sin(np.arange(20000) * 0.02) * np.linspace(0.1, 1.2, 20000)).astype(np.float32)
    a, b = _run(orig, x), _run(conv, x)
    assert 1e-6 < np.sqrt(np.mean((a - b) ** 2)) < 0.02 * np.sqrt(np.mean(a ** 2))


def test_convert_refuses_what_it_cannot_write(shared, tmp_path, capsys):
    from test_smartamppro import _doc

    several = tmp_path / "steps.json"  # an LSTM over 5 positions: no one-pass graph
    several.write_text(json.dumps(_doc(s2=2)))
    assert main(["convert", str(several), str(tmp_path / "o.onnx")]) == 2
    assert "runs several steps (5 here) have no ONNX form" in capsys.readouterr().err
    assert main(["convert", str(shared / "data/onnx/aki_linear_phase_invert.onnx"),
                 str(tmp_path / "o.onnx")]) == 2
    assert "an ONNX graph the pedal does not recognise" in capsys.readouterr().err
    assert not (tmp_path / "o.onnx").exists()


def test_info_json(shared, capsys):
    assert main(["info", str(shared / "data/nam/Mesa_Mk3_HiGain_standard.nam"), "--json",
                 "--no-measure"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["weights"] == 13802 and info["macs_per_sample"] == 13320
    assert info["receptive_field"] == 4093 and info["sample_rate"] == 48000
    assert info["loudness"] == pytest.approx(-21.0375, abs=1e-3)


def _huge_wavenet():
    """A WaveNet far beyond any CPU's real-time budget (yet inside the pedal's size limits):
    64 channels, 20 gated layers, about 0.6 MMAC per sample."""
    from pedal.models import ModelFile
    from pedal.models.arch.wavenet import LayerArray, WaveNetSpec

    c, dil = 64, [1, 2, 4, 8, 16] * 4
    z = np.zeros
    arr = LayerArray(1, 1, 1, c, 3, dil, "Tanh", True, False, z((c, 1)),
                     [z((2 * c, c, 3))] * 20, [z(2 * c)] * 20, [z((2 * c, 1))] * 20,
                     [z((c, c))] * 20, [z(c)] * 20, z((1, c)), None)
    return ModelFile("huge.nam", "nam", WaveNetSpec([arr], 1.0), 48000)


def test_realtime_budget_check_refuses_a_model_that_cannot_keep_up(tmp_path):
    from pedal.errors import ModelError
    from pedal.models import load_model
    from pedal.models.info import check_realtime

    small = load_model(Path(__file__).parents[1] / "models/pedal_overdrive_lstm16.onnx")
    assert check_realtime(small, 64, xrt=4.0) == 0.25
    with pytest.raises(ModelError, match=r"needs 0.89 ms of each 1.33 ms block \(67%, 1.5x real "
                                         r"time\), the limit is 50%"):
        check_realtime(small, 64, xrt=1.5)
    # measured: ~0.6 MMAC per sample (28 GMAC/s at 48 kHz) cannot keep up on any CPU
    big = _huge_wavenet()
    with pytest.raises(ModelError, match=r"too slow for real time at block 64: it needs "
                                         r"[\d.]+ ms of each 1.33 ms block"):
        check_realtime(big, 64)


def test_a_new_format_is_one_module_and_one_registry_line(tmp_path, monkeypatch):
    """The example of CONTRIBUTING.md, as written there: its module and its registry line are
    all that load_model needs (checked against a numpy LSTM)."""
    import re
    import sys
    import types

    from pedal.models import load_model, registry

    text = (Path(__file__).parents[1] / "CONTRIBUTING.md").read_text()
    module_src = re.findall(r"```python\n(# pedal/models/formats/mylstm.py.*?)```", text, re.S)[0]
    mod = types.ModuleType("pedal.models.formats.mylstm")
    mod.__package__ = "pedal.models.formats"
    exec(compile(module_src, "mylstm.py", "exec"), mod.__dict__)
    monkeypatch.setitem(sys.modules, mod.__name__, mod)
    line = re.findall(r"# pedal/models/registry.py, in FORMATS\n\s*(.*?),\n", text)[0]
    fmt = eval(line, {"Format": registry.Format, "mylstm": mod})
    monkeypatch.setattr(registry, "FORMATS", registry.FORMATS + (fmt,))
    rng = np.random.default_rng(0)
    h = 3
    w_ih, w_hh, b = rng.normal(0, .5, (4 * h, 1)), rng.normal(0, .5, (4 * h, h)), \
        rng.normal(0, .1, 4 * h)
    head = rng.normal(0, .5, h)
    p = tmp_path / "amp.json"
    p.write_text(json.dumps({"mylstm": {"hidden": h, "w_ih": w_ih.tolist(),
                                        "w_hh": w_hh.tolist(), "b": b.tolist(),
                                        "head": head.tolist(), "head_b": 0.1}}))
    model = load_model(p)
    assert model.family == "mylstm" and model.engine_kind == "numba"
    x = (0.5 * np.sin(np.arange(500) / 7.0)).astype(np.float32)
    y = _run(model, x)
    hs, cs, want = np.zeros(h), np.zeros(h), []
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    for v in x.astype(np.float64):
        z = w_ih[:, 0] * v + w_hh @ hs + b
        i, f, g, o = sig(z[:h]), sig(z[h:2 * h]), np.tanh(z[2 * h:3 * h]), sig(z[3 * h:])
        cs = f * cs + i * g
        hs = o * np.tanh(cs)
        want.append(head @ hs + 0.1)
    assert np.max(np.abs(y - np.array(want))) < 1e-5


RECURRENT = ["json/aidax/AIDAX_tw40_california_clean_deerinkstudios.json",
             "json/automated_gam/AGM_ht1-ht11_LSTM32_model_best.json",
             "json/automated_gam/AGM_ht1-ht13_GRU32_model_best.json",
             "json/neuralpi/NeuralPi_BluesJR_FullD.json", "json/neuralpi/NeuralPi_TS9_cond.json",
             "json/proteus/Proteus_BlackstarHT40_AmpClean.json",
             "json/proteus/Proteus_TS9_DriveKnob.json", "json/rtneural/BYOD_centaur_50.json",
             "json/tsm1n3/TSM1N3_model_ts9_cond2.json", "nam/BossLSTM-1x16.nam",
             "nam/namcore_lstm.nam", "onnx/ortbuilder_nam_lstm_3x24.onnx"]


@pytest.mark.parametrize("rel", RECURRENT)
def test_int8_of_every_shared_recurrent_model_is_within_the_limit_or_refused(shared, tmp_path,
                                                                             capsys, rel):
    import re

    from pedal.models.quantize import INT8_MAX_ESR, int8_error

    out = tmp_path / "q.onnx"
    assert main(["convert", str(shared / "data" / rel), str(out), "--quantize", "int8"]) == 0
    said = capsys.readouterr().out
    esr = float(re.search(r"int8 weights: ESR ([\d.]+)", said).group(1))
    written = load_model(out)
    orig = load_model(shared / "data" / rel)
    if esr <= INT8_MAX_ESR:
        assert "kept" in said and written.metadata.get("quantize") == "int8"
        # the figure printed is the file's: measured again, independently of convert
        assert int8_error(orig, written, [0.5] * orig.knob_count) <= INT8_MAX_ESR
    else:
        assert "wrote float32 weights instead" in said and written.metadata["quantize"] == "none"


def test_int8_over_the_limit_falls_back_to_float_and_says_so(tmp_path, capsys, monkeypatch):
    from helpers import random_spec
    from pedal.models import quantize
    from pedal.models.onnx.write import write_onnx

    write_onnx(random_spec("lstm", 8, seed=2), tmp_path / "m.onnx")
    monkeypatch.setattr(quantize, "INT8_MAX_ESR", 0.0)  # any rounding is too much
    assert main(["convert", str(tmp_path / "m.onnx"), str(tmp_path / "q.onnx"),
                 "--quantize", "int8"]) == 0
    said = capsys.readouterr().out
    assert "over the limit" in said and "wrote float32 weights instead" in said
    assert load_model(tmp_path / "q.onnx").metadata["quantize"] == "none"
    assert main(["convert", str(tmp_path / "m.onnx"), str(tmp_path / "q.onnx"),
                 "--quantize", "int8", "--force"]) == 0
    assert load_model(tmp_path / "q.onnx").metadata["quantize"] == "int8"
