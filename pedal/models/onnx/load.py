"""The pedal's ONNX amp models: read, recognise, verify, and pick an engine.

A file whose graph is a recognised LSTM or GRU stack (+ dense, optional input skip, weights in
float or int8 behind DequantizeLinear) runs on the numba engine, with the weights read from the
initializers; so does a WaveNet the pedal wrote (``pedal.wavenet`` names its configuration and
the initializers carry the weights by name). Recognition is checked, not assumed: at load the numba engine and onnxruntime run
the same test signal and must agree; if they do not, or the graph is anything else, the file runs
through onnxruntime (one intra-op thread) with pre-bound input and output buffers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import ModelError
from .write import STATE_INIT
from .proto import Graph, Node, read_graph
from ..engines import make_engine
from ..linear import LinearSpec
from ..recurrent import RecurrentLayer, RecurrentSpec
from ..smartamppro import SmartAmpProSpec
from ..wavenet import LayerArray, WaveNetSpec

MAX_FILE_BYTES = 64 * 1024 * 1024
VERIFY_ATOL = 1e-4
_PLUMBING = {"Transpose", "Squeeze", "Unsqueeze", "Reshape", "Identity", "Slice", "Cast",
             "Flatten"}
_LSTM_FROM_ONNX = (0, 2, 3, 1)  # ONNX i,o,f,c -> PyTorch i,f,g,o
_GRU_FROM_ONNX = (1, 0, 2)  # ONNX z,r,h -> PyTorch r,z,n


@dataclass
class Signature:
    """How a graph's inputs and outputs map onto the pedal's block call."""
    audio: str
    knob_count: int
    h: str | None
    c: str | None
    y: str
    h_out: str | None
    c_out: str | None
    state_shape: tuple | None  # shape of each state tensor
    audio_shape: tuple = (1, -1, 1)  # -1 marks the block length N
    y_shape: tuple = (1, -1, 1)
    per_sample: bool = False  # the graph takes exactly one sample per call

    @property
    def states(self):
        return [(i, o) for i, o in ((self.h, self.h_out), (self.c, self.c_out)) if i]


@dataclass
class AmpModelFile:
    path: str
    data: bytes
    graph: Graph
    signature: Signature
    sample_rate: int
    spec: RecurrentSpec | None
    metadata: dict = field(default_factory=dict)
    notices: list[str] = field(default_factory=list)
    engine_kind: str = "onnxruntime"
    why_not_numba: str = ""
    initial: dict = field(default_factory=dict)  # state input name -> [L, 1, H] start values
    session: object = None  # one onnxruntime session, shared by this model's engines

    @property
    def name(self) -> str:
        return Path(self.path).name

    @property
    def knob_count(self) -> int:
        return self.signature.knob_count

    def make_engine(self, knobs=(), fast_tanh: bool = False, precise: bool = False):
        if self.engine_kind == "numba":
            return make_engine(self.spec, knobs, fast_tanh, precise)
        return OrtEngine(self, knobs)

    def describe(self) -> str:
        arch = self.spec.arch if self.spec else "graph"
        return f"{self.name} ({arch}, {self.sample_rate} Hz, {self.engine_kind})"


# ---------------------------------------------------------------------------------------------
def _free(shape) -> int | None:
    """Index of the one variable dimension of an audio shape whose other dims are 1."""
    free = [i for i, d in enumerate(shape) if not (isinstance(d, int) and d > 0)]
    if len(free) == 1 and all(d == 1 for i, d in enumerate(shape) if i != free[0]):
        return free[0]
    return None


def _stem(name: str) -> str:
    """A state tensor's name without its in/out marker: hin, h_in, h_input -> h."""
    low = name.lower()
    for tag in ("_output", "_input", "output", "input", "_out", "_in", "out", "in"):
        if low.endswith(tag) and len(low) > len(tag):
            return low[: -len(tag)]
        if low.startswith(tag.strip("_")) and len(low) > len(tag):
            return low[len(tag.strip("_")):].strip("_")
    return low


