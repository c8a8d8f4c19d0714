"""pedal: a neural guitar pedal for the Raspberry Pi.

The signal chain (``pedal.dsp``), model loaders (``pedal.models``), presets
(``pedal.preset``) and offline rendering (``pedal.tools.render``) are importable on any computer;
``pedal`` on the command line is ``pedal.cli``.
"""

__version__ = "0.1.0"
