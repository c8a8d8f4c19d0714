"""The rig search of ``pedal match``: models x drive x cabinet, coarse to fine, then an EQ.

1. Every model at five input gains (0, -12, +12, -6, +6 dB) renders the DI excerpt (gate and amp, the
   pedal's own blocks and engines; renders are cached). Each render is scored with every
   cabinet by the distance left after the best smooth EQ, the cabinet applied as its magnitude
   response (an approximation good enough to rank).
2. The best models get their drive refined (+-3, +-1.5 dB) with their best cabinets.
3. The two best models, at their best drive, are rendered for real with every cabinet (the
   cabinet convolved), a parametric EQ is fitted to what is left of each, and the
   multi-resolution distance after it decides.
Everything runs inside a time budget; what did not fit is said, not hidden.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from ..audio.files import resample
from ..dsp import AmpModel, Chain, NoiseGate, ParametricEQ, ProcessSpec
from ..dsp.run import run_blocks
from .eqfit import GRID, fit_eq
from .features import RATE
from .library import Library
from .target import CENTRES, Target, response_bands, smooth_bands

KEEP_MODELS = 3
FINAL_MODELS = 2
BLOCK = 256


@dataclass
class Rig:
    model: int
    gain_db: float
    ir: int
    score: float                      # the distance this rig was ranked by (dB)
    bands: list = field(default_factory=list)
    eq_gain_db: float = 0.0
    final: float | None = None        # multi-resolution distance after the fitted EQ


@dataclass
class SearchLog:
    renders: int = 0
    render_seconds: float = 0.0
    scored: int = 0
    notes: list[str] = field(default_factory=list)
    ranking: list[Rig] = field(default_factory=list)


def amp_render(model, x: np.ndarray, gain_db: float, gate_db: float) -> np.ndarray:
    """x (at RATE) through the gate and the amp as the preset's chain runs them, at RATE."""
    from ..preset import SCHEMA

    g = SCHEMA.fields["gate"].fields
    gate = NoiseGate(gate_db, g["attack_ms"].default, g["hold_ms"].default,
                     g["release_ms"].default, g["hysteresis_db"].default, g["range_db"].default)
    amp = AmpModel(model, gain_db, 0.0, [0.5] * model.knob_count, normalize_loudness=True)
    chain = Chain([gate, amp])
    sr = model.sample_rate
    chain.prepare(ProcessSpec(sr, BLOCK))
    lat = chain.latency
    y = np.concatenate([resample(x, RATE, sr), np.zeros(lat, np.float32)])
    run_blocks(chain, y, BLOCK, inplace=True)
    return resample(y[lat:], sr, RATE)[: len(x)]


def convolve(y: np.ndarray, taps) -> np.ndarray:
    if taps is None:
        return y
    n = len(y) + len(taps) - 1
    size = 1 << (n - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(y, size) * np.fft.rfft(taps, size), size)[: len(y)]
    return out.astype(np.float32)


