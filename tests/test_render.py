"""`pedal render` end to end: the command, its output, its errors, and what it sounds like."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from conftest import ROOT, chunked
from pedal.dsp import ProcessSpec
from pedal.cli import main
from pedal.paths import DEMO_DI
from pedal.preset import load_preset


def _run(argv, capsys):
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def test_render_demo_equals_the_chain_block_by_block(tmp_path, capsys):
    out = tmp_path / "demo.wav"
    code, stdout, _ = _run(["render", str(DEMO_DI), str(out), "--block", "128"], capsys)
    assert code == 0
    assert "x real time" in stdout and str(out) in stdout
    y, sr = sf.read(out, dtype="float32")
    x, sr_in = sf.read(DEMO_DI, dtype="float32")
    assert sr == sr_in == 48000 and len(y) == len(x)
    chain = load_preset().build_chain()
    chain.prepare(ProcessSpec(48000, 128))
    np.testing.assert_array_equal(y, chunked(chain, x, [128]))


def _thd(y, f0, sr):
    spec = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    bins = [int(round(k * f0 * len(y) / sr)) for k in range(1, 8)]
    h = [spec[b - 2:b + 3].max() for b in bins]
    return np.sqrt(np.sum(np.square(h[1:]))) / h[0]


def test_the_amp_distorts_and_the_cab_rolls_off_highs(tmp_path, capsys):
    sr = 48000
    t = np.arange(sr) / sr
    sine = (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    sf.write(tmp_path / "sine.wav", sine, sr, subtype="FLOAT")
    assert _run(["render", str(tmp_path / "sine.wav"), str(tmp_path / "raw.wav"), "--raw"],
                capsys)[0] == 0
    raw, _ = sf.read(tmp_path / "raw.wav")
    assert _thd(sine[sr // 2:], 220, sr) < 1e-3
    assert _thd(raw[sr // 2:], 220, sr) > 0.1  # an overdrive: strong harmonics
    # the whole chain on the demo riff: what it changes, band by band, against the raw amp
    # render must be what the cabinet and EQ responses predict (gate and DC blocker aside)
    full = tmp_path / "full.wav"
    assert _run(["render", str(DEMO_DI), str(full)], capsys)[0] == 0
    amp_only = tmp_path / "amp.wav"
    assert _run(["render", str(DEMO_DI), str(amp_only), "--raw"], capsys)[0] == 0
    preset = load_preset()
    chain = preset.build_chain()
    chain.prepare(ProcessSpec(sr, 64))
    f_amp, p_amp = signal.welch(sf.read(amp_only)[0], sr, nperseg=4096)
    f_full, p_full = signal.welch(sf.read(full)[0], sr, nperseg=4096)
    h = signal.freqz(chain.by_name("cab").taps.astype(np.float64), worN=f_amp, fs=sr)[1]
    h = h * signal.sosfreqz(chain.by_name("eq").sos(), worN=f_amp, fs=sr)[1]
    # the output level, and the amp's loudness normalisation (which --raw leaves out)
    level = 10 ** ((preset.data["output"]["level_db"] + chain.by_name("amp").normalize_db) / 20)

    for lo, hi in [(200, 500), (500, 2000), (2000, 5000), (8000, 11000)]:
        band = (f_amp >= lo) & (f_amp < hi)
        measured = 10 * np.log10(p_full[band].sum() / p_amp[band].sum())
        predicted = 10 * np.log10(np.sum(p_amp[band] * np.abs(h[band] * level) ** 2)
                                  / p_amp[band].sum())
        assert measured == pytest.approx(predicted, abs=1.0), (lo, hi)
    hi_band, mid = (f_amp >= 8000) & (f_amp < 11000), (f_amp >= 500) & (f_amp < 2000)
    drop = 10 * np.log10(p_full[hi_band].sum() / p_amp[hi_band].sum()) - \
        10 * np.log10(p_full[mid].sum() / p_amp[mid].sum())
    assert drop < -15  # the cabinet takes the fizz away
    assert np.max(np.abs(sf.read(full)[0])) < 1.0  # and the default preset does not clip


def test_plot_writes_a_png(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "o.flac"
    assert _run(["render", str(DEMO_DI), str(out), "--plot"], capsys)[0] == 0
    png = out.with_suffix(".png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_title_names_the_model_that_played(tmp_path, capsys, monkeypatch):
    """--model replaces the preset's model: the title says which one was heard."""
    from pedal.tools import plot

    titles = []
    monkeypatch.setattr(plot, "spectrograms", lambda png, sig, sr, title="": titles.append(title))
    import corpus

    other = tmp_path / "not_the_default.json"
    other.write_bytes(corpus.files()["guitarml.json"])
    assert _run(["render", str(DEMO_DI), str(tmp_path / "o.wav"), "--plot", "--model",
                 str(other)], capsys)[0] == 0
    assert len(titles) == 1 and other.name in titles[0], titles
    assert "pedal_overdrive" not in titles[0], titles


def test_stereo_and_other_rates_are_converted_with_a_notice(tmp_path, capsys):
    sr = 44100
    x = np.random.default_rng(0).standard_normal((sr, 2)).astype(np.float32) * 0.1
    sf.write(tmp_path / "st.wav", x, sr, subtype="PCM_24")
    code, _, err = _run(["render", str(tmp_path / "st.wav"), str(tmp_path / "o.wav")], capsys)
    assert code == 0
    assert "2 channels mixed down to mono" in err and "resampled from 44100 Hz" in err
    info = sf.info(str(tmp_path / "o.wav"))
    assert info.samplerate == 48000 and info.channels == 1
    assert abs(info.frames - 48000) <= 1


