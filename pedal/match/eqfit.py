"""Fitting the pedal's parametric EQ (``dsp/eq.py``'s RBJ bands) to a dB curve.

Greedy then joint: each round tries every band type, started where the residual says (the
largest bump for a peak, the ends for shelves and passes), fits it alone by Levenberg-Marquardt
and keeps the one that lowers the weighted error most; after the last round all bands are
refined together. Parameters are fitted as (log frequency, gain, log Q) and kept inside the
preset schema's ranges, so the result is always a valid preset.
"""

from __future__ import annotations

import math

import numpy as np

from ..dsp.eq import Band, rbj_sos

GRID = np.geomspace(25.0, 18000.0, 144)   # where a curve is fitted (1/24 octave)
F_LO, F_HI = 20.0, 20000.0
Q_LO, Q_HI = 0.3, 8.0
G_LIM = 18.0
RIDGE = 0.75
MIN_BAND_DB = 0.3    # a fitted peak or shelf smaller than this is dropped


def response_db(bands, freqs: np.ndarray, sr: float) -> np.ndarray:
    """The cascade's magnitude in dB at ``freqs``."""
    z = np.exp(-1j * 2 * np.pi * np.asarray(freqs) / sr)
    out = np.zeros(len(freqs))
    for b in bands:
        s = rbj_sos(b, sr)
        h = (s[0] + s[1] * z + s[2] * z * z) / (1 + s[4] * z + s[5] * z * z)
        out += 20 * np.log10(np.abs(h) + 1e-12)
    return out


PEAK_LO, PEAK_HI = 40.0, 16000.0   # a peak outside them would fit what no one hears


def _band(kind: str, p: np.ndarray, rounded: bool = False) -> Band:
    """The band of parameters ``p``; ``rounded`` to what a preset shows (not while fitting:
    the steps of the numerical derivatives are finer than that)."""
    lo, hi = (PEAK_LO, PEAK_HI) if kind == "peak" else (F_LO, F_HI)
    f = float(np.clip(math.exp(p[0]), lo, hi))
    q = float(np.clip(math.exp(p[2]), Q_LO, Q_HI))
    g = float(np.clip(p[1], -G_LIM, G_LIM)) if kind in ("peak", "low_shelf", "high_shelf") \
        else 0.0
    if rounded:
        return Band(kind, round(f, 1), round(g, 2), round(q, 3))
    return Band(kind, f, g, q)


def _params(b: Band) -> np.ndarray:
    return np.array([math.log(b.freq_hz), b.gain_db, math.log(b.q)])


def _free(kind: str) -> list[int]:
    return [0, 1, 2] if kind == "peak" else ([0, 1] if kind.endswith("shelf") else [0])


def _lm(kinds, params, target, w, sr, iters=40):
    """Levenberg-Marquardt on the free parameters of every band (weighted least squares)."""
    idx = [(b, k) for b, kind in enumerate(kinds) for k in _free(kind)]
    if not idx:
        return params

    def resid(ps):
        bands = [_band(kind, p) for kind, p in zip(kinds, ps)]
        # a ridge on the gains: a big boost where the record has little content fits what
        # no one would keep (a 10 dB band costs as much as 0.6 dB of error over the grid)
        ridge = [RIDGE * p[1] for kind, p in zip(kinds, ps) if 1 in _free(kind)]
        return np.concatenate([(response_db(bands, GRID, sr) - target) * w, ridge])

    lam = 1e-2
    r = resid(params)
    err = float(r @ r)
    for _ in range(iters):
        jac = np.empty((len(r), len(idx)))
        for c, (b, k) in enumerate(idx):
            ps = [p.copy() for p in params]
            ps[b][k] += 1e-4 if k != 1 else 1e-3
            jac[:, c] = (resid(ps) - r) / (ps[b][k] - params[b][k])
        a = jac.T @ jac
        g = jac.T @ r
        step = np.linalg.solve(a + lam * np.diag(np.diag(a) + 1e-9), -g)
        trial = [p.copy() for p in params]
        for c, (b, k) in enumerate(idx):
            trial[b][k] += step[c]
        for kind, p in zip(kinds, trial):  # inside the schema's ranges
            p[0] = np.clip(p[0], math.log(F_LO), math.log(F_HI))
            p[1] = np.clip(p[1], -G_LIM, G_LIM)
            p[2] = np.clip(p[2], math.log(Q_LO), math.log(Q_HI))
        rt = resid(trial)
        et = float(rt @ rt)
        if et < err:
            params, r, err, lam = trial, rt, et, lam * 0.3
            if err - et < 1e-9 * max(err, 1e-12):
                break
        else:
            lam *= 10
            if lam > 1e8:
                break
    return params


