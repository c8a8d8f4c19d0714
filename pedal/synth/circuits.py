"""Simulated circuits the project captures its own models from (nothing measured, nothing
third-party). Each is a function from a float signal (volts at the input jack) to volts out.
"""

from __future__ import annotations

import numpy as np

from ..audio.files import resample
from ..kernels import offline
from .guitar import _biquads


def diode_clipper(x: np.ndarray, sr: int, *, r_ohm=2200.0, c_farad=10e-9, i_s=2.52e-9,
                  n=1.752, vt=25.85e-3, oversample=4) -> np.ndarray:
    """RC low-pass into an antiparallel pair of 1N4148 diodes to ground, solved per sample by
    Newton-Raphson on the trapezoidal discretisation of C dV/dt = (Vin-V)/R - 2 Is sinh(V/nVt),
    at ``oversample`` times the rate to keep the clipping's harmonics from aliasing."""
    up = resample(np.asarray(x, np.float32), sr, sr * oversample).astype(np.float64)
    out = np.zeros_like(up)
    offline.diode_clipper(up, out, float(sr * oversample), r_ohm, c_farad, i_s, n * vt, 30)
    return resample(out.astype(np.float32), sr * oversample, sr)


def overdrive(x: np.ndarray, sr: int = 48000, drive: float = 30.0,
              tone_hz: float = 3200.0) -> np.ndarray:
    """The pedal's own overdrive: an op-amp gain stage (gain ``drive``, 1st-order-like coupling
    high-pass at 160 Hz) -> the diode clipper above -> a tone low-pass -> output scaled so that
    full clipping (about 0.65 V) reaches 0.9."""
    pre = _biquads(np.asarray(x, np.float32) * drive,
                   [{"type": "high_pass", "freq_hz": 160, "q": 0.55},
                    {"type": "peak", "freq_hz": 800, "gain_db": 4, "q": 0.7}], sr)
    clipped = diode_clipper(pre, sr)
    post = _biquads(clipped, [{"type": "low_pass", "freq_hz": tone_hz, "q": 0.6}], sr)
    return (post * (0.9 / 0.65)).astype(np.float32)
