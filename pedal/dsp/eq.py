"""Parametric EQ: RBJ Audio-EQ-Cookbook biquads in series, any number of bands.

Band types: ``peak``, ``low_shelf``, ``high_shelf`` (gain_db, q), ``low_pass``, ``high_pass``
(q; 0.7071 is Butterworth). Coefficients are computed when a band is set; ``process`` only runs
the cascade (transposed direct form II, float64 state).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernels.filters import biquad_cascade
from .block import Block
from .params import check_range

BAND_TYPES = ("peak", "low_shelf", "high_shelf", "low_pass", "high_pass")


@dataclass(frozen=True)
class Band:
    type: str
    freq_hz: float
    gain_db: float = 0.0
    q: float = 0.7071

    def __post_init__(self):
        if self.type not in BAND_TYPES:
            raise ValueError(f"type: must be one of {', '.join(BAND_TYPES)}, got {self.type!r}")
        check_range("freq_hz", self.freq_hz, 20, 20000, "Hz")
        check_range("gain_db", self.gain_db, -24, 24, "dB")
        check_range("q", self.q, 0.1, 20)


def rbj_sos(band: Band, sample_rate: float) -> np.ndarray:
    """One second-order section [b0, b1, b2, 1, a1, a2] from the RBJ cookbook formulas."""
    f = min(band.freq_hz, 0.49 * sample_rate)  # a band above Nyquist sits just below it
    w0 = 2 * math.pi * f / sample_rate
    cw, sw = math.cos(w0), math.sin(w0)
    alpha = sw / (2 * band.q)
    a = 10 ** (band.gain_db / 40)
    t = band.type
    if t == "peak":
        b = (1 + alpha * a, -2 * cw, 1 - alpha * a)
        den = (1 + alpha / a, -2 * cw, 1 - alpha / a)
    elif t == "low_pass":
        b = ((1 - cw) / 2, 1 - cw, (1 - cw) / 2)
        den = (1 + alpha, -2 * cw, 1 - alpha)
    elif t == "high_pass":
        b = ((1 + cw) / 2, -(1 + cw), (1 + cw) / 2)
        den = (1 + alpha, -2 * cw, 1 - alpha)
    elif t == "low_shelf":
        s = 2 * math.sqrt(a) * alpha
        b = (a * ((a + 1) - (a - 1) * cw + s), 2 * a * ((a - 1) - (a + 1) * cw),
             a * ((a + 1) - (a - 1) * cw - s))
        den = ((a + 1) + (a - 1) * cw + s, -2 * ((a - 1) + (a + 1) * cw),
               (a + 1) + (a - 1) * cw - s)
    else:  # high_shelf
        s = 2 * math.sqrt(a) * alpha
        b = (a * ((a + 1) + (a - 1) * cw + s), -2 * a * ((a - 1) + (a + 1) * cw),
             a * ((a + 1) + (a - 1) * cw - s))
        den = ((a + 1) - (a - 1) * cw + s, 2 * ((a - 1) - (a + 1) * cw),
               (a + 1) - (a - 1) * cw - s)
    a0 = den[0]
    return np.array([b[0] / a0, b[1] / a0, b[2] / a0, 1.0, den[1] / a0, den[2] / a0])


class ParametricEQ(Block):
    name = "eq"

    def __init__(self, bands=()):
        super().__init__()
        self.bands = [b if isinstance(b, Band) else Band(**b) for b in bands]
        self._sos = np.zeros((0, 6))
        self._state = np.zeros((0, 2))

    def _prepare(self, spec):
        self._state = np.zeros((len(self.bands), 2))
        self._sos = self.sos()

    def sos(self) -> np.ndarray:
        """The cascade as scipy-style second-order sections, for the prepared sample rate."""
        self._check_prepared()
        if not self.bands:
            return np.zeros((0, 6))
        sr = self.spec.sample_rate if self.spec is not None else 48000.0
        return np.vstack([rbj_sos(b, sr) for b in self.bands])

    def reset(self):
        self._state[:] = 0.0

    def process(self, buf):
        biquad_cascade(buf, buf.shape[0], self._sos, self._state)

    def describe(self):
        return f"eq {len(self.bands)} bands"
