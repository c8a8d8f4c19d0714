"""A model's loudness when its file states none, measured as NAM's trainer defines it: the RMS
in dB of the model's output for a standard input.

NAM's trainer plays its own reference clip (``loudness_input.wav``), which the pedal cannot
ship; the standard input here is the first six seconds of the bundled demo DI
(``pedal/assets/demo_di.flac``, the project's synthesised guitar, peak 0.5), the clip
``pedal train`` measures its own models with. So a measured figure and a NAM file's stated one
compare roughly, not to the decibel. Figures are cached by the file's content (its sha256),
knobs and rate, in ``$PEDAL_CACHE`` or ``~/.cache/pedal`` (``/var/cache/pedal`` for the
service), so a model is measured once.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

STANDARD_SECONDS = 6.0
CACHE_NAME = "loudness.json"
MAX_ENTRIES = 2000


def cache_dir() -> Path:
    d = os.environ.get("PEDAL_CACHE")
    if d:
        return Path(d)
    base = os.environ.get("XDG_CACHE_HOME")
    return (Path(base) if base else Path.home() / ".cache") / "pedal"


def standard_input(sample_rate: int) -> np.ndarray:
    from ..audio.files import read_audio, resample, to_mono
    from ..paths import DEMO_DI

    data, sr = read_audio(DEMO_DI, what="demo DI")
    x = to_mono(data)[:int(STANDARD_SECONDS * sr)]
    return resample(x, sr, int(sample_rate))


def measure(model, knobs=()) -> float:
    """RMS in dB of the model's output for the standard input (its own rate)."""
    from ..dsp.run import run_blocks

    eng = model.make_engine(list(knobs))
    eng.prepare(256)
    y = run_blocks(eng, standard_input(model.sample_rate), 256)
    return float(10 * np.log10(max(np.mean(np.square(y, dtype=np.float64)), 1e-20)))


def _key(model, knobs) -> str | None:
    digest = getattr(model, "sha256", "") or ""
    if not digest:
        return None
    size = getattr(model.spec, "arch", "") if getattr(model, "slimmable", False) or \
        getattr(model, "slim", None) is not None else ""
    return (f"{digest}:{model.sample_rate}:{','.join(f'{float(k):.4f}' for k in knobs)}"
            + (f":{size}" if size else ""))


def loudness(model, knobs=()) -> tuple[float, bool]:
    """(loudness in dB, measured?): the file's own figure when it states one, else measured
    (and cached)."""
    stated = model.metadata.get("loudness") if model.metadata else None
    try:
        value = float(stated)  # type: ignore[arg-type]  # None: TypeError, measured below
        if np.isfinite(value) and -200 < value < 200:
            return value, False
    except (TypeError, ValueError):
        pass
    key = _key(model, knobs)
    path = cache_dir() / CACHE_NAME
    cache: dict = {}
    if key is not None:
        try:
            cache = json.loads(path.read_text())
            if key in cache:
                return float(cache[key]), True
        except (OSError, ValueError, TypeError):
            cache = {}
    value = measure(model, knobs)
    if key is not None and isinstance(cache, dict):
        cache[key] = round(value, 3)
        if len(cache) > MAX_ENTRIES:
            cache = dict(list(cache.items())[-MAX_ENTRIES:])
        try:
            from ..audio.files import atomic_path

            with atomic_path(path) as tmp:
                tmp.write_text(json.dumps(cache))
        except OSError:
            pass  # a read-only cache: measured again next time
    return value, True


def file_digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
