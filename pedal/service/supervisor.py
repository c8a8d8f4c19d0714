"""The audio device's keeper: opens the backend, watches that blocks advance, reopens the device
when it stalls or fails, and keeps the counters across reopenings."""

from __future__ import annotations

import logging
import time

from ..errors import PedalError

log = logging.getLogger("pedal")


class AudioSupervisor:
    def __init__(self, cfg, player, report):
        """cfg: ``config.AudioConfig``; report(message) logs an error for ``pedal status``."""
        self.cfg = cfg
        self.player = player
        self.report = report
        self.backend = None
        self.down_since: float | None = None
        self.first_block_s: float | None = None
        self.xruns_lost = 0  # xruns of backends that were closed
        self._t0 = time.monotonic()
        self._last_blocks = 0
        self._checked = 0.0
        self._retry_at = 0.0

    @property
    def xruns(self) -> int:
        return (self.backend.xruns if self.backend else 0) + self.xruns_lost

    @property
    def down(self) -> bool:
        return self.down_since is not None

    def start(self) -> bool:
        from ..backends import AudioDeviceError, make_backend

        try:
            self.backend = make_backend(self.cfg, self.player)
            self.backend.start()
        except AudioDeviceError as exc:
            if self.down_since is None:
                self.report(str(exc))
            self.down_since = self.down_since or time.monotonic()
            self.backend = None
            return False
        log.info("audio: %s", self.backend.describe())
        self.down_since = None
        self._last_blocks = self.player.stats[0]
        self._checked = time.monotonic()
        return True

    def stop(self) -> None:
        if self.backend is not None:
            self.xruns_lost += self.backend.xruns
            try:
                self.backend.stop()
            except PedalError as exc:
                self.report(str(exc))
            self.backend = None

    def finished(self) -> bool:
        """The input has ended (the file backend)."""
        return self.backend is not None and self.backend.finished.is_set()

    def watch(self, now: float) -> bool:
        """Called every tick: True when blocks advanced since the last call. A device that has
        produced no block for ``restart_after_s`` (or reported an error) is reopened; a device
        that could not be opened is retried every second."""
        blocks = self.player.stats[0]
        advanced = blocks > self._last_blocks
        if advanced:
            self._last_blocks = blocks
            self._checked = now
            if self.first_block_s is None:
                self.first_block_s = time.monotonic() - self._t0
        if self.backend is None:
            if now - self._retry_at >= 1.0:
                self._retry_at = now
                if self.start():
                    log.info("audio device is back")
            return advanced
        if self.finished():
            return advanced
        err = getattr(self.backend, "error", None)
        if now - self._checked > self.cfg.restart_after_s or err:
            why = err or f"no block for {self.cfg.restart_after_s:g} s"
            self.report(f"audio stalled ({why}); reopening the device")
            self.stop()
            self.down_since = now
            self._retry_at = now
            self.start()
        return advanced

    def describe(self) -> str | None:
        return self.backend.describe() if self.backend else None
