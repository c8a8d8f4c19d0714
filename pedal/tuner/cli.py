"""``pedal tuner``: readings over time for a recording, or a live needle in the terminal."""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from ..audio.files import read_audio, resample, to_mono
from ..errors import ConfigError
from .tracker import PitchTracker, Reading
from .tuning import nearest_note, nearest_string

NEEDLE_CENTS = 50
MAX_TRACKER_RATE = 192000
NEEDLE_WIDTH = 41


def needle(reading: Reading, a4: float = 440.0, tuning: str | None = None) -> str:
    """One terminal line: note, a needle over +-50 cents, cents and Hz."""
    if reading.freq_hz is None:
        bar = " " * (NEEDLE_WIDTH // 2) + "." + " " * (NEEDLE_WIDTH // 2)
        return f"  --   [{bar}]            (no pitch)"
    if tuning:
        name, cents, octaves = nearest_string(reading.freq_hz, tuning, a4)
        if octaves:
            name = f"{name}{octaves:+d}oct"
    else:
        note = nearest_note(reading.freq_hz, a4)
        name, cents = str(note), note.cents
    mid = NEEDLE_WIDTH // 2
    pos = mid + int(round(max(-NEEDLE_CENTS, min(NEEDLE_CENTS, cents)) / NEEDLE_CENTS * mid))
    marks = ["-"] * NEEDLE_WIDTH
    marks[mid] = "|"
    marks[pos] = "#" if abs(cents) < 2 else "*"
    flag = " in tune" if abs(cents) < 2 else ""
    return (f"{name:>5}  [{''.join(marks)}] {cents:+6.1f} c {reading.freq_hz:8.2f} Hz"
            f"{flag}")


def _tuner_input(path):
    """A recording as the tracker takes it: mono, at a rate it runs at (files above 192 kHz
    are resampled to 48 kHz, with a note)."""
    data, sr = read_audio(path, what="tuner input")
    x = to_mono(data)
    if sr > MAX_TRACKER_RATE:
        print(f"note: {path}: resampled from {sr} Hz to 48000 Hz for the tuner", file=sys.stderr)
        x, sr = resample(x, sr, 48000), 48000
    return x, sr


def track_file(path, a4=440.0, tuning=None, as_json=False, out=None) -> int:
    out = out or sys.stdout
    x, sr = _tuner_input(path)
    tr = PitchTracker(sr, a4=a4)
    for r in tr.track(x):
        if as_json:
            out.write(json.dumps(r.describe(a4, tuning)) + "\n")
        elif r.freq_hz is None:
            out.write(f"{r.t:8.2f} s   --\n")
        else:
            d = r.describe(a4, tuning)
            extra = f"  string {d['string']} {d['string_cents']:+.1f} c" if tuning else ""
            out.write(f"{r.t:8.2f} s  {d['note']:>4} {d['cents']:+6.2f} c  {r.freq_hz:9.3f} Hz"
                      f"  conf {r.confidence:.2f}{extra}\n")
    return 0


def live(blocks, sample_rate, a4=440.0, tuning=None, out=None, refresh_s=0.05) -> int:
    """Show a needle for blocks from ``blocks`` (an iterator of float32 arrays) at least 10
    times a second (every ``refresh_s``), redrawing one terminal line."""
    out = out or sys.stdout
    tr = PitchTracker(sample_rate, a4=a4)
    last = 0.0
    try:
        for x in blocks:
            tr.process(x)
            now = time.monotonic()
            if now - last >= refresh_s:
                last = now
                out.write("\r" + needle(tr.reading(), a4, tuning) + "\x1b[K")
                out.flush()
    except KeyboardInterrupt:  # Ctrl-C is how a live tuner is left
        pass
    out.write("\n")
    return 0


def file_blocks(path, block=256, realtime=True):
    """A recording as a live source, paced in real time (for trying the display):
    (sample rate, iterator of blocks)."""
    x, sr = _tuner_input(path)

    def blocks():
        t0 = time.monotonic()
        for i in range(0, len(x), block):
            if realtime:
                delay = t0 + i / sr - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield x[i:i + block]

    return sr, blocks()


def pyaudio_blocks(device=None, sample_rate=48000, block=256):
    """Blocks from a sound card input through PortAudio (needs PyAudio: extra ``audio``)."""
    try:
        import pyaudio
    except ImportError:
        raise ConfigError("the live tuner needs PyAudio: pip install -e '.[audio]'") from None
    pa = pyaudio.PyAudio()
    try:
        index = device
        if isinstance(device, str) and not device.isdigit():
            names = {pa.get_device_info_by_index(i)["name"]: i
                     for i in range(pa.get_device_count())}
            if device not in names:
                raise ConfigError(f"--device: no input device named {device!r}; there are: "
                                  f"{', '.join(names) or 'none'}")
            index = names[device]
        elif device is not None:
            index = int(device)
        stream = pa.open(format=pyaudio.paFloat32, channels=1, rate=int(sample_rate),
                         input=True, frames_per_buffer=block, input_device_index=index)
        try:
            while True:
                data = stream.read(block, exception_on_overflow=False)
                yield np.frombuffer(data, dtype=np.float32).copy()
        finally:  # closed before PortAudio is terminated: JACK can hang on an open stream
            stream.close()
    finally:
        pa.terminate()
