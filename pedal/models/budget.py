"""Resource budgets a model must fit before anything is allocated for it.

A 5 KB file can declare a WaveNet whose dilations are 65536 (a receptive field of 50 million
samples and gigabytes of history), an ONNX state of 250 million values, or a network whose
warm-up alone takes minutes. Every loader computes these figures from the declared sizes, and
calls ``check`` before it reads weights or makes buffers; the engines check the buffers they are
about to make the same way. The limits are far above any real capture (NAM's standard WaveNet:
13,802 weights, 13,320 multiply-adds per sample, a receptive field of 4,093 samples) and far
below what would hang the pedal.
"""

from __future__ import annotations

from ..errors import ModelError

MAX_WEIGHTS = 4_000_000              # 16 MB of float32
MAX_MACS_PER_SAMPLE = 1_000_000      # 75x NAM's standard WaveNet
MAX_RECEPTIVE_FIELD = 1 << 17        # 2.7 s at 48 kHz
MAX_WARMUP_MACS = 4_000_000_000      # receptive field x MACs: the prewarm's cost, ~1-2 s
MAX_STATE_VALUES = 16_000_000        # history and state buffers, 64 MB of float32

LIMITS = {"weights": MAX_WEIGHTS, "multiply-adds per sample": MAX_MACS_PER_SAMPLE,
          "receptive field (samples)": MAX_RECEPTIVE_FIELD,
          "warm-up multiply-adds": MAX_WARMUP_MACS, "state values": MAX_STATE_VALUES}


def check(name: str, *, weights: int | None = None, macs: int | None = None,
          receptive_field: int | None = None, state: int | None = None) -> None:
    """Raise ModelError naming the file, the figure and its limit when one is over."""
    figures = {"weights": weights, "multiply-adds per sample": macs,
               "receptive field (samples)": receptive_field, "state values": state}
    if macs is not None and receptive_field is not None:
        figures["warm-up multiply-adds"] = int(macs) * int(receptive_field)
    for what, value in figures.items():
        if value is not None and int(value) > LIMITS[what]:
            raise ModelError(f"{name}: the model declares {int(value):,} {what}, over the "
                             f"pedal's limit of {LIMITS[what]:,}")
