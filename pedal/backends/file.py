"""A recording plays the guitar: the file backend reads a wav (any libsndfile format, mixed to
mono, resampled to the configured rate), runs it block by block through the engine, paced in
real time or as fast as the engine goes, and writes the output file when the input ends (or
when stopped), atomically: the output is complete or absent, never half written."""

from __future__ import annotations

import numpy as np

from ..audio.files import read_audio, resample, to_mono, write_audio
from ..errors import AudioFileError
from .base import AudioDeviceError, ThreadBackend


class FileBackend(ThreadBackend):
    name = "file"

    def __init__(self, cfg, engine):
        super().__init__(cfg, engine)
        self.pace = bool(cfg.file.realtime)
        self._x = None
        self._y = None
        self._pos = 0

    def _open(self):
        f = self.cfg.file
        try:
            data, sr = read_audio(f.input, what="input recording")
        except AudioFileError as exc:
            raise AudioDeviceError(f"audio.file.input: {exc}") from None
        self._x = resample(to_mono(data), sr, self.sample_rate)
        self._y = np.zeros_like(self._x) if f.output else None
        self._pos = 0
        self.finished.clear()

    def _read(self, n):
        x = self._x
        if self._pos >= x.shape[0]:
            return None
        k = min(n, x.shape[0] - self._pos)
        self._in[:k] = x[self._pos:self._pos + k]
        return self._in[:k]

    def _write(self, out):
        k = out.shape[0]
        if self._y is not None:
            self._y[self._pos:self._pos + k] = out
        self._pos += k

    def _close(self):
        out = self.cfg.file.output
        if self._y is not None and out:
            write_audio(out, self._y[:self._pos], self.sample_rate)
            self._y = None

    @property
    def position_s(self) -> float:
        return self._pos / self.sample_rate

    def describe(self):
        mode = "real time" if self.pace else "as fast as possible"
        return f"file {self.cfg.file.input} ({mode})"
