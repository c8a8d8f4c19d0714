"""The numba engine for each in-memory model description."""

from __future__ import annotations

from .linear import LinearEngine, LinearSpec
from .recurrent import RecurrentEngine, RecurrentSpec
from .smartamppro import SmartAmpProEngine, SmartAmpProSpec
from .wavenet import WaveNetEngine, WaveNetSpec


def make_engine(spec, knobs=(), fast_tanh: bool = False, precise: bool = False):
    """fast_tanh applies to WaveNets (as NAM's plugin runs them); precise runs LSTM/GRU in
    float64 (for comparisons with reference runtimes; real time uses float32)."""
    if isinstance(spec, RecurrentSpec):
        return RecurrentEngine(spec, knobs, precise)
    if isinstance(spec, WaveNetSpec):
        return WaveNetEngine(spec, knobs, fast_tanh)
    if isinstance(spec, SmartAmpProSpec):
        return SmartAmpProEngine(spec, knobs)
    if isinstance(spec, LinearSpec):
        return LinearEngine(spec, knobs)
    raise TypeError(f"no engine for {type(spec).__name__}")
