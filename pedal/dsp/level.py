"""Output level in dB (smoothed over 20 ms, so changes never zip), a 5 Hz DC blocker, and the
output's safety stage: a soft limiter that leaves everything below ``knee_db`` untouched and
bends what is above it smoothly towards ``ceiling_db`` (never reached), so no model, however
loud, sends full scale or more to the amplifier. Its meter counts what it had to bend."""

from __future__ import annotations

import math

import numpy as np

from ..kernels.filters import (LEVEL_GAIN, LEVEL_SLOTS, LIM_HELD, LIM_OVER, LIM_PEAK, LIM_SLOTS,
                              level_dc, soft_limit)
from .block import Block
from .params import check_range, db_to_gain, time_coef


class OutputLevel(Block):
    name = "level"

    def __init__(self, level_db=0.0, dc_block=True, dc_hz=5.0, limiter=False,
                 ceiling_db=-1.0, knee_db=-6.0):
        super().__init__()
        self.dc_block = bool(dc_block)
        self.dc_hz = check_range("dc_hz", dc_hz, 1, 40, "Hz")
        self.limiter = bool(limiter)
        self.ceiling_db = check_range("ceiling_db", ceiling_db, -20, 0, "dB")
        self.knee_db = min(check_range("knee_db", knee_db, -40, 0, "dB"), self.ceiling_db - 3.0)
        self._knee, self._ceiling = db_to_gain(self.knee_db), db_to_gain(self.ceiling_db)
        self._state = np.zeros(LEVEL_SLOTS, dtype=np.float64)
        self.meter = np.zeros(LIM_SLOTS, dtype=np.float64)  # cumulative: reset keeps it
        self.level_db = level_db

    @property
    def level_db(self) -> float:
        return self._level_db

    @level_db.setter
    def level_db(self, value):
        self._level_db = check_range("level_db", value, -60, 24, "dB")
        self._target = db_to_gain(self._level_db)

    def _prepare(self, spec):
        self._smooth = time_coef(20.0, spec.sample_rate)
        self._dc_r = math.exp(-2 * math.pi * self.dc_hz / spec.sample_rate)

    def reset(self):
        self._state[:] = 0.0
        self._state[LEVEL_GAIN] = self._target

    def process(self, buf):
        level_dc(buf, buf.shape[0], self._target, self._smooth, self.dc_block, self._dc_r,
                 self._state)
        if self.limiter:
            soft_limit(buf, buf.shape[0], self._knee, self._ceiling, self.meter)

    def meters(self) -> dict:
        m = self.meter
        return {"peak_in": float(m[LIM_PEAK]), "over_in": int(m[LIM_OVER]),
                "limited": int(m[LIM_HELD])}

    def describe(self):
        return (f"level {self._level_db:+g} dB" + (" +dc" if self.dc_block else "")
                + (f" +limiter {self.ceiling_db:g} dB" if self.limiter else ""))
