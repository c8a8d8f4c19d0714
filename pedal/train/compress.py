"""Make a model cheaper and measure what it costs in tone: L1 fine-tuning, pruning (single
weights, or whole hidden units so the numba engine gets smaller matrices), int8 weights.

Every variant is written as the pedal's ONNX and measured on the pedal's own loader and engine:
validation ESR, non-zero weights, file size (and gzip'd size, where sparsity shows), and times
real time at block 64 against the original in the same run.
"""

from __future__ import annotations

import gzip
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import ConfigError
from ..models.arch.recurrent import RecurrentLayer, RecurrentSpec
from .fit import TrainConfig, esr, train
from .nets import RecurrentNet, from_spec


@dataclass
class Variant:
    label: str
    spec: object
    quantize: str | None
    esr: float = float("nan")
    weights: int = 0
    nonzero: int = 0
    size: int = 0
    gz_size: int = 0
    xrt: float = float("nan")
    sparse: bool = False  # zeros the engine still multiplies
    path: str = ""
    note: str = ""


def shrink_hidden(spec: RecurrentSpec, hidden: int) -> RecurrentSpec:
    """Structured pruning: keep the ``hidden`` units of each layer with the largest outgoing
    weights (recurrent, into the next layer or the head); the others are cut out of every
    matrix, so the engine runs a smaller model."""
    if not isinstance(spec, RecurrentSpec):
        raise ConfigError("--hidden shrinks LSTM/GRU models; for a WaveNet train a smaller size "
                          "(--arch wavenet-nano) or use --prune / --int8")
    h = spec.hidden_size
    if not 1 <= hidden < h:
        raise ConfigError(f"--hidden {hidden}: must be 1..{h - 1} (the model has {h} units)")
    g = spec.layers[0].w_hh.shape[0] // h
    layers, keep_prev = [], None
    for i, layer in enumerate(spec.layers):
        out_next = spec.layers[i + 1].w_ih if i + 1 < len(spec.layers) else spec.dense_w[None]
        score = (np.sum(layer.w_hh ** 2, axis=0) + np.sum(out_next ** 2, axis=0))
        keep = np.sort(np.argsort(score)[::-1][:hidden])
        rows = np.concatenate([gate * h + keep for gate in range(g)])
        w_ih = layer.w_ih[rows] if keep_prev is None else layer.w_ih[rows][:, keep_prev]
        layers.append(RecurrentLayer(w_ih, layer.w_hh[rows][:, keep], layer.b_ih[rows],
                                     layer.b_hh[rows]))
        keep_prev = keep
    return RecurrentSpec(spec.cell, layers, spec.dense_w[keep_prev], spec.dense_b, spec.skip,
                         spec.input_size, spec.sample_rate, spec.linear_before_reset,
                         metadata=dict(spec.metadata))


def magnitude_masks(net, fraction: float) -> dict:
    """Unstructured pruning: masks zeroing the ``fraction`` smallest weights (biases kept),
    one threshold over all weight matrices."""
    ws = {n: p for n, p in net.named_parameters() if "weight" in n}
    allw = torch.cat([p.detach().abs().flatten() for p in ws.values()])
    k = int(fraction * allw.numel())
    if k < 1:
        return {}
    thresh = torch.kthvalue(allw, k).values
    return {n: (p.detach().abs() > thresh).to(p.dtype) for n, p in ws.items()}


def apply_masks(masks):
    def hook(net):
        with torch.no_grad():
            for n, p in net.named_parameters():
                if n in masks:
                    p.mul_(masks[n])
    return hook


def _count(spec) -> tuple[int, int]:
    arrays = []

    def walk(v):
        if isinstance(v, np.ndarray):
            arrays.append(v)
        elif isinstance(v, (list, tuple)):
            for e in v:
                walk(e)
        elif hasattr(v, "__dict__"):
            for e in vars(v).values():
                walk(e)

    walk(spec.layers if isinstance(spec, RecurrentSpec) else spec.arrays)
    if isinstance(spec, RecurrentSpec):
        arrays.append(spec.dense_w)
    total = sum(a.size for a in arrays)
    return total, sum(int(np.count_nonzero(a)) for a in arrays)


def measure(v: Variant, folder: Path, data, block: int = 64) -> Variant:
    """Write ``v`` as ONNX in ``folder`` and measure it on the pedal's loader and engine."""
    from ..models import load_model
    from ..models.onnx.write import write_onnx
    from .evaluate import run_file

    path = folder / f"{len(list(folder.iterdir()))}_{v.label.replace(' ', '_')}.onnx"
    write_onnx(v.spec, path, quantize=v.quantize, metadata={"compress": v.label})
    v.path = str(path)
    raw = path.read_bytes()
    v.size, v.gz_size = len(raw), len(gzip.compress(raw, 9))
    model = load_model(path)
    v.esr = esr(run_file(model, data.xv, data.warm), data.yv)
    v.weights, v.nonzero = _count(model.spec if model.spec is not None else v.spec)
    return v


def time_variants(variants, block: int = 64, rounds: int = 3) -> None:
    """x real time of each variant's engine, interleaved over ``rounds`` (best of), so that
    the machine's drift hits every row alike."""
    from ..models import load_model
    from ..models.info import measure_xrt

    models = [load_model(v.path) for v in variants]
    best = [0.0] * len(variants)
    for _ in range(rounds):
        for i, m in enumerate(models):
            best[i] = max(best[i], measure_xrt(m, block, seconds=1.0))
    for v, x in zip(variants, best):
        v.xrt = x


