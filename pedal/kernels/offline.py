"""Offline material, not real time (these allocate): the plucked-string guitar of the demo clip
and the training pairs, and the diode clipper of the simulated overdrive."""

from __future__ import annotations

import math

import numpy as np
from .jit import ALLOCATES, STRICT, njit



@njit(**ALLOCATES)
def plucked_string(excitation, out, delay_int, ap_coef, loop_gain, brightness, disp_coef,
                   n_disp):
    """Extended Karplus-Strong string: a delay line closed by a one-zero loss filter, a
    first-order allpass for the fractional part of the period and ``n_disp`` allpasses of
    coefficient ``disp_coef`` for stiffness (inharmonicity). ``out`` gets the string output.
    """
    size = delay_int + 2
    line = np.zeros(size)
    ap_x1 = 0.0
    ap_y1 = 0.0
    lp_x1 = 0.0
    disp_x = np.zeros(n_disp)
    disp_y = np.zeros(n_disp)
    w = 0
    for t in range(out.shape[0]):
        r = w - delay_int
        if r < 0:
            r += size
        v = line[r]
        # loss: one-zero low-pass (brightness 0..0.5 is its second tap)
        lp = (1.0 - brightness) * v + brightness * lp_x1
        lp_x1 = v
        # dispersion allpasses (stiff string)
        for k in range(n_disp):
            yk = disp_coef * lp + disp_x[k] - disp_coef * disp_y[k]
            disp_x[k] = lp
            disp_y[k] = yk
            lp = yk
        # fractional delay allpass
        ap = ap_coef * lp + ap_x1 - ap_coef * ap_y1
        ap_x1 = lp
        ap_y1 = ap
        s = (excitation[t] if t < excitation.shape[0] else 0.0) + loop_gain * ap
        line[w] = s
        out[t] = s
        w += 1
        if w == size:
            w = 0


@njit(**STRICT)
def diode_clipper(vin, out, fs, r, c, i_s, n_vt, iters):
    """RC low-pass into two antiparallel diodes to ground:
    C dV/dt = (Vin - V)/R - 2 Is sinh(V / (n Vt)), trapezoidal rule, Newton-Raphson per sample.
    """
    k = 1.0 / (2.0 * fs * c)
    v = 0.0
    f_prev = 0.0
    for t in range(vin.shape[0]):
        x = vin[t]
        guess = v
        for _ in range(iters):
            e = guess / n_vt
            if e > 80.0:
                e = 80.0
            elif e < -80.0:
                e = -80.0
            f = (x - guess) / r - 2.0 * i_s * math.sinh(e)
            g = guess - v - k * (f + f_prev)
            dg = 1.0 + k * (1.0 / r + 2.0 * i_s / n_vt * math.cosh(e))
            step = g / dg
            if step > 0.1:
                step = 0.1
            elif step < -0.1:
                step = -0.1
            guess -= step
            if abs(step) < 1e-10:
                break
        e = min(max(guess / n_vt, -80.0), 80.0)
        f_prev = (x - guess) / r - 2.0 * i_s * math.sinh(e)
        v = guess
        out[t] = v
