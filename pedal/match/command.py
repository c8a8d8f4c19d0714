"""``pedal match REFERENCE DI -o OUT.yaml``: how close can this guitar get to that record?

Reads both, aligns the DI's part with the record (``align``), searches the library's rigs
(``search``), writes the preset (atomically; paths relative to it), renders the DI through the
written preset on the pedal's own chain and says how far that is from the record, beside the
default preset."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import paths
from ..audio.files import atomic_path, read_audio, resample, to_mono
from ..errors import AudioFileError, ConfigError, PedalError
from ..models import ModelFile
from .align import FINE_HOP, Alignment, align
from .features import RATE, frame_levels_db, magnitude
from .library import load_library
from .search import Search, apply_eq, convolve, fit_rig_eq
from .target import Target

MIN_SECONDS = 2.0
MAX_SECONDS = 15 * 60.0
EXCERPT_S = 12.0          # the DI searched with (its busiest part)
PRE_S = 0.5               # rendered before the excerpt, so the models' state has settled
SCORE_S = 60.0            # the DI the final distances are measured on
SILENT_DBFS = -60.0


@dataclass
class MatchReport:
    reference: str
    di: str
    preset: str
    alignment: Alignment
    model: str
    input_gain_db: float
    ir: str | None
    bands: list
    gate_db: float
    level_db: float
    before_db: float              # the default preset's distance to the record
    after_db: float               # the match's
    eq_only_db: float             # the default preset with an EQ fitted to the record
    seconds: float
    searched: dict = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    ranking: list[dict] = field(default_factory=list)
    curves: dict = field(default_factory=dict, repr=False)   # for the plot

    @property
    def verdict(self) -> str:
        d = self.after_db
        how = ("very close" if d < 2.0 else "close" if d < 3.5 else
               "the same family, audibly different" if d < 5.0 else
               "far: nothing in the library is near this tone")
        basis = "on aligned frames" if self.alignment.found else "on the record's statistics"
        return f"{how} ({d:.2f} dB {basis}; the default preset is {self.before_db:.2f} dB)"

    def as_dict(self) -> dict:
        a = self.alignment
        return {
            "reference": self.reference, "di": self.di, "preset": self.preset,
            "alignment": {"found": a.found, "confidence": round(a.confidence, 3),
                          "start_s": round(a.start_s, 3), "end_s": round(a.end_s, 3),
                          "offset_s": round(a.start_s, 3), "tempo_ratio": round(a.tempo, 5),
                          "reason": a.reason},
            "model": self.model, "input_gain_db": self.input_gain_db, "ir": self.ir,
            "eq": [b.__dict__ for b in self.bands], "gate_threshold_db": self.gate_db,
            "output_level_db": self.level_db,
            "distance_db": {"default_preset": round(self.before_db, 3),
                            "eq_only": round(self.eq_only_db, 3),
                            "match": round(self.after_db, 3)},
            "verdict": self.verdict, "seconds": round(self.seconds, 1),
            "searched": self.searched, "skipped": self.skipped, "notes": self.notes,
            "ranking": self.ranking,
        }


def _read(path, what) -> np.ndarray:
    data, sr = read_audio(path, what=what, max_seconds=MAX_SECONDS)
    x = resample(to_mono(data), sr, RATE)
    if len(x) < MIN_SECONDS * RATE:
        raise AudioFileError(f"{path}: the {what} is {len(x) / RATE:.2f} s long; give at "
                             f"least {MIN_SECONDS:g} s")
    peak = float(np.max(np.abs(x)))
    if peak < 10 ** (SILENT_DBFS / 20):
        raise AudioFileError(f"{path}: the {what} is silent (peak "
                             f"{20 * np.log10(max(peak, 1e-12)):.0f} dBFS)")
    return x


def _check_di(x: np.ndarray, path) -> None:
    """A clean guitar DI is tonal: partials, not a flat spectrum."""
    mag = magnitude(x[: 30 * RATE], 2048, 1024).astype(np.float64) + 1e-12
    band = mag[:, 4:700]                      # ~90 Hz .. 16 kHz
    lv = 10 * np.log10(np.mean(band ** 2, axis=1))
    active = lv > lv.max() - 30
    flat = np.exp(np.mean(np.log(band[active]), axis=1)) / np.mean(band[active], axis=1)
    if np.median(flat) > 0.35:
        raise AudioFileError(f"{path}: does not look like a guitar DI: its spectrum is as flat "
                             f"as noise (flatness {np.median(flat):.2f}; a guitar is under "
                             "0.2)")


def gate_threshold(x: np.ndarray) -> float:
    """The DI's noise floor (its quietest tenth of 10 ms pieces) plus 12 dB, in -90..-50."""
    lv = frame_levels_db(x, 480)
    floor = float(np.percentile(lv, 10))
    return float(np.clip(round(floor + 12 + 3, 1), -90.0, -50.0))  # +3: RMS to peak


