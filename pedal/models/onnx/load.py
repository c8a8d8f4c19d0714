"""Loading an ONNX amp model: read, check, recognise, verify, and pick an engine.

A graph is accepted only when every node is an operator of the allow-list below (plain math,
activations, shape plumbing, convolutions, matrix products and the recurrent cells): no control
flow, nothing that makes a tensor whose size comes from a computed value (ConstantOfShape,
Tile, Expand, Range, Resize...), so what onnxruntime allocates is bounded by the input block
and the weights. The reader (``proto.py``) has already refused external data, subgraphs and
functions.

A graph the pedal recognises (``recognise.py``) runs on the numba engine once both engines
agree on a test signal; anything else runs through onnxruntime (one thread, I/O bound to
pre-allocated buffers).
"""

from __future__ import annotations

import json
from contextlib import contextmanager

import numpy as np

from ...errors import ModelError
from ..arch.recurrent import RecurrentSpec
from ..record import ModelFile
from .layout import STATE_INIT
from .proto import Graph, read_graph
from .recognise import recognise
from .runtime import OnnxGraph, make_session
from .signature import signature

MAX_FILE_BYTES = 64 * 1024 * 1024
# the numba engine must reproduce onnxruntime to this on the test signal. Reading a graph
# wrong is an error of 0.2 to 1.5 (swapped gates or knobs, a transposed matrix, a missing
# skip: the goldens' README); two float32 runtimes of a high-gain recurrent net differ by up
# to a few 1e-4 (the GuitarML GRU-32: 3e-4), int8 weights by a few 1e-3. So 0.02, with numba
# in float64, tells a wrong reading from rounding.
VERIFY_ATOL = 0.02
DEFAULT_RATE = 48000
ALLOWED_OPS = frozenset("""
    Abs Add Sub Mul Div Neg Reciprocal Sqrt Exp Log Pow Erf Sign Floor Ceil Round Max Min Mean
    Sum Clip Relu LeakyRelu PRelu Elu Selu Celu Gelu HardSigmoid HardSwish Sigmoid Softplus
    Softsign Tanh Sin Cos Identity Cast CastLike Constant Shape Size Reshape Flatten Squeeze
    Unsqueeze Transpose Slice Gather Concat Split Pad Conv ConvTranspose MatMul Gemm LSTM GRU RNN
    DequantizeLinear QuantizeLinear BatchNormalization LayerNormalization ReduceMean ReduceSum
    ReduceMax ReduceMin Greater Less Equal Where Not And Or
""".split())


def check_ops(graph: Graph, name: str) -> None:
    """Every node an allowed operator of the default ONNX domain."""
    for i, n in enumerate(graph.nodes):
        if n.domain not in ("", "ai.onnx"):
            raise ModelError(f"{name}: node {n.name or i} uses the operator domain "
                             f"{n.domain!r}; only standard ONNX operators are supported")
        if n.op_type not in ALLOWED_OPS:
            raise ModelError(f"{name}: operator {n.op_type!r} (node {n.name or i}) is not "
                             "supported: the pedal runs graphs of plain math, activations, "
                             "convolutions and recurrent cells, without loops or tensors "
                             "sized at run time")
    for k, v in graph.initializers.items():
        if v.dtype.kind == "f" and not np.all(np.isfinite(v)):
            raise ModelError(f"{name}: initializer {k!r} has NaN or infinite values")


def metadata_rate(meta: dict, name: str) -> tuple[int, bool]:
    """(sample rate, whether the file states it)."""
    raw = meta.get("pedal.sample_rate")
    if raw is None:
        return DEFAULT_RATE, False
    try:
        sr = int(float(raw))
    except (ValueError, OverflowError):
        raise ModelError(f"{name}: metadata pedal.sample_rate: must be a number, got "
                         f"{raw[:40]!r}") from None
    if not 8000 <= sr <= 384000:
        raise ModelError(f"{name}: metadata pedal.sample_rate: must be 8000..384000, got {sr}")
    return sr, True


