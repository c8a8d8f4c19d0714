"""Amp model stage: a neural amp model with input and output gain in dB.

The model file is loaded, validated and verified off the audio thread (``pedal.models``); this
block only runs the engine it was given. State is carried from block to block. A model made at
another sample rate than the chain's runs at its own rate between a pair of resamplers
(``dsp/resample.py``), whose delay is this block's latency.
"""

from __future__ import annotations

import numpy as np

from ..kernels.filters import METER_OVER, METER_PEAK, METER_SLOTS, peak_meter
from .block import Block
from .params import check_range, db_to_gain


def _number(v):
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if -200 < f < 200 else None


class AmpModel(Block):
    name = "amp"

    def __init__(self, model, input_gain_db=0.0, output_gain_db=0.0, knobs=(),
                 normalize_loudness=False, calibrate_input=False, interface_dbu=12.0,
                 fast_tanh=False, precise=False):
        """model: a loaded model (``pedal.models.load_model``) or a path to one.

        As Neural Amp Modeler's plugin does: ``normalize_loudness`` adds -18 - loudness dB
        to the output when the file states its loudness; ``calibrate_input`` adds
        interface_dbu - input_level_dbu dB to the input when it states its input level
        (interface_dbu: the level of a 0 dBFS sine at your interface's input).
        """
        super().__init__()
        if isinstance(model, (str, bytes)) or hasattr(model, "__fspath__"):
            from ..models import load_model  # models use dsp helpers: imported when needed

            model = load_model(model)
        self.model = model
        self.input_gain_db = check_range("input_gain_db", input_gain_db, -40, 40, "dB")
        self.output_gain_db = check_range("output_gain_db", output_gain_db, -40, 40, "dB")
        check_range("interface_dbu", interface_dbu, -60, 60, "dBu")
        meta = self.model.metadata or {}
        # the file's own figure, else the one measured at load (models/loudness.py)
        self.loudness_db = _number(meta.get("loudness"))
        if self.loudness_db is None:
            self.loudness_db = _number(meta.get("loudness_measured"))
        self.normalize_db = (-18.0 - self.loudness_db) if (normalize_loudness and
                                                           self.loudness_db is not None) else 0.0
        level = _number(meta.get("input_level_dbu"))
        self.calibration_db = (interface_dbu - level) if (calibrate_input and
                                                           level is not None) else 0.0
        self._in = db_to_gain(self.input_gain_db + self.calibration_db)
        self._out = db_to_gain(self.output_gain_db + self.normalize_db)
        self.engine = self.model.make_engine(knobs, fast_tanh=bool(fast_tanh),
                                             precise=bool(precise))
        self._runner = self.engine
        self.meter = np.zeros(METER_SLOTS)  # the model's output: peak, samples over full scale

    @property
    def knobs(self):
        return list(self.engine.knobs)

    def set_knobs(self, knobs):
        self.engine.set_knobs(knobs)

    def _prepare(self, spec):
        from ..models.info import check_rate

        rate = int(spec.sample_rate)
        check_rate(self.model, rate)  # a ratio the resampler can make
        if self.model.sample_rate != rate:
            from .resample import ResampledEngine

            self._runner = ResampledEngine(self.engine, self.model.sample_rate, rate)
        else:
            self._runner = self.engine
        self._runner.prepare(spec.max_block)

    @property
    def resampled(self) -> bool:
        return self._runner is not self.engine

    @property
    def latency(self) -> int:
        return getattr(self._runner, "latency", 0)

    def reset(self):
        self._runner.reset()

    def process(self, buf):
        self._runner.process(buf, self._in, self._out)
        peak_meter(buf, buf.shape[0], self.meter)

    def meters(self) -> dict:
        return {"peak": float(self.meter[METER_PEAK]), "over": int(self.meter[METER_OVER])}

    def describe(self):
        if self.spec is not None and self.resampled:
            return (f"amp {self.model.describe()}, resampled from {int(self.spec.sample_rate)} "
                    f"Hz (+{1000 * self.latency / self.spec.sample_rate:.1f} ms)")
        return f"amp {self.model.describe()}"
