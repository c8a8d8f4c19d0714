"""The real-time heart of the daemon: the chain that plays, swapped at block boundaries.

``Player.process(inp, out)`` is what every audio backend calls on its audio thread. It never
allocates arrays, locks, logs, loads or waits: the control thread hands it a chain that is
already loaded, prepared and warmed (``offer``), and the player adopts it at the start of the
next block, crossfading from the old chain for ``crossfade_ms``. Bypass and mute (tuner mode)
are gain targets the player ramps to over the same time, so nothing clicks. A chain that raises
while playing is dropped at once and the dry signal plays (``stats[FAULTS]`` counts it, and the
daemon says so): the pedal never goes silent because of a model.

(The player hosts the chain; each model's runner is its "engine", ``models.arch``.)

Everything the control thread and the audio thread share is either one attribute assignment
(atomic under the GIL) or a float64 array slot (a torn read shows at worst a stale figure).
The chain the engine stops using is parked in ``_retired`` so that its memory is freed on the
control thread (``collect``), never in the callback.
"""

from __future__ import annotations

import time

import numpy as np

from ..kernels.player import (MIX_CLIPPED, MIX_FADE_LEFT, MIX_FADE_LEN, MIX_NONFINITE, MIX_OUT,
                              MIX_OUT_TO, MIX_SLOTS, MIX_STEP, MIX_WET, MIX_WET_TO, mix_block)
from ..dsp import Chain, ProcessSpec
from ..tuner.tracker import PitchTracker


# stats: what the audio thread reports
BLOCKS, FRAMES, LOAD_LAST, LOAD_MAX, LOAD_AVG, OVERRUNS, SWAPS, T_LAST, FAULTS = range(9)
_N_STATS = 9
_RETIRE_SLOTS = 8


