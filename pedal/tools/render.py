"""Offline rendering: a file through a preset's chain, block by block, on the same code path
the real-time daemon runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.files import read_audio, resample, to_mono, write_audio
from ..dsp import ProcessSpec
from ..dsp.run import run_blocks
from ..errors import AudioFileError
from ..preset import Preset


@dataclass
class RenderResult:
    input_path: str
    output_path: str
    sample_rate: int
    seconds: float
    process_seconds: float
    block: int
    chain: str
    peak: float
    notices: list[str] = field(default_factory=list)
    meters: dict = field(default_factory=dict)

    @property
    def xrt(self) -> float:
        return self.seconds / self.process_seconds if self.process_seconds > 0 else float("inf")


def process_array(chain, x: np.ndarray, block: int, progress=None) -> float:
    """Run ``x`` through the prepared ``chain`` in place, ``block`` samples at a time
    (``dsp.run.run_blocks``); returns the seconds spent processing."""
    t0 = time.perf_counter()
    run_blocks(chain, x, block, inplace=True, progress=progress)
    return time.perf_counter() - t0


def _meter_notes(chain, out_path, samples: int) -> list[str]:
    """What the stages' meters saw, for the summary: a loud model and the limiter's work (when
    it bent more than a thousandth of the samples) are said, not left silent."""
    notes = []
    m = chain.meters()
    amp, lim = m.get("amp"), m.get("level")
    if amp and amp["peak"] > 1.0:
        notes.append(f"{out_path}: the amp model's output peaked at "
                     f"{20 * np.log10(amp['peak']):+.1f} dBFS ({amp['over']:,} samples over "
                     "full scale, after loudness normalisation)")
    if lim and lim["limited"] > samples / 1000:
        notes.append(f"{out_path}: the output limiter bent {lim['limited']:,} samples (its "
                     f"input peaked at {20 * np.log10(max(lim['peak_in'], 1e-9)):+.1f} dBFS; "
                     "lower output.level_db to give it less to do)")
    return notes


def render_file(in_path, out_path, preset: Preset, *, block: int = 64, progress=None,
                plot: bool = False, raw: bool = False) -> RenderResult:
    data, sr_in = read_audio(in_path, what="input audio")
    notices = list(preset.notices)
    if data.shape[1] > 1:
        notices.append(f"{in_path}: {data.shape[1]} channels mixed down to mono")
    x_in = to_mono(data)
    sr = preset.sample_rate
    if raw and sr_in != sr:
        raise AudioFileError(f"{in_path}: is at {sr_in} Hz and the model at {sr} Hz; --raw "
                             "compares sample by sample, so give it a file at the model's rate")
    if sr_in != sr:
        notices.append(f"{in_path}: resampled from {sr_in} Hz to the chain's {sr} Hz "
                       f"(the output is at {sr} Hz)")
    x = resample(x_in, sr_in, sr).copy()
    chain = preset.build_chain()
    chain.prepare(ProcessSpec(sr, block))
    lat = chain.latency
    if lat:
        x = np.concatenate([x, np.zeros(lat, np.float32)])
    elapsed = process_array(chain, x, block, progress)
    y = x[lat:]
    if not np.all(np.isfinite(y)):
        raise AudioFileError(f"{out_path}: the chain produced NaN or infinite samples; "
                             "nothing was written")
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    notices += _meter_notes(chain, out_path, len(y))
    if peak > 1.0:
        notices.append(f"{out_path}: output peaks at {20 * np.log10(peak):+.1f} dBFS; "
                       "a float WAV keeps it, other formats clip (lower output.level_db)")
    subtype = "FLOAT" if Path(out_path).suffix.lower() == ".wav" else None
    write_audio(out_path, y, sr, subtype=subtype)
    if plot:
        from .plot import spectrograms

        png = Path(out_path).with_suffix(".png")
        spectrograms(png, [("input (DI)", resample(x_in, sr_in, sr)), ("output", y)], sr,
                     title=f"{Path(in_path).name} through {preset.name}: "
                           f"{preset.model.name}")
        notices.append(f"wrote {png}")
    return RenderResult(str(in_path), str(out_path), sr, len(y) / sr, elapsed, block,
                        chain.describe(), peak, notices, chain.meters())
