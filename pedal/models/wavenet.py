"""WaveNet amp models (Neural Amp Modeler's "A1" WaveNet): description and numba engine.

The engine runs one layer at a time over a whole block (as NAM Core does), each layer reading
a linear history buffer of its input; when the buffers fill up, the last receptive field is
moved to the front (once every ``REWIND_BLOCKS`` blocks, so the cost is spread thin). Its
initial state is the zero-input steady state the format requires (NAM Core's prewarm).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import kernels
from ..errors import ModelError

ACTIVATIONS = {"Tanh": 0, "Hardtanh": 1, "ReLU": 2, "LeakyReLU": 3, "Sigmoid": 4, "Fasttanh": 5}
REWIND_BLOCKS = 32
MAX_CHANNELS = 128
MAX_DILATION = 1 << 16


@dataclass
class LayerArray:
    input_size: int
    condition_size: int
    head_size: int
    channels: int
    kernel_size: int
    dilations: list[int]
    activation: str
    gated: bool
    head_bias: bool
    rechannel: np.ndarray  # [C, Cin]
    conv_w: list  # per layer [M, C, K]
    conv_b: list  # per layer [M]
    mixin: list  # per layer [M, Cc]
    w1x1: list  # per layer [C, C]
    b1x1: list  # per layer [C]
    head_w: np.ndarray  # [Hd, C]
    head_b: np.ndarray | None  # [Hd]

    @property
    def receptive_field(self) -> int:
        return 1 + (self.kernel_size - 1) * sum(self.dilations)


@dataclass
class WaveNetSpec:
    arrays: list[LayerArray]
    head_scale: float
    sample_rate: int = 48000
    metadata: dict = field(default_factory=dict)

    @property
    def receptive_field(self) -> int:
        return 1 + sum(a.receptive_field - 1 for a in self.arrays)

    @property
    def arch(self) -> str:
        return "wavenet-" + "+".join(f"{a.channels}x{len(a.dilations)}" for a in self.arrays)

    @property
    def n_weights(self) -> int:
        n = 1
        for a in self.arrays:
            n += a.rechannel.size + a.head_w.size + (a.head_b.size if a.head_b is not None else 0)
            n += sum(w.size + b.size + m.size + w1.size + b1.size for w, b, m, w1, b1 in
                     zip(a.conv_w, a.conv_b, a.mixin, a.w1x1, a.b1x1))
        return n

    @property
    def macs_per_sample(self) -> int:
        n = 0
        for a in self.arrays:
            m = 2 * a.channels if a.gated else a.channels
            per = m * a.channels * a.kernel_size + m * a.condition_size + a.channels ** 2
            n += a.channels * a.input_size + len(a.dilations) * per + a.head_size * a.channels
        return n

    def validate(self, name="<memory>"):
        prev_head = None
        for i, a in enumerate(self.arrays):
            where = f"{name}: config.layers[{i}]"
            if a.activation not in ACTIVATIONS:
                raise ModelError(f"{where}.activation: must be one of "
                                 f"{', '.join(ACTIVATIONS)}, got {a.activation!r}")
            if not 1 <= a.channels <= MAX_CHANNELS or not 1 <= a.kernel_size <= 64:
                raise ModelError(f"{where}: channels {a.channels} / kernel_size "
                                 f"{a.kernel_size} out of range")
            if a.condition_size != 1:
                raise ModelError(f"{where}.condition_size: must be 1, got {a.condition_size}")
            if not a.dilations or any(not 1 <= d <= MAX_DILATION for d in a.dilations):
                raise ModelError(f"{where}.dilations: must be 1..{MAX_DILATION}")
            if prev_head is not None and prev_head != a.channels:
                raise ModelError(f"{where}: head input of {prev_head} channels does not fit "
                                 f"{a.channels} channels")
            prev_head = a.head_size
            arrays = [a.rechannel, a.head_w] + a.conv_w + a.conv_b + a.mixin + a.w1x1 + a.b1x1
            if a.head_b is not None:
                arrays.append(a.head_b)
            if not all(np.all(np.isfinite(w)) for w in arrays):
                raise ModelError(f"{where}: NaN or infinite weights")
        if self.arrays[-1].head_size != 1:
            raise ModelError(f"{name}: the last layer array must have head_size 1")
        if not np.isfinite(self.head_scale):
            raise ModelError(f"{name}: head_scale is not finite")


class WaveNetEngine:
    knobs: list = []

    def __init__(self, spec: WaveNetSpec, knobs=()):
        spec.validate()
        self.spec = spec
        self.set_knobs(knobs)
        f = np.float32
        self._layers = []  # per array: list of per-layer tuples
        for a in spec.arrays:
            c, k = a.channels, a.kernel_size
            layers = []
            for w, b, m, w1, b1, d in zip(a.conv_w, a.conv_b, a.mixin, a.w1x1, a.b1x1,
                                          a.dilations):
                w_conv = np.ascontiguousarray(np.transpose(w, (2, 1, 0)).reshape(k * c, -1),
                                              dtype=f)  # [K*C, M]
                layers.append((int(d), w_conv, np.asarray(b, f), np.asarray(m[:, 0], f),
                               np.ascontiguousarray(w1.T, dtype=f), np.asarray(b1, f)))
            self._layers.append(layers)
        self._rechannel = [np.ascontiguousarray(a.rechannel.T, dtype=f) for a in spec.arrays]
        self._head_w = [np.ascontiguousarray(a.head_w.T, dtype=f) for a in spec.arrays]
        self._head_b = [np.asarray(a.head_b if a.head_b is not None else np.zeros(a.head_size),
                                   f) for a in spec.arrays]
        self._has_head_b = [a.head_b is not None for a in spec.arrays]
        self._acts = [ACTIVATIONS[a.activation] for a in spec.arrays]
        self._max_block = 0

    def set_knobs(self, knobs):
        if len(list(knobs)):
            raise ModelError("this WaveNet takes no knob values")
        self.knobs = []

    def prepare(self, max_block: int) -> None:
        f = np.float32
        self._max_block = max_block
        self._keep = max((a.kernel_size - 1) * max(a.dilations) for a in self.spec.arrays)
        rows = self._keep + max_block * REWIND_BLOCKS
        self._rows = rows
        self._bufs = []
        for a in self.spec.arrays:
            # buffer i is the input of layer i; the last one is the array's output
            self._bufs.append([np.zeros((rows, a.channels), f)
                               for _ in range(len(a.dilations) + 1)])
        self._in = np.zeros((rows, 1), f)
        self._cond = np.zeros(max_block, f)
        self._heads = [np.zeros((max_block, a.channels), f) for a in self.spec.arrays]
        self._head_out = [np.zeros((max_block, a.head_size), f) for a in self.spec.arrays]
        self._scratch = np.zeros(2 * max(a.channels for a in self.spec.arrays), f)
        self.reset()

    def reset(self) -> None:
        for bufs in self._bufs:
            for b in bufs:
                b[:] = 0.0
        self._in[:] = 0.0
        self._pos = self._keep
        # prewarm: the state a long silence leaves (NAM Core does the same on Reset)
        zeros = np.zeros(self._max_block, np.float32)
        left = self.spec.receptive_field + 1
        while left > 0:
            n = min(left, self._max_block)
            self.process(zeros[:n])
            zeros[:n] = 0.0
            left -= n

    def process(self, x: np.ndarray, in_gain: float = 1.0, out_gain: float = 1.0) -> None:
        n = x.shape[0]
        if n == 0:
            return
        K = kernels
        if self._pos + n > self._rows:
            for bufs in self._bufs:
                for b in bufs:
                    K.rewind_rows(b, self._pos, self._keep)
            K.rewind_rows(self._in, self._pos, self._keep)
            self._pos = self._keep
        pos = self._pos
        cond = self._cond  # the condition is the model input, after the input gain
        np.multiply(x, in_gain, out=cond[:n])
        K.copy_in(cond, n, self._in[pos:])
        layer_in, in_row = self._in, pos
        for i, layers in enumerate(self._layers):
            bufs = self._bufs[i]
            head = self._heads[i]
            if i == 0:
                head[:n] = 0.0
            else:
                head[:n] = self._head_out[i - 1][:n]
            K.rows_matmul(layer_in, in_row, n, self._rechannel[i], self._head_b[i], False,
                          bufs[0], pos)
            for j, (d, w_conv, b_conv, w_mix, w1, b1) in enumerate(layers):
                K.wavenet_layer(bufs[j], bufs[j + 1], pos, n, d, w_conv, b_conv, w_mix, cond,
                                w1, b1, self._acts[i], self.spec.arrays[i].gated, head,
                                self._scratch)
            K.rows_matmul(head, 0, n, self._head_w[i], self._head_b[i], self._has_head_b[i],
                          self._head_out[i], 0)
            layer_in, in_row = bufs[-1], pos
        np.multiply(self._head_out[-1][:n, 0], self.spec.head_scale * out_gain, out=x)
        self._pos = pos + n
