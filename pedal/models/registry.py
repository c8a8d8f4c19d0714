"""The one list of amp-model formats and the one list of architectures.

Everything that needs to know what models exist reads these: the loader (which format a file
is), the engines (which one runs a description), warm-up (which kernels to compile), the
converter and the benchmarks. Adding a format is a module in ``formats/`` with ``detect`` and
``parse`` and one ``Format`` line here; adding an architecture is a module in ``arch/`` with a
``*Spec``, its engine and ``examples``, and one ``Architecture`` line (CONTRIBUTING.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .arch import linear, recurrent, smartamppro, wavenet
from .arch.wavenet_engine import WaveNetEngine
from .formats import guitarml, keras, nam, smartamppro as smartamppro_json, wavenetva


@dataclass(frozen=True)
class Format:
    name: str                      # ModelFile.family
    title: str                     # what the user calls it
    detect: Callable[[object], bool]  # the file's parsed JSON -> is it this format?
    parse: Callable               # jsondoc.Node -> (spec, sample_rate, metadata)
    self_check: Callable | None = None  # (Node, engine) -> max error against the file's own data


@dataclass(frozen=True)
class Architecture:
    spec: type                     # the description
    engine: type                   # engine(spec, knobs, fast_tanh=, precise=): the AmpEngine
    examples: Callable             # () -> [(spec, engine options)]: warm-up's kernel variants


FORMATS = (
    Format("nam", "Neural Amp Modeler .nam", nam.detect, nam.parse),
    Format("guitarml", "GuitarML json (NeuralPi, Proteus, TS-M1N3, AGM)", guitarml.detect,
           guitarml.parse),
    Format("keras", "AIDA-X / RTNeural Keras json", keras.detect, keras.parse,
           keras.embedded_check),
    Format("wavenetva", "SmartPedal / SmartAmp / PedalNetRT / WaveNetVA json", wavenetva.detect,
           wavenetva.parse),
    Format("smartamppro", "SmartAmpPro json", smartamppro_json.detect, smartamppro_json.parse),
)
ONNX_TITLE = "ONNX"

ARCHITECTURES = (
    Architecture(recurrent.RecurrentSpec, recurrent.RecurrentEngine, recurrent.examples),
    Architecture(wavenet.WaveNetSpec, WaveNetEngine, wavenet.examples),
    Architecture(smartamppro.SmartAmpProSpec, smartamppro.SmartAmpProEngine,
                 smartamppro.examples),
    Architecture(linear.LinearSpec, linear.LinearEngine, linear.examples),
)


def json_format(doc) -> Format | None:
    for f in FORMATS:
        if f.detect(doc):
            return f
    return None


def architecture(spec) -> Architecture:
    for a in ARCHITECTURES:
        if isinstance(spec, a.spec):
            return a
    raise TypeError(f"no engine for {type(spec).__name__}")


def known_formats() -> str:
    return ", ".join([f.title for f in FORMATS] + [ONNX_TITLE])
