"""NAM's WaveNet (A1 and A2, and the GuitarML WaveNetVA variant): a whole network over one
block in one call, vectorised across the block's time steps."""

from __future__ import annotations

from .jit import FAST, njit

from .activations import activate_row
from .linalg import mix

# arr_tab columns (one row per layer array)
A_CH = 0            # channels C
A_IN = 1            # input channels Cin
A_HEAD = 2          # head size Hd
A_FIRST = 3         # index of its first layer in lay_tab
A_LAYERS = 4        # number of layers
A_RECHANNEL = 5     # offset in wp of the rechannel [Cin, C]
A_HEAD_W = 6        # offset of the head convolution [Kh, A, Hd]
A_HEAD_B = 7        # offset of head_b [Hd]
A_OUT = 8           # offset in bp of the array's output buffer
A_RECHANNEL_B = 9   # offset of the rechannel bias [C], -1: none
A_ACC = 10          # head inputs A (what each layer adds to the head)
A_HACC = 11         # offset in bp of the head's input buffer [A] (with history)
A_HK = 12           # head kernel size Kh
A_HDIL = 13         # head dilation
A_COLS = 14
# lay_tab columns (one row per dilated layer)
L_DIL = 0           # dilation
L_K = 1             # kernel size
L_CONV = 2          # offset in wp of the conv [K, C, M]
L_CONV_B = 3        # conv bias [M]
L_MIXIN = 4         # input mixin [Cc, M]
L_1X1 = 5           # layer 1x1 [B, C], -1: none (the output is the input)
L_1X1_B = 6         # layer 1x1 bias [C]
L_IN = 7            # offset in bp of the layer's input buffer
L_OUT = 8           # offset in bp of its output buffer (the next layer's input)
L_HEAD = 9          # offset of its own head weights [C, A], -1: summed into the head (NAM)
L_M = 10            # conv outputs M (2B gated or blended, else B)
L_B = 11            # bottleneck B
L_ACT = 12          # activation code (activations.py)
L_ACT_P = 13        # offset of its parameters
L_GATE = 14         # 0 none, 1 gated: act(a) * act2(g), 2 blended: act2(g) act(a) + (1 - act2(g)) a
L_GATE_ACT = 15     # the second activation's code
L_GATE_P = 16       # and its parameters
L_H1 = 17           # head 1x1 [B, A], -1: none (the activation goes to the head)
L_H1_B = 18         # head 1x1 bias [A]
L_CIN = 19          # offset in bp of the conv's input (L_IN, or the FiLMed copy of it)
L_FILM = 20         # FiLM sites (arch.wavenet.FILM_SITES): 2 columns each, the offset of
L_COLS = L_FILM + 16  # [w (rows x Cc) then b (rows)] or -1, and 1 if it shifts too
F_CONV_PRE, F_CONV_POST, F_MIX_PRE, F_MIX_POST, F_ACT_PRE, F_ACT_POST, F_1X1_POST, \
    F_H1_POST = range(8)
# ph_tab columns (one row per convolution of the post-stack head)
P_IN = 0
P_OUT = 1
P_K = 2
P_W = 3             # [K, in, out]
P_B = 4
P_BUF = 5           # offset in bp of its (activated) input, with history
P_ACT = 6
P_ACT_P = 7
P_COLS = 8
# the header of an engine's int table (wavenet_block): its state, flags and where the rest is
H_POS = 0           # the row of the next block's first sample (the kernel advances it)
H_ROWS = 1          # rows of every history buffer
H_KEEP = 2          # rows kept at a rewind (the longest reach back)
H_GIVEN = 3         # 1: cond holds a condition network's output, 0: the input is the condition
H_TO_X = 4          # 1: output channel 0 also goes to x
H_ARR, H_N_ARR = 5, 6     # offset in the table of the arr_tab rows, and how many
H_LAY, H_N_LAY = 7, 8     # lay_tab
H_PH, H_N_PH = 9, 10      # ph_tab
H_BUF, H_N_BUF = 11, 12   # buf_tab: (offset in bp, channels) of every history buffer
H_CC = 13           # condition channels Cc
H_COLS = 14
# the scratch array ws [W_COUNT, rows, width] (width: the max block rounded up to a cache
# line): a layer's conv outputs, 1x1 outputs and FiLM targets, FiLM scale and shift, the
# input mixin with FiLM, a head's output, the condition and its FiLMed copy, x * in_gain, and
# the output (an engine's own; a condition network writes its parent's condition)
W_ACC, W_TMP, W_FS, W_MIXB, W_HOUT, W_COND, W_COND2, W_XIN, W_YOUT = range(9)
W_COUNT = 9


