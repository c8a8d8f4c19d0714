"""The MCP3202 12-bit ADC of the Pedal Pi board, read a whole block per system call.

Each conversion is a 3-byte SPI exchange with chip select low (the board's own code sends
``01 00 00`` and takes ``(b1 & 0x0F) << 8 | b2``). Python cannot time samples one by one, so
``SpiMcp3202`` hands the kernel one SPI message of ``n`` transfers (``SPI_IOC_MESSAGE(n)``):
chip select is released after each (``cs_change``) and ``delay_usecs`` spaces them, so the
sampling instants within a block are clocked by the kernel's SPI driver, not by Python.
Between blocks the next ioctl starts as soon as the previous block is processed and written,
and the output device (the master clock) decides when that is. See hardware.md for what this
can and cannot reach.
"""

from __future__ import annotations

import ctypes
import os
import time

import numpy as np

COMMAND = (0x01, 0x00, 0x00)  # start bit; then the board's channel/mode bits; then clocks


class _Transfer(ctypes.Structure):  # struct spi_ioc_transfer (linux/spi/spidev.h)
    _fields_ = [("tx_buf", ctypes.c_uint64), ("rx_buf", ctypes.c_uint64),
                ("len", ctypes.c_uint32), ("speed_hz", ctypes.c_uint32),
                ("delay_usecs", ctypes.c_uint16), ("bits_per_word", ctypes.c_uint8),
                ("cs_change", ctypes.c_uint8), ("tx_nbits", ctypes.c_uint8),
                ("rx_nbits", ctypes.c_uint8), ("word_delay_usecs", ctypes.c_uint8),
                ("pad", ctypes.c_uint8)]


def _ioc(direction, nr, size):  # _IOC for 'k' (SPI_IOC_MAGIC)
    return (direction << 30) | (size << 16) | (ord("k") << 8) | nr


SPI_IOC_WR_MODE = _ioc(1, 1, 1)
SPI_IOC_WR_MAX_SPEED_HZ = _ioc(1, 4, 4)


def spi_ioc_message(n: int) -> int:
    return _ioc(1, 0, n * ctypes.sizeof(_Transfer))


class SpiMcp3202:
    """The real chip on /dev/spidevB.D. ``read(n, rx)`` fills ``rx`` (uint8, 3 n) with replies."""

    def __init__(self, bus: int, device: int, speed_hz: int, sample_rate: int, max_block: int):
        import fcntl

        self._fcntl = fcntl
        path = f"/dev/spidev{bus}.{device}"
        try:
            self.fd = os.open(path, os.O_RDWR)
        except OSError as exc:
            raise OSError(f"{path}: cannot open ({exc.strerror}); enable SPI (raspi-config "
                          "nonint do_spi 0) and add the user to the spi group") from None
        fcntl.ioctl(self.fd, SPI_IOC_WR_MODE, bytes([0]))
        fcntl.ioctl(self.fd, SPI_IOC_WR_MAX_SPEED_HZ, int(speed_hz).to_bytes(4, "little"))
        self.tx = np.tile(np.array(COMMAND, np.uint8), max_block)
        self.rx = np.zeros(3 * max_block, np.uint8)
        self.speed_hz = speed_hz
        period_us = 1e6 / sample_rate
        bits_us = 24e6 / speed_hz
        # the driver's own gap between transfers is not known in advance: measured below
        self.delay_us = max(0, int(period_us - bits_us))
        self._messages: dict = {}
        self.max_block = max_block
        self._calibrate(sample_rate)

    def _message(self, n):
        msg = self._messages.get(n)
        if msg is None:
            arr = (_Transfer * n)()
            tx, rx = self.tx.ctypes.data, self.rx.ctypes.data
            for i in range(n):
                arr[i] = _Transfer(tx + 3 * i, rx + 3 * i, 3, self.speed_hz, self.delay_us, 8,
                                   1, 0, 0, 0, 0)
            msg = self._messages[n] = (arr, spi_ioc_message(n))
        return msg

    def _calibrate(self, sample_rate):
        """Shorten the delay until a block takes no longer than its duration (the output
        clock then paces the loop); the result is reported as ``achieved_rate``."""
        n = self.max_block
        for _ in range(40):
            self._messages.clear()
            t0 = time.perf_counter()
            for _ in range(8):
                self.read(n)
            per = (time.perf_counter() - t0) / (8 * n)
            self.achieved_rate = 1.0 / per
            if per <= 1.0 / sample_rate or self.delay_us == 0:
                return
            self.delay_us -= 1

    def read(self, n: int) -> np.ndarray:
        arr, req = self._message(n)
        self._fcntl.ioctl(self.fd, req, arr)
        return self.rx[:3 * n]

    def close(self):
        os.close(self.fd)


class FakeMcp3202:
    """The chip's behaviour at the byte level, for running the Pedal Pi backend off the Pi:
    it checks each command, answers with the 12-bit code of the next sample of ``signal``
    (-1..1 around mid-rail, looped) and, like the real read, takes a block's duration."""

    def __init__(self, signal: np.ndarray, sample_rate: int, max_block: int, pace: bool = True):
        self.signal = np.asarray(signal, np.float64)
        self.codes = np.clip(np.round(self.signal * 2048 + 2048), 0, 4095).astype(np.int64)
        self.rx = np.zeros(3 * max_block, np.uint8)
        self.tx = np.tile(np.array(COMMAND, np.uint8), max_block)
        self.pos = 0
        self.period = 1.0 / sample_rate
        self.pace = pace
        self._next: float | None = None
        self.achieved_rate = float(sample_rate)

    def read(self, n: int) -> np.ndarray:
        if not (self.tx[0:3 * n:3] & 0x01).all():
            raise OSError("MCP3202: a conversion without its start bit")
        idx = (self.pos + np.arange(n)) % len(self.codes)
        c = self.codes[idx]
        self.pos = (self.pos + n) % len(self.codes)
        rx = self.rx[:3 * n].reshape(n, 3)
        rx[:, 0] = 0xFF           # don't-care bits while the command shifts in
        rx[:, 1] = 0xE0 | (c >> 8)  # null bit (0) then B11..B8; the top bits float high
        rx[:, 2] = c & 0xFF
        if self.pace:
            now = time.monotonic()
            self._next = (now if self._next is None else self._next) + n * self.period
            if self._next > now:
                time.sleep(self._next - now)
        return self.rx[:3 * n]

    def close(self):
        pass
