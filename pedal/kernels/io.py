"""Audio I/O helpers: one channel out of an interleaved buffer and back, and the MCP3202 ADC's
replies to samples."""

from __future__ import annotations

from .jit import STRICT, njit


# mcp3202_decode's DC blocker state (dc)
DC_COEF, DC_X1, DC_Y1 = range(3)
DC_SLOTS = 3


@njit(**STRICT)
def deinterleave(src, n, channels, channel, dst):
    """dst[t] = src[t * channels + channel] (one channel of an interleaved buffer)."""
    for t in range(n):
        dst[t] = src[t * channels + channel]


@njit(**STRICT)
def interleave(src, n, channels, dst):
    """The mono ``src`` into every channel of the interleaved ``dst``."""
    for t in range(n):
        for c in range(channels):
            dst[t * channels + c] = src[t]


@njit(**STRICT)
def mcp3202_decode(rx, n, out, dc):
    """MCP3202 replies (3 bytes per conversion: x, 0000 b11..b8, b7..b0) to floats in -1..1,
    through a one-pole DC blocker (the board biases the input at mid-rail). dc [DC_SLOTS]:
    DC_COEF the pole, DC_X1 / DC_Y1 the last input and output."""
    r, x1, y1 = dc[DC_COEF], dc[DC_X1], dc[DC_Y1]
    for t in range(n):
        code = ((rx[3 * t + 1] & 0x0F) << 8) | rx[3 * t + 2]
        x = (code - 2048.0) / 2048.0
        y = x - x1 + r * y1
        x1 = x
        y1 = y
        out[t] = y
    dc[DC_X1] = x1
    dc[DC_Y1] = y1
