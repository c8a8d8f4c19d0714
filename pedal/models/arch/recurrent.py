"""Recurrent amp models (LSTM / GRU + dense, optional input skip): the in-memory description
every loader produces, and the numba engine that runs it block by block.

Weights are kept in PyTorch's layout and gate order (LSTM i,f,g,o; GRU r,z,n), the layout most
amp-model files use; ONNX's orders are converted on the way in and out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...dsp import aligned
from ...kernels import recurrent as kr
from ...kernels.jit import resolve
from ...errors import ModelError
from .. import budget

CELLS = {"lstm": 4, "gru": 3}
MAX_HIDDEN = kr.MAX_HIDDEN  # the kernel's stack scratch is sized for it
MAX_LAYERS = 8


@dataclass
class RecurrentLayer:
    w_ih: np.ndarray  # [G*H, I]
    w_hh: np.ndarray  # [G*H, H]
    b_ih: np.ndarray  # [G*H]
    b_hh: np.ndarray  # [G*H]


@dataclass
class RecurrentSpec:
    cell: str  # "lstm" | "gru"
    layers: list[RecurrentLayer]
    dense_w: np.ndarray  # [H]
    dense_b: float
    skip: bool = False
    input_size: int = 1  # 1 audio + knobs
    sample_rate: int = 48000
    linear_before_reset: bool = True  # GRU only; PyTorch semantics
    h0: np.ndarray | None = None  # [L, H] initial state (None = zeros)
    c0: np.ndarray | None = None
    metadata: dict = field(default_factory=dict)
    # zeros run from h0/c0 at every reset (NAM Core prewarms an LSTM with half a second)
    prewarm: int = 0

    @property
    def hidden_size(self) -> int:
        return self.layers[0].w_hh.shape[1]

    @property
    def num_layers(self) -> int:
        return len(self.layers)

    @property
    def arch(self) -> str:
        return f"{self.cell}-{self.num_layers}x{self.hidden_size}"

    @property
    def n_weights(self) -> int:
        n = sum(a.size for l in self.layers for a in (l.w_ih, l.w_hh, l.b_ih, l.b_hh))
        return n + self.dense_w.size + 1

    @property
    def macs_per_sample(self) -> int:
        return sum(l.w_ih.size + l.w_hh.size for l in self.layers) + self.dense_w.size

    def validate(self, name: str = "<memory>") -> None:
        """Shapes agree, sizes are sane, every value is finite. Raises ModelError naming name."""
        if self.cell not in CELLS:
            raise ModelError(f"{name}: unknown recurrent cell {self.cell!r} (lstm or gru)")
        if not 1 <= len(self.layers) <= MAX_LAYERS:
            raise ModelError(f"{name}: {len(self.layers)} layers, must be 1..{MAX_LAYERS}")
        g = CELLS[self.cell]
        hidden = self.layers[0].w_hh.shape[-1] if self.layers[0].w_hh.ndim == 2 else -1
        if not 1 <= hidden <= MAX_HIDDEN:
            raise ModelError(f"{name}: hidden size {hidden}, must be 1..{MAX_HIDDEN}")
        n_in = self.input_size
        for i, layer in enumerate(self.layers):
            want = {"w_ih": (g * hidden, n_in), "w_hh": (g * hidden, hidden),
                    "b_ih": (g * hidden,), "b_hh": (g * hidden,)}
            for key, shape in want.items():
                arr = getattr(layer, key)
                if arr.shape != shape:
                    raise ModelError(f"{name}: layers[{i}].{key}: shape {arr.shape}, "
                                     f"expected {shape}")
                if not np.all(np.isfinite(arr)):
                    raise ModelError(f"{name}: layers[{i}].{key}: NaN or infinite weights")
            n_in = hidden
        if self.dense_w.shape != (hidden,):
            raise ModelError(f"{name}: dense weight shape {self.dense_w.shape}, "
                             f"expected ({hidden},)")
        if not (np.all(np.isfinite(self.dense_w)) and np.isfinite(self.dense_b)):
            raise ModelError(f"{name}: dense layer has NaN or infinite weights")
        for key in ("h0", "c0"):
            v = getattr(self, key)
            if v is not None and (v.shape != (len(self.layers), hidden)
                                  or not np.all(np.isfinite(v))):
                raise ModelError(f"{name}: {key}: must be finite with shape "
                                 f"({len(self.layers)}, {hidden})")
        if not 8000 <= self.sample_rate <= 384000:
            raise ModelError(f"{name}: sample rate {self.sample_rate} Hz is not plausible")
        budget.check(name, weights=self.n_weights, macs=self.macs_per_sample)


def gate_prescale(cell: str, hidden: int) -> np.ndarray:
    """Column scale the kernels want: 0.5 on every gate that is a sigmoid (LSTM i, f, o; GRU r,
    z), 1 on the tanh ones, so that sigmoid(v) = 0.5 + 0.5 tanh(v / 2) lets one vectorised tanh
    pass serve all gates. Halving is exact in floating point: no result changes."""
    g = CELLS[cell]
    scale = np.full(g * hidden, 0.5)
    scale[2 * hidden:3 * hidden] = 1.0  # the tanh gate is third in both: LSTM i,f,g,o; GRU r,z,n
    return scale


class RecurrentEngine:
    """Runs a RecurrentSpec on numba kernels: prepare once, then ``process`` allocates nothing.

    The whole stack runs in one kernel call per block (``lstm_block``/``gru_block``).
    Knob inputs are constant over a block, so their share of the first layer's input projection
    is folded into its bias whenever the knobs are set.
    """

    def __init__(self, spec: RecurrentSpec, knobs=(), *, precise: bool = False,
                 fast_tanh: bool = False):
        """precise: float64 arithmetic. Real time runs float32, as the C++ runtimes do; it is
        twice the vector width, and within float32 rounding of the network's exact output
        (a GRU-32 from GuitarML: 1.3e-5 from float64, where PyTorch's own float32 is 2.3e-5).
        fast_tanh: NAM's tanh approximation for every gate and the cell (the C++ players' fast
        activations); the default is exact."""
        spec.validate()
        self.spec = spec
        self.dtype = f = np.float64 if precise else np.float32
        self.fast_tanh = bool(fast_tanh)
        hid, layers = spec.hidden_size, spec.layers
        scale = gate_prescale(spec.cell, hid)
        g = scale.size
        # wx[0] [I, G]: row 0 reads the audio, the rest the knobs (folded into the bias)
        self._wx_in = layers[0].w_ih.T.astype(np.float64) * scale
        self._wa = aligned.copy(self._wx_in[0], f)
        deep = [l.w_ih.T * scale for l in layers[1:]] or [np.zeros((hid, g))]
        self._wx = aligned.copy(np.stack(deep), f)  # [max(L-1, 1), H, G]
        self._wh = aligned.copy(np.stack([l.w_hh.T * scale for l in layers]), f)
        if spec.cell == "lstm":
            self._b_base = np.stack([(l.b_ih + l.b_hh) * scale for l in layers])
        else:
            self._b_base = np.stack([l.b_ih * scale for l in layers])
            self._bh = aligned.copy(np.stack([l.b_hh * scale for l in layers]), f)
        self._b = aligned.copy(self._b_base, f)  # [L, G]; row 0 gets the knobs folded in
        self._dense_w = aligned.copy(spec.dense_w, f)
        self._dense_b = float(spec.dense_b)
        self._skip = 1.0 if spec.skip else 0.0
        self._h = aligned.zeros((spec.num_layers, hid), f)
        self._c = aligned.zeros((spec.num_layers, hid), f)
        self._seq = aligned.zeros((0, hid), f)
        self.set_knobs(knobs)

    def set_knobs(self, knobs) -> None:
        knobs = np.asarray(list(knobs), dtype=np.float64)
        n_knobs = self.spec.input_size - 1
        if knobs.size != n_knobs:
            raise ModelError(f"model takes {n_knobs} knob value(s), got {knobs.size}")
        if knobs.size and (not np.all(np.isfinite(knobs)) or knobs.min() < 0 or knobs.max() > 1):
            raise ModelError(f"knob values must be 0..1, got {knobs.tolist()}")
        self.knobs = knobs
        fold = (self._wx_in[1:].T @ knobs) if knobs.size else 0.0
        self._b[0] = self._b_base[0] + fold
        self._warm: tuple[np.ndarray, np.ndarray] | None = None  # depends on the knobs

    def prepare(self, max_block: int) -> None:
        """Every array the kernel reads or writes, moved into one arena (``aligned.arena``):
        a block is then one call with two array arguments."""
        s, f = self.spec, self.dtype
        hid, layers = s.hidden_size, s.num_layers
        parts = {"wa": self._wa, "wx": self._wx, "wh": self._wh, "b": self._b, "h": self._h,
                 "c": self._c, "seq": np.zeros((max_block, hid)), "dense": self._dense_w}
        if s.cell == "gru":
            parts["bh"] = self._bh
        buf, off, views = aligned.arena({k: v.shape for k, v in parts.items()}, f)
        for k, v in parts.items():
            views[k][...] = v
        self._ar = buf
        # the engine's own names now see the arena: set_knobs and reset write into it
        self._wa, self._wx, self._wh, self._b = views["wa"], views["wx"], views["wh"], views["b"]
        self._h, self._c = views["h"], views["c"]
        self._seq, self._dense_w = views["seq"], views["dense"]
        if s.cell == "gru":
            self._bh = views["bh"]
        d = np.zeros(kr.D_COLS, np.int64)
        d[kr.D_LAYERS], d[kr.D_HIDDEN], d[kr.D_DEEP] = layers, hid, self._wx.shape[0]
        d[kr.D_MAX_BLOCK] = max_block
        d[kr.D_FAST] = 1 if self.fast_tanh else 0
        d[kr.D_LBR] = 1 if s.linear_before_reset else 0
        for col, name in ((kr.D_WA, "wa"), (kr.D_WX, "wx"), (kr.D_WH, "wh"), (kr.D_B, "b"),
                          (kr.D_BH, "bh"), (kr.D_H, "h"), (kr.D_C, "c"), (kr.D_SEQ, "seq"),
                          (kr.D_DENSE, "dense")):
            d[col] = off.get(name, 0)
        self._d = d
        self._dense_b_f = float(self._dense_b)
        kernel = kr.lstm_block if s.cell == "lstm" else kr.gru_block
        # the variant for this arena's dtype, chosen once (ahead-of-time builds hold both)
        self._kernel = resolve(kernel, np.zeros(1, np.float32), 1, 1.0, 1.0, self._ar, self._d,
                               self._dense_b_f, self._skip)
        self.reset()

    def reset(self) -> None:
        s = self.spec
        if s.prewarm > 0 and self._warm is not None:
            self._h[:], self._c[:] = self._warm
            return
        self._h[:] = 0.0 if s.h0 is None else s.h0
        self._c[:] = 0.0 if s.c0 is None else s.c0
        if s.prewarm > 0:  # whole blocks of zeros, as NAM Core's prewarm runs them
            n = self._seq.shape[0]
            z = np.zeros(n, np.float32)
            for _ in range(-(-s.prewarm // n)):
                z[:] = 0.0
                self.process(z)
            self._warm = (self._h.copy(), self._c.copy())

    def state(self) -> tuple[np.ndarray, np.ndarray]:
        """Copies of the hidden and cell state [L, H] as float64 (after prepare: the initial
        state, prewarmed when the spec asks for it)."""
        return self._h.astype(np.float64), self._c.astype(np.float64)

    def process(self, x: np.ndarray, in_gain: float = 1.0, out_gain: float = 1.0) -> None:
        """x: float32 [n], n <= max_block, in place."""
        self._kernel(x, x.shape[0], in_gain, out_gain, self._ar, self._d, self._dense_b_f,
                     self._skip)

    def get_state(self):
        return self._h.copy(), self._c.copy()


def examples():
    """Small random stacks covering every kernel variant: LSTM and GRU (both reset orders),
    two layers, float32 and float64 (warm-up compiles each once)."""
    rng = np.random.default_rng(0)
    out = []
    for cell, g in (("lstm", 4), ("gru", 3)):
        for lbr in (True, False):
            layers = [RecurrentLayer(*(rng.standard_normal(s) * 0.1 for s in
                                       ((g * 2, n_in), (g * 2, 2), (g * 2,), (g * 2,))))
                      for n_in in (1, 2)]
            spec = RecurrentSpec(cell, layers, rng.standard_normal(2), 0.0,
                                 linear_before_reset=lbr)
            out += [(spec, {"precise": False}), (spec, {"precise": True}),
                    (spec, {"fast_tanh": True})]
    return out
