#!/usr/bin/env python3
"""Every model file in ../shared/data (nam, json, onnx), loaded by the pedal and run against
the reference runtimes' golden outputs in ../shared/golden (issue 4's list):

    python scripts/shared_models_report.py [--shared ../shared] [--out FILE.md]

One markdown row per file: what it loaded as (family, architecture, engine, rate, x real time
at block 64 on this machine) and the largest difference from each of its goldens, or the
one-line reason it is refused.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pedal.errors import ModelError  # noqa: E402
from pedal.models import load_model  # noqa: E402
from pedal.models.info import measure_xrt  # noqa: E402
from pedal.dsp.run import run_blocks  # noqa: E402


def _goldens(shared: Path) -> dict:
    out = {}
    for g in sorted((shared / "golden").glob("*.npz")):
        z = np.load(g)
        if "model_file" in z.files:
            out.setdefault(str(z["model_file"]), []).append(z)
    return out


def _max_error(model, golden, shared: Path) -> float:
    x = np.load(shared / "golden" / str(golden["input_file"]))["input"].astype(np.float32)
    eng = model.make_engine([float(k) for k in golden["knobs"]])
    eng.prepare(64)
    y = run_blocks(eng, x, 64)
    return float(np.max(np.abs(y.astype(np.float64) - golden["output"])))


def report(shared: Path) -> list[str]:
    data, goldens = shared / "data", _goldens(shared)
    files = sorted([*data.glob("nam/*.nam"), *data.glob("json/*/*.json"),
                    *data.glob("onnx/*.onnx")])
    rows = ["| file | loads as (x real time at block 64) | against its goldens |", "|---|---|---|"]
    for path in files:
        rel = str(path.relative_to(data))
        try:
            model = load_model(path)
        except ModelError as exc:
            rows.append(f"| `{rel}` | refused | {str(exc).split(': ', 1)[1]} |")
            continue
        arch = model.spec.arch if model.spec is not None else "graph"
        what = (f"{getattr(model, 'family', 'onnx')} {arch}, {model.engine_kind}, "
                f"{model.sample_rate} Hz, {measure_xrt(model, 64):.0f}x")
        checks = []
        for g in goldens.get(rel, []):
            knobs = f", knobs {[float(k) for k in g['knobs']]}" if len(g["knobs"]) else ""
            checks.append(f"{_max_error(model, g, shared):.1e} (atol {float(g['atol']):.0e}"
                          f"{knobs})")
        if getattr(model, "check_error", None) is not None:
            checks.append(f"its own output_batch: {model.check_error:.1e}")
        rows.append(f"| `{rel}` | {what} | {'; '.join(checks) or 'no golden'} |")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=ROOT.parent / "shared")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    if not (args.shared / "data").is_dir():
        print(f"{args.shared}: no shared data here", file=sys.stderr)
        return 2
    text = "\n".join(report(args.shared)) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
