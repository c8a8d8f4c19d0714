"""The real daemon process through a real PortAudio stream (JACK dummy clock + ALSA file
plugins, tests/testbed.py): what comes out is the chain's output, sample for sample, while
mock buttons are pressed and model files are dropped in; the device can vanish and return."""

import subprocess
import sys
import time

import numpy as np
import pytest

import testbed
from daemon_helpers import drop_model, wait_for, write_config
from pedal import paths
from pedal.service.socket import ControlError, request
from pedal.service.player import Player
from pedal.preset import load_preset
from pedal.synth.guitar import guitar_riff

pytest.importorskip("gpiozero")
SR, N = 48000, 64
ULP_TOL = 1e-6  # the ahead-of-time build against this process's JIT (tests/test_aot.py)


# a starved run is played again, after a pause, up to ATTEMPTS times: the fresh-clone CI at
# f28b286 had all 3 runs of the 44.1 kHz model starved in one minute (4, 20 and 12 xruns, worst
# block 2.0-2.9x its budget at 5 % average load, SCHED_FIFO), and the same test passed 3 of 3
# a few minutes later on the same idle machine: this VM's host takes the CPU in bursts
ATTEMPTS = 5
PAUSE_S = 3.0


def _riff():
    return guitar_riff(SR)[: SR * 9].astype(np.float32)


@pytest.fixture
def bed(tmp_path):
    yield from testbed.start(tmp_path, _riff(), SR)


def _played(tmp_path, x, rate, play):
    """Run ``play(folder, bed)`` (start a daemon, play, stop it; it returns the daemon's last
    status first) on a fresh testbed until a run reports no xruns, and return
    ``(folder, bed, status, *the rest)``. The output equals the chain sample for sample only
    if no block was lost, and a host that starves even a SCHED_FIFO audio thread (a busy
    virtual machine) makes xruns the daemon rightly reports: such a run is played again after
    a pause, up to ATTEMPTS times. Every run starved fails the test, with what each one reported."""
    seen = []
    for i in range(ATTEMPTS):
        folder = tmp_path / f"run{i}"
        folder.mkdir()
        gen = testbed.start(folder, x, rate)
        bed = next(gen)
        try:
            st, *rest = play(folder, bed)
        finally:
            next(gen, None)
        if st["xruns"] == 0:
            return (folder, bed, st, *rest)
        seen.append({k: st[k] for k in ("xruns", "overruns", "xrun_kinds", "load", "realtime")})
        time.sleep(PAUSE_S)
    pytest.fail(f"every one of {ATTEMPTS} runs had xruns: {seen}\n"
                + (folder / "daemon.log").read_text())


def _daemon(tmp_path, bed, sound=None, **audio):
    cfg = write_config(tmp_path, audio={"backend": "pyaudio", "device": "pedal", "block": N,
                                        "restart_after_s": 1.0,
                                        "realtime_priority": testbed.UNIT_RTPRIO, **audio},
                       sound=sound or {})
    log = open(tmp_path / "daemon.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "run", "--config", str(cfg)],
                            env=bed.env, stdout=log, stderr=subprocess.STDOUT,
                            preexec_fn=testbed.as_the_unit)
    sock = tmp_path / "pedal.sock"
    wait_for(lambda: _status(sock) or proc.poll() is not None, timeout=60, what="daemon up")
    assert proc.poll() is None, (tmp_path / "daemon.log").read_text()
    return proc, sock


def _status(sock):
    try:
        return request(sock, "status")["status"]
    except ControlError:
        return None


def _stop(proc, sock, tmp_path):
    try:
        request(sock, "stop")
    except ControlError:
        proc.terminate()
    code = proc.wait(30)
    assert code == 0, (tmp_path / "daemon.log").read_text()


def test_daemon_output_is_the_chain_output_through_portaudio(tmp_path):
    x = _riff()

    def play(tmp_path, bed):
        proc, sock = _daemon(tmp_path, bed)
        try:
            b1 = wait_for(lambda: (b := _status(sock)["blocks"]) > 1500 and b, what="2 s played")
            request(sock, "pin", [15, "press"])   # the footswitch on the mock pins: bypass
            request(sock, "pin", [15, "release"])
            wait_for(lambda: _status(sock)["bypass"], what="bypass")
            time.sleep(0.2)
            b2 = _status(sock)["blocks"]
            time.sleep(0.8)
            b3 = _status(sock)["blocks"]
            request(sock, "pin", [15, "press"])
            request(sock, "pin", [15, "release"])
            drop_model(tmp_path / "models", "z.onnx")  # over "ssh": a temporary name, then mv
            wait_for(lambda: _status(sock)["models"] == ["z.onnx"], what="z.onnx in the cycle")
            swaps = _status(sock)["swaps"]
            request(sock, "pin", [14, "press"])   # next model
            request(sock, "pin", [14, "release"])
            st = wait_for(lambda: (s := _status(sock))["model"] == "z.onnx" and
                          s["swaps"] == swaps + 1 and s, what="the next model playing")
            assert st["state"] == "playing"
        finally:
            _stop(proc, sock, tmp_path)
        return st, b1, b2, b3

    folder, bed, st, b1, b2, b3 = _played(tmp_path, x, SR, play)
    assert st["realtime"].startswith(("SCHED_FIFO", "not permitted")), st["realtime"]
    y = bed.output()
    # the reference: the preset's chain run block by block, as the daemon prepared it
    ref = Player(SR, N)
    ref.offer(ref.prepare_chain(load_preset(folder / "presets" / "default.yaml")
                                .build_chain()))
    want = np.zeros_like(x)
    for i in range(0, len(x), N):
        ref.process(x[i:i + N], want[i:i + N])
    got = y[testbed.PRIMING_FRAMES:]
    k = b1 * N  # everything played before the footswitch
    assert np.abs(want[:k]).max() > 0.05
    # the daemon runs the ahead-of-time kernels, this process the JIT: the cabinet's
    # fastmath sums round differently in the last bit (ULP_TOL); a lost, repeated or late
    # block would differ by the signal itself
    assert np.abs(got[:k] - want[:k]).max() <= ULP_TOL, (
        f"output differs from the chain (max {np.abs(got[:k] - want[:k]).max():.3g})")
    # in bypass (after the 20 ms fade) the output is the input itself
    assert np.array_equal(got[b2 * N:b3 * N], x[b2 * N:b3 * N])


