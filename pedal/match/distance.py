"""How far one tone is from another, in dB.

- ``mrstft_db``: two signals sample for sample (the benchmark: a match against the truth):
  multi-resolution STFT log-magnitude distance, FFT 256/1024/4096 (hop a quarter), the mean
  absolute dB difference of the bins, each signal floored FLOOR_DB below its loudest bin.
- ``ltas_db``: third-octave long-term spectra, mean absolute dB difference of the bands.

Both first bring the signals to one loudness (one gain, the RMS): a record's level says
nothing about its tone, and the pedal's output level is the player's to set.
"""

from __future__ import annotations

import numpy as np

from .features import (EPS, FLOOR_DB, band_matrix, magnitude, third_octave_edges, to_db)

SIZES = (256, 1024, 4096)


def same_loudness(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """b scaled to a's RMS."""
    ra, rb = np.sqrt(np.mean(np.square(a, dtype=np.float64))), \
        np.sqrt(np.mean(np.square(b, dtype=np.float64)))
    return (b * (ra / rb)).astype(np.float32) if rb > 0 else b


def floored(db: np.ndarray, peak_db: float) -> np.ndarray:
    return np.maximum(db, peak_db + FLOOR_DB)


def mrstft_db(truth: np.ndarray, other: np.ndarray, sizes=SIZES) -> float:
    n = min(len(truth), len(other))
    a, b = truth[:n], same_loudness(truth[:n], other[:n])
    out = []
    for size in sizes:
        da, db_ = to_db(magnitude(a, size, size // 4)), to_db(magnitude(b, size, size // 4))
        top = float(max(da.max(), db_.max()))
        out.append(float(np.mean(np.abs(floored(da, top) - floored(db_, top)))))
    return float(np.mean(out))


def ltas_bands(x: np.ndarray, size: int = 8192) -> np.ndarray:
    """Third-octave long-term power spectrum of x in dB (40 Hz..16 kHz)."""
    mag = magnitude(x, size, size // 2)
    power = np.mean(mag.astype(np.float64) ** 2, axis=0)
    return 10 * np.log10(band_matrix(size, third_octave_edges()) @ power + EPS)


def ltas_db(truth: np.ndarray, other: np.ndarray) -> float:
    n = min(len(truth), len(other))
    a, b = ltas_bands(truth[:n]), ltas_bands(same_loudness(truth[:n], other[:n]))
    top = max(a.max(), b.max())
    return float(np.mean(np.abs(np.maximum(a, top - 60) - np.maximum(b, top - 60))))
