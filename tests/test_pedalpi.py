"""The Pedal Pi backend on the package's fake hardware: the fake MCP3202 answers SPI at the
byte level, the backend decodes, DC-blocks, runs the engine and writes the fake PWM; checked
against a decode written independently with scipy. The real SPI message layout is checked
against the kernel header's constants."""

import time

import numpy as np
import pytest
from scipy.signal import lfilter

from pedal.backends import make_backend
from pedal.dsp import Chain
from pedal.service.config import load_config
from pedal.service.player import Player
from pedal.hw.mcp3202 import _Transfer, spi_ioc_message
from test_player import Gain

SR, N = 48000, 64


def test_pedalpi_backend_on_fake_hardware_plays_the_decoded_input(tmp_path):
    from pedal.audio.files import write_audio

    t = np.arange(SR) / SR
    x = 0.4 * np.sin(2 * np.pi * 220 * t) + 0.05  # a DC offset, as a mis-biased input gives
    write_audio(tmp_path / "in.wav", x.astype(np.float32), SR)
    cfg = load_config(None, {"audio": {"backend": "pedalpi", "realtime_priority": 0,
                                       "pedalpi": {"hardware": "fake",
                                                   "fake_input": str(tmp_path / "in.wav")}}})
    e = Player(SR, N)
    e.offer(e.prepare_chain(Chain([Gain(0.5)])))
    be = make_backend(cfg.audio, e)
    be.start()
    time.sleep(0.6)
    be.stop()
    assert be.pwm is None  # closed on stop
    pwm = be._last_pwm
    got = pwm.ring[:pwm.written]
    assert pwm.written >= SR // 3 and not be.error
    codes = np.clip(np.round(x.astype(np.float32).astype(np.float64) * 2048 + 2048), 0, 4095)
    v = (codes[:len(got)] - 2048) / 2048
    r = np.exp(-2 * np.pi * 5.0 / SR)
    want = np.clip(np.round(0.5 * lfilter([1, -1], [1, -r], v) * 2048), -2048, 2047) / 2048
    np.testing.assert_allclose(got, want, atol=1.01 / 2048)  # one 12-bit step
    assert abs(got[SR // 4:].mean()) < 0.01  # the DC offset is gone


def test_spi_message_layout_matches_linux_spidev_h():
    assert __import__("ctypes").sizeof(_Transfer) == 32
    assert spi_ioc_message(1) == 0x40206B00  # SPI_IOC_MESSAGE(1) = _IOW('k', 0, char[32])
    assert spi_ioc_message(64) == 0x40006B00 | (64 * 32) << 16


def test_pedalpi_on_a_machine_without_spi_says_what_to_do():
    cfg = load_config(None, {"audio": {"backend": "pedalpi", "pedalpi": {"spi_bus": 6}}})
    from pedal.backends import AudioDeviceError

    be = make_backend(cfg.audio, Player(SR, N))
    with pytest.raises(AudioDeviceError, match=r"/dev/spidev6\.0: cannot open .*raspi-config"):
        be.start()
