"""WaveNet amp models: Neural Amp Modeler's WaveNet in every form its files take (the "A1"
layer arrays of .nam 0.5, and the "A2" forms of 0.6/0.7: per-layer kernel sizes and
activations, bottleneck, blended gating, head 1x1 convolutions, FiLM, a head convolution with a
kernel, a post-stack head, a condition network), and GuitarML's WaveNetVA variant.

One description (``WaveNetSpec``, here, with its validation) and one numba engine
(``wavenet_engine.py``). A1 is the special case whose optional
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

from ...kernels.activations import CODES, PARAMETERS
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
