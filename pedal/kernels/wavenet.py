"""NAM's WaveNet ("A1", and the GuitarML WaveNetVA variant): a whole network over one block in
one call, vectorised across the block's time steps."""

from __future__ import annotations

from numba import njit

from .activations import activate
from .jit import FAST
from .linalg import mix

# arr_tab columns (one row per layer array)
A_CH = 0            # channels C
A_IN = 1            # input channels Cin
A_HEAD = 2          # head size Hd
A_FIRST = 3         # index of its first layer in lay_tab
A_LAYERS = 4        # number of layers
A_RECHANNEL = 5     # offset in wp of the rechannel [Cin, C]
A_HEAD_W = 6        # offset of head_w [A, Hd]
A_HEAD_B = 7        # offset of head_b [Hd]
A_ACT = 8           # activation code (activations.py)
A_GATED = 9         # 1: gated (2C conv outputs)
A_OUT = 10          # offset in bp of the array's output buffer
A_RECHANNEL_B = 11  # offset of the rechannel bias [C], -1: none
A_GATE_ACT = 12     # the gate's activation code
A_ACC = 13          # head accumulator channels A
A_COLS = 14
# lay_tab columns (one row per dilated layer)
L_DIL = 0           # dilation
L_K = 1             # kernel size
L_CONV = 2          # offset in wp of the conv [K, C, M]
L_CONV_B = 3        # conv bias [M]
L_MIXIN = 4         # input mixin [M]
L_1X1 = 5           # 1x1 [C_in, C_out]
L_1X1_B = 6         # 1x1 bias [C]
L_IN = 7            # offset in bp of the layer's input buffer
L_OUT = 8           # offset in bp of its output buffer (the next layer's input)
L_HEAD = 9          # offset of its own head weights [C, A], -1: summed into the head (NAM)
L_COLS = 10


@njit(inline="always", **FAST)
def _tap(bp, bi, rows, pos, dil, taps, c_n, p, n):
    """The n history samples a dilated conv's input p = k * C + c (tap k, channel c) reads."""
    k = p // c_n
    sb = bi + (p - k * c_n) * rows + pos - dil * (taps - 1 - k)
    return bp[sb:sb + n]


