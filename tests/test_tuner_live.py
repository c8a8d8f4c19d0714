"""``pedal tuner`` live, reading a real PortAudio input stream (the no-sound-card testbed)."""

import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import testbed


@pytest.fixture
def bed(tmp_path):
    sr = 48000
    t = np.arange(4 * sr) / sr
    tone = 0.3 * np.sin(2 * np.pi * 110.0 * 2 ** (5 / 1200) * t)  # A2, 5 cents sharp
    tone[: sr // 4] = 0.0
    yield from testbed.start(tmp_path, tone.astype(np.float32), sr)


def test_live_needle_from_a_portaudio_input(bed):
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "tuner", "--device", "pedal",
                             "--rate", "48000"], env=bed.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    out = out.decode()  # raw: the needle redraws with carriage returns
    assert proc.returncode == 0, err.decode()[-2000:]
    frames = [f for f in out.split("\r") if f.strip()]
    assert len(frames) >= 20, out  # refreshed 10+ times a second
    readings = [f for f in frames if "A2" in f]
    assert readings, frames[-3:]
    assert "+5.0 c" in readings[-1] and "110.32 Hz" in readings[-1]