def test_list_shows_bundled_material(capsys):
    code, out, _ = _run(["render", "--list"], capsys)
    assert code == 0
    for name in ("models/pedal_overdrive_lstm16.onnx", "ir/pedal_synthetic_4x12.wav",
                 "presets/default.yaml", "demo_di.flac"):
        assert name in out


@pytest.mark.parametrize("case", ["missing", "empty", "text", "nan", "bad_preset",
                                  "bad_eq", "bad_format"])
def test_bad_input_one_line_exit_2_and_no_output_file(tmp_path, capsys, case):
    out = tmp_path / "out.wav"
    src = tmp_path / "in.wav"
    argv = ["render", str(src), str(out)]
    if case == "empty":
        src.write_bytes(b"")
    elif case == "text":
        src.write_text("not audio at all\n" * 100)
    elif case == "nan":
        sf.write(src, np.array([0.1, np.nan, 0.2] * 100, np.float32), 48000, subtype="FLOAT")
    elif case in ("bad_preset", "bad_eq", "bad_format"):
        sf.write(src, np.zeros(4800, np.float32), 48000)
        if case == "bad_preset":
            (tmp_path / "p.yaml").write_text("amp: {model: nope.onnx}\n")
            argv += ["--preset", str(tmp_path / "p.yaml")]
        elif case == "bad_eq":
            argv += ["--eq", "peak:50000:3"]
        else:
            argv[2] = str(tmp_path / "out.xyz")
    code, stdout, err = _run(argv, capsys)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("pedal: error: "), err
    assert "Traceback" not in err
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_debug_shows_the_traceback(tmp_path):
    r = subprocess.run([sys.executable, "-m", "pedal", "--debug", "render",
                        str(tmp_path / "none.wav"), str(tmp_path / "o.wav")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_failed_write_leaves_the_old_output_untouched(tmp_path, capsys, monkeypatch):
    out = tmp_path / "keep.wav"
    out.write_bytes(b"previous render")
    import pedal.tools.render as render

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(render, "process_array", boom)
    assert _run(["render", str(DEMO_DI), str(out)], capsys)[0] == 130
    assert out.read_bytes() == b"previous render"


def test_command_line_entry_point(tmp_path):
    exe = ROOT / ".venv" / "bin" / "pedal"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "pedal"]
    r = subprocess.run(cmd + ["render", str(DEMO_DI), str(tmp_path / "o.wav")],
                       capture_output=True, text=True, env={**os.environ})
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o.wav").exists()


def test_every_shared_model_renders_through_the_default_preset_under_full_scale(shared,
                                                                                tmp_path):
    """Loudness normalisation (stated or measured) brings every model near -18 dB, and the
    output limiter keeps the rest under full scale, bending only a little of the signal."""
    from pedal.errors import ConfigError
    from pedal.preset import load_preset
    from pedal.tools.render import render_file

    # NAM Core's example A2 (generated weights, not a capture) states a loudness 4.8 dB under
    # what it measures on the demo DI: normalised as NAM's plugin does, it lands in the limiter
    hot = {"namcore_A2.nam": 0.2}
    files = sorted(list((shared / "data/nam").glob("*.nam")) +
                   list((shared / "data/json").glob("*/*.json")) +
                   list((shared / "data/onnx").glob("*.onnx")))
    rendered = 0
    for f in files:
        preset = None
        for knobs in (None, [0.5], [0.5, 0.5]):
            try:
                preset = load_preset(None, model=str(f), knobs=knobs)
                break
            except ConfigError as exc:
                if "knob" not in str(exc):
                    raise
        assert preset is not None, f.name
        r = render_file("pedal/assets/demo_di.flac", tmp_path / "o.wav", preset)
        limited = r.meters["level"]["limited"] / (r.seconds * r.sample_rate)
        assert r.peak < 1.0, f"{f.name}: {20 * np.log10(r.peak):+.1f} dBFS"
        limit = hot.pop(f.name, 0.05)
        assert limited < limit, f"{f.name}: the limiter bent {100 * limited:.1f} %"
        assert np.sqrt(np.mean(sf.read(tmp_path / "o.wav")[0] ** 2)) > 0.01, f.name
        rendered += 1
    assert rendered == len(files) >= 31 and not hot


def test_a_closed_pipe_is_not_an_error(tmp_path):
    """`pedal render --list | head -1`: the reader leaves early; no traceback, exit 0."""
    r = subprocess.run(f"{sys.executable} -m pedal render --list | head -1", shell=True,
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 0 and "Traceback" not in r.stderr and "Error" not in r.stderr, \
        r.stderr


def test_info_rounds_and_says_what_is_assumed(tmp_path, capsys):
    import corpus

    assert main(["info", str(ROOT / "models" / "pedal_overdrive_lstm16.onnx"),
                 "--no-measure"]) == 0
    out = capsys.readouterr().out
    loud = re.search(r"^loudness: +(\S+)$", out, re.M).group(1)
    assert len(loud.lstrip("-").replace(".", "")) <= 4, loud  # 4 significant digits, not 17
    assert abs(float(loud) - (-5.562)) < 0.01, loud
    p = tmp_path / "g.json"
    p.write_bytes(corpus.files()["guitarml.json"])  # states neither rate nor loudness
    assert main(["info", str(p), "--no-measure"]) == 0
    out = capsys.readouterr().out
    assert "sample_rate:      44100 (not stated, assumed)" in out
    assert "loudness:         not stated (measured " in out