class Player:
    def __init__(self, sample_rate: int, max_block: int, crossfade_ms: float = 20.0):
        self.spec = ProcessSpec(sample_rate, max_block)
        self.sample_rate = int(sample_rate)
        self.max_block = int(max_block)
        self._dry = np.zeros(max_block, np.float32)
        self._oldbuf = np.zeros(max_block, np.float32)
        self._st = np.zeros(MIX_SLOTS, np.float64)
        self.set_crossfade(crossfade_ms)
        self._st[MIX_WET] = self._st[MIX_WET_TO] = 1.0
        self._st[MIX_OUT] = self._st[MIX_OUT_TO] = 1.0
        self.stats = np.zeros(_N_STATS, np.float64)
        self._chain: Chain | None = None
        self._old: Chain | None = None
        self._pending: Chain | None = None
        self._retired: list = [None] * _RETIRE_SLOTS
        self._retire_at = 0
        self.tracker = PitchTracker(sample_rate)
        self._tuner = False
        self._tuner_was = False
        self._ns_per_frame = 1e9 / sample_rate

    # control thread -----------------------------------------------------------------------
    def set_crossfade(self, crossfade_ms: float) -> None:
        """Swaps, bypass and mute fade over ``crossfade_ms`` (two float slots: a torn read is
        one block of a stale fade length)."""
        fade = max(1.0, crossfade_ms * 1e-3 * self.sample_rate)
        self._st[MIX_FADE_LEN] = fade
        self._st[MIX_STEP] = 1.0 / fade

    def offer(self, chain: Chain) -> bool:
        """Play ``chain`` from the next block on (crossfading). It must be prepared for this
        player's spec; prepare and warm it on the control thread first (``prepare_chain``).

        One chain at a time is handed over: the control thread writes the slot only when it is
        empty and the audio thread only empties it, so neither can lose the other's write.
        Returns False at once when the audio thread has not yet taken the previous offer (audio
        stopped, or two changes within a block); offer again later."""
        if chain.spec != self.spec:
            raise ValueError(f"chain prepared for {chain.spec}, the player runs {self.spec}")
        if self._chain is None and self.stats[BLOCKS] == 0 and self._pending is None:
            self._chain = chain  # before the audio starts
            return True
        if self._pending is not None:
            return False
        self._pending = chain
        return True

    def prepare_chain(self, chain: Chain, warm_blocks: int = 16) -> Chain:
        """Prepare ``chain`` for this engine and run it on silence so its first real block
        costs what every later one does (numba dispatch resolved, caches hot), then reset."""
        chain.prepare(self.spec)
        z = np.zeros(self.max_block, np.float32)
        for _ in range(warm_blocks):
            z[:] = 0.0
            chain.process(z)
        chain.reset()
        return chain

    @property
    def chain(self) -> Chain | None:
        return self._chain

    @property
    def swapping(self) -> bool:
        return self._pending is not None or self._old is not None

    def set_bypass(self, bypass: bool) -> None:
        self._st[MIX_WET_TO] = 0.0 if bypass else 1.0

    @property
    def bypass(self) -> bool:
        return bool(self._st[MIX_WET_TO] == 0.0)

    def set_tuner(self, on: bool) -> None:
        """Tuner mode: the output fades to silence and the pitch tracker reads the input."""
        self._tuner = bool(on)
        self._st[MIX_OUT_TO] = 0.0 if on else 1.0

    @property
    def tuner(self) -> bool:
        return self._tuner

    def collect(self) -> int:
        """Drop the chains the audio thread has finished with (control thread). Returns how
        many were released."""
        n = 0
        for i in range(_RETIRE_SLOTS):
            if self._retired[i] is not None:
                self._retired[i] = None
                n += 1
        return n

    def counters(self) -> dict:
        s = self.stats
        return {"blocks": int(s[BLOCKS]), "frames": int(s[FRAMES]),
                "load_last": float(s[LOAD_LAST]), "load_max": float(s[LOAD_MAX]),
                "load_avg": float(s[LOAD_AVG]), "overruns": int(s[OVERRUNS]),
                "swaps": int(s[SWAPS]), "faults": int(s[FAULTS]),
                "nonfinite": int(self._st[MIX_NONFINITE]),
                "clipped": int(self._st[MIX_CLIPPED])}

    def reset_load_max(self) -> None:
        self.stats[LOAD_MAX] = 0.0

    # audio thread --------------------------------------------------------------------------
    def _park(self, chain):
        self._retired[self._retire_at] = chain
        self._retire_at = (self._retire_at + 1) % _RETIRE_SLOTS

    def process(self, inp: np.ndarray, out: np.ndarray) -> None:
        """One block: ``inp`` (float32, n <= max_block) through the chain into ``out``."""
        t0 = time.perf_counter_ns()
        n = inp.shape[0]
        st = self._st
        pending = self._pending
        if pending is not None:
            self._pending = None
            if self._old is not None:  # a crossfade still running: its old chain goes now
                self._park(self._old)
            self._old = self._chain
            self._chain = pending
            st[MIX_FADE_LEFT] = st[MIX_FADE_LEN]
            self.stats[SWAPS] += 1
        dry = self._dry[:n]
        dry[:] = inp
        wet = out[:n]
        wet[:] = inp
        chain = self._chain
        if chain is not None:
            try:
                chain.process(wet)
            except Exception:  # noqa: BLE001 - a failing model must not stop the audio
                self._chain = None
                self._park(chain)
                self.stats[FAULTS] += 1
                wet[:] = dry
        old = self._old
        oldbuf = self._oldbuf[:n]
        if old is not None:
            oldbuf[:] = dry
            try:
                old.process(oldbuf)
            except Exception:  # noqa: BLE001
                self._old = None
                self._park(old)
                self.stats[FAULTS] += 1
                oldbuf[:] = dry
        mix_block(wet, oldbuf, dry, n, st)
        if old is not None and st[MIX_FADE_LEFT] <= 0.0:
            self._old = None
            self._park(old)
        if self._tuner:
            if not self._tuner_was:
                self.tracker.reset()
            self.tracker.process(dry)
        self._tuner_was = self._tuner
        t1 = time.perf_counter_ns()
        s = self.stats
        load = (t1 - t0) / (n * self._ns_per_frame) if n else 0.0
        s[BLOCKS] += 1
        s[FRAMES] += n
        s[LOAD_LAST] = load
        if load > s[LOAD_MAX]:
            s[LOAD_MAX] = load
        s[LOAD_AVG] += 0.01 * (load - s[LOAD_AVG])
        if load > 1.0:
            s[OVERRUNS] += 1
        s[T_LAST] = t1 * 1e-9
