"""Reading and writing audio files: one clear error per bad file, never a half-written output."""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import AudioFileError


MIN_RATE, MAX_RATE = 8000, 768000  # what any command reads at all
MAX_CHANNELS = 32
DEFAULT_MAX_SECONDS = 30 * 60       # a recording longer than half an hour is refused


def audio_info(path, *, what: str = "audio file", max_seconds: float = DEFAULT_MAX_SECONDS):
    """(frames, sample rate, channels) from the file's header, checked before any sample is
    read: a 2 GB file given as an impulse response is refused in a millisecond."""
    import soundfile as sf

    p = Path(path)
    if not p.exists():
        raise AudioFileError(f"{p}: {what} not found")
    if p.is_dir():
        raise AudioFileError(f"{p}: {what} is a folder, not a file")
    if not p.is_file():
        raise AudioFileError(f"{p}: {what} is not a regular file")
    if p.stat().st_size == 0:
        raise AudioFileError(f"{p}: {what} is empty (0 bytes)")
    try:
        info = sf.info(str(p))
    except Exception as exc:  # libsndfile's errors have no common useful base
        msg = str(exc).split("\n")[0]
        raise AudioFileError(f"{p}: not a readable {what} ({msg})") from None
    sr, frames, ch = int(info.samplerate), int(info.frames), int(info.channels)
    if not MIN_RATE <= sr <= MAX_RATE:
        raise AudioFileError(f"{p}: {what} is at {sr} Hz; the pedal reads {MIN_RATE}.."
                             f"{MAX_RATE} Hz")
    if not 1 <= ch <= MAX_CHANNELS:
        raise AudioFileError(f"{p}: {what} has {ch} channels (at most {MAX_CHANNELS})")
    if frames > max_seconds * sr:
        raise AudioFileError(f"{p}: {what} is {frames / sr:.1f} s long, over the limit of "
                             f"{max_seconds:g} s")
    return frames, sr, ch


def read_audio(path, *, what: str = "audio file",
               max_seconds: float = DEFAULT_MAX_SECONDS) -> tuple[np.ndarray, int]:
    """Read any file libsndfile reads. Returns float32 [frames, channels] and the sample rate.
    The header is checked first (``audio_info``), so the read is bounded."""
    import soundfile as sf

    p = Path(path)
    audio_info(p, what=what, max_seconds=max_seconds)
    try:
        data, sr = sf.read(str(p), dtype="float32", always_2d=True,
                           frames=int(max_seconds * MAX_RATE))
    except Exception as exc:  # libsndfile's errors have no common useful base
        msg = str(exc).split("\n")[0]
        raise AudioFileError(f"{p}: not a readable {what} ({msg})") from None
    if data.shape[0] == 0:
        raise AudioFileError(f"{p}: {what} has no samples")
    if not np.all(np.isfinite(data)):
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise AudioFileError(f"{p}: {what} has {bad} NaN or infinite samples")
    return data, int(sr)


def to_mono(data: np.ndarray) -> np.ndarray:
    """Average the channels (equal weight) into a contiguous float32 vector."""
    if data.ndim == 1:
        return np.ascontiguousarray(data, dtype=np.float32)
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32)


def resample(x: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """High-quality resampling (soxr VHQ); a no-op when the rates match."""
    if int(sr_in) == int(sr_out):
        return x
    import soxr

    return np.ascontiguousarray(soxr.resample(x, sr_in, sr_out, quality="VHQ"), dtype=np.float32)


def _umask() -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o022


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix or ".tmp",
                               dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give what open() would
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def write_audio(path, data: np.ndarray, sample_rate: int, subtype: str | None = None) -> None:
    """Write atomically; the format follows the extension (wav, flac, ogg...)."""
    import soundfile as sf

    target = Path(path)
    fmt = target.suffix.lstrip(".").upper() or "WAV"
    if fmt not in sf.available_formats():
        raise AudioFileError(f"{target}: unknown output format '.{fmt.lower()}' "
                             f"(use .wav or .flac)")
    if subtype is None:
        subtype = "FLOAT" if fmt == "WAV" else None
    try:
        with atomic_path(target) as tmp:
            sf.write(str(tmp), data, int(sample_rate), subtype=subtype, format=fmt)
    except OSError as exc:
        raise AudioFileError(f"{target}: cannot write ({exc.strerror or exc})") from None
