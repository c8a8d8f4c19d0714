"""How far the fast activations (``amp.fast_tanh``) move each shared model from its golden
output (../shared/golden: NAM Core, PyTorch, RTNeural), beside the exact engine's distance.

    python scripts/fast_activations_accuracy.py [SHARED]     # default ../shared

Prints one markdown row per recurrent or WaveNet golden: max |error| and error-to-signal
ratio (ESR, in dB) of the exact and the fast engine against the golden.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from pedal.dsp.run import run_blocks
from pedal.models import load_model


def main(shared: Path) -> None:
    print("| model | family | exact max err | exact ESR dB | fast max err | fast ESR dB |")
    print("|---|---|---|---|---|---|")
    for gpath in sorted((shared / "golden").glob("*.npz")):
        if gpath.name.startswith("input_"):
            continue
        g = np.load(gpath)
        model = load_model(shared / "data" / str(g["model_file"]))
        if "slim" in g.files:
            model = model.at_slim(float(g["slim"]))
        kind = type(model.make_engine([float(k) for k in g["knobs"]])).__name__
        if kind not in ("RecurrentEngine", "WaveNetEngine"):
            continue
        x = np.load(gpath.parent / str(g["input_file"]))["input"].astype(np.float32)
        ref = g["output"].astype(np.float64)
        row = [gpath.stem, kind.replace("Engine", "")]
        for fast in (False, True):
            eng = model.make_engine([float(k) for k in g["knobs"]], fast_tanh=fast)
            eng.prepare(64)
            y = run_blocks(eng, x, 64).astype(np.float64)
            err = y - ref
            esr = 10 * np.log10(np.sum(err ** 2) / max(np.sum(ref ** 2), 1e-30) + 1e-30)
            row += [f"{np.abs(err).max():.2e}", f"{esr:.1f}"]
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared")
