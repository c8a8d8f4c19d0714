"""A real PortAudio stream with no sound card (../shared/testbed/README.md): a JACK server with
its dummy driver is the clock; ALSA file plugins read the capture from a raw float32 file and
write every played sample to another. Device ``pedal`` is full duplex, float32 mono."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

ASOUND = """
pcm.pedal_jack {{
    type jack
    playback_ports {{ 0 system:playback_1 }}
    capture_ports  {{ 0 system:capture_1 }}
}}
pcm.pedal_cap {{
    type file
    slave.pcm "pedal_jack"
    file "/dev/null"
    infile "{infile}"
    format "raw"
}}
pcm.pedal_play {{
    type file
    slave.pcm "pedal_jack"
    file "{outfile}"
    format "raw"
    perm 0644
}}
pcm.pedal {{
    type asym
    playback.pcm "pedal_play"
    capture.pcm "pedal_cap"
}}
"""
PRIMING_FRAMES = 512  # silence the file plugin writes before the first played block


def _realtime_permitted() -> bool:
    """Whether this user may ask for SCHED_FIFO (root, or an rtprio limit), asked in a child."""
    probe = "import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(1))"
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


# Scheduled as on the pedal: JACK's clock real-time where permitted (else it would be the first
# thing a busy machine delays), and the daemon at the systemd unit's Nice=-10 (preexec below).
JACK_RT = [] if _realtime_permitted() else ["--no-realtime"]
UNIT_NICE = -10
# the audio thread's SCHED_FIFO priority, as the shipped config asks (refused: it says so)
UNIT_RTPRIO = int(yaml.safe_load((Path(__file__).parents[1] / "systemd" / "pedal.yaml")
                                 .read_text())["audio"]["realtime_priority"])


def as_the_unit() -> None:
    """preexec_fn for a daemon under test: the unit's niceness, when this user may set it."""
    try:
        os.nice(UNIT_NICE)
    except OSError:
        pass


@dataclass
class Testbed:
    infile: Path
    outfile: Path
    env: dict
    rate: int
    jack: subprocess.Popen | None = None

    def start_server(self):
        """Start the JACK dummy server (the clock of every stream on device ``pedal``)."""
        name = self.env["JACK_DEFAULT_SERVER"]
        self.jack = subprocess.Popen(["jackd", *JACK_RT, "-n", name, "-d", "dummy",
                                      "-r", str(self.rate), "-p", "256"], env=self.env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        subprocess.run(["jack_wait", "-w", "-t", "10", "-s", name], env=self.env, check=True,
                       capture_output=True, timeout=20)
        time.sleep(0.2)

    def stop_server(self):
        """Stop it (the device disappears for every stream on it)."""
        jack, self.jack = self.jack, None
        if jack is None:
            return
        os.killpg(jack.pid, signal.SIGTERM)
        try:
            jack.wait(5)
        except subprocess.TimeoutExpired:
            os.killpg(jack.pid, signal.SIGKILL)
            jack.wait(5)

    def output(self) -> np.ndarray:
        return np.fromfile(self.outfile, dtype="<f4") if self.outfile.exists() else \
            np.zeros(0, np.float32)


def missing() -> str | None:
    if not shutil.which("jackd"):
        return "jackd not installed (apt-get install jackd2 libasound2-plugins)"
    try:
        import pyaudio  # noqa: F401
    except ImportError:
        return "PyAudio not installed (pip install -e '.[audio]' after portaudio19-dev)"
    return None


def start(tmp_path: Path, signal_in: np.ndarray, rate: int = 48000):
    """Start the JACK dummy server; yields a Testbed; stops the server by its pid after."""
    why = missing()
    if why:
        pytest.skip(why)
    infile, outfile = tmp_path / "in.f32", tmp_path / "out.f32"
    np.asarray(signal_in, "<f4").tofile(infile)
    conf = tmp_path / "asound.conf"
    conf.write_text(ASOUND.format(infile=infile, outfile=outfile))
    # the kernels as the service runs them: tests/conftest.py's checked mode costs 10-25 us
    # per kernel call (measured), 5-8 % of a 64-sample block, and these tests time the blocks
    env = dict(os.environ, ALSA_CONFIG_PATH=f"/usr/share/alsa/alsa.conf:{conf}",
               JACK_NO_AUDIO_RESERVATION="1", JACK_DEFAULT_SERVER=f"pedal{os.getpid()}",
               PEDAL_KERNELS="aot")
    tb = Testbed(infile, outfile, env, rate)
    try:
        tb.start_server()
        yield tb
    finally:
        tb.stop_server()
