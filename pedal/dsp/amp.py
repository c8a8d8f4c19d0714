"""Amp model stage: a neural amp model with input and output gain in dB.

The model file is loaded, validated and verified off the audio thread (``pedal.models``); this
block only runs the engine it was given. State is carried from block to block.
"""

from __future__ import annotations

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
        self.loudness_db = _number(meta.get("loudness"))
        self.normalize_db = (-18.0 - self.loudness_db) if (normalize_loudness and
                                                           self.loudness_db is not None) else 0.0
        level = _number(meta.get("input_level_dbu"))
        self.calibration_db = (interface_dbu - level) if (calibrate_input and
                                                           level is not None) else 0.0
        self._in = db_to_gain(self.input_gain_db + self.calibration_db)
        self._out = db_to_gain(self.output_gain_db + self.normalize_db)
        self.engine = self.model.make_engine(knobs, fast_tanh=bool(fast_tanh),
                                             precise=bool(precise))

    @property
    def knobs(self):
        return list(self.engine.knobs)

    def set_knobs(self, knobs):
        self.engine.set_knobs(knobs)

    def _prepare(self, spec):
        from ..models.info import check_rate

        check_rate(self.model, spec.sample_rate)
        self.engine.prepare(spec.max_block)

    def reset(self):
        self.engine.reset()

    def process(self, buf):
        self.engine.process(buf, self._in, self._out)

    def describe(self):
        return f"amp {self.model.describe()}"
