#!/usr/bin/env python3
"""Train Neural Amp Modeler's own LSTM (the reference trainer, package neural-amp-modeler) on an
aligned reamp pair with the same split and time budget as ``pedal train``, for
scripts/bench_train.py. Runs in its own environment (NAM pins its own lightning stack):

    python -m venv /tmp/namenv && /tmp/namenv/bin/pip install torch==2.13.0 neural-amp-modeler
    /tmp/namenv/bin/python scripts/nam_reference_train.py IN.wav TGT.wav OUTDIR --minutes 15

IN/TGT must already be aligned (bench_train.py writes them with pedal's alignment) and the last
15 % is validation. The model is written as OUTDIR/model.nam; ESR is measured by the caller on
the pedal's loader, so both trainers are scored by one yardstick.
"""

import argparse
import time
from pathlib import Path


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("input")
    ap.add_argument("target")
    ap.add_argument("outdir")
    ap.add_argument("--minutes", type=float, default=15.0)
    ap.add_argument("--hidden", type=int, default=16)
    ap.add_argument("--val-fraction", type=float, default=0.15)
    args = ap.parse_args()

    import soundfile as sf
    import torch

    torch.set_num_threads(1)
    from nam.train import full

    n = sf.info(args.input).frames
    cut = n - max(int(n * args.val_fraction), sf.info(args.input).samplerate)
    data = {
        "train": {"ny": 8192, "stop_samples": cut, "require_input_pre_silence": None},
        "validation": {"ny": None, "start_samples": cut, "require_input_pre_silence": None},
        "common": {"x_path": args.input, "y_path": args.target, "delay": 0,
                   "allow_unequal_lengths": True},
    }
    # NAM trainer v0.12's LSTM recipe (nam/train/core.py get_lstm_config)
    model = {
        "net": {"name": "LSTM", "config": {"hidden_size": args.hidden, "num_layers": 1,
                                           "train_burn_in": 4096, "train_truncate": 512}},
        "loss": {"val_loss": "esr", "mask_first": 4096, "pre_emph_weight": 1.0,
                 "pre_emph_coef": 0.85},
        "optimizer": {"lr": 0.01},
        "lr_scheduler": {"class": "ExponentialLR", "kwargs": {"gamma": 0.995}},
    }
    m = int(args.minutes)
    s = int(round((args.minutes - m) * 60))
    learning = {
        "train_dataloader": {"batch_size": 16, "shuffle": True, "pin_memory": False,
                             "drop_last": True, "num_workers": 0},
        "val_dataloader": {},
        "trainer": {"max_epochs": 100000, "max_time": f"00:00:{m:02d}:{s:02d}",
                    "accelerator": "cpu", "enable_progress_bar": False},
    }
    out = Path(args.outdir)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    full.main(data, model, learning, out, no_show=True, make_plots=False)
    print(f"NAM trainer: {time.time() - t0:.0f} s wall, wrote {out / 'model.nam'}")


if __name__ == "__main__":
    main()
