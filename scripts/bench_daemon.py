#!/usr/bin/env python3
"""The daemon's real-time benchmark: `pedal run` at block 64 / 48 kHz through the
no-sound-card PortAudio testbed (tests/testbed.py) for --seconds, while a busy loop keeps the
other core loaded, and every --every seconds one change happens, in turn:

- next:   the next model of the cycle (a crossfade);
- drop:   a new file dropped into the models folder, in turn a copy of the bundled model, a
          44.1 kHz GuitarML capture (resampled when played), a LSTM-2x24 and a file that is not
          a model (rejected); the loader process parses and times each one;
- preset: the other of two presets (its IR and model loaded by the loader process);
- play:   the last dropped model that joined the cycle, chosen by name.

Prints xruns (device flags), late blocks (callbacks over their deadline), the callback's
load, start-up times, and for each kind of change how many happened and the xruns and late
blocks in the second after each.

    .venv/bin/python scripts/bench_daemon.py [--seconds 300] [--every 5] [--priority 70] [--json]
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


KINDS = ("next", "drop", "preset", "play")


def _drops(tmp: Path):
    """The files dropped in turn: (name, bytes)."""
    import corpus
    from daemon_helpers import BUNDLED
    from helpers import random_spec
    from pedal.models.onnx.write import write_onnx

    write_onnx(random_spec("lstm", hidden=24, layers=2, seed=3), tmp / "lstm2x24.onnx")
    return [("copy.onnx", BUNDLED.read_bytes()),
            ("guitarml44k.json", corpus.files()["guitarml.json"]),
            ("lstm2x24.onnx", (tmp / "lstm2x24.onnx").read_bytes()),
            ("notamodel.nam", b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(64))]


def main() -> int:
    import testbed
    import yaml
    from daemon_helpers import BUNDLED, write_config
    from pedal.service.socket import ControlError, request
    from pedal.synth.guitar import guitar_riff

    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=300)
    ap.add_argument("--every", type=float, default=5, help="seconds between changes")
    ap.add_argument("--no-load", action="store_true", help="leave the other core idle")
    ap.add_argument("--priority", type=int, default=70,
                    help="audio.realtime_priority (0: the audio thread without SCHED_FIFO)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="pedal-bench-daemon-"))
    riff = guitar_riff(48000).astype(np.float32)
    x = np.tile(riff, int(a.seconds / (len(riff) / 48000)) + 4)
    gen = testbed.start(tmp, x)
    bed = next(gen)
    (tmp / "models").mkdir()
    for name in ("a.onnx", "b.onnx"):
        shutil.copy(BUNDLED, tmp / "models" / name)
    cfg = write_config(tmp, audio={"backend": "pyaudio", "device": "pedal", "block": 64,
                                   "realtime_priority": a.priority},
                       controls={"enabled": False})
    doc = yaml.safe_load((tmp / "presets" / "default.yaml").read_text())
    doc["amp"]["input_gain_db"] = -6.0
    doc["eq"]["bands"] = doc["eq"]["bands"][:2]
    doc["name"] = "clean"
    (tmp / "presets" / "clean.yaml").write_text(yaml.safe_dump(doc))
    drops = _drops(tmp)
    busy = None if a.no_load else subprocess.Popen(
        [sys.executable, "-c", "while True: pass"])
    t0 = time.monotonic()
    log = open(tmp / "daemon.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "run", "--config", str(cfg)],
                            env=bed.env, stdout=log, stderr=subprocess.STDOUT)
    sock = tmp / "pedal.sock"

    def status():
        try:
            return request(sock, "status")["status"]
        except ControlError:
            return None

    def bad(st):
        return st["xruns"] + st["overruns"], st["overruns"]

    per = {k: {"count": 0, "xruns": 0, "late_blocks": 0} for k in KINDS}
    dropped: list[str] = []
    try:
        while status() is None or not status()["models"]:
            time.sleep(0.05)
        st0 = status()
        start_bad = bad(st0)
        end = time.monotonic() + a.seconds
        next_at = time.monotonic() + a.every
        peak, i, presets = 0.0, 0, ["clean", "default"]
        while time.monotonic() < end:
            time.sleep(0.25)
            st = status()
            peak = max(peak, st["load"]["max_10s"])
            if time.monotonic() < next_at:
                continue
            kind = KINDS[i % len(KINDS)]
            before = bad(st)
            if kind == "next":
                request(sock, "next")
            elif kind == "drop":
                name, data = drops[(i // len(KINDS)) % len(drops)]
                name = f"{i}_{name}"
                part = tmp / "models" / f".{name}.part"
                part.write_bytes(data)
                part.rename(tmp / "models" / name)
                dropped.append(name)
            elif kind == "preset":
                request(sock, "preset", [presets[(i // len(KINDS)) % 2]])
            else:
                joined = [n for n in dropped if n in st["models"]]
                if joined:
                    request(sock, "model", [joined[-1]])
            time.sleep(1.0)
            after = bad(status())
            per[kind]["count"] += 1
            per[kind]["xruns"] += after[0] - before[0]
            per[kind]["late_blocks"] += after[1] - before[1]
            i += 1
            next_at += a.every
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
           "xruns_at_start": start_bad[0], "blocks": st["blocks"],
           "load_avg": st["load"]["avg"], "load_peak": peak,
           "realtime": st["realtime"], "ready_s": st0["ready_s"],
           "first_block_s": st0["first_block_s"], "changes": per,
           "models_in_cycle": len(st["models"]), "models_rejected": len(st["models_rejected"]),
           "swaps": st["swaps"], "loader_jobs": st["loader"]["jobs"],
           "wall_s": round(time.monotonic() - t0, 1), "log": str(tmp / "daemon.log")}
    if a.json:
        print(json.dumps(res))
    else:
        for k, v in res.items():
            print(f"{k:20s} {v}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
