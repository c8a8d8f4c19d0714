#!/usr/bin/env python3
"""The daemon's real-time benchmark (issue 5): `pedal run` at block 64 / 48 kHz through the
no-sound-card PortAudio testbed (tests/testbed.py), the default preset, for --seconds, while a
busy loop keeps another core loaded and the model is swapped every --swap-every seconds.
Prints xruns (device flags), late blocks, the callback's load, start-up times, and swaps.

    .venv/bin/python scripts/bench_daemon.py [--seconds 300] [--swap-every 10] [--json]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))


def main() -> int:
    import testbed
    from daemon_helpers import BUNDLED, write_config
    from pedal.service.socket import ControlError, request
    from pedal.synth.guitar import guitar_riff

    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--swap-every", type=float, default=10)
    ap.add_argument("--no-load", action="store_true", help="leave the other core idle")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pedal-bench-daemon-"))
    riff = guitar_riff(48000).astype(np.float32)
    x = np.tile(riff, int(a.seconds / (len(riff) / 48000)) + 2)
    gen = testbed.start(tmp, x)
    bed = next(gen)
    (tmp / "models").mkdir()
    for name in ("a.onnx", "b.onnx"):
        shutil.copy(BUNDLED, tmp / "models" / name)
    cfg = write_config(tmp, audio={"backend": "pyaudio", "device": "pedal", "block": 64,
                                   "realtime_priority": 70},
                       controls={"enabled": False})
    busy = None if a.no_load else subprocess.Popen(
        [sys.executable, "-c", "while True: pass"])
    t0 = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "run", "--config", str(cfg)],
                            env=bed.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sock = tmp / "pedal.sock"

    def status():
        try:
            return request(sock, "status")["status"]
        except ControlError:
            return None

    try:
        while status() is None or not status()["models"]:
            time.sleep(0.05)
        st0 = status()
        swaps = []
        end = time.monotonic() + a.seconds
        next_swap = time.monotonic() + a.swap_every
        peak = 0.0
        while time.monotonic() < end:
            time.sleep(0.5)
            st = status()
            peak = max(peak, st["load"]["max_10s"])
            if time.monotonic() >= next_swap:
                before = st["xruns"] + st["overruns"]
                request(sock, "next")
                time.sleep(0.5)
                st = status()
                swaps.append(st["xruns"] + st["overruns"] - before)
                next_swap += a.swap_every
        st = status()
    finally:
        proc.terminate()
        proc.wait(30)
        if busy:
            busy.kill()
        try:
            next(gen)
        except StopIteration:
            pass
    res = {"seconds": a.seconds, "block": 64, "sample_rate": 48000,
           "other_core_busy": not a.no_load,
           "xruns": st["xruns"], "xrun_kinds": st["xrun_kinds"], "late_blocks": st["overruns"],
           "blocks": st["blocks"], "load_avg": st["load"]["avg"], "load_peak": peak,
           "realtime": st["realtime"], "ready_s": st0["ready_s"],
           "first_block_s": st0["first_block_s"], "swaps": len(swaps),
           "xruns_during_swaps": sum(swaps), "wall_s": round(time.monotonic() - t0, 1)}
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:20s} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
