"""Offline rendering: a file through a preset's chain, block by block, on the same code path
the real-time daemon runs."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..audio.files import read_audio, resample, to_mono, write_audio
from ..dsp import ProcessSpec
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

    @property
    def xrt(self) -> float:
        return self.seconds / self.process_seconds if self.process_seconds > 0 else float("inf")


def process_array(chain, x: np.ndarray, block: int, progress=None) -> float:
    """Run ``x`` through the prepared ``chain`` in place, ``block`` samples at a time.

    Returns the seconds spent processing. ``progress(fraction)`` is called now and then.
    """
    n = x.shape[0]
    every = max(1, (n // block) // 100)
    t0 = time.perf_counter()
    for k, i in enumerate(range(0, n, block)):
        chain.process(x[i:i + block])
        if progress is not None and k % every == 0:
            progress(i / n)
    elapsed = time.perf_counter() - t0
    if progress is not None:
        progress(1.0)
    return elapsed


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
    if peak > 1.0:
        notices.append(f"{out_path}: output peaks at {20 * np.log10(peak):+.1f} dBFS; "
                       "a float WAV keeps it, other formats clip (lower output.level_db)")
    subtype = "FLOAT" if Path(out_path).suffix.lower() == ".wav" else None
    write_audio(out_path, y, sr, subtype=subtype)
    if plot:
        from .plot import spectrograms

        png = Path(out_path).with_suffix(".png")
        spectrograms(png, [("input (DI)", resample(x_in, sr_in, sr)), ("output", y)], sr,
                     title=f"{Path(in_path).name} through {preset.name}")
        notices.append(f"wrote {png}")
    return RenderResult(str(in_path), str(out_path), sr, len(y) / sr, elapsed, block,
                        chain.describe(), peak, notices)
