"""Sound the project makes itself: a plucked electric guitar (the demo DI clip, tuner tests,
training data) and a synthetic guitar-cabinet impulse response. Nothing here is third-party.
"""

from __future__ import annotations

import numpy as np

from ..kernels.filters import biquad_cascade

from ..kernels.offline import plucked_string
from ..dsp.eq import Band, rbj_sos

# standard tuning, low to high: MIDI note numbers of the open strings
STANDARD_TUNING = (40, 45, 50, 55, 59, 64)


def midi_to_hz(note: float, a4: float = 440.0) -> float:
    return a4 * 2.0 ** ((note - 69) / 12)


def _biquads(x: np.ndarray, bands, sr: float) -> np.ndarray:
    sos = np.vstack([rbj_sos(Band(**b), sr) for b in bands])
    y = x.astype(np.float32).copy()
    biquad_cascade(y, y.shape[0], sos, np.zeros((len(bands), 2)))
    return y


def pluck(freq_hz: float, seconds: float, sr: int = 48000, *, velocity: float = 0.8,
          pick_position: float = 0.18, decay_s: float = 2.5, brightness: float = 0.35,
          inharmonicity: float = 0.0, palm_mute: bool = False, rng=None) -> np.ndarray:
    """One plucked string as a magnetic pickup hears it (float32, peak about ``velocity``).

    pick_position: fraction of the string length from the bridge (the comb it cuts in the
    excitation); decay_s: time for the fundamental to fall 60 dB; brightness: loop loss
    filter (0 bright .. 0.5 dull); inharmonicity: 0..1 amount of stiffness dispersion.
    """
    rng = np.random.default_rng() if rng is None else rng
    n = int(seconds * sr)
    period = sr / freq_hz
    n_disp = 2 if inharmonicity > 0 else 0
    disp = -0.15 * inharmonicity
    # dispersion allpasses add low-frequency phase delay (1 - a)/(1 + a) each
    disp_delay = n_disp * (1 - disp) / (1 + disp) if n_disp else 0.0
    loop = period - brightness - disp_delay  # the loss filter delays by ~brightness
    delay_int = int(np.floor(loop - 0.1))
    frac = loop - delay_int
    ap = (1 - frac) / (1 + frac)
    if palm_mute:
        decay_s, brightness = min(decay_s, 0.25), 0.48
    loop_gain = 10 ** (-3 / (decay_s * freq_hz))
    # excitation: one period of filtered noise plus a pick click, combed by the pick position
    exc_len = max(int(period), 4)
    exc = rng.standard_normal(exc_len) * np.hanning(exc_len)
    # a pick is a soft, wide push more than a click: smooth the noise (harder = brighter)
    smooth = int(np.clip(exc_len * (0.25 - 0.15 * velocity), 2, 64))
    exc = np.convolve(exc, np.hanning(smooth + 2)[1:-1], mode="same")
    edge = min(24, exc_len)
    exc[:edge] += np.hanning(2 * edge)[edge:] * 0.3 * np.max(np.abs(exc))  # the pick's edge
    d = max(1, int(round(pick_position * period)))
    combed = exc.copy()
    combed[d:] -= exc[:-d] if d < exc_len else 0
    out = np.zeros(n)
    plucked_string(combed, out, delay_int, ap, loop_gain, brightness, disp, n_disp)
    # pickup: resonance of coil inductance with cable capacitance, a gentle high roll-off
    out = _biquads(out, [{"type": "low_pass", "freq_hz": 3200, "q": 1.6},
                         {"type": "low_pass", "freq_hz": 6000, "q": 0.6},
                         {"type": "high_pass", "freq_hz": 60, "q": 0.7}], sr)
    peak = np.max(np.abs(out)) or 1.0
    return (out / peak * velocity).astype(np.float32)


