"""The checks every model file gets before its bytes are read."""

from __future__ import annotations

from pathlib import Path

from ..errors import ModelError


def checked_model_file(path, max_bytes: int) -> tuple[Path, int]:
    """The path and size of an existing, non-empty file no larger than ``max_bytes``."""
    p = Path(path)
    if not p.is_file():
        raise ModelError(f"{p}: model file not found")
    size = p.stat().st_size
    if size == 0:
        raise ModelError(f"{p}: model file is empty (0 bytes)")
    if size > max_bytes:
        raise ModelError(f"{p}: model file is {size / 1e6:.1f} MB, over the "
                         f"{max_bytes / 1e6:.0f} MB limit")
    return p, size
