"""The record as something to score against: its spectra at the frames the DI's frames align
with, or, when the DI's part is not in it, the distribution of each band's level over its
frames (``_stats``).

Spectra are band powers (40 Hz..16 kHz; sixth octaves at FFT 1024, twelfth at 4096):
tone is a spectral envelope and its motion, not where a partial falls among the FFT bins (a
record a little off in tape speed moves every partial; band powers hardly notice).
A candidate (the DI through some rig) is scored by ``distance``: the mean absolute dB
difference of the band levels, each signal floored FLOOR_DB below its own loudest band, after
the best broadband gain (the record's level is not its tone), over the bands where the record
has content. ``eq_target`` is the per-band dB difference an EQ after the rig should add.
"""

from __future__ import annotations

import numpy as np

from .align import FINE_HOP, Alignment
from .features import FLOOR_DB, band_matrix, magnitude

HOP = FINE_HOP
CONTENT_DB = -60.0   # a record band this far below its loudest is not scored
# Windows the match is scored with. Not 256: another take is never aligned to the millisecond
# a 5 ms window needs (2 ms off costs 4 dB there and under 0.3 dB at 4096), so it would rank
# rigs by timing noise. The benchmark, which has the truth sample for sample, uses 256 too.
SIZES = (1024, 4096)


def _edges(per_octave: int) -> np.ndarray:
    return 40.0 * 2.0 ** (np.arange(0, int(np.log2(16000 / 40) * per_octave) + 2) / per_octave)


# bands per window: sixth octaves at 1024; twelfth octaves at 4096, fine enough to tell a
# cabinet's resonances from an EQ imitating them (a tape speed 2 % off moves a partial by a
# third of such a band)
EDGES = {1024: _edges(6), 4096: _edges(12)}
CENTRES = {s: np.sqrt(e[:-1] * e[1:]) for s, e in EDGES.items()}
_BANDS: dict[int, np.ndarray] = {}


def _bands(size: int) -> np.ndarray:
    if size not in _BANDS:
        _BANDS[size] = band_matrix(size, EDGES.get(size, EDGES[1024])).T.astype(np.float32)
    return _BANDS[size]


def band_db(x: np.ndarray, size: int, centres: np.ndarray | None = None) -> np.ndarray:
    """[frames, bands] band levels in dB of x's STFT with window ``size``, frames at HOP or
    centred on ``centres``."""
    power = magnitude(x, size, HOP, centres=centres) ** 2
    return (10 * np.log10(power @ _bands(size) + 1e-18)).astype(np.float32)


def response_bands(h_db_bins: np.ndarray, size: int) -> np.ndarray:
    """A magnitude response over rfft bins (dB) read as band levels."""
    return 10 * np.log10((10 ** (h_db_bins / 10)) @ _bands(size) + 1e-18)


def smooth_bands(curve: np.ndarray, width: int = 3) -> np.ndarray:
    k = np.ones(width) / width
    pad = np.concatenate([np.repeat(curve[:1], width // 2), curve,
                          np.repeat(curve[-1:], width // 2)])
    return np.convolve(pad, k, mode="valid")


def _floored(db: np.ndarray) -> np.ndarray:
    return np.maximum(db, db.max() + FLOOR_DB)


QUANTILES = np.arange(50, 100, 5)


def _stats(db: np.ndarray) -> np.ndarray:
    """[quantiles, bands]: each band's level distribution over the active frames (within 40 dB
    of the loudest). An EQ moves every quantile of a band alike, so what is left after the
    EQ is the distribution's shape: how the rig's dynamics and distortion spread each band."""
    total = 10 * np.log10(np.sum(10 ** (db.astype(np.float64) / 10), axis=1) + 1e-18)
    active = total > total.max() - 40
    if active.sum() < len(QUANTILES):
        active[:] = True
    return np.percentile(db[active], QUANTILES, axis=0).astype(np.float32)


class Target:
    """Built from the record (at RATE) and the alignment; ``di_frames`` the DI frames (at HOP)
    a candidate will be rendered for (its excerpt)."""

    def __init__(self, ref: np.ndarray, alignment: Alignment, di_frames: range,
                 sizes=SIZES):
        self.aligned = alignment.found
        self.sizes = sizes
        self.di_frames = di_frames
        self.ref_db: dict[int, np.ndarray] = {}
        if self.aligned:
            centres = alignment.centres[di_frames.start:di_frames.stop]
            for size in sizes:
                self.ref_db[size] = _floored(band_db(ref, size, centres))
        else:
            for size in sizes:
                self.ref_db[size] = _stats(_floored(band_db(ref, size)))
        self.mask = {s: self.ref_db[s] > self.ref_db[s].max() + CONTENT_DB for s in sizes}

    def _view(self, y: np.ndarray, size: int) -> np.ndarray:
        db = _floored(band_db(y, size))
        if self.aligned:
            n = len(self.ref_db[size])
            if len(db) < n:
                db = np.concatenate([db, np.repeat(db[-1:], n - len(db), 0)])
            return db[:n]
        return _stats(db)

    def spectra(self, y: np.ndarray, sizes=None) -> dict[int, np.ndarray]:
        """The candidate's floored dB spectra, shaped as the record's."""
        return {s: self._view(y, s) for s in (sizes or self.sizes)}

    def difference(self, spec: dict[int, np.ndarray], size: int) -> np.ndarray:
        return self.ref_db[size] - spec[size]

    def eq_target(self, diff: np.ndarray, size: int) -> np.ndarray:
        """The per-bin mean difference over the record's content (what an EQ should add)."""
        m = self.mask[size]
        count = m.sum(axis=0)
        mean = np.where(count > 0, (diff * m).sum(axis=0) / np.maximum(count, 1), 0.0)
        return mean

    def distance_of(self, diff: np.ndarray, size: int, curve: np.ndarray | None = None) -> float:
        """Mean |diff - curve - g| over the record's content, g the best broadband gain."""
        m = self.mask[size]
        d = diff - curve if curve is not None else diff
        vals = d[m]
        if vals.size == 0:
            return float("inf")
        return float(np.mean(np.abs(vals - np.median(vals))))

    def ideal_eq_distance(self, diff: np.ndarray, size: int = 4096) -> float:
        """The distance left after the best smooth EQ (the target smoothed over half an
        octave): how good a rig is before a parametric EQ is fitted to it."""
        curve = smooth_bands(self.eq_target(diff, size), 7 if size == 4096 else 3)
        return self.distance_of(diff, size, curve)

    def distance(self, y: np.ndarray) -> float:
        """The multi-resolution distance of a candidate after only a broadband gain."""
        spec = self.spectra(y)
        return float(np.mean([self.distance_of(self.difference(spec, s), s)
                              for s in self.sizes]))