def ir_response_db(taps, size: int) -> np.ndarray:
    """The cabinet's magnitude response in the target's bands (dB)."""
    if taps is None:
        return np.zeros(len(CENTRES[size]))
    n = max(size, 1 << (len(taps) - 1).bit_length())
    h = 20 * np.log10(np.abs(np.fft.rfft(taps, n)) + 1e-9)
    return response_bands(h[:: n // size], size)


def apply_eq(y: np.ndarray, bands) -> np.ndarray:
    if not bands:
        return y
    eq = ParametricEQ(bands)
    eq.prepare(ProcessSpec(RATE, 8192))
    return run_blocks(eq, y, 8192)


def fit_rig_eq(target: Target, y: np.ndarray, max_bands: int = 8):
    """A parametric EQ for the rendered rig ``y``: the per-band target at FFT 4096, read on
    the fit grid and weighted by how much of the record has content there."""
    size = 4096
    spec = target.spectra(y, (size,))
    diff = target.difference(spec, size)
    curve = target.eq_target(diff, size)
    weight = smooth_bands(target.mask[size].mean(axis=0).astype(np.float64), 5)
    lf, lg = np.log(CENTRES[size]), np.log(GRID)
    return fit_eq(np.interp(lg, lf, curve), np.interp(lg, lf, weight) + 0.05,
                  max_bands=max_bands)


class Search:
    def __init__(self, lib: Library, target: Target, excerpt: np.ndarray, gate_db: float,
                 budget_s: float, progress=None, pre: int = 0):
        """excerpt: the DI samples to render, of which the first ``pre`` settle the models'
        state and are dropped (the target's first frame is the sample after them)."""
        self.lib, self.target, self.x, self.gate_db = lib, target, excerpt, gate_db
        self.pre = pre
        self.deadline = time.monotonic() + budget_s
        self.budget_s = budget_s
        self.progress = progress
        self.cache: dict[tuple[int, float], np.ndarray] = {}
        self.log = SearchLog()
        self.best: Rig | None = None      # after ``run``
        self.h_db = [ir_response_db(e.item.taps, 4096) for e in lib.irs]  # type: ignore[attr-defined]

    def _left(self) -> float:
        return self.deadline - time.monotonic()

    def render(self, m: int, gain: float) -> np.ndarray:
        key = (m, round(gain, 2))
        if key not in self.cache:
            t0 = time.perf_counter()
            self.cache[key] = amp_render(self.lib.models[m].item, self.x, gain,
                                         self.gate_db)[self.pre:]
            self.log.renders += 1
            self.log.render_seconds += time.perf_counter() - t0
        return self.cache[key]

    def rank(self, m: int, gain: float) -> list[Rig]:
        """The rig (m, gain) with every cabinet, by the distance after an ideal smooth EQ."""
        y = self.render(m, gain)
        diff = self.target.difference(self.target.spectra(y, (4096,)), 4096)
        out = []
        for k, h in enumerate(self.h_db):
            out.append(Rig(m, gain, k, self.target.ideal_eq_distance(diff - h[None, :])))
            self.log.scored += 1
        return out

    def run(self) -> list[Rig]:
        """The three stages; returns the finalists, best first (``best`` is the first)."""
        rigs = self._coarse()
        rigs += self._refine(rigs)
        if self.progress:
            self.progress(0.85)
        finals = self._final(rigs)
        if self.progress:
            self.progress(1.0)
        return finals

    def _coarse(self) -> list[Rig]:
        """Stage 1: every model at every coarse drive, within the budget's first 60 %. The
        widest spread of drives comes first, so a short budget still spans them."""
        rigs: list[Rig] = []
        n_models = len(self.lib.models)
        end = time.monotonic() + 0.6 * self.budget_s
        order = (0.0, -12.0, 12.0, -6.0, 6.0)
        for gi, gain in enumerate(order):
            for m in range(n_models):
                if gi >= 1 and time.monotonic() > end:
                    self.log.notes.append(
                        f"time: drive {gain:+g} dB and beyond were not tried for "
                        f"{n_models - m} model(s) (raise --minutes to search them)")
                    return rigs
                rigs += self.rank(m, gain)
                if self.progress:
                    self.progress(0.6 * (gi * n_models + m + 1) / (n_models * len(order)))
        return rigs

    def _refine(self, rigs: list[Rig]) -> list[Rig]:
        """Stage 2: the drive of the best KEEP_MODELS models, +-3 then +-1.5 dB."""
        best_per_model: dict[int, Rig] = {}
        for r in sorted(rigs, key=lambda r: r.score):
            best_per_model.setdefault(r.model, r)
        top = sorted(best_per_model.values(), key=lambda r: r.score)[:KEEP_MODELS]
        more: list[Rig] = []
        for step in (3.0, 1.5):
            for i, r0 in enumerate(top):
                if self._left() < 0.25 * self.budget_s:
                    return more
                cands = [r0]
                for g in (r0.gain_db - step, r0.gain_db + step):
                    if -24 <= g <= 24:
                        cands += self.rank(r0.model, g)
                more += cands[1:]
                top[i] = min(cands, key=lambda r: r.score)
        return more

    def _final(self, rigs: list[Rig]) -> list[Rig]:
        """Stage 3: the best drives of the FINAL_MODELS best models with every cabinet,
        rendered for real (the cabinet convolved), each with its fitted EQ. Every cabinet, not
        the ranked few: the magnitude-response ranking cannot tell a cabinet from an EQ that
        imitates it."""
        lib = self.lib
        pool = sorted({(r.model, r.gain_db, r.ir): r for r in rigs}.values(),
                      key=lambda r: r.score)
        heads: list[Rig] = []
        for r in pool:
            if len(heads) >= FINAL_MODELS:
                break
            if all(h.model != r.model for h in heads):
                heads.append(r)
        finals: list[Rig] = []
        todo = [(h, k) for h in heads for k in range(len(lib.irs))]
        for n, (h, k) in enumerate(todo):
            if n > len(lib.irs) and self._left() < 0:
                self.log.notes.append(f"time: {len(todo) - n} rig(s) of the last stage were "
                                      "not rendered (raise --minutes to try them)")
                break
            r = Rig(h.model, h.gain_db, k, h.score)
            y = convolve(self.render(r.model, r.gain_db), lib.irs[k].item.taps)  # type: ignore[attr-defined]
            r.bands, r.eq_gain_db = fit_rig_eq(self.target, y)
            r.final = self.target.distance(apply_eq(y, r.bands))
            finals.append(r)
            if self.progress:
                self.progress(0.85 + 0.15 * (n + 1) / len(todo))
        finals.sort(key=lambda r: r.final if r.final is not None else float("inf"))
        self.log.ranking = finals + [r for r in pool[:20] if r not in finals]
        self.best = finals[0]
        return finals
