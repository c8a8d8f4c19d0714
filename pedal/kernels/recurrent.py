"""Recurrent amp models: a stack of LSTM or GRU layers and the dense output, one call per block
(PyTorch gate order: LSTM i, f, g, o; GRU r, z, n). Weights are stored transposed ([inputs,
gates]) so the inner loop over gates is contiguous.

Every weight and state array of a stack lives in one float array (``ar``) at the offsets of an
int64 table (``d``, columns below), so a block is one call with two arrays: numba charges about
70 ns per array argument, and the eleven separate arrays cost 0.8 us of a 8 us LSTM-16 block.
The gates' scratch and the state of the layer being run are on the kernel's own stack
(``scratch.stack_like``), where no loop needs a run-time overlap check.
"""

from __future__ import annotations

from .jit import FAST, njit

from .activations import fast_tanh_f, tanh_f
from .linalg import matvec_acc
from .scratch import stack_like

# the largest stack the kernels take (models.arch.recurrent refuses a bigger file): an LSTM's
# gates and one layer's state live on the kernel's stack, sized for it
MAX_HIDDEN = 256
MAX_GATES = 1024    # 4 * MAX_HIDDEN, written out: stack_like takes a literal size

# d columns: sizes and flags, then offsets into ar
D_LAYERS = 0        # L
D_HIDDEN = 1        # H
D_DEEP = 2          # rows of wx: max(L - 1, 1)
D_MAX_BLOCK = 3     # rows of seq
D_FAST = 4          # 1: fast activations (``fast_tanh_f``)
D_LBR = 5           # GRU: linear_before_reset
D_WA = 6            # wa [G]: layer 0's audio input column
D_WX = 7            # wx [max(L - 1, 1), H, G]
D_WH = 8            # wh [L, H, G]
D_B = 9             # b [L, G] (GRU: the input bias bx)
D_BH = 10           # GRU: the hidden bias bh [L, G]
D_H = 11            # h [L, H] state
D_C = 12            # LSTM: c [L, H] state
D_SEQ = 13          # seq [max_block, H] (the gates' scratch is on the kernel's stack)
D_DENSE = 14        # dense_w [H]
D_COLS = 15


@njit(inline="always", **FAST)
def _dense(seq, t, w, b, skip, x, in_gain, out_gain):
    acc = b
    for j in range(w.shape[0]):
        acc += w[j] * seq[t, j]
    x[t] = (acc + skip * in_gain * x[t]) * out_gain


@njit(inline="always", **FAST)
def _lstm_stack(x, n, in_gain, out_gain, ar, d, dense_b, skip, hidden):
    """``lstm_block``'s work for ``hidden`` units (a constant where the caller gives one).

    The gates z and the layer's state (hl, cl) are worked on in arrays on the kernel's own
    stack (``stack_like``), copied in and out once per layer: a loop that stores only there
    needs no run-time check against the weights it reads. Against the same kernel on views of
    the arena (ahead of time, interleaved, best of 32, blocks 32-256) it runs LSTM 1x16
    1.11-1.17x, 1x20 1.18-1.23x, 1x40 1.06-1.16x and 2x8 1.39-1.48x as fast."""
    layers, deep = d[D_LAYERS], d[D_DEEP]
    fast = d[D_FAST]
    g4 = 4 * hidden
    wa = ar[d[D_WA]:d[D_WA] + g4]
    wx = ar[d[D_WX]:d[D_WX] + deep * hidden * g4].reshape((deep, hidden, g4))
    wh = ar[d[D_WH]:d[D_WH] + layers * hidden * g4].reshape((layers, hidden, g4))
    b = ar[d[D_B]:d[D_B] + layers * g4].reshape((layers, g4))
    h = ar[d[D_H]:d[D_H] + layers * hidden].reshape((layers, hidden))
    c = ar[d[D_C]:d[D_C] + layers * hidden].reshape((layers, hidden))
    seq = ar[d[D_SEQ]:d[D_SEQ] + d[D_MAX_BLOCK] * hidden].reshape((d[D_MAX_BLOCK], hidden))
    dense_w = ar[d[D_DENSE]:d[D_DENSE] + hidden]
    z = stack_like(ar, MAX_GATES)
    hs = stack_like(ar, MAX_HIDDEN)
    cs = stack_like(ar, MAX_HIDDEN)
    hl = hs[:hidden]
    half = ar.dtype.type(0.5)  # the arena's type throughout: a float64 constant would widen
    for layer in range(layers):
        ha = h[layer]
        ca = c[layer]
        for j in range(hidden):
            hs[j] = ha[j]
            cs[j] = ca[j]
        whl = wh[layer]
        bl = b[layer]
        for t in range(n):
            if layer == 0:
                xt = ar.dtype.type(x[t] * in_gain)
                for k in range(g4):
                    z[k] = bl[k] + wa[k] * xt
            else:
                for k in range(g4):
                    z[k] = bl[k]
                matvec_acc(wx[layer - 1], seq[t], z, g4)
            matvec_acc(whl, hl, z, g4)
            if fast:
                for k in range(g4):
                    z[k] = fast_tanh_f(z[k])
            else:
                for k in range(g4):
                    z[k] = tanh_f(z[k])
            for j in range(hidden):
                cj = ((half + half * z[hidden + j]) * cs[j]
                      + (half + half * z[j]) * z[2 * hidden + j])
                cs[j] = cj
                tc = fast_tanh_f(cj) if fast else tanh_f(cj)
                hs[j] = (half + half * z[3 * hidden + j]) * tc
            st = seq[t]
            for j in range(hidden):
                st[j] = hs[j]
        for j in range(hidden):
            ha[j] = hs[j]
            ca[j] = cs[j]
    for t in range(n):
        _dense(seq, t, dense_w, dense_b, skip, x, in_gain, out_gain)


