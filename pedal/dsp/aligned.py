"""Arrays that start on a 64-byte boundary: a cache line, and one AVX-512 vector.

numpy aligns its buffers to 16 bytes only. The engines' weight and state vectors are read as
whole 32- or 64-byte vectors; one that straddles two cache lines costs a second load, and a
store to it cannot be forwarded to the next load at full speed. An LSTM-40 ran anywhere from
88x to 120x real time from one allocation to the next, and 131-139x aligned; the standard
WaveNet went from 34x to 44x.
"""

from __future__ import annotations

import numpy as np

ALIGN = 64


def empty(shape, dtype) -> np.ndarray:
    dtype = np.dtype(dtype)
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def zeros(shape, dtype) -> np.ndarray:
    out = empty(shape, dtype)
    out[...] = 0
    return out


def copy(a, dtype=None) -> np.ndarray:
    """An aligned C-contiguous copy of a (cast to dtype)."""
    a = np.asarray(a)
    out = empty(a.shape, dtype or a.dtype)
    out[...] = a
    return out


def arena(shapes: dict[str, tuple[int, ...]], dtype) -> tuple[np.ndarray, dict[str, int],
                                                              dict[str, np.ndarray]]:
    """One aligned zeroed array holding several: returns it, each part's offset in it (in
    elements, every part starting on a 64-byte boundary) and a view of each part in its shape.
    A kernel that takes the arena and the offsets takes two arrays instead of many (numba
    charges per array argument)."""
    dtype = np.dtype(dtype)
    step = max(ALIGN // dtype.itemsize, 1)
    offsets: dict[str, int] = {}
    end = 0
    for name, shape in shapes.items():
        offsets[name] = end
        size = int(np.prod(shape, dtype=np.int64))
        end += -(-max(size, 1) // step) * step
    buf = zeros(max(end, 1), dtype)
    views = {name: buf[offsets[name]:offsets[name] + int(np.prod(shape, dtype=np.int64))]
             .reshape(shape) for name, shape in shapes.items()}
    return buf, offsets, views
