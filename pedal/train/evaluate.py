"""Running what was trained on the pedal's own engines: the figures ``pedal train`` and
``pedal compress`` print are measured here, on the engine that will play the file."""

from __future__ import annotations

import numpy as np


def loudness_db(spec) -> float:
    """NAM's loudness figure, measured the pedal's way: RMS in dB of the model's output for the
    bundled demo DI clip (NAM uses its own reference clip, so values compare roughly)."""
    from ..audio.files import read_audio, resample, to_mono
    from ..paths import DEMO_DI

    x, sr = read_audio(DEMO_DI, what="demo DI")
    x = resample(to_mono(x), sr, spec.sample_rate)
    y = run_spec(spec, x)
    return float(10 * np.log10(max(np.mean(np.square(y, dtype=np.float64)), 1e-20)))


def run_spec(spec, x, block: int = 256):
    """The pedal's numba engine over ``x`` (float32), from its initial state."""
    from ..dsp.run import run_blocks
    from ..models.registry import architecture

    eng = architecture(spec).engine(spec)
    eng.prepare(block)
    return run_blocks(eng, x, block)


def run_file(model, x, warm=None, block: int = 256):
    """A loaded model's engine over ``x``, after ``warm`` (the audio before it), if given."""
    from ..dsp.run import run_blocks

    eng = model.make_engine([0.5] * model.knob_count)
    eng.prepare(block)
    if warm is not None:
        run_blocks(eng, warm, block)
    return run_blocks(eng, x, block)