def _generic_signature(g: Graph, name: str) -> Signature:
    """Map another ONNX interface onto the block call: one audio input (a free length, or a
    single sample per call), state inputs each paired with a same-shaped output."""
    got = ", ".join(f"{v.name}{v.shape}" for v in g.inputs) or "none"
    why = (f"{name}: inputs don't match the pedal's block signature (x[1,N,C], h, c -> y, "
           f"h_out, c_out) and cannot be mapped onto it: ")
    floats = [v for v in g.inputs if v.elem_type == 1]
    if len(floats) != len(g.inputs):
        raise ModelError(why + f"every input must be float32 (inputs are {got})")
    fixed = lambda v: all(isinstance(d, int) and d > 0 for d in v.shape)  # noqa: E731
    audio = [v for v in floats if _free(v.shape) is not None]
    single = [v for v in floats if fixed(v) and int(np.prod(v.shape)) == 1]
    if len(audio) > 1 or (not audio and len(single) != 1):
        raise ModelError(why + f"cannot tell which input is the audio (inputs are {got})")
    a = audio[0] if audio else single[0]
    per_sample = not audio
    states = [v for v in floats if v is not a]
    if any(not fixed(v) for v in states) or len(states) > 2:
        raise ModelError(why + f"besides the audio, only up to two fixed-shape state inputs "
                         f"are supported (inputs are {got})")
    outs = list(g.outputs)
    pairs = []
    for v in states:
        same = [o for o in outs if o.shape == v.shape]
        named = [o for o in same if _stem(o.name) == _stem(v.name)]
        pick = named[0] if named else (same[0] if len(same) == 1 else None)
        if pick is None:
            raise ModelError(why + f"state input '{v.name}' {v.shape} has no output of the "
                             "same shape to carry it to the next block")
        outs.remove(pick)
        pairs.append((v.name, pick.name))
    want = (lambda o: _free(o.shape) is not None) if not per_sample else \
        (lambda o: fixed(o) and int(np.prod(o.shape)) == 1)  # noqa: E731
    y = [o for o in outs if want(o)]
    if len(y) != 1:
        raise ModelError(why + "cannot tell which output is the audio (outputs are "
                         f"{', '.join(f'{o.name}{o.shape}' for o in g.outputs)})")
    tmpl = lambda v: tuple(-1 if i == _free(v.shape) else d  # noqa: E731
                           for i, d in enumerate(v.shape))
    (h, h_out), (c, c_out) = (pairs + [(None, None)] * 2)[:2]
    return Signature(a.name, 0, h, c, y[0].name, h_out, c_out,
                     tuple(states[0].shape) if states else None,
                     tmpl(a) if not per_sample else tuple(a.shape),
                     tmpl(y[0]) if not per_sample else tuple(y[0].shape), per_sample)


def _signature(g: Graph, name: str) -> Signature:
    by_name = {v.name: v for v in g.inputs}
    outs = [v.name for v in g.outputs]
    if "x" not in by_name or len(by_name["x"].shape) != 3:
        return _generic_signature(g, name)
    x = by_name["x"]
    if x.elem_type != 1 or len(x.shape) != 3 or x.shape[0] not in (1, None, "1") \
            or not isinstance(x.shape[2], int) or x.shape[2] < 1:
        raise ModelError(f"{name}: input 'x': must be float32 [1, N, C], got shape {x.shape}")
    if isinstance(x.shape[1], int) and x.shape[1] > 0:
        raise ModelError(f"{name}: input 'x': block length is fixed at {x.shape[1]}; "
                         "the pedal needs a variable length N")
    state_shape = None
    for key in ("h", "c"):
        if key in by_name:
            s = by_name[key].shape
            if len(s) != 3 or not all(isinstance(d, int) and d > 0 for d in s):
                raise ModelError(f"{name}: input '{key}': must be float32 [L, 1, H], got {s}")
            if state_shape is not None and tuple(s) != state_shape:
                raise ModelError(f"{name}: inputs 'h' and 'c' have different shapes")
            state_shape = tuple(s)
    extra = set(by_name) - {"x", "h", "c"}
    if extra:
        raise ModelError(f"{name}: unexpected input(s) {sorted(extra)}; the pedal feeds x, h, c")
    y = "y" if "y" in outs else outs[0]
    h_out = "h_out" if "h_out" in outs else None
    c_out = "c_out" if "c_out" in outs else None
    if ("h" in by_name) != (h_out is not None) or ("c" in by_name) != (c_out is not None):
        raise ModelError(f"{name}: every state input (h, c) needs its output (h_out, c_out); "
                         f"inputs {sorted(by_name)}, outputs {outs}")
    return Signature("x", x.shape[2] - 1, "h" if "h" in by_name else None,
                     "c" if "c" in by_name else None, y, h_out, c_out, state_shape,
                     (1, -1, x.shape[2]), (1, -1, 1))


