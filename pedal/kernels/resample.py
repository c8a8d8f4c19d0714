"""Streaming polyphase resampling by a rational ratio L/M (44.1 kHz <-> 48 kHz is 147/160).

Output sample m is the FIR of the input upsampled by L (zeros between samples) at upsampled
time m*M: with j0 = floor(m*M / L) the newest input it reads and p = m*M mod L its phase,

    y[m] = sum_t c[p, t] * x[j0 - t],    c[p, t] = L * h[p + t*L],

so each output costs T multiply-adds (T taps per phase) and nothing is computed for the zeros.
The input block is appended to a linear history of the last T-1 samples; an output is made
as soon as its newest input has arrived, so the only delay is the filter's own.
"""

from __future__ import annotations

from .jit import FAST, njit


# resample_block's integer state
RS_J0 = 0      # global index of the newest input the next output reads
RS_ACC = 1     # (m * M) mod L of the next output: its phase
RS_BASE = 2    # global index of buf[0]
RS_SLOTS = 3


@njit(**FAST)
def resample_block(x, n, buf, coefs, up, down, state, out, cap):
    """Append x[:n] to the stream and write the outputs it completes into out[:cap]; returns
    how many. buf: [T - 1 + max_in] history then block (float32); coefs: [L, T] (up = L,
    down = M); state: [RS_SLOTS] int64, RS_BASE starting at -(T - 1) (silence before)."""
    taps = coefs.shape[1]
    keep = taps - 1
    for i in range(n):
        buf[keep + i] = x[i]
    base = state[RS_BASE]
    last = base + keep + n - 1  # global index of the newest input now held
    j0 = state[RS_J0]
    acc = state[RS_ACC]
    count = 0
    while j0 <= last and count < cap:
        c = coefs[acc]
        at = j0 - base  # position of x[j0] in buf
        s = buf[at] * c[0]
        for t in range(1, taps):
            s += buf[at - t] * c[t]
        out[count] = s
        count += 1
        acc += down
        j0 += acc // up
        acc = acc % up
    for k in range(keep):  # the last T-1 samples become the history of the next block
        buf[k] = buf[n + k]
    state[RS_BASE] = base + n
    state[RS_J0] = j0
    state[RS_ACC] = acc
    return count
