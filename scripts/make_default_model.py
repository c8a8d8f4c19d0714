#!/usr/bin/env python3
"""Remake the pedal's bundled default model with the capture pipeline itself (``pedal train``)
from the project's own simulated overdrive circuit:

    pip install -e .[train]          # PyTorch, onnx
    python scripts/make_default_model.py [--minutes 8] [--arch lstm-16]

The reamp pair is made here: synthesized guitar riffs (pedal.synth.guitar) at several input levels
and a level-swept chirp are the DI; pedal.synth.circuits.overdrive (op-amp gain stage -> RC + 1N4148
diode clipper solved by Newton-Raphson at 4x oversampling -> tone low-pass) is the gear, with
a 24-sample interface latency added so the pair checks have one to find. ``pedal train`` then
checks and aligns the pair, trains on one CPU thread and writes the ONNX with int8 weights;
its ESR on the pedal's numba engine is printed and stored in the file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pedal.synth import circuits, guitar as synth  # noqa: E402
from pedal.audio.files import write_audio  # noqa: E402
from pedal.cli import main as pedal  # noqa: E402

SR = 48000
LATENCY = 24


def make_pair(seed: int = 1, n_riffs: int = 10):
    """(DI, gear output): riffs at DI peaks 0.15 .. 0.8 with gaps, then a level-swept chirp."""
    rng = np.random.default_rng(seed)
    parts = []
    for _ in range(n_riffs):
        riff = synth.guitar_riff(SR, bpm=rng.uniform(90, 140), seed=int(rng.integers(1e9)))
        parts.append(riff * rng.uniform(0.3, 1.6))
        parts.append(np.zeros(SR // 4, np.float32))
    t = np.arange(3 * SR) / SR
    chirp = np.sin(2 * np.pi * (40 * t + (3000 - 40) / (2 * 3)) * t) * np.linspace(0.02, 0.8,
                                                                                  len(t))
    parts.append(chirp.astype(np.float32))
    x = np.concatenate(parts).astype(np.float32)
    y = circuits.overdrive(x, SR)
    y = np.concatenate([np.zeros(LATENCY, np.float32), y[:len(y) - LATENCY]])
    return x, y


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=8.0, help="training time budget")
    ap.add_argument("--arch", default="lstm-16")
    ap.add_argument("--out", default=str(ROOT / "models" / "pedal_overdrive_lstm16.onnx"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    x, y = make_pair()
    with tempfile.TemporaryDirectory() as d:
        di, gear = Path(d) / "di.wav", Path(d) / "overdrive.wav"
        write_audio(di, x, SR)
        write_audio(gear, y, SR)
        return pedal(["train", str(di), str(gear), "-o", args.out, "--arch", args.arch,
                      "--minutes", str(args.minutes), "--int8", "--seed", str(args.seed),
                      "--checkpoint", str(Path(d) / "ckpt.npz"), "--no-plot",
                      "--name", "pedal overdrive (simulated diode clipper)"])


if __name__ == "__main__":
    raise SystemExit(main())
