#!/usr/bin/env python3
"""Capture the pedal's default amp model from its own simulated overdrive circuit.

    pip install -e .[train]          # PyTorch, onnx
    python scripts/make_default_model.py [--minutes 8] [--hidden 16]

Data: synthesized guitar riffs (pedal.synth) at several input levels, plus a level-swept chirp,
run through pedal.circuits.overdrive (op-amp gain stage -> RC + 1N4148 diode clipper solved by
Newton-Raphson at 4x oversampling -> tone low-pass). A PyTorch LSTM learns it with the
error-to-signal ratio on pre-emphasised audio, truncated back-propagation with a burn-in, on one
CPU thread. The result is written as the pedal's ONNX with int8 weights, and its validation
ESR is measured on the pedal's own numba engine running that int8 file.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pedal import circuits, synth  # noqa: E402
from pedal.models.recurrent import RecurrentLayer, RecurrentSpec  # noqa: E402

SR = 48000


def dataset(seed: int, n_riffs: int):
    rng = np.random.default_rng(seed)
    parts = []
    for i in range(n_riffs):
        riff = synth.guitar_riff(SR, bpm=rng.uniform(90, 140), seed=int(rng.integers(1e9)))
        parts.append(riff * rng.uniform(0.3, 1.6))  # DI peaks 0.15 .. 0.8
        parts.append(np.zeros(SR // 4, np.float32))
    t = np.arange(3 * SR) / SR
    chirp = np.sin(2 * np.pi * (40 * t + (3000 - 40) / (2 * 3)) * t) * np.linspace(0.02, 0.8,
                                                                                  len(t))
    parts.append(chirp.astype(np.float32))
    x = np.concatenate(parts).astype(np.float32)
    return x, circuits.overdrive(x, SR)


def esr(y, t):
    return float(np.sum((y - t) ** 2) / np.sum(t ** 2))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=8.0, help="training time budget")
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--out", default=str(ROOT / "models" / "pedal_overdrive_lstm16.onnx"))
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    import torch

    from pedal.models.export import write_onnx
    from pedal.models.onnx_model import load_onnx

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    x_tr, y_tr = dataset(1, 8)
    x_va, y_va = dataset(2, 2)
    print(f"train {len(x_tr) / SR:.1f} s, validation {len(x_va) / SR:.1f} s")

    hidden = args.hidden
    rnn = torch.nn.LSTM(1, hidden, batch_first=True)
    lin = torch.nn.Linear(hidden, 1)
    params = list(rnn.parameters()) + list(lin.parameters())
    opt = torch.optim.Adam(params, lr=5e-3)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, 0.9997)
    seg, burn, batch = 4096, 1024, 24
    xt, yt = torch.tensor(x_tr), torch.tensor(y_tr)

    def pre(v):  # pre-emphasis 1 - 0.85 z^-1
        return v[:, 1:] - 0.85 * v[:, :-1]

    def forward(xb):
        return lin(rnn(xb[..., None])[0])[..., 0]

    rng = np.random.default_rng(args.seed)
    start, step, best = time.time(), 0, (np.inf, None)
    while time.time() - start < args.minutes * 60:
        idx = rng.integers(0, len(x_tr) - seg, batch)
        xb = torch.stack([xt[i:i + seg] for i in idx])
        yb = torch.stack([yt[i:i + seg] for i in idx])
        pred = forward(xb)[:, burn:]
        tgt = yb[:, burn:]
        loss = (torch.mean((pre(pred) - pre(tgt)) ** 2) / torch.mean(pre(tgt) ** 2)
                + 0.5 * torch.mean((pred - tgt) ** 2) / torch.mean(tgt ** 2))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()
        step += 1
        if step % 100 == 0:
            with torch.no_grad():
                v = forward(torch.tensor(x_va)[None])[0].numpy()
            e = esr(v, y_va)
            if e < best[0]:
                best = (e, [p.detach().clone() for p in params])
            print(f"step {step:5d}  {time.time() - start:5.0f} s  loss {loss.item():.4f}  "
                  f"val ESR {e:.4f}", flush=True)
    if best[1] is not None:
        with torch.no_grad():
            for p, b in zip(params, best[1]):
                p.copy_(b)
    d = {k: v.detach().double().numpy() for k, v in rnn.state_dict().items()}
    spec = RecurrentSpec("lstm", [RecurrentLayer(d["weight_ih_l0"], d["weight_hh_l0"],
                                                 d["bias_ih_l0"], d["bias_hh_l0"])],
                         lin.weight.detach().double().numpy()[0], float(lin.bias.item()),
                         skip=False, input_size=1, sample_rate=SR)
    meta = {"name": "pedal overdrive (simulated diode clipper)",
            "source": "scripts/make_default_model.py: pedal.circuits.overdrive, drive 30, "
                      "tone 3200 Hz",
            "esr_float": f"{best[0]:.5f}", "training_seconds": f"{time.time() - start:.0f}",
            "training_steps": str(step)}
    write_onnx(spec, args.out, quantize="int8", metadata=meta)
    model = load_onnx(args.out)
    eng = model.make_engine()
    eng.prepare(64)
    y = x_va.copy()
    for i in range(0, len(y), 64):
        eng.process(y[i:i + 64])
    print(f"wrote {args.out}: {model.describe()}, validation ESR float {best[0]:.4f}, "
          f"int8 on the numba engine {esr(y, y_va):.4f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
