"""Note names, reference pitch and alternative tunings for the tuner."""

from __future__ import annotations

import math
from dataclasses import dataclass

NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
_FLATS = {"Db": "C#", "Eb": "D#", "Gb": "F#", "Ab": "G#", "Bb": "A#"}

TUNINGS = {
    "standard": ("E2", "A2", "D3", "G3", "B3", "E4"),
    "drop-d": ("D2", "A2", "D3", "G3", "B3", "E4"),
    "drop-c": ("C2", "G2", "C3", "F3", "A3", "D4"),
    "d-standard": ("D2", "G2", "C3", "F3", "A3", "D4"),
    "half-step-down": ("D#2", "G#2", "C#3", "F#3", "A#3", "D#4"),
    "open-g": ("D2", "G2", "D3", "G3", "B3", "D4"),
    "open-d": ("D2", "A2", "D3", "F#3", "A3", "D4"),
    "dadgad": ("D2", "A2", "D3", "G3", "A3", "D4"),
    "7-string": ("B1", "E2", "A2", "D3", "G3", "B3", "E4"),
    "bass-4": ("E1", "A1", "D2", "G2"),
    "bass-5": ("B0", "E1", "A1", "D2", "G2"),
}


def parse_tuning(text: str) -> tuple[str, ...]:
    """A tuning by name, or a custom list of note names (``D2,A2,D3,G3,B3,E4``)."""
    if text in TUNINGS:
        return TUNINGS[text]
    notes = tuple(n.strip() for n in text.split(",") if n.strip())
    bad = [n for n in notes if not _is_note(n)]
    if len(notes) < 1 or bad:
        raise ValueError(f"must be one of {', '.join(TUNINGS)}, or note names separated by "
                         f"commas (like D2,A2,D3,G3,B3,E4), got {text!r}")
    return notes


def _is_note(name: str) -> bool:
    try:
        midi = note_number(name)
    except (ValueError, IndexError):
        return False
    return 12 <= midi <= 108
A4_RANGE = (430.0, 450.0)


def check_a4(a4: float) -> float:
    a4 = float(a4)
    if not A4_RANGE[0] <= a4 <= A4_RANGE[1]:
        raise ValueError(f"reference pitch A4 must be {A4_RANGE[0]:g}..{A4_RANGE[1]:g} Hz, "
                         f"got {a4:g}")
    return a4


def note_number(name: str) -> int:
    """MIDI number of a note name like 'E2', 'F#3' or 'Bb1'."""
    letters = name.rstrip("-0123456789")
    octave = int(name[len(letters):])
    letters = _FLATS.get(letters, letters)
    return NAMES.index(letters) + 12 * (octave + 1)


def note_hz(name: str, a4: float = 440.0) -> float:
    return a4 * 2.0 ** ((note_number(name) - 69) / 12.0)


@dataclass(frozen=True)
class Note:
    name: str  # e.g. "E"
    octave: int
    cents: float  # how far the pitch is above (+) or below (-) the note

    def __str__(self) -> str:
        return f"{self.name}{self.octave}"


def nearest_note(freq_hz: float, a4: float = 440.0) -> Note:
    midi = 69.0 + 12.0 * math.log2(freq_hz / a4)
    k = int(round(midi))
    return Note(NAMES[k % 12], k // 12 - 1, 100.0 * (midi - k))


def nearest_string(freq_hz: float, tuning: str = "standard", a4: float = 440.0):
    """(string name, cents off, octaves off) of the tuning's string nearest to the pitch: the
    string of the nearest pitch class, so the cents are within +-600 and a harmonic or an
    octave-off reading names the right string (``octaves`` says how far off it is)."""
    strings = parse_tuning(tuning)

    def off(s):
        c = 1200.0 * math.log2(freq_hz / note_hz(s, a4))
        octaves = round(c / 1200.0)
        return c - 1200.0 * octaves, octaves

    best = min(strings, key=lambda s: (round(abs(off(s)[0]), 6), abs(off(s)[1])))
    cents, octaves = off(best)
    return best, cents, octaves
