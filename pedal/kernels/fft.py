"""The FFT: an iterative radix-2 complex FFT on split re/im arrays, and a real FFT of size 2P
through a complex FFT of size P. Tables (bit reversal, twiddles) are made once, in prepare."""

from __future__ import annotations

from .jit import FAST, njit



@njit(inline="always", **FAST)
def _cfft(re, im, size, bitrev, tw_re, tw_im, stride_base):
    """In-place forward complex FFT of re[:size], im[:size] (size a power of two).

    tw_re/tw_im hold exp(-2 pi i k / (stride_base)) for k < stride_base/2; size divides stride_base.
    """
    for i in range(size):
        j = bitrev[i]
        if j > i:
            tr = re[i]
            re[i] = re[j]
            re[j] = tr
            ti = im[i]
            im[i] = im[j]
            im[j] = ti
    half = 1
    while half < size:
        step = stride_base // (2 * half)
        for start in range(0, size, 2 * half):
            for k in range(half):
                wr = tw_re[k * step]
                wi = tw_im[k * step]
                a = start + k
                b = a + half
                xr = re[b] * wr - im[b] * wi
                xi = re[b] * wi + im[b] * wr
                re[b] = re[a] - xr
                im[b] = im[a] - xi
                re[a] += xr
                im[a] += xi
        half *= 2


@njit(inline="always", **FAST)
def rfft(x, out_re, out_im, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im):
    """Spectrum bins 0..P of the real signal x[:2P]. zr, zi: [P] scratch.

    tw_*: exp(-2 pi i k / P), k < P/2; rtw_*: exp(-2 pi i k / 2P), k <= P.
    """
    p = zr.shape[0]
    for k in range(p):
        zr[k] = x[2 * k]
        zi[k] = x[2 * k + 1]
    _cfft(zr, zi, p, bitrev, tw_re, tw_im, p)
    for k in range(p):
        m = (p - k) % p
        er = 0.5 * (zr[k] + zr[m])
        ei = 0.5 * (zi[k] - zi[m])
        orr = 0.5 * (zi[k] + zi[m])
        oi = -0.5 * (zr[k] - zr[m])
        wr = rtw_re[k]
        wi = rtw_im[k]
        out_re[k] = er + wr * orr - wi * oi
        out_im[k] = ei + wr * oi + wi * orr
    out_re[p] = zr[0] - zi[0]
    out_im[p] = 0.0


@njit(inline="always", **FAST)
def irfft(in_re, in_im, x, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im):
    """Inverse of ``rfft``: x[:2P] from bins 0..P (scaled by 1/2P)."""
    p = zr.shape[0]
    for k in range(p):
        m = p - k
        ar = in_re[k]
        ai = in_im[k]
        br = in_re[m]
        bi = -in_im[m]
        er = 0.5 * (ar + br)
        ei = 0.5 * (ai + bi)
        dr = 0.5 * (ar - br)
        di = 0.5 * (ai - bi)
        # O = D / W^k = D * conj(W^k)
        wr = rtw_re[k]
        wi = rtw_im[k]
        orr = dr * wr + di * wi
        oi = di * wr - dr * wi
        # Z = E + i O, then conjugate for the inverse-by-forward trick
        zr[k] = er - oi
        zi[k] = -(ei + orr)
    _cfft(zr, zi, p, bitrev, tw_re, tw_im, p)
    scale = 1.0 / p
    for k in range(p):
        x[2 * k] = zr[k] * scale
        x[2 * k + 1] = -zi[k] * scale