# ---------------------------------------------------------------------------------------------
class _Tracer:
    def __init__(self, g: Graph):
        self.g = g
        self.producer = {o: n for n in g.nodes for o in n.outputs}

    def const(self, name: str):
        """Value of a constant tensor (initializer, Constant, DequantizeLinear of constants)."""
        if name in self.g.initializers:
            return self.g.initializers[name].astype(np.float64) \
                if self.g.initializers[name].dtype.kind == "f" else self.g.initializers[name]
        node = self.producer.get(name)
        if node is None:
            return None
        if node.op_type == "Constant" and isinstance(node.attrs.get("value"), np.ndarray):
            return node.attrs["value"]
        if node.op_type in ("Identity", "Cast"):
            v = self.const(node.inputs[0])
            return None if v is None else v.astype(np.float64)
        if node.op_type == "DequantizeLinear":
            q = self.const(node.inputs[0])
            scale = self.const(node.inputs[1])
            zero = self.const(node.inputs[2]) if len(node.inputs) > 2 and node.inputs[2] else 0
            if q is None or scale is None:
                return None
            axis = node.attrs.get("axis", 1)
            scale = np.asarray(scale, np.float64)
            zero = np.asarray(zero, np.float64)
            if scale.ndim == 1 and scale.size > 1:
                shape = [1] * q.ndim
                shape[axis] = -1
                scale, zero = scale.reshape(shape), zero.reshape(shape) if zero.size > 1 else zero
            return (q.astype(np.float64) - zero) * scale
        return None

    def plumbing(self, node: Node) -> bool:
        """Shape-only: reshapes, and a Gather of one scalar index (picks a singleton axis)."""
        if node.op_type in _PLUMBING:
            return True
        if node.op_type == "Gather" and len(node.inputs) > 1:
            idx = self.const(node.inputs[1])
            return idx is not None and np.ndim(idx) == 0
        return False

    def source(self, name: str) -> str:
        """Follow shape-only ops back to the first tensor that is not plumbing."""
        seen = 0
        while name in self.producer and self.plumbing(self.producer[name]) and seen < 64:
            name = self.producer[name].inputs[0]
            seen += 1
        return name

    def consumers(self, name: str) -> list[Node]:
        return [n for n in self.g.nodes if name in n.inputs]

    def forward(self, name: str) -> str:
        """Follow shape-only ops forward while the tensor has exactly one consumer."""
        for _ in range(64):
            cons = self.consumers(name)
            if len(cons) != 1 or not self.plumbing(cons[0]):
                return name
            name = cons[0].outputs[0]
        return name