def _excerpt(x: np.ndarray, frames_total: int) -> range:
    """The DI frames (at FINE_HOP) of its busiest EXCERPT_S: the most frames within 30 dB of
    its loudest."""
    n = min(frames_total, int(EXCERPT_S * RATE / FINE_HOP))
    lv = frame_levels_db(x, FINE_HOP)[:frames_total]
    busy = (lv > lv.max() - 30).astype(np.float64)
    if len(busy) <= n:
        return range(0, len(busy))
    c = np.concatenate([[0.0], np.cumsum(busy)])
    start = int(np.argmax(c[n:] - c[:-n]))
    return range(start, start + n)


def _render_preset(preset_path, x: np.ndarray) -> np.ndarray:
    """x (at RATE) through a preset file's chain, as ``pedal render`` does, back at RATE."""
    from ..dsp import ProcessSpec
    from ..preset import load_preset
    from ..tools.render import process_array

    preset = load_preset(preset_path)
    if preset.model is not None and preset.model.slimmable:
        preset.model = preset.model.at_slim(None)
    sr = preset.sample_rate
    chain = preset.build_chain()
    chain.prepare(ProcessSpec(sr, 256))
    lat = chain.latency
    y = np.concatenate([resample(x, RATE, sr), np.zeros(lat, np.float32)])
    process_array(chain, y, 256)
    return resample(y[lat:], sr, RATE)[: len(x)]