@njit(**FAST)
def lstm_block(x, n, in_gain, out_gain, ar, d, dense_b, skip):
    """A stack of LSTM layers and the dense output over ``n`` samples of x, in place; its arrays
    are views of ``ar`` at the offsets of ``d`` (see the columns above).

    Layer 0 reads the audio:
    x[t] * in_gain times wa [4H] (knob inputs are folded into b[0] by the engine); layer l > 0
    reads layer l-1's output through wx[l-1] [H, 4H]. wh: [L, H, 4H]; b: [L, 4H]; h, c: [L, H]
    state, updated; seq: [max_block, H], each layer's output overwrites its
    input there (z is the kernel's own, on its stack). y[t] = (dense_w . h_last[t] + dense_b +
    skip * in_gain * x[t]) * out_gain.
    The i, f and o columns of every weight must be pre-halved (``recurrent.gate_prescale``): then
    sigmoid(v) = 0.5 + 0.5 tanh(v / 2), and one vectorised tanh pass serves all four gates.
    fast: NAM's tanh approximation (``fast_tanh_f``) for every gate and the cell, as the C++
    players run their LSTMs; 0 is exact.
    The common sizes run a copy compiled for their own hidden size, a constant, so every loop
    over the gates has a known trip count (LSTM 1x16-1x40: 10-15 % faster, bit-identical;
    1x8 and 1x12 measured slower or no faster that way and take the general copy).
    """
    hidden = d[D_HIDDEN]
    if hidden > MAX_HIDDEN:  # never through RecurrentSpec.validate: the stack is not overrun
        return
    if hidden == 16:
        _lstm_stack(x, n, in_gain, out_gain, ar, d, dense_b, skip, 16)
    elif hidden == 20:
        _lstm_stack(x, n, in_gain, out_gain, ar, d, dense_b, skip, 20)
    elif hidden == 24:
        _lstm_stack(x, n, in_gain, out_gain, ar, d, dense_b, skip, 24)
    elif hidden == 32:
        _lstm_stack(x, n, in_gain, out_gain, ar, d, dense_b, skip, 32)
    elif hidden == 40:
        _lstm_stack(x, n, in_gain, out_gain, ar, d, dense_b, skip, 40)
    else:
        _lstm_stack(x, n, in_gain, out_gain, ar, d, dense_b, skip, hidden)


