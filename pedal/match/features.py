"""What ``pedal match`` measures of a signal: short-time spectra, chroma, onset strength and
band spectra (numpy only; offline).

All analysis runs at ``RATE`` (48 kHz); frames are centred on ``hop * k`` samples, so spectra of
different window lengths with one hop describe the same instants (the multi-resolution
distance compares them frame for frame).
"""

from __future__ import annotations

import numpy as np

RATE = 48000
FLOOR_DB = -80.0   # below the loudest bin of a signal: not compared (silence, dither, fades)
EPS = 1e-9


def frames(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """[F, n_fft] windowed frames centred on 0, hop, 2 hop... (zero padded at both ends)."""
    pad = np.concatenate([np.zeros(n_fft // 2, np.float32), np.asarray(x, np.float32),
                          np.zeros(n_fft // 2, np.float32)])
    count = 1 + max(0, (len(pad) - n_fft) // hop)
    idx = np.lib.stride_tricks.sliding_window_view(pad, n_fft)[::hop][:count]
    return idx * np.hanning(n_fft + 1)[:-1].astype(np.float32)


def frames_at(x: np.ndarray, n_fft: int, centres: np.ndarray) -> np.ndarray:
    """[F, n_fft] windowed frames centred on the given sample positions (zero outside x)."""
    pad = np.concatenate([np.zeros(n_fft, np.float32), np.asarray(x, np.float32),
                          np.zeros(n_fft, np.float32)])
    starts = np.clip(np.round(centres).astype(np.int64) + n_fft // 2, 0, len(pad) - n_fft)
    view = np.lib.stride_tricks.sliding_window_view(pad, n_fft)
    return view[starts] * np.hanning(n_fft + 1)[:-1].astype(np.float32)


def magnitude(x: np.ndarray, n_fft: int, hop: int, chunk: int = 512,
              centres: np.ndarray | None = None) -> np.ndarray:
    """|STFT| as float32 [F, n_fft // 2 + 1], computed a chunk of frames at a time; frames
    centred on 0, hop, 2 hop..., or on ``centres`` (sample positions) when given."""
    fr = frames(x, n_fft, hop) if centres is None else frames_at(x, n_fft, centres)
    out = np.empty((fr.shape[0], n_fft // 2 + 1), np.float32)
    for i in range(0, fr.shape[0], chunk):
        out[i:i + chunk] = np.abs(np.fft.rfft(fr[i:i + chunk], axis=1))
    return out


def to_db(mag: np.ndarray) -> np.ndarray:
    return (20.0 * np.log10(mag + EPS)).astype(np.float32)


def chroma(mag: np.ndarray, n_fft: int, sr: int = RATE, fmin: float = 70.0,
           fmax: float = 4000.0) -> np.ndarray:
    """12 pitch classes per frame from a magnitude spectrogram, log-compressed and of unit
    length (a silent frame is the zero vector). Distortion adds partials at octaves and
    fifths, so the chroma of a DI and of its distorted record stay close."""
    freqs = np.arange(mag.shape[1]) * sr / n_fft
    sel = (freqs >= fmin) & (freqs <= fmax)
    pc = np.mod(np.round(12 * np.log2(freqs[sel] / 440.0)), 12).astype(np.int64)
    comp = np.log1p(100.0 * mag[:, sel] / (mag[:, sel].max() + EPS))
    out = np.zeros((mag.shape[0], 12), np.float64)
    for c in range(12):
        out[:, c] = comp[:, pc == c].sum(axis=1)
    return unit_rows(out)


def unit_rows(a: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(a, axis=1, keepdims=True)
    return np.ascontiguousarray(np.where(norm > 1e-12, a / np.maximum(norm, 1e-12), 0.0))


def onset_strength(mag: np.ndarray) -> np.ndarray:
    """Positive spectral flux of log magnitudes, standardised (mean 0, deviation 1)."""
    lg = np.log1p(1000.0 * mag / (mag.max() + EPS))
    flux = np.maximum(np.diff(lg, axis=0, prepend=lg[:1]), 0.0).sum(axis=1)
    sd = flux.std()
    return np.ascontiguousarray((flux - flux.mean()) / (sd if sd > 1e-12 else 1.0))


def frame_levels_db(x: np.ndarray, hop: int) -> np.ndarray:
    """RMS of each hop-long piece of x in dBFS."""
    n = len(x) // hop
    if n == 0:
        return np.array([FLOOR_DB])
    pieces = np.asarray(x[: n * hop], np.float64).reshape(n, hop)
    return 10 * np.log10(np.mean(pieces * pieces, axis=1) + 1e-20)


def third_octave_edges(lo: float = 40.0, hi: float = 16000.0) -> np.ndarray:
    centres = 1000.0 * 2.0 ** (np.arange(-15, 14) / 3.0)
    centres = centres[(centres >= lo) & (centres <= hi)]
    return np.concatenate([centres * 2 ** (-1 / 6), centres[-1:] * 2 ** (1 / 6)])


def band_matrix(n_fft: int, edges: np.ndarray, sr: int = RATE) -> np.ndarray:
    """[bands, bins] averaging matrix of the rfft bins inside each band (at least one bin)."""
    freqs = np.arange(n_fft // 2 + 1) * sr / n_fft
    m = np.zeros((len(edges) - 1, len(freqs)))
    for b in range(len(edges) - 1):
        sel = (freqs >= edges[b]) & (freqs < edges[b + 1])
        if not sel.any():
            sel = np.abs(freqs - np.sqrt(edges[b] * edges[b + 1])) == \
                np.min(np.abs(freqs - np.sqrt(edges[b] * edges[b + 1])))
        m[b, sel] = 1.0 / sel.sum()
    return m


def smooth_log_freq(curve_db: np.ndarray, n_fft: int, octaves: float = 1 / 3,
                    sr: int = RATE) -> np.ndarray:
    """A dB curve over rfft bins smoothed over ``octaves`` around each bin (bins below 20 Hz
    take the 20 Hz value)."""
    freqs = np.maximum(np.arange(len(curve_db)) * sr / n_fft, 20.0)
    lf = np.log2(freqs)
    c = np.concatenate([[0.0], np.cumsum(curve_db)])
    lo = np.searchsorted(lf, lf - octaves / 2, side="left")
    hi = np.searchsorted(lf, lf + octaves / 2, side="right")
    return (c[hi] - c[lo]) / np.maximum(hi - lo, 1)
