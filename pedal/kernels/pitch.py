"""The tuner's analysis: YIN on a decimated frame for the period, then the fundamental's
frequency from the phase advance of a complex demodulation, with octave checks on harmonic
amplitudes. Everything lives in arrays the caller made; nothing allocates."""

from __future__ import annotations

import math

import numpy as np
from .jit import STRICT, njit


# pitch_block's parameters (prm)
(P_SR, P_DEC, P_TAU_MIN, P_TAU_MAX, P_THRESHOLD, P_HOP, P_HOLDOFF, P_SILENCE, P_ONSET,
 P_MAX_FRAME, P_FINE_PERIODS, P_FINE_MIN, P_MIN_CONF, P_FMIN, P_FMAX) = range(15)
P_SLOTS = 15
# its state (st): write position, samples since the onset and since the hop, the hop's energy,
# the level envelope, hold-off left, smoothed cents from 440 Hz (NaN: none), readings in the
# median's history, total samples
(S_POS, S_SINCE_ONSET, S_SINCE_HOP, S_HOP_ENERGY, S_LEVEL, S_HOLDOFF, S_CENTS, S_READINGS,
 S_TOTAL) = range(9)
S_SLOTS = 9
# its result (res): time (s), smoothed frequency (0: none), confidence, raw frequency, readings,
# rms
R_T, R_FREQ, R_CONF, R_RAW, R_COUNT, R_RMS = range(6)
R_SLOTS = 6
# a fundamental more than 30 dB under the 2nd or 3rd harmonic is missing: then a pitch is read
# only from a harmonic series with odd partials (3f and 5f within 20 dB of the strongest, and
# within 5 cents of their places); the octave below the period YIN found is taken only when
# its own fundamental is within 20 dB of the next octave's
MISSING_FUNDAMENTAL = 0.0316
ODD_PARTIAL_MIN = 0.1
HARMONIC_CENTS = 5.0
OCTAVE_BELOW_MIN = 0.1
# pitch_analyse's output (ana)
AN_FREQ, AN_CONF, AN_APER, AN_COARSE, AN_INCONS = range(5)
AN_SLOTS = 5


@njit(**STRICT)
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


@njit(**STRICT)
def _amp_at(lin, t, freq, sr, box):
    re, im, ws = _demod(lin, t, freq, sr, box)
    return 2.0 * math.sqrt(re * re + im * im) / ws


@njit(**STRICT)
def _wrap(p):
    while p > math.pi:
        p -= 2.0 * math.pi
    while p < -math.pi:
        p += 2.0 * math.pi
    return p


@njit(**STRICT)
def _phase_freq(lin, t1, t2, freq, sr, box):
    """Frequency of the component near ``freq`` from its phase advance between t1 and t2."""
    r1, i1, _ = _demod(lin, t1, freq, sr, box)
    r2, i2, _ = _demod(lin, t2, freq, sr, box)
    dphi = _wrap(math.atan2(i2, r2) - math.atan2(i1, r1))
    return freq + dphi * sr / (2.0 * math.pi * (t2 - t1))


@njit(**STRICT)
def pitch_analyse(lin, n, sr, dec, tau_min, tau_max, threshold, fine_periods, fine_min, dbuf,
                  dif, out):
    """Pitch of the last ``n`` samples of ``lin`` (oldest first, DC removed here).

    dec: decimation for the YIN stage; tau_min/tau_max: its lag range (decimated samples);
    the phase stage uses the last max(fine_periods periods, fine_min samples) of the frame;
    dbuf, dif: scratch. out [AN_SLOTS] <- AN_FREQ (0: none), AN_CONF confidence, AN_APER
    aperiodicity, AN_COARSE the coarse frequency, AN_INCONS the inconsistency in cents."""
    for i in range(AN_SLOTS):
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
    out[AN_APER] = aper
    out[AN_COARSE] = fc
    t3 = n - 1
    # --- octave checks on harmonic amplitudes ----------------------------------------------
    half = fc * 0.5
    bh = int(round(sr / half))
    if 2 * bh - 1 <= n:  # is it the octave below (a weak fundamental YIN skipped)?
        a_half = _amp_at(lin_n, t3, half, sr, bh)
        a_fc = _amp_at(lin_n, t3, fc, sr, bh)
        odd = a_half + _amp_at(lin_n, t3, 3.0 * half, sr, bh)
        even = a_fc + _amp_at(lin_n, t3, 2.0 * fc, sr, bh)
        # only when that fundamental is there itself: a chord's odd partials (the fifth of a
        # power chord is 3/2 of its root) are not a note an octave down
        if odd > 0.25 * even and a_half >= OCTAVE_BELOW_MIN * a_fc:
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
    missing = a1 < MISSING_FUNDAMENTAL * max(a2, a3)
    # --- the fundamental (or, when it is weak, the 2nd/3rd harmonic) by phase ---------------
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
    if missing:
        # no fundamental: a pitch only when the partials are a harmonic series with odd
        # members, 3f and 5f there and on their places (a chord's common period is not: its
        # equal-tempered third is 14 cents off 5f, a power chord has no 5f)
        a5 = _amp_at(lin_n, t3, 5.0 * fc, sr, box)
        top = max(a2, a3)
        if a3 < ODD_PARTIAL_MIN * top or a5 < ODD_PARTIAL_MIN * top:
            return
        for k in (3.0, 5.0):
            fk = _phase_freq(lin_n, t1, t3, k * f, sr, box) / k
            if fk <= 0.0 or abs(1200.0 * math.log2(fk / f)) > HARMONIC_CENTS:
                return
    incons = abs(1200.0 * math.log2(fa / fb))
    out[AN_FREQ] = f
    out[AN_INCONS] = incons
    # periodic (YIN's aperiodicity near 0) and steady (both halves agree) -> near 1; a chord
    # or noise has an aperiodicity of 0.2 and more, or halves that disagree
    out[AN_CONF] = max(0.0, 1.0 - 2.0 * aper) * math.exp(-incons / 30.0)


