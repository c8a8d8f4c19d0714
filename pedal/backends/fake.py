"""A fake audio device for running the daemon without a sound card: a synthetic guitar riff
(pedal.synth.guitar) looped in real time; the output is kept in a ring of the last
few seconds (``recent``) and otherwise dropped."""

from __future__ import annotations

import numpy as np

from .base import ThreadBackend


class FakeBackend(ThreadBackend):
    name = "fake"

    def _open(self):
        from ..synth.guitar import guitar_riff

        self._signal = guitar_riff(self.sample_rate).astype(np.float32)
        self._pos = 0
        self._ring = np.zeros(4 * self.sample_rate, np.float32)
        self._ring_at = 0

    def _read(self, n):
        sig = self._signal
        end = self._pos + n
        if end <= len(sig):
            self._in[:n] = sig[self._pos:end]
        else:
            k = len(sig) - self._pos
            self._in[:k] = sig[self._pos:]
            self._in[k:n] = sig[:n - k]
        self._pos = end % len(sig)
        return self._in[:n]

    def _write(self, out):
        n = out.shape[0]
        size = self._ring.shape[0]
        at = self._ring_at
        k = min(n, size - at)
        self._ring[at:at + k] = out[:k]
        self._ring[:n - k] = out[k:]
        self._ring_at = (at + n) % size

    def recent(self) -> np.ndarray:
        return np.roll(self._ring, -self._ring_at).copy()

    def describe(self):
        return f"fake (synthetic riff, {self.sample_rate} Hz, block {self.block})"