def _starts(kind: str, resid: np.ndarray):
    """Where a band of ``kind`` starts, read off the residual (target minus what is fitted)."""
    if kind == "peak":
        k = int(np.argmax(np.abs(resid)))
        return [np.array([math.log(GRID[k]), resid[k], math.log(1.0)]),
                np.array([math.log(GRID[k]), resid[k], math.log(3.0)])]
    if kind == "low_shelf":
        return [np.array([math.log(f), resid[GRID < f].mean(), math.log(0.7071)])
                for f in (120.0, 300.0)]
    if kind == "high_shelf":
        return [np.array([math.log(f), resid[GRID > f].mean(), math.log(0.7071)])
                for f in (2500.0, 6000.0)]
    if kind == "high_pass":
        return [np.array([math.log(f), 0.0, math.log(0.7071)]) for f in (40.0, 90.0)]
    return [np.array([math.log(f), 0.0, math.log(0.7071)]) for f in (6000.0, 11000.0)]


def fit_eq(target_db: np.ndarray, weights: np.ndarray | None = None, *, sr: float = 48000.0,
           max_bands: int = 8, min_gain_db: float = 0.1) -> tuple[list[Band], float]:
    """Bands whose response (plus one broadband gain) best fits ``target_db`` on ``GRID``.
    Returns (bands, gain_db). Stops when a band would lower the RMS error by less than
    ``min_gain_db``."""
    target = np.asarray(target_db, np.float64)
    w = np.ones(len(GRID)) if weights is None else np.sqrt(np.asarray(weights, np.float64))
    w = w / (np.sqrt(np.mean(w * w)) + 1e-12)
    kinds: list[str] = []
    params: list[np.ndarray] = []

    def gain_of(cur):
        return float(np.average(target - cur, weights=w * w + 1e-12))

    def rms(cur, g):
        return float(np.sqrt(np.mean(((cur + g - target) * w) ** 2)))

    cur = np.zeros(len(GRID))
    gain = gain_of(cur)
    err = rms(cur, gain)
    for _ in range(max_bands):
        best = None
        for kind in ("peak", "low_shelf", "high_shelf", "high_pass", "low_pass"):
            if kind in ("high_pass", "low_pass") and kind in kinds:
                continue
            for start in _starts(kind, target - gain - cur):
                trial = _lm(kinds + [kind], params + [start], target - gain, w, sr, iters=15)
                bands = [_band(k, p) for k, p in zip(kinds + [kind], trial)]
                c = response_db(bands, GRID, sr)
                g = gain_of(c)
                e = rms(c, g)
                if best is None or e < best[0]:
                    best = (e, kind, trial, c, g)
        if best is None or err - best[0] < min_gain_db:
            break
        err, kind, params, cur, gain = best
        kinds = kinds + [kind]
    if kinds:
        params = _lm(kinds, params, target - gain, w, sr, iters=60)
        keep = [i for i, (k, p) in enumerate(zip(kinds, params))
                if 1 not in _free(k) or abs(p[1]) >= MIN_BAND_DB]
        kinds, params = [kinds[i] for i in keep], [params[i] for i in keep]
        cur = response_db([_band(k, p) for k, p in zip(kinds, params)], GRID, sr)
        gain = gain_of(cur)
    return [_band(k, p, rounded=True) for k, p in zip(kinds, params)], gain
