"""Small linear-algebra loops the model kernels inline: a matrix-vector product that takes the
rows eight at a time, and the 1x1 convolution over a block."""

from __future__ import annotations

from .jit import FAST, njit



@njit(inline="always", **FAST)
def matvec_acc(w, v, z, g):
    """z[:g] += v @ w[:, :g] for w [len(v), >= g].

    The rows are taken eight (then four, then one) at a time, so z makes one trip through memory
    per eight rows instead of one per row: at the small sizes of amp models the store-to-load
    round trips of z, not the multiply-adds, bound the plain loop (LSTM-16: 1.5x faster).
    """
    rows = v.shape[0]
    j = 0
    while j + 8 <= rows:
        v0 = v[j]
        v1 = v[j + 1]
        v2 = v[j + 2]
        v3 = v[j + 3]
        v4 = v[j + 4]
        v5 = v[j + 5]
        v6 = v[j + 6]
        v7 = v[j + 7]
        for k in range(g):
            z[k] += (((w[j, k] * v0 + w[j + 1, k] * v1) + (w[j + 2, k] * v2 + w[j + 3, k] * v3))
                     + ((w[j + 4, k] * v4 + w[j + 5, k] * v5)
                        + (w[j + 6, k] * v6 + w[j + 7, k] * v7)))
        j += 8
    if j + 4 <= rows:
        v0 = v[j]
        v1 = v[j + 1]
        v2 = v[j + 2]
        v3 = v[j + 3]
        for k in range(g):
            z[k] += (w[j, k] * v0 + w[j + 1, k] * v1) + (w[j + 2, k] * v2 + w[j + 3, k] * v3)
        j += 4
    while j < rows:
        vj = v[j]
        for k in range(g):
            z[k] += w[j, k] * vj
        j += 1


@njit(inline="always", **FAST)
def mix(dst, d0, dstride, src, w, w0, wrow, n_src, n_dst, n):
    """A 1x1 convolution over a block, accumulated:
    dst[d0 + o * dstride + t] += sum_j w[w0 + j * wrow + o] * src[j, t] for o < n_dst, t < n.

    Eight source rows per pass over each destination row (then four, then one): one load and
    store of the destination per eight multiply-adds, and the source views made once per pass.
    """
    j = 0
    while j + 8 <= n_src:
        s0, s1, s2, s3 = src[j], src[j + 1], src[j + 2], src[j + 3]
        s4, s5, s6, s7 = src[j + 4], src[j + 5], src[j + 6], src[j + 7]
        for o in range(n_dst):
            d = dst[d0 + o * dstride:d0 + o * dstride + n]
            wq = w0 + j * wrow + o
            w_0, w_1, w_2, w_3 = w[wq], w[wq + wrow], w[wq + 2 * wrow], w[wq + 3 * wrow]
            w_4, w_5 = w[wq + 4 * wrow], w[wq + 5 * wrow]
            w_6, w_7 = w[wq + 6 * wrow], w[wq + 7 * wrow]
            for t in range(n):
                d[t] += (((w_0 * s0[t] + w_1 * s1[t]) + (w_2 * s2[t] + w_3 * s3[t]))
                         + ((w_4 * s4[t] + w_5 * s5[t]) + (w_6 * s6[t] + w_7 * s7[t])))
        j += 8
    if j + 4 <= n_src:
        s0, s1, s2, s3 = src[j], src[j + 1], src[j + 2], src[j + 3]
        for o in range(n_dst):
            d = dst[d0 + o * dstride:d0 + o * dstride + n]
            wq = w0 + j * wrow + o
            w_0, w_1, w_2, w_3 = w[wq], w[wq + wrow], w[wq + 2 * wrow], w[wq + 3 * wrow]
            for t in range(n):
                d[t] += (w_0 * s0[t] + w_1 * s1[t]) + (w_2 * s2[t] + w_3 * s3[t])
        j += 4
    while j < n_src:
        s0 = src[j]
        for o in range(n_dst):
            d = dst[d0 + o * dstride:d0 + o * dstride + n]
            w_0 = w[w0 + j * wrow + o]
            for t in range(n):
                d[t] += w_0 * s0[t]
        j += 1
