"""The chain's filters and meters: the noise gate (a peak envelope with a short decay, open and
close thresholds with hysteresis, a hold, and a one-pole gain ramp whose time constants are
attack and release, so it never clicks), the biquad cascade of the EQ, the output level with
its DC blocker, a direct FIR with history (NAM's Linear models), a peak meter and the output's
soft limiter."""

from __future__ import annotations

import math

import numpy as np
from .jit import FAST, STRICT, njit


# noise_gate's state slots
GATE_ENV, GATE_GAIN, GATE_OPEN, GATE_HELD = range(4)
GATE_SLOTS = 4
# level_dc's state slots
LEVEL_GAIN, LEVEL_X1, LEVEL_Y1 = range(3)
LEVEL_SLOTS = 3


@njit(**STRICT)
def noise_gate(x, n, thr_open, thr_close, env_decay, att_coef, rel_coef, hold_samples,
               floor_gain, state):
    """state [GATE_SLOTS]: GATE_ENV envelope, GATE_GAIN gain, GATE_OPEN (0/1), GATE_HELD
    samples under the close threshold."""
    env = state[GATE_ENV]
    gain = state[GATE_GAIN]
    is_open = state[GATE_OPEN] > 0.5
    held = state[GATE_HELD]
    for t in range(n):
        a = abs(x[t])
        env = a if a > env else env * env_decay
        if is_open:
            if env < thr_close:
                held += 1.0
                if held >= hold_samples:
                    is_open = False
            else:
                held = 0.0
        elif env >= thr_open:
            is_open = True
            held = 0.0
        target = 1.0 if is_open else floor_gain
        coef = att_coef if target > gain else rel_coef
        gain += (target - gain) * coef
        x[t] = x[t] * gain
    state[GATE_ENV] = env
    state[GATE_GAIN] = gain
    state[GATE_OPEN] = 1.0 if is_open else 0.0
    state[GATE_HELD] = held


# --------------------------------------------------------------------------------------------
# biquad cascade, transposed direct form II in float64 (low shelves at 40 Hz need it)
# --------------------------------------------------------------------------------------------
@njit(**STRICT)
def biquad_cascade(x, n, sos, state):
    """sos: [S, 6] rows (b0, b1, b2, a0=1, a1, a2); state: [S, 2]."""
    n_sec = sos.shape[0]
    for t in range(n):
        v = np.float64(x[t])
        for s in range(n_sec):
            y = sos[s, 0] * v + state[s, 0]
            state[s, 0] = sos[s, 1] * v - sos[s, 4] * y + state[s, 1]
            state[s, 1] = sos[s, 2] * v - sos[s, 5] * y
            v = y
        x[t] = v


# --------------------------------------------------------------------------------------------
# output level (smoothed gain) and DC blocker
# --------------------------------------------------------------------------------------------
@njit(**STRICT)
def level_dc(x, n, target_gain, smooth_coef, dc_on, dc_r, state):
    """state [LEVEL_SLOTS]: LEVEL_GAIN the smoothed gain, LEVEL_X1 / LEVEL_Y1 the DC blocker's
    last input and output."""
    gain = state[LEVEL_GAIN]
    x1 = state[LEVEL_X1]
    y1 = state[LEVEL_Y1]
    for t in range(n):
        v = np.float64(x[t])
        if dc_on:
            y = v - x1 + dc_r * y1
            x1 = v
            y1 = y
            v = y
        gain += (target_gain - gain) * smooth_coef
        x[t] = v * gain
    state[LEVEL_GAIN] = gain
    state[LEVEL_X1] = x1
    state[LEVEL_Y1] = y1


@njit(**FAST)
def fir_history(x, n, w, bias, hist, in_gain, out_gain):
    """Direct FIR y[t] = bias + sum_k w[k] x[t - (R-1) + k], history hist[R-1] (oldest first)."""
    taps = w.shape[0]
    keep = taps - 1
    for t in range(n):
        v = x[t] * in_gain
        acc = bias + w[taps - 1] * v
        for k in range(keep):
            acc += w[k] * hist[k]
        for k in range(keep - 1):
            hist[k] = hist[k + 1]
        if keep > 0:
            hist[keep - 1] = v
        x[t] = acc * out_gain


# peak_meter's state, and soft_limit's
METER_PEAK, METER_OVER = range(2)
METER_SLOTS = 2
LIM_PEAK, LIM_OVER, LIM_HELD = range(3)
LIM_SLOTS = 3


@njit(**STRICT)
def peak_meter(x, n, st):
    """st[METER_PEAK] <- the largest |x| seen; st[METER_OVER] += samples over full scale."""
    peak = st[METER_PEAK]
    over = 0.0
    for t in range(n):
        a = abs(x[t])
        if a > peak:
            peak = a
        if a > 1.0:
            over += 1.0
    st[METER_PEAK] = peak
    st[METER_OVER] += over


@njit(**STRICT)
def soft_limit(x, n, knee, ceiling, st):
    """Unchanged below ``knee``; above it the level bends smoothly (tanh, with unit slope at
    the knee) towards ``ceiling``, which it never reaches. st: LIM_PEAK the largest input,
    LIM_OVER input samples over full scale, LIM_HELD samples the limiter bent."""
    span = ceiling - knee
    peak = st[LIM_PEAK]
    for t in range(n):
        v = x[t]
        a = abs(v)
        if a > peak:
            peak = a
        if a > knee:
            st[LIM_HELD] += 1.0
            if a > 1.0:
                st[LIM_OVER] += 1.0
            y = knee + span * math.tanh((a - knee) / span)
            x[t] = y if v > 0.0 else -y
    st[LIM_PEAK] = peak
