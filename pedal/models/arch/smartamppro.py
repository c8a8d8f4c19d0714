"""GuitarML SmartAmpPro (a Keras model; its json is read by ``formats/smartamppro.py``): each
output sample is a function of the last ``input_size`` input samples alone.

The window [N, 1] goes through ``conv1d`` (kernel [K1, 1, C1], stride ``conv1d_stride``,
'same' padding, no activation), ``conv1d_1`` (kernel [K2, C1, C2], stride
``conv1d_1_stride``, 'same'), an LSTM (``kernel`` [C2, 4H], ``bias`` [4H], Keras gate order
i, f, c, o, sigmoid gates) over the positions left, from zero state, and ``dense`` [H, 1].
'same' padding puts floor(total/2) zeros before the first position, as TensorFlow does. With
the files' 120/12/12 the first conv needs no padding and the second sees 10 positions padded to
12 (one zero each side); one LSTM step is left, so ``recurrent_kernel`` (absent from some files)
is never used. No sample rate is stored: 44100 Hz, the plugin's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...dsp import aligned
from ...kernels.smartamppro import smartamppro_block
from ...errors import ModelError
from .. import budget

SAMPLE_RATE = 44100
MAX_WINDOW = 4096
MAX_CHANNELS = 64
MAX_HIDDEN = 256


@dataclass
class SmartAmpProSpec:
    w1: np.ndarray  # [K1, C1]
    b1: np.ndarray  # [C1]
    w2: np.ndarray  # [K2, C1, C2]
    b2: np.ndarray  # [C2]
    kernel: np.ndarray  # [C2, 4H]
    bias: np.ndarray  # [4H]
    recurrent: np.ndarray | None  # [H, 4H]; needed only when the LSTM sees several positions
    dense_w: np.ndarray  # [H]
    dense_b: float
    window: int = 120
    stride1: int = 12
    stride2: int = 12
    sample_rate: int = SAMPLE_RATE
    metadata: dict = field(default_factory=dict)

    # 'same' padding (TensorFlow): out = ceil(in / stride), total padding split floor/ceil
    out1 = property(lambda self: -(-self.window // self.stride1))
    pad1 = property(lambda self: max((self.out1 - 1) * self.stride1 + len(self.w1)
                                     - self.window, 0))
    out2 = property(lambda self: -(-self.out1 // self.stride2))
    pad2 = property(lambda self: max((self.out2 - 1) * self.stride2 + len(self.w2)
                                     - self.out1, 0) // 2)
    hidden = property(lambda self: len(self.dense_w))
    receptive_field = property(lambda self: self.window)

    @property
    def arch(self) -> str:
        return (f"smartamppro-conv{self.w1.shape[1]}x{self.w2.shape[2]}-lstm{self.hidden}"
                f"-window{self.window}")

    @property
    def n_weights(self) -> int:
        arrays = (self.w1, self.b1, self.w2, self.b2, self.kernel, self.bias, self.dense_w)
        rec = self.recurrent.size if self.recurrent is not None else 0
        return sum(a.size for a in arrays) + rec + 1

    @property
    def macs_per_sample(self) -> int:
        c1, c2, h = self.w1.shape[1], self.w2.shape[2], self.hidden
        # conv2 taps that land on real positions: 0 <= s*stride2 - pad2 + k < out1
        start = np.arange(self.out2, dtype=np.int64) * self.stride2 - self.pad2
        taps = int(np.sum(np.clip(np.minimum(len(self.w2), self.out1 - start)
                                  - np.maximum(0, -start), 0, None)))
        lstm = self.out2 * c2 * 4 * h + (self.out2 - 1) * h * 4 * h
        return len(self.w1) * c1 + taps * c1 * c2 + lstm + h

    def validate(self, name: str = "<memory>") -> None:
        if not 1 <= self.window <= MAX_WINDOW:
            raise ModelError(f"{name}: input_size: {self.window}, must be 1..{MAX_WINDOW}")
        k1, c1 = self.w1.shape
        k2, c1b, c2 = self.w2.shape
        h = self.hidden
        if not (c1 <= MAX_CHANNELS and c2 <= MAX_CHANNELS and h <= MAX_HIDDEN):
            raise ModelError(f"{name}: {c1}/{c2} conv channels, {h} LSTM units: more than "
                             f"{MAX_CHANNELS}/{MAX_CHANNELS}/{MAX_HIDDEN}")
        if c1b != c1:
            raise ModelError(f"{name}: conv1d_1.kernel:0 reads {c1b} channels, conv1d gives "
                             f"{c1}")
        if self.kernel.shape != (c2, 4 * h) or self.bias.shape != (4 * h,):
            raise ModelError(f"{name}: lstm.kernel:0 {self.kernel.shape} / bias:0 "
                             f"{self.bias.shape}, expected ({c2}, {4 * h}) / ({4 * h},) for "
                             f"{c2} conv channels and a {h}-unit dense layer")
        if k1 > self.window:
            raise ModelError(f"{name}: conv1d kernel {k1} is longer than input_size "
                             f"{self.window}")
        if self.pad1:
            raise ModelError(f"{name}: conv1d (kernel {k1}, stride {self.stride1}) pads an "
                             f"input_size of {self.window}; only unpadded first layers are "
                             "supported (the files of the SmartAmpPro plugin are)")
        if self.out2 > 1 and (self.recurrent is None or self.recurrent.shape != (h, 4 * h)):
            raise ModelError(f"{name}: lstm.recurrent_kernel:0: needed with shape ({h}, "
                             f"{4 * h}): the LSTM sees {self.out2} positions")
        for key in ("w1", "b1", "w2", "b2", "kernel", "bias", "recurrent", "dense_w"):
            a = getattr(self, key)
            if a is not None and not np.all(np.isfinite(a)):
                raise ModelError(f"{name}: {key}: NaN or infinite weights")
        if not np.isfinite(self.dense_b):
            raise ModelError(f"{name}: dense bias is not finite")
        budget.check(name, weights=self.n_weights, macs=self.macs_per_sample,
                     receptive_field=self.window)


class SmartAmpProEngine:
    """Runs a SmartAmpProSpec block by block (``smartamppro_block``); allocation-free
    after ``prepare``. The model is stateless beyond its input window, so ``reset`` is silence
    before the next sample, as at the start of a file."""

    def __init__(self, spec: SmartAmpProSpec, knobs=(), *, fast_tanh: bool = False,
                 precise: bool = False):
        if len(list(knobs)):
            raise ModelError("this model takes no knob values")
        spec.validate()
        self.spec = spec
        self.knobs: list = []
        f = np.float32
        self._w = (aligned.copy(spec.w1, f), aligned.copy(spec.b1, f),
                   aligned.copy(spec.w2, f), aligned.copy(spec.b2, f),
                   aligned.copy(spec.kernel, f),
                   aligned.copy(spec.recurrent if spec.recurrent is not None
                                else np.zeros((spec.hidden, 4 * spec.hidden)), f),
                   aligned.copy(spec.bias, f), aligned.copy(spec.dense_w, f),
                   float(spec.dense_b), spec.window - 1, spec.stride1, spec.stride2, spec.out1,
                   spec.out2, spec.pad2)
        self._v2 = aligned.zeros(spec.w2.shape[2], f)
        self._z = aligned.zeros(4 * spec.hidden, f)
        self._h = aligned.zeros(spec.hidden, f)
        self._c = aligned.zeros(spec.hidden, f)
        self._xh = self._c1h = aligned.zeros(0, f)

    def set_knobs(self, knobs):
        if len(list(knobs)):
            raise ModelError("this model takes no knob values")

    def prepare(self, max_block: int) -> None:
        keep = self.spec.window - 1
        self._xh = aligned.zeros(keep + max_block, np.float32)
        self._c1h = aligned.zeros((self.spec.w1.shape[1], keep + max_block), np.float32)
        self._state = (self._xh, self._c1h, self._v2, self._z, self._h, self._c)
        self.reset()

    def reset(self) -> None:
        self._xh[:] = 0.0
        self._c1h[:] = self._w[1][:, None]  # conv1 of silence: its bias

    def process(self, x: np.ndarray, in_gain: float = 1.0, out_gain: float = 1.0) -> None:
        smartamppro_block(x, x.shape[0], in_gain, out_gain, *self._w, *self._state)


def examples():
    rng = np.random.default_rng(0)
    spec = SmartAmpProSpec(rng.standard_normal((4, 2)), np.zeros(2),
                           rng.standard_normal((2, 2, 2)), np.zeros(2),
                           rng.standard_normal((2, 8)), np.zeros(8), rng.standard_normal((2, 8)),
                           rng.standard_normal(2), 0.0, window=8, stride1=4, stride2=1)
    return [(spec, {})]