@njit(**FAST)
def wavenet_block(x, n, in_gain, out_gain, head_scale, pos, rows, keep, wp, bp, arr_tab,
                  lay_tab, head, acc, cond):
    """A whole WaveNet over one block in one call, vectorised across the block's time steps.

    Buffers are channel-major: channel c of a layer buffer at ``off`` is bp[off + c*rows + r]
    for row (time step) r; ``pos`` is the row of the block's first sample.
    wp: packed weights; arr_tab [arrays, A_COLS] and lay_tab [layers, L_COLS]: one row per
    layer array and per layer, the columns named by the A_ and L_ constants above (sizes,
    offsets into wp and bp, activation codes).
    head: [2, maxC, max_block] (head in / head out); acc: [2*maxC, max_block] scratch.
    Returns the new row position (every buffer is rewound when a block would not fit).

    Inner loops run over the block's time steps on slice views: LLVM vectorises those (an index
    like bp[s + t] carries numba's negative-index wraparound and does not). At block 64 such a
    loop is short, so what costs is its setup (views, alias checks) and the trip of its output
    row through memory: each loop therefore folds eight inputs into one output row, and the
    input views are made once for all output rows (the standard WaveNet: 14x -> 34x real time).
    """
    if pos + n > rows:
        for i in range(arr_tab.shape[0]):
            c_n, first, n_lay = arr_tab[i, A_CH], arr_tab[i, A_FIRST], arr_tab[i, A_LAYERS]
            for l in range(first, first + n_lay + 1):
                off = lay_tab[l, L_IN] if l < first + n_lay else arr_tab[i, A_OUT]
                for c in range(c_n):
                    base = off + c * rows
                    dst = bp[base:base + keep]
                    src = bp[base + pos - keep:base + pos]
                    for r in range(keep):
                        dst[r] = src[r]
        pos = keep
    cnd = cond[:n]
    for t in range(n):
        cnd[t] = x[t] * in_gain
    head_rows, max_block = head.shape[1], head.shape[2]
    flat = head.reshape(head.size)  # a view: _mix addresses rows by offset
    n_arr = arr_tab.shape[0]
    for i in range(n_arr):
        c_n, c_in, hd = arr_tab[i, A_CH], arr_tab[i, A_IN], arr_tab[i, A_HEAD]
        first, n_lay = arr_tab[i, A_FIRST], arr_tab[i, A_LAYERS]
        orc, ohw, ohb = arr_tab[i, A_RECHANNEL], arr_tab[i, A_HEAD_W], arr_tab[i, A_HEAD_B]
        act, gated = arr_tab[i, A_ACT], arr_tab[i, A_GATED]
        orb, gate_act = arr_tab[i, A_RECHANNEL_B], arr_tab[i, A_GATE_ACT]
        n_acc = arr_tab[i, A_ACC]
        hin = head[i & 1]
        hout = head[(i + 1) & 1]
        hin_at = (i & 1) * head_rows * max_block  # the same rows in ``flat``
        hout_at = ((i + 1) & 1) * head_rows * max_block
        if i == 0:
            for c in range(n_acc):
                hc = hin[c, :n]
                for t in range(n):
                    hc[t] = 0.0
        # rechannel (1x1, no history needed) into the first layer's buffer
        dst = lay_tab[first, L_IN]
        src = arr_tab[i - 1, A_OUT] if i > 0 else -1
        for c in range(c_n):
            base = dst + c * rows + pos
            out = bp[base:base + n]
            b0 = wp[orb + c] if orb >= 0 else 0.0
            for t in range(n):
                out[t] = b0
            for j in range(c_in):
                w = wp[orc + j * c_n + c]
                sb = src + j * rows + pos
                inp = cnd if src < 0 else bp[sb:sb + n]
                for t in range(n):
                    out[t] += w * inp[t]
        m_out = 2 * c_n if gated else c_n
        for l in range(first, first + n_lay):
            dil, taps = lay_tab[l, L_DIL], lay_tab[l, L_K]
            oc, ob, om = lay_tab[l, L_CONV], lay_tab[l, L_CONV_B], lay_tab[l, L_MIXIN]
            o1, ob1 = lay_tab[l, L_1X1], lay_tab[l, L_1X1_B]
            bi, bo, olh = lay_tab[l, L_IN], lay_tab[l, L_OUT], lay_tab[l, L_HEAD]
            n_in = taps * c_n  # the conv's inputs p = k * C + c: tap k of channel c
            for m in range(m_out):
                am = acc[m, :n]
                bm = wp[ob + m]
                mm = wp[om + m]
                for t in range(n):
                    am[t] = bm + mm * cnd[t]
            # eight inputs per pass over each output row: one load and store of the row per
            # eight multiply-adds; the inputs' views are made once per pass, not once per row
            p = 0
            while p + 8 <= n_in:
                h0 = _tap(bp, bi, rows, pos, dil, taps, c_n, p, n)
                h1 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 1, n)
                h2 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 2, n)
                h3 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 3, n)
                h4 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 4, n)
                h5 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 5, n)
                h6 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 6, n)
                h7 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 7, n)
                wq = oc + p * m_out
                for m in range(m_out):
                    am = acc[m]
                    w0, w1 = wp[wq + m], wp[wq + m_out + m]
                    w2, w3 = wp[wq + 2 * m_out + m], wp[wq + 3 * m_out + m]
                    w4, w5 = wp[wq + 4 * m_out + m], wp[wq + 5 * m_out + m]
                    w6, w7 = wp[wq + 6 * m_out + m], wp[wq + 7 * m_out + m]
                    for t in range(n):
                        am[t] += (((w0 * h0[t] + w1 * h1[t]) + (w2 * h2[t] + w3 * h3[t]))
                                  + ((w4 * h4[t] + w5 * h5[t]) + (w6 * h6[t] + w7 * h7[t])))
                p += 8
            if p + 4 <= n_in:
                h0 = _tap(bp, bi, rows, pos, dil, taps, c_n, p, n)
                h1 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 1, n)
                h2 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 2, n)
                h3 = _tap(bp, bi, rows, pos, dil, taps, c_n, p + 3, n)
                wq = oc + p * m_out
                for m in range(m_out):
                    am = acc[m]
                    w0, w1 = wp[wq + m], wp[wq + m_out + m]
                    w2, w3 = wp[wq + 2 * m_out + m], wp[wq + 3 * m_out + m]
                    for t in range(n):
                        am[t] += (w0 * h0[t] + w1 * h1[t]) + (w2 * h2[t] + w3 * h3[t])
                p += 4
            while p < n_in:
                h0 = _tap(bp, bi, rows, pos, dil, taps, c_n, p, n)
                for m in range(m_out):
                    am = acc[m]
                    w0 = wp[oc + p * m_out + m]
                    for t in range(n):
                        am[t] += w0 * h0[t]
                p += 1
            for c in range(c_n):
                ac = acc[c, :n]
                if gated:
                    ag = acc[c_n + c, :n]
                    for t in range(n):
                        ac[t] = activate(ac[t], act) * activate(ag[t], gate_act)
                else:
                    for t in range(n):
                        ac[t] = activate(ac[t], act)
                if olh < 0:
                    hc = hin[c, :n]
                    for t in range(n):
                        hc[t] += ac[t]
            if olh >= 0:  # this layer's own head weights [C, A] (skip channels concatenated)
                mix(flat, hin_at, max_block, acc, wp, olh, n_acc, c_n, n_acc, n)
            # 1x1 and residual: out[c] = in[c] + b1[c] + sum_j w1[j, c] * acc[j]
            for c in range(c_n):
                ib = bi + c * rows + pos
                obf = bo + c * rows + pos
                res = bp[ib:ib + n]
                out = bp[obf:obf + n]
                b1 = wp[ob1 + c]
                for t in range(n):
                    out[t] = res[t] + b1
            mix(bp, bo + pos, rows, acc, wp, o1, c_n, c_n, c_n, n)
        # head rechannel: hout[h, t] = sum_c head_w[c, h] * hin[c, t] + b[h]
        for h in range(hd):
            ho = hout[h, :n]
            bh = wp[ohb + h]
            for t in range(n):
                ho[t] = bh
        mix(flat, hout_at, max_block, hin, wp, ohw, hd, n_acc, hd, n)
    last = head[n_arr & 1]
    g = head_scale * out_gain
    for t in range(n):
        x[t] = last[0, t] * g
    return pos + n
