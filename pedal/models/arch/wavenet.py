"""WaveNet amp models (Neural Amp Modeler's "A1" WaveNet): description and numba engine.

The engine runs one layer at a time over a whole block (as NAM Core does), each layer reading
a linear history buffer of its input; when the buffers fill up, the last receptive field is
moved to the front (once every ``REWIND_BLOCKS`` blocks, so the cost is spread thin). Its
initial state is the zero-input steady state the format requires (NAM Core's prewarm).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...dsp import aligned
from ...kernels import wavenet as K
from ...kernels.activations import CODES
from ...kernels.wavenet import wavenet_block
from ...errors import ModelError
from .. import budget

ACTIVATIONS = tuple(CODES)  # the activation names the engine runs
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
    head_w: np.ndarray  # [Hd, A]: A = C, or layer_head_w's A
    head_b: np.ndarray | None  # [Hd]
    # the GuitarML/WaveNetVA variant: a bias on the rechannel, a gate other than the sigmoid,
    # and per-layer head weights (its skip channels are concatenated, not summed)
    rechannel_b: np.ndarray | None = None  # [C]
    gate_activation: str = "Sigmoid"
    layer_head_w: list | None = None  # per layer [A, C]

    @property
    def head_inputs(self) -> int:
        return self.layer_head_w[0].shape[0] if self.layer_head_w else self.channels

    @property
    def receptive_field(self) -> int:
        return 1 + (self.kernel_size - 1) * sum(self.dilations)


@dataclass
class WaveNetSpec:
    arrays: list[LayerArray]
    head_scale: float
    sample_rate: int = 48000
    metadata: dict = field(default_factory=dict)
    # NAM's format starts from the zero-input steady state; WaveNetVA-style files from zero
    # history (their training zero-pads each layer's input)
    prewarm: bool = True

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
            n += (a.rechannel_b.size if a.rechannel_b is not None else 0)
            n += sum(w.size for w in a.layer_head_w or [])
            n += sum(w.size + b.size + m.size + w1.size + b1.size for w, b, m, w1, b1 in
                     zip(a.conv_w, a.conv_b, a.mixin, a.w1x1, a.b1x1))
        return n

    @property
    def macs_per_sample(self) -> int:
        n = 0
        for a in self.arrays:
            m = 2 * a.channels if a.gated else a.channels
            per = m * a.channels * a.kernel_size + m * a.condition_size + a.channels ** 2
            if a.layer_head_w:
                per += a.head_inputs * a.channels
            n += a.channels * a.input_size + len(a.dilations) * per + a.head_size * a.head_inputs
        return n

    def validate(self, name="<memory>"):
        prev_head = None
        for i, a in enumerate(self.arrays):
            where = f"{name}: config.layers[{i}]"
            for key, act in (("activation", a.activation), ("gate", a.gate_activation)):
                if act not in ACTIVATIONS:
                    raise ModelError(f"{where}.{key}: must be one of "
                                     f"{', '.join(ACTIVATIONS)}, got {act!r}")
            if not 1 <= a.channels <= MAX_CHANNELS or not 1 <= a.kernel_size <= 64:
                raise ModelError(f"{where}: channels {a.channels} / kernel_size "
                                 f"{a.kernel_size} out of range")
            if a.condition_size != 1:
                raise ModelError(f"{where}.condition_size: must be 1, got {a.condition_size}")
            if not a.dilations or any(not 1 <= d <= MAX_DILATION for d in a.dilations):
                raise ModelError(f"{where}.dilations: must be 1..{MAX_DILATION}")
            if prev_head is not None and prev_head != a.head_inputs:
                raise ModelError(f"{where}: head input of {prev_head} channels does not fit "
                                 f"{a.head_inputs} head inputs")
            prev_head = a.head_size
            arrays = [a.rechannel, a.head_w] + a.conv_w + a.conv_b + a.mixin + a.w1x1 + a.b1x1
            arrays += [w for w in (a.head_b, a.rechannel_b) if w is not None]
            arrays += a.layer_head_w or []
            if not all(np.all(np.isfinite(w)) for w in arrays):
                raise ModelError(f"{where}: NaN or infinite weights")
        if self.arrays[-1].head_size != 1:
            raise ModelError(f"{name}: the last layer array must have head_size 1")
        budget.check(name, weights=self.n_weights, macs=self.macs_per_sample,
                     receptive_field=self.receptive_field)
        if not np.isfinite(self.head_scale):
            raise ModelError(f"{name}: head_scale is not finite")


class WaveNetEngine:
    """Runs a WaveNetSpec with one kernel call per block (``wavenet_block``): all
    weights packed in one array, every layer's history in another, channel-major so the
    inner loops run over the block's time steps."""

    def __init__(self, spec: WaveNetSpec, knobs=(), *, fast_tanh: bool = False,
                 precise: bool = False):
        """fast_tanh: NAM's rational tanh approximation in place of tanh, as the NAM plugin
        runs its models (``enable_fast_tanh``); exact tanh is the default. precise is an
        LSTM/GRU option: WaveNets run float32, as NAM Core does."""
        spec.validate()
        self.spec = spec
        self.fast_tanh = bool(fast_tanh)
        self.set_knobs(knobs)
        pool, arr_rows, lay_rows = [], [], []
        used = 0

        def put(arr):
            nonlocal used
            flat = np.ascontiguousarray(arr, dtype=np.float32).reshape(-1)
            pool.append(flat)
            used += flat.size
            return used - flat.size

        first = 0
        for a in spec.arrays:
            rechannel = put(a.rechannel.T)  # [Cin, C]
            for j, (w, b, m, w1, b1, d) in enumerate(zip(a.conv_w, a.conv_b, a.mixin, a.w1x1,
                                                         a.b1x1, a.dilations)):
                row = np.zeros(K.L_COLS, np.int64)  # the buffer columns are set in prepare
                row[K.L_DIL], row[K.L_K] = int(d), a.kernel_size
                row[K.L_CONV] = put(np.transpose(w, (2, 1, 0)))  # [K, C, M]
                row[K.L_CONV_B], row[K.L_MIXIN] = put(b), put(m[:, 0])
                row[K.L_1X1], row[K.L_1X1_B] = put(w1.T), put(b1)
                row[K.L_HEAD] = put(a.layer_head_w[j].T) if a.layer_head_w else -1  # [C, A]
                lay_rows.append(row)
            row = np.zeros(K.A_COLS, np.int64)
            row[K.A_CH], row[K.A_IN], row[K.A_HEAD] = a.channels, a.input_size, a.head_size
            row[K.A_FIRST], row[K.A_LAYERS] = first, len(a.dilations)
            row[K.A_RECHANNEL] = rechannel
            row[K.A_HEAD_W] = put(a.head_w.T)  # [A, Hd]
            row[K.A_HEAD_B] = put(a.head_b if a.head_b is not None else np.zeros(a.head_size))
            row[K.A_ACT], row[K.A_GATED] = self._activation(a.activation), int(a.gated)
            row[K.A_RECHANNEL_B] = put(a.rechannel_b) if a.rechannel_b is not None else -1
            row[K.A_GATE_ACT], row[K.A_ACC] = CODES[a.gate_activation], a.head_inputs
            arr_rows.append(row)
            first += len(a.dilations)
        self._wp = aligned.copy(np.concatenate(pool))
        self._arr = np.array(arr_rows, dtype=np.int64)
        self._lay = np.array(lay_rows, dtype=np.int64)
        self._max_block = 0

    def _activation(self, name: str) -> int:
        if self.fast_tanh and name == "Tanh":
            return CODES["Fasttanh"]
        return CODES[name]

    def set_knobs(self, knobs):
        if len(list(knobs)):
            raise ModelError("this WaveNet takes no knob values")
        self.knobs = []

    def prepare(self, max_block: int) -> None:
        f = np.float32
        self._max_block = max_block
        self._keep = max((a.kernel_size - 1) * max(a.dilations) for a in self.spec.arrays)
        vec = aligned.ALIGN // 4  # floats per cache line: every row starts on one
        self._rows = -(-(self._keep + max_block * REWIND_BLOCKS) // vec) * vec
        total = sum((len(a.dilations) + 1) * a.channels for a in self.spec.arrays) * self._rows
        budget.check("WaveNet", state=total)  # before anything is allocated for it
        off = 0
        for i, a in enumerate(self.spec.arrays):  # n layers + 1 buffers per array
            first, n_lay = self._arr[i, K.A_FIRST], self._arr[i, K.A_LAYERS]
            for j in range(n_lay + 1):  # layer j reads buffer j and writes buffer j + 1
                if j < n_lay:
                    self._lay[first + j, K.L_IN] = off
                if j > 0:
                    self._lay[first + j - 1, K.L_OUT] = off
                off += self._rows * a.channels
            self._arr[i, K.A_OUT] = self._lay[first + n_lay - 1, K.L_OUT]
        self._bp = aligned.zeros(off, f)
        widest = max(max(a.channels, a.head_size, a.head_inputs) for a in self.spec.arrays)
        width = -(-max_block // vec) * vec
        self._head = aligned.zeros((2, widest, width), f)
        self._acc = aligned.zeros((2 * widest, width), f)
        self._cond = aligned.zeros(width, f)
        self.reset()

    def reset(self) -> None:
        self._bp[:] = 0.0
        self._pos = self._keep
        if not self.spec.prewarm:
            return
        # prewarm: the state a long silence leaves (NAM Core does the same on Reset)
        zeros = np.zeros(self._max_block, np.float32)
        left = self.spec.receptive_field + 1
        while left > 0:
            n = min(left, self._max_block)
            zeros[:n] = 0.0
            self.process(zeros[:n])
            left -= n

    def process(self, x: np.ndarray, in_gain: float = 1.0, out_gain: float = 1.0) -> None:
        self._pos = wavenet_block(
            x, x.shape[0], in_gain, out_gain, self.spec.head_scale, self._pos, self._rows,
            self._keep, self._wp, self._bp, self._arr, self._lay, self._head, self._acc,
            self._cond)


def examples():
    """A two-layer array, gated and not (warm-up compiles the kernel once)."""
    rng = np.random.default_rng(0)
    out = []
    for gated in (False, True):
        m = 4 if gated else 2
        arr = LayerArray(1, 1, 1, 2, 3, [1, 2], "Tanh", gated, True, rng.standard_normal((2, 1)),
                         [rng.standard_normal((m, 2, 3)) * 0.1 for _ in range(2)],
                         [np.zeros(m)] * 2, [np.zeros((m, 1))] * 2,
                         [np.eye(2)] * 2, [np.zeros(2)] * 2, rng.standard_normal((1, 2)),
                         np.zeros(1))
        out.append((WaveNetSpec([arr], 0.5), {}))
    return out