def test_audio_device_vanishes_and_comes_back(tmp_path, bed):
    proc, sock = _daemon(tmp_path, bed)
    try:
        wait_for(lambda: _status(sock)["blocks"] > 200, what="audio")
        bed.stop_server()
        wait_for(lambda: _status(sock)["state"] == "no audio", timeout=20, what="audio gone")
        st = _status(sock)
        assert "audio" in st["last_error"]
        bed.start_server()
        st = wait_for(lambda: (s := _status(sock))["state"] == "playing" and s, timeout=30,
                      what="audio back")
        b = st["blocks"]
        wait_for(lambda: _status(sock)["blocks"] > b + 200, what="blocks advancing again")
    finally:
        _stop(proc, sock, tmp_path)
    assert "audio device is back" in (tmp_path / "daemon.log").read_text()


def test_a_44k_model_dropped_into_a_48k_pedal_plays(tmp_path):
    """A GuitarML capture (44.1 kHz) dropped into the 48 kHz pedal joins the cycle and plays,
    resampled, through the real PortAudio stream: loud, finite, and no xruns."""
    import corpus

    def play(tmp_path, bed):
        proc, sock = _daemon(tmp_path, bed)
        try:
            (tmp_path / "models" / ".g.json.part").write_bytes(corpus.files()["guitarml.json"])
            (tmp_path / "models" / ".g.json.part").rename(tmp_path / "models" / "g.json")
            wait_for(lambda: "g.json" in _status(sock)["models"], what="g.json in the cycle")
            assert request(sock, "model", ["g.json"])["ok"]
            st = wait_for(lambda: (s := _status(sock))["model"] == "g.json" and s, what="g.json")
            assert st["resampled"] and st["model_rate"] == 44100 and st["sample_rate"] == SR
            assert st["latency_ms"] > 1000 * N / SR + 1.5  # the block and the resamplers
            b0 = st["blocks"]
            b1 = wait_for(lambda: (b := _status(sock)["blocks"]) > b0 + 800 and b, what="1 s")
            st = _status(sock)
        finally:
            _stop(proc, sock, tmp_path)
        return st, b0, b1

    folder, bed, st, b0, b1 = _played(tmp_path, _riff(), SR, play)
    y = bed.output()[testbed.PRIMING_FRAMES:]
    seg = y[(b0 + 100) * N:b1 * N]
    assert np.all(np.isfinite(seg)) and np.sqrt(np.mean(seg ** 2)) > 0.01
    assert st["state"] == "playing" and st["nonfinite_samples"] == 0, (
        (folder / "daemon.log").read_text())


@pytest.mark.parametrize("server_rate", [44100, 48000])
def test_sample_rate_model_through_portaudio(tmp_path, server_rate):
    """audio.sample_rate: model with a 44.1 kHz capture as the preset's model. A device that
    runs at 44100 Hz is opened there: nothing resampled, and the output is the chain's at
    44100 Hz sample for sample. One that runs only at 48000 Hz (JACK's rate) is asked first,
    kept, and the model resampled."""
    import corpus
    import yaml

    x = guitar_riff(44100)[: 44100 * 6].astype(np.float32)

    def play(tmp_path, bed):
        g = tmp_path / "g.json"
        g.write_bytes(corpus.files()["guitarml.json"])
        doc = yaml.safe_load(paths.DEFAULT_PRESET.read_text())
        doc["amp"].update(model=str(g), knobs=[])
        (tmp_path / "presets").mkdir()
        (tmp_path / "presets" / "g.yaml").write_text(yaml.safe_dump(doc))
        proc, sock = _daemon(tmp_path, bed, sound={"preset": "g"}, sample_rate="model")
        try:
            st = wait_for(lambda: (s := _status(sock))["blocks"] > 2000 and s, what="blocks")
        finally:
            _stop(proc, sock, tmp_path)
        return (st,)

    folder, bed, st = _played(tmp_path, x, server_rate, play)
    log = (folder / "daemon.log").read_text()
    assert st["model_rate"] == 44100 and st["state"] == "playing", log
    if server_rate == 48000:
        assert (st["sample_rate"], st["resampled"]) == (48000, True), log
        assert "does not run at 44100 Hz" in log and "resampled" in log
        return
    assert (st["sample_rate"], st["resampled"]) == (44100, False), log
    assert st["latency_ms"] == pytest.approx(1000 * N / 44100, abs=0.01)
    ref = Player(44100, N)
    ref.offer(ref.prepare_chain(load_preset(folder / "presets" / "g.yaml").build_chain()))
    want = np.zeros_like(x)
    for i in range(0, len(x), N):
        ref.process(x[i:i + N], want[i:i + N])
    got = bed.output()[testbed.PRIMING_FRAMES:]
    k = min(len(got), st["blocks"] * N, len(x))
    assert k > 44100 and np.abs(want[:k]).max() > 0.05
    assert np.abs(got[:k] - want[:k]).max() <= ULP_TOL, np.abs(got[:k] - want[:k]).max()
