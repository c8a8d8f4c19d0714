"""Which part of the record is the DI's part, and which record frame each DI frame matches.

Coarse: subsequence DTW of chroma and onset strength (features distortion leaves standing) at
~43 ms, the DI against the whole record; its confidence compares the cost of the best path with
the best path of the DI played backwards (the same notes without their order): a record that
holds the DI's part is much closer forwards than backwards, another passage is not.
Fine: the same DTW at 10 ms, in a corridor of +-0.5 s around the coarse path.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import PedalError
from ..kernels.dtw import dtw_backtrack, dtw_band, new_work
from .features import RATE, chroma, magnitude, onset_strength

COARSE_FFT, COARSE_HOP = 4096, 2048
FINE_FFT, FINE_HOP = 2048, 480
MAX_DI_S = 120.0           # the DI analysed for alignment (the rest is not needed)
MAX_REF_S = 15 * 60.0      # the longest record searched
CORRIDOR_S = 0.5
PENALTY = 0.1              # cost of a step that is not one record frame per DI frame
W_FLUX = 0.05
MIN_GAIN = 0.12            # forwards must beat backwards by this fraction to count as found
TEMPO_RANGE = (0.9, 1.1)
SMOOTH = 15                # frames each side the path is smoothed over


@dataclass
class Alignment:
    found: bool
    confidence: float          # (backwards - forwards) / backwards of the coarse path costs
    start_s: float             # the section of the record the DI's part occupies
    end_s: float
    tempo: float               # record seconds per DI second (1.02: the record runs slower)
    hop: int = FINE_HOP
    path: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))  # record frame
    reason: str = ""           # of each DI frame (at hop), when found
    shift: float = 0.0         # samples added to every centre (``refine_shift``)

    @property
    def centres(self) -> np.ndarray:
        """The record sample each DI frame's centre corresponds to: the path smoothed over
        +-SMOOTH frames, so that the staircase of whole frames becomes sub-frame positions
        (windows of 5 ms cannot be compared half a hop apart)."""
        p = self.path.astype(np.float64)
        if len(p) == 0:
            return p
        k = min(SMOOTH, (len(p) - 1) // 2)
        pad = np.concatenate([2 * p[0] - p[k:0:-1], p, 2 * p[-1] - p[-2:-k - 2:-1]]) \
            if k > 0 else p
        sm = np.convolve(pad, np.ones(2 * k + 1) / (2 * k + 1), mode="valid")
        return sm * self.hop + self.shift

    def describe(self) -> str:
        if not self.found:
            return (f"the DI's part was not found in the record (confidence {self.confidence:.2f}"
                    f"; {self.reason}): matched on the record's statistics instead")
        return (f"the DI's part is at {self.start_s:.2f}-{self.end_s:.2f} s of the record, "
                f"tempo ratio {self.tempo:.4f}, confidence {self.confidence:.2f}")


def _run(q, qf, r, rf, starts, width):
    prev, cur, ptr = new_work(len(q), width)
    dtw_band(q, r, qf, rf, W_FLUX, starts, width, PENALTY, prev, cur, ptr)
    return prev, ptr


def _best_path(q, qf, r, rf, starts, width):
    last, ptr = _run(q, qf, r, rf, starts, width)
    k = int(np.argmin(last))
    cost = float(last[k]) / len(q)
    path = np.zeros(len(q), np.int64)
    dtw_backtrack(ptr, starts, int(starts[-1] + k), path)
    return cost, path


def _features(x, n_fft, hop):
    mag = magnitude(x, n_fft, hop)
    return chroma(mag, n_fft), onset_strength(mag)


def _fit_line(path: np.ndarray, weights: np.ndarray) -> tuple[float, float]:
    i = np.arange(len(path), dtype=np.float64)
    w = weights + 1e-6
    mi, mj = np.average(i, weights=w), np.average(path, weights=w)
    var = np.average((i - mi) ** 2, weights=w)
    slope = np.average((i - mi) * (path - mj), weights=w) / var if var > 0 else 1.0
    return float(slope), float(mj - slope * mi)


def align(di: np.ndarray, ref: np.ndarray, progress=None) -> Alignment:
    """Both at ``RATE``, mono. Bounded: the DI's first MAX_DI_S, a record of MAX_REF_S."""
    if len(ref) > MAX_REF_S * RATE:
        raise PedalError(f"the record is {len(ref) / RATE / 60:.1f} min long; give at most "
                         f"{MAX_REF_S / 60:.0f} min (cut the part with the guitar)")
    di = di[: int(MAX_DI_S * RATE)]
    q, qf = _features(di, COARSE_FFT, COARSE_HOP)
    r, rf = _features(ref, COARSE_FFT, COARSE_HOP)
    n, m = len(q), len(r)
    starts = np.zeros(n, np.int64)
    cost, cpath = _best_path(q, qf, r, rf, starts, m)
    if progress:
        progress(0.4)
    back, _ = _best_path(q[::-1].copy(), qf[::-1].copy(), r, rf, starts, m)
    if progress:
        progress(0.7)
    conf = float((back - cost) / back) if back > 0 else 0.0
    active = np.linalg.norm(q, axis=1)
    slope, icpt = _fit_line(cpath.astype(np.float64), active)
    start_s = max(0.0, icpt) * COARSE_HOP / RATE
    end_s = min(m, icpt + slope * n) * COARSE_HOP / RATE
    reason = ""
    if conf < MIN_GAIN:
        reason = f"the best path is only {100 * conf:.0f} % closer than the DI backwards"
    elif not TEMPO_RANGE[0] <= slope <= TEMPO_RANGE[1]:
        reason = f"the path's tempo ratio {slope:.2f} is outside {TEMPO_RANGE[0]}..{TEMPO_RANGE[1]}"
    elif m < 0.5 * n:
        reason = "the record is shorter than half the DI"
    if reason:
        return Alignment(False, conf, start_s, end_s, slope, reason=reason)
    # fine: 10 ms frames in a corridor around the coarse path
    qf_, qff = _features(di, FINE_FFT, FINE_HOP)
    lo = max(0, int((start_s - 2 * CORRIDOR_S) * RATE)) // FINE_HOP * FINE_HOP
    hi = min(len(ref), int((end_s + 2 * CORRIDOR_S) * RATE))
    rf_, rff = _features(ref[lo:hi], FINE_FFT, FINE_HOP)
    scale = COARSE_HOP / FINE_HOP
    i_fine = np.arange(len(qf_)) / scale
    centre = np.interp(i_fine, np.arange(n), cpath.astype(np.float64)) * scale - lo / FINE_HOP
    half = int(CORRIDOR_S * RATE / FINE_HOP)
    starts = np.round(centre).astype(np.int64) - half
    _, path = _best_path(qf_, qff, rf_, rff, starts, 2 * half + 1)
    path = path + lo // FINE_HOP
    if progress:
        progress(1.0)
    slope_f, icpt_f = _fit_line(path.astype(np.float64), np.linalg.norm(qf_, axis=1))
    return Alignment(True, conf, icpt_f * FINE_HOP / RATE,
                     (icpt_f + slope_f * len(qf_)) * FINE_HOP / RATE, slope_f, FINE_HOP, path)
