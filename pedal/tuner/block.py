"""Tuner stage: tracks the pitch of the input and (by default) mutes the output, as a stompbox
tuner does. Readings are in ``tracker.result`` (a small array a display thread may read)."""

from __future__ import annotations

from .tracker import PitchTracker
from ..dsp.block import Block


class Tuner(Block):
    name = "tuner"

    def __init__(self, a4: float = 440.0, mute: bool = True, **tracker_options):
        super().__init__()
        self.a4 = a4
        self.mute = bool(mute)
        self._options = tracker_options
        self.tracker = None

    def _prepare(self, spec):
        self.tracker = PitchTracker(spec.sample_rate, a4=self.a4, **self._options)

    def reset(self):
        if self.tracker is not None:
            self.tracker.reset()

    def process(self, buf):
        self.tracker.process(buf)
        if self.mute:
            buf[:] = 0.0

    def describe(self):
        return f"tuner A4={self.a4:g} Hz" + (" (muted)" if self.mute else "")
