"""int8 weights that never ruin a model.

The writer stores each matrix as int8 with one scale per output row (per gate row of a
recurrent layer, per output channel of a convolution), behind DequantizeLinear. That is close
enough for almost every capture, but a recurrent network feeds its own rounding back, so the
error is measured, not assumed: ``int8_error`` runs the float and the int8 model on the
standard input (the loudness clip, ``models/loudness.py``) at its own level and 12 dB hotter,
and reports the larger error-to-signal ratio.

The limit is an ESR of 0.01. That is the figure Neural Amp Modeler's trainer calls a great
capture of the real amp: quantisation that adds an error as large as a whole capture's is not
a size saving but another model, so ``pedal convert`` and ``pedal compress`` keep float
weights above it and say so. Measured on the 17 shared recurrent, SmartAmpPro and WaveNetVA
files: 0.0000 to 0.0036, and 0.0097 for the GuitarML GRU-32 (its high gain amplifies rounding;
it is the one near the limit).
"""

from __future__ import annotations

import numpy as np

INT8_MAX_ESR = 0.01
HOT_DB = 12.0


def _engine(model_or_spec, knobs):
    if hasattr(model_or_spec, "make_engine"):
        return model_or_spec.make_engine(knobs)
    from .registry import architecture

    return architecture(model_or_spec).engine(model_or_spec, knobs)


def int8_error(reference, quantized, knobs=()) -> float:
    """ESR of ``quantized`` against ``reference`` (ModelFiles or specs, one rate) on the
    standard input at its level and 12 dB hotter: the worse of the two."""
    from ..dsp.run import run_blocks
    from .loudness import standard_input

    rate = int(getattr(reference, "sample_rate", 48000))
    x = standard_input(rate)
    worst = 0.0
    for gain in (1.0, 10 ** (HOT_DB / 20)):
        ys = []
        for m in (reference, quantized):
            eng = _engine(m, list(knobs))
            eng.prepare(256)
            ys.append(run_blocks(eng, x * gain, 256).astype(np.float64))
        power = float(np.mean(ys[0] ** 2))
        if power > 0:
            worst = max(worst, float(np.mean((ys[0] - ys[1]) ** 2)) / power)
    return worst
