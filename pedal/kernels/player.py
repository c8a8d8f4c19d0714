"""The daemon's mix: the chain crossfade on a swap, the bypass crossfade, the output mute, and a
guard that keeps a misbehaving model from sending NaN or full-scale garbage to the amplifier."""

from __future__ import annotations

import numpy as np
from .jit import STRICT, njit


# mix_block's state (st), float64
MIX_FADE_LEFT = 0   # samples of the chain crossfade left (0: none)
MIX_FADE_LEN = 1    # its length
MIX_WET = 2         # wet gain now
MIX_WET_TO = 3      # its target (1 effect, 0 bypass)
MIX_OUT = 4         # output gain now
MIX_OUT_TO = 5      # its target (0: muted, the tuner)
MIX_STEP = 6        # per-sample gain step
MIX_NONFINITE = 7   # non-finite samples seen (count)
MIX_CLIPPED = 8     # samples clipped to full scale (count)
MIX_SLOTS = 9


@njit(**STRICT)
def mix_block(wet, old, dry, n, st):
    """Mix one block in place into ``wet``.

    st [MIX_SLOTS] (float64): the slots named by the MIX_ constants above.
    ``old`` is the previous chain's output during a crossfade (ignored otherwise).
    """
    fade_left = st[MIX_FADE_LEFT]
    fade_len = st[MIX_FADE_LEN] if st[MIX_FADE_LEN] > 0.0 else 1.0
    g, g_to, o, o_to, step = st[MIX_WET], st[MIX_WET_TO], st[MIX_OUT], st[MIX_OUT_TO], st[MIX_STEP]
    bad = 0.0
    clipped = 0.0
    for i in range(n):
        y = wet[i]
        if fade_left > 0.0:
            a = fade_left / fade_len  # weight of the old chain, 1 -> 0
            y = y * (1.0 - a) + old[i] * a
            fade_left -= 1.0
        if not np.isfinite(y):
            y = 0.0
            bad += 1.0
        if g < g_to:
            g = min(g + step, g_to)
        elif g > g_to:
            g = max(g - step, g_to)
        if o < o_to:
            o = min(o + step, o_to)
        elif o > o_to:
            o = max(o - step, o_to)
        y = (g * y + (1.0 - g) * dry[i]) * o
        if y > 1.0:
            y = 1.0
            clipped += 1.0
        elif y < -1.0:
            y = -1.0
            clipped += 1.0
        wet[i] = y
    st[MIX_FADE_LEFT] = fade_left
    st[MIX_WET] = g
    st[MIX_OUT] = o
    st[MIX_NONFINITE] += bad
    st[MIX_CLIPPED] += clipped
