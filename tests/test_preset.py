"""Presets: every problem reported at once, each naming the file, key path, rule and value."""

import textwrap

import pytest

from conftest import ROOT
from pedal.errors import ConfigError
from pedal.preset import load_preset

MODEL = ROOT / "models" / "pedal_overdrive_lstm16.onnx"


def _write(tmp_path, text, name="p.yaml"):
    p = tmp_path / name
    p.write_text(textwrap.dedent(text))
    return p


def test_default_preset_loads_and_builds_the_chain():
    preset = load_preset()
    chain = preset.build_chain()
    assert [b.name for b in chain] == ["gate", "amp", "cab", "eq", "level"]
    assert preset.sample_rate == 48000 and len(preset.data["eq"]["bands"]) == 5


def test_every_problem_at_once(tmp_path):
    p = _write(tmp_path, f"""
        gate: {{threshold_db: 3, atack_ms: 1}}
        amp: {{model: {MODEL}, input_gain_db: lots}}
        cab: {{ir: missing.wav}}
        eq:
          bands:
            - {{type: peak, freq_hz: 800, gain_db: 2}}
            - {{type: peak, freq_hz: 50000, gain_db: 2}}
            - {{type: wah, freq_hz: 500}}
        output: {{level_db: -3, colour: red}}
        """)
    with pytest.raises(ConfigError) as err:
        load_preset(p)
    got = err.value.problems
    want = [f"{p}: gate.atack_ms: unknown key",
            f"{p}: gate.threshold_db: must be -120..0 dB, got 3",
            f"{p}: amp.input_gain_db: must be a number (-40..40 dB), got 'lots'",
            f"{p}: cab.ir: file not found, got 'missing.wav'",
            f"{p}: eq.bands[1].freq_hz: must be 20..20000 Hz, got 50000",
            f"{p}: eq.bands[2].type: must be one of peak, low_shelf, high_shelf, low_pass, "
            "high_pass, got 'wah'",
            f"{p}: output.colour: unknown key"]
    for line in want:
        assert any(g.startswith(line) for g in got), (line, got)
    assert len(got) == len(want)


def test_paths_are_relative_to_the_preset_then_bundled_folders(tmp_path):
    p = _write(tmp_path, """
        amp: {model: pedal_overdrive_lstm16.onnx}
        cab: {ir: pedal_synthetic_4x12.wav}
        """)
    preset = load_preset(p)
    assert preset.model.path == str(MODEL)
    assert preset.data["eq"] is None  # an absent optional section is simply not there


def test_model_file_problems_are_reported_with_the_key(tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x00" * 10)
    p = _write(tmp_path, f"amp: {{model: {bad}}}\ngate: {{hold_ms: -1}}\n")
    with pytest.raises(ConfigError) as err:
        load_preset(p)
    lines = err.value.problems
    assert any(line.startswith(f"{p}: amp.model: {bad}: not a valid ONNX model") for line in lines)
    assert any("gate.hold_ms: must be 0..5000 ms, got -1" in line for line in lines)


def test_invalid_yaml_names_line_and_column(tmp_path):
    p = _write(tmp_path, "amp:\n  model: [unclosed\n")
    with pytest.raises(ConfigError, match=r"invalid YAML: line \d+, column \d+"):
        load_preset(p)


@pytest.mark.parametrize("text,message", [
    ("- a\n- b\n", "must be a mapping"), ("amp: 3\n", "amp: must be a mapping"),
    ("{}\n", "amp.model: is required"),
])
def test_shape_errors(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_preset(_write(tmp_path, text))


def test_missing_preset_file(tmp_path):
    with pytest.raises(ConfigError, match="preset file not found"):
        load_preset(tmp_path / "nope.yaml")


def test_overrides_are_validated_like_the_file_and_named_as_the_flags_they_came_from():
    with pytest.raises(ConfigError) as err:
        load_preset(eq=["peak:50000:3:1", "shelf:100"], knobs=[0.5])
    lines = err.value.problems
    assert "--eq (band 1): freq_hz: must be 20..20000 Hz, got 50000" in lines
    assert any(line.startswith("--eq (band 2): type: must be one of") for line in lines)
    assert any(line.startswith("--knobs: the model takes 0 knob value(s), got 1")
               for line in lines)
    assert not any("default.yaml" in line for line in lines)  # the file is not to blame


def test_raw_is_the_model_alone():
    chain = load_preset(raw=True).build_chain()
    assert [b.name for b in chain if b.enabled] == ["amp", "level"]
    level = chain.by_name("level")
    assert level.level_db == 0 and not level.dc_block
