"""Noise gate and output level: thresholds, hysteresis, hold, click-free ramps, dB, DC."""

import numpy as np
import pytest

from conftest import chunked
from pedal.dsp import NoiseGate, OutputLevel, ProcessSpec

SR = 48000


def _gain_trace(gate, levels_db, seconds_each=0.25):
    """Feed constant-amplitude DC steps (the gate sees |x|): output / input is the gain."""
    x = np.concatenate([np.full(int(SR * seconds_each), 10 ** (db / 20), np.float32)
                        for db in levels_db])
    y = chunked(gate, x, [64])
    return y / x


def _gate(**kw):
    g = NoiseGate(**{"threshold_db": -40, "hysteresis_db": 6, "attack_ms": 1, "hold_ms": 20,
                     "release_ms": 30, "range_db": -80, **kw})
    g.prepare(ProcessSpec(SR, 64))
    return g


def test_opens_above_threshold_and_stays_open_inside_hysteresis():
    g = _gain_trace(_gate(), [-50, -35, -43, -50])
    q = int(SR * 0.25)
    assert g[q - 1] < 1e-3                       # -50 dB: closed
    assert g[2 * q - 1] == pytest.approx(1, abs=1e-4)  # -35 dB: open
    assert g[3 * q - 1] == pytest.approx(1, abs=1e-4)  # -43 dB: inside the 6 dB hysteresis
    assert g[4 * q - 1] < 1e-3                   # -50 dB: closed again


def test_hold_time_then_release_ramp():
    g = _gain_trace(_gate(hold_ms=20, release_ms=30), [-30, -60])
    q = int(SR * 0.25)
    # the peak detector decays (10 ms time constant) from -30 dB to the -46 dB close
    # threshold first, then the hold runs, then the release ramp
    below = int(np.ceil(0.010 * SR * np.log(10 ** (16 / 20))))
    closes = q + below + int(SR * 0.020)
    assert np.all(g[q:closes - 2] > 0.999)
    t63 = np.argmax(g[closes:] < np.exp(-1)) / SR * 1000
    assert t63 == pytest.approx(30, abs=0.5)


def test_no_clicks_gain_moves_at_most_one_attack_step():
    g = _gain_trace(_gate(attack_ms=2), [-80, -20, -80, -20])
    step = np.max(np.abs(np.diff(g)))
    coef = 1 - np.exp(-1 / (0.002 * SR))
    assert step <= coef + 1e-6


@pytest.mark.parametrize("db", [-12.0, 0.0, 6.0])
def test_level_reaches_its_gain(db):
    lvl = OutputLevel(db, dc_block=False)
    lvl.prepare(ProcessSpec(SR, 128))
    x = np.full(SR // 2, 0.25, np.float32)
    y = chunked(lvl, x, [128])
    assert y[-1] / 0.25 == pytest.approx(10 ** (db / 20), rel=1e-6)


def test_level_change_ramps_without_zipper():
    lvl = OutputLevel(0.0, dc_block=False)
    lvl.prepare(ProcessSpec(SR, 128))
    x = np.full(SR // 4, 0.5, np.float32)
    chunked(lvl, x[:1000], [128])
    lvl.level_db = -20.0
    y = chunked(lvl, x, [128]) / 0.5
    assert np.all(np.diff(y) <= 0)                      # monotonic, no jumps
    assert np.max(np.abs(np.diff(y))) < 0.01
    assert y[-1] == pytest.approx(0.1, rel=1e-4)


def test_dc_blocker_removes_offset_keeps_audio():
    lvl = OutputLevel(0.0, dc_block=True)
    lvl.prepare(ProcessSpec(SR, 64))
    t = np.arange(SR * 2) / SR
    x = (0.3 + 0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    y = chunked(lvl, x, [64])
    tail = y[SR:]
    assert abs(np.mean(tail)) < 1e-3
    assert np.std(tail) == pytest.approx(0.2 / np.sqrt(2), rel=1e-3)


def test_parameter_ranges_checked_when_set():
    with pytest.raises(ValueError, match="threshold_db: must be -120..0 dB, got 5"):
        NoiseGate(threshold_db=5)
    with pytest.raises(ValueError, match="level_db"):
        OutputLevel(level_db=float("nan"))
