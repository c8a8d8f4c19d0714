"""pedal convert: the converted ONNX plays like the original; pedal info reports the model."""

import json

import numpy as np
import pytest

from pedal.cli import main
from pedal.models import load_model


def _run(model, x, knobs=()):
    eng = model.make_engine(knobs)
    eng.prepare(64)
    y = x.copy()
    for i in range(0, len(y), 64):
        eng.process(y[i:i + 64])
    return y


@pytest.mark.parametrize("rel,knobs", [("nam/BossLSTM-1x16.nam", []),
                                       ("json/proteus/Proteus_TS9_DriveKnob.json", [0.6]),
                                       ("json/rtneural/BYOD_centaur_50.json", []),
                                       ("json/aidax/AIDAX_tw40_california_clean_deerinkstudios"
                                        ".json", [])])
def test_converted_onnx_plays_like_the_original(shared, tmp_path, capsys, rel, knobs):
    src = shared / "data" / rel
    out = tmp_path / "m.onnx"
    assert main(["convert", str(src), str(out)]) == 0
    orig, conv = load_model(src), load_model(out)
    assert conv.engine_kind == "numba" and conv.sample_rate == orig.sample_rate
    assert conv.metadata["source_family"] == orig.family
    x = (0.4 * np.sin(np.arange(20000) * 0.02) * np.linspace(0.1, 1.2, 20000)).astype(np.float32)
    assert np.max(np.abs(_run(conv, x, knobs) - _run(orig, x, knobs))) < 1e-5
    # and onnxruntime agrees on the converted file, to float32's precision (its LSTM is float32;
    # the numba engine keeps float64 state)
    conv.engine_kind = "onnxruntime"
    assert np.max(np.abs(_run(conv, x, knobs) - _run(orig, x, knobs))) < 5e-5


def test_convert_refuses_what_it_cannot_write(shared, tmp_path, capsys):
    code = main(["convert", str(shared / "data/nam/BossWN-nano.nam"), str(tmp_path / "o.onnx")])
    assert code == 2
    assert "not supported yet" in capsys.readouterr().err
    assert not (tmp_path / "o.onnx").exists()


def test_info_json(shared, capsys):
    assert main(["info", str(shared / "data/nam/Mesa_Mk3_HiGain_standard.nam"), "--json",
                 "--no-measure"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["weights"] == 13802 and info["macs_per_sample"] == 13320
    assert info["receptive_field"] == 4093 and info["sample_rate"] == 48000
    assert info["loudness"] == pytest.approx(-21.0375, abs=1e-3)