def _initial_state(graph: Graph, sig, name: str) -> dict:
    initial = {}
    for key, state in (("h0", sig.h), ("c0", sig.c)):
        raw = graph.metadata.get(f"pedal.{key}")
        if raw is None or state is None:
            continue
        try:
            v = np.array(json.loads(raw), dtype=np.float64)
            initial[state] = v.reshape(sig.state_shape)
        except (ValueError, TypeError, RecursionError, OverflowError):
            raise ModelError(f"{name}: metadata pedal.{key}: must be a list of "
                             f"{sig.state_shape} numbers") from None
        if not np.all(np.isfinite(v)):
            raise ModelError(f"{name}: metadata pedal.{key}: NaN or infinite values")
    init = graph.initializers.get(STATE_INIT)
    if init is not None and sig.h is not None:
        if tuple(init.shape) != tuple(sig.state_shape or ()):
            raise ModelError(f"{name}: initializer {STATE_INIT}: shape {tuple(init.shape)} "
                             f"does not match the state input {sig.state_shape}")
        initial[sig.h] = init.astype(np.float64)
    return initial


def verify(model: ModelFile) -> float:
    """Max abs difference between the numba engine and onnxruntime on a test signal."""
    from ...dsp.run import run_blocks

    rng = np.random.default_rng(1234)
    n = 3000
    t = np.arange(n) / model.sample_rate
    x = (0.5 * np.sin(2 * np.pi * 110 * t * (1 + 4 * t)) + 0.05 * rng.standard_normal(n))
    x = x.astype(np.float32)
    knobs = [0.5] * model.knob_count
    outs = []
    for kind in ("numba", "onnxruntime"):
        model.engine_kind = kind
        with _onnxruntime_errors(model.path):
            eng = model.make_engine(knobs, precise=kind == "numba")
            eng.prepare(256)
            outs.append(run_blocks(eng, x, 256))
    return float(np.max(np.abs(outs[0].astype(np.float64) - outs[1])))


@contextmanager
def _onnxruntime_errors(name: str):
    """A graph that fails inside onnxruntime (a Tile of a bad shape, ...) is refused here,
    with onnxruntime's own words, and never reaches the audio thread."""
    try:
        yield
    except ModelError:
        raise
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors have no common base
        raise ModelError(f"{name}: onnxruntime fails running the model "
                         f"({ort_message(exc)})") from None


def ort_message(exc: Exception) -> str:
    """onnxruntime's own words, without its status-code prefix and boilerplate."""
    import re

    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", str(exc).strip())
    lines = [l.strip() for l in text.splitlines() if l.strip() and
             not l.strip().startswith("Please fix")]
    return (lines[0] if lines else type(exc).__name__)[:240]


def parse_onnx(data: bytes, name: str, *, prefer: str = "numba") -> ModelFile:
    """An ONNX model's bytes -> a checked ModelFile."""
    graph = read_graph(data, name)
    check_ops(graph, name)
    sig = signature(graph, name)
    sr, stated = metadata_rate(graph.metadata, name)
    meta = {k.removeprefix("pedal."): v for k, v in graph.metadata.items()}
    onnx = OnnxGraph(data, sig, _initial_state(graph, sig, name))
    model = ModelFile(name, "onnx", None, sr, meta, rate_stated=stated, onnx=onnx,
                      engine_kind="onnxruntime")
    try:
        spec = recognise(graph, sig, sr, name)
        if isinstance(spec, RecurrentSpec):  # the others start from their engine's own state
            if sig.h in onnx.initial:
                spec.h0 = onnx.initial[sig.h][:, 0, :]
            if sig.c in onnx.initial:
                spec.c0 = onnx.initial[sig.c][:, 0, :]
        spec.validate(name)
        model.spec = spec
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        model.why_not_numba = str(exc)
    onnx.session = make_session(data, name)  # onnxruntime must accept the file either way
    if model.spec is not None and prefer == "numba":
        err = verify(model)  # both engines start from the stored initial state
        if err <= VERIFY_ATOL:
            model.engine_kind = "numba"
        else:
            model.engine_kind = "onnxruntime"
            model.why_not_numba = f"numba engine differs from onnxruntime by {err:.2g}"
            model.notices.append(f"{name}: graph not reproduced exactly ({err:.2g}); "
                                 "running it through onnxruntime")
    else:
        model.engine_kind = "onnxruntime"
        with _onnxruntime_errors(name):  # one run at a large block (prepare makes one)
            model.make_engine([0.5] * model.knob_count).prepare(256)
    return model


def load_onnx(path, *, prefer: str = "numba") -> ModelFile:
    """Read and check an ONNX amp model file (see ``parse_onnx``)."""
    from ..files import read_model_bytes

    p, data = read_model_bytes(path, MAX_FILE_BYTES)
    return parse_onnx(data, str(p), prefer=prefer)
