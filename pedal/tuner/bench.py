"""``pedal bench tuner``: how accurate and how fast to settle the tuner is, beside a plain
autocorrelation tuner (the browser pedal's method) and ``librosa.pyin`` (when installed), on
the same signals in the same run.

Signals: plucked strings synthesised with known fundamentals (all six strings, open and at
frets 3, 5, 7 and 12, each detuned by a known random amount): inharmonic partials
(f_n = n f0 sqrt(1 + B n^2)), a pluck-position comb, pick noise, a weak and fast-decaying
fundamental on the wound strings, a noise floor. The truth is the fundamental partial's own
frequency. Real DI recordings (../shared/data/di) have no known truth: for them the tuner is
compared with a long-window offline estimate where that one is steady.

Per string: median and 95th-percentile absolute error in cents on the held note (from 150 ms
after the pluck to 1 s), gross errors (readings more than 50 cents from the truth: wrong note
or octave) among all readings, and settle time (pluck to the first reading within 1 cent after
which every reading stays within 2 cents).
"""

from __future__ import annotations

import json
import math
import sys
import time
from typing import Callable
from pathlib import Path

import numpy as np

from .tracker import PitchTracker
from .tuning import TUNINGS, note_hz

SR = 48000
FRETS = (0, 3, 5, 7, 12)
NOTE_S = 1.3
HELD = (0.15, 1.0)


def synth_string(f0: float, sr: int, rng, seconds: float = NOTE_S, wound: bool = False,
                 inharmonicity: float | None = None) -> tuple[np.ndarray, float]:
    """A plucked string; returns (signal, true fundamental frequency)."""
    b = inharmonicity if inharmonicity is not None else rng.uniform(1e-5, 1e-4)
    t = np.arange(int(seconds * sr)) / sr
    x = np.zeros_like(t)
    beta = rng.uniform(0.1, 0.25)  # pluck position, fraction of the string from the bridge
    n = 1
    while True:
        fn = n * f0 * math.sqrt(1 + b * n * n)
        if fn > min(0.45 * sr, 8000.0) or n > 40:
            break
        amp = abs(math.sin(math.pi * n * beta)) / n
        decay = 1.5 + 0.15 * n * n ** 0.5
        if n == 1 and wound:
            amp *= 0.25  # a weak fundamental under a strong 2nd harmonic
            decay *= 3.0  # that also dies first
        x += amp * np.exp(-decay * t) * np.sin(2 * np.pi * fn * t + rng.uniform(0, 2 * np.pi))
        n += 1
    x /= np.max(np.abs(x))
    pick = int(0.003 * sr)
    x[:pick] += 0.5 * rng.standard_normal(pick) * np.linspace(1, 0, pick)
    x += 10 ** (-70 / 20) * rng.standard_normal(len(x))
    return (0.3 * x).astype(np.float32), f0 * math.sqrt(1 + b)


def test_notes(sr: int = SR, seed: int = 1):
    """[(string, fret, signal, truth Hz)] for the six strings at FRETS."""
    rng = np.random.default_rng(seed)
    out = []
    for i, s in enumerate(TUNINGS["standard"]):
        for fret in FRETS:
            detune = rng.uniform(-30, 30)
            f0 = note_hz(s) * 2 ** ((fret + detune / 100) / 12)
            x, truth = synth_string(f0, sr, rng, wound=i < 3)
            out.append((s, fret, x, truth))
    return out


# ---- peers ------------------------------------------------------------------------------------
def autocorr_track(x, sr, hop, frame=2048, fmin=38.0, fmax=1400.0, silence=1e-3):
    """Plain autocorrelation: the whole-sample lag of the largest peak, no interpolation, no
    smoothing (the browser pedal's tuner)."""
    lo, hi = int(sr / fmax), min(int(sr / fmin), frame - 1)
    out = []
    for end in range(hop, len(x) + 1, hop):
        seg = x[max(0, end - frame):end].astype(np.float64)
        if len(seg) < frame or np.sqrt(np.mean(seg ** 2)) < silence:
            out.append((end / sr, None))
            continue
        seg = seg - seg.mean()
        spec = np.fft.rfft(seg, 2 * frame)
        ac = np.fft.irfft(spec * np.conj(spec))[:frame]
        lag = lo + int(np.argmax(ac[lo:hi]))
        out.append((end / sr, sr / lag))
    return out


def pedal_track(x, sr, hop=None):
    tr = PitchTracker(sr)
    return [(r.t, r.freq_hz) for r in tr.track(x)]


def pyin_track(x, sr, hop):
    import librosa

    f0, voiced, _ = librosa.pyin(x.astype(np.float64), fmin=38.0, fmax=1400.0, sr=sr,
                                 frame_length=4096, hop_length=hop, center=False)
    times = (np.arange(len(f0)) * hop + 4096) / sr
    return [(t, float(f) if v and np.isfinite(f) else None) for t, f, v in zip(times, f0,
                                                                             voiced)]


