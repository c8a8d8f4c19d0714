"""The two recordings ``pedal match`` is given, read and checked: one line for each that cannot
be used; the DI's noise floor (the gate) and its busiest part (what the search renders)."""

from __future__ import annotations

import numpy as np

from ..audio.files import read_audio, resample, to_mono
from ..errors import AudioFileError
from .align import FINE_HOP
from .features import RATE, frame_levels_db, magnitude

MIN_SECONDS = 2.0
MAX_SECONDS = 15 * 60.0
EXCERPT_S = 12.0          # the DI searched with (its busiest part)
SILENT_DBFS = -60.0


def read_input(path, what, *, channels: bool = False):
    """The file at RATE, mono; with ``channels``, a dict of the ways to hear a stereo file
    (mix, left, right, side), so the one where the guitar is can be picked: a hard-panned
    guitar is clearest alone in its channel, a centred one in the mix."""
    data, sr = read_audio(path, what=what, max_seconds=MAX_SECONDS)
    x = resample(to_mono(data), sr, RATE)
    _check_length(x, path, what)
    if not channels:
        return x
    ways = {"mix": x}
    if data.shape[1] == 2:
        left, right = (resample(np.ascontiguousarray(data[:, c]), sr, RATE) for c in (0, 1))
        ways.update(left=left, right=right, side=(0.5 * (left - right)).astype(np.float32))
        ways = {k: v for k, v in ways.items()
                if np.max(np.abs(v)) >= 10 ** (SILENT_DBFS / 20)}
    return ways


def _check_length(x: np.ndarray, path, what) -> None:
    if len(x) < MIN_SECONDS * RATE:
        raise AudioFileError(f"{path}: the {what} is {len(x) / RATE:.2f} s long; give at "
                             f"least {MIN_SECONDS:g} s")
    peak = float(np.max(np.abs(x)))
    if peak < 10 ** (SILENT_DBFS / 20):
        raise AudioFileError(f"{path}: the {what} is silent (peak "
                             f"{20 * np.log10(max(peak, 1e-12)):.0f} dBFS)")


def check_di(x: np.ndarray, path) -> None:
    """A clean guitar DI is tonal: partials, not a flat spectrum."""
    mag = magnitude(x[: 30 * RATE], 2048, 1024).astype(np.float64) + 1e-12
    band = mag[:, 4:700]                      # ~90 Hz .. 16 kHz
    lv = 10 * np.log10(np.mean(band ** 2, axis=1))
    active = lv > lv.max() - 30
    flat = np.exp(np.mean(np.log(band[active]), axis=1)) / np.mean(band[active], axis=1)
    if np.median(flat) > 0.35:
        raise AudioFileError(f"{path}: does not look like a guitar DI: its spectrum is as flat "
                             f"as noise (flatness {np.median(flat):.2f}; a guitar is under "
                             "0.2)")


def gate_threshold(x: np.ndarray) -> float:
    """The DI's noise floor (its quietest tenth of 10 ms pieces) plus 12 dB, in -90..-50."""
    lv = frame_levels_db(x, 480)
    floor = float(np.percentile(lv, 10))
    return float(np.clip(round(floor + 12 + 3, 1), -90.0, -50.0))  # +3: RMS to peak


def busiest(x: np.ndarray, frames_total: int) -> range:
    """The DI frames (at FINE_HOP) of its busiest EXCERPT_S: the most frames within 30 dB of
    its loudest."""
    n = min(frames_total, int(EXCERPT_S * RATE / FINE_HOP))
    lv = frame_levels_db(x, FINE_HOP)[:frames_total]
    busy = (lv > lv.max() - 30).astype(np.float64)
    if len(busy) <= n:
        return range(0, len(busy))
    c = np.concatenate([[0.0], np.cumsum(busy)])
    start = int(np.argmax(c[n:] - c[:-n]))
    return range(start, start + n)
