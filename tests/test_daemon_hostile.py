"""Every hostile file of issue 14 dropped into a playing daemon (the real process, fake audio,
systemd's notify protocol on a socket of the test's): it keeps playing, answers status within a
second the whole time, keeps pinging its watchdog, skips each file with one line naming it,
and a saved state naming a bad file starts on the next good sound."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

import pytest

import hostile
from daemon_helpers import wait_for, write_config
from pedal.service.socket import ControlError, request

pytest.importorskip("onnx")


class Watchdog:
    """systemd's side of the notify socket: the time of every WATCHDOG=1."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.settimeout(0.2)
        self.pings, self.ready = [], None
        self._stop = False
        self.thread = threading.Thread(target=self._listen, daemon=True)
        self.thread.start()

    def _listen(self):
        while not self._stop:
            try:
                msg = self.sock.recv(512)
            except socket.timeout:
                continue
            except OSError:
                return
            now = time.monotonic()
            if msg.startswith(b"READY=1"):
                self.ready = now
            if b"WATCHDOG=1" in msg:
                self.pings.append(now)

    def close(self):
        self._stop = True
        self.thread.join(2)
        self.sock.close()
        self.path.unlink(missing_ok=True)


def _start(tmp_path, env_extra):
    cfg = write_config(tmp_path, sound={"settle_s": 0.2, "scan_interval_s": 0.1},
                       controls={"enabled": False}, loader={"timeout_s": 10})
    wd = Watchdog(tmp_path / "notify")
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="2000000",
               **env_extra)
    log = open(tmp_path / "daemon.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "run", "--config", str(cfg)],
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    sock = tmp_path / "pedal.sock"
    wait_for(lambda: wd.ready or proc.poll() is not None, timeout=60, what="READY")
    assert proc.poll() is None, (tmp_path / "daemon.log").read_text()
    return proc, sock, wd


def _status(sock):
    t = time.monotonic()
    st = request(sock, "status", timeout=5)["status"]
    return st, time.monotonic() - t


def test_a_playing_daemon_survives_every_hostile_file(tmp_path):
    files = hostile.all_files()
    proc, sock, wd = _start(tmp_path, {})
    try:
        st, _ = _status(sock)
        assert st["state"] == "playing"
        models = tmp_path / "models"
        for name, (data, _) in files.items():  # as over ssh: a hidden name, then a rename
            tmp = models / f".{name}.part"
            tmp.write_bytes(data)
            tmp.rename(models / name)
        bad = {n for n, (_, want) in files.items() if want is not None}
        slowest, blocks, t_end = 0.0, [], time.monotonic() + 120
        while time.monotonic() < t_end:
            st, took = _status(sock)
            slowest = max(slowest, took)
            blocks.append(st["blocks"])
            assert proc.poll() is None, "the daemon died"
            assert st["state"] == "playing", st
            if bad <= set(st["models_rejected"]) and not st["models_pending"]:
                break
            time.sleep(0.1)
        rejected = st["models_rejected"]
        assert bad <= set(rejected), f"not rejected: {sorted(bad - set(rejected))}"
        for name in bad:
            why = rejected[name]
            assert "\n" not in why and why.startswith(str(models / name) + ": "), why
            assert files[name][1] in why, (name, why)
            assert "bug in the pedal" not in why, why
        assert "bom.nam" in st["models"]  # the one valid file among them joined the cycle
        assert slowest < 1.0, f"status took {slowest:.2f} s"
        assert blocks[-1] > blocks[0] + 100  # audio kept advancing
        gaps = [b - a for a, b in zip(wd.pings, wd.pings[1:])]
        assert len(wd.pings) > 5 and max(gaps) < 2.0, gaps  # WatchdogSec=2 never missed
        print(f"\nhostile files: {len(bad)} rejected in {len(blocks) * 0.1:.1f} s; slowest "
              f"status {1000 * slowest:.0f} ms; watchdog gap max {max(gaps):.2f} s; late "
              f"blocks {st['overruns']}; loader restarts {st['loader']['restarts']}")
        # the saved state now names a file that fails: the next start plays the preset's own
        # model and says why
        request(sock, "stop")
        proc.wait(30)
        state = tmp_path / "state" / "state.json"
        state.parent.mkdir(exist_ok=True)
        state.write_text(json.dumps({"version": 1, "preset": "default",
                                     "model": "ort_fails.onnx", "bypass": False}))
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
        wd.close()
    proc, sock, wd = _start(tmp_path, {})
    try:
        st, _ = _status(sock)
        assert st["state"] == "playing" and st["model"] == "pedal_overdrive_lstm16.onnx"
        assert "ort_fails.onnx" in (tmp_path / "daemon.log").read_text()
    finally:
        try:
            request(sock, "stop")
        except ControlError:
            proc.terminate()
        assert proc.wait(30) == 0
        wd.close()