def _recognise(g: Graph, sig: Signature, sample_rate: int, name: str) -> RecurrentSpec:
    """The RecurrentSpec this graph computes, or raise ValueError saying what did not fit."""
    tr = _Tracer(g)
    rnn = [n for n in g.nodes if n.op_type in ("LSTM", "GRU")]
    if not rnn:
        raise ValueError("no LSTM or GRU node")
    cell = rnn[0].op_type.lower()
    if any(n.op_type.lower() != cell for n in rnn):
        raise ValueError("mixed LSTM and GRU layers")
    layers, prev = [], sig.audio
    hidden = None
    for i, node in enumerate(rnn):
        a = node.attrs
        if a.get("direction", "forward") not in ("forward", b"forward") or a.get("clip") \
                or a.get("activations") or a.get("input_forget", 0) or a.get("layout", 0):
            raise ValueError(f"layer {i}: unsupported attributes {sorted(a)}")
        if len(node.inputs) > 4 and node.inputs[4]:
            raise ValueError(f"layer {i}: sequence_lens is not supported")
        if len(node.inputs) > 7 and node.inputs[7]:
            raise ValueError(f"layer {i}: peephole weights are not supported")
        if tr.source(node.inputs[0]) != tr.source(prev):
            raise ValueError(f"layer {i}: input is not the previous layer's output")
        w, r = tr.const(node.inputs[1]), tr.const(node.inputs[2])
        b = tr.const(node.inputs[3]) if len(node.inputs) > 3 and node.inputs[3] else None
        if w is None or r is None:
            raise ValueError(f"layer {i}: weights are not constants")
        hidden = int(a.get("hidden_size", r.shape[-1]))
        gates = 4 if cell == "lstm" else 3
        if w.shape[:2] != (1, gates * hidden) or r.shape != (1, gates * hidden, hidden):
            raise ValueError(f"layer {i}: weight shapes {w.shape}, {r.shape}")
        b = np.zeros((1, 2 * gates * hidden)) if b is None else b
        order = _LSTM_FROM_ONNX if cell == "lstm" else _GRU_FROM_ONNX

        def reo(m):
            return np.concatenate([m[k * hidden:(k + 1) * hidden] for k in order], axis=0)

        layers.append(RecurrentLayer(reo(w[0]), reo(r[0]), reo(b[0, :gates * hidden]),
                                     reo(b[0, gates * hidden:])))
        if cell == "gru":
            lbr = bool(a.get("linear_before_reset", 0))
        prev = node.outputs[0]
    # dense head: MatMul(+Add) or Gemm on the last layer's output
    head = None
    for n in tr.consumers(tr.forward(prev)) + [n for n in g.nodes if n.op_type in
                                                ("MatMul", "Gemm")]:
        if n.op_type in ("MatMul", "Gemm") and tr.source(n.inputs[0]) == tr.source(prev):
            head = n
            break
    if head is None:
        raise ValueError("no dense layer after the last recurrent layer")
    wd = tr.const(head.inputs[1])
    if wd is None:
        raise ValueError("dense weights are not constants")
    if head.op_type == "Gemm" and head.attrs.get("transB", 0):
        wd = wd.T
    if wd.shape != (hidden, 1):
        raise ValueError(f"dense weight shape {wd.shape}, expected ({hidden}, 1)")
    bd, out = 0.0, head.outputs[0]
    if head.op_type == "Gemm" and len(head.inputs) > 2 and head.inputs[2]:
        bd = float(np.ravel(tr.const(head.inputs[2]))[0])
    skip = False
    for _ in range(3):  # bias add, then skip add, in either order
        cons = tr.consumers(tr.forward(out))
        if len(cons) != 1 or cons[0].op_type != "Add":
            break
        add = cons[0]
        other = [s for s in add.inputs if tr.source(s) != tr.source(out)][0]
        c = tr.const(other)
        if c is not None and c.size == 1:
            bd += float(np.ravel(c)[0])
        elif tr.source(other) == sig.audio and not skip:
            skip = True
        else:
            raise ValueError("an Add after the dense layer is neither a bias nor the input skip")
        out = add.outputs[0]
    if tr.source(sig.y) != tr.source(out):
        raise ValueError("the output is not the dense layer's result")
    n_layers = len(layers)
    spec = RecurrentSpec(cell, layers, wd[:, 0], bd, skip, sig.knob_count + 1, sample_rate,
                         linear_before_reset=lbr if cell == "gru" else True)
    if sig.state_shape is not None and int(np.prod(sig.state_shape)) != n_layers * hidden:
        raise ValueError(f"state shape {sig.state_shape} does not fit {n_layers}x{hidden}")
    if sig.h is None:
        raise ValueError("the graph carries no state between blocks")
    spec.validate(name)
    return spec


