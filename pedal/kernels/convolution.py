"""Zero-latency uniformly partitioned convolution (the cabinet IR):

    y = h0 * x  (the first partition: spectrally for whole aligned blocks, directly otherwise)
      + S       (all later partitions, a spectrum ready at the start of each window)
"""

from __future__ import annotations

from .jit import FAST, njit

from .fft import irfft, rfft

# upols' integer state slots
UP_POS, UP_HEAD, UP_TAIL = range(3)
UP_SLOTS = 3


@njit(inline="always", **FAST)
def _upols_spectrum(xbuf, fdl_re, fdl_im, ints, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im):
    """Spectrum of the window xbuf[0:2P] into the next slot of the delay line; returns the slot."""
    head = (ints[UP_HEAD] + 1) % fdl_re.shape[0]
    ints[UP_HEAD] = head
    rfft(xbuf, fdl_re[head], fdl_im[head], zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im)
    return head


@njit(inline="always", **FAST)
def _upols_next(xbuf, h_re, h_im, fdl_re, fdl_im, s_re, s_im, ints):
    """After a window: S = sum over partitions k >= 1 of X[head - k + 1] H[k]; shift input."""
    p = xbuf.shape[0] // 2
    n_part = h_re.shape[0]
    head = ints[UP_HEAD]
    nb = p + 1
    for k in range(nb):
        s_re[k] = 0.0
        s_im[k] = 0.0
    for part in range(1, n_part):
        slot = head - (part - 1)
        if slot < 0:
            slot += n_part
        xr = fdl_re[slot]
        xi = fdl_im[slot]
        hr = h_re[part]
        hi = h_im[part]
        for k in range(nb):
            s_re[k] += xr[k] * hr[k] - xi[k] * hi[k]
            s_im[k] += xr[k] * hi[k] + xi[k] * hr[k]
    for k in range(p):
        xbuf[k] = xbuf[p + k]
    ints[UP_POS] = 0
    ints[UP_TAIL] = 0


@njit(**FAST)
def upols(x, n, h0, h_re, h_im, fdl_re, fdl_im, s_re, s_im, xbuf, tail, acc_re, acc_im, tbuf,
          ints, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im):
    """Convolve x[:n] in place with the partitioned filter. ints [UP_SLOTS]: UP_POS samples of
    the current window so far, UP_HEAD the delay line's newest slot, UP_TAIL whether the later
    partitions' share of this window has been made (``tail``).

    h0: [P] first partition in time; h_re/h_im: [K, P+1] partition spectra (2P-point FFTs);
    fdl_*: [K, P+1] spectra of past input windows (ring, newest at ints[UP_HEAD]); s_*: [P+1];
    xbuf: [2P] previous and current input partition; tail, tbuf, acc_*: scratch.
    """
    p = zr.shape[0]
    nb = p + 1
    i = 0
    while i < n:
        pos = ints[UP_POS]
        if pos == 0 and n - i >= p:
            # a whole window: one forward and one inverse FFT for everything
            for k in range(p):
                xbuf[p + k] = x[i + k]
            head = _upols_spectrum(xbuf, fdl_re, fdl_im, ints, zr, zi, bitrev, tw_re, tw_im,
                                   rtw_re, rtw_im)
            xr = fdl_re[head]
            xi = fdl_im[head]
            hr = h_re[0]
            hi = h_im[0]
            for k in range(nb):
                acc_re[k] = s_re[k] + xr[k] * hr[k] - xi[k] * hi[k]
                acc_im[k] = s_im[k] + xr[k] * hi[k] + xi[k] * hr[k]
            irfft(acc_re, acc_im, tbuf, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im)
            for k in range(p):
                x[i + k] = tbuf[p + k]
            _upols_next(xbuf, h_re, h_im, fdl_re, fdl_im, s_re, s_im, ints)
            i += p
        else:
            # part of a window: the later partitions' share is ready in time (tail), the first
            # partition runs as a direct FIR, so no sample waits for the window to fill
            if ints[UP_TAIL] == 0:
                irfft(s_re, s_im, tbuf, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im)
                for k in range(p):
                    tail[k] = tbuf[p + k]
                ints[UP_TAIL] = 1
            m = min(n - i, p - pos)
            for j in range(m):
                at = p + pos + j
                xbuf[at] = x[i + j]
                acc = tail[pos + j]
                for k in range(p):
                    acc += h0[k] * xbuf[at - k]
                x[i + j] = acc
            ints[UP_POS] = pos + m
            i += m
            if pos + m == p:
                _upols_spectrum(xbuf, fdl_re, fdl_im, ints, zr, zi, bitrev, tw_re, tw_im,
                                rtw_re, rtw_im)
                _upols_next(xbuf, h_re, h_im, fdl_re, fdl_im, s_re, s_im, ints)
