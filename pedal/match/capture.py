"""``pedal match --capture``: beyond the library. When the record holds the DI's part, the amp
of the best library rig is fine-tuned (an LSTM/GRU or NAM A1 WaveNet, which ``pedal train``'s
networks mirror; any other model is replaced by a fresh LSTM-16) so that the rig, with its
cabinet and EQ held fixed, plays the DI as the record sounds.

The DI and the record are two performances, not a reamp pair: they agree frame by frame after
the alignment, not sample by sample, so a waveform loss (ESR) does not apply. The record is
warped onto the DI's clock along the alignment path and the loss is what the match scores:
band levels at FFT 1024 and 4096 (``target``), which forgive the few milliseconds the path is
off. The last fifth of the aligned DI is held out; the capture
is kept only when the rig with it is closer to the record there than the library's rig.
Needs PyTorch (``pip install -e '.[train]'``); the default match never imports it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from ..errors import PedalError
from .align import Alignment
from .features import RATE
from .search import apply_eq, convolve
from .target import HOP, SIZES as TARGET_SIZES, Target

HOLD_OUT = 0.2
SEGMENT = 8192       # samples of loss per training segment (after a burn-in for recurrent nets)
BURN_IN = 4096
BATCH = 8
LR_FINE, LR_FRESH = 1e-3, 5e-3
VALIDATE_S = 15.0    # seconds of training between held-out checks (the best is kept)
FIR_TAPS = 8192      # the cabinet and EQ while training (170 ms: where cabinets have decayed)


@dataclass
class Capture:
    spec: object               # the fine-tuned model's description
    out_gain_db: float         # the library rig's output gain the net was trained behind
    held_out_db: float         # distance of the rig with the capture on the held-out frames
    library_db: float          # the same for the library's rig
    steps: int
    seconds: float
    start: str                 # what it started from

    @property
    def kept(self) -> bool:
        return self.held_out_db < self.library_db - 0.05


def warp(ref: np.ndarray, al: Alignment, n: int) -> np.ndarray:
    """The record on the DI's clock: DI sample t reads the record where the path puts it."""
    frames_t = np.arange(len(al.path)) * al.hop
    pos = np.interp(np.arange(n), frames_t, al.centres)
    return np.interp(pos, np.arange(len(ref)), ref).astype(np.float32)


