"""How long `pedal run` takes to its first audio block, and how much memory the daemon and its
loader process hold then: the start-up and memory figures of issue 19.

    python scripts/startup_memory.py [--runs 5]

Each run starts `python -m pedal run` in a fresh temporary folder (the bundled default preset,
the fake audio backend, no buttons), asks its control socket for the block count every 10 ms,
and after the first block waits 3 s, then reads /proc/PID/smaps_rollup of the daemon and of
its children (the loader's worker): RSS, PSS (each shared page divided among the processes that
map it) and private pages. Linux only. Warm: run `pedal warmup` first (it also makes the
ahead-of-time kernels the daemon runs; `PEDAL_KERNELS=jit` measures the JIT instead).
"""

from __future__ import annotations

import argparse
import glob
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from pedal import paths
from pedal.service.socket import ControlError, request

KEYS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Shared_Clean")


def memory(pid: int) -> dict[int, dict[str, int]]:
    """MB of each KEYS for pid and its children."""
    kids = []
    for t in glob.glob(f"/proc/{pid}/task/*/children"):
        kids += [int(c) for c in Path(t).read_text().split()]
    out = {}
    for p in [pid] + kids:
        row = {}
        for line in Path(f"/proc/{p}/smaps_rollup").read_text().splitlines():
            k = line.split(":")[0]
            if k in KEYS:
                row[k] = int(line.split()[1]) // 1024
        out[p] = row
    return out


def one_run(tmp: Path) -> tuple[float, dict, str]:
    (tmp / "models").mkdir()
    (tmp / "presets").mkdir()
    shutil.copy(paths.DEFAULT_PRESET, tmp / "presets" / "default.yaml")
    cfg = tmp / "pedal.yaml"
    cfg.write_text(yaml.safe_dump({
        "audio": {"backend": "fake", "realtime_priority": 0},
        "sound": {"presets_dir": "presets", "models_dir": "models"},
        "controls": {"enabled": False}, "control": {"socket": "pedal.sock"},
        "state_file": "state.json"}))
    sock = tmp / "pedal.sock"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "run", "--config", str(cfg)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    first = None
    try:
        while time.perf_counter() - t0 < 60 and proc.poll() is None:
            try:
                if request(sock, "status")["status"]["blocks"] > 0:
                    first = time.perf_counter() - t0
                    break
            except (ControlError, OSError):
                pass
            time.sleep(0.01)
        if first is None:
            raise SystemExit("the daemon did not play within 60 s")
        time.sleep(3)
        mem = memory(proc.pid)
        kernels = request(sock, "status")["status"].get("kernels")
    finally:
        try:
            request(sock, "stop")
            proc.wait(20)
        except (ControlError, OSError, subprocess.TimeoutExpired):
            proc.kill()
    return first, mem, kernels


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    firsts = []
    for i in range(args.runs):
        with tempfile.TemporaryDirectory(prefix="pedal-startup-") as d:
            first, mem, kernels = one_run(Path(d))
        firsts.append(first)
        procs = list(mem.values())
        daemon, loader = procs[0], procs[1:]
        print(f"run {i + 1} (kernels {kernels}): first block after {first:.2f} s; "
              f"daemon MB {daemon}; "
              f"loader MB {loader[0] if loader else 'not running'}")
    print(f"first block: min {min(firsts):.2f} s, median {sorted(firsts)[len(firsts) // 2]:.2f} s,"
          f" max {max(firsts):.2f} s over {len(firsts)} runs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
