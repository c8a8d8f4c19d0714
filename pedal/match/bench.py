"""``pedal bench match``: how close ``pedal match`` gets, against the truth, beside two
baselines measured in the same run.

Each case hides a rig made of library parts (a model at a random drive, a cabinet, a random
two-band EQ, a random level) and makes a "record" with it on the pedal's own chain. The match
sees only the record and the user's DI; its preset then plays the user's DI, and that is
compared with the truth, the user's DI through the hidden rig, sample for sample:
multi-resolution STFT log-magnitude distance (FFT 256/1024/4096) and third-octave long-term
spectrum distance, both in dB after one loudness gain. Baselines: the default preset, and the
default preset followed by an EQ-only match (the record's long-term spectrum over the default
preset's, third-octave smoothed, as a linear-phase FIR), which is what "match EQ" tools do.

Tiers: (1) isolated guitar, the same passage, offset behind a lead-in, tape speed off by up to
2 %; (2) isolated guitar, another passage of the same recording; (3) another guitar: the user's
DI has a pickup difference (an EQ before the amp) from the one the record was made with;
(4, with ``--capture``) beyond the library: tier 1 with the hidden model left out of the
library, matched without and with ``--capture``.
Material: the DIs, models and IRs of ../shared/data (read, never copied).
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..audio.files import read_audio, resample, to_mono, write_audio
from ..dsp.eq import Band
from .command import match
from .output import render_preset, write_preset
from .distance import ltas_db, mrstft_db
from .features import RATE, magnitude, smooth_log_freq
from .search import apply_eq

MODELS = ["nam/BossLSTM-1x16.nam", "nam/BossWN-nano.nam", "nam/PhillipeP_BOSS_SD1_feather.nam",
          "nam/PeterN_DirtyTree_DT33_V7_lite.nam", "nam/Mesa_Mk3_HiGain_standard.nam",
          "json/neuralpi/NeuralPi_BluesJR_FullD.json",
          "json/proteus/Proteus_BlackstarHT40_AmpClean.json",
          "json/proteus/Proteus_TS9_DriveKnob.json",
          "json/aidax/AIDAX_tw40_california_clean_deerinkstudios.json"]  # + the bundled one
DIS = ["di/t3k_Celestial_Guitar_DI.wav", "reamp/fps_guitar_clean_input.wav"]
PICKUP = [Band("peak", 2400.0, 5.0, 1.4), Band("low_shelf", 250.0, 2.5, 0.7071),
          Band("high_shelf", 6000.0, -4.0, 0.7071)]   # a humbucker-ish DI from a single coil


@dataclass
class Case:
    tier: int
    seed: int
    hidden: dict
    scores: dict
    found: bool
    seconds: float
    chosen: str
    internal: dict       # what the match itself measured (record frames or statistics)


def fir_eq_only(record: np.ndarray, y: np.ndarray, taps: int = 4095) -> np.ndarray:
    """The EQ-only baseline: y through a linear-phase FIR whose magnitude is the record's
    long-term spectrum over y's, smoothed over a third of an octave."""
    size = 8192
    pr = np.mean(magnitude(record, size, size // 2).astype(np.float64) ** 2, axis=0)
    py = np.mean(magnitude(y, size, size // 2).astype(np.float64) ** 2, axis=0)
    curve = smooth_log_freq(10 * np.log10(pr + 1e-18) - 10 * np.log10(py + 1e-18), size, 1 / 3)
    curve = np.clip(curve - np.median(curve), -30, 30)
    h = np.fft.irfft(10 ** (curve / 20), size)
    h = np.roll(h, taps // 2)[:taps] * np.hanning(taps)
    out = np.convolve(y, h)[taps // 2: taps // 2 + len(y)]
    return out.astype(np.float32)


def _hidden(rng, models, irs) -> dict:
    return {
        "model": str(models[rng.integers(len(models))]),
        "input_gain_db": round(float(rng.uniform(-6, 12)), 1),
        "ir": str(irs[rng.integers(len(irs))]),
        "bands": [Band("peak", round(float(np.exp(rng.uniform(np.log(300), np.log(4000)))), 1),
                       round(float(rng.uniform(-6, 6)), 1), round(float(rng.uniform(0.7, 2)), 2)),
                  Band(["low_shelf", "high_shelf"][rng.integers(2)],
                       round(float(rng.uniform(150, 5000)), 1),
                       round(float(rng.uniform(-4, 4)), 1), 0.7071)],
        "level_db": round(float(rng.uniform(-6, 3)), 1),
    }


def _load(shared: Path, rel: str) -> np.ndarray:
    data, sr = read_audio(shared / "data" / rel, what="DI")
    return resample(to_mono(data), sr, RATE)


def run_case(tier: int, seed: int, shared: Path, work: Path, minutes: float,
             seconds: float) -> Case:
    from .. import paths

    rng = np.random.default_rng(1000 * (1 if tier == 4 else tier) + seed)  # 4: tier 1's rigs
    models = [shared / "data" / m for m in MODELS] + [paths.MODELS_DIR /
                                                      "pedal_overdrive_lstm16.onnx"]
    irs = sorted((shared / "data" / "ir" / "cab").glob("*.wav")) + [paths.IR_DIR /
                                                                    "pedal_synthetic_4x12.wav"]
    h = _hidden(rng, models, irs)
    if tier == 4:  # beyond the library: the hidden amp is not in it
        models = [m for m in models if str(m) != h["model"]]
    hid = work / f"hidden_{tier}_{seed}.yaml"
    write_preset(hid, "hidden", Path(h["model"]), h["input_gain_db"], Path(h["ir"]),
                 h["bands"], -65.0, h["level_db"], [0.5] if "DriveKnob" in h["model"] else [])
    src = _load(shared, DIS[seed % len(DIS)])
    other = _load(shared, DIS[(seed + 1) % len(DIS)])
    n = int(seconds * RATE)
    if tier == 2:
        half = len(src) // 2
        record_di, user_di = src[:half][:n], src[half:][:n]
    else:
        start = int(rng.uniform(0, max(1, len(src) - n)))
        record_di = user_di = src[start:start + n]
        if tier == 3:
            user_di = apply_eq(record_di.copy(), PICKUP)
        ratio = float(rng.uniform(0.98, 1.02))
        record_di = resample(record_di, RATE, int(round(RATE * ratio)))
        lead = other[: int(rng.uniform(1.0, 4.0) * RATE)]
        record_di = np.concatenate([lead, record_di, other[-RATE:]])
    record = render_preset(hid, record_di)
    record = record + rng.standard_normal(len(record)).astype(np.float32) * 1e-4
    truth = render_preset(hid, user_di)
    rec_path, di_path = work / f"record_{tier}_{seed}.wav", work / f"di_{tier}_{seed}.wav"
    write_audio(rec_path, record, RATE)
    write_audio(di_path, user_di, RATE)
    t0 = time.monotonic()
    lib_irs = [shared / "data" / "ir" / "cab", irs[-1]]   # the bundled one is in both lists
    rep = match(rec_path, di_path, work / f"match_{tier}_{seed}.yaml", minutes=minutes,
                models=models, irs=lib_irs, bundled=False)
    spent = time.monotonic() - t0
    from .. import paths as _p

    y_match = render_preset(rep.preset, user_di)
    y_default = render_preset(_p.DEFAULT_PRESET, user_di)
    y_eq = fir_eq_only(record, y_default)
    runs = [("default", y_default), ("eq_only", y_eq), ("match", y_match)]
    if tier == 4:
        cap = match(rec_path, di_path, work / f"capture_{tier}_{seed}.yaml", minutes=minutes,
                    models=models, irs=lib_irs, bundled=False, capture=True)
        runs.append(("capture", render_preset(cap.preset, user_di)))
        rep.notes += [n for n in cap.notes if n.startswith("capture:")]
    scores = {}
    for name, y in runs:
        scores[name] = {"mrstft": mrstft_db(truth, y), "ltas": ltas_db(truth, y)}
    hidden = {"model": Path(h["model"]).name, "gain": h["input_gain_db"],
              "ir": Path(h["ir"]).name}
    chosen = f"{Path(rep.model).name} {rep.input_gain_db:+.1f} dB, {Path(rep.ir or '-').name}"
    internal = {"default": round(rep.before_db, 3), "match": round(rep.after_db, 3),
                "notes": rep.notes}
    return Case(tier, seed, hidden, scores, rep.alignment.found, spent, chosen, internal)


def run(shared: Path, *, cases: int = 3, tiers=(1, 2, 3), minutes: float = 3.0,
        seconds: float = 30.0, log=print) -> list[Case]:
    """Every case of every tier; ``log`` hears a line per case."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for tier in tiers:
            for seed in (range(cases) if isinstance(cases, int) else cases):
                c = run_case(tier, seed, shared, Path(tmp), minutes, seconds)
                s = c.scores
                extra = f", capture {s['capture']['mrstft']:.2f}" if "capture" in s else ""
                log(f"tier {tier} case {seed}: default {s['default']['mrstft']:.2f}, eq-only "
                    f"{s['eq_only']['mrstft']:.2f}, match {s['match']['mrstft']:.2f}{extra} dB "
                    f"(aligned {c.found}, {c.seconds:.0f} s; hidden {c.hidden}; chose "
                    f"{c.chosen}; internal {c.internal})")
                out.append(c)
    return out


def table(cases: list[Case]) -> str:
    lines = ["| tier | cases | default MR-STFT | EQ-only MR-STFT | match MR-STFT | "
             "default LTAS | EQ-only LTAS | match LTAS | match worse than default | "
             "aligned | seconds (mean, max) |", "|" + "---|" * 11]
    names = {1: "1 same passage, offset, tempo +-2 %", 2: "2 another passage",
             3: "3 another guitar (pickup EQ)", 4: "4 beyond the library, no --capture"}
    for tier in sorted({c.tier for c in cases}):
        cs = [c for c in cases if c.tier == tier]
        m = {k: {q: np.mean([c.scores[k][q] for c in cs]) for q in ("mrstft", "ltas")}
             for k in ("default", "eq_only", "match")}
        worse = sum(c.scores["match"]["mrstft"] > c.scores["default"]["mrstft"] for c in cs)
        secs = [c.seconds for c in cs]
        lines.append(f"| {names.get(tier, tier)} | {len(cs)} | {m['default']['mrstft']:.2f} | "
                     f"{m['eq_only']['mrstft']:.2f} | **{m['match']['mrstft']:.2f}** | "
                     f"{m['default']['ltas']:.2f} | {m['eq_only']['ltas']:.2f} | "
                     f"{m['match']['ltas']:.2f} | {worse} | "
                     f"{sum(c.found for c in cs)}/{len(cs)} | {np.mean(secs):.0f}, "
                     f"{max(secs):.0f} |")
        if tier == 4:
            cap = np.mean([c.scores["capture"]["mrstft"] for c in cs])
            cap_l = np.mean([c.scores["capture"]["ltas"] for c in cs])
            worse = sum(c.scores["capture"]["mrstft"] > c.scores["default"]["mrstft"]
                        for c in cs)
            lines.append(f"| 4 beyond the library, --capture | {len(cs)} | | | **{cap:.2f}** | "
                         f"| | {cap_l:.2f} | {worse} | | |")
    return "\n".join(lines)


def cases_json(cases: list[Case]) -> str:
    return json.dumps([c.__dict__ for c in cases], indent=2, default=str)


def run_match_bench(*, as_json: bool = False, cases: int = 3, minutes: float = 3.0,
                    shared: Path | None = None, capture: bool = False) -> int:
    """The command: every tier, ``cases`` cases each; the table (or JSON) on stdout."""
    import sys

    from ..errors import PedalError

    shared = shared or Path(__file__).resolve().parents[2].parent / "shared"
    if not (shared / "data" / "di").is_dir():
        raise PedalError(f"{shared / 'data'}: not found; the match benchmark is built from "
                         "the shared DIs, models and IRs")
    res = run(shared, cases=cases, minutes=minutes, tiers=(1, 2, 3, 4) if capture else (1, 2, 3),
              log=lambda s: print(s, file=sys.stderr))
    print(cases_json(res) if as_json else table(res))
    return 0