def passage_noise(y: np.ndarray) -> float:
    """How far apart the statistics of two passages of one rendering are (its halves, after
    the same EQ fit the match uses): below this, a rig's gain over another on a record that
    does not hold the DI's part is only the passages differing."""
    from .align import Alignment

    half = (len(y) // 2) // FINE_HOP * FINE_HOP
    if half < MIN_SECONDS * RATE:
        return 0.0
    a, b = y[:half], y[half:]
    none = Alignment(False, 0.0, 0.0, 0.0, 1.0)
    t = Target(a, none, range(0, len(b) // FINE_HOP))
    bands, _ = fit_rig_eq(t, b)
    return t.distance(apply_eq(b, bands))


def refine_shift(ref, al: Alignment, frames: range, y: np.ndarray) -> None:
    """The DTW path is whole 10 ms frames and lags by about half of one when the tempo is off
    (it steps late); set ``al.shift`` to the offset (-6..+6 ms) at which a rendering ``y`` of
    the DI excerpt is closest to the record at FFT 1024."""
    best = (float("inf"), 0.0)
    for ms in (-6, -4, -2, 0, 2, 4, 6):
        al.shift = ms * RATE / 1000
        d = Target(ref, al, frames, sizes=(1024,)).distance(y)
        best = min(best, (d, al.shift))
    al.shift = best[1]


def _rel(p: Path | None, base: Path) -> str | None:
    """A bundled file by its name (the preset loader finds it in the bundled folders), any
    other relative to the preset's folder."""
    if p is None:
        return None
    p = Path(p).resolve()
    if p.parent in (paths.MODELS_DIR.resolve(), paths.IR_DIR.resolve()):
        return p.name
    return os.path.relpath(p, base.resolve())


def write_preset(out: Path, name: str, model_path: Path, gain: float, ir_path: Path | None,
                 bands, gate_db: float, level_db: float, knobs=()) -> None:
    """The preset, atomically; its files named relative to it. A knob-conditioned model plays
    with its knobs as it was searched (all at half)."""
    import yaml

    doc = {
        "name": name,
        "gate": {"enabled": True, "threshold_db": gate_db},
        "amp": {"enabled": True, "model": _rel(model_path, out.parent),
                "input_gain_db": round(float(gain), 2), "knobs": list(knobs),
                "normalize_loudness": True},
        "cab": ({"enabled": True, "ir": _rel(ir_path, out.parent)} if ir_path else None),
        "eq": {"enabled": True, "bands": [{"type": b.type, "freq_hz": b.freq_hz,
                                           "gain_db": b.gain_db, "q": b.q} for b in bands]},
        "output": {"level_db": round(float(np.clip(level_db, -60, 24)), 2),
                   "dc_block": True, "limiter": True},
    }
    text = ("# written by pedal match: the rig closest to the record it was given\n" +
            yaml.safe_dump(doc, sort_keys=False))
    try:
        with atomic_path(out) as tmp:
            tmp.write_text(text)
    except OSError as exc:
        raise PedalError(f"{out}: cannot write the preset ({exc.strerror or exc})") from None


def eq_only(target: Target, y: np.ndarray) -> np.ndarray:
    """The baseline every 'match EQ' offers: the default preset followed by an EQ fitted to the
    record (the same EQ fit the search uses)."""
    bands, _ = fit_rig_eq(target, y, max_bands=8)
    return apply_eq(y, bands)


def match(reference, di, out, *, models=(), irs=(), minutes: float = 3.0, bundled=True,
          progress=None, log=None) -> MatchReport:
    t0 = time.monotonic()
    out = Path(out)
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError(f"-o {out}: the preset must be a .yaml file")
    if not 0.1 <= minutes <= 120:
        raise ConfigError(f"--minutes: must be 0.1..120, got {minutes:g}")
    ref = _read(reference, "reference recording")
    x = _read(di, "DI recording")
    _check_di(x, di)
    say = log or (lambda line: None)
    say(f"aligning the DI ({len(x) / RATE:.1f} s) with the record ({len(ref) / RATE:.1f} s)")
    al = align(x, ref)
    say(al.describe())
    lib = load_library(models, irs, bundled=bundled, log=say)
    say(f"library: {len(lib.models)} models, {len(lib.irs) - 1} cabinet IRs")
    n_frames = len(al.path) if al.found else len(x) // FINE_HOP
    ex = _excerpt(x, n_frames)
    gate_db = gate_threshold(x)
    pre = min(int(PRE_S * RATE), ex.start * FINE_HOP)
    s0 = ex.start * FINE_HOP - pre
    clip = x[s0: ex.stop * FINE_HOP + FINE_HOP]
    y_default_ex = _render_preset(paths.DEFAULT_PRESET, clip)[pre:]
    if al.found:
        refine_shift(ref, al, ex, y_default_ex)
    target = Target(ref, al, ex)
    budget = max(5.0, minutes * 60 - (time.monotonic() - t0) - 15.0)
    search = Search(lib, target, clip, gate_db, budget, progress=progress, pre=pre)
    finals = search.run()
    best = finals[0]
    model_e, ir_e = lib.models[best.model], lib.irs[best.ir]
    assert model_e.path is not None
    model = model_e.item
    assert isinstance(model, ModelFile)
    # the level: as loud as the default preset on this DI (the record's level is not its tone)
    y_best = apply_eq(convolve(search.render(best.model, best.gain_db),
                               ir_e.item.taps), best.bands)  # type: ignore[attr-defined]
    rms = lambda v: float(np.sqrt(np.mean(np.square(v, dtype=np.float64))) + 1e-12)  # noqa: E731
    level = 20 * np.log10(rms(y_default_ex) / rms(y_best))
    write_preset(out, f"match: {Path(reference).stem}", model_e.path, best.gain_db,
                 ir_e.path, best.bands, gate_db, level, [0.5] * model.knob_count)
    say(f"wrote {out}")
    # the honest figures: the written preset and the default one, on the pedal's own chain
    score_frames = range(0, min(n_frames, int(SCORE_S * RATE / FINE_HOP)))
    full = Target(ref, al, score_frames)
    xs = x[: score_frames.stop * FINE_HOP + FINE_HOP]
    y_match = _render_preset(out, xs)
    y_default = _render_preset(paths.DEFAULT_PRESET, xs)
    after, before = full.distance(y_match), full.distance(y_default)
    eq_base = full.distance(eq_only(full, y_default))
    notes = list(search.log.notes)
    chosen = (str(model_e.path), best.gain_db, str(ir_e.path) if ir_e.path else None,
              best.bands, gate_db, float(np.clip(level, -60, 24)))
    noise = 0.0 if al.found else passage_noise(y_default)
    if noise:
        notes.append(f"two halves of your DI through the default preset differ by {noise:.2f} "
                     "dB by the same statistics")
    if after > before + 0.01 or before - after < noise:
        if after > before + 0.01:
            notes.append(f"the search's best rig ({after:.2f} dB) is further from the record "
                         "than the default preset: the library has nothing closer, so the "
                         "preset is the default preset's rig")
        else:
            notes.append(f"without the DI's part in the record, its statistics cannot tell the "
                         f"rigs apart: the best rig gains {before - after:.2f} dB over the "
                         f"default preset, less than the {noise:.2f} dB by which two halves of "
                         "your own DI differ; so the preset is the default preset's rig (give "
                         "a DI of the record's part for a real match)")
        from ..dsp.eq import Band
        from ..preset import load_preset

        d = load_preset(paths.DEFAULT_PRESET).data
        bands = [Band(**b) for b in (d["eq"] or {}).get("bands", [])]
        ir_path = Path(d["cab"]["ir"]) if d.get("cab") else None
        write_preset(out, f"match: {Path(reference).stem} (the default rig)",
                     Path(d["amp"]["model"]), d["amp"]["input_gain_db"], ir_path, bands,
                     d["gate"]["threshold_db"], d["output"]["level_db"])
        chosen = (str(Path(d["amp"]["model"]).resolve()), d["amp"]["input_gain_db"],
                  str(ir_path.resolve()) if ir_path else None, bands, d["gate"]["threshold_db"],
                  d["output"]["level_db"])
        y_match, after = y_default, before
    ranking = [{"model": lib.models[r.model].name, "input_gain_db": r.gain_db,
                "ir": lib.irs[r.ir].name, "score_db": round(r.score, 3),
                "final_db": None if r.final is None else round(r.final, 3)}
               for r in search.log.ranking[:10]]
    from .distance import ltas_bands
    from .eqfit import GRID, response_db
    from .features import third_octave_edges

    e = third_octave_edges()
    section = ref[int(al.start_s * RATE): int(al.end_s * RATE)] if al.found else ref
    curves = {"bands_hz": np.sqrt(e[:-1] * e[1:]), "record": ltas_bands(section),
              "default": ltas_bands(y_default), "match": ltas_bands(y_match),
              "eq_hz": GRID, "eq_db": response_db(best.bands, GRID, RATE),
              "path": al.path, "hop": FINE_HOP}
    return MatchReport(str(reference), str(di), str(out), al, *chosen, before, after, eq_base,
                       time.monotonic() - t0,
                       {"models": len(lib.models), "irs": len(lib.irs) - 1,
                        "renders": search.log.renders,
                        "render_seconds": round(search.log.render_seconds, 1),
                        "rigs_scored": search.log.scored},
                       lib.skipped, notes, ranking, curves)


def print_report(rep: MatchReport, stream) -> None:
    p = lambda s="": print(s, file=stream)  # noqa: E731
    p(f"record:    {rep.reference}")
    p(f"DI:        {rep.di}")
    p(f"alignment: {rep.alignment.describe()}")
    p(f"model:     {rep.model}  (input gain {rep.input_gain_db:+.1f} dB)")
    p(f"cabinet:   {rep.ir or 'none'}")
    p(f"gate:      opens above {rep.gate_db:.0f} dBFS")
    p("eq:        " + (", ".join(f"{b.type} {b.freq_hz:g} Hz {b.gain_db:+.1f} dB Q {b.q:g}"
                                 for b in rep.bands) or "flat"))
    p(f"distance:  default preset {rep.before_db:.2f} dB, an EQ after it {rep.eq_only_db:.2f} "
      f"dB, the match {rep.after_db:.2f} dB")
    p(f"verdict:   {rep.verdict}")
    p(f"searched:  {rep.searched['models']} models x {rep.searched['irs'] + 1} cabinets "
      f"({rep.searched['renders']} renders, {rep.searched['rigs_scored']} rigs scored) "
      f"in {rep.seconds:.0f} s")
    for line in rep.notes + rep.skipped:
        p(f"note:      {line}")
    p(f"preset:    {rep.preset}  (pedal render DI.wav OUT.wav --preset {rep.preset})")


def write_json(rep: MatchReport, stream) -> None:
    json.dump(rep.as_dict(), stream, indent=2)
    stream.write("\n")
