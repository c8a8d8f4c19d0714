"""USB audio interfaces (and any sound card) through PortAudio, full duplex, callback mode.

PortAudio calls ``_callback`` on its own audio thread with the input block; the engine writes
the output into a preallocated array, which goes back to PortAudio as is (PyAudio accepts any
read-only-compatible buffer, so no bytes object is made per block). Status flags (input
overflow, output underflow) are counted as xruns. The device is chosen by index, exact name, or
a unique part of its name.
"""

from __future__ import annotations

import numpy as np

from ..kernels.io import deinterleave, interleave
from .base import AudioDeviceError, Backend, promote_thread


def find_device(pa, wanted: str, channels: int) -> int | None:
    """The PortAudio index for ``wanted`` ("" = the default device)."""
    if wanted == "":
        return None
    infos = [pa.get_device_info_by_index(i) for i in range(pa.get_device_count())]
    duplex = [d for d in infos if d["maxInputChannels"] >= channels and
              d["maxOutputChannels"] >= channels]
    listing = ", ".join(f"{d['index']}: {d['name']!r}" for d in duplex) or "none"
    if wanted.strip().isdigit():
        idx = int(wanted)
        if not any(d["index"] == idx for d in duplex):
            raise AudioDeviceError(f"audio.device: no full-duplex device with index {idx} and "
                                   f"{channels} channel(s); there are: {listing}")
        return idx
    exact = [d for d in duplex if d["name"] == wanted]
    part = [d for d in duplex if wanted.lower() in d["name"].lower()]
    found = exact or part
    if len(found) != 1:
        why = "no" if not found else "more than one"
        raise AudioDeviceError(f"audio.device: {why} full-duplex device matches {wanted!r} "
                               f"with {channels} channel(s); there are: {listing}")
    return int(found[0]["index"])


_PA = None  # one PortAudio session per process (see _portaudio)
_FAILED_OPENS = 0
RESCAN_EVERY = 3


def _portaudio(pyaudio, rescan: bool):
    """PortAudio, initialised once. PortAudio lists devices only when it initialises, so after
    a few failed opens (a USB interface unplugged and plugged back) it is terminated and
    initialised again. It is not terminated otherwise, nor at exit: its JACK host API aborts
    the process in Pa_Terminate when the JACK server it met at start-up has gone away."""
    global _PA
    if _PA is not None and rescan:
        _PA.terminate()
        _PA = None
    if _PA is None:
        _PA = pyaudio.PyAudio()
    return _PA


class PyAudioBackend(Backend):
    name = "pyaudio"

    def __init__(self, cfg, engine):
        super().__init__(cfg, engine)
        self.channels = int(cfg.channels)
        self.channel = int(cfg.input_channel) - 1
        self._mono = np.zeros(self.block * 4, np.float32)
        self._out = np.zeros(self.block * 4, np.float32)
        self._outi = np.zeros(self.block * 4 * self.channels, np.float32)
        self._pa = None
        self._stream = None
        self._first = True
        self.device_name = ""
        self.flags = 0  # every PortAudio status flag seen (paInputOverflow, ...), or-ed

    @classmethod
    def rate_problem(cls, cfg, rate):
        try:
            import pyaudio
        except ImportError:
            return None  # start() says what is missing
        try:
            pa = _portaudio(pyaudio, rescan=False)
            index = find_device(pa, cfg.device.strip(), int(cfg.channels))
            i = index if index is not None else pa.get_default_input_device_info()["index"]
            o = index if index is not None else pa.get_default_output_device_info()["index"]
            pa.is_format_supported(rate, input_device=i, input_channels=int(cfg.channels),
                                   input_format=pyaudio.paFloat32, output_device=o,
                                   output_channels=int(cfg.channels),
                                   output_format=pyaudio.paFloat32)
        except AudioDeviceError:
            return None  # start() reports the device itself
        except (OSError, ValueError, IOError) as exc:
            return f"{cfg.device or 'the default device'} does not run at {rate} Hz ({exc})"
        return None

    def start(self):
        try:
            import pyaudio
        except ImportError:
            raise AudioDeviceError("the pyaudio backend needs PyAudio: apt-get install "
                                   "portaudio19-dev, then pip install -e '.[audio]'") from None
        global _FAILED_OPENS
        self._pyaudio = pyaudio
        self._pa = _portaudio(pyaudio, rescan=_FAILED_OPENS >= RESCAN_EVERY)
        if _FAILED_OPENS >= RESCAN_EVERY:
            _FAILED_OPENS = 0
        try:
            index = find_device(self._pa, self.cfg.device.strip(), self.channels)
            info = (self._pa.get_device_info_by_index(index) if index is not None
                    else self._pa.get_default_input_device_info())
            self.device_name = info["name"]
            self._first = True
            self._stream = self._pa.open(
                format=pyaudio.paFloat32, channels=self.channels, rate=self.sample_rate,
                input=True, output=True, input_device_index=index, output_device_index=index,
                frames_per_buffer=self.block, stream_callback=self._callback)
        except AudioDeviceError:
            _FAILED_OPENS += 1
            self.stop()
            raise
        except (OSError, ValueError, IOError) as exc:
            _FAILED_OPENS += 1
            self.stop()
            what = self.cfg.device or "the default device"
            raise AudioDeviceError(f"audio.device: cannot open {what} at {self.sample_rate} Hz, "
                                   f"block {self.block}, {self.channels} channel(s): {exc}") \
                from None

    def _callback(self, in_data, frame_count, time_info, status):
        if self._first:
            self._first = False
            self.realtime = promote_thread(int(self.cfg.realtime_priority))
        if status:
            self.xruns += 1
            self.flags |= status
        n = frame_count
        if n > self._out.shape[0]:  # PortAudio promised frames_per_buffer; never trust it
            n = self._out.shape[0]
        src = np.frombuffer(in_data, dtype=np.float32)
        ch = self.channels
        if ch == 1:
            mono = src[:n]
        else:
            deinterleave(src, n, ch, self.channel, self._mono)
            mono = self._mono[:n]
        out = self._out[:n]
        self.engine.process(mono, out)
        if ch == 1:
            return out, self._pyaudio.paContinue
        interleave(out, n, ch, self._outi)
        return self._outi[:n * ch], self._pyaudio.paContinue

    def stop(self):
        s, self._stream = self._stream, None
        if s is not None:
            try:
                s.stop_stream()
            except (OSError, IOError):
                pass
            try:
                s.close()
            except (OSError, IOError):
                pass
        self._pa = None  # PortAudio itself stays initialised (see _portaudio)

    @property
    def running(self):
        s = self._stream
        try:
            return s is not None and s.is_active()
        except (OSError, IOError):
            return False

    def flag_names(self) -> list[str]:
        names = {1: "input underflow", 2: "input overflow", 4: "output underflow",
                 8: "output overflow", 16: "priming output"}
        return [v for k, v in names.items() if self.flags & k]

    def describe(self):
        return (f"pyaudio {self.device_name!r} ({self.channels} ch, guitar on "
                f"{self.channel + 1}, {self.sample_rate} Hz, block {self.block})")
