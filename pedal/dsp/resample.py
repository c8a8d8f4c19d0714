"""Sample-rate conversion around a model: a 44.1 kHz capture in a 48 kHz pedal (and any other
pair of rates).

``Resampler`` is one direction, a polyphase FIR (``kernels.resample``) designed here: a
Kaiser-windowed sinc, flat to 0.1 dB up to 86 % of the lower Nyquist frequency (19 kHz between
44.1 and 48 kHz), at least 80 dB down from the lower Nyquist frequency on, linear phase.
``ResampledEngine`` runs an amp engine at its own rate inside a chain at another: the block goes
up (or down) to the model's rate, through the model, and back, into a FIFO that hands the chain
exactly the samples it asked for. The filters' delay and the FIFO's few samples of slack are
the block's latency (about 1.7 ms for 44.1 <-> 48 kHz), reported to the chain; nothing
allocates after ``prepare``.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from ..kernels.resample import RS_BASE, RS_SLOTS, resample_block

PASS = 0.86          # passband edge, as a share of the lower Nyquist frequency
STOP = 1.0           # stopband edge, likewise
ATTENUATION_DB = 80.0
MAX_PHASES = 4096    # L of the reduced ratio (rates of whole Hz far apart make it huge)
SLACK = 3            # FIFO samples that absorb the +-1 sample a block's output count varies by


def design(rate_in: int, rate_out: int) -> tuple[np.ndarray, int, int]:
    """(coefs [L, T], L, M) of the polyphase filter for rate_in -> rate_out."""
    ratio = Fraction(int(rate_out), int(rate_in))
    up, down = ratio.numerator, ratio.denominator
    if up > MAX_PHASES:
        raise ValueError(f"cannot resample {rate_in} Hz to {rate_out} Hz: the ratio "
                         f"{up}/{down} needs {up} filter phases (at most {MAX_PHASES})")
    nyq = min(rate_in, rate_out) / 2.0
    f_pass, f_stop = PASS * nyq, STOP * nyq
    hi = float(rate_in) * up  # the upsampled rate the prototype filter runs at
    width = 2 * math.pi * (f_stop - f_pass) / hi
    n = int(math.ceil((ATTENUATION_DB - 8.0) / (2.285 * width))) + 1
    taps = int(math.ceil(n / up))
    n = taps * up
    beta = 0.1102 * (ATTENUATION_DB - 8.7)
    fc = (f_pass + f_stop) / 2.0 / hi  # cycles per upsampled sample
    k = np.arange(n) - (n - 1) / 2.0
    h = 2 * fc * np.sinc(2 * fc * k) * np.kaiser(n, beta)
    h *= up / np.sum(h)  # unity gain at DC after the zeros of upsampling
    coefs = np.ascontiguousarray(h.reshape(taps, up).T, dtype=np.float32)  # [L, T]
    return coefs, up, down


class Resampler:
    """One direction of streaming conversion; ``process(x, out)`` returns how many samples it
    wrote into ``out``."""

    def __init__(self, rate_in: int, rate_out: int, max_in: int):
        self.rate_in, self.rate_out = int(rate_in), int(rate_out)
        self.coefs, self.up, self.down = design(self.rate_in, self.rate_out)
        self.taps = self.coefs.shape[1]
        self.max_in = int(max_in)
        self.max_out = -(-self.max_in * self.up // self.down) + 2
        self._buf = np.zeros(self.taps - 1 + self.max_in, np.float32)
        self._state = np.zeros(RS_SLOTS, np.int64)
        self.reset()

    @property
    def delay_s(self) -> float:
        """The filter's group delay, in seconds."""
        return (self.taps * self.up - 1) / 2.0 / (self.rate_in * self.up)

    def reset(self) -> None:
        self._buf[:] = 0.0
        self._state[:] = 0
        self._state[RS_BASE] = -(self.taps - 1)

    def process(self, x: np.ndarray, out: np.ndarray) -> int:
        return resample_block(x, x.shape[0], self._buf, self.coefs, self.up, self.down,
                              self._state, out, out.shape[0])


class ResampledEngine:
    """An amp engine at ``model_rate`` inside a chain at ``chain_rate`` (the AmpEngine
    protocol, plus ``latency`` in chain samples)."""

    def __init__(self, engine, model_rate: int, chain_rate: int):
        self.engine = engine
        self.model_rate, self.chain_rate = int(model_rate), int(chain_rate)
        self.latency = 0
        self.underruns = 0

    @property
    def knobs(self):
        return self.engine.knobs

    def set_knobs(self, knobs) -> None:
        self.engine.set_knobs(knobs)

    def prepare(self, max_block: int) -> None:
        self._up = Resampler(self.chain_rate, self.model_rate, max_block)
        self._mid = np.zeros(self._up.max_out, np.float32)
        self.engine.prepare(self._up.max_out)
        self._down = Resampler(self.model_rate, self.chain_rate, self._up.max_out)
        self._fifo = np.zeros(self._down.max_out + max_block + 2 * SLACK, np.float32)
        delay = self._up.delay_s + self._down.delay_s
        self.latency = int(round(delay * self.chain_rate)) + SLACK
        self.reset()

    def reset(self) -> None:
        self._up.reset()
        self._down.reset()
        self.engine.reset()
        self._fifo[:] = 0.0
        self._filled = SLACK  # silence ahead of the first output: no block ever waits

    def process(self, x: np.ndarray, in_gain: float = 1.0, out_gain: float = 1.0) -> None:
        n = x.shape[0]
        if n == 0:
            return
        mid = self._mid
        k = self._up.process(x, mid)
        if k:
            self.engine.process(mid[:k], in_gain, out_gain)
        filled = self._filled
        filled += self._down.process(mid[:k], self._fifo[filled:])
        take = min(n, filled)
        x[:take] = self._fifo[:take]
        if take < n:  # cannot happen with SLACK; kept silent rather than stale if it did
            x[take:] = 0.0
            self.underruns += 1
        rest = filled - take
        self._fifo[:rest] = self._fifo[take:filled]
        self._filled = rest
