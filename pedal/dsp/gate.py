"""Noise gate: opens above a threshold, closes below it less a hysteresis after a hold time.

The gain moves with one-pole ramps (attack when opening, release when closing), so opening and
closing never click; the detector is a peak follower with a short decay.
"""

from __future__ import annotations

import numpy as np

from ..kernels.filters import GATE_GAIN, GATE_OPEN, GATE_SLOTS, noise_gate
from .block import Block
from .params import check_range, db_to_gain, time_coef


class NoiseGate(Block):
    name = "gate"

    def __init__(self, threshold_db=-60.0, attack_ms=1.0, hold_ms=50.0, release_ms=80.0,
                 hysteresis_db=6.0, range_db=-80.0):
        super().__init__()
        self.threshold_db = check_range("threshold_db", threshold_db, -120, 0, "dB")
        self.attack_ms = check_range("attack_ms", attack_ms, 0, 500, "ms")
        self.hold_ms = check_range("hold_ms", hold_ms, 0, 5000, "ms")
        self.release_ms = check_range("release_ms", release_ms, 0, 5000, "ms")
        self.hysteresis_db = check_range("hysteresis_db", hysteresis_db, 0, 40, "dB")
        self.range_db = check_range("range_db", range_db, -120, 0, "dB")
        self._state = np.zeros(GATE_SLOTS, dtype=np.float64)

    def _prepare(self, spec):
        sr = spec.sample_rate
        self._thr_open = db_to_gain(self.threshold_db)
        self._thr_close = db_to_gain(self.threshold_db - self.hysteresis_db)
        self._env_decay = 1.0 - time_coef(10.0, sr)
        self._att = time_coef(self.attack_ms, sr)
        self._rel = time_coef(self.release_ms, sr)
        self._hold = self.hold_ms * 1e-3 * sr
        self._floor = db_to_gain(self.range_db) if self.range_db > -120 else 0.0

    def reset(self):
        self._state[:] = 0.0
        self._state[GATE_GAIN] = self._floor if self.spec is not None else 0.0

    @property
    def is_open(self) -> bool:
        return self._state[GATE_OPEN] > 0.5

    def process(self, buf):
        noise_gate(buf, buf.shape[0], self._thr_open, self._thr_close, self._env_decay,
                           self._att, self._rel, self._hold, self._floor, self._state)

    def describe(self):
        return f"gate {self.threshold_db:g} dB"
