"""In-memory descriptions of the amp-model architectures (a ``*Spec`` dataclass each) and the
numba engine that runs each one block by block.

Every engine (and ``onnx.runtime.OrtEngine``) is an ``AmpEngine``: the amp block and the
offline tools use nothing else of it.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np


class AmpEngine(Protocol):
    """What runs a model: made from a description (``engine(spec, knobs, fast_tanh=,
    precise=)``), prepared once, then ``process`` in place on the audio thread."""

    knobs: list

    def set_knobs(self, knobs) -> None:
        """Knob values 0..1 (models conditioned on knobs); checked here, never in process."""

    def prepare(self, max_block: int) -> None:
        """Make every buffer for blocks of up to ``max_block`` samples; not real-time safe."""

    def reset(self) -> None:
        """Back to the model's initial state (its prewarm, zeros, or the file's own)."""

    def process(self, x: np.ndarray, in_gain: float = 1.0, out_gain: float = 1.0) -> None:
        """x (float32, len <= max_block) in place: allocates nothing, locks nothing."""
