"""SmartAmpPro: each output sample a function of the last N input samples alone (conv1d,
conv1d, an LSTM over the few positions left, dense). Everything in arrays the engine made."""

from __future__ import annotations

from .jit import FAST, njit

from .activations import tanh_f
from .linalg import matvec_acc


@njit(**FAST)
def smartamppro_block(x, n, in_gain, out_gain, w1, b1, w2, b2, wk, wr, bl, dw, db, keep,
                      s1, s2, out1, out2, pad2, xh, c1h, v2, z, h, c):
    """y[t] = dense(LSTM(conv2(conv1(x[t-N+1 .. t])))) over n samples of x, in place.

    The first convolution has no padding (the loader checks), so its output at window position
    j is an FIR of the input ending at sample t - (N-1) + j*s1 + K1 - 1: it is computed once
    per sample into ``c1h`` [C1, keep + max_block] and read back by every window that holds it.
    ``xh`` [keep + max_block] holds the input the same way; both carry their last keep = N-1
    samples over to the next block.
    conv2 (K2 taps, stride s2, ``pad2`` zero positions before the first) gives out2 positions;
    the LSTM (Keras gate order i, f, c, o; wk [C2, 4H]; wr [H, 4H]) runs over them from zero
    state; dw [H], db: the dense output.
    """
    k1 = w1.shape[0]
    c1n = w1.shape[1]
    k2 = w2.shape[0]
    c2n = w2.shape[2]
    hid = h.shape[0]
    g4 = 4 * hid
    half = z.dtype.type(0.5)
    for t in range(n):
        s = keep + t
        xh[s] = x[t] * in_gain
        for ch in range(c1n):
            acc = b1[ch]
            for k in range(k1):
                acc += w1[k, ch] * xh[s - k1 + 1 + k]
            c1h[ch, s] = acc
    for t in range(n):
        first = t + k1 - 1  # window t is xh[t .. t + keep]; conv1's position 0 ends here
        for j in range(hid):
            h[j] = 0.0
            c[j] = 0.0
        for step in range(out2):
            for o in range(c2n):
                v2[o] = b2[o]
            for k in range(k2):
                p = step * s2 - pad2 + k
                if p >= 0 and p < out1:
                    e = first + p * s1
                    for ci in range(c1n):
                        val = c1h[ci, e]
                        for o in range(c2n):
                            v2[o] += w2[k, ci, o] * val
            for g in range(g4):
                z[g] = bl[g]
            for ci in range(c2n):
                vc = v2[ci]
                for g in range(g4):
                    z[g] += wk[ci, g] * vc
            if step > 0:
                matvec_acc(wr, h, z, g4)
            for j in range(hid):
                ig = half + half * tanh_f(half * z[j])
                fg = half + half * tanh_f(half * z[hid + j])
                og = half + half * tanh_f(half * z[3 * hid + j])
                cj = fg * c[j] + ig * tanh_f(z[2 * hid + j])
                c[j] = cj
                h[j] = og * tanh_f(cj)
        y = db
        for j in range(hid):
            y += dw[j] * h[j]
        x[t] = y * out_gain
    for i in range(keep):
        xh[i] = xh[n + i]
        for ch in range(c1n):
            c1h[ch, i] = c1h[ch, n + i]
