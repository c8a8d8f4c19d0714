"""``pedal train`` and ``pedal compress``: what they print, write and check."""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path

import numpy as np

from ..errors import ConfigError, PedalError
from .evaluate import loudness_db, run_file


def import_torch(threads: int):
    try:
        import torch
    except ImportError:
        raise PedalError("training needs PyTorch: pip install -e '.[train]'") from None
    torch.set_num_threads(max(1, threads))  # two threads stall for seconds on small CPUs
    try:
        torch.set_num_interop_threads(1)
    except RuntimeError:  # allowed once per process, before any parallel work
        pass
    return torch


def device(torch, name: str) -> str:
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {name}: no CUDA GPU here")
    return name


class Progress:
    """One line, rewritten in place on a terminal; a line per ``every`` seconds elsewhere."""

    def __init__(self, stream=None, every: float = 15.0):
        self.stream, self.every = stream or sys.stderr, every
        self.tty = self.stream.isatty()
        self.last = -1e9

    def __call__(self, frac, step, seconds, loss, val, best):
        now = time.monotonic()
        if not self.tty and now - self.last < self.every and frac < 1.0:
            return
        if self.tty and now - self.last < 0.2 and frac < 1.0:
            return
        self.last = now
        width = 24
        bar = "#" * int(frac * width) + "." * (width - int(frac * width))
        val_s = f"{val:.4f}" if np.isfinite(val) else "--"
        best_s = f"{best:.4f}" if np.isfinite(best) else "--"
        line = (f"[{bar}] {100 * frac:5.1f}% {seconds / 60:5.1f} min  step {step:6d}  "
                f"loss {loss:.4f}  val ESR {val_s} (best {best_s})")
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()

    def done(self):
        if self.tty:
            self.stream.write("\n")


