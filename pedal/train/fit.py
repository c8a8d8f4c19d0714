"""The training loop: error-to-signal ratio with pre-emphasis (and an optional multi-resolution
STFT term), truncated back-propagation with a burn-in for recurrent networks, a held-out
validation split, early stopping, and checkpoints a later run resumes from.

Checkpoints are ``.npz`` archives of arrays plus a JSON header (``allow_pickle=False`` on the
way in): data, never code.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ..audio.files import atomic_path
from ..errors import PedalError
from .nets import RecurrentNet

PRE_EMPH = 0.85
VERDICTS = ((0.01, "great"), (0.035, "not bad"), (0.1, "might be ok"),
            (0.3, "won't sound great"))


def verdict(esr: float) -> str:
    for bound, word in VERDICTS:
        if esr < bound:
            return word
    return "something went wrong"


@dataclass
class TrainConfig:
    minutes: float = 10.0  # wall-clock budget
    max_steps: int = 0  # 0: no limit
    lr: float = 0.0  # 0: the architecture's default
    batch: int = 0  # 0: the architecture's default
    val_fraction: float = 0.15
    val_every_s: float = 20.0  # validation (and checkpoint) interval, seconds of training
    val_every_steps: int = 0  # or every N steps, when set (deterministic tests)
    patience: int = 8  # validations without a 0.5 % improvement before stopping
    # learning rate: "cosine" anneals over the budget, "plateau" halves when validation stalls;
    # "" picks per architecture: on the shared reamp pair (15 min, one thread) an LSTM-16 ended
    # at ESR 0.048 with plateau and 0.063 with cosine; the nano WaveNet reached 0.0175 with cosine
    schedule: str = ""
    mrstft: float = 0.0  # weight of the multi-resolution STFT term
    l1: float = 0.0  # L1 penalty on weights (compress uses it)
    group_l1: float = 0.0  # L1 on whole hidden units' weight norms (LSTM/GRU; compress)
    burn_in: int = 2048  # recurrent: samples run without gradient before each window
    truncate: int = 1024  # recurrent: samples per back-propagation window
    windows: int = 4  # recurrent: windows per sampled segment
    wavenet_ny: int = 8192  # WaveNet: output samples per segment
    seed: int = 0
    device: str = "cpu"


@dataclass
class TrainResult:
    net: torch.nn.Module
    esr: float  # validation ESR of the kept (best) weights
    steps: int
    seconds: float
    stopped: str
    history: list = field(default_factory=list)  # (step, seconds, train loss, val ESR)
    val_input: np.ndarray | None = None
    val_target: np.ndarray | None = None
    val_pred: np.ndarray | None = None

    @property
    def verdict(self) -> str:
        return verdict(self.esr)


def esr(pred: np.ndarray, target: np.ndarray) -> float:
    t = np.asarray(target, np.float64)
    return float(np.sum((np.asarray(pred, np.float64) - t) ** 2) / max(np.sum(t ** 2), 1e-20))


def _pre(v):
    return v[..., 1:] - PRE_EMPH * v[..., :-1]


def _esr_t(p, t):
    """Over the whole batch (a per-segment ratio explodes on a segment of silence)."""
    return torch.sum((p - t) ** 2) / (torch.sum(t ** 2) + 1e-8)


def _mrstft(p, t, sizes=(2048, 512, 128)):
    loss = 0.0
    for n in sizes:
        win = torch.hann_window(n, device=p.device, dtype=p.dtype)
        sp = torch.stft(p, n, n // 4, window=win, return_complex=True).abs()
        st = torch.stft(t, n, n // 4, window=win, return_complex=True).abs()
        sc = torch.norm(st - sp) / (torch.norm(st) + 1e-8)
        mag = torch.mean(torch.abs(torch.log(st + 1e-7) - torch.log(sp + 1e-7)))
        loss = loss + sc + mag
    return loss / len(sizes)


def loss_fn(pred, target, cfg: TrainConfig, net):
    loss = _esr_t(_pre(pred), _pre(target)) + 0.5 * _esr_t(pred, target)
    if cfg.mrstft:
        loss = loss + cfg.mrstft * _mrstft(pred, target)
    if cfg.l1:
        loss = loss + cfg.l1 * sum(p.abs().sum() for n, p in net.named_parameters()
                                   if "weight" in n)
    if cfg.group_l1 and isinstance(net, RecurrentNet):
        loss = loss + cfg.group_l1 * net.unit_norms().sum()
    return loss


def predict(net, x: np.ndarray, warm: np.ndarray | None = None, chunk: int = 1 << 16):
    """Run ``net`` over ``x`` from its deployed initial state: the zero-input steady state
    (WaveNet: zero history; recurrent: the state a long silence leaves), after ``warm`` (the
    audio just before ``x``, so a validation slice starts mid-performance as it does in use)."""
    p = next(net.parameters())
    pre = np.zeros(0, np.float32) if warm is None else np.asarray(warm, np.float32)
    full = np.concatenate([pre, np.asarray(x, np.float32)])
    out = np.empty(len(x), np.float64)
    with torch.no_grad():
        if isinstance(net, RecurrentNet):
            state = net.steady_state()
            pos = 0
            for i in range(0, len(full), chunk):
                y, state = net(torch.tensor(full[None, i:i + chunk], dtype=p.dtype,
                                            device=p.device), state)
                y = y[0].cpu().double().numpy()
                lo = max(len(pre) - i, 0)
                out[pos:pos + len(y) - lo] = y[lo:]
                pos += len(y) - lo
        else:
            r = net.receptive_field
            padded = np.concatenate([np.zeros(r - 1, np.float32), full])
            for i in range(len(pre), len(full), chunk):
                seg = padded[i:i + chunk + r - 1]
                y, _ = net(torch.tensor(seg[None], dtype=p.dtype, device=p.device))
                y = y[0].cpu().double().numpy()
                out[i - len(pre):i - len(pre) + len(y)] = y
    return out


# ---------------------------------------------------------------------------------------------
def _defaults(net, cfg: TrainConfig):
    rec = isinstance(net, RecurrentNet)
    lr = cfg.lr or (5e-3 if rec else 4e-3)
    batch = cfg.batch or (32 if rec else 8)
    schedule = cfg.schedule or ("plateau" if rec else "cosine")
    if schedule not in ("cosine", "plateau"):
        raise PedalError(f"schedule: must be cosine or plateau, got {schedule!r}")
    return lr, batch, schedule


def _params_state(net, opt, extra: dict) -> tuple[dict, dict]:
    arrays = {f"p/{k}": v.detach().cpu().numpy() for k, v in net.state_dict().items()}
    osd = opt.state_dict()
    for idx, st in osd["state"].items():
        for k, v in st.items():
            arrays[f"o/{idx}/{k}"] = v.detach().cpu().numpy() if torch.is_tensor(v) \
                else np.asarray(v)
    header = {**extra, "param_groups": osd["param_groups"]}
    return arrays, header


def save_checkpoint(path, net, opt, best_params, header: dict) -> None:
    arrays, head = _params_state(net, opt, header)
    if best_params is not None:
        arrays.update({f"b/{k}": v for k, v in best_params.items()})
    arrays["header"] = np.frombuffer(json.dumps(head).encode(), np.uint8)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def load_checkpoint(path, net, opt, identity: dict):
    """Restore net and optimiser from a checkpoint made for ``identity`` (architecture and
    data); returns (header, best params or None)."""
    try:
        z = np.load(path, allow_pickle=False)
        header = json.loads(bytes(z["header"]).decode())
    except (OSError, ValueError, KeyError) as exc:
        raise PedalError(f"{path}: not a pedal checkpoint ({str(exc)[:100]}); delete it to "
                         "start again") from None
    if header.get("identity") != identity:
        raise PedalError(f"{path}: checkpoint is for a different model or pair "
                         f"({header.get('identity')}); delete it or drop --resume")
    try:
        sd = {k[2:]: torch.tensor(z[k]) for k in z.files if k.startswith("p/")}
        net.load_state_dict(sd)
        state: dict = {}
        for k in z.files:
            if k.startswith("o/"):
                _, idx, name = k.split("/", 2)
                state.setdefault(int(idx), {})[name] = torch.tensor(z[k])
        opt.load_state_dict({"state": state, "param_groups": header["param_groups"]})
        best = {k[2:]: z[k] for k in z.files if k.startswith("b/")} or None
    except (OSError, ValueError, KeyError, RuntimeError) as exc:
        why = " ".join(str(exc).split())[:200]
        raise PedalError(f"{path}: checkpoint cannot be resumed ({why}); delete it to start "
                         "again") from None
    return header, best


def split(x, y, val_fraction: float, sr: int):
    """Train on the start, validate on the last ``val_fraction`` (at least 1 s)."""
    n_val = max(int(len(x) * val_fraction), sr)
    if len(x) - n_val < 2 * sr:
        raise PedalError(f"the pair is {len(x) / sr:.1f} s: too short to hold out "
                         f"{n_val / sr:.1f} s for validation and still train")
    cut = len(x) - n_val
    return (x[:cut], y[:cut]), (x[cut:], y[cut:]), cut


def train(net, x: np.ndarray, y: np.ndarray, sr: int, cfg: TrainConfig, *,
          progress=None, checkpoint=None, resume: bool = False, identity: dict | None = None,
          after_step=None):
    """Fit ``net`` to map x -> y. ``progress(frac, step, seconds, loss, val, best)`` is called
    after every step; ``checkpoint``: a path written at each validation, resumed from when
    ``resume`` and its ``identity`` (architecture, data) matches; ``after_step(net)`` runs
    after every optimiser step (compress keeps pruned weights at zero with it)."""
    dev = torch.device(cfg.device)
    net.to(dev)
    lr, batch, schedule = _defaults(net, cfg)
    (xt, yt), (xv, yv), cut = split(x, y, cfg.val_fraction, sr)
    warm = x[max(cut - sr, 0):cut]  # one second of context before the validation slice
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    rng = np.random.default_rng(cfg.seed)
    step, elapsed, best_esr, best, since, history = 0, 0.0, np.inf, None, 0, []
    identity = identity or {}
    ckpt = Path(checkpoint) if checkpoint else None
    if ckpt and resume and ckpt.exists():
        header, best = load_checkpoint(ckpt, net, opt, identity)
        step, elapsed = header["step"], header["seconds"]
        best_esr, since, history = header["best_esr"], header["since"], header["history"]
        rng.bit_generator.state = header["rng"]
    rec = isinstance(net, RecurrentNet)
    seg = cfg.burn_in + cfg.windows * cfg.truncate if rec \
        else net.receptive_field - 1 + cfg.wavenet_ny
    if len(xt) <= seg:
        seg = len(xt) - 1
    xt_t = torch.tensor(xt, device=dev)
    yt_t = torch.tensor(yt, device=dev)
    budget = cfg.minutes * 60
    stopped = "time budget"
    t0 = time.monotonic() - elapsed
    next_val = elapsed + cfg.val_every_s
    loss_v = float("nan")
    val = best_esr if np.isfinite(best_esr) else float("nan")

    def batch_of(n):
        idx = rng.integers(0, len(xt) - n, batch)
        ar = torch.arange(n, device=dev)
        sel = torch.tensor(idx, device=dev)[:, None] + ar[None]
        return xt_t[sel], yt_t[sel]

    def update(loss):
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        if after_step:
            after_step(net)

    while True:
        net.train()
        if rec:
            xb, yb = batch_of(seg)
            with torch.no_grad():
                _, state = net(xb[:, :cfg.burn_in])
            for w in range(cfg.windows):
                a = cfg.burn_in + w * cfg.truncate
                pred, state = net(xb[:, a:a + cfg.truncate], state)
                loss = loss_fn(pred, yb[:, a:a + cfg.truncate], cfg, net)
                update(loss)
                state = tuple(s.detach() for s in state) if isinstance(state, tuple) \
                    else state.detach()
        else:
            xb, yb = batch_of(seg)
            pred, _ = net(xb)
            loss = loss_fn(pred, yb[:, -pred.shape[-1]:], cfg, net)
            update(loss)
        loss_v = float(loss.item())
        if not np.isfinite(loss_v):
            raise PedalError("training diverged (the loss is not finite); try a lower --lr")
        step += 1
        elapsed = time.monotonic() - t0
        frac = min(elapsed / budget, 1.0)
        if cfg.max_steps:
            frac = max(frac, step / cfg.max_steps)
        if schedule == "cosine":  # anneal to 2 % of the rate at the end of the budget
            for g in opt.param_groups:
                g["lr"] = lr * (0.02 + 0.98 * 0.5 * (1.0 + math.cos(math.pi * frac)))
        due = (step % cfg.val_every_steps == 0) if cfg.val_every_steps else elapsed >= next_val
        out_of_time = elapsed >= budget or (cfg.max_steps and step >= cfg.max_steps)
        if due or out_of_time:
            next_val = elapsed + cfg.val_every_s
            net.eval()
            val = esr(predict(net, xv, warm), yv)
            history.append((step, round(elapsed, 2), loss_v, val))
            if val < best_esr * 0.995:
                since = 0
            else:
                since += 1
                if schedule == "plateau" and since % max(cfg.patience // 2, 1) == 0:
                    for g in opt.param_groups:
                        g["lr"] *= 0.5
            if val < best_esr:
                best_esr = val
                best = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
            if ckpt:
                save_checkpoint(ckpt, net, opt, best, {
                    "identity": identity, "step": step, "seconds": elapsed,
                    "best_esr": best_esr, "since": since, "history": history,
                    "rng": rng.bit_generator.state})
            if since >= cfg.patience:
                stopped = f"no improvement in {cfg.patience} validations"
                break
        if progress:
            progress(frac, step, elapsed, loss_v, val, best_esr)
        if out_of_time:
            stopped = "step limit" if (cfg.max_steps and step >= cfg.max_steps) \
                else "time budget"
            break
    if best is not None:
        net.load_state_dict({k: torch.tensor(v) for k, v in best.items()})
    net.eval()
    pred = predict(net, xv, warm)
    return TrainResult(net.cpu(), esr(pred, yv), step, time.monotonic() - t0, stopped, history,
                       xv, yv, pred)
