#!/usr/bin/env python3
"""The capture benchmark of issue 7, on a real reamp pair (default ../shared/data/reamp):

    python scripts/bench_train.py [--minutes 15] [--nam-python /tmp/namenv/bin/python]
                                  [--out scripts/results/train_reamp.md]

1. ``pedal train --arch lstm-16`` and ``--arch wavenet-nano``, one CPU thread each, the same
   time budget: validation ESR (measured on the pedal's own engine running the exported file)
   and wall time.
2. ``pedal compress`` on the LSTM with the pair: hidden units cut, pruned, int8; its table.
3. With ``--nam-python`` (an environment with neural-amp-modeler): NAM's own trainer on the
   same aligned pair, split and budget (scripts/nam_reference_train.py); its .nam is scored on
   the same validation slice by the pedal's loader, so one yardstick measures both.

The two trainings run side by side (2 cores: one thread each), then NAM's trainer beside the
compression. The results are written as markdown.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pedal.audio.files import write_audio  # noqa: E402
from pedal.train.pair import check_pair  # noqa: E402

PEDAL = [sys.executable, "-m", "pedal"]


def last_json(text: str):
    for line in reversed(text.strip().splitlines()):
        if line.startswith(("{", "[")):
            return json.loads(line)
    raise RuntimeError(f"no JSON in:\n{text[-2000:]}")


def start(cmd, log):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True,
                            cwd=ROOT)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    shared = ROOT.parent / "shared" / "data" / "reamp"
    ap.add_argument("--input", default=str(shared / "fps_guitar_clean_input.wav"))
    ap.add_argument("--target", default=str(shared / "fps_guitar_processed_target.wav"))
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--compress-minutes", type=float, default=4.0)
    ap.add_argument("--hidden", type=int, default=8)
    ap.add_argument("--l1", type=float, default=1e-3, help="unit L1 fine-tune before the cut")
    ap.add_argument("--prune", type=float, default=0.5)
    ap.add_argument("--nam-python", help="python of an environment with neural-amp-modeler")
    ap.add_argument("--work", default=None, help="folder for the models (default: temporary)")
    ap.add_argument("--out", default=str(ROOT / "scripts" / "results" / "train_reamp.md"))
    args = ap.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="pedal-bench-train-"))
    work.mkdir(parents=True, exist_ok=True)
    pair = check_pair(args.input, args.target)
    rows, t0 = [], time.time()

    def train(arch):
        return start(PEDAL + ["train", args.input, args.target, "-o", str(work / f"{arch}.onnx"),
                              "--arch", arch, "--minutes", str(args.minutes), "--json",
                              "--no-plot", "--nam", str(work / f"{arch}.nam")],
                     work / f"{arch}.log")

    procs = {a: train(a) for a in ("lstm-16", "wavenet-nano")}
    for arch, p in procs.items():
        out, _ = p.communicate()
        if p.returncode:
            raise SystemExit(f"{arch} failed, see {work / (arch + '.log')}")
        r = last_json(out)
        rows.append((f"pedal train --arch {arch}", r["pedal_esr"], r["seconds"], r["steps"],
                     r["stopped"]))
        print(rows[-1], flush=True)
    compress = start(PEDAL + ["compress", str(work / "lstm-16.onnx"), "-o",
                              str(work / "lstm-16-small.onnx"), "--pair", args.input,
                              args.target, "--l1", str(args.l1), "--hidden", str(args.hidden),
                              "--prune",
                              str(args.prune), "--int8", "--minutes",
                              str(args.compress_minutes), "--json"], work / "compress.log")
    if args.nam_python:  # on the other core, while compress runs
        x_al, y_al = work / "aligned_in.wav", work / "aligned_target.wav"
        write_audio(x_al, pair.x, pair.sample_rate)
        write_audio(y_al, pair.y, pair.sample_rate)
        t = time.time()
        subprocess.run([args.nam_python, str(ROOT / "scripts" / "nam_reference_train.py"),
                        str(x_al), str(y_al), str(work / "nam"), "--minutes",
                        str(args.minutes)], check=True, stdout=open(work / "nam.log", "w"),
                       stderr=subprocess.STDOUT)
        wall = time.time() - t
        from pedal.models import load_model
        from pedal.train.evaluate import run_file
        from pedal.train.fit import esr, split

        (_, _), (xv, yv), cut = split(pair.x, pair.y, 0.15, pair.sample_rate)
        nam = load_model(work / "nam" / "model.nam")
        e = esr(run_file(nam, xv, pair.x[max(cut - pair.sample_rate, 0):cut]), yv)
        rows.append(("NAM trainer (neural-amp-modeler 0.13), LSTM 1x16", e, wall, None,
                     "time budget"))
        print(rows[-1], flush=True)
    comp_out, _ = compress.communicate()
    if compress.returncode:
        raise SystemExit(f"compress failed, see {work / 'compress.log'}")
    table = [line for line in comp_out.splitlines() if not line.startswith(("[", "{"))]
    variants = last_json(comp_out)
    lines = [f"# Capture benchmark: {Path(args.input).name} -> {Path(args.target).name}", "",
             f"{pair.seconds:.1f} s at {pair.sample_rate} Hz, latency {pair.latency} samples; "
             f"validation = the last 15 %; one CPU thread per trainer, {args.minutes:g} min "
             "each; ESR measured on the pedal's numba engine running the exported file.", "",
             "| trainer | validation ESR | wall s | steps | stopped |", "|---|---|---|---|---|"]
    for name, e, wall, steps, stopped in rows:
        lines.append(f"| {name} | {e:.4f} | {wall:.0f} | {steps or '-'} | {stopped} |")
    lines += ["", f"`pedal compress lstm-16.onnx --pair ... --l1 {args.l1:g} --hidden "
              f"{args.hidden} --prune "
              f"{args.prune} --int8 --minutes {args.compress_minutes:g}`:", "", "```"]
    lines += table + ["```", "", "```json", json.dumps(variants, indent=1), "```", "",
                      f"total {time.time() - t0:.0f} s; `python scripts/bench_train.py "
                      f"--minutes {args.minutes:g}`"]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