@njit(**STRICT)
def pitch_block(x, n, ring, lin, dbuf, dif, prm, st, hist, ana, res):
    """The tuner's per-block work: keep the input in a ring, and every hop detect onsets,
    analyse the frame since the last onset (``pitch_analyse``) and smooth the readings.

    prm [P_SLOTS], st [S_SLOTS] and res [R_SLOTS]: the parameters, the state and the
    result, their slots named by the P_, S_ and R_ constants above.
    """
    size = ring.shape[0]
    sr = prm[P_SR]
    hop = int(prm[P_HOP])
    pos = int(st[S_POS])
    for i in range(n):
        v = x[i]
        ring[pos] = v
        pos += 1
        if pos == size:
            pos = 0
        st[S_HOP_ENERGY] += v * v
        st[S_SINCE_HOP] += 1.0
        st[S_SINCE_ONSET] += 1.0
        st[S_TOTAL] += 1.0
        if st[S_SINCE_HOP] < hop:
            continue
        # ---- one hop ----
        rms = math.sqrt(st[S_HOP_ENERGY] / st[S_SINCE_HOP])
        prev = st[S_LEVEL]  # a peak envelope of hop levels (falls 1 dB per hop), so the ripple of
        st[S_SINCE_HOP] = 0.0   # a low string's period across 10 ms hops is not taken for a pluck
        st[S_HOP_ENERGY] = 0.0
        st[S_LEVEL] = max(rms, prev * 0.891)
        res[R_T] = st[S_TOTAL] / sr
        res[R_COUNT] += 1.0
        res[R_RMS] = rms
        res[R_FREQ] = 0.0
        res[R_CONF] = 0.0
        res[R_RAW] = 0.0
        if rms < prm[P_SILENCE]:  # silence
            st[S_CENTS] = np.nan
            st[S_READINGS] = 0.0
            st[S_SINCE_ONSET] = 0.0
            continue
        if rms > prm[P_ONSET] * max(prev, prm[P_SILENCE]):  # a pluck: a new frame after holdoff
            st[S_HOLDOFF] = prm[P_HOLDOFF]
            st[S_SINCE_ONSET] = 0.0
            st[S_CENTS] = np.nan
            st[S_READINGS] = 0.0
            continue
        if st[S_HOLDOFF] > 0.0:
            st[S_HOLDOFF] -= hop
            st[S_SINCE_ONSET] = 0.0
            continue
        used = int(min(st[S_SINCE_ONSET], prm[P_MAX_FRAME], size))
        start = pos - used
        for k in range(used):
            j = start + k
            lin[k] = ring[j + size if j < 0 else j]
        pitch_analyse(lin, used, sr, int(prm[P_DEC]), int(prm[P_TAU_MIN]),
                      int(prm[P_TAU_MAX]), prm[P_THRESHOLD], prm[P_FINE_PERIODS],
                      prm[P_FINE_MIN], dbuf, dif, ana)
        f, conf = ana[AN_FREQ], ana[AN_CONF]
        if f < prm[P_FMIN] or f > prm[P_FMAX]:
            f, conf = 0.0, 0.0
        res[R_CONF] = conf
        res[R_RAW] = f
        if f <= 0.0 or conf < prm[P_MIN_CONF]:
            st[S_READINGS] = 0.0  # no stale readings in the next median
            continue
        cents = 1200.0 * math.log2(f / 440.0)
        # median of the last three readings, then an exponential follower that jumps on a
        # new note or a fast bend and settles on a held one
        hist[2] = hist[1]
        hist[1] = hist[0]
        hist[0] = cents
        st[S_READINGS] = min(st[S_READINGS] + 1.0, 3.0)
        med = cents
        if st[S_READINGS] >= 3.0:
            a, b, c = hist[0], hist[1], hist[2]
            med = max(min(a, b), min(max(a, b), c))
        elif st[S_READINGS] == 2.0:
            med = 0.5 * (hist[0] + hist[1])
        if math.isnan(st[S_CENTS]) or abs(med - st[S_CENTS]) > 15.0:
            st[S_CENTS] = med
        else:
            st[S_CENTS] += 0.5 * (med - st[S_CENTS])
        res[R_FREQ] = 440.0 * 2.0 ** (st[S_CENTS] / 1200.0)
    st[S_POS] = pos
