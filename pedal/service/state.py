"""What the pedal was playing (preset, model, bypass, the device's rate), saved atomically so that a power cut
at any moment leaves either the old or the new state on disk, never half of one."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

VERSION = 1


def load_state(path: Path) -> tuple[dict, str | None]:
    """The saved state, or {} and the reason it could not be used. Temporary files a save cut
    short (power cut, SIGKILL) are removed."""
    _remove_leftovers(Path(path))
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}, None
    except OSError as exc:
        return {}, f"{path}: cannot read saved state ({exc.strerror})"
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return {}, f"{path}: saved state is not valid JSON ({exc}); starting from defaults"
    if not isinstance(doc, dict) or doc.get("version") != VERSION:
        return {}, f"{path}: saved state has an unknown layout; starting from defaults"
    out = {}
    if isinstance(doc.get("preset"), str):
        out["preset"] = doc["preset"]
    if isinstance(doc.get("model"), str):
        out["model"] = doc["model"]
    if isinstance(doc.get("bypass"), bool):
        out["bypass"] = doc["bypass"]
    rate = doc.get("rate")  # the device's rate (a first guess for audio.sample_rate: model)
    if isinstance(rate, int) and not isinstance(rate, bool) and 8000 <= rate <= 192000:
        out["rate"] = rate
    return out, None


def _remove_leftovers(path: Path) -> None:
    try:
        for p in path.parent.glob(f".{path.name}.*"):
            p.unlink(missing_ok=True)
    except OSError:
        pass


def save_state(path: Path, state: dict) -> None:
    """Write to a temporary file beside ``path``, fsync it, rename it over ``path``, fsync the
    folder. Raises OSError (the old file is then untouched)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps({"version": VERSION, **state}, indent=1, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    dfd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
