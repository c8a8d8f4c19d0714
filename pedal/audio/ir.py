"""Cabinet impulse responses: load any file libsndfile reads and make it the chain's filter.

Any rate (resampled to the chain's), 16/24/32-bit integer or float, mono or stereo (stereo is
mixed to mono, and the notice says so), any length up to ``max_seconds``. Normalised to unit
energy by default, so a cabinet changes tone, not loudness; leading silence is trimmed only when
asked (it is the cabinet's delay, which some players want to keep for phase with a second mic).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .files import read_audio, resample, to_mono
from ..errors import AudioFileError, IRError

NORMALIZE = ("energy", "peak", "none")


@dataclass
class ImpulseResponse:
    taps: np.ndarray  # float32, at ``sample_rate``
    sample_rate: int
    source: str = "<memory>"
    notices: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return len(self.taps) / self.sample_rate


def prepare_taps(h: np.ndarray, *, normalize: str = "energy", trim_db: float | None = None,
                 name: str = "<memory>") -> np.ndarray:
    h = np.asarray(h, dtype=np.float64)
    if h.ndim != 1 or h.size == 0:
        raise IRError(f"{name}: impulse response has no samples")
    if not np.all(np.isfinite(h)):
        raise IRError(f"{name}: impulse response has NaN or infinite samples")
    peak = float(np.max(np.abs(h)))
    if peak == 0.0:
        raise IRError(f"{name}: impulse response is all zeros")
    if trim_db is not None:
        first = int(np.argmax(np.abs(h) >= peak * 10 ** (trim_db / 20)))
        h = h[first:]
    if normalize == "energy":
        h = h / np.sqrt(np.sum(h * h))
    elif normalize == "peak":
        h = h / peak
    elif normalize != "none":
        raise IRError(f"{name}: normalize must be one of {', '.join(NORMALIZE)}, got {normalize!r}")
    return h.astype(np.float32)


def load_ir(path, sample_rate: int, *, max_seconds: float = 10.0, normalize: str = "energy",
            trim_silence: bool = False, trim_db: float = -60.0) -> ImpulseResponse:
    try:
        data, sr = read_audio(path, what="impulse response", max_seconds=max_seconds)
    except AudioFileError as exc:
        raise IRError(str(exc)) from None
    notices = []
    if data.shape[1] > 1:
        notices.append(f"{path}: {data.shape[1]}-channel impulse response mixed to mono")
    h = to_mono(data)
    if sr != sample_rate:
        notices.append(f"{path}: impulse response resampled from {sr} Hz to {sample_rate} Hz")
        h = resample(h, sr, sample_rate)
    taps = prepare_taps(h, normalize=normalize, trim_db=trim_db if trim_silence else None,
                        name=str(path))
    return ImpulseResponse(taps, int(sample_rate), str(path), notices)
