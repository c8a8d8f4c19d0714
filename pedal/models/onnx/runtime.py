"""ONNX graphs the numba engines do not run: one onnxruntime session per model (one thread),
and an engine whose input and output are bound to buffers made in ``prepare``."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...errors import ModelError
from .signature import Signature


@dataclass
class OnnxGraph:
    """What an ONNX model file holds beyond its numba description: the file's bytes (an
    onnxruntime session is made from them, never from the path), how its inputs map onto the
    block call, and the initial state of each state input."""

    data: bytes
    signature: Signature
    initial: dict = field(default_factory=dict)  # state input name -> start values
    session: object = None  # made on first use, shared by this model's engines

    def get_session(self, name: str):
        if self.session is None:
            self.session = make_session(self.data, name)
        return self.session


def make_session(data: bytes, name: str):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(data, opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # noqa: BLE001 - onnxruntime's errors have no common base
        from .load import ort_message

        raise ModelError(f"{name}: onnxruntime cannot load the model ({ort_message(exc)})") \
            from None


class OrtEngine:
    """Runs the file through onnxruntime with I/O bound to buffers made in ``prepare``."""

    def __init__(self, graph: OnnxGraph, knobs=(), name: str = "<onnx>"):
        self.graph = graph
        self.sig = graph.signature
        self.sess = graph.get_session(name)
        self.set_knobs(knobs)
        self._bindings: list = []

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
                       ((sig.h, sig.h_out), (sig.c, sig.c_out)) if i and o]
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
            a[:] = self.graph.initial.get(k, 0.0)

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