# ---------------------------------------------------------------------------------------------
def _recognise_wavenet(g: Graph, sig: Signature, sample_rate: int, name: str) -> WaveNetSpec:
    """The WaveNetSpec a pedal-written WaveNet graph holds, read back by initializer name."""
    cfg = json.loads(g.metadata["pedal.wavenet"])
    get = _weights(g)

    arrays = []
    for i, a in enumerate(cfg["arrays"]):
        p, c, n_lay = f"a{i}", a["channels"], len(a["dilations"])
        m = 2 * c if a["gated"] else c
        layer = lambda j, k, shape: get(f"{p}.l{j}.{k}", shape)  # noqa: E731
        arrays.append(LayerArray(
            a["input_size"], a["condition_size"], a["head_size"], c, a["kernel_size"],
            list(a["dilations"]), a["activation"], a["gated"], a["head_bias"],
            get(f"{p}.rechannel", (c, a["input_size"])),
            [layer(j, "conv_w", (m, c, a["kernel_size"])) for j in range(n_lay)],
            [layer(j, "conv_b", (m,)) for j in range(n_lay)],
            [layer(j, "mixin", (m, a["condition_size"])) for j in range(n_lay)],
            [layer(j, "w1x1", (c, c)) for j in range(n_lay)],
            [layer(j, "b1x1", (c,)) for j in range(n_lay)],
            get(f"{p}.head_w")[:, :, 0],
            get(f"{p}.head_b") if a["head_bias"] else None,
            get(f"{p}.rechannel_b", (c,)) if a.get("rechannel_bias") else None,
            a.get("gate_activation", "Sigmoid"),
            [layer(j, "layer_head", None)[:, :, 0] for j in range(n_lay)]
            if a.get("layer_heads") else None))
    spec = WaveNetSpec(arrays, float(cfg["head_scale"]), sample_rate,
                       prewarm=bool(cfg.get("prewarm", True)))
    if sig.h is None or sig.state_shape is None:
        raise ValueError("WaveNet graph without its state input 'h'")
    return spec


def _weights(g: Graph):
    tr = _Tracer(g)

    def get(key, shape=None):
        v = tr.const(key)
        if v is None:
            raise ValueError(f"weight {key!r} is missing")
        v = np.asarray(v, np.float64)
        return v if shape is None else v.reshape(shape)
    return get


def _recognise_linear(g: Graph, sig: Signature, sample_rate: int, name: str) -> LinearSpec:
    """The LinearSpec a pedal-written Linear graph holds, read back by initializer name."""
    get = _weights(g)
    taps = int(json.loads(g.metadata["pedal.linear"])["taps"])
    return LinearSpec(get("fir_w", (taps,)), float(get("fir_b", (1,))[0]), sample_rate)


def _recognise_smartamppro(g: Graph, sig: Signature, sample_rate: int,
                           name: str) -> SmartAmpProSpec:
    """The SmartAmpProSpec a pedal-written SmartAmpPro graph holds, read back by name."""
    get = _weights(g)
    cfg = json.loads(g.metadata["pedal.smartamppro"])
    w1 = get("conv1_w")[:, 0, :].T  # [K1, C1]
    w2v = np.transpose(get("conv2_w"), (2, 1, 0))  # [Kv, C1, C2]: the taps the file uses
    lo, hi = cfg["conv2_taps"]
    w2 = np.zeros((int(cfg["conv2_kernel"]),) + w2v.shape[1:])  # taps on padding are unused
    spec = SmartAmpProSpec(w1, get("conv1_b"), w2, get("conv2_b"), get("lstm_w")[:, :, 0].T,
                           get("lstm_b"), None, get("dense_w")[0, :, 0],
                           float(get("dense_b", (1,))[0]), int(cfg["window"]),
                           int(cfg["stride1"]), int(cfg["stride2"]), sample_rate)
    w2[lo + spec.pad2:hi + spec.pad2 + 1] = w2v  # pad2 follows from the geometry alone
    return spec