def plot_prediction(path, target, pred, sr: int, title: str) -> None:
    """Target against prediction: the loudest 40 ms, the whole validation slice's error, and
    both long-term spectra."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PedalError("the plot needs matplotlib: pip install -e '.[plot]' (or --no-plot)") \
            from None
    from ..audio.files import atomic_path

    target, pred = np.asarray(target, np.float64), np.asarray(pred, np.float64)
    fig, ax = plt.subplots(3, 1, figsize=(10, 9))
    w = int(0.04 * sr)
    env = np.convolve(target ** 2, np.ones(w), "valid")
    a = int(np.argmax(env))
    t = np.arange(a, a + w) / sr
    ax[0].plot(t, target[a:a + w], label="target", lw=1.2)
    ax[0].plot(t, pred[a:a + w], label="prediction", lw=1.0, ls="--")
    ax[0].set_xlabel("seconds")
    ax[0].legend(loc="upper right")
    ax[0].set_title("loudest 40 ms of the validation audio")
    t = np.arange(len(target)) / sr
    ax[1].plot(t, target, lw=0.5, label="target")
    ax[1].plot(t, pred - target, lw=0.5, label="prediction - target")
    ax[1].set_xlabel("seconds")
    ax[1].legend(loc="upper right")
    n = 4096
    frames = max(1, len(target) // n)
    win = np.hanning(n)
    for sig, label in ((target, "target"), (pred, "prediction")):
        spec = np.mean([np.abs(np.fft.rfft(sig[i * n:(i + 1) * n] * win)) ** 2
                        for i in range(frames)], axis=0) if len(sig) >= n else None
        if spec is not None:
            f = np.fft.rfftfreq(n, 1 / sr)
            ax[2].semilogx(f[1:], 10 * np.log10(spec[1:] + 1e-20), label=label, lw=0.8)
    ax[2].set_xlabel("Hz")
    ax[2].set_ylabel("dB")
    ax[2].set_xlim(20, sr / 2)
    ax[2].legend(loc="upper right")
    fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=80, format="png")
    plt.close(fig)


def _write_outputs(spec, out, nam, quantize, meta):
    from ..models.onnx.write import write_onnx
    from ..models.formats.nam import write_nam

    try:
        write_onnx(spec, out, quantize=quantize, metadata=meta)
    except ImportError:
        raise PedalError("writing ONNX needs the onnx package: pip install -e '.[train]'") \
            from None
    if nam:
        # NAM's loaders read these as numbers and its date as a dict (ONNX props are text)
        when = datetime.datetime.fromisoformat(meta["date"])
        nam_meta = {"name": meta["name"], "loudness": float(meta["loudness"]),
                    "modeled_by": "pedal train",
                    "date": {k: getattr(when, k) for k in ("year", "month", "day", "hour",
                                                           "minute", "second")},
                    "training": {"validation_esr": float(meta["esr"]),
                                 "pedal": json.loads(meta["training"])}}
        write_nam(spec, nam, nam_meta)


def train_command(args) -> int:
    from .pair import check_pair

    if args.nam and not args.arch.startswith(("lstm", "wavenet")):
        raise ConfigError(f"--nam: .nam holds LSTM and WaveNet models, not {args.arch}")
    from .arch import parse_arch

    arch = parse_arch(args.arch)
    pair = check_pair(args.input, args.target, resample_target=args.resample,
                      latency=args.latency, allow_clipping=args.allow_clipping)
    for line in pair.notices:
        print(f"note: {line}", file=sys.stderr)
    for line in pair.warnings:
        print(f"warning: {line}", file=sys.stderr)
    print(f"pair: {pair.seconds:.1f} s at {pair.sample_rate} Hz, latency {pair.latency} "
          f"samples, correlation {pair.correlation:.2f}")
    torch = import_torch(args.threads)
    from .fit import TrainConfig, esr, train
    from .nets import build

    torch.manual_seed(args.seed)
    net = build(arch, pair.sample_rate)
    cfg = TrainConfig(minutes=args.minutes, max_steps=args.max_steps, lr=args.lr,
                      batch=args.batch, val_fraction=args.val_fraction, mrstft=args.mrstft,
                      patience=args.patience, seed=args.seed, schedule=args.schedule,
                      device=device(torch, args.device))
    if args.val_every:
        cfg.val_every_s = args.val_every
    elif args.max_steps:  # a step budget: validate by steps too, so a run is repeatable
        cfg.val_every_steps = max(args.max_steps // 10, 1)
    ckpt = args.checkpoint or str(Path(args.output).with_suffix(".ckpt.npz"))
    identity = {"arch": arch["name"], "samples": len(pair.x), "sample_rate": pair.sample_rate,
                "latency": pair.latency}
    print(f"training {arch['name']} on {cfg.device} ({torch.get_num_threads()} thread(s)), "
          f"up to {cfg.minutes:g} min; checkpoint {ckpt}")
    progress = Progress()
    res = train(net, pair.x, pair.y, pair.sample_rate, cfg, progress=progress,
                checkpoint=ckpt, resume=args.resume, identity=identity)
    progress.done()
    spec = net.to_spec()  # type: ignore[operator]  # build() returns our nets
    loud = loudness_db(spec)
    summary = {**pair.summary(), "architecture": arch["name"], "steps": res.steps,
               "seconds": round(res.seconds, 1), "stopped": res.stopped,
               "validation_seconds": round(len(res.val_target) / pair.sample_rate, 2)}
    meta = {"name": args.name or Path(args.output).stem, "esr": f"{res.esr:.6f}",
            "loudness": f"{loud:.3f}", "source": "pedal train",
            "date": datetime.datetime.now().isoformat(timespec="seconds"),
            "training": json.dumps(summary)}
    _write_outputs(spec, args.output, args.nam, "int8" if args.int8 else None, meta)
    # what plays is what was measured: the exported file on the pedal's own loader and engine
    from ..models import load_model

    model = load_model(args.output)
    cut = len(pair.x) - len(res.val_target)
    warm = pair.x[max(cut - pair.sample_rate, 0):cut]
    pedal_esr = esr(run_file(model, res.val_input, warm), res.val_target)
    print(f"validation ESR {res.esr:.4f}: {res.verdict} ({res.steps} steps, "
          f"{res.seconds / 60:.1f} min, stopped: {res.stopped})")
    print(f"wrote {args.output}: {model.describe()}; ESR on the pedal's engine {pedal_esr:.4f}")
    if args.nam:
        print(f"wrote {args.nam}")
    if not args.no_plot:
        png = args.plot or str(Path(args.output).with_suffix(".png"))
        try:
            plot_prediction(png, res.val_target, res.val_pred, pair.sample_rate,
                            f"{arch['name']}: validation ESR {res.esr:.4f} ({res.verdict})")
            print(f"wrote {png}")
        except PedalError as exc:
            print(f"note: {exc}", file=sys.stderr)
    if args.json:
        print(json.dumps({"esr": res.esr, "verdict": res.verdict, "pedal_esr": pedal_esr,
                          **summary, "output": str(args.output)}))
    return 0


def add_train_parser(sub) -> None:
    from .arch import ARCH_HELP

    t = sub.add_parser("train", help="capture an amp from a reamp pair (needs .[train])",
                       description="Train a model of the gear that turned INPUT into TARGET.")
    t.add_argument("input", help="the DI recording (what went into the gear)")
    t.add_argument("target", help="the same performance recorded through the gear")
    t.add_argument("-o", "--output", required=True, help="the model to write (.onnx)")
    t.add_argument("--arch", default="lstm-16", help=ARCH_HELP + " (default lstm-16)")
    t.add_argument("--minutes", type=float, default=10.0, help="time budget (default 10)")
    t.add_argument("--max-steps", type=int, default=0, help="stop after N steps")
    t.add_argument("--nam", metavar="FILE.nam", help="also write a .nam (LSTM, WaveNet)")
    t.add_argument("--int8", action="store_true", help="store the ONNX weights as int8")
    t.add_argument("--mrstft", type=float, default=0.0,
                   help="weight of a multi-resolution STFT loss term (e.g. 2e-4)")
    t.add_argument("--lr", type=float, default=0.0, help="learning rate (default per arch)")
    t.add_argument("--batch", type=int, default=0, help="segments per step (default per arch)")
    t.add_argument("--val-fraction", type=float, default=0.15,
                   help="share of the pair (its end) held out for validation")
    t.add_argument("--val-every", type=float, default=0.0, help="seconds between validations")
    t.add_argument("--schedule", choices=["cosine", "plateau"], default="",
                   help="learning rate: cosine over the budget, or halved when validation "
                   "stalls (default: plateau for LSTM/GRU, cosine for WaveNet)")
    t.add_argument("--patience", type=int, default=8,
                   help="validations without improvement before stopping early")
    t.add_argument("--latency", type=int, help="samples the target lags the input by (default: "
                   "found by cross-correlation)")
    t.add_argument("--allow-clipping", action="store_true",
                   help="train on a pair whose target or input clips (warned: the capture "
                   "then learns the clipping too)")
    t.add_argument("--resample", action="store_true",
                   help="resample the target when its rate differs from the input's")
    t.add_argument("--checkpoint", help="checkpoint file (default OUTPUT.ckpt.npz)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint")
    t.add_argument("--plot", help="plot file (default OUTPUT.png)")
    t.add_argument("--no-plot", action="store_true")
    t.add_argument("--name", help="the model's name in its metadata")
    t.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    t.add_argument("--device", default="auto", help="cpu, cuda or auto (default)")
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--json", action="store_true", help="a JSON summary line at the end")
    t.set_defaults(func=train_command)


def compress_command(args) -> int:
    from ..models import load_model
    from ..models.arch.recurrent import RecurrentSpec
    from ..models.arch.wavenet import WaveNetSpec

    if not (args.l1 or args.prune or args.hidden or args.int8):
        raise ConfigError("compress: say what to try: --l1, --prune, --hidden and/or --int8")
    if not 0.0 <= args.prune < 1.0:
        raise ConfigError(f"--prune {args.prune}: must be a fraction 0..1 (e.g. 0.8)")
    model = load_model(args.model)
    if not isinstance(model.spec, (RecurrentSpec, WaveNetSpec)):
        raise ConfigError(f"{args.model}: {model.spec.arch if model.spec else 'this graph'} "
                          "cannot be compressed (LSTM, GRU and A1 WaveNet models can)")
    if args.pair:
        from .pair import check_pair

        pair = check_pair(*args.pair, resample_target=args.resample)
        for line in pair.warnings:
            print(f"warning: {line}", file=sys.stderr)
    torch = import_torch(args.threads)
    from .compress import compress, distill_data, pair_data, table, time_variants
    from .nets import from_spec

    from_spec(model.spec)  # refuses what cannot be fine-tuned, before any work
    torch.manual_seed(args.seed)
    data = pair_data(pair) if args.pair else distill_data(model.spec, seed=args.seed)
    print(f"data: {data.source}")
    progress = Progress()
    variants, folder = compress(model.spec, data, l1=args.l1, prune=args.prune,
                                hidden=args.hidden, int8=args.int8, minutes=args.minutes,
                                progress=progress, seed=args.seed, max_steps=args.max_steps)
    progress.done()
    time_variants(variants)
    print(table(variants))
    kept = [v for v in variants if not (v.label == "int8" and v.quantize is None)]
    final = kept[-1]  # an int8 step over the limit leaves the float weights before it
    meta = {"name": f"{model.name} compressed", "source": f"pedal compress {model.name}",
            "compress": ", ".join(v.label for v in kept[1:]), "esr": f"{final.esr:.6f}",
            "compress_data": data.source}
    from ..models.onnx.write import write_onnx

    write_onnx(final.spec, args.output, quantize=final.quantize, metadata=meta)
    for v in variants:
        Path(v.path).unlink(missing_ok=True)
    folder.rmdir()
    print(f"wrote {args.output}: {final.label}, ESR {final.esr:.5f}, "
          f"{final.xrt / variants[0].xrt:.2f}x the original's speed")
    if args.json:
        print(json.dumps([{"variant": v.label, "esr": v.esr, "weights": v.weights,
                           "nonzero": v.nonzero, "bytes": v.size, "gzip_bytes": v.gz_size,
                           "xrt": v.xrt, "sparse": v.sparse} for v in variants]))
    return 0


def add_compress_parser(sub) -> None:
    c = sub.add_parser("compress", help="make a model cheaper and measure the cost in tone "
                       "(needs .[train])")
    c.add_argument("model", help="any LSTM/GRU/A1 WaveNet model the pedal loads")
    c.add_argument("-o", "--output", required=True, help="the compressed model (.onnx)")
    c.add_argument("--pair", nargs=2, metavar=("INPUT", "TARGET"),
                   help="fine-tune and measure on this reamp pair (default: the model's own "
                   "output on synthesized guitar)")
    c.add_argument("--l1", type=float, default=0.0, help="fine-tune with this L1 weight first")
    c.add_argument("--hidden", type=int, default=0,
                   help="keep this many hidden units (structured pruning, LSTM/GRU)")
    c.add_argument("--prune", type=float, default=0.0,
                   help="zero this fraction of the weights (unstructured)")
    c.add_argument("--int8", action="store_true", help="store the weights as int8")
    c.add_argument("--minutes", type=float, default=3.0, help="per fine-tuning stage")
    c.add_argument("--max-steps", type=int, default=0, help="per fine-tuning stage")
    c.add_argument("--resample", action="store_true")
    c.add_argument("--threads", type=int, default=1)
    c.add_argument("--seed", type=int, default=0)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=compress_command)
