"""Parametric EQ against scipy: the RBJ formulas against scipy's own designs, the streaming
cascade against sosfilt, and the measured response against sosfreqz."""

import numpy as np
import pytest
from scipy import signal

from conftest import chunked
from pedal.dsp import Band, ParametricEQ, ProcessSpec
from pedal.dsp.eq import rbj_sos

SR = 48000


def _freqz(sos, f):
    return signal.sosfreqz(sos, worN=np.atleast_1d(f), fs=SR)[1]


@pytest.mark.parametrize("kind,fc", [("low_pass", 1000), ("high_pass", 100),
                                     ("low_pass", 9000), ("high_pass", 40)])
def test_butterworth_bands_equal_scipy_butter(kind, fc):
    ours = rbj_sos(Band(kind, fc, q=1 / np.sqrt(2)), SR)
    ref = signal.butter(2, fc, btype="low" if kind == "low_pass" else "high", fs=SR,
                        output="sos")[0]
    np.testing.assert_allclose(ours, ref, atol=1e-12)


@pytest.mark.parametrize("gain_db", [-12, -3, 3, 12])
def test_peak_band_analytic_facts(gain_db):
    sos = rbj_sos(Band("peak", 1000, gain_db, 2.0), SR)[None]
    h = _freqz(sos, [1000, 1e-3, SR / 2 - 1e-3])
    assert 20 * np.log10(abs(h[0])) == pytest.approx(gain_db, abs=1e-6)
    np.testing.assert_allclose(abs(h[1:]), 1.0, atol=1e-6)


@pytest.mark.parametrize("kind", ["low_shelf", "high_shelf"])
def test_shelf_analytic_facts(kind):
    sos = rbj_sos(Band(kind, 800, 9.0, 1 / np.sqrt(2)), SR)[None]
    lo, mid, hi = (20 * np.log10(abs(v)) for v in _freqz(sos, [1e-3, 800, SR / 2 - 1e-3]))
    shelf, flat = (lo, hi) if kind == "low_shelf" else (hi, lo)
    assert shelf == pytest.approx(9.0, abs=1e-3)
    assert flat == pytest.approx(0.0, abs=1e-3)
    assert mid == pytest.approx(4.5, abs=1e-6)  # half the gain at the corner


def _eq():
    eq = ParametricEQ([Band("high_pass", 40), Band("low_shelf", 120, 4, 0.8),
                       Band("peak", 900, -6, 3), Band("high_shelf", 5000, 5, 0.7),
                       Band("low_pass", 12000, 0.9)])
    return eq


@pytest.mark.parametrize("block", [1, 17, 64, 512])
def test_stream_equals_sosfilt(block):
    eq = _eq()
    eq.prepare(ProcessSpec(SR, block))
    x = (np.random.default_rng(0).standard_normal(20000) * 0.3).astype(np.float32)
    ref = signal.sosfilt(eq.sos(), x.astype(np.float64))
    y = chunked(eq, x, [block])
    assert np.max(np.abs(y - ref)) < 1e-5


def test_impulse_response_matches_sosfreqz_magnitude_and_phase():
    eq = _eq()
    eq.prepare(ProcessSpec(SR, 256))
    n = 1 << 16
    imp = np.zeros(n, np.float32)
    imp[0] = 1.0
    h = chunked(eq, imp, [256]).astype(np.float64)
    freqs = np.fft.rfftfreq(n, 1 / SR)
    measured = np.fft.rfft(h)
    ref = _freqz(eq.sos(), freqs)
    band = (freqs > 30) & (freqs < 20000)
    np.testing.assert_allclose(measured[band].real, ref[band].real, atol=1e-5)
    np.testing.assert_allclose(measured[band].imag, ref[band].imag, atol=1e-5)


def test_band_ranges_checked_when_set():
    with pytest.raises(ValueError, match="freq_hz: must be 20..20000 Hz, got 50000"):
        Band("peak", 50000, 0, 1)
    with pytest.raises(ValueError, match="type: must be one of"):
        Band("notch", 100)
