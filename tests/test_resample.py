"""The resampler pair around a model at another rate (dsp/resample.py): its response against the
exactly delayed input, its passband and stopband, against soxr (VHQ) on the same signals, its
latency, and a 44.1 kHz model in a 48 kHz chain against the same model run at its own rate."""

from __future__ import annotations

import numpy as np
import pytest

import corpus
from pedal.dsp import AmpModel, ProcessSpec
from pedal.dsp.resample import SLACK, ResampledEngine, Resampler
from pedal.errors import ModelError
from pedal.models import load_model_bytes

SR = 48000
soxr = pytest.importorskip("soxr")


class Identity:
    """An engine that passes the audio through (gains applied)."""
    knobs: list = []

    def set_knobs(self, knobs):
        pass

    def prepare(self, n):
        pass

    def reset(self):
        pass

    def process(self, x, in_gain=1.0, out_gain=1.0):
        x *= in_gain * out_gain


class Tanh(Identity):
    """A hard-driven memoryless distortion: harmonics far above any Nyquist frequency."""

    def process(self, x, in_gain=1.0, out_gain=1.0):
        np.tanh(8.0 * x, out=x)


def _stream(e, x, sizes=(64,)):
    y = np.array(x, np.float32)
    i, k = 0, 0
    while i < len(y):
        n = sizes[k % len(sizes)]
        e.process(y[i:i + n])
        i, k = i + n, k + 1
    return y