_BY_METADATA = {"pedal.wavenet": _recognise_wavenet,
                "pedal.linear": _recognise_linear, "pedal.smartamppro": _recognise_smartamppro}


def _session(data: bytes, name: str):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:
        msg = str(exc).strip().splitlines()[-1][:300]
        raise ModelError(f"{name}: onnxruntime cannot load the model ({msg})") from None


class OrtEngine:
    """Runs the file through onnxruntime with I/O bound to buffers made in ``prepare``."""

    def __init__(self, model: AmpModelFile, knobs=()):
        self.model = model
        self.sig = model.signature
        if model.session is None:
            model.session = _session(model.data, model.path)
        self.sess = model.session
        self.set_knobs(knobs)
        self._bindings = []

    def set_knobs(self, knobs):
        knobs = np.asarray(list(knobs), dtype=np.float32)
        if knobs.size != self.sig.knob_count:
            raise ModelError(f"model takes {self.sig.knob_count} knob value(s), got {knobs.size}")
        self.knobs = knobs
        if getattr(self, "_x", None) is not None:
            self._x[:, 1:] = knobs

    def prepare(self, max_block: int):
        sig = self.sig
        f = np.float32
        self._x = np.zeros((max_block, sig.knob_count + 1), f)  # [N, C], as [1, N, C] is
        self._x[:, 1:] = self.knobs
        self._y = np.zeros(max_block, f)
        shape = sig.state_shape or (1, 1, 1)
        self._s_in = {k: np.zeros(shape, f) for k in (sig.h, sig.c) if k}
        self._s_out = {k: np.zeros(shape, f) for k in (sig.h_out, sig.c_out) if k}
        self._pairs = [(self._s_out[o], self._s_in[i]) for i, o in
                       ((sig.h, sig.h_out), (sig.c, sig.c_out)) if i]
        sizes = [1] if sig.per_sample else range(1, max_block + 1)
        self._bindings = [None] * (max_block + 1)
        for n in sizes:
            self._bindings[n] = self._bind(n)
        self.reset()
        # one call so onnxruntime allocates its working memory now, not on the audio thread
        self.process(np.zeros(max_block, f))
        self.reset()

    def _bind(self, n):
        if n == 0:
            return None
        io = self.sess.io_binding()
        f = np.float32
        shape = lambda tmpl: [n if d == -1 else d for d in tmpl]  # noqa: E731
        io.bind_input(self.sig.audio, "cpu", 0, f, shape(self.sig.audio_shape),
                      self._x.ctypes.data)
        for k, a in self._s_in.items():
            io.bind_input(k, "cpu", 0, f, list(a.shape), a.ctypes.data)
        io.bind_output(self.sig.y, "cpu", 0, f, shape(self.sig.y_shape), self._y.ctypes.data)
        for k, a in self._s_out.items():
            io.bind_output(k, "cpu", 0, f, list(a.shape), a.ctypes.data)
        return io

    def reset(self):
        for k, a in self._s_in.items():
            a[:] = self.model.initial.get(k, 0.0)

    def process(self, x, in_gain=1.0, out_gain=1.0):
        n = x.shape[0]
        if n == 0:
            return
        if self.sig.per_sample:  # a graph that takes one sample per call (slow, but exact)
            one = self._bindings[1]
            for t in range(n):
                self._x[0, 0] = x[t] * in_gain
                self.sess.run_with_iobinding(one)
                x[t] = self._y[0] * out_gain
                for src, dst in self._pairs:
                    np.copyto(dst, src)
            return
        xin = self._x[:n, 0]
        np.multiply(x, in_gain, out=xin)
        self.sess.run_with_iobinding(self._bindings[n])
        np.multiply(self._y[:n], out_gain, out=x)
        for src, dst in self._pairs:
            np.copyto(dst, src)