@dataclass
class Data:
    """Training and validation audio: the reamp pair, or the model's own output (distilled)."""
    x: np.ndarray
    y: np.ndarray
    xv: np.ndarray
    yv: np.ndarray
    warm: np.ndarray
    sample_rate: int
    source: str


def distill_data(spec, seconds: float = 60.0, seed: int = 0) -> Data:
    """Synthesized guitar at several levels through the original model: its output is the
    target (the original's ESR is 0 by definition; the others say how far they drift)."""
    from ..synth import guitar as synth
    from .evaluate import run_spec

    sr = spec.sample_rate
    rng = np.random.default_rng(seed)
    parts, n = [], 0
    while n < seconds * sr:
        riff = synth.guitar_riff(sr, bpm=float(rng.uniform(90, 140)), seed=int(rng.integers(10 ** 9)))
        parts += [riff * float(rng.uniform(0.3, 1.6)), np.zeros(sr // 4, np.float32)]
        n += len(riff) + sr // 4
    x = np.concatenate(parts).astype(np.float32)
    y = run_spec(spec, x)
    cut = int(0.85 * len(x))
    return Data(x, y, x[cut:], y[cut:], x[max(cut - sr, 0):cut], sr,
                f"distilled: {len(x) / sr:.0f} s of synthesized guitar through the original")


def pair_data(pair, val_fraction: float = 0.15) -> Data:
    from .fit import split

    (_, _), (xv, yv), cut = split(pair.x, pair.y, val_fraction, pair.sample_rate)
    return Data(pair.x, pair.y, xv, yv, pair.x[max(cut - pair.sample_rate, 0):cut],
                pair.sample_rate, f"reamp pair {pair.input_path} -> {pair.target_path}")


def fine_tune(net, data: Data, cfg: TrainConfig, after_step=None, progress=None):
    res = train(net, data.x, data.y, data.sample_rate, cfg, progress=progress,
                after_step=after_step)
    if after_step:
        after_step(res.net)
    return res.net


def compress(spec, data: Data, *, l1: float = 0.0, prune: float = 0.0, hidden: int = 0,
             int8: bool = False, minutes: float = 3.0, progress=None, seed: int = 0,
             max_steps: int = 0):
    """The variants, cumulative: original -> L1 fine-tune (on whole hidden units when
    ``hidden`` is set) -> fewer hidden units -> pruned -> int8. Returns (variants, temporary
    folder holding their files)."""
    folder = Path(tempfile.mkdtemp(prefix="pedal-compress-"))
    cfg: dict = dict(minutes=minutes, seed=seed, max_steps=max_steps, val_fraction=0.15,
               val_every_s=max(5.0, minutes * 60 / 12), patience=6)
    variants = [measure(Variant("original", spec, None), folder, data)]
    current = spec
    if l1:
        # with --hidden the penalty is on whole units (group L1), so the units it drives
        # towards zero are the ones the cut removes; otherwise on single weights
        torch.manual_seed(seed)
        net = from_spec(current)
        group = bool(hidden) and isinstance(current, RecurrentSpec)
        tc = TrainConfig(l1=0.0 if group else l1, group_l1=l1 if group else 0.0, lr=1e-3,
                         **cfg)
        net = fine_tune(net, data, tc, progress=progress)
        current = net.to_spec()
        variants.append(measure(Variant(f"{'unit ' if group else ''}L1 {l1:g}", current,
                                        None), folder, data))
    if hidden:
        small = shrink_hidden(current, hidden)
        net = RecurrentNet.from_spec(small)
        net = fine_tune(net, data, TrainConfig(lr=2e-3, **cfg), progress=progress)
        current = net.to_spec()
        variants.append(measure(Variant(f"hidden {hidden}", current, None), folder, data))
    if prune:
        net = from_spec(current)
        masks = magnitude_masks(net, prune)
        hook = apply_masks(masks)
        hook(net)
        net = fine_tune(net, data, TrainConfig(lr=1e-3, **cfg), after_step=hook,
                        progress=progress)
        current = net.to_spec()
        v = measure(Variant(f"pruned {100 * prune:.0f}%", current, None), folder, data)
        v.sparse = True
        variants.append(v)
    if int8:
        from ..models import load_model
        from ..models.quantize import INT8_MAX_ESR, int8_error

        v = measure(Variant("int8", current, "int8"), folder, data)
        v.sparse = variants[-1].sparse
        err = int8_error(current, load_model(v.path))
        if err > INT8_MAX_ESR:  # the float weights stay (models/quantize.py says why)
            v.note = (f"int8 adds ESR {err:.4f} over the float weights (limit "
                      f"{INT8_MAX_ESR:g}): not kept")
            v.quantize = None
        else:
            v.note = f"int8 adds ESR {err:.4f} over the float weights"
        variants.append(v)
    return variants, folder


def table(variants) -> str:
    base = variants[0]
    lines = [f"{'variant':<14}{'ESR':>9}{'vs orig':>9}{'weights':>9}{'non-zero':>10}"
             f"{'bytes':>9}{'gzip':>8}{'x RT':>8}{'speed':>7}  note"]
    for v in variants:
        rel = (v.esr / base.esr) if base.esr > 0 else float("nan")
        speed = v.xrt / base.xrt if base.xrt > 0 else float("nan")
        note = v.note
        if v.sparse and speed < 1.1:
            note = "; ".join(filter(None, [note, "sparse: a size gain only (the engine "
                                                 "multiplies the zeros too)"]))
        lines.append(f"{v.label:<14}{v.esr:>9.5f}{rel:>9.2f}{v.weights:>9d}{v.nonzero:>10d}"
                     f"{v.size:>9d}{v.gz_size:>8d}{v.xrt:>8.1f}{speed:>6.2f}x  {note}")
    return "\n".join(lines)
