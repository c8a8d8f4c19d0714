"""The Electrosmash Pedal Pi board: guitar in through the MCP3202 ADC on SPI, out through the
Pi's PWM. ``audio.pedalpi.hardware: fake`` runs the same code on the package's fakes (a fake
ADC answering SPI at the byte level, a fake PWM keeping what it would play)."""

from __future__ import annotations

import numpy as np

from ..kernels.io import DC_COEF, DC_SLOTS, mcp3202_decode
from ..hw.mcp3202 import FakeMcp3202, SpiMcp3202
from ..hw.pwm import AlsaPwmOutput, FakePwmOutput
from .base import AudioDeviceError, ThreadBackend

DC_BLOCK_HZ = 5.0


class PedalPiBackend(ThreadBackend):
    name = "pedalpi"
    pace = False  # the ADC read and the output write pace the loop

    def __init__(self, cfg, engine):
        super().__init__(cfg, engine)
        self.adc = None
        self.pwm = None
        self._last_pwm = None
        r = float(np.exp(-2 * np.pi * DC_BLOCK_HZ / self.sample_rate))
        self._dc = np.zeros(DC_SLOTS)
        self._dc[DC_COEF] = r

    @classmethod
    def rate_problem(cls, cfg, rate):
        bits_us = 24e6 / cfg.pedalpi.spi_hz  # one MCP3202 conversion is a 24-bit transfer
        if bits_us >= 1e6 / rate:
            return (f"the MCP3202 at audio.pedalpi.spi_hz {cfg.pedalpi.spi_hz} cannot read "
                    f"{rate} samples a second")
        return None

    def _open(self):
        p = self.cfg.pedalpi
        try:
            if p.hardware == "fake":
                sig = self._fake_signal(p.fake_input)
                self.adc = FakeMcp3202(sig, self.sample_rate, self.block)
                self.pwm = FakePwmOutput(self.sample_rate)
            else:
                self.adc = SpiMcp3202(p.spi_bus, p.spi_device, p.spi_hz,
                                      self.sample_rate, self.block)
                self.pwm = AlsaPwmOutput(p.output_device, self.sample_rate, self.block)
        except (OSError, ImportError) as exc:
            self._close()
            raise AudioDeviceError(f"audio.pedalpi: {exc}") from None

    def _fake_signal(self, path):
        if path:
            from ..audio.files import read_audio, resample, to_mono

            data, sr = read_audio(path, what="audio.pedalpi.fake_input")
            return resample(to_mono(data), sr, self.sample_rate)
        from ..synth.guitar import guitar_riff

        return guitar_riff(self.sample_rate)

    def _read(self, n):
        rx = self.adc.read(n)
        mcp3202_decode(rx, n, self._in, self._dc)
        return self._in[:n]

    def _write(self, out):
        self.pwm.write(out)

    def _close(self):
        self._last_pwm = self.pwm  # a fake's output stays readable after stop
        for dev in (self.adc, self.pwm):
            if dev is not None:
                try:
                    dev.close()
                except OSError:
                    pass
        self.adc = self.pwm = None

    def describe(self):
        p = self.cfg.pedalpi
        rate = getattr(self.adc, "achieved_rate", None)
        extra = f", ADC at {rate:.0f} Hz" if rate else ""
        return (f"pedalpi ({p.hardware}: MCP3202 on spidev{p.spi_bus}.{p.spi_device}, "
                f"PWM via {p.output_device!r}{extra})")
