"""Cabinet IR: zero-latency, uniformly partitioned FFT convolution.

The partition P is the prepared block size (rounded up to a power of two). A call with a whole,
aligned window of P samples costs one forward and one inverse real FFT of 2P points plus one
complex multiply-add per partition; shorter or misaligned calls run the first partition as a
direct FIR on top of the later partitions' share, which was ready when the window started.
Either way no sample waits for a window to fill: the block adds no latency.
"""

from __future__ import annotations

import numpy as np

from ..kernels.convolution import UP_SLOTS, upols
from ..audio.files import resample
from ..audio.ir import ImpulseResponse
from .block import Block


def fft_tables(p: int):
    """Bit reversal and twiddles for a complex FFT of size p and a real FFT of size 2p."""
    bits = p.bit_length() - 1
    idx = np.arange(p)
    rev = np.zeros(p, dtype=np.int64)
    for b in range(bits):
        rev |= ((idx >> b) & 1) << (bits - 1 - b)
    k = np.arange(max(p // 2, 1))
    tw = np.exp(-2j * np.pi * k / p)
    rtw = np.exp(-2j * np.pi * np.arange(p + 1) / (2 * p))
    f = np.float32
    return (rev, tw.real.astype(f), tw.imag.astype(f), rtw.real.astype(f), rtw.imag.astype(f))


class CabinetIR(Block):
    name = "cab"

    def __init__(self, ir: ImpulseResponse | np.ndarray, sample_rate: int | None = None,
                 level_db: float = 0.0):
        super().__init__()
        if not isinstance(ir, ImpulseResponse):
            if sample_rate is None:
                raise ValueError("sample_rate is required with raw taps")
            ir = ImpulseResponse(np.asarray(ir, dtype=np.float32), int(sample_rate))
        self.ir = ir
        self.level_db = float(level_db)

    def _prepare(self, spec):
        taps = self.ir.taps
        if int(spec.sample_rate) != self.ir.sample_rate:
            taps = resample(taps, self.ir.sample_rate, int(spec.sample_rate))
        taps = taps.astype(np.float64) * 10 ** (self.level_db / 20)
        p = 1 << max(4, (spec.max_block - 1).bit_length())
        n_part = max(1, -(-len(taps) // p))
        padded = np.zeros(n_part * p)
        padded[: len(taps)] = taps
        parts = padded.reshape(n_part, p)
        spec_h = np.fft.rfft(np.concatenate([parts, np.zeros_like(parts)], axis=1), axis=1)
        f = np.float32
        self.partition = p
        self.taps = taps.astype(f)
        self._h0 = np.ascontiguousarray(parts[0], dtype=f)
        self._h_re = np.ascontiguousarray(spec_h.real, dtype=f)
        self._h_im = np.ascontiguousarray(spec_h.imag, dtype=f)
        self._fdl_re = np.zeros((n_part, p + 1), f)
        self._fdl_im = np.zeros((n_part, p + 1), f)
        self._s_re = np.zeros(p + 1, f)
        self._s_im = np.zeros(p + 1, f)
        self._acc_re = np.zeros(p + 1, f)
        self._acc_im = np.zeros(p + 1, f)
        self._xbuf = np.zeros(2 * p, f)
        self._tbuf = np.zeros(2 * p, f)
        self._tail = np.zeros(p, f)
        self._zr = np.zeros(p, f)
        self._zi = np.zeros(p, f)
        self._ints = np.zeros(UP_SLOTS, np.int64)
        self._tables = fft_tables(p)

    def reset(self):
        if self.spec is None:
            return
        for a in (self._fdl_re, self._fdl_im, self._s_re, self._s_im, self._xbuf, self._tail):
            a[:] = 0.0
        self._ints[:] = 0

    def process(self, buf):
        upols(buf, buf.shape[0], self._h0, self._h_re, self._h_im, self._fdl_re,
                      self._fdl_im, self._s_re, self._s_im, self._xbuf, self._tail, self._acc_re,
                      self._acc_im, self._tbuf, self._ints, self._zr, self._zi, *self._tables)

    def describe(self):
        return f"cab {len(self.ir.taps)} taps"
