"""``pedal bench``: each stage of the chain and the whole chain, block by block, beside peers
doing the same work in the same run (scipy's sosfilt and oaconvolve, onnxruntime, soxr,
pedalboard when installed), and the resampler pair a model at another rate plays through. The machine is noisy: read the ratios, not the absolute times.
"""

from __future__ import annotations

import json
import sys

import numpy as np

from ..dsp import ProcessSpec
from ..dsp.run import stream_seconds


class _ScipySos:
    def __init__(self, sos):
        from scipy.signal import sosfilt

        self.sosfilt, self.sos = sosfilt, sos
        self.zi = np.zeros((sos.shape[0], 2))

    def __call__(self, buf):
        buf[:], self.zi = self.sosfilt(self.sos, buf, zi=self.zi)


class _ScipyOla:
    """Streaming overlap-add with scipy.signal.oaconvolve per block."""

    def __init__(self, taps):
        from scipy.signal import oaconvolve

        self.conv, self.taps = oaconvolve, taps.astype(np.float32)
        self.tail = np.zeros(len(taps) - 1 + 8192, np.float32)

    def __call__(self, buf):
        n = len(buf)
        full = self.conv(buf, self.taps)
        self.tail[: len(full)] += full
        buf[:] = self.tail[:n]
        self.tail[:-n] = self.tail[n:].copy()
        self.tail[-n:] = 0.0


class _Pedalboard:
    def __init__(self, plugins, sr):
        import pedalboard

        self.board = pedalboard.Pedalboard(plugins)
        self.sr = sr

    def __call__(self, buf):
        buf[:] = self.board(buf[None, :], self.sr, reset=False)[0]


def _pedalboard_eq(bands, sr):
    import pedalboard as pb

    plugins = []
    for b in bands:
        if b.type == "peak":
            plugins.append(pb.PeakFilter(b.freq_hz, b.gain_db, b.q))
        elif b.type == "low_shelf":
            plugins.append(pb.LowShelfFilter(b.freq_hz, b.gain_db, b.q))
        elif b.type == "high_shelf":
            plugins.append(pb.HighShelfFilter(b.freq_hz, b.gain_db, b.q))
        elif b.type == "low_pass":
            plugins.append(pb.LowpassFilter(b.freq_hz))
        else:
            plugins.append(pb.HighpassFilter(b.freq_hz))
    return _Pedalboard(plugins, sr)


class _PassThrough:
    """An engine that leaves the audio alone: what the resamplers cost, without a model."""
    knobs: tuple = ()

    def set_knobs(self, knobs):
        pass

    def prepare(self, max_block):
        pass

    def reset(self):
        pass

    def process(self, x, in_gain=1.0, out_gain=1.0):
        pass


class _Fifo:
    """A peer whose output count per call varies: its output queued and handed back one whole
    block at a time, behind ``prefill`` samples of silence so that it never runs dry (soxr's
    stream works in bursts of about 730 samples and answers most 64-sample calls with none)."""

    def __init__(self, fn, block, prefill=0):
        self.fn = fn
        self.fifo = np.zeros(16 * block + 2 * prefill + 8192, np.float32)
        self.filled = prefill

    def __call__(self, buf):
        y = self.fn(buf)
        f, n = self.filled, len(buf)
        self.fifo[f:f + len(y)] = y
        f += len(y)
        take = min(n, f)
        buf[:take] = self.fifo[:take]
        buf[take:] = 0.0
        self.fifo[:f - take] = self.fifo[take:f]
        self.filled = f - take


def _soxr_pair(rate, model_rate, quality, block):
    """soxr.ResampleStream there and back around nothing."""
    import soxr

    there = soxr.ResampleStream(rate, model_rate, 1, dtype="float32", quality=quality)
    back = soxr.ResampleStream(model_rate, rate, 1, dtype="float32", quality=quality)
    return _Fifo(lambda buf: back.resample_chunk(there.resample_chunk(buf)), block, 2048)


def _pedalboard_pair(rate, model_rate, block):
    """pedalboard's Resample: down to ``model_rate`` and back up inside one plugin."""
    import pedalboard as pb

    rs = pb.Pedalboard([pb.Resample(float(model_rate),
                                    quality=pb.Resample.Quality.WindowedSinc32)])
    return _Fifo(lambda buf: rs(buf[None, :], rate, reset=False)[0], block)


