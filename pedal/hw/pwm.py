"""The Pedal Pi's output: two 6-bit PWM channels summed by resistors into a 12-bit signal.

On the Pi the PWM is driven by the kernel's PWM audio driver (the "Headphones" ALSA device of a
Pi 3/4), so samples arrive by DMA at a steady clock instead of one register write per sample;
hardware.md says how its pins are routed to GPIO 18 and 13. The left channel carries the
signal into the board's MSB resistor, the right (LSB, 1/64 weight) stays at zero.
``AlsaPwmOutput`` writes blocks to that device, blocking: it is the backend's master clock.
``FakePwmOutput`` keeps what would have been played, quantised to the board's 12 bits.
"""

from __future__ import annotations

import numpy as np



class AlsaPwmOutput:
    def __init__(self, device_name: str, sample_rate: int, max_block: int):
        import pyaudio

        self._pa = pyaudio.PyAudio()
        index = None
        for i in range(self._pa.get_device_count()):
            info = self._pa.get_device_info_by_index(i)
            if device_name.lower() in info["name"].lower() and info["maxOutputChannels"] >= 2:
                index = i
                break
        if index is None:
            self._pa.terminate()
            raise OSError(f"audio.pedalpi.output_device: no PWM audio output named "
                          f"{device_name!r} (enable dtparam=audio=on; see hardware.md)")
        self._stream = self._pa.open(format=pyaudio.paFloat32, channels=2, rate=sample_rate,
                                     output=True, output_device_index=index,
                                     frames_per_buffer=max_block)
        self._buf = np.zeros(2 * max_block, np.float32)

    def write(self, out: np.ndarray) -> None:
        n = out.shape[0]
        self._buf[:2 * n] = 0.0
        self._buf[0:2 * n:2] = out
        self._stream.write(self._buf[:2 * n], n, exception_on_underflow=False)

    def close(self):
        self._stream.close()
        self._pa.terminate()


class FakePwmOutput:
    """What the board would play, as 12-bit codes turned back into floats (a ring of the last
    ``seconds``)."""

    def __init__(self, sample_rate: int, seconds: float = 4.0):
        self.ring = np.zeros(int(seconds * sample_rate), np.float32)
        self.at = 0
        self.written = 0

    def write(self, out: np.ndarray) -> None:
        n = out.shape[0]
        if self.at + n > self.ring.shape[0]:
            self.at = 0
        seg = self.ring[self.at:self.at + n]
        np.multiply(out, 2048.0, out=seg)
        np.round(seg, out=seg)
        np.clip(seg, -2048.0, 2047.0, out=seg)
        seg *= 1.0 / 2048.0
        self.at += n
        self.written += n

    def recent(self) -> np.ndarray:
        return np.roll(self.ring, -self.at).copy()

    def close(self):
        pass