def _one_way(rate_in, rate_out, x):
    r = Resampler(rate_in, rate_out, 256)
    out = np.zeros(len(x) * rate_out // rate_in + 1024, np.float32)
    got = 0
    for i in range(0, len(x), 256):
        got += r.process(np.ascontiguousarray(x[i:i + 256], np.float32), out[got:])
    return out[:got], r


@pytest.mark.parametrize("model_rate", [44100, 96000, 32000])
def test_round_trip_is_the_input_delayed(model_rate):
    e = ResampledEngine(Identity(), model_rate, SR)
    e.prepare(64)
    d = (e._up.delay_s + e._down.delay_s) * SR + SLACK  # the exact (fractional) delay
    assert abs(e.latency - d) <= 0.5
    t = np.arange(SR) / SR
    top = 0.86 * min(model_rate, SR) / 2
    for f in (100, 1000, 5000, 10000, top * 0.98):
        x = 0.5 * np.sin(2 * np.pi * f * t)
        y = _stream(e, x, sizes=[64, 1, 63, 17, 64])
        ref = 0.5 * np.sin(2 * np.pi * f * (t - d / SR))
        err_db = 20 * np.log10(np.max(np.abs(y[2000:] - ref[2000:])) / 0.5)
        limit = -80 if f <= 10000 else -60  # at the passband's edge: ripple, still 0.01 dB
        assert err_db < limit, f"{model_rate} Hz model, {f:.0f} Hz: {err_db:.1f} dB"
        e.reset()
    assert e.underruns == 0


def test_passband_is_flat_and_the_stopband_deep_against_soxr():
    """48 -> 44.1 kHz: flat to 0.1 dB up to 19 kHz; a tone above 22.05 kHz (it would alias
    into the band) at least 80 dB down; soxr VHQ measured the same way."""
    t = np.arange(2 * SR) / SR
    for f in (50, 1000, 8000, 15000, 18900):
        x = np.sin(2 * np.pi * f * t)
        ours, _ = _one_way(SR, 44100, x)
        theirs = soxr.resample(x, SR, 44100, quality="VHQ")
        for y in (ours, theirs):
            rms = np.sqrt(np.mean(np.square(y[8000:-8000], dtype=np.float64)) * 2)
            assert abs(20 * np.log10(rms)) < 0.1, f"{f} Hz: {20 * np.log10(rms):.3f} dB"
    x = np.sin(2 * np.pi * 23000 * t)
    ours, _ = _one_way(SR, 44100, x)
    theirs = soxr.resample(x, SR, 44100, quality="VHQ")
    ours_db = 20 * np.log10(np.sqrt(2 * np.mean(np.square(ours[8000:-8000]))))
    theirs_db = 20 * np.log10(np.sqrt(2 * np.mean(np.square(theirs[8000:-8000]))) + 1e-12)
    assert ours_db < -80, ours_db  # measured -83.5 dB; soxr VHQ -194 dB
    print(f"\n23 kHz tone after 48->44.1 kHz: ours {ours_db:.1f} dB, soxr VHQ {theirs_db:.1f} dB")


def _nonharmonic_db(y, f0, sr):
    """Energy not on a harmonic of f0, relative to the whole, in dB (aliasing shows here)."""
    y = y * np.hanning(len(y))
    spec = np.abs(np.fft.rfft(y)) ** 2
    freqs = np.fft.rfftfreq(len(y), 1 / sr)
    harm = np.zeros(len(spec), bool)
    for k in range(1, int(sr / 2 / f0) + 1):
        harm |= np.abs(freqs - k * f0) < 30
    return 10 * np.log10(spec[~harm].sum() / spec.sum())


def test_a_distorting_model_aliases_no_more_than_with_soxr():
    """A tone through a hard distortion at 44.1 kHz inside a 48 kHz chain: what is not a
    harmonic of the tone is aliasing. Ours against soxr VHQ both ways, same distortion."""
    f0 = 1234.5
    t = np.arange(SR) / SR
    x = (0.5 * np.sin(2 * np.pi * f0 * t)).astype(np.float32)
    e = ResampledEngine(Tanh(), 44100, SR)
    e.prepare(64)
    ours = _stream(e, x)[4000:]
    mid = np.tanh(8.0 * soxr.resample(x, SR, 44100, quality="VHQ"))
    theirs = soxr.resample(mid, 44100, SR, quality="VHQ")[4000:len(ours) + 4000]
    a, b = _nonharmonic_db(ours, f0, SR), _nonharmonic_db(theirs, f0, SR)
    print(f"\nnon-harmonic energy through tanh(8x) at 44.1 kHz: ours {a:.1f} dB, soxr {b:.1f} dB")
    assert a < b + 3.0, (a, b)  # the model's own aliasing dominates both


def test_a_44k_model_in_a_48k_chain_plays_as_at_its_own_rate():
    """The same GuitarML model (44.1 kHz) in a 48 kHz chain, against soxr to 44.1 kHz, the
    model at its rate, soxr back: the same guitar, to within the resamplers' differences."""
    from pedal.synth.guitar import guitar_riff

    data = corpus.files()["guitarml.json"]
    model = load_model_bytes(data, "guitarml.json")
    assert model.sample_rate == 44100
    x = guitar_riff(SR)[:2 * SR].astype(np.float32)
    amp = AmpModel(model)
    amp.prepare(ProcessSpec(SR, 64))
    assert amp.resampled and "resampled from 48000 Hz" in amp.describe()
    y = _stream(amp, x)
    ref_engine = load_model_bytes(data, "guitarml.json").make_engine()
    ref_engine.prepare(256)
    mid = soxr.resample(x, SR, 44100, quality="VHQ").astype(np.float32)
    from pedal.dsp.run import run_blocks

    ref = soxr.resample(run_blocks(ref_engine, mid, 256), 44100, SR, quality="VHQ")
    lat = amp.latency
    a, b = y[lat + 2000:], ref[2000:len(y) - lat]
    n = min(len(a), len(b))
    rel = np.sqrt(np.mean((a[:n] - b[:n]) ** 2) / np.mean(b[:n] ** 2))
    assert rel < 0.02, f"{100 * rel:.2f} % RMS difference"  # measured about 0.3 %


def test_a_ratio_the_resampler_cannot_make_is_refused_naming_both_rates():
    model = load_model_bytes(corpus.files()["guitarml.json"], "odd.json")
    model.sample_rate = 47999
    with pytest.raises(ModelError, match="cannot resample 48000 Hz to 47999 Hz"):
        AmpModel(model).prepare(ProcessSpec(SR, 64))