@njit(inline="always", **FAST)
def _tap(bp, bi, rows, pos, dil, taps, c_n, p, n):
    """The n history samples a dilated conv's input p = k * C + c (tap k, channel c) reads."""
    k = p // c_n
    sb = bi + (p - k * c_n) * rows + pos - dil * (taps - 1 - k)
    return bp[sb:sb + n]


@njit(inline="always", **FAST)
def _dconv(bp, bi, c_n, rows, pos, dil, taps, wp, oc, m_out, acc, n):
    """acc[m, :n] += the dilated causal convolution of the c_n-channel history at bp[bi]
    (weights wp[oc:] as [K, C, M]; tap k reads x[t - dil * (K - 1 - k)]).

    Inner loops run over the block's time steps on slice views: LLVM vectorises those (an index
    like bp[s + t] carries numba's negative-index wraparound and does not). At block 64 such a
    loop is short, so what costs is its setup (views, alias checks) and the trip of its output
    row through memory: each loop therefore folds eight inputs into one output row, and the
    input views are made once for all output rows (the standard WaveNet: 14x -> 34x real time).
    """
    n_in = taps * c_n  # the conv's inputs p = k * C + c: tap k of channel c
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


@njit(inline="always", **FAST)
def _film(x, dim, fo, shift, wp, cond, cc, fs, n):
    """x[:dim, :n] = x * scale (+ shift): [scale; shift] = W cond + b (wp[fo:], W [rows, Cc])."""
    rows = 2 * dim if shift else dim
    for r in range(rows):
        s = fs[r, :n]
        b = wp[fo + rows * cc + r]
        for t in range(n):
            s[t] = b
        for j in range(cc):
            w = wp[fo + r * cc + j]
            cj = cond[j, :n]
            for t in range(n):
                s[t] += w * cj[t]
    for r in range(dim):
        xr = x[r, :n]
        sc = fs[r, :n]
        if shift:
            sh = fs[dim + r, :n]
            for t in range(n):
                xr[t] = xr[t] * sc[t] + sh[t]
        else:
            for t in range(n):
                xr[t] = xr[t] * sc[t]


@njit(inline="always", **FAST)
def _table(tab, at, count, cols):
    """The [count, cols] table at tab[tab[at]] (a view: nothing is allocated)."""
    o = tab[at]
    return tab[o:o + count * cols].reshape((count, cols))