# ---------------------------------------------------------------------------------------------
def _metadata_rate(meta: dict, name: str) -> int:
    raw = meta.get("pedal.sample_rate", "48000")
    try:
        sr = int(float(raw))
    except ValueError:
        raise ModelError(f"{name}: metadata pedal.sample_rate: must be a number, got {raw!r}") \
            from None
    if not 8000 <= sr <= 384000:
        raise ModelError(f"{name}: metadata pedal.sample_rate: must be 8000..384000, got {sr}")
    return sr


def _verify(model: AmpModelFile) -> float:
    """Max abs difference between the numba engine and onnxruntime on a test signal."""
    rng = np.random.default_rng(1234)
    n = 3000
    t = np.arange(n) / model.sample_rate
    x = (0.5 * np.sin(2 * np.pi * 110 * t * (1 + 4 * t)) + 0.05 * rng.standard_normal(n))
    x = x.astype(np.float32)
    knobs = [0.5] * model.knob_count
    outs = []
    for kind in ("numba", "onnxruntime"):
        model.engine_kind = kind
        eng = model.make_engine(knobs)
        eng.prepare(256)
        y = x.copy()
        for i in range(0, n, 256):
            eng.process(y[i:i + 256])
        outs.append(y)
    return float(np.max(np.abs(outs[0].astype(np.float64) - outs[1])))


def load_onnx(path, *, prefer: str = "numba") -> AmpModelFile:
    """Read and check a pedal ONNX amp model; pick the numba engine when it is exact."""
    from ..files import checked_model_file

    p, _ = checked_model_file(path, MAX_FILE_BYTES)
    name = str(p)
    data = p.read_bytes()
    graph = read_graph(data, name)
    for k, v in graph.initializers.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise ModelError(f"{name}: initializer {k!r} has NaN or infinite values")
    sig = _signature(graph, name)
    sr = _metadata_rate(graph.metadata, name)
    meta = {k.removeprefix("pedal."): v for k, v in graph.metadata.items()}
    model = AmpModelFile(name, data, graph, sig, sr, None, meta)
    for key, state in (("h0", sig.h), ("c0", sig.c)):
        raw = graph.metadata.get(f"pedal.{key}")
        if raw is None or state is None:
            continue
        try:
            v = np.array(json.loads(raw), dtype=np.float64)
            model.initial[state] = v.reshape(sig.state_shape)
        except (ValueError, TypeError):
            raise ModelError(f"{name}: metadata pedal.{key}: must be a list of "
                             f"{sig.state_shape} numbers") from None
        if not np.all(np.isfinite(v)):
            raise ModelError(f"{name}: metadata pedal.{key}: NaN or infinite values")
    init = graph.initializers.get(STATE_INIT)
    if init is not None and sig.h is not None:
        if tuple(init.shape) != tuple(sig.state_shape or ()):
            raise ModelError(f"{name}: initializer {STATE_INIT}: shape {tuple(init.shape)} "
                             f"does not match the state input {sig.state_shape}")
        model.initial[sig.h] = init.astype(np.float64)
    try:
        flat = [k for k in _BY_METADATA if k in graph.metadata]
        if flat:  # a flat-state graph; its initial state is the engine's own (prewarm/zeros)
            model.spec = _BY_METADATA[flat[0]](graph, sig, sr, name)
        else:
            model.spec = _recognise(graph, sig, sr, name)
            if sig.h in model.initial:
                model.spec.h0 = model.initial[sig.h][:, 0, :]
            if sig.c in model.initial:
                model.spec.c0 = model.initial[sig.c][:, 0, :]
        model.spec.validate(name)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        model.spec = None
        model.why_not_numba = str(exc)
    model.session = _session(data, name)  # onnxruntime must accept the file either way
    if model.spec is not None and prefer == "numba":
        err = _verify(model)  # both engines start from the stored initial state
        if err <= VERIFY_ATOL:
            model.engine_kind = "numba"
        else:
            model.engine_kind = "onnxruntime"
            model.why_not_numba = f"numba engine differs from onnxruntime by {err:.2g}"
            model.notices.append(f"{name}: graph not reproduced exactly ({err:.2g}); "
                                 "running it through onnxruntime")
    else:
        model.engine_kind = "onnxruntime"
    return model