def _resampler_rows(add, timed, rate: int, model_rate: int, block: int) -> None:
    """The pair of resamplers a model at ``model_rate`` plays through in a chain at ``rate``,
    beside soxr's streaming resampler and pedalboard's Resample doing the same round trip."""
    from ..dsp.resample import ResampledEngine

    stage = f"{rate // 1000}<>{model_rate / 1000:g}k"
    ours = ResampledEngine(_PassThrough(), model_rate, rate)
    ours.prepare(block)
    add(stage, "pedal", block, timed(ours.process),
        f"polyphase pair, {ours.latency} samples, >=80 dB stopband")
    try:
        for q, note in (("MQ", "16-bit quality; works in bursts: 43 ms buffered"),
                        ("HQ", "20-bit quality, its default; likewise")):
            add(stage, f"soxr {q}", block, timed(_soxr_pair(rate, model_rate, q, block)), note)
    except ImportError:
        pass
    try:
        add(stage, "pedalboard", block, timed(_pedalboard_pair(rate, model_rate, block)),
            "Resample, WindowedSinc32")
    except ImportError:
        pass


def measure_chain(preset, seconds: float, blocks) -> list[dict]:
    """Rows of {stage, engine, block, us_per_block, xrt} for the preset's chain and peers."""
    from ..dsp import AmpModel

    sr = preset.sample_rate
    rng = np.random.default_rng(0)
    n = int(seconds * sr)
    from ..synth.guitar import guitar_riff

    riff = guitar_riff(sr)
    x = np.resize(riff, n).astype(np.float32) + (1e-4 * rng.standard_normal(n)).astype(
        np.float32)
    rows = []

    def add(stage, engine, block, secs, note=""):
        rows.append({"stage": stage, "engine": engine, "block": block,
                     "us_per_block": 1e6 * secs * block / n, "xrt": seconds / secs,
                     "note": note})

    for block in blocks:
        def timed(fn, block=block):
            return stream_seconds(fn, x, block, repeats=3)

        spec = ProcessSpec(sr, block)
        chain = preset.build_chain()
        chain.prepare(spec)
        for b in chain:
            b.prepare(spec)
            add(b.name, "pedal", block, timed(b.process), b.describe())
        chain.prepare(spec)
        add("chain", "pedal", block, timed(chain.process), chain.describe())
        amp = chain.by_name("amp")
        if amp is not None and amp.model.engine_kind == "numba":
            model = amp.model
            model.engine_kind = "onnxruntime"
            try:
                peer = AmpModel(model, amp.input_gain_db, amp.output_gain_db, amp.knobs)
                peer.prepare(spec)
                add("amp", "onnxruntime", block, timed(peer.process),
                    "same file, I/O bound to buffers")
            finally:
                model.engine_kind = "numba"
        cab = chain.by_name("cab")
        eq = chain.by_name("eq")
        try:
            if eq is not None:
                add("eq", "scipy.sosfilt", block, timed(_ScipySos(eq.sos())))
            if cab is not None:
                add("cab", "scipy.oaconvolve", block,
                    timed(_ScipyOla(cab.taps)), "overlap-add per block")
        except ImportError:
            pass
        try:
            import pedalboard

            if eq is not None:
                add("eq", "pedalboard", block, timed(_pedalboard_eq(eq.bands, sr)))
            if cab is not None:
                conv = pedalboard.Convolution(cab.taps[None, :].astype(np.float32),
                                              sample_rate=sr)
                add("cab", "pedalboard", block, timed(_Pedalboard([conv], sr)), "JUCE Convolution")
        except ImportError:
            pass
        _resampler_rows(add, timed, sr, 44100 if sr != 44100 else 48000, block)
    return rows


def format_table(rows) -> str:
    out = [f"{'stage':<11}{'engine':<18}{'block':>6}{'us/block':>11}{'x real time':>13}"
           f"{'vs pedal':>10}  note"]
    ours = {(r["stage"], r["block"]): r["xrt"] for r in rows if r["engine"] == "pedal"}
    for r in rows:
        ratio = r["xrt"] / ours[(r["stage"], r["block"])] if (r["stage"], r["block"]) in ours \
            else float("nan")
        out.append(f"{r['stage']:<11}{r['engine']:<18}{r['block']:>6}{r['us_per_block']:>11.2f}"
                   f"{r['xrt']:>13.1f}{ratio:>10.2f}  {r['note']}")
    return "\n".join(out)


def run_chain_bench(seconds=10.0, blocks=(32, 64, 128, 256), as_json=False,
                    preset_path=None) -> int:
    from ..preset import load_preset
    from .warmup import warm_up

    warm_up()
    preset = load_preset(preset_path)
    rows = measure_chain(preset, seconds, blocks)
    if as_json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"pedal bench: {seconds:g} s of audio at {preset.sample_rate} Hz per row, "
              "one thread, best of 3", file=sys.stderr)
        print(format_table(rows))
    return 0
