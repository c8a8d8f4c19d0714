"""``pedal tuner`` live, reading a real PortAudio input stream (the no-sound-card testbed)."""

import os
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
    # Ctrl-C's default restored in the child: a suite started in the background (`cmd &`)
    # inherits SIGINT ignored, and Python then installs no KeyboardInterrupt at all
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "tuner", "--device", "pedal",
                             "--rate", "48000"], env=bed.env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    # start-up (imports, the numba cache) takes longer on a busy machine: the clock of the
    # test starts at the first needle, not at the launch
    os.set_blocking(proc.stdout.fileno(), False)
    head, deadline = b"", time.monotonic() + 60
    while b"\r" not in head and time.monotonic() < deadline and proc.poll() is None:
        head += proc.stdout.read() or b""
        time.sleep(0.05)
    assert b"\r" in head, (head, proc.poll())
    time.sleep(2.5)
    proc.send_signal(signal.SIGINT)
    os.set_blocking(proc.stdout.fileno(), True)
    out, err = proc.communicate(timeout=20)
    out = (head + out).decode()  # raw: the needle redraws with carriage returns
    assert proc.returncode == 0, err.decode()[-2000:]
    frames = [f for f in out.split("\r") if f.strip()]
    assert len(frames) >= 20, out  # refreshed 10+ times a second over the 2.5 s
    readings = [f for f in frames if "A2" in f]
    assert readings, frames[-3:]
    assert "+5.0 c" in readings[-1] and "110.32 Hz" in readings[-1]
