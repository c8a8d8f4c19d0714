"""Audio backends, chosen by name in the config and imported only when chosen.

Every backend owns an audio thread that calls ``engine.process(inp, out)`` once per block with
mono float32 arrays, and nothing else: the engine does the rest. A backend reports whether its
stream is running, how many under/overruns its device flagged, and (file backend) when its input
has ended.
"""

from __future__ import annotations

import importlib

from .base import AudioDeviceError, Backend

_REGISTRY = {
    "pyaudio": "pedal.backends.pyaudio_backend:PyAudioBackend",
    "pedalpi": "pedal.backends.pedalpi:PedalPiBackend",
    "file": "pedal.backends.file:FileBackend",
    "fake": "pedal.backends.fake:FakeBackend",
}


def backend_class(name: str) -> type[Backend]:
    try:
        module, cls = _REGISTRY[name].split(":")
    except KeyError:
        raise AudioDeviceError(f"unknown audio backend {name!r} (known: "
                               f"{', '.join(_REGISTRY)})") from None
    return getattr(importlib.import_module(module), cls)


def make_backend(audio_cfg, engine) -> Backend:
    """The backend ``audio_cfg.backend`` names (``config.AudioConfig``), imported only now."""
    return backend_class(audio_cfg.backend)(audio_cfg, engine)


__all__ = ["AudioDeviceError", "Backend", "backend_class", "make_backend"]
