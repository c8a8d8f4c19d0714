"""WaveNet amp models: Neural Amp Modeler's WaveNet in every form its files take (the "A1"
layer arrays of .nam 0.5, and the "A2" forms of 0.6/0.7: per-layer kernel sizes and
activations, bottleneck, blended gating, head 1x1 convolutions, FiLM, a head convolution with a
kernel, a post-stack head, a condition network), and GuitarML's WaveNetVA variant.

One description (``WaveNetSpec``) and one numba engine. A1 is the special case whose optional
fields keep their defaults, and it runs the same code: every choice is made once per layer
per block, never per sample. The engine runs one layer at a time over a whole block (as NAM
Core does), each layer reading a linear history buffer of its input; when the buffers fill
up, the last receptive field is moved to the front (once every ``REWIND_BLOCKS`` blocks of
64, so the cost is spread thin). Its initial state is the zero-input steady state the format
requires (NAM Core's prewarm).

The weights' meaning follows NAM Core (``NAM/wavenet/model.cpp``, ``detail.h``, ``film.h``,
``gating_activations.h`` at daae2d0), including two of its quirks: FiLM after the layer 1x1
is applied only in blended layers, and a PReLU of one slope is a LeakyReLU.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...dsp import aligned
from ...kernels import wavenet as K
from ...kernels.activations import CODES, PARAMETERS
from ...kernels.wavenet import wavenet_block
from ...errors import ModelError
from .. import budget

ACTIVATIONS = tuple(CODES)  # the activation names the engine runs
GATING = ("none", "gated", "blended")
FILM_SITES = ("conv_pre", "conv_post", "input_mixin_pre", "input_mixin_post", "activation_pre",
              "activation_post", "layer1x1_post", "head1x1_post")
REWIND_BLOCKS = 32
MAX_CHANNELS = 128
MAX_DILATION = 1 << 16
MAX_KERNEL = 64


@dataclass
class Activation:
    """An activation and its parameters: LeakyReLU (slope), PReLU (one slope per channel),
    LeakyHardtanh (min, max, slope below, slope above)."""
    name: str
    params: tuple = ()


@dataclass
class Film:
    """Feature-wise linear modulation: ``x * scale (+ shift)``, scale and shift a 1x1
    convolution of the condition: w [(2 if shift else 1) * dim, Cc], b likewise."""
    w: np.ndarray
    b: np.ndarray
    shift: bool

    @property
    def dim(self) -> int:
        return self.w.shape[0] // (2 if self.shift else 1)


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
    conv_w: list  # per layer [M, C, K_l]: M = 2B gated or blended, else B
    conv_b: list  # per layer [M]
    mixin: list  # per layer [M, Cc]
    w1x1: list  # per layer [C, B] (empty when layer1x1 is False)
    b1x1: list  # per layer [C]
    head_w: np.ndarray  # [Hd, A] or, with a head kernel, [Hd, A, Kh]
    head_b: np.ndarray | None  # [Hd]
    # the GuitarML/WaveNetVA variant: a bias on the rechannel, a gate other than the sigmoid,
    # and per-layer head weights (its skip channels are concatenated, not summed)
    rechannel_b: np.ndarray | None = None  # [C]
    gate_activation: str = "Sigmoid"
    layer_head_w: list | None = None  # per layer [A, C]
    # NAM 0.6/0.7 ("A2"); the defaults are A1's
    kernel_sizes: list[int] | None = None  # per layer; None: kernel_size for every layer
    acts: list[Activation] | None = None  # per layer; None: ``activation`` for every layer
    gating: list[str] | None = None  # per layer none/gated/blended; None: from ``gated``
    gate_acts: list[Activation] | None = None  # per layer; None: gate_activation
    bottleneck: int | None = None  # None: channels
    layer1x1: bool = True  # False: the layer's output is its input (bottleneck = channels)
    head1x1_w: list | None = None  # per layer [H1, B]: what a layer adds to the head
    head1x1_b: list | None = None  # per layer [H1]
    films: list[dict] | None = None  # per layer {site: Film}
    head_dilation: int = 1

    # -- per layer, resolved --
    @property
    def n_layers(self) -> int:
        return len(self.dilations)

    def kernel(self, j: int) -> int:
        return self.kernel_sizes[j] if self.kernel_sizes else self.kernel_size

    def act(self, j: int) -> Activation:
        return self.acts[j] if self.acts else Activation(self.activation)

    def gate(self, j: int) -> str:
        return self.gating[j] if self.gating else ("gated" if self.gated else "none")

    def gate_act(self, j: int) -> Activation:
        return self.gate_acts[j] if self.gate_acts else Activation(self.gate_activation)

    def film(self, j: int, site: str) -> Film | None:
        return self.films[j].get(site) if self.films else None

    @property
    def b(self) -> int:
        return self.bottleneck or self.channels

    def m(self, j: int) -> int:
        return 2 * self.b if self.gate(j) != "none" else self.b

    @property
    def head_inputs(self) -> int:
        """A: the channels each layer adds to the head."""
        if self.layer_head_w:
            return self.layer_head_w[0].shape[0]
        if self.head1x1_w:
            return self.head1x1_w[0].shape[0]
        return self.b

    @property
    def head_kernel(self) -> int:
        return 1 if self.head_w.ndim == 2 else self.head_w.shape[2]

    @property
    def receptive_field(self) -> int:
        return 1 + sum((self.kernel(j) - 1) * d for j, d in enumerate(self.dilations)) + \
            (self.head_kernel - 1) * self.head_dilation

    @property
    def is_a1(self) -> bool:
        """Nothing of NAM 0.6/0.7: the layout .nam 0.5, ONNX export and training know."""
        return (not self.kernel_sizes and not self.acts and not self.gating
                and not self.gate_acts and self.bottleneck in (None, self.channels)
                and self.layer1x1 and not self.head1x1_w and not self.films
                and self.head_w.ndim == 2 and self.head_dilation == 1)

    def arrays(self) -> list[np.ndarray]:
        out = [self.rechannel, self.head_w] + self.conv_w + self.conv_b + self.mixin + \
            self.w1x1 + self.b1x1
        out += [w for w in (self.head_b, self.rechannel_b) if w is not None]
        out += (self.layer_head_w or []) + (self.head1x1_w or []) + (self.head1x1_b or [])
        for films in self.films or []:
            for f in films.values():
                out += [f.w, f.b]
        for a in list(self.acts or []) + list(self.gate_acts or []):
            out.append(np.asarray(a.params, np.float64))
        return out

    @property
    def n_weights(self) -> int:
        skip_params = sum(len(a.params) for a in list(self.acts or []) +
                          list(self.gate_acts or []))
        return sum(w.size for w in self.arrays()) - skip_params

    @property
    def macs_per_sample(self) -> int:
        c, b, cc = self.channels, self.b, self.condition_size
        n = c * self.input_size + self.head_size * self.head_inputs * self.head_kernel
        for j in range(self.n_layers):
            m = self.m(j)
            n += m * c * self.kernel(j) + m * cc
            n += c * b if self.layer1x1 else 0
            n += self.head_inputs * (c if self.layer_head_w else b) \
                if (self.layer_head_w or self.head1x1_w) else 0
            for f in (self.films[j].values() if self.films else ()):
                n += f.w.size
        return n


@dataclass
class PostHead:
    """NAM's post-stack head: each convolution's input through the activation first."""
    convs: list  # [(w [out, in, K], b [out])]
    activation: Activation

    @property
    def receptive_field(self) -> int:
        return 1 + sum(w.shape[2] - 1 for w, _ in self.convs)


@dataclass
class WaveNetSpec:
    arrays: list[LayerArray]
    head_scale: float
    sample_rate: int = 48000
    metadata: dict = field(default_factory=dict)
    # NAM's format starts from the zero-input steady state; WaveNetVA-style files from zero
    # history (their training zero-pads each layer's input)
    prewarm: bool = True
    condition: Any = None  # a WaveNetSpec computing the layers' condition (NAM condition_dsp)
    post_head: PostHead | None = None
    # per array the channel counts NAM's slice_channels_uniform may cut it to ([] not slimmable)
    slimmable: list | None = None

    @property
    def out_channels(self) -> int:
        if self.post_head is not None:
            return self.post_head.convs[-1][0].shape[0]
        return self.arrays[-1].head_size

    @property
    def receptive_field(self) -> int:
        rf = 1 + sum(a.receptive_field - 1 for a in self.arrays)
        if self.post_head is not None:
            rf += self.post_head.receptive_field - 1
        if self.condition is not None:
            rf += self.condition.receptive_field - 1
        return rf

    @property
    def prewarm_samples(self) -> int:
        """As NAM Core counts them: enough zeros to reach the steady state exactly."""
        n = self.condition.prewarm_samples if self.condition is not None else 1
        n += sum(a.receptive_field for a in self.arrays)
        if self.post_head is not None:
            n += self.post_head.receptive_field - 1
        return n

    @property
    def arch(self) -> str:
        name = "wavenet-" + "+".join(f"{a.channels}x{a.n_layers}" for a in self.arrays)
        if not all(a.is_a1 for a in self.arrays) or self.post_head or self.condition:
            name += "-a2"
        return name + ("-slimmable" if self.slimmable else "")

    @property
    def is_a1(self) -> bool:
        return all(a.is_a1 for a in self.arrays) and self.post_head is None and \
            self.condition is None

    @property
    def n_weights(self) -> int:
        n = 1 + sum(a.n_weights for a in self.arrays)
        if self.post_head is not None:
            n += sum(w.size + b.size for w, b in self.post_head.convs)
        if self.condition is not None:
            n += self.condition.n_weights
        return n

    @property
    def macs_per_sample(self) -> int:
        n = sum(a.macs_per_sample for a in self.arrays)
        if self.post_head is not None:
            n += sum(w.size for w, _ in self.post_head.convs)
        if self.condition is not None:
            n += self.condition.macs_per_sample
        return n

    def validate(self, name="<memory>", *, condition_net: bool = False):
        if not self.arrays:
            raise ModelError(f"{name}: a WaveNet needs at least one layer array")
        cond = 1 if self.condition is None else self.condition.out_channels
        if self.condition is not None:
            if not isinstance(self.condition, WaveNetSpec):
                raise ModelError(f"{name}: config.condition_dsp: only a WaveNet can compute the "
                                 f"condition, got {type(self.condition).__name__}")
            self.condition.validate(f"{name}: config.condition_dsp", condition_net=True)
            if self.condition.sample_rate != self.sample_rate:
                raise ModelError(f"{name}: config.condition_dsp runs at "
                                 f"{self.condition.sample_rate} Hz, the model at "
                                 f"{self.sample_rate} Hz")
        prev = None
        for i, a in enumerate(self.arrays):
            _validate_array(a, f"{name}: config.layers[{i}]", cond, prev)
            prev = a
        if self.post_head is not None:
            width = self.arrays[-1].head_size
            _check_act(self.post_head.activation, f"{name}: config.head.activation",
                       None)
            for k, (w, b) in enumerate(self.post_head.convs):
                if w.ndim != 3 or w.shape[1] != width or b.shape != (w.shape[0],) or \
                        not 1 <= w.shape[2] <= MAX_KERNEL or not 1 <= w.shape[0] <= MAX_CHANNELS:
                    raise ModelError(f"{name}: config.head: convolution {k} has the wrong shape")
                if not (np.all(np.isfinite(w)) and np.all(np.isfinite(b))):
                    raise ModelError(f"{name}: config.head: NaN or infinite weights")
                width = w.shape[0]
        if not condition_net and self.out_channels != 1:
            raise ModelError(f"{name}: the model has {self.out_channels} output channels; an "
                             "amp model has one")
        if self.slimmable is not None:
            from .slim import check_slimmable

            check_slimmable(self, name)
        budget.check(name, weights=self.n_weights, macs=self.macs_per_sample,
                     receptive_field=self.receptive_field)
        if not np.isfinite(self.head_scale):
            raise ModelError(f"{name}: head_scale is not finite")


def _check_act(act: Activation, where: str, channels: int | None) -> None:
    if act.name not in ACTIVATIONS:
        raise ModelError(f"{where}: must be one of {', '.join(ACTIVATIONS)}, got {act.name!r}")
    want = PARAMETERS.get(act.name, 0)
    p = act.params
    if act.name == "PReLU" and len(p) > 1 and channels is not None and len(p) != channels:
        raise ModelError(f"{where}: PReLU has {len(p)} slopes for {channels} channels")
    if act.name != "PReLU" and len(p) not in (0, want):
        raise ModelError(f"{where}: {act.name} takes {want} parameters, got {len(p)}")
    if not all(np.isfinite(v) for v in p):
        raise ModelError(f"{where}: {act.name} parameters must be finite")


def _validate_array(a: LayerArray, where: str, cond: int, prev: LayerArray | None) -> None:
    n = a.n_layers
    if not 1 <= a.channels <= MAX_CHANNELS or not 1 <= a.b <= MAX_CHANNELS:
        raise ModelError(f"{where}: channels {a.channels} / bottleneck {a.b} out of range")
    if not a.dilations or any(not 1 <= d <= MAX_DILATION for d in a.dilations):
        raise ModelError(f"{where}.dilations: must be 1..{MAX_DILATION}")
    if a.condition_size != cond:
        raise ModelError(f"{where}.condition_size: must be {cond} (the "
                         f"{'condition network' if cond > 1 else 'input'}'s channels), got "
                         f"{a.condition_size}")
    for key, lst in (("kernel_sizes", a.kernel_sizes), ("activation", a.acts),
                     ("gating_mode", a.gating), ("secondary_activation", a.gate_acts),
                     ("head1x1", a.head1x1_w), ("films", a.films)):
        if lst is not None and len(lst) != n:
            raise ModelError(f"{where}.{key}: {len(lst)} entries for {n} layers")
    if not a.layer1x1 and a.b != a.channels:
        raise ModelError(f"{where}: without layer1x1 the bottleneck ({a.b}) must equal "
                         f"channels ({a.channels})")
    if prev is None and a.input_size != 1:
        raise ModelError(f"{where}.input_size: must be 1 (a mono input), got {a.input_size}")
    if prev is not None:
        if a.input_size != prev.channels:
            raise ModelError(f"{where}.input_size: must be the previous array's {prev.channels} "
                             f"channels, got {a.input_size}")
        if prev.head_size != a.head_inputs or prev.head_size != a.channels:  # as NAM Core
            raise ModelError(f"{where}: the previous array's head of {prev.head_size} channels "
                             f"does not fit the {a.head_inputs} head inputs here")
    c, b, cc, hd, ha = a.channels, a.b, a.condition_size, a.head_size, a.head_inputs
    if a.rechannel.shape != (c, a.input_size):
        raise ModelError(f"{where}: rechannel weights have the wrong shape")
    for j in range(n):
        lw = f"{where}, layer {j}"
        k, m = a.kernel(j), a.m(j)
        if not 1 <= k <= MAX_KERNEL:
            raise ModelError(f"{lw}: kernel size {k} out of range 1..{MAX_KERNEL}")
        if a.gate(j) not in GATING:
            raise ModelError(f"{lw}: gating_mode must be one of {', '.join(GATING)}, "
                             f"got {a.gate(j)!r}")
        _check_act(a.act(j), f"{lw}: activation", b)
        if a.gate(j) != "none":
            _check_act(a.gate_act(j), f"{lw}: secondary_activation", b)
        if a.conv_w[j].shape != (m, c, k) or a.conv_b[j].shape != (m,) or \
                a.mixin[j].shape != (m, cc):
            raise ModelError(f"{lw}: convolution weights have the wrong shape")
        if a.layer1x1 and (a.w1x1[j].shape != (c, b) or a.b1x1[j].shape != (c,)):
            raise ModelError(f"{lw}: layer1x1 weights have the wrong shape")
        if a.head1x1_w and (a.head1x1_w[j].shape != (ha, b) or
                            a.head1x1_b is None or a.head1x1_b[j].shape != (ha,)):
            raise ModelError(f"{lw}: head1x1 weights have the wrong shape")
        dims = {"conv_pre": c, "conv_post": m, "input_mixin_pre": cc, "input_mixin_post": m,
                "activation_pre": m, "activation_post": b, "layer1x1_post": c,
                "head1x1_post": ha}
        for site, f in (a.films[j].items() if a.films else ()):
            if site not in dims:
                raise ModelError(f"{lw}: unknown FiLM {site!r}")
            rows = (2 if f.shift else 1) * dims[site]
            if f.w.shape != (rows, cc) or f.b.shape != (rows,):
                raise ModelError(f"{lw}: {site}_film weights have the wrong shape")
            if site == "layer1x1_post" and not a.layer1x1:
                raise ModelError(f"{lw}: layer1x1_post_film needs layer1x1")
            if site == "head1x1_post" and not a.head1x1_w:
                raise ModelError(f"{lw}: head1x1_post_film needs head1x1")
    hk = a.head_kernel
    if a.head_w.shape[:2] != (hd, ha) or not 1 <= hk <= MAX_KERNEL or \
            not 1 <= a.head_dilation <= MAX_DILATION:
        raise ModelError(f"{where}: head weights have the wrong shape")
    if not all(np.all(np.isfinite(w)) for w in a.arrays()):
        raise ModelError(f"{where}: NaN or infinite weights")


class WaveNetEngine:
    """Runs a WaveNetSpec with one kernel call per block (``wavenet_block``): all weights
    packed in one array, every history in another, channel-major so the inner loops run over
    the block's time steps. A condition network runs first, in its own engine."""

    def __init__(self, spec: WaveNetSpec, knobs=(), *, fast_tanh: bool = False,
                 precise: bool = False, condition_net: bool = False):
        """fast_tanh: NAM's rational tanh approximation in place of tanh, as the NAM plugin
        runs its models (``enable_fast_tanh``); exact tanh is the default. precise is an
        LSTM/GRU option: WaveNets run float32, as NAM Core does."""
        spec.validate(condition_net=condition_net)
        self.spec = spec
        self.fast_tanh = bool(fast_tanh)
        self.set_knobs(knobs)
        self._cond_engine = None if spec.condition is None else \
            WaveNetEngine(spec.condition, fast_tanh=fast_tanh, condition_net=True)
        pool: list[np.ndarray] = []
        used = 0

        def put(arr):
            nonlocal used
            flat = np.ascontiguousarray(arr, dtype=np.float32).reshape(-1)
            pool.append(flat)
            used += flat.size
            return used - flat.size

        def put_act(act: Activation, width: int) -> int:
            """The activation's parameters (four, or one slope per channel for PReLU)."""
            p = [float(v) for v in act.params]
            if act.name == "PReLU":
                return put(np.resize(np.array(p or [0.01], np.float32), width))
            if act.name == "LeakyHardtanh":
                d = [-1.0, 1.0, 0.01, 0.01]
                return put(np.array(p + d[len(p):], np.float32))
            return put(np.array((p or [0.01]) + [0.0] * 3, np.float32)[:4])

        arr_rows, lay_rows = [], []
        first = 0
        for a in spec.arrays:
            rechannel = put(a.rechannel.T)  # [Cin, C]
            for j, (w, b, m, d) in enumerate(zip(a.conv_w, a.conv_b, a.mixin, a.dilations)):
                row = np.full(K.L_COLS, -1, np.int64)  # the buffer columns are set in prepare
                row[K.L_DIL], row[K.L_K], row[K.L_M], row[K.L_B] = int(d), a.kernel(j), \
                    a.m(j), a.b
                row[K.L_CONV] = put(np.transpose(w, (2, 1, 0)))  # [K, C, M]
                row[K.L_CONV_B], row[K.L_MIXIN] = put(b), put(m.T)  # mixin [Cc, M]
                if a.layer1x1:
                    row[K.L_1X1], row[K.L_1X1_B] = put(a.w1x1[j].T), put(a.b1x1[j])
                if a.layer_head_w:
                    row[K.L_HEAD] = put(a.layer_head_w[j].T)  # [C, A]
                if a.head1x1_w and a.head1x1_b:
                    row[K.L_H1] = put(a.head1x1_w[j].T)  # [B, H1]
                    row[K.L_H1_B] = put(a.head1x1_b[j])
                act = a.act(j)
                row[K.L_ACT] = self._activation(act.name)
                row[K.L_ACT_P] = put_act(act, a.b)
                row[K.L_GATE] = GATING.index(a.gate(j))
                gact = a.gate_act(j)
                row[K.L_GATE_ACT] = self._activation(gact.name)
                row[K.L_GATE_P] = put_act(gact, a.b)
                for s, site in enumerate(FILM_SITES):
                    f = a.film(j, site)
                    if f is not None:
                        row[K.L_FILM + 2 * s] = put(np.concatenate([f.w.ravel(), f.b]))
                        row[K.L_FILM + 2 * s + 1] = int(f.shift)
                lay_rows.append(row)
            row = np.full(K.A_COLS, -1, np.int64)
            row[K.A_CH], row[K.A_IN], row[K.A_HEAD] = a.channels, a.input_size, a.head_size
            row[K.A_FIRST], row[K.A_LAYERS] = first, a.n_layers
            row[K.A_RECHANNEL] = rechannel
            hw = a.head_w if a.head_w.ndim == 3 else a.head_w[:, :, None]
            row[K.A_HEAD_W] = put(np.transpose(hw, (2, 1, 0)))  # [Kh, A, Hd]
            row[K.A_HEAD_B] = put(a.head_b if a.head_b is not None else np.zeros(a.head_size))
            row[K.A_RECHANNEL_B] = put(a.rechannel_b) if a.rechannel_b is not None else -1
            row[K.A_ACC], row[K.A_HK], row[K.A_HDIL] = a.head_inputs, a.head_kernel, \
                a.head_dilation
            arr_rows.append(row)
            first += a.n_layers
        ph_rows = []
        if spec.post_head is not None:
            act = spec.post_head.activation
            for w, b in spec.post_head.convs:
                row = np.full(K.P_COLS, -1, np.int64)
                row[K.P_IN], row[K.P_OUT], row[K.P_K] = w.shape[1], w.shape[0], w.shape[2]
                row[K.P_W] = put(np.transpose(w, (2, 1, 0)))  # [K, in, out]
                row[K.P_B] = put(b)
                row[K.P_ACT] = self._activation(act.name)
                row[K.P_ACT_P] = put_act(act, w.shape[1])
                ph_rows.append(row)
        self._wp = aligned.copy(np.concatenate(pool))
        self._arr = np.array(arr_rows, dtype=np.int64)
        self._lay = np.array(lay_rows, dtype=np.int64)
        self._ph = np.array(ph_rows, dtype=np.int64).reshape(len(ph_rows), K.P_COLS)
        self._max_block = 0
        self._warm = None

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
        spec = self.spec
        self._max_block = max_block
        if self._cond_engine is not None:
            self._cond_engine.prepare(max_block)  # reset below, with this engine
        keeps = [(a.kernel(j) - 1) * d for a in spec.arrays for j, d in enumerate(a.dilations)]
        keeps += [(a.head_kernel - 1) * a.head_dilation for a in spec.arrays]
        keeps += [w.shape[2] - 1 for w, _ in (spec.post_head.convs if spec.post_head else [])]
        self._keep = max(max(keeps), 1)
        vec = aligned.ALIGN // 4  # floats per cache line: every row starts on one
        # room for REWIND_BLOCKS blocks of 64 between rewinds (fewer, never under 4, when the
        # blocks are large: a rewind copies one receptive field, the blocks cost far more)
        blocks = max(4, min(REWIND_BLOCKS, (REWIND_BLOCKS * 64) // max_block))
        self._rows = -(-(self._keep + max_block * blocks) // vec) * vec
        bufs: list[tuple[int, int]] = []  # (offset, channels) of every history buffer
        off = 0

        def buf(channels: int) -> int:
            nonlocal off
            bufs.append((off, channels))
            off += self._rows * channels
            return off - self._rows * channels

        for i, a in enumerate(spec.arrays):  # n layers + 1 buffers per array, and its head's
            first, n_lay = self._arr[i, K.A_FIRST], self._arr[i, K.A_LAYERS]
            for j in range(n_lay + 1):  # layer j reads buffer j and writes buffer j + 1
                o = buf(a.channels)
                if j < n_lay:
                    self._lay[first + j, K.L_IN] = o
                    self._lay[first + j, K.L_CIN] = buf(a.channels) \
                        if a.film(j, "conv_pre") is not None else o
                if j > 0:
                    self._lay[first + j - 1, K.L_OUT] = o
            self._arr[i, K.A_OUT] = self._lay[first + n_lay - 1, K.L_OUT]
            self._arr[i, K.A_HACC] = buf(a.head_inputs)
        for r in range(self._ph.shape[0]):
            self._ph[r, K.P_BUF] = buf(int(self._ph[r, K.P_IN]))
        budget.check("WaveNet", state=off)  # before anything is allocated for it
        self._bp = aligned.zeros(off, f)
        self._bufs = np.array(bufs, dtype=np.int64)
        widest = max(max(a.channels, a.head_size, a.head_inputs, 2 * a.b)
                     for a in spec.arrays)
        if spec.post_head is not None:
            widest = max([widest] + [w.shape[0] for w, _ in spec.post_head.convs])
        cc = spec.arrays[0].condition_size
        width = -(-max_block // vec) * vec
        self._acc = aligned.zeros((widest, width), f)     # a layer's conv outputs
        self._tmp = aligned.zeros((widest, width), f)     # 1x1 outputs, FiLM targets
        self._fs = aligned.zeros((2 * max(widest, cc), width), f)  # FiLM scale and shift
        self._mixb = aligned.zeros((widest, width), f)    # the input mixin with FiLM
        self._hout = aligned.zeros((widest, width), f)    # a head's output
        self._xin = aligned.zeros(width, f)
        self._cond = aligned.zeros((cc, width), f)
        self._cond2 = aligned.zeros((cc, width), f)
        self._yout = aligned.zeros((spec.out_channels, width), f)
        self._warm = None
        self.reset()

    def reset(self) -> None:
        """Back to the prewarmed state: computed once per prepare (NAM Core caches it too),
        copied back after that."""
        if self._warm is not None:
            self._restore(self._warm)
            return
        self._bp[:] = 0.0
        self._pos = self._keep
        if self._cond_engine is not None:
            self._cond_engine._bp[:] = 0.0
            self._cond_engine._pos = self._cond_engine._keep
        if not self.spec.prewarm:
            return
        # prewarm: the state a long silence leaves (NAM Core does the same on Reset)
        zeros = np.zeros(self._max_block, np.float32)
        left = max(self.spec.receptive_field + 1, self.spec.prewarm_samples)
        while left > 0:
            n = min(left, self._max_block)
            zeros[:n] = 0.0
            self.process(zeros[:n])
            left -= n
        self._warm = self._state()

    def _state(self):
        c = self._cond_engine
        return (self._bp.copy(), self._pos, None if c is None else (c._bp.copy(), c._pos))

    def _restore(self, state) -> None:
        bp, pos, cond = state
        self._bp[:] = bp
        self._pos = pos
        c = self._cond_engine
        if c is not None and cond is not None:
            c._bp[:] = cond[0]
            c._pos = cond[1]

    def process(self, x: np.ndarray, in_gain: float = 1.0, out_gain: float = 1.0) -> None:
        n = x.shape[0]
        given = 0
        if self._cond_engine is not None:
            c = self._cond_engine
            self._pos_cond(x, n, in_gain, c)
            given = 1
        self._pos = wavenet_block(
            x, n, in_gain, out_gain, self.spec.head_scale, self._pos, self._rows,
            self._keep, self._wp, self._bp, self._arr, self._lay, self._ph, self._bufs,
            self._acc, self._tmp, self._fs, self._mixb, self._hout, self._xin, self._cond,
            self._cond2, given, self._yout, 1)

    def _pos_cond(self, x, n, in_gain, c) -> None:
        """The condition network over this block's input, into ``_cond``."""
        c._pos = wavenet_block(
            x, n, in_gain, 1.0, c.spec.head_scale, c._pos, c._rows, c._keep, c._wp, c._bp,
            c._arr, c._lay, c._ph, c._bufs, c._acc, c._tmp, c._fs, c._mixb, c._hout, c._xin,
            c._cond, c._cond2, 0, self._cond, 0)


def examples():
    """A1 arrays gated and not, and an A2 array with every option on (warm-up compiles the
    kernel once; its choices are runtime branches, so one compile covers them all)."""
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
