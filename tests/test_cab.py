"""Cabinet IR convolution against scipy.signal.fftconvolve, and IR files of every kind."""

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from conftest import chunked
from pedal.dsp import CabinetIR, ProcessSpec
from pedal.errors import IRError
from pedal.audio.ir import load_ir

SR = 48000


@pytest.mark.parametrize("length", [1, 2, 63, 64, 65, 1000, 4097, 8192, 20000])
@pytest.mark.parametrize("block", [1, 5, 64, 100, 256, 512])
def test_convolution_equals_fftconvolve(length, block):
    r = np.random.default_rng(length * 1000 + block)
    taps = r.standard_normal(length) * np.exp(-np.arange(length) / max(1, length / 5))
    x = r.standard_normal(3 * max(length, 2048) if block > 1 else 4000).astype(np.float32)
    cab = CabinetIR(taps, SR)
    cab.prepare(ProcessSpec(SR, block))
    sizes = [block] if block < 5 else r.integers(1, block + 1, 64).tolist()
    y = chunked(cab, x, sizes)
    ref = signal.fftconvolve(x.astype(np.float64), cab.taps.astype(np.float64))[: len(x)]
    assert np.max(np.abs(y - ref)) <= 1e-5 * np.max(np.abs(ref))


def test_level_db_scales_the_filter():
    cab = CabinetIR(np.array([1.0, 0.5]), SR, level_db=-6.0)
    cab.prepare(ProcessSpec(SR, 16))
    y = chunked(cab, np.array([1, 0, 0], np.float32), [3])
    np.testing.assert_allclose(y, 10 ** (-6 / 20) * np.array([1, 0.5, 0]), rtol=1e-6)


def _shared_irs(shared):
    return sorted((shared / "data" / "ir").rglob("*.wav"))


def test_every_shared_ir_loads_and_convolves(shared):
    files = _shared_irs(shared)
    assert len(files) >= 9
    x = (np.random.default_rng(0).standard_normal(20000) * 0.3).astype(np.float32)
    for path in files:
        info = sf.info(str(path))
        ir = load_ir(path, SR)
        assert ir.sample_rate == SR
        assert np.sum(ir.taps.astype(np.float64) ** 2) == pytest.approx(1.0, rel=1e-5)
        assert any("mixed to mono" in n for n in ir.notices) == (info.channels > 1)
        assert any("resampled" in n for n in ir.notices) == (info.samplerate != SR)
        expected_len = round(info.frames * SR / info.samplerate)
        assert abs(len(ir.taps) - expected_len) <= 1
        cab = CabinetIR(ir)
        cab.prepare(ProcessSpec(SR, 128))
        y = chunked(cab, x, [128])
        ref = signal.fftconvolve(x.astype(np.float64), ir.taps.astype(np.float64))[: len(x)]
        assert np.max(np.abs(y - ref)) <= 1e-5 * np.max(np.abs(ref)), path.name


def test_ir_mono_mixdown_and_resampling_values(tmp_path):
    left = np.zeros(480)
    left[0] = 1.0
    right = np.zeros(480)
    right[10] = 0.5
    p = tmp_path / "st.wav"
    sf.write(p, np.stack([left, right], 1), 48000, subtype="PCM_24")
    ir = load_ir(p, 48000, normalize="none")
    assert ir.taps[0] == pytest.approx(0.5, abs=1e-6)
    assert ir.taps[10] == pytest.approx(0.25, abs=1e-6)
    p2 = tmp_path / "96k.wav"
    sine = np.sin(2 * np.pi * 1000 * np.arange(9600) / 96000) * 0.5
    sf.write(p2, sine, 96000, subtype="FLOAT")
    ir2 = load_ir(p2, 48000, normalize="none")
    ref = np.sin(2 * np.pi * 1000 * np.arange(4800) / 48000) * 0.5
    assert np.max(np.abs(ir2.taps[200:-200] - ref[200:-200])) < 1e-3


def test_trim_silence_only_when_asked(tmp_path):
    h = np.zeros(1000)
    h[100] = 1.0
    h[101] = -0.5
    p = tmp_path / "late.wav"
    sf.write(p, h, SR, subtype="FLOAT")
    assert np.argmax(np.abs(load_ir(p, SR).taps)) == 100
    trimmed = load_ir(p, SR, trim_silence=True)
    assert np.argmax(np.abs(trimmed.taps)) == 0 and len(trimmed.taps) == 900


@pytest.mark.parametrize("case,message", [
    ("missing", "impulse response not found"),
    ("empty", "is empty (0 bytes)"),
    ("text", "not a readable impulse response"),
    ("truncated", "not a readable impulse response"),
    ("no_samples", "has no samples"),
    ("nan", "NaN or infinite"),
    ("zeros", "all zeros"),
    ("too_long", "over the limit of 10 s"),
])
def test_bad_ir_files_name_the_file(tmp_path, case, message):
    p = tmp_path / f"{case}.wav"
    if case == "empty":
        p.write_bytes(b"")
    elif case == "text":
        p.write_text("this is not audio\n" * 20)
    elif case == "truncated":
        sf.write(p, np.ones(1000) * 0.1, SR, subtype="PCM_16")
        p.write_bytes(p.read_bytes()[:30])
    elif case == "no_samples":
        sf.write(p, np.zeros(0), SR, subtype="PCM_16")
    elif case == "nan":
        h = np.ones(100)
        h[50] = np.nan
        sf.write(p, h, SR, subtype="FLOAT")
    elif case == "zeros":
        sf.write(p, np.zeros(100), SR, subtype="PCM_16")
    elif case == "too_long":
        sf.write(p, np.ones(11 * 8000) * 0.01, 8000, subtype="PCM_16")
    with pytest.raises(IRError) as err:
        load_ir(p, SR)
    assert str(p) in str(err.value) and message in str(err.value)
    assert "\n" not in str(err.value)