@njit(**FAST)
def wavenet_block(x, n, in_gain, out_gain, head_scale, wp, bp, ws, tab, yout):
    """A whole WaveNet over one block in one call, vectorised across the block's time steps.

    Four arrays hold an engine: a call unboxes six arrays where it once unboxed sixteen (at
    block 32 that and the engine's attribute reads were a tenth of a small model's block).
    wp: the packed weights. bp: every history buffer, channel-major: channel c of a buffer at
    ``off`` is bp[off + c*rows + r] for row (time step) r. ws [W_COUNT, rows, width]: the
    scratch arrays (the W_ constants above), indexed rather than cut from one flat array with
    reshape: LLVM vectorised the block's loops over reshaped views 5-12 % worse. tab: the
    header (the H_ constants) and then the tables, one row per layer array, per layer, per
    post-head convolution and per history buffer, their columns named by the A_, L_ and P_
    constants (sizes, offsets into wp and bp, codes).

    tab[H_POS] is the row of the block's first sample, advanced here (every buffer is rewound
    when a block would not fit). The layers' condition is x * in_gain unless tab[H_GIVEN] (a
    condition network wrote it into this engine's condition rows). The output goes to yout
    [out channels, >= n], scaled by out_gain, and with tab[H_TO_X] its channel 0 to x.
    """
    pos, rows, keep = tab[H_POS], tab[H_ROWS], tab[H_KEEP]
    cond_given, to_x = tab[H_GIVEN], tab[H_TO_X]
    arr_tab = _table(tab, H_ARR, tab[H_N_ARR], A_COLS)
    lay_tab = _table(tab, H_LAY, tab[H_N_LAY], L_COLS)
    ph_tab = _table(tab, H_PH, tab[H_N_PH], P_COLS)
    buf_tab = _table(tab, H_BUF, tab[H_N_BUF], 2)
    acc, tmp, fs, mixb, hout = ws[W_ACC], ws[W_TMP], ws[W_FS], ws[W_MIXB], ws[W_HOUT]
    xin = ws[W_XIN, 0]
    cc = tab[H_CC]
    cond, cond2 = ws[W_COND, :cc], ws[W_COND2, :cc]
    if pos + n > rows:
        for i in range(buf_tab.shape[0]):
            off, c_n = buf_tab[i, 0], buf_tab[i, 1]
            for c in range(c_n):
                base = off + c * rows
                kept = bp[base:base + keep]
                last = bp[base + pos - keep:base + pos]
                for r in range(keep):
                    kept[r] = last[r]
        pos = keep
    xv = xin[:n]
    for t in range(n):
        xv[t] = x[t] * in_gain
    if cond_given == 0:
        c0 = cond[0, :n]
        for t in range(n):
            c0[t] = xv[t]
    n_arr = arr_tab.shape[0]
    hd = 0
    for i in range(n_arr):
        c_n, c_in, hd = arr_tab[i, A_CH], arr_tab[i, A_IN], arr_tab[i, A_HEAD]
        first, n_lay = arr_tab[i, A_FIRST], arr_tab[i, A_LAYERS]
        orc, ohw, ohb = arr_tab[i, A_RECHANNEL], arr_tab[i, A_HEAD_W], arr_tab[i, A_HEAD_B]
        orb, n_acc, hacc = arr_tab[i, A_RECHANNEL_B], arr_tab[i, A_ACC], arr_tab[i, A_HACC]
        # the head's input: zero, or the previous array's head output
        for c in range(n_acc):
            hb = hacc + c * rows + pos
            hc = bp[hb:hb + n]
            if i == 0:
                for t in range(n):
                    hc[t] = 0.0
            else:
                hp = hout[c, :n]
                for t in range(n):
                    hc[t] = hp[t]
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
                inp = xv if src < 0 else bp[sb:sb + n]
                for t in range(n):
                    out[t] += w * inp[t]
        for l in range(first, first + n_lay):
            dil, taps, m_out, b_n = lay_tab[l, L_DIL], lay_tab[l, L_K], lay_tab[l, L_M], \
                lay_tab[l, L_B]
            oc, ob, om = lay_tab[l, L_CONV], lay_tab[l, L_CONV_B], lay_tab[l, L_MIXIN]
            o1, ob1 = lay_tab[l, L_1X1], lay_tab[l, L_1X1_B]
            bi, bo, olh, bci = lay_tab[l, L_IN], lay_tab[l, L_OUT], lay_tab[l, L_HEAD], \
                lay_tab[l, L_CIN]
            act, ap = lay_tab[l, L_ACT], lay_tab[l, L_ACT_P]
            gate, gact, gp = lay_tab[l, L_GATE], lay_tab[l, L_GATE_ACT], lay_tab[l, L_GATE_P]
            oh1, oh1b = lay_tab[l, L_H1], lay_tab[l, L_H1_B]
            f_cpre, f_cpost = lay_tab[l, L_FILM + 2 * F_CONV_PRE], \
                lay_tab[l, L_FILM + 2 * F_CONV_POST]
            f_mpre, f_mpost = lay_tab[l, L_FILM + 2 * F_MIX_PRE], \
                lay_tab[l, L_FILM + 2 * F_MIX_POST]
            f_apre, f_apost = lay_tab[l, L_FILM + 2 * F_ACT_PRE], \
                lay_tab[l, L_FILM + 2 * F_ACT_POST]
            f_1post, f_hpost = lay_tab[l, L_FILM + 2 * F_1X1_POST], \
                lay_tab[l, L_FILM + 2 * F_H1_POST]
            if f_cpre >= 0:  # FiLM of the input, kept as the conv's own history
                for c in range(c_n):
                    sb = bi + c * rows + pos
                    tc, sc = tmp[c, :n], bp[sb:sb + n]
                    for t in range(n):
                        tc[t] = sc[t]
                _film(tmp, c_n, f_cpre, lay_tab[l, L_FILM + 2 * F_CONV_PRE + 1], wp, cond, cc,
                      fs, n)
                for c in range(c_n):
                    db = bci + c * rows + pos
                    tc, dc = tmp[c, :n], bp[db:db + n]
                    for t in range(n):
                        dc[t] = tc[t]
            fused = cc == 1 and f_cpost < 0 and f_mpre < 0 and f_mpost < 0
            c0 = cond[0, :n]
            for m in range(m_out):
                am = acc[m, :n]
                bm = wp[ob + m]
                if fused:  # the A1 case: bias and input mixin in one pass
                    mm = wp[om + m]
                    for t in range(n):
                        am[t] = bm + mm * c0[t]
                else:
                    for t in range(n):
                        am[t] = bm
            _dconv(bp, bci, c_n, rows, pos, dil, taps, wp, oc, m_out, acc, n)
            if not fused:
                if f_cpost >= 0:
                    _film(acc, m_out, f_cpost, lay_tab[l, L_FILM + 2 * F_CONV_POST + 1], wp,
                          cond, cc, fs, n)
                cin = cond
                if f_mpre >= 0:
                    for j in range(cc):
                        d2, s2 = cond2[j, :n], cond[j, :n]
                        for t in range(n):
                            d2[t] = s2[t]
                    _film(cond2, cc, f_mpre, lay_tab[l, L_FILM + 2 * F_MIX_PRE + 1], wp, cond,
                          cc, fs, n)
                    cin = cond2
                for m in range(m_out):
                    mb = mixb[m, :n]
                    for t in range(n):
                        mb[t] = 0.0
                mix(mixb.reshape(mixb.size), 0, mixb.shape[1], cin, wp, om, m_out, cc, m_out, n)
                if f_mpost >= 0:
                    _film(mixb, m_out, f_mpost, lay_tab[l, L_FILM + 2 * F_MIX_POST + 1], wp,
                          cond, cc, fs, n)
                for m in range(m_out):
                    am, mb = acc[m, :n], mixb[m, :n]
                    for t in range(n):
                        am[t] += mb[t]
            if f_apre >= 0:
                _film(acc, m_out, f_apre, lay_tab[l, L_FILM + 2 * F_ACT_PRE + 1], wp, cond, cc,
                      fs, n)
            # the activation; when nothing comes between it and the head, the head sums it here
            direct = olh < 0 and oh1 < 0 and f_apost < 0
            for c in range(b_n):
                ac = acc[c, :n]
                if gate == 1:
                    ag = acc[b_n + c, :n]
                    activate_row(ac, n, act, wp, ap, c)
                    activate_row(ag, n, gact, wp, gp, c)
                    for t in range(n):
                        ac[t] *= ag[t]
                elif gate == 2:  # alpha act(v) + (1 - alpha) v, without a float64 constant
                    ag, tv = acc[b_n + c, :n], tmp[c, :n]
                    activate_row(ag, n, gact, wp, gp, c)
                    for t in range(n):
                        tv[t] = ac[t]
                    activate_row(ac, n, act, wp, ap, c)
                    for t in range(n):
                        ac[t] = tv[t] + ag[t] * (ac[t] - tv[t])
                else:
                    activate_row(ac, n, act, wp, ap, c)
                if direct:
                    hb = hacc + c * rows + pos
                    hc = bp[hb:hb + n]
                    for t in range(n):
                        hc[t] += ac[t]
            if f_apost >= 0:
                _film(acc, b_n, f_apost, lay_tab[l, L_FILM + 2 * F_ACT_POST + 1], wp, cond, cc,
                      fs, n)
            if oh1 >= 0:  # head 1x1: tmp[:A] = b + W acc[:B], then into the head
                for h in range(n_acc):
                    th = tmp[h, :n]
                    bh = wp[oh1b + h]
                    for t in range(n):
                        th[t] = bh
                mix(tmp.reshape(tmp.size), 0, tmp.shape[1], acc, wp, oh1, n_acc, b_n, n_acc, n)
                if f_hpost >= 0:
                    _film(tmp, n_acc, f_hpost, lay_tab[l, L_FILM + 2 * F_H1_POST + 1], wp,
                          cond, cc, fs, n)
                for h in range(n_acc):
                    hb = hacc + h * rows + pos
                    hc, th = bp[hb:hb + n], tmp[h, :n]
                    for t in range(n):
                        hc[t] += th[t]
            elif olh >= 0:  # this layer's own head weights [C, A] (skip channels concatenated)
                mix(bp, hacc + pos, rows, acc, wp, olh, n_acc, c_n, n_acc, n)
            elif not direct:
                for c in range(b_n):
                    hb = hacc + c * rows + pos
                    hc, ac = bp[hb:hb + n], acc[c, :n]
                    for t in range(n):
                        hc[t] += ac[t]
            # the residual: out = in + (b1 + W1 acc[:B]), or out = in without a layer 1x1
            if o1 >= 0 and f_1post >= 0 and gate == 2:  # FiLMed 1x1 (blended layers only,
                for c in range(c_n):                      # as NAM Core)
                    tc = tmp[c, :n]
                    b1 = wp[ob1 + c]
                    for t in range(n):
                        tc[t] = b1
                mix(tmp.reshape(tmp.size), 0, tmp.shape[1], acc, wp, o1, c_n, b_n, c_n, n)
                _film(tmp, c_n, f_1post, lay_tab[l, L_FILM + 2 * F_1X1_POST + 1], wp, cond, cc,
                      fs, n)
                for c in range(c_n):
                    ib = bi + c * rows + pos
                    obf = bo + c * rows + pos
                    res, out, tc = bp[ib:ib + n], bp[obf:obf + n], tmp[c, :n]
                    for t in range(n):
                        out[t] = res[t] + tc[t]
            else:
                for c in range(c_n):
                    ib = bi + c * rows + pos
                    obf = bo + c * rows + pos
                    res = bp[ib:ib + n]
                    out = bp[obf:obf + n]
                    b1 = wp[ob1 + c] if o1 >= 0 else 0.0
                    for t in range(n):
                        out[t] = res[t] + b1
                if o1 >= 0:
                    mix(bp, bo + pos, rows, acc, wp, o1, c_n, b_n, c_n, n)
        # the head: hout[h, t] = b[h] + the (dilated) convolution of the head's input
        for h in range(hd):
            ah = acc[h, :n]
            bh = wp[ohb + h]
            for t in range(n):
                ah[t] = bh
        _dconv(bp, hacc, n_acc, rows, pos, arr_tab[i, A_HDIL], arr_tab[i, A_HK], wp, ohw, hd,
               acc, n)
        for h in range(hd):
            ho, ah = hout[h, :n], acc[h, :n]
            for t in range(n):
                ho[t] = ah[t]
    scale = head_scale
    if ph_tab.shape[0] > 0:  # the post-stack head: each convolution's input activated first
        for r in range(ph_tab.shape[0]):
            c_i, c_o, taps = ph_tab[r, P_IN], ph_tab[r, P_OUT], ph_tab[r, P_K]
            pb, pa, pap = ph_tab[r, P_BUF], ph_tab[r, P_ACT], ph_tab[r, P_ACT_P]
            for c in range(c_i):
                db = pb + c * rows + pos
                dc, ho = bp[db:db + n], hout[c, :n]
                for t in range(n):
                    dc[t] = ho[t] * scale
                activate_row(dc, n, pa, wp, pap, c)
            scale = 1.0
            for h in range(c_o):
                ah = acc[h, :n]
                bh = wp[ph_tab[r, P_B] + h]
                for t in range(n):
                    ah[t] = bh
            _dconv(bp, pb, c_i, rows, pos, 1, taps, wp, ph_tab[r, P_W], c_o, acc, n)
            for h in range(c_o):
                ho, ah = hout[h, :n], acc[h, :n]
                for t in range(n):
                    ho[t] = ah[t]
    g = scale * out_gain
    for h in range(yout.shape[0]):
        yo, ho = yout[h, :n], hout[h, :n]
        for t in range(n):
            yo[t] = ho[t] * g
    if to_x:
        y0 = yout[0, :n]
        for t in range(n):
            x[t] = y0[t]
    tab[H_POS] = pos + n
