"""Reading a model file's bytes: one open, checked before and bounded while reading."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ..errors import ModelError


def read_model_bytes(path, max_bytes: int) -> tuple[Path, bytes]:
    """The bytes of an existing, non-empty regular file of at most ``max_bytes``.

    The file is opened once (non-blocking, so a FIFO named like a model never hangs the
    reader), checked on its open descriptor, and read no further than the limit, so a file
    that grows or is swapped while it is read cannot make it read more."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise ModelError(f"{p}: model file not found") from None
    except IsADirectoryError:
        raise ModelError(f"{p}: is a folder, not a model file") from None
    except OSError as exc:
        raise ModelError(f"{p}: cannot open the model file ({exc.strerror})") from None
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise ModelError(f"{p}: is a folder, not a model file")
        if not stat.S_ISREG(st.st_mode):
            raise ModelError(f"{p}: is not a regular file")
        if st.st_size == 0:
            raise ModelError(f"{p}: model file is empty (0 bytes)")
        if st.st_size > max_bytes:
            raise ModelError(f"{p}: model file is {st.st_size / 1e6:.1f} MB, over the "
                             f"{max_bytes / 1e6:.0f} MB limit")
        chunks, total = [], 0
        while total <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as exc:
        raise ModelError(f"{p}: cannot read the model file ({exc.strerror})") from None
    finally:
        os.close(fd)
    if total > max_bytes:
        raise ModelError(f"{p}: model file grew past the {max_bytes / 1e6:.0f} MB limit "
                         "while it was read")
    return p, b"".join(chunks)
