"""Activations in their argument's own type (a float32 must not meet float64 constants, which
would halve the vector width): a rational tanh accurate to a few float32 ulp (the 13/6 minimax
form Eigen and XLA use; only multiplies, adds and one division, so it vectorises), the sigmoid
through it, and the WaveNet activation switch."""

from __future__ import annotations

from .jit import FAST, njit


# activation codes of ``activate`` (the WaveNet tables carry them)
TANH, HARDTANH, RELU, LEAKY_RELU, SIGMOID, FAST_TANH, SOFTSIGN, LINEAR = range(8)
PRELU, SILU, HARDSWISH, LEAKY_HARDTANH = range(8, 12)
CODES = {"Tanh": TANH, "Hardtanh": HARDTANH, "ReLU": RELU, "LeakyReLU": LEAKY_RELU,
         "Sigmoid": SIGMOID, "Fasttanh": FAST_TANH, "Softsign": SOFTSIGN, "Linear": LINEAR,
         "PReLU": PRELU, "SiLU": SILU, "Hardswish": HARDSWISH, "LeakyHardtanh": LEAKY_HARDTANH}
# how many parameters each takes (``activate_p``); PReLU: one, or one per channel
PARAMETERS = {"LeakyReLU": 1, "PReLU": 1, "LeakyHardtanh": 4}


@njit(inline="always", **FAST)
def tanh_f(x):
    """tanh to a few float32 ulp, computed in x's own type."""
    f = type(x)
    x = min(max(x, f(-7.90531110763549805)), f(7.90531110763549805))
    x2 = x * x
    p = f(-2.76076847742355e-16)
    p = p * x2 + f(2.00018790482477e-13)
    p = p * x2 + f(-8.60467152213735e-11)
    p = p * x2 + f(5.12229709037114e-08)
    p = p * x2 + f(1.48572235717979e-05)
    p = p * x2 + f(6.37261928875436e-04)
    p = p * x2 + f(4.89352455891786e-03)
    q = f(1.19825839466702e-06)
    q = q * x2 + f(1.18534705686654e-04)
    q = q * x2 + f(2.26843463243900e-03)
    q = q * x2 + f(4.89352518554385e-03)
    return x * p / q


@njit(inline="always", **FAST)
def fast_tanh_f(v):
    """NAM's rational tanh approximation (NAM/activations.h, enable_fast_tanh), in v's type:
    about 2e-4 from tanh at most, and fewer operations than ``tanh_f``."""
    f = type(v)
    av = abs(v)
    x2 = v * v
    return (v * (f(2.45550750702956) + f(2.45550750702956) * av
                 + (f(0.893229853513558) + f(0.821226666969744) * av) * x2)
            / (f(2.44506634652299) + (f(2.44506634652299) + x2)
               * abs(v + f(0.814642734961073) * v * av)))


@njit(inline="always", **FAST)
def sigmoid_f(x):
    half = type(x)(0.5)
    return half + half * tanh_f(half * x)


@njit(**FAST)
def tanh_array(x, out):
    """Vectorised ``tanh_f`` over an array (used by tests to check the approximation)."""
    for i in range(x.shape[0]):
        out[i] = tanh_f(x[i])


@njit(inline="always", **FAST)
def activate_p(v, kind, p, at, c):
    """``activate`` with parameters p[at:]: LeakyReLU's slope p[at], PReLU's slope of channel c
    p[at + c], LeakyHardtanh's (min, max, slope below, slope above) p[at:at + 4]."""
    f = type(v)
    if kind == LEAKY_RELU:
        return v if v > f(0.0) else p[at] * v
    if kind == PRELU:
        return v if v > f(0.0) else p[at + c] * v
    if kind == LEAKY_HARDTANH:
        lo, hi = p[at], p[at + 1]
        if v < lo:
            return (v - lo) * p[at + 2] + lo
        if v > hi:
            return (v - hi) * p[at + 3] + hi
        return v
    if kind == SILU:
        return v * sigmoid_f(v)
    if kind == HARDSWISH:
        return v * min(max(v + f(3.0), f(0.0)), f(6.0)) * f(1.0 / 6.0)
    return activate(v, kind)


@njit(inline="always", **FAST)
def activate_row(v, n, kind, p, at, c):
    """v[:n] = activate_p(v[:n], kind, p, at, c) in place, the kind chosen once per row so each
    loop is straight-line and vectorises (a switch inside the loop does not always)."""
    f = type(v[0])
    if kind == TANH:
        for t in range(n):
            v[t] = tanh_f(v[t])
    elif kind == LEAKY_RELU or kind == PRELU:
        a = p[at] if kind == LEAKY_RELU else p[at + c]
        for t in range(n):
            x = v[t]
            v[t] = max(x, f(0.0)) + a * min(x, f(0.0))
    elif kind == RELU:
        for t in range(n):
            v[t] = max(v[t], f(0.0))
    elif kind == HARDTANH:
        for t in range(n):
            v[t] = min(max(v[t], f(-1.0)), f(1.0))
    elif kind == SIGMOID:
        for t in range(n):
            v[t] = sigmoid_f(v[t])
    elif kind == FAST_TANH:
        for t in range(n):
            v[t] = activate(v[t], FAST_TANH)
    elif kind == LINEAR:
        return
    else:
        for t in range(n):
            v[t] = activate_p(v[t], kind, p, at, c)


@njit(inline="always", **FAST)
def activate(v, kind):
    """The activation ``kind`` (a code above) of v, every branch in v's type."""
    f = type(v)
    if kind == TANH:
        return tanh_f(v)
    if kind == HARDTANH:
        return min(max(v, f(-1.0)), f(1.0))
    if kind == RELU:
        return max(v, f(0.0))
    if kind == LEAKY_RELU:
        return v if v > f(0.0) else f(0.01) * v
    if kind == SIGMOID:
        return sigmoid_f(v)
    if kind == SOFTSIGN:
        return v / (f(1.0) + abs(v))
    if kind == LINEAR:
        return v
    return fast_tanh_f(v)
