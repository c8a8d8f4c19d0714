"""NAM 0.6/0.7 forms the shared captures do not use, against NAM Core's own output.

tests/data/nam_cases holds small synthetic files (scripts/make_nam_cases.py) and what NAM
Core daae2d0 plays for each (the generic path, exact tanh, block 64, prewarmed, written by
scripts/peers/namref.cpp): every gating mode and named activation, bottleneck, grouped and
depthwise convolutions, head 1x1, FiLM at every site conditioned by a condition network, head
kernels with dilation, a post-stack head, the slimmable WaveNet and a container of LSTM and
WaveNet submodels at several slim values, and a Linear file."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from pedal.dsp.run import run_blocks
from pedal.errors import ModelError
from pedal.models import load_model

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "tests" / "data" / "nam_cases"
sys.path.insert(0, str(ROOT / "scripts"))
from make_nam_cases import SLIMS, case_input  # noqa: E402

ATOL = 2e-5  # float32 against float32, differently summed: measured up to 2e-6


def _names():
    return sorted(p.stem for p in CASES.glob("*.nam"))


@pytest.mark.parametrize("name", _names())
def test_case_matches_nam_core(name):
    ref = np.load(CASES / f"{name}.npz")
    x = case_input()
    model = load_model(CASES / f"{name}.nam")
    for slim in SLIMS.get(name, [None]):
        key = "output" if slim is None else f"slim_{slim:g}"
        m = model.at_slim(slim) if slim is not None else model
        for block in (64, 37):  # Core ran at 64; any block gives the same output
            eng = m.make_engine()
            eng.prepare(block)
            y = run_blocks(eng, x, block)
            err = float(np.max(np.abs(y - ref[key])))
            assert err < ATOL * max(1.0, float(np.max(np.abs(ref[key])))), (name, key, block, err)
        assert np.sqrt(np.mean(ref[key] ** 2)) > 0.01  # a case that plays something


def test_slim_values_pick_the_sizes_nam_core_picks():
    from pedal.models.arch import slim

    m = load_model(CASES / "container.nam")
    assert [s.arch for _, s in slim.sizes(m.spec)] == ["lstm-1x6", "lstm-2x8",
                                                        "wavenet-5x3+3x3-a2"]
    assert slim.breakpoints(m.spec) == [0.5, 0.8]
    assert m.at_slim(0.49).spec.arch == "lstm-1x6" and m.at_slim(0.5).spec.arch == "lstm-2x8"
    assert m.at_slim(1.0).spec.arch == m.make_engine().spec.arch
    w = load_model(CASES / "slimmable2.nam")
    assert slim.breakpoints(w.spec) == [1 / 3, 0.5, 2 / 3]
    assert [a.channels for a in w.at_slim(0.0).spec.arrays] == [2, 2]
    assert [a.channels for a in w.at_slim(0.4).spec.arrays] == [4, 2]
    assert [a.channels for a in w.at_slim(0.7).spec.arrays] == [6, 4]
    with pytest.raises(ModelError, match="amp.slim: must be 0..1"):
        w.at_slim(1.5)


def test_each_size_keeps_its_own_loudness():
    m = load_model(CASES / "container.nam")
    assert m.at_slim(0.2).metadata["loudness"] == -15.0
    assert m.at_slim(1.0).metadata["loudness"] == -20.0


def test_linear_plays_weights_0_on_the_newest_sample_as_nam_core_does():
    """NAM Core reverses a Linear file's weights into its kernel: weights[0] multiplies the
    newest sample (the trainer's Conv1d would apply it to the oldest)."""
    doc = json.loads((CASES / "linear.nam").read_text())
    x = case_input()
    ref = np.convolve(x.astype(np.float64), doc["weights"][:5])[:len(x)] + doc["weights"][5]
    eng = load_model(CASES / "linear.nam").make_engine()
    eng.prepare(64)
    assert np.max(np.abs(run_blocks(eng, x, 64) - ref)) < 1e-6


def test_auto_picks_the_largest_size_within_the_budget_and_says_why(monkeypatch):
    from pedal.models import info
    from pedal.models.info import pick_slim

    m = load_model(CASES / "container.nam")
    chosen, load = pick_slim(m, 64, 1e9)  # timed on this machine (any machine fits this)
    assert chosen.spec.arch == "wavenet-5x3+3x3-a2" and load > 0
    assert "auto: the largest of 3 sizes within the budget at block 64" in chosen.slim_note
    # the choice itself, with each size's speed given: the largest that fits, largest first
    speed = {"lstm-1x6": 40.0, "lstm-2x8": 3.0, "wavenet-5x3+3x3-a2": 1.5}
    timed = []

    def fake_xrt(model, *args, **kw):
        timed.append(model.spec.arch)
        return speed[model.spec.arch]
    monkeypatch.setattr(info, "measure_xrt", fake_xrt)
    chosen, load = pick_slim(m, 64, 0.5)
    assert chosen.spec.arch == "lstm-2x8" and load == pytest.approx(1 / 3.0)
    assert timed == ["wavenet-5x3+3x3-a2", "lstm-2x8"]  # stops at the first that fits
    assert "too slow: wavenet-5x3+3x3-a2 needs 67% of each block" in chosen.slim_note
    monkeypatch.undo()
    with pytest.raises(ModelError) as e:  # a budget nothing meets: every size's figure
        pick_slim(m, 64, 1e-6)
    msg = str(e.value)
    assert str(CASES / "container.nam") in msg and "even its smallest size is too slow" in msg
    assert msg.count("% of each block") == 3


def test_render_slim_flag_and_preset_key(tmp_path, capsys):
    from pedal.cli import main

    di = ROOT / "pedal" / "assets" / "demo_di.flac"
    model = CASES / "container.nam"
    assert main(["render", str(di), str(tmp_path / "a.wav"), "--model", str(model),
                 "--slim", "0.3"]) == 0
    out = capsys.readouterr()
    assert "lstm-1x6" in out.out and "size 1 of 3" in out.err
    assert main(["render", str(di), str(tmp_path / "b.wav"), "--model", str(model)]) == 0
    out = capsys.readouterr()
    assert "wavenet-5x3+3x3-a2" in out.out and "the largest size plays" in out.err
    assert main(["render", str(di), str(tmp_path / "c.wav"), "--model", str(model),
                 "--slim", "2"]) == 2
    assert "--slim: must be 0..1 or auto, got 2" in capsys.readouterr().err


CONVERTIBLE = ["gating", "bottleneck_groups", "head_kernel", "slimmable2", "container",
               "linear"]


@pytest.mark.parametrize("name", CONVERTIBLE)
def test_a_converted_a2_plays_as_nam_core_plays_the_original(tmp_path, name, capsys):
    """``pedal convert`` to the pedal's ONNX, the file then run by onnxruntime (the graph as
    written) and by the numba engine it is read back into, both against Core's output."""
    from pedal.cli import main
    from pedal.models.onnx.load import load_onnx

    ref = np.load(CASES / f"{name}.npz")
    x = case_input()
    for slim in SLIMS.get(name, [None]):
        key = "output" if slim is None else f"slim_{slim:g}"
        out = tmp_path / f"{name}_{key}.onnx"
        args = ["convert", str(CASES / f"{name}.nam"), str(out)]
        assert main(args + ([] if slim is None else ["--slim", str(slim)])) == 0
        for prefer in ("numba", "onnxruntime"):
            m = load_onnx(out, prefer=prefer)
            assert m.engine_kind == prefer
            eng = m.make_engine()
            eng.prepare(64)
            y = run_blocks(eng, x, 64)
            err = float(np.max(np.abs(y - ref[key])))
            assert err < ATOL * max(1.0, float(np.max(np.abs(ref[key])))), (name, key, prefer,
                                                                            err)
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize("name, why", [
    ("film", "a condition network (condition_dsp) has no ONNX form yet"),
    ("post_head", "a post-stack head has no ONNX form yet")])
def test_convert_says_which_a2_forms_it_cannot_write(tmp_path, capsys, name, why):
    from pedal.cli import main

    out = tmp_path / "x.onnx"
    assert main(["convert", str(CASES / f"{name}.nam"), str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pedal: error:") and why in err and "\n" not in err, err
    assert not out.exists()


def test_convert_writes_the_largest_size_unless_told_and_keeps_the_lstm_prewarm(tmp_path,
                                                                             capsys):
    from pedal.cli import main

    out = tmp_path / "c.onnx"
    assert main(["convert", str(CASES / "container.nam"), str(out)]) == 0
    said = capsys.readouterr().out
    assert "size 3 of 3" in said and "the largest of 3 sizes; --slim V writes another" in said
    assert load_model(out).spec.arch == "wavenet-5x3+3x3-a2"
    assert main(["convert", str(CASES / "linear.nam"), str(out), "--slim", "0.5"]) == 2
    assert "--slim: " in capsys.readouterr().err
    # an LSTM's half second of prewarm becomes the converted file's initial state
    assert main(["convert", str(CASES / "container.nam"), str(out), "--slim", "0.2"]) == 0
    conv = load_model(out)
    assert conv.spec.prewarm == 0 and conv.spec.h0 is not None
    assert np.abs(conv.spec.h0).max() > 1e-3  # the prewarmed state is not zeros here


@pytest.mark.parametrize("name", [n for n in _names() if n != "linear"])
def test_a2_written_as_nam_0_7_reads_back_to_the_same_numbers(tmp_path, name):
    """``pedal convert X.nam Y.nam`` (one size of a slimmable file, say) writes NAM Core's
    weight order: read back, every size plays Core's output of the original, bit for bit the
    same as before writing. (NAM Core itself read such files identically when checked by hand
    with scripts/peers/namref: the A2 example's smallest size and the post-stack head case.)"""
    from pedal.cli import main

    ref = np.load(CASES / f"{name}.npz")
    x = case_input()
    for slim in SLIMS.get(name, [None]):
        key = "output" if slim is None else f"slim_{slim:g}"
        out = tmp_path / f"{key}.nam"
        args = ["convert", str(CASES / f"{name}.nam"), str(out)]
        assert main(args + ([] if slim is None else ["--slim", str(slim)])) == 0
        doc = json.loads(out.read_text())
        orig = load_model(CASES / f"{name}.nam")
        orig = orig.at_slim(slim) if slim is not None else orig
        back = load_model(out)
        assert back.spec.arch == orig.spec.arch and not back.slimmable
        ys = []
        for m in (orig, back):
            eng = m.make_engine()
            eng.prepare(64)
            ys.append(run_blocks(eng, x, 64))
        assert np.array_equal(ys[0], ys[1]), name
        assert float(np.max(np.abs(ys[1] - ref[key]))) < ATOL * max(1.0, float(
            np.max(np.abs(ref[key]))))
        assert doc["version"] == ("0.5.4" if orig.spec.arch.startswith("lstm") or
                                  orig.spec.is_a1 else "0.7.0")
