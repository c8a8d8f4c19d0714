"""``pedal match REFERENCE DI -o OUT.yaml``: how close can this guitar get to that record?

Reads both (``inputs``), aligns the DI's part with the record (``align``), searches the
library's rigs (``search``), writes the preset (``output``: atomically, paths relative to it),
renders the DI through the written preset on the pedal's own chain and says how far that is
from the record, beside the default preset (``report``)."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .. import paths
from ..errors import ConfigError, PedalError
from ..models import ModelFile
from .align import FINE_HOP, Alignment, align
from .features import RATE
from .inputs import MIN_SECONDS, busiest, check_di, gate_threshold, read_input
from .library import Library, load_library
from .output import render_preset, write_preset
from .report import Chosen, MatchReport
from .search import Search, apply_eq, convolve, fit_rig_eq
from .target import Target

PRE_S = 0.5               # rendered before the excerpt, so the models' state has settled
SCORE_S = 60.0            # the DI the final distances are measured on


def _capture(out: Path, x, ref, al, model, best, ir_e, minutes, notes, say):
    """--capture: the fine-tuned amp beside the preset when it beats the library's; returns
    (the model path the preset names, the amp keys that go with it, or None)."""
    from .capture import capture

    from ..dsp import AmpModel

    amp = AmpModel(model, best.gain_db, 0.0, [0.5] * model.knob_count,
                   normalize_loudness=True)
    out_gain = amp.normalize_db
    say(f"capture: training up to {minutes:g} min")
    try:
        cap = capture(x, ref, al, model, best.gain_db, out_gain, ir_e.item.taps, best.bands,
                      minutes, log=say)
    except PedalError as exc:  # the match stands without it
        notes.append(f"capture: not made ({str(exc).splitlines()[0]})")
        return model.path, None
    verdict = "kept" if cap.kept else "not kept (the library's model stays)"
    notes.append(f"capture: {cap.start}, {cap.steps} steps in {cap.seconds:.0f} s: "
                 f"{cap.held_out_db:.2f} dB on the held-out fifth of the DI against the "
                 f"library rig's {cap.library_db:.2f} dB; {verdict}")
    if not cap.kept:
        return model.path, None
    from ..models.onnx.write import write_onnx

    path = out.parent / f"{out.stem}.capture.onnx"
    try:
        write_onnx(cap.spec, path, metadata={"name": f"{out.stem} capture",
                                             "pedal.match": "pedal match --capture"})
    except ImportError:
        raise PedalError("--capture writes ONNX: pip install -e '.[train]'") from None
    notes.append(f"wrote {path}")
    return path, {"normalize_loudness": False,
                  "output_gain_db": round(float(np.clip(cap.out_gain_db, -40, 40)), 2)}


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


def eq_only(target: Target, y: np.ndarray) -> np.ndarray:
    """The baseline every 'match EQ' offers: the default preset followed by an EQ fitted to the
    record (the same EQ fit the search uses)."""
    bands, _ = fit_rig_eq(target, y, max_bands=8)
    return apply_eq(y, bands)


def _rms(v: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(v, dtype=np.float64))) + 1e-12)


def match(reference, di, out, *, models=(), irs=(), minutes: float = 3.0, bundled=True,
          progress=None, log=None, capture: bool = False) -> MatchReport:
    t0 = time.monotonic()
    out = Path(out)
    if out.suffix.lower() not in (".yaml", ".yml"):
        raise ConfigError(f"-o {out}: the preset must be a .yaml file")
    if not 0.1 <= minutes <= 120:
        raise ConfigError(f"--minutes: must be 0.1..120, got {minutes:g}")
    if capture:
        from ..train.commands import import_torch

        import_torch(1)  # no PyTorch: say so now, not after the search
    ways = read_input(reference, "reference recording", channels=True)
    x = read_input(di, "DI recording")
    check_di(x, di)
    say = log or (lambda line: None)
    say(f"aligning the DI ({len(x) / RATE:.1f} s) with the record "
        f"({len(ways['mix']) / RATE:.1f} s)")
    channel, ref, al = _hear(ways, x)
    say(al.describe() + (f" (in the record's {channel} channel)" if channel != "mix" else ""))
    lib = load_library(models, irs, bundled=bundled, log=say)
    say(f"library: {len(lib.models)} models, {len(lib.irs) - 1} cabinet IRs")
    n_frames = len(al.path) if al.found else len(x) // FINE_HOP
    search, clip, pre = _search(x, ref, al, lib, n_frames, minutes * 60 - (time.monotonic() - t0),
                                progress)
    best = search.best
    assert best is not None
    model_e, ir_e = lib.models[best.model], lib.irs[best.ir]
    model = model_e.item
    assert isinstance(model, ModelFile) and model_e.path is not None
    # the level: as loud as the default preset on this DI (the record's level is not its tone)
    y_best = apply_eq(convolve(search.render(best.model, best.gain_db),
                               ir_e.item.taps), best.bands)
    level = 20 * np.log10(_rms(render_preset(paths.DEFAULT_PRESET, clip)[pre:]) / _rms(y_best))
    notes = list(search.log.notes)
    model_path, extra = model_e.path, None
    if capture:
        model_path, extra = _capture(out, x, ref, al, model, best, ir_e, minutes, notes, say)
    rig = Chosen(str(model_path), best.gain_db, str(ir_e.path) if ir_e.path else None, best.bands,
              search.gate_db, float(np.clip(level, -60, 24)))
    write_preset(out, f"match: {Path(reference).stem}", Path(rig.model), rig.input_gain_db,
                 ir_e.path, rig.bands, rig.gate_db, rig.level_db,
                 [] if extra else [0.5] * model.knob_count, extra)
    say(f"wrote {out}")
    # the honest figures: the written preset and the default one, on the pedal's own chain
    frames = range(0, min(n_frames, int(SCORE_S * RATE / FINE_HOP)))
    full = Target(ref, al, frames)
    xs = x[: frames.stop * FINE_HOP + FINE_HOP]
    y_match = render_preset(out, xs)
    y_default = render_preset(paths.DEFAULT_PRESET, xs)
    after, before = full.distance(y_match), full.distance(y_default)
    eq_base = full.distance(eq_only(full, y_default))
    noise = 0.0 if al.found else passage_noise(y_default)
    if noise:
        notes.append(f"two halves of your DI through the default preset differ by {noise:.2f} "
                     "dB by the same statistics")
    if extra and after > before + 0.01:  # the capture did worse over the whole DI
        notes.append(f"capture: dropped, the preset with it is {after:.2f} dB from the record "
                     f"against the default preset's {before:.2f} dB")
        model_path.unlink(missing_ok=True)
        rig.model, extra = str(model_e.path), None
        write_preset(out, f"match: {Path(reference).stem}", model_e.path, rig.input_gain_db,
                     ir_e.path, rig.bands, rig.gate_db, rig.level_db,
                     [0.5] * model.knob_count)
        y_match = render_preset(out, xs)
        after = full.distance(y_match)
    if after > before + 0.01 or before - after < noise:
        notes.append(_why_default(after, before, noise))
        rig = _write_default(out, reference)
        if extra:  # the capture belonged to the rig that was not kept
            model_path.unlink(missing_ok=True)
        y_match, after = y_default, before
    if channel != "mix":
        notes.insert(0, f"the guitar was heard best in the record's {channel} channel; it was "
                        "matched there")
    return MatchReport(**vars(rig), reference=str(reference), di=str(di), preset=str(out),
                       alignment=al, before_db=before, after_db=after, eq_only_db=eq_base,
                       seconds=time.monotonic() - t0, searched=_searched(lib, search),
                       skipped=lib.skipped, notes=notes, ranking=_ranking(lib, search),
                       curves=_curves(ref, al, y_default, y_match, rig))


def _hear(ways: dict, x: np.ndarray):
    """The way of hearing a stereo record (mix, left, right, side) whose alignment with the
    DI is the most confident: (its name, the signal, the alignment)."""
    best = None
    for name, sig in ways.items():
        al = align(x, sig)
        if best is None or (al.found, al.confidence) > (best[2].found, best[2].confidence):
            best = (name, sig, al)
    assert best is not None
    return best


def _search(x, ref, al: Alignment, lib: Library, n_frames: int, seconds_left: float, progress):
    """The search on the DI's busiest part; returns (the finished search, the DI clip it
    rendered, the samples of that clip before the part)."""
    ex = busiest(x, n_frames)
    pre = min(int(PRE_S * RATE), ex.start * FINE_HOP)
    clip = x[ex.start * FINE_HOP - pre: ex.stop * FINE_HOP + FINE_HOP]
    if al.found:
        refine_shift(ref, al, ex, render_preset(paths.DEFAULT_PRESET, clip)[pre:])
    budget = max(5.0, seconds_left - 15.0)   # 15 s for writing and the final renders
    search = Search(lib, Target(ref, al, ex), clip, gate_threshold(x), budget,
                    progress=progress, pre=pre)
    search.run()
    return search, clip, pre


def _why_default(after: float, before: float, noise: float) -> str:
    if after > before + 0.01:
        return (f"the search's best rig ({after:.2f} dB) is further from the record than the "
                "default preset: the library has nothing closer, so the preset is the default "
                "preset's rig")
    return (f"without the DI's part in the record, its statistics cannot tell the rigs apart: "
            f"the best rig gains {before - after:.2f} dB over the default preset, less than the "
            f"{noise:.2f} dB by which two halves of your own DI differ; so the preset is the "
            "default preset's rig (give a DI of the record's part for a real match)")


def _write_default(out: Path, reference) -> Chosen:
    """The default preset's rig, written as the match."""
    from ..dsp.eq import Band
    from ..preset import load_preset

    d = load_preset(paths.DEFAULT_PRESET).data
    bands = [Band(**b) for b in (d["eq"] or {}).get("bands", [])]
    ir_path = Path(d["cab"]["ir"]).resolve() if d.get("cab") else None
    model = Path(d["amp"]["model"]).resolve()
    write_preset(out, f"match: {Path(reference).stem} (the default rig)", model,
                 d["amp"]["input_gain_db"], ir_path, bands, d["gate"]["threshold_db"],
                 d["output"]["level_db"])
    return Chosen(str(model), d["amp"]["input_gain_db"], str(ir_path) if ir_path else None, bands,
               d["gate"]["threshold_db"], d["output"]["level_db"])


def _searched(lib: Library, search: Search) -> dict:
    return {"models": len(lib.models), "irs": len(lib.irs) - 1, "renders": search.log.renders,
            "render_seconds": round(search.log.render_seconds, 1),
            "rigs_scored": search.log.scored}


def _ranking(lib: Library, search: Search) -> list[dict]:
    return [{"model": lib.models[r.model].name, "input_gain_db": r.gain_db,
             "ir": lib.irs[r.ir].name, "score_db": round(r.score, 3),
             "final_db": None if r.final is None else round(r.final, 3)}
            for r in search.log.ranking[:10]]


def _curves(ref, al: Alignment, y_default, y_match, rig: Chosen) -> dict:
    """What the plot draws."""
    from .distance import ltas_bands
    from .eqfit import GRID, response_db
    from .features import third_octave_edges

    e = third_octave_edges()
    section = ref[int(al.start_s * RATE): int(al.end_s * RATE)] if al.found else ref
    return {"bands_hz": np.sqrt(e[:-1] * e[1:]), "record": ltas_bands(section),
            "default": ltas_bands(y_default), "match": ltas_bands(y_match),
            "eq_hz": GRID, "eq_db": response_db(rig.bands, GRID, RATE),
            "path": al.path, "hop": FINE_HOP}