def _fir(taps, bands) -> np.ndarray:
    """The cabinet and the EQ as one impulse response, FIR_TAPS long (faded out)."""
    imp = np.zeros(FIR_TAPS, np.float32)
    imp[0] = 1.0
    h = apply_eq(imp, bands)
    if taps is not None:
        h = np.convolve(taps[:FIR_TAPS], h)[:FIR_TAPS]
    fade = np.ones(FIR_TAPS, np.float32)
    fade[-FIR_TAPS // 8:] = np.linspace(1, 0, FIR_TAPS // 8)
    return (h * fade).astype(np.float32)


def _fft_conv(torch, a, h_f, n_h):
    """Each row of a [B, T] convolved with the FIR whose rfft is h_f; the T - n_h + 1 samples
    that have a full history."""
    size = a.shape[1]
    out = torch.fft.irfft(torch.fft.rfft(a, size) * h_f, size)
    return out[:, n_h - 1:]


def _band_loss(torch, bands, p, t):
    """What the match scores, made differentiable: band levels (dB) of both at each window,
    floored FLOOR_DB below the record's loudest band, their mean absolute difference over the
    record's content after the best (mean) broadband offset."""
    from .features import FLOOR_DB
    from .target import CONTENT_DB

    loss = 0.0
    for n, bm in bands.items():
        win = torch.hann_window(n, dtype=p.dtype)
        lv = []
        for v in (p, t):
            pw = torch.stft(v, n, HOP, window=win, return_complex=True).abs() ** 2
            lv.append(10 * torch.log10(torch.einsum("bft,fk->btk", pw, bm) + 1e-18))
        top = lv[1].max()
        lp, lt = (torch.clamp(v, min=top + FLOOR_DB) for v in lv)
        mask = (lt > top + CONTENT_DB).to(p.dtype)
        d = (lt - lp) * mask
        off = d.sum() / (mask.sum() + 1e-9)
        loss = loss + torch.sum(torch.abs(d - off * mask)) / (mask.sum() + 1e-9)
    return loss / len(bands)


def capture(x: np.ndarray, ref: np.ndarray, al: Alignment, model, gain_db: float,
            out_gain_db: float, taps, bands, minutes: float, log=None) -> Capture:
    """x: the DI at RATE (aligned part); model: the library rig's ModelFile; out_gain_db: the
    gain the rig applies after the model (its loudness normalisation)."""
    if not al.found:
        raise PedalError("--capture needs the DI's part in the record (it trains on the "
                         "aligned frames); the alignment did not find it")
    from ..train.commands import import_torch

    torch = import_torch(1)  # PedalError without PyTorch (match checks that before searching)
    from ..train.fit import predict
    from ..train.nets import RecurrentNet, build, from_spec

    say = log or (lambda line: None)
    n = min(len(x), len(al.path) * al.hop)
    x = x[:n]
    target = warp(ref, al, n)
    g_in = 10 ** (gain_db / 20)
    g_out = 10 ** (out_gain_db / 20)
    h = _fir(taps, bands)
    try:
        if model.sample_rate != RATE:
            raise PedalError(f"it runs at {model.sample_rate} Hz, captures at {RATE} Hz")
        net = from_spec(model.spec)
        start = f"{model.describe()} (fine-tuned)"
    except Exception as exc:  # noqa: BLE001 - anything the trainer does not mirror
        torch.manual_seed(0)
        net = build({"kind": "recurrent", "cell": "lstm", "hidden": 16, "layers": 1}, RATE)
        why = str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__
        start = f"a fresh LSTM-16 (the library's model cannot be fine-tuned: {why})"
    net = net.float()
    rec = isinstance(net, RecurrentNet)
    cut = int(n * (1 - HOLD_OUT)) // al.hop * al.hop
    # the record at the rig's level (the loss is not gain-free; the rig's level is the pedal's)
    lib_val = _library_rig(model, x, cut, gain_db, h)  # the pedal's engine, not the net
    scale = float(np.sqrt(np.mean(lib_val[0] ** 2) / max(np.mean(target[:cut] ** 2), 1e-20)))
    target = target * scale
    t_val = Target(ref * scale, al, range(cut // al.hop, n // al.hop))
    library_db = t_val.distance(lib_val[1])
    pre = (BURN_IN if rec else net.receptive_field - 1)
    hl = len(h)
    seg = pre + hl + SEGMENT
    if cut <= seg + 1:
        raise PedalError(f"--capture: the aligned DI is {n / RATE:.1f} s; it needs at least "
                         f"{(seg + 1) / RATE / (1 - HOLD_OUT):.1f} s")
    xt = torch.tensor(x[:cut] * g_in)
    yt = torch.tensor(target[:cut])
    amp_len = seg - pre if rec else seg - net.receptive_field + 1
    h_f = torch.fft.rfft(torch.tensor(h), amp_len)
    from .target import _bands

    band_m = {n: torch.tensor(_bands(n)) for n in TARGET_SIZES}
    opt = torch.optim.Adam(net.parameters(), lr=LR_FINE if "fine-tuned" in start else LR_FRESH)
    rng = np.random.default_rng(0)
    t0 = time.monotonic()
    steps, run_loss = 0, 0.0
    best: tuple[float, dict | None] = (library_db, None)
    next_val = VALIDATE_S
    while time.monotonic() - t0 < minutes * 60:
        idx = rng.integers(0, cut - seg, BATCH)
        sel = torch.tensor(idx)[:, None] + torch.arange(seg)[None]
        xb, yb = xt[sel], yt[sel]
        if rec:
            with torch.no_grad():
                _, state = net(xb[:, :pre])
            amp, _ = net(xb[:, pre:], state)
        else:
            amp, _ = net(xb)
        amp = amp * g_out
        wet = _fft_conv(torch, amp, h_f, hl)   # the cabinet and EQ
        loss = _band_loss(torch, band_m, wet, yb[:, -wet.shape[1]:])
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        steps += 1
        run_loss = float(loss.item()) if steps == 1 else 0.95 * run_loss + 0.05 * float(loss.item())
        if time.monotonic() - t0 >= next_val:
            next_val += VALIDATE_S
            d = t_val.distance(_rig(net, predict, x, cut, g_in, g_out, h)[1])
            say(f"capture: step {steps}, training loss {run_loss:.2f} dB, held-out distance "
                f"{d:.2f} dB (library {library_db:.2f} dB)")
            if d < best[0]:
                best = (d, {k: v.detach().clone() for k, v in net.state_dict().items()})
    d = t_val.distance(_rig(net, predict, x, cut, g_in, g_out, h)[1])
    if d < best[0]:
        best = (d, None)
    elif best[1] is not None:
        net.load_state_dict(best[1])
    net = net.double()
    return Capture(net.to_spec(), out_gain_db, best[0], library_db, steps,
                   time.monotonic() - t0, start)


def _library_rig(model, x, cut, gain_db, h):
    """(training part, held-out part) of the library's rig as the pedal plays it (gate open),
    with the cabinet and EQ as the capture trains behind them."""
    from .search import amp_render

    y = convolve(amp_render(model, x, gain_db, -120.0), h)
    return y[:cut], y[cut:]


def _rig(net, predict, x, cut, g_in, g_out, h):
    """(the rig's output over the training part, over the held-out part) with ``net``."""
    net.eval()
    out = []
    for a, b in ((0, cut), (cut, len(x))):
        warm = x[max(a - RATE, 0):a] * g_in if a else None
        amp = (predict(net, x[a:b] * g_in, warm) * g_out).astype(np.float32)
        out.append(convolve(amp, h))
    net.train()
    return out
