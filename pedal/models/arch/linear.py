"""NAM's ``Linear`` architecture: a plain FIR over the input (used for identity tests)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ...kernels.filters import fir_history
from ...errors import ModelError


@dataclass
class LinearSpec:
    weights: np.ndarray  # [R]: y[t] = sum_k w[k] x[t - (R-1) + k] + bias
    bias: float = 0.0
    sample_rate: int = 48000
    metadata: dict = field(default_factory=dict)

    arch = property(lambda self: f"linear-{len(self.weights)}")
    n_weights = property(lambda self: len(self.weights) + 1)
    macs_per_sample = property(lambda self: len(self.weights))
    receptive_field = property(lambda self: len(self.weights))

    def validate(self, name="<memory>"):
        if not 1 <= len(self.weights) <= 65536 or not np.all(np.isfinite(self.weights)):
            raise ModelError(f"{name}: linear weights must be 1..65536 finite values")


class LinearEngine:
    def __init__(self, spec: LinearSpec, knobs=(), *, fast_tanh: bool = False,
                 precise: bool = False):
        if len(list(knobs)):
            raise ModelError("this model takes no knob values")
        self.spec = spec
        self.knobs: list = []
        self._w = np.asarray(spec.weights, np.float64)
        self._hist = np.zeros(max(len(self._w) - 1, 1))

    def set_knobs(self, knobs):
        if len(list(knobs)):
            raise ModelError("this model takes no knob values")

    def prepare(self, max_block):
        self.reset()

    def reset(self):
        self._hist[:] = 0.0

    def process(self, x, in_gain=1.0, out_gain=1.0):
        fir_history(x, x.shape[0], self._w, float(self.spec.bias), self._hist, in_gain,
                            out_gain)


def examples():
    return [(LinearSpec(np.array([0.25, 0.5, 0.25])), {})]
