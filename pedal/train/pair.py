"""Check a reamp pair (the DI and the same performance through the gear) before any training
time is spent, and align it. numpy only: the checks run without PyTorch.

Every refusal is one :class:`PairError` line that says what is wrong with which file and what to
do about it; things that are suspicious but trainable become warnings on the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.files import read_audio, resample
from ..errors import PedalError

MAX_LAG_S = 0.1  # latency search window, either way
MIN_SECONDS = 2.0
CLIP_LEVEL = 0.999
SILENCE_DBFS = -60.0
MIN_CORRELATION = 0.1  # peak of the normalised cross-correlation (envelope or signal)
IDENTITY_ESR = 1e-3  # target explained this well by a gain and a delay: no effect at all
QUIET_INPUT_DBFS = -75.0
NOISY_TARGET_DBFS = -45.0
SAFETY = 2  # samples of the target's latency left in, see check_pair
LENGTH_SLACK_S = 0.5  # lengths may differ by this much (a tail of the reamp recording)


class PairError(PedalError, ValueError):
    """The pair cannot be trained on; the message says why and what to do."""


@dataclass
class Pair:
    x: np.ndarray  # input (DI), float32, aligned
    y: np.ndarray  # target, float32, aligned
    sample_rate: int
    latency: int  # samples the target lags the input by (negative: it leads)
    correlation: float
    input_path: str = ""
    target_path: str = ""
    warnings: list[str] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.x) / self.sample_rate

    def summary(self) -> dict:
        # file names only: a model shared with others carries no one's home directory
        return {"input": Path(self.input_path).name, "target": Path(self.target_path).name,
                "seconds": round(self.seconds, 3), "sample_rate": self.sample_rate,
                "latency_samples": self.latency, "correlation": round(self.correlation, 3),
                "input_rms_dbfs": round(_dbfs(self.x), 1),
                "target_rms_dbfs": round(_dbfs(self.y), 1)}


def _dbfs(x) -> float:
    return float(10 * np.log10(max(np.mean(np.square(x, dtype=np.float64)), 1e-20)))


def _xcorr(a, b, max_lag):
    """c[k] = sum a[n] b[n + k] for |k| <= max_lag, by FFT; returns (lags, c)."""
    n = len(a) + len(b)
    size = 1 << int(np.ceil(np.log2(n)))
    c = np.fft.irfft(np.conj(np.fft.rfft(a, size)) * np.fft.rfft(b, size), size)
    lags = np.arange(-max_lag, max_lag + 1)
    return lags, c[lags % size]


def find_latency(x, y, sr, max_lag_s=MAX_LAG_S):
    """(lag, normalised peak): y[n] ~ f(x[n - lag]).

    The signal's own cross-correlation finds the lag to the sample when the gear keeps some of
    the waveform. Its largest peak (either sign: many amps invert) can be a neighbouring lobe
    that the gear's filters and clipping raised; of the peaks within 80 % of it and 5 ms of
    it, the earliest is taken, since a causal model can learn a delay but not an advance.
    When nothing correlates, the envelopes' cross-correlation is used (a fuzz that squares
    everything up): coarser, but never silent."""
    max_lag = int(max_lag_s * sr)
    x64, y64 = np.asarray(x, np.float64), np.asarray(y, np.float64)
    norm = np.sqrt(np.sum(x64 ** 2) * np.sum(y64 ** 2)) or 1.0
    lags, c = _xcorr(x64, y64, max_lag)
    a = np.abs(c)
    k = int(np.argmax(a))
    peak = float(a[k] / norm)
    if peak >= MIN_CORRELATION:
        near = int(0.005 * sr)
        lo, hi = max(k - near, 1), min(k + near, len(a) - 2)
        for i in range(lo, hi + 1):
            if a[i] >= 0.8 * a[k] and a[i] >= a[i - 1] and a[i] >= a[i + 1]:
                return int(lags[i]), float(a[i] / norm)
        return int(lags[k]), peak
    # envelopes: rectified and smoothed over 1 ms, mean removed
    win = np.ones(max(1, sr // 1000)) / max(1, sr // 1000)
    ex = np.convolve(np.abs(x64), win, "same")
    ey = np.convolve(np.abs(y64), win, "same")
    ex -= ex.mean()
    ey -= ey.mean()
    norm = np.sqrt(np.sum(ex ** 2) * np.sum(ey ** 2)) or 1.0
    lags, c = _xcorr(ex, ey, max_lag)
    k = int(np.argmax(c))
    return int(lags[k]), float(c[k] / norm)


def _clipped(x, sr):
    """(number of flat-topped runs of >= 3 samples at full scale, time of the first)."""
    hot = np.abs(x) >= CLIP_LEVEL
    if not hot.any():
        return 0, 0.0
    d = np.diff(np.concatenate([[0], hot.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    long = starts[(ends - starts) >= 3]
    return len(long), (float(long[0]) / sr if len(long) else 0.0)


def _read_mono(path, what):
    data, sr = read_audio(path, what=what)
    if data.shape[1] != 1:
        if np.allclose(data, data[:, :1], atol=1e-6):
            return np.ascontiguousarray(data[:, 0]), sr, f"{path}: {what} is stereo with " \
                "identical channels; using the left"
        raise PairError(f"{path}: {what} has {data.shape[1]} different channels; a reamp pair "
                        "is mono: export the channel you recorded (e.g. sox IN OUT remix 1)")
    return np.ascontiguousarray(data[:, 0]), sr, None


def check_pair(input_path, target_path, *, resample_target: bool = False,
               latency: int | None = None, allow_clipping: bool = False) -> Pair:
    """Read, check and align a reamp pair. ``latency``: samples the target lags the input by,
    when known (otherwise it is found by cross-correlation). ``allow_clipping``: a clipped
    pair (a downloaded one cannot be reamped again) is a warning, not a refusal."""
    x, sr_x, note_x = _read_mono(input_path, "input")
    y, sr_y, note_y = _read_mono(target_path, "target")
    notices = [n for n in (note_x, note_y) if n]
    warnings = []
    if sr_x != sr_y:
        if not resample_target:
            raise PairError(f"{target_path}: target is {sr_y} Hz but the input {input_path} is "
                            f"{sr_x} Hz: record both at one rate, or pass --resample to "
                            f"resample the target to {sr_x} Hz")
        y = resample(y, sr_y, sr_x)
        notices.append(f"{target_path}: resampled from {sr_y} to {sr_x} Hz")
    sr = sr_x
    for path, v, what in ((input_path, x, "input"), (target_path, y, "target")):
        if len(v) < MIN_SECONDS * sr:
            raise PairError(f"{path}: {what} is {len(v) / sr:.2f} s long; training needs at "
                            f"least {MIN_SECONDS:.0f} s (3 minutes or more captures well)")
        level = _dbfs(v)
        if level < SILENCE_DBFS:
            raise PairError(f"{path}: {what} is silent ({level:.0f} dBFS RMS); check the "
                            "recording level and that this is the right file")
    slack = int(LENGTH_SLACK_S * sr)
    if abs(len(x) - len(y)) > slack:
        raise PairError(f"{target_path}: target is {len(y) / sr:.2f} s but the input "
                        f"{input_path} is {len(x) / sr:.2f} s; the pair must be the same "
                        "performance: trim them to the same start and length")
    if len(x) != len(y):
        notices.append(f"lengths differ by {abs(len(x) - len(y))} samples; using the common "
                       f"{min(len(x), len(y)) / sr:.2f} s")
        n = min(len(x), len(y))
        x, y = x[:n], y[:n]
    for path, v, what in ((target_path, y, "target"), (input_path, x, "input")):
        runs, first = _clipped(v, sr)
        if runs > max(10, len(v) // 48000):  # more than one flat top a second on average
            fix = ("reamp it again with the output level lower" if what == "target" else
                   "record the DI again with the interface gain lower")
            if not allow_clipping:
                raise PairError(f"{path}: {what} clips: {runs} flat tops at full scale, the "
                                f"first at {first:.2f} s; a model cannot learn what was cut "
                                f"off: {fix} (or --allow-clipping to train on it anyway)")
            meaning = ("the model learns the interface's clipping as part of the gear's "
                       "sound: it will flatten peaks the gear did not" if what == "target" else
                       "the model never hears the peaks that were cut off, and plays them "
                       "as it guesses")
            warnings.append(f"{path}: {what} clips ({runs} flat tops at full scale, the first "
                            f"at {first:.2f} s); training anyway: {meaning}")
    if latency is None:
        lag, corr = find_latency(x, y, sr)
        if corr < MIN_CORRELATION:
            raise PairError(f"{target_path}: the target does not correlate with the input "
                            f"{input_path} at any lag within ±{MAX_LAG_S * 1000:.0f} ms (peak "
                            f"{corr:.2f}); they must be the same performance, started together")
    else:
        lag, corr = int(latency), float("nan")
    if lag < -sr // 1000:
        warnings.append(f"the target leads the input by {-lag} samples; is the pair in the "
                        "right order (INPUT then TARGET)? aligned anyway")
    # no effect: the target is the input times a gain
    x64, y64 = (v.astype(np.float64) for v in _shift(x, y, lag))
    g = float(np.dot(x64, y64) / max(np.dot(x64, x64), 1e-20))
    resid = float(np.sum((y64 - g * x64) ** 2) / max(np.sum(y64 ** 2), 1e-20))
    if resid < IDENTITY_ESR:
        raise PairError(f"{target_path}: the target is the input itself times {g:.3g} "
                        f"(error {resid:.1e}): nothing to learn; was the gear bypassed, or "
                        "the DI recorded twice?")
    # aligned SAFETY samples early, so a causal model also sees what the gear's filters smear
    # ahead of the correlation peak (NAM's calibration keeps one sample for the same reason)
    x, y = _shift(x, y, lag - SAFETY)
    pair = Pair(x.astype(np.float32), y.astype(np.float32), sr, lag, corr, str(input_path),
                str(target_path), warnings, notices)
    pair.warnings += _time_variance(pair) + _noise(pair)
    return pair


def _shift(x, y, lag):
    """Trim so that y[n] lines up with x[n - lag]."""
    if lag > 0:
        return x[:len(x) - lag], y[lag:]
    if lag < 0:
        return x[-lag:], y[:len(y) + lag]
    return x, y


def _time_variance(pair: Pair) -> list[str]:
    """The latency found at the start and at the end should agree (clock drift between two
    interfaces, or an edit, moves it)."""
    n = len(pair.x)
    q = n // 4
    if q < pair.sample_rate:
        return []
    lags = []
    for a in (0, n - q):
        lag, corr = find_latency(pair.x[a:a + q], pair.y[a:a + q], pair.sample_rate, 0.01)
        if corr >= MIN_CORRELATION:
            lags.append(lag)
    if len(lags) == 2 and abs(lags[0] - lags[1]) > 2:
        return [f"the pair looks misaligned or time-variant: its latency is {lags[0]} samples "
                f"at the start and {lags[1]} at the end (two interfaces with separate clocks?"
                " an edit?)"]
    return []


def _noise(pair: Pair) -> list[str]:
    """Target level where the input is silent: hum, hiss or a noisy amp is learnt too."""
    sr = pair.sample_rate
    w = sr // 20
    n = len(pair.x) // w
    if n < 4:
        return []
    ex = np.sqrt(np.mean(pair.x[:n * w].reshape(n, w).astype(np.float64) ** 2, axis=1))
    ey = np.sqrt(np.mean(pair.y[:n * w].reshape(n, w).astype(np.float64) ** 2, axis=1))
    # really silent input (strings muted: the interface's own noise floor), not a note's decay,
    # which a high-gain amp lifts by 40 dB
    quiet = ex < 10 ** (QUIET_INPUT_DBFS / 20)
    if quiet.sum() < 4:
        return []
    floor = 20 * np.log10(max(float(np.median(ey[quiet])), 1e-10))
    if floor > NOISY_TARGET_DBFS:
        return [f"the target is noisy: {floor:.0f} dBFS where the input is silent (hum, hiss "
                "or a gate-less high-gain amp); the model will learn that noise too"]
    return []