# ---- scoring -----------------------------------------------------------------------------------
def score(readings, truth):
    """(held-note abs cents list, gross count, readings count, settle seconds)."""
    held, gross, total = [], 0, 0
    errs = []
    for t, f in readings:
        if f is None or t > HELD[1]:
            continue
        e = 1200 * math.log2(f / truth)
        total += 1
        gross += abs(e) > 50
        errs.append((t, e))
        if t >= HELD[0]:
            held.append(abs(e))
    settle = math.inf
    for i, (t, e) in enumerate(errs):
        if abs(e) <= 1.0 and all(abs(e2) <= 2.0 for _, e2 in errs[i:]):
            settle = t
            break
    return held, gross, total, settle


def run(sr: int = SR, peers=True):
    notes = test_notes(sr)
    hop = int(0.01 * sr)
    trackers: dict[str, Callable] = {"pedal": pedal_track, "autocorr": autocorr_track}
    if peers:
        try:
            import librosa  # noqa: F401

            trackers["pyin"] = pyin_track
        except ImportError:
            pass
    rows = []
    for name, fn in trackers.items():
        per: dict = {}
        t0 = time.perf_counter()
        for s, fret, x, truth in notes:
            held, gross, total, settle = score(fn(x, sr, hop), truth)
            d = per.setdefault(s, {"held": [], "gross": 0, "readings": 0, "settle": []})
            d["held"] += held
            d["gross"] += gross
            d["readings"] += total
            d["settle"].append(settle)
        elapsed = time.perf_counter() - t0
        for s in TUNINGS["standard"]:
            d = per[s]
            h = np.array(d["held"]) if d["held"] else np.array([math.inf])
            rows.append({"tracker": name, "string": s, "median_cents": float(np.median(h)),
                         "p95_cents": float(np.percentile(h, 95)),
                         "gross_rate": d["gross"] / max(1, d["readings"]),
                         "settle_ms": 1000 * float(np.max(d["settle"])),
                         "seconds": elapsed})
    return rows


def di_agreement(paths, seconds: float = 20.0):
    """Real DI recordings have no known pitch. Where ``librosa.pyin`` is confident (voiced
    probability > 0.9) and steady (its neighbours within 5 cents), take its reading as the
    established pitch and report how far each tracker is from it. pyin's own error (a few
    cents on the synthetic plucks) is in these figures too."""
    from ..audio.files import read_audio, to_mono

    import librosa

    rows = []
    for path in paths:
        data, sr = read_audio(path, what="DI recording")
        x = to_mono(data)[: int(seconds * sr)]
        hop = int(0.01 * sr)
        f0, voiced, prob = librosa.pyin(x.astype(np.float64), fmin=38.0, fmax=1400.0, sr=sr,
                                        frame_length=4096, hop_length=hop, center=False)
        times = (np.arange(len(f0)) * hop + 4096) / sr
        steady = {}
        for i in range(1, len(f0) - 1):
            if prob[i] > 0.9 and all(np.isfinite(f0[i - 1:i + 2])) and \
                    np.max(np.abs(1200 * np.log2(f0[i - 1:i + 2] / f0[i]))) < 5:
                steady[round(times[i], 2)] = f0[i]
        row = {"file": str(path), "established": len(steady)}
        for name, fn in (("pedal", pedal_track), ("autocorr", autocorr_track)):
            errs, octave, got = [], 0, 0
            for t, f in fn(x, sr, hop):
                ref = steady.get(round(t, 2))
                if ref is None or f is None:
                    continue
                got += 1
                e = 1200 * math.log2(f / ref)
                if abs(e) > 50:
                    octave += 1
                else:
                    errs.append(abs(e))
            row[name] = {"readings": got, "median_cents": float(np.median(errs)) if errs else
                         None, "gross": octave}
        rows.append(row)
    return rows


def run_tuner_bench(as_json=False, di_dir=None) -> int:
    rows = run()
    di = []
    if di_dir is not None and Path(di_dir).is_dir():
        try:
            di = di_agreement(sorted(Path(di_dir).glob("*.wav")))
        except ImportError:
            di = []
    if as_json:
        print(json.dumps({"synthetic": rows, "di": di}))
        return 0
    n = len(test_notes())
    print(f"pedal bench tuner: {n} synthetic plucks at {SR} Hz (6 strings x frets "
          f"{', '.join(map(str, FRETS))}, detuned, inharmonic, pick noise); held note "
          f"{HELD[0]:.2f}-{HELD[1]:.1f} s; settle = worst note of the string")
    print(f"{'tracker':<10}{'string':<8}{'median':>9}{'p95':>9}{'gross':>9}{'settle':>10}")
    for r in rows:
        print(f"{r['tracker']:<10}{r['string']:<8}{r['median_cents']:>8.3f}c"
              f"{r['p95_cents']:>8.3f}c{100 * r['gross_rate']:>8.1f}%"
              f"{r['settle_ms']:>8.0f}ms")
    if di:
        print("\nDI recordings (no known pitch): distance from pyin where pyin is confident "
              "and steady")
        print(f"{'file':<48}{'frames':>7}  {'pedal med/gross':>18}  {'autocorr med/gross':>20}")
        for r in di:
            cells = []
            for name in ("pedal", "autocorr"):
                d = r[name]
                med = "-" if d["median_cents"] is None else f"{d['median_cents']:.2f}c"
                cells.append(f"{med}/{d['gross']} of {d['readings']}")
            print(f"{Path(r['file']).name[:47]:<48}{r['established']:>7}  {cells[0]:>18}  "
                  f"{cells[1]:>20}")
    sys.stdout.flush()
    return 0
