"""The tuner's pitch tracker: guitar and bass, E1 (41 Hz) to E6 (1319 Hz).

Per hop (10 ms): a silence gate; an onset detector that restarts the analysis frame after a
short hold-off (the pick's noise and the first sharp milliseconds of a pluck are skipped);
YIN on a 4x-decimated frame for the period; octave checks on harmonic amplitudes (a weak
fundamental under a strong 2nd harmonic, or only even harmonics); then the fundamental's
frequency from the phase advance of a complex demodulation whose triangular window nulls every
other harmonic, so the reading is the fundamental's own frequency (not pulled by inharmonic
upper partials) to a small fraction of a cent. Readings are smoothed by a median of three and a
follower that jumps on a new note or a fast bend.

``PitchTracker.process`` makes no allocation: it is one numba call over arrays made here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..kernels import pitch as K
from ..kernels.pitch import pitch_block
from .tuning import check_a4, nearest_note, nearest_string

HOP_S = 0.010
MIN_CONFIDENCE = 0.7


@dataclass
class Reading:
    t: float  # seconds since the tracker started (end of the hop)
    freq_hz: float | None
    confidence: float
    raw_hz: float | None
    rms: float

    def describe(self, a4: float = 440.0, tuning: str | None = None) -> dict:
        d: dict = {"t": round(self.t, 4), "freq_hz": None if self.freq_hz is None else
             round(self.freq_hz, 4), "note": None, "cents": None,
             "confidence": round(self.confidence, 3)}
        if self.freq_hz is not None:
            note = nearest_note(self.freq_hz, a4)
            d["note"], d["cents"] = str(note), round(note.cents, 2)
            if tuning:
                d["string"], cents, octaves = nearest_string(self.freq_hz, tuning, a4)
                if octaves:
                    d["string_octaves"] = octaves
                d["string_cents"] = round(cents, 2)
        return d


class PitchTracker:
    def __init__(self, sample_rate: float, *, fmin: float = 38.0, fmax: float = 1400.0,
                 a4: float = 440.0, hop_s: float = HOP_S, holdoff_s: float = 0.03,
                 silence_db: float = -60.0, onset_db: float = 6.0, threshold: float = 0.2,
                 min_confidence: float = MIN_CONFIDENCE):
        sr = float(sample_rate)
        if not 8000 <= sr <= 192000:
            raise ValueError(f"sample rate must be 8000..192000 Hz, got {sr:g}")
        if not 20.0 <= fmin < fmax <= 4000.0:
            raise ValueError(f"need 20 <= fmin < fmax <= 4000 Hz, got {fmin:g}, {fmax:g}")
        self.sample_rate = sr
        self.a4 = check_a4(a4)
        dec = max(1, int(round(sr / 12000.0)))
        tau_min = max(2, int(sr / dec / fmax) - 1)
        tau_max = int(math.ceil(sr / dec / fmin)) + 2
        # a frame long enough for YIN at fmin and for 6 periods of the phase stage
        frame = max(2 * (tau_max + 2) * dec + 2 * dec, int(6 * sr / fmin) + 2 * int(sr / fmin))
        size = 1 << int(math.ceil(math.log2(frame)))
        self.hop = max(16, int(round(hop_s * sr)))
        prm = np.zeros(K.P_SLOTS)
        prm[K.P_SR], prm[K.P_DEC], prm[K.P_TAU_MIN], prm[K.P_TAU_MAX] = sr, dec, tau_min, tau_max
        prm[K.P_THRESHOLD], prm[K.P_HOP] = threshold, self.hop
        prm[K.P_HOLDOFF] = int(holdoff_s * sr)
        prm[K.P_SILENCE], prm[K.P_ONSET] = 10 ** (silence_db / 20.0), 10 ** (onset_db / 20.0)
        prm[K.P_MAX_FRAME], prm[K.P_FINE_PERIODS], prm[K.P_FINE_MIN] = frame, 6.0, 0.04 * sr
        prm[K.P_MIN_CONF], prm[K.P_FMIN], prm[K.P_FMAX] = min_confidence, fmin, fmax
        self._prm = prm
        self._ring = np.zeros(size, np.float64)
        self._lin = np.zeros(size, np.float64)
        self._dbuf = np.zeros(size // dec + 8, np.float64)
        self._dif = np.zeros(tau_max + 8, np.float64)
        self._st = np.zeros(K.S_SLOTS)
        self._hist = np.zeros(3)
        self._ana = np.zeros(K.AN_SLOTS)
        self.result = np.zeros(K.R_SLOTS)  # kernels.pitch's R_ slots
        self.reset()

    def reset(self) -> None:
        self._ring[:] = 0.0
        self._st[:] = 0.0
        self._st[K.S_CENTS] = np.nan
        self.result[:] = 0.0

    def process(self, x: np.ndarray) -> None:
        """Feed a block (any length); the latest reading is in ``result`` / ``reading``."""
        pitch_block(x, x.shape[0], self._ring, self._lin, self._dbuf, self._dif, self._prm,
                    self._st, self._hist, self._ana, self.result)

    def reading(self) -> Reading:
        r = self.result
        return Reading(float(r[K.R_T]), float(r[K.R_FREQ]) if r[K.R_FREQ] > 0 else None,
                       float(r[K.R_CONF]), float(r[K.R_RAW]) if r[K.R_RAW] > 0 else None,
                       float(r[K.R_RMS]))

    def track(self, x: np.ndarray) -> list[Reading]:
        """Every hop's reading over a whole signal (offline use: files, tests, benchmarks)."""
        out: list[Reading] = []
        x = np.ascontiguousarray(x, dtype=np.float32)
        for i in range(0, len(x), self.hop):
            self.process(x[i:i + self.hop])
            t = self.result[K.R_T]
            if t > 0 and (not out or t != out[-1].t):
                out.append(self.reading())
        return out
