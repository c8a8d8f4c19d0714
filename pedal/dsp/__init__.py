"""DSP blocks: each has prepare / process (in place, real-time safe) / reset / latency."""

from .amp import AmpModel
from .block import Block, Chain, ProcessSpec
from .cab import CabinetIR
from .eq import Band, ParametricEQ
from .gate import NoiseGate
from .level import OutputLevel

__all__ = ["AmpModel", "Band", "Block", "CabinetIR", "Chain", "NoiseGate", "OutputLevel",
           "ParametricEQ", "ProcessSpec"]
