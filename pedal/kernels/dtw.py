"""Dynamic time warping for ``pedal match`` (offline: never on the audio path).

One formulation serves the coarse search (which part of a record is the DI's part) and the
fine path (which record frame each DI frame corresponds to): every DI frame ``i`` is paired with
exactly one record frame ``j(i)``, and ``j`` advances by 0, 1 or 2 from one DI frame to the next
(a tempo from stopped to twice as fast), the steps that are not 1 paying ``penalty``. Every path
so has exactly one cell per DI frame, and costs of paths ending anywhere compare directly.

The record frames a DI frame may pair with are a band ``starts[i] .. starts[i] + width - 1``
(the whole record for the coarse search, a corridor around the coarse path for the fine one);
only two rows of accumulated cost are kept, and one byte per cell for the way back.
"""

from __future__ import annotations

import numpy as np
from .jit import STRICT, njit


STEP_START, STEP_DIAG, STEP_STAY, STEP_SKIP, STEP_NONE = -1, 0, 1, 2, -2
_BIG = 1e300


@njit(**STRICT)
def dtw_band(q, r, qf, rf, w_flux, starts, width, penalty, prev, cur, ptr):
    """Accumulate the warping cost of DI features ``q`` [N, d] against record features ``r``
    [M, d] (rows of unit length; cost of a pair 1 - q.r + w_flux * |qf - rf|, qf/rf the onset
    strengths). starts [N] int64, width: each row's band; prev, cur [width] float64 work rows;
    ptr [N, width] int8 the step taken into each cell. Returns nothing; on return ``prev``
    holds the accumulated cost of the last row's band (``_BIG`` where no path arrives)."""
    n, d = q.shape
    m = r.shape[0]
    for i in range(n):
        s = starts[i]
        for k in range(width):
            j = s + k
            if j < 0 or j >= m:
                cur[k] = _BIG
                ptr[i, k] = STEP_NONE
                continue
            dot = 0.0
            for t in range(d):
                dot += q[i, t] * r[j, t]
            c = 1.0 - dot + w_flux * abs(qf[i] - rf[j])
            if i == 0:
                cur[k] = c
                ptr[i, k] = STEP_START
                continue
            ps = starts[i - 1]
            best = _BIG
            arg = STEP_NONE
            kk = j - 1 - ps
            if 0 <= kk < width and prev[kk] < best:
                best = prev[kk]
                arg = STEP_DIAG
            kk = j - ps
            if 0 <= kk < width and prev[kk] + penalty < best:
                best = prev[kk] + penalty
                arg = STEP_STAY
            kk = j - 2 - ps
            if 0 <= kk < width and prev[kk] + penalty < best:
                best = prev[kk] + penalty
                arg = STEP_SKIP
            if arg == STEP_NONE:
                cur[k] = _BIG
            else:
                cur[k] = c + best
            ptr[i, k] = arg
        for k in range(width):
            prev[k] = cur[k]


@njit(**STRICT)
def dtw_backtrack(ptr, starts, end_j, path):
    """Walk ``ptr`` back from record frame ``end_j`` of the last row; path [N] int64 receives
    j(i). Returns the number of rows reached (N unless the walk met a cell no path enters)."""
    n = ptr.shape[0]
    j = end_j
    for i in range(n - 1, -1, -1):
        path[i] = j
        k = j - starts[i]
        if k < 0 or k >= ptr.shape[1]:
            return n - 1 - i
        step = ptr[i, k]
        if step == STEP_DIAG:
            j -= 1
        elif step == STEP_SKIP:
            j -= 2
        elif step == STEP_STAY:
            pass
        elif step == STEP_START:
            return n
        else:
            return n - 1 - i
    return n


def new_work(n: int, width: int):
    """The work arrays ``dtw_band`` needs for N rows of ``width`` cells (callers bound them)."""
    return (np.empty(width), np.empty(width), np.empty((n, width), np.int8))