@njit(**FAST)
def gru_block(x, n, in_gain, out_gain, ar, d, dense_b, skip):
    """A stack of GRU layers (PyTorch ``nn.GRU`` when linear_before_reset) and the dense output,
    laid out as ``lstm_block``: wa [3H]; wx [L-1, H, 3H]; wh [L, H, 3H]; bx, bh [L, 3H];
    h [L, H]; the scratch zx, zh [3H] and the layer's state are on the kernel's stack.

    The r and z columns of every weight and bias must be pre-halved
    (``recurrent.gate_prescale``), so the two gates share one vectorised tanh pass. With
    linear_before_reset false (ONNX's default) the candidate is tanh(Wx x + Wh (r*h) + b).
    fast: NAM's tanh approximation for the gates and the candidate, as in ``lstm_block``.
    The input projection is written out here as in ``lstm_block``: moved into a shared inline
    helper, both kernels measured 1.8x slower (the cause in the generated code was not found).
    """
    layers, hidden, deep = d[D_LAYERS], d[D_HIDDEN], d[D_DEEP]
    if hidden > MAX_HIDDEN:  # as in lstm_block
        return
    fast, linear_before_reset = d[D_FAST], d[D_LBR]
    g2 = 2 * hidden
    g3 = 3 * hidden
    wa = ar[d[D_WA]:d[D_WA] + g3]
    wx = ar[d[D_WX]:d[D_WX] + deep * hidden * g3].reshape((deep, hidden, g3))
    wh = ar[d[D_WH]:d[D_WH] + layers * hidden * g3].reshape((layers, hidden, g3))
    bx = ar[d[D_B]:d[D_B] + layers * g3].reshape((layers, g3))
    bh = ar[d[D_BH]:d[D_BH] + layers * g3].reshape((layers, g3))
    h = ar[d[D_H]:d[D_H] + layers * hidden].reshape((layers, hidden))
    zx = stack_like(ar, MAX_GATES)
    zh = stack_like(ar, MAX_GATES)
    hs = stack_like(ar, MAX_HIDDEN)
    hl = hs[:hidden]
    seq = ar[d[D_SEQ]:d[D_SEQ] + d[D_MAX_BLOCK] * hidden].reshape((d[D_MAX_BLOCK], hidden))
    dense_w = ar[d[D_DENSE]:d[D_DENSE] + hidden]
    half = zx.dtype.type(0.5)
    one = zx.dtype.type(1.0)
    for layer in range(layers):
        ha = h[layer]
        for j in range(hidden):
            hs[j] = ha[j]
        whl = wh[layer]
        bxl = bx[layer]
        bhl = bh[layer]
        for t in range(n):
            if layer == 0:
                xt = zx.dtype.type(x[t] * in_gain)
                for k in range(g3):
                    zx[k] = bxl[k] + wa[k] * xt
            else:
                for k in range(g3):
                    zx[k] = bxl[k]
                matvec_acc(wx[layer - 1], seq[t], zx, g3)
            if linear_before_reset:
                for k in range(g3):
                    zh[k] = bhl[k]
                matvec_acc(whl, hl, zh, g3)
            else:
                for k in range(g2):
                    zh[k] = bhl[k]
                matvec_acc(whl, hl, zh, g2)
            if fast:
                for k in range(g2):
                    zx[k] = half + half * fast_tanh_f(zx[k] + zh[k])  # r, then the update gate u
            else:
                for k in range(g2):
                    zx[k] = half + half * tanh_f(zx[k] + zh[k])
            if linear_before_reset:
                for j in range(hidden):
                    zx[g2 + j] += zx[j] * zh[g2 + j]
            else:
                for j in range(hidden):
                    zh[j] = zx[j] * hl[j]  # r*h, into scratch
                for j in range(hidden):
                    acc = bhl[g2 + j]
                    for m in range(hidden):
                        acc += whl[m, g2 + j] * zh[m]
                    zx[g2 + j] += acc
            for j in range(hidden):
                u = zx[hidden + j]
                v = zx[g2 + j]
                hs[j] = (one - u) * (fast_tanh_f(v) if fast else tanh_f(v)) + u * hs[j]
            st = seq[t]
            for j in range(hidden):
                st[j] = hs[j]
        for j in range(hidden):
            ha[j] = hs[j]
    for t in range(n):
        _dense(seq, t, dense_w, dense_b, skip, x, in_gain, out_gain)