# (beat, length in beats, strings as (string index 0 = low E, fret), velocity, palm mute)
_RIFF = [
    (0.0, 0.5, [(0, 0)], 0.9, True), (0.5, 0.5, [(0, 0)], 0.7, True),
    (1.0, 0.5, [(0, 3)], 0.85, False), (1.5, 0.5, [(0, 0)], 0.7, True),
    (2.0, 0.5, [(1, 0)], 0.85, False), (2.5, 0.5, [(1, 2)], 0.85, False),
    (3.0, 1.0, [(0, 5), (1, 7)], 0.95, False),
    (4.0, 0.5, [(0, 0)], 0.9, True), (4.5, 0.5, [(0, 0)], 0.7, True),
    (5.0, 0.5, [(0, 3)], 0.85, False), (5.5, 0.5, [(1, 0)], 0.75, False),
    (6.0, 0.75, [(1, 2)], 0.85, False), (6.75, 0.25, [(1, 0)], 0.6, False),
    (7.0, 1.0, [(0, 0), (1, 2), (2, 2)], 1.0, False),
    (8.0, 0.5, [(2, 2)], 0.8, False), (8.5, 0.5, [(3, 2)], 0.8, False),
    (9.0, 0.5, [(3, 4)], 0.85, False), (9.5, 0.5, [(2, 4)], 0.8, False),
    (10.0, 0.5, [(2, 2)], 0.8, False), (10.5, 0.5, [(1, 5)], 0.8, False),
    (11.0, 1.0, [(0, 7), (1, 9), (2, 9)], 1.0, False),
    (12.0, 4.0, [(0, 0), (1, 2), (2, 2), (3, 1), (4, 0), (5, 0)], 1.0, False),
]


def guitar_riff(sr: int = 48000, bpm: float = 112.0, seed: int = 7, riff=None) -> np.ndarray:
    """A short rock riff in E on a synthesized electric guitar, peak 0.5 (a DI at line level)."""
    rng = np.random.default_rng(seed)
    riff = _RIFF if riff is None else riff
    beat = 60.0 / bpm
    end = max(b + length for b, length, *_ in riff) * beat + 2.5
    out = np.zeros(int(end * sr))
    for start, length, notes, vel, mute in riff:
        ring = length * beat + (0.05 if mute else 0.25)
        for k, (string, fret) in enumerate(notes):
            f = midi_to_hz(STANDARD_TUNING[string] + fret)
            v = vel * (1 - 0.08 * k) * rng.uniform(0.9, 1.0)
            s = pluck(f, ring + 2.0, sr, velocity=v, palm_mute=mute,
                      pick_position=rng.uniform(0.12, 0.22), decay_s=3.0 - 0.3 * string,
                      brightness=0.42 + 0.05 * rng.random(), inharmonicity=0.3, rng=rng)
            # the player damps the string when the note ends (a short fade, no click)
            keep = int(ring * sr)
            fade = int(0.03 * sr) if start + length < riff[-1][0] + riff[-1][1] else int(1.5 * sr)
            env = np.ones(len(s))
            env[keep:keep + fade] = np.linspace(1, 0, len(env[keep:keep + fade]))
            env[keep + fade:] = 0
            at = int((start * beat + 0.012 * k) * sr)  # strummed chords roll over the strings
            seg = (s * env)[: len(out) - at]
            out[at:at + len(seg)] += seg
    return (out / np.max(np.abs(out)) * 0.5).astype(np.float32)


def cabinet_ir(sr: int = 48000, taps: int = 8192, seed: int = 3) -> np.ndarray:
    """A synthetic 4x12-style closed-back cabinet close-miked on axis (unit energy).

    Built from: the speaker's low resonance (peak near 110 Hz) above the cabinet's low cut,
    cone break-up bumps at 1.2 and 2.6 kHz, the cone's steep roll-off above 5 kHz, the
    comb of a reflection arriving 0.35 ms after the direct sound at the microphone, and a
    short decaying tail of cabinet resonance. It is synthetic: no real cabinet was measured.
    """
    rng = np.random.default_rng(seed)
    imp = np.zeros(taps)
    imp[0] = 1.0
    d = int(round(0.35e-3 * sr))
    imp[d] += 0.35  # mic comb
    tail = rng.standard_normal(taps) * np.exp(-np.arange(taps) / (0.012 * sr)) * 0.02
    tail[: d + 1] = 0
    imp += tail
    h = _biquads(imp, [
        {"type": "high_pass", "freq_hz": 70, "q": 0.9},
        {"type": "peak", "freq_hz": 110, "gain_db": 7, "q": 2.0},
        {"type": "peak", "freq_hz": 400, "gain_db": -3, "q": 0.8},
        {"type": "peak", "freq_hz": 1200, "gain_db": 3, "q": 1.5},
        {"type": "peak", "freq_hz": 2600, "gain_db": 6, "q": 2.5},
        {"type": "low_pass", "freq_hz": 5200, "q": 0.9},
        {"type": "low_pass", "freq_hz": 6000, "q": 1.3},
    ], sr).astype(np.float64)
    fade = int(0.1 * taps)
    h[-fade:] *= np.linspace(1, 0, fade)
    return (h / np.sqrt(np.sum(h * h))).astype(np.float32)
