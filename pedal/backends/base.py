"""The interface every audio backend implements."""

from __future__ import annotations

import os
import threading
import time

from ..errors import PedalError


class AudioDeviceError(PedalError, OSError):
    """The audio device cannot be opened or has gone away."""


def promote_thread(priority: int) -> str:
    """Ask for SCHED_FIFO at ``priority`` for the calling thread (once, when an audio thread
    starts). Returns what happened, for ``pedal status``; never raises."""
    if priority <= 0:
        return "off"
    try:
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(priority))
        return f"SCHED_FIFO {priority}"
    except (PermissionError, OSError, AttributeError) as exc:
        return f"not permitted ({getattr(exc, 'strerror', None) or exc})"


class Backend:
    """Opens a device and runs ``engine.process`` on an audio thread until ``stop``."""

    name = "backend"

    def __init__(self, cfg, engine):
        """cfg: the config's ``audio`` section (``config.AudioConfig``)."""
        self.cfg = cfg
        self.engine = engine
        self.sample_rate = int(cfg.sample_rate)
        self.block = int(cfg.block)
        self.xruns = 0                       # flagged by the device (under/overflows)
        self.finished = threading.Event()    # the input has ended (file backend)
        self.realtime = "not started"        # what promote_thread said

    @classmethod
    def rate_problem(cls, cfg, rate: int) -> str | None:
        """Why this backend's device cannot run at ``rate`` (None: it can, or it cannot tell
        before opening). Asked before ``audio.sample_rate: model`` picks a model's rate."""
        return None

    def start(self) -> None:
        """Open the device and start the stream. Raises AudioDeviceError."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop and close; safe to call twice or after a failed start."""
        raise NotImplementedError

    @property
    def running(self) -> bool:
        raise NotImplementedError

    def describe(self) -> str:
        return self.name


class ThreadBackend(Backend):
    """A backend whose audio thread is ours: ``_read(n)`` gives the next input block (or None
    at the end), ``_write(out)`` takes the output. ``realtime`` paces blocks to the sample
    clock; otherwise they run as fast as the engine goes."""

    pace = True

    def __init__(self, cfg, engine):
        super().__init__(cfg, engine)
        import numpy as np

        self._in = np.zeros(self.block, np.float32)
        self._out = np.zeros(self.block, np.float32)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: str | None = None

    def _open(self) -> None:
        """Open files or hardware (control thread, before the audio thread starts)."""

    def _close(self) -> None:
        """Release what ``_open`` took (after the audio thread ended)."""

    def _read(self, n: int):
        raise NotImplementedError

    def _write(self, out) -> None:
        raise NotImplementedError

    def start(self):
        self._open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"pedal-audio-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        self._close()

    @property
    def running(self):
        return self._thread is not None and self._thread.is_alive()

    def _run(self):
        self.realtime = promote_thread(int(self.cfg.realtime_priority))
        period = self.block / self.sample_rate
        next_t = time.monotonic()
        try:
            while not self._stop.is_set():
                inp = self._read(self.block)
                if inp is None:
                    self.finished.set()
                    return
                out = self._out[:inp.shape[0]]
                self.engine.process(inp, out)
                self._write(out)
                if self.pace:
                    next_t += period
                    delay = next_t - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    elif delay < -0.1:  # fell far behind (machine suspended): start afresh
                        self.xruns += 1
                        next_t = time.monotonic()
        except Exception as exc:  # noqa: BLE001 - reported by the daemon, audio restarts
            self.error = f"{type(exc).__name__}: {exc}"
