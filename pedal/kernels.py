"""Every numba kernel of the pedal, and the only module that imports numba.

Rules for this module (see design.md):
- a kernel takes arrays and scalars, writes into output/state arrays it is given and reads no
  globals (numba's cache freezes them); the real-time ones never allocate (only the offline
  synthesis and circuit kernels at the end make scratch arrays);
- kernels are compiled with ``cache=True``; the first call in a new process loads them from the
  cache (``warm_up`` does that ahead of time);
- objects that own state live elsewhere (``pedal.dsp``) and only hand their arrays in here.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# fastmath lets LLVM vectorise the inner loops (reassociation of sums); the kernels do not rely on
# IEEE special values (inputs are validated finite before they reach a kernel).
_JIT = dict(cache=True, nogil=True, fastmath=True, error_model="numpy")
_JIT_STRICT = dict(cache=True, nogil=True, error_model="numpy")


# --------------------------------------------------------------------------------------------
# activations: a rational tanh accurate to a few float32 ulp (the 13/6 minimax form that Eigen
# and XLA use), which vectorises because it is only multiplies, adds and one division.
# --------------------------------------------------------------------------------------------
@njit(inline="always", **_JIT)
def tanh_f(x):
    """tanh to a few float32 ulp, computed in x's own type: a float32 x must not meet float64
    constants, which would run the polynomial at half the vector width."""
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


@njit(inline="always", **_JIT)
def sigmoid_f(x):
    half = type(x)(0.5)
    return half + half * tanh_f(half * x)


@njit(**_JIT)
def tanh_array(x, out):
    """Vectorised ``tanh_f`` over an array (used by tests to check the approximation)."""
    for i in range(x.shape[0]):
        out[i] = tanh_f(x[i])


# --------------------------------------------------------------------------------------------
# recurrent amp models (PyTorch gate order: LSTM i,f,g,o; GRU r,z,n)
# weights are stored transposed ([inputs, gates]) so the inner loop over gates is contiguous.
# --------------------------------------------------------------------------------------------
@njit(inline="always", **_JIT)
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


@njit(inline="always", **_JIT)
def _dense(seq, t, w, b, skip, x, in_gain, out_gain):
    acc = b
    for j in range(w.shape[0]):
        acc += w[j] * seq[t, j]
    x[t] = (acc + skip * in_gain * x[t]) * out_gain


@njit(**_JIT)
def lstm_block(x, n, in_gain, out_gain, wa, wx, wh, b, h, c, z, seq, dense_w, dense_b, skip):
    """A stack of LSTM layers and the dense output over ``n`` samples of x, in place.

    One call per block (a numba call costs about 50 ns per array argument, a tenth of a block's
    budget at LSTM-16 sizes if every layer were its own call). Layer 0 reads the audio:
    x[t] * in_gain times wa [4H] (knob inputs are folded into b[0] by the engine); layer l > 0
    reads layer l-1's output through wx[l-1] [H, 4H]. wh: [L, H, 4H]; b: [L, 4H]; h, c: [L, H]
    state, updated; z: [4H] scratch; seq: [max_block, H], each layer's output overwrites its
    input there. y[t] = (dense_w . h_last[t] + dense_b + skip * in_gain * x[t]) * out_gain.
    The i, f and o columns of every weight must be pre-halved (``recurrent.gate_prescale``): then
    sigmoid(v) = 0.5 + 0.5 tanh(v / 2), and one vectorised tanh pass serves all four gates.
    """
    layers = h.shape[0]
    hidden = h.shape[1]
    g4 = 4 * hidden
    half = z.dtype.type(0.5)  # z's type throughout: a float64 constant would widen float32
    for layer in range(layers):
        hl = h[layer]
        cl = c[layer]
        whl = wh[layer]
        bl = b[layer]
        for t in range(n):
            if layer == 0:
                xt = z.dtype.type(x[t] * in_gain)
                for k in range(g4):
                    z[k] = bl[k] + wa[k] * xt
            else:
                for k in range(g4):
                    z[k] = bl[k]
                matvec_acc(wx[layer - 1], seq[t], z, g4)
            matvec_acc(whl, hl, z, g4)
            for k in range(g4):
                z[k] = tanh_f(z[k])
            for j in range(hidden):
                cj = ((half + half * z[hidden + j]) * cl[j]
                      + (half + half * z[j]) * z[2 * hidden + j])
                cl[j] = cj
                hj = (half + half * z[3 * hidden + j]) * tanh_f(cj)
                hl[j] = hj
                seq[t, j] = hj
    for t in range(n):
        _dense(seq, t, dense_w, dense_b, skip, x, in_gain, out_gain)


@njit(**_JIT)
def gru_block(x, n, in_gain, out_gain, wa, wx, wh, bx, bh, linear_before_reset, h, zx, zh, seq,
              dense_w, dense_b, skip):
    """A stack of GRU layers (PyTorch ``nn.GRU`` when linear_before_reset) and the dense output,
    laid out as ``lstm_block``: wa [3H]; wx [L-1, H, 3H]; wh [L, H, 3H]; bx, bh [L, 3H];
    h [L, H]; zx, zh [3H] scratch.

    The r and z columns of every weight and bias must be pre-halved
    (``recurrent.gate_prescale``), so the two gates share one vectorised tanh pass. With
    linear_before_reset false (ONNX's default) the candidate is tanh(Wx x + Wh (r*h) + b).
    The input projection is written out here as in ``lstm_block``: moved into a shared inline
    helper, both kernels measured 1.8x slower (the cause in the generated code was not found).
    """
    layers = h.shape[0]
    hidden = h.shape[1]
    g2 = 2 * hidden
    g3 = 3 * hidden
    half = zx.dtype.type(0.5)
    one = zx.dtype.type(1.0)
    for layer in range(layers):
        hl = h[layer]
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
            for k in range(g2):
                zx[k] = half + half * tanh_f(zx[k] + zh[k])  # r, then the update gate u
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
                hj = (one - u) * tanh_f(zx[g2 + j]) + u * hl[j]
                hl[j] = hj
                seq[t, j] = hj
    for t in range(n):
        _dense(seq, t, dense_w, dense_b, skip, x, in_gain, out_gain)


# --------------------------------------------------------------------------------------------
# noise gate: peak envelope with a short decay, open/close thresholds (hysteresis), hold, and a
# one-pole gain ramp whose time constants are attack and release (so it never clicks).
# --------------------------------------------------------------------------------------------
@njit(**_JIT_STRICT)
def noise_gate(x, n, thr_open, thr_close, env_decay, att_coef, rel_coef, hold_samples,
               floor_gain, state):
    """state: [envelope, gain, open (0/1), hold counter]."""
    env = state[0]
    gain = state[1]
    is_open = state[2] > 0.5
    held = state[3]
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
    state[0] = env
    state[1] = gain
    state[2] = 1.0 if is_open else 0.0
    state[3] = held


# --------------------------------------------------------------------------------------------
# biquad cascade, transposed direct form II in float64 (low shelves at 40 Hz need it)
# --------------------------------------------------------------------------------------------
@njit(**_JIT_STRICT)
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
@njit(**_JIT_STRICT)
def level_dc(x, n, target_gain, smooth_coef, dc_on, dc_r, state):
    """state: [gain, dc x1, dc y1]."""
    gain = state[0]
    x1 = state[1]
    y1 = state[2]
    for t in range(n):
        v = np.float64(x[t])
        if dc_on:
            y = v - x1 + dc_r * y1
            x1 = v
            y1 = y
            v = y
        gain += (target_gain - gain) * smooth_coef
        x[t] = v * gain
    state[0] = gain
    state[1] = x1
    state[2] = y1


# --------------------------------------------------------------------------------------------
# FFT: iterative radix-2 complex FFT on split re/im arrays, and a real FFT of size 2P through a
# complex FFT of size P. Tables (bit reversal, twiddles) are made once in prepare.
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
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


@njit(**_JIT)
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


@njit(**_JIT)
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


# --------------------------------------------------------------------------------------------
# zero-latency uniformly partitioned convolution
#   y = h0 * x  (the first partition: spectrally for whole aligned blocks, directly otherwise)
#     + S       (all later partitions, a spectrum ready at the start of each window)
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
def _upols_spectrum(xbuf, fdl_re, fdl_im, ints, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im):
    """Spectrum of the window xbuf[0:2P] into the next slot of the delay line; returns the slot."""
    head = (ints[1] + 1) % fdl_re.shape[0]
    ints[1] = head
    rfft(xbuf, fdl_re[head], fdl_im[head], zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im)
    return head


@njit(**_JIT)
def _upols_next(xbuf, h_re, h_im, fdl_re, fdl_im, s_re, s_im, ints):
    """After a window: S = sum over partitions k >= 1 of X[head - k + 1] H[k]; shift input."""
    p = xbuf.shape[0] // 2
    n_part = h_re.shape[0]
    head = ints[1]
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
    ints[0] = 0
    ints[2] = 0


@njit(**_JIT)
def upols(x, n, h0, h_re, h_im, fdl_re, fdl_im, s_re, s_im, xbuf, tail, acc_re, acc_im, tbuf,
          ints, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im):
    """Convolve x[:n] in place with the partitioned filter. ints: [pos, head, tail_valid].

    h0: [P] first partition in time; h_re/h_im: [K, P+1] partition spectra (2P-point FFTs);
    fdl_*: [K, P+1] spectra of past input windows (ring, newest at ints[1]); s_*: [P+1];
    xbuf: [2P] previous and current input partition; tail, tbuf, acc_*: scratch.
    """
    p = zr.shape[0]
    nb = p + 1
    i = 0
    while i < n:
        pos = ints[0]
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
            if ints[2] == 0:
                irfft(s_re, s_im, tbuf, zr, zi, bitrev, tw_re, tw_im, rtw_re, rtw_im)
                for k in range(p):
                    tail[k] = tbuf[p + k]
                ints[2] = 1
            m = min(n - i, p - pos)
            for j in range(m):
                at = p + pos + j
                xbuf[at] = x[i + j]
                acc = tail[pos + j]
                for k in range(p):
                    acc += h0[k] * xbuf[at - k]
                x[i + j] = acc
            ints[0] = pos + m
            i += m
            if pos + m == p:
                _upols_spectrum(xbuf, fdl_re, fdl_im, ints, zr, zi, bitrev, tw_re, tw_im,
                                rtw_re, rtw_im)
                _upols_next(xbuf, h_re, h_im, fdl_re, fdl_im, s_re, s_im, ints)


# --------------------------------------------------------------------------------------------
# synthesis and circuit simulation (offline material: demo clip, training data)
# --------------------------------------------------------------------------------------------
@njit(**_JIT_STRICT)
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


@njit(**_JIT_STRICT)
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


# --------------------------------------------------------------------------------------------
# WaveNet (NAM "A1"): one kernel per dilated layer over a whole block. History rows are time
# steps of C channels; ``pos`` is the row of the block's first sample in every layer buffer.
# Activations: 0 tanh, 1 hardtanh, 2 relu, 3 leaky relu (0.01), 4 sigmoid, 5 NAM fast tanh.
# --------------------------------------------------------------------------------------------
@njit(inline="always", **_JIT)
def _activate(v, kind):
    f = type(v)  # every branch in v's type, so that float32 stays float32 (and vectorises)
    if kind == 0:
        return tanh_f(v)
    if kind == 1:
        return min(max(v, f(-1.0)), f(1.0))
    if kind == 2:
        return max(v, f(0.0))
    if kind == 3:
        return v if v > f(0.0) else f(0.01) * v
    if kind == 4:
        return sigmoid_f(v)
    if kind == 6:
        return v / (f(1.0) + abs(v))
    if kind == 7:
        return v
    av = abs(v)
    x2 = v * v
    return (v * (f(2.45550750702956) + f(2.45550750702956) * av
                 + (f(0.893229853513558) + f(0.821226666969744) * av) * x2)
            / (f(2.44506634652299) + (f(2.44506634652299) + x2)
               * abs(v + f(0.814642734961073) * v * av)))


@njit(**_JIT)
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


@njit(inline="always", **_JIT)
def _mix(dst, d0, dstride, src, w, w0, wrow, n_src, n_dst, n):
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


@njit(inline="always", **_JIT)
def _tap(bp, bi, rows, pos, dil, taps, c_n, p, n):
    """The n history samples a dilated conv's input p = k * C + c (tap k, channel c) reads."""
    k = p // c_n
    sb = bi + (p - k * c_n) * rows + pos - dil * (taps - 1 - k)
    return bp[sb:sb + n]


@njit(**_JIT)
def wavenet_block(x, n, in_gain, out_gain, head_scale, pos, rows, keep, wp, bp, arr_tab,
                  lay_tab, head, acc, cond):
    """A whole WaveNet over one block in one call, vectorised across the block's time steps.

    Buffers are channel-major: channel c of a layer buffer at ``off`` is bp[off + c*rows + r]
    for row (time step) r; ``pos`` is the row of the block's first sample.
    wp: packed weights; arr_tab[i]: C, Cin, Hd, first layer, n layers, rechannel [Cin, C],
    head_w [A, Hd], head_b [Hd], activation, gated, output buffer, rechannel bias [C] (-1:
    none), gate activation, A (head accumulator channels); lay_tab[l]: dilation, K,
    conv [K, C, M], conv bias [M], mixin [M], 1x1 [C_in=j, C_out], 1x1 bias, in buf, out buf,
    layer head [C, A] (-1: the activations themselves are summed, A = C, as in NAM).
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
            c_n, first, n_lay = arr_tab[i, 0], arr_tab[i, 3], arr_tab[i, 4]
            for l in range(first, first + n_lay + 1):
                off = lay_tab[l, 7] if l < first + n_lay else arr_tab[i, 10]
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
        c_n, c_in, hd = arr_tab[i, 0], arr_tab[i, 1], arr_tab[i, 2]
        first, n_lay = arr_tab[i, 3], arr_tab[i, 4]
        orc, ohw, ohb = arr_tab[i, 5], arr_tab[i, 6], arr_tab[i, 7]
        act, gated = arr_tab[i, 8], arr_tab[i, 9]
        orb, gate_act, n_acc = arr_tab[i, 11], arr_tab[i, 12], arr_tab[i, 13]
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
        dst = lay_tab[first, 7]
        src = arr_tab[i - 1, 10] if i > 0 else -1
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
            dil, taps = lay_tab[l, 0], lay_tab[l, 1]
            oc, ob, om, o1, ob1 = lay_tab[l, 2], lay_tab[l, 3], lay_tab[l, 4], lay_tab[l, 5], \
                lay_tab[l, 6]
            bi, bo, olh = lay_tab[l, 7], lay_tab[l, 8], lay_tab[l, 9]
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
                        ac[t] = _activate(ac[t], act) * _activate(ag[t], gate_act)
                else:
                    for t in range(n):
                        ac[t] = _activate(ac[t], act)
                if olh < 0:
                    hc = hin[c, :n]
                    for t in range(n):
                        hc[t] += ac[t]
            if olh >= 0:  # this layer's own head weights [C, A] (skip channels concatenated)
                _mix(flat, hin_at, max_block, acc, wp, olh, n_acc, c_n, n_acc, n)
            # 1x1 and residual: out[c] = in[c] + b1[c] + sum_j w1[j, c] * acc[j]
            for c in range(c_n):
                ib = bi + c * rows + pos
                obf = bo + c * rows + pos
                res = bp[ib:ib + n]
                out = bp[obf:obf + n]
                b1 = wp[ob1 + c]
                for t in range(n):
                    out[t] = res[t] + b1
            _mix(bp, bo + pos, rows, acc, wp, o1, c_n, c_n, c_n, n)
        # head rechannel: hout[h, t] = sum_c head_w[c, h] * hin[c, t] + b[h]
        for h in range(hd):
            ho = hout[h, :n]
            bh = wp[ohb + h]
            for t in range(n):
                ho[t] = bh
        _mix(flat, hout_at, max_block, hin, wp, ohw, hd, n_acc, hd, n)
    last = head[n_arr & 1]
    g = head_scale * out_gain
    for t in range(n):
        x[t] = last[0, t] * g
    return pos + n


# --------------------------------------------------------------------------------------------
# SmartAmpPro: each output sample a function of the last N input samples alone (conv1d,
# conv1d, an LSTM over the few positions left, dense). Everything in arrays the engine made.
# --------------------------------------------------------------------------------------------
@njit(**_JIT)
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


# --------------------------------------------------------------------------------------------
# pitch tracking (the tuner): YIN on a decimated frame for the period, then the fundamental's
# frequency from the phase advance of a complex demodulation, with octave checks on harmonic
# amplitudes. Everything lives in arrays the caller made; nothing allocates.
# --------------------------------------------------------------------------------------------
@njit(**_JIT_STRICT)
def _demod(lin, t, freq, sr, box):
    """x[t-j] e^{-i w (t-j)} summed with triangular weights (two cascaded boxcars of ``box``
    samples, nulls at multiples of sr/box) over j = 0..2*box-2. Returns (re, im, weight),
    the weights summing to box**2."""
    w = 2.0 * math.pi * freq / sr
    length = 2 * box - 1
    s0 = t - length + 1
    pr, pi_ = math.cos(w * s0), -math.sin(w * s0)
    sr_, si = math.cos(w), -math.sin(w)
    re = 0.0
    im = 0.0
    for k in range(length):
        v = lin[s0 + k] * float(min(k + 1, length - k))
        re += v * pr
        im += v * pi_
        pr, pi_ = pr * sr_ - pi_ * si, pr * si + pi_ * sr_
    return re, im, float(box * box)


@njit(**_JIT_STRICT)
def _amp_at(lin, t, freq, sr, box):
    re, im, ws = _demod(lin, t, freq, sr, box)
    return 2.0 * math.sqrt(re * re + im * im) / ws


@njit(**_JIT_STRICT)
def _wrap(p):
    while p > math.pi:
        p -= 2.0 * math.pi
    while p < -math.pi:
        p += 2.0 * math.pi
    return p


@njit(**_JIT_STRICT)
def _phase_freq(lin, t1, t2, freq, sr, box):
    """Frequency of the component near ``freq`` from its phase advance between t1 and t2."""
    r1, i1, _ = _demod(lin, t1, freq, sr, box)
    r2, i2, _ = _demod(lin, t2, freq, sr, box)
    dphi = _wrap(math.atan2(i2, r2) - math.atan2(i1, r1))
    return freq + dphi * sr / (2.0 * math.pi * (t2 - t1))


@njit(**_JIT_STRICT)
def pitch_analyse(lin, n, sr, dec, tau_min, tau_max, threshold, fine_periods, fine_min, dbuf,
                  dif, out):
    """Pitch of the last ``n`` samples of ``lin`` (oldest first, DC removed here).

    dec: decimation for the YIN stage; tau_min/tau_max: its lag range (decimated samples);
    the phase stage uses the last max(fine_periods periods, fine_min samples) of the frame;
    dbuf, dif: scratch. out <- [freq (0: none), confidence, aperiodicity, coarse freq,
    inconsistency in cents]."""
    for i in range(5):
        out[i] = 0.0
    if n < 8:
        return
    lin_n = lin[:n]
    mean = 0.0
    for i in range(n):
        mean += lin_n[i]
    mean /= n
    for i in range(n):
        lin_n[i] -= mean
    # --- YIN on a decimated copy (boxcar of 2*dec, enough for the period) -------------------
    nd = min(n // dec - 1, 2 * tau_max + 2)
    if nd < 2 * tau_min + 6:
        return
    for j in range(nd):
        end = n - 1 - (nd - 1 - j) * dec
        acc = 0.0
        for k in range(2 * dec):
            acc += lin_n[end - k]
        dbuf[j] = acc
    tmax = min(tau_max, nd // 2)
    if tmax < tau_min + 3:
        return
    s = nd - 2 * tmax
    running = 0.0
    dif[0] = 1.0
    for tau in range(1, tmax + 1):
        acc = 0.0
        for i in range(tmax):
            d = dbuf[s + i] - dbuf[s + i + tau]
            acc += d * d
        running += acc
        dif[tau] = acc * tau / running if running > 0.0 else 1.0
    best = -1
    for tau in range(tau_min, tmax):
        if dif[tau] < threshold:
            while tau + 1 < tmax and dif[tau + 1] < dif[tau]:
                tau += 1
            best = tau
            break
    if best < 0:
        best = tau_min
        for tau in range(tau_min, tmax):
            if dif[tau] < dif[best]:
                best = tau
    if best <= 1 or best >= tmax - 1:
        return  # at the edge of the lag range: the frame is too short for this period
    a, b, c = dif[best - 1], dif[best], dif[best + 1]
    den = a - 2.0 * b + c
    shift = 0.5 * (a - c) / den if den > 0.0 else 0.0
    fc = sr / ((best + shift) * dec)
    aper = min(max(b, 0.0), 1.0)
    out[2] = aper
    out[3] = fc
    t3 = n - 1
    # --- octave checks on harmonic amplitudes ----------------------------------------------
    half = fc * 0.5
    bh = int(round(sr / half))
    if 2 * bh - 1 <= n:  # is it the octave below (a weak fundamental YIN skipped)?
        odd = _amp_at(lin_n, t3, half, sr, bh) + _amp_at(lin_n, t3, 3.0 * half, sr, bh)
        even = _amp_at(lin_n, t3, fc, sr, bh) + _amp_at(lin_n, t3, 2.0 * fc, sr, bh)
        if odd > 0.25 * even:
            fc = half
    box = max(2, int(round(sr / fc)))
    if 2 * box - 1 > n:
        return
    a1 = _amp_at(lin_n, t3, fc, sr, box)
    a2 = _amp_at(lin_n, t3, 2.0 * fc, sr, box)
    a3 = _amp_at(lin_n, t3, 3.0 * fc, sr, box)
    if a1 + a3 < 0.03 * a2:  # only even harmonics: the octave above
        fc *= 2.0
        box = max(2, int(round(sr / fc)))
        a1 = _amp_at(lin_n, t3, fc, sr, box)
        a2 = _amp_at(lin_n, t3, 2.0 * fc, sr, box)
        a3 = _amp_at(lin_n, t3, 3.0 * fc, sr, box)
    # --- the fundamental (or, when it is missing, the 2nd/3rd harmonic) by phase -------------
    h = 1
    if a1 < 0.15 * max(a2, a3):
        h = 2 if a2 >= a3 else 3
    period = sr / fc
    t1 = max(2 * box - 2, t3 - int(max(fine_periods * period, fine_min)))
    span = t3 - t1
    if span < 2.0 * period:
        return
    t2 = t1 + span // 2
    f = fc
    for _ in range(2):
        f = _phase_freq(lin_n, t1, t3, h * f, sr, box) / h
    fa = _phase_freq(lin_n, t1, t2, h * f, sr, box) / h
    fb = _phase_freq(lin_n, t2, t3, h * f, sr, box) / h
    if fa <= 0.0 or fb <= 0.0 or f <= 0.0:
        return
    incons = abs(1200.0 * math.log2(fa / fb))
    out[0] = f
    out[4] = incons
    # periodic (YIN's aperiodicity near 0) and steady (both halves agree) -> near 1; a chord
    # or noise has an aperiodicity of 0.2 and more, or halves that disagree
    out[1] = max(0.0, 1.0 - 2.0 * aper) * math.exp(-incons / 30.0)


@njit(**_JIT_STRICT)
def pitch_block(x, n, ring, lin, dbuf, dif, prm, st, hist, ana, res):
    """The tuner's per-block work: keep the input in a ring, and every hop detect onsets,
    analyse the frame since the last onset (``pitch_analyse``) and smooth the readings.

    prm: sr, dec, tau_min, tau_max, threshold, hop, holdoff, silence rms, onset ratio,
    max frame, fine periods, fine min, min confidence, lowest and highest pitch (Hz);
    st: write pos, samples since onset, samples since hop, hop energy, level envelope,
    holdoff left, smoothed cents from 440 Hz (NaN: none), readings in hist, total samples;
    res <- t (s), smoothed freq (0: none), confidence, raw freq, reading count, rms.
    """
    size = ring.shape[0]
    sr = prm[0]
    hop = int(prm[5])
    pos = int(st[0])
    for i in range(n):
        v = x[i]
        ring[pos] = v
        pos += 1
        if pos == size:
            pos = 0
        st[3] += v * v
        st[2] += 1.0
        st[1] += 1.0
        st[8] += 1.0
        if st[2] < hop:
            continue
        # ---- one hop ----
        rms = math.sqrt(st[3] / st[2])
        prev = st[4]  # a peak envelope of hop levels (falls 1 dB per hop), so the ripple of
        st[2] = 0.0   # a low string's period across 10 ms hops is not taken for a pluck
        st[3] = 0.0
        st[4] = max(rms, prev * 0.891)
        res[0] = st[8] / sr
        res[4] += 1.0
        res[5] = rms
        res[1] = 0.0
        res[2] = 0.0
        res[3] = 0.0
        if rms < prm[7]:  # silence
            st[6] = np.nan
            st[7] = 0.0
            st[1] = 0.0
            continue
        if rms > prm[8] * max(prev, prm[7]):  # a pluck: start a new frame after the holdoff
            st[5] = prm[6]
            st[1] = 0.0
            st[6] = np.nan
            st[7] = 0.0
            continue
        if st[5] > 0.0:
            st[5] -= hop
            st[1] = 0.0
            continue
        used = int(min(st[1], prm[9], size))
        start = pos - used
        for k in range(used):
            j = start + k
            lin[k] = ring[j + size if j < 0 else j]
        pitch_analyse(lin, used, sr, int(prm[1]), int(prm[2]), int(prm[3]), prm[4], prm[10],
                      prm[11], dbuf, dif, ana)
        f, conf = ana[0], ana[1]
        if f < prm[13] or f > prm[14]:
            f, conf = 0.0, 0.0
        res[2] = conf
        res[3] = f
        if f <= 0.0 or conf < prm[12]:
            st[7] = 0.0  # no stale readings in the next median
            continue
        cents = 1200.0 * math.log2(f / 440.0)
        # median of the last three readings, then an exponential follower that jumps on a
        # new note or a fast bend and settles on a held one
        hist[2] = hist[1]
        hist[1] = hist[0]
        hist[0] = cents
        st[7] = min(st[7] + 1.0, 3.0)
        med = cents
        if st[7] >= 3.0:
            a, b, c = hist[0], hist[1], hist[2]
            med = max(min(a, b), min(max(a, b), c))
        elif st[7] == 2.0:
            med = 0.5 * (hist[0] + hist[1])
        if math.isnan(st[6]) or abs(med - st[6]) > 15.0:
            st[6] = med
        else:
            st[6] += 0.5 * (med - st[6])
        res[1] = 440.0 * 2.0 ** (st[6] / 1200.0)
    st[0] = pos


# --------------------------------------------------------------------------------------------
# the daemon's engine: chain crossfade on a swap, bypass crossfade, output mute, and a guard
# that keeps a misbehaving model from sending NaN or full-scale garbage to the amplifier.
# --------------------------------------------------------------------------------------------
@njit(**_JIT_STRICT)
def engine_mix(wet, old, dry, n, st):
    """Mix one block in place into ``wet``.

    st (float64): 0 samples of the chain crossfade left (0 = none), 1 its length,
    2 wet gain now, 3 wet gain target (1 effect, 0 bypass), 4 output gain now, 5 its target
    (0 = muted), 6 per-sample gain step, 7 non-finite samples seen (count), 8 clipped samples.
    ``old`` is the previous chain's output during a crossfade (ignored otherwise).
    """
    fade_left = st[0]
    fade_len = st[1] if st[1] > 0.0 else 1.0
    g, g_to, o, o_to, step = st[2], st[3], st[4], st[5], st[6]
    bad = 0.0
    clipped = 0.0
    for i in range(n):
        y = wet[i]
        if fade_left > 0.0:
            a = fade_left / fade_len  # weight of the old chain, 1 -> 0
            y = y * (1.0 - a) + old[i] * a
            fade_left -= 1.0
        if not np.isfinite(y):
            y = 0.0
            bad += 1.0
        if g < g_to:
            g = min(g + step, g_to)
        elif g > g_to:
            g = max(g - step, g_to)
        if o < o_to:
            o = min(o + step, o_to)
        elif o > o_to:
            o = max(o - step, o_to)
        y = (g * y + (1.0 - g) * dry[i]) * o
        if y > 1.0:
            y = 1.0
            clipped += 1.0
        elif y < -1.0:
            y = -1.0
            clipped += 1.0
        wet[i] = y
    st[0] = fade_left
    st[2] = g
    st[4] = o
    st[7] += bad
    st[8] += clipped


@njit(**_JIT_STRICT)
def deinterleave(src, n, channels, channel, dst):
    """dst[t] = src[t * channels + channel] (one channel of an interleaved buffer)."""
    for t in range(n):
        dst[t] = src[t * channels + channel]


@njit(**_JIT_STRICT)
def interleave(src, n, channels, dst):
    """The mono ``src`` into every channel of the interleaved ``dst``."""
    for t in range(n):
        for c in range(channels):
            dst[t * channels + c] = src[t]


@njit(**_JIT_STRICT)
def mcp3202_decode(rx, n, out, dc):
    """MCP3202 replies (3 bytes per conversion: x, 0000 b11..b8, b7..b0) to floats in -1..1,
    through a one-pole DC blocker (the board biases the input at mid-rail). dc: [coef, x1, y1]."""
    r, x1, y1 = dc[0], dc[1], dc[2]
    for t in range(n):
        code = ((rx[3 * t + 1] & 0x0F) << 8) | rx[3 * t + 2]
        x = (code - 2048.0) / 2048.0
        y = x - x1 + r * y1
        x1 = x
        y1 = y
        out[t] = y
    dc[1] = x1
    dc[2] = y1
