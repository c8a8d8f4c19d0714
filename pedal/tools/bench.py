"""``pedal bench``: each stage of the chain and the whole chain, block by block, beside peers
doing the same work in the same run (scipy's sosfilt and oaconvolve, onnxruntime, pedalboard
when installed). The machine is noisy: read the ratios, not the absolute times.
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
    return rows


def format_table(rows) -> str:
    out = [f"{'stage':<7}{'engine':<18}{'block':>6}{'us/block':>11}{'x real time':>13}"
           f"{'vs pedal':>10}  note"]
    ours = {(r["stage"], r["block"]): r["xrt"] for r in rows if r["engine"] == "pedal"}
    for r in rows:
        ratio = r["xrt"] / ours[(r["stage"], r["block"])] if (r["stage"], r["block"]) in ours \
            else float("nan")
        out.append(f"{r['stage']:<7}{r['engine']:<18}{r['block']:>6}{r['us_per_block']:>11.2f}"
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
