"""Presets: one YAML file naming the amp model, the cabinet IR, EQ bands and levels.

Paths are relative to the preset file (then the bundled ``models/`` and ``ir/`` folders are
tried). Loading validates everything, loads the model and the IR, and reports every problem
at once, one line each: ``preset.yaml: eq.bands[1].freq_hz: must be 20..20000 Hz, got 50000``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths
from ..dsp import AmpModel, Block, CabinetIR, Chain, NoiseGate, OutputLevel, ParametricEQ
from ..dsp.eq import BAND_TYPES
from ..errors import ConfigError, IRError, ModelError
from ..audio.ir import NORMALIZE, ImpulseResponse, load_ir
from ..models import load_model
from .safe_yaml import read_yaml
from .schema import (Bool, Choice, FilePath, Items, Num, NumList, NumOrWord, Section, Text,
                     validate)


SCHEMA = Section({
    "name": Text(default=""),
    "gate": Section({
        "enabled": Bool(True),
        "threshold_db": Num(-120, 0, -65.0, "dB"),
        "attack_ms": Num(0, 500, 1.0, "ms"),
        "hold_ms": Num(0, 5000, 50.0, "ms"),
        "release_ms": Num(0, 5000, 100.0, "ms"),
        "hysteresis_db": Num(0, 40, 6.0, "dB"),
        "range_db": Num(-120, 0, -80.0, "dB"),
    }),
    "amp": Section({
        "enabled": Bool(True),
        "model": FilePath(search=(str(paths.MODELS_DIR),)),
        "input_gain_db": Num(-40, 40, 0.0, "dB"),
        "output_gain_db": Num(-40, 40, 0.0, "dB"),
        "knobs": NumList(Num(0, 1), max_items=8),
        "normalize_loudness": Bool(True),   # -18 dB loudness when the model states it
        "calibrate_input": Bool(False),     # NAM input_level_dbu against interface_dbu
        "interface_dbu": Num(-60, 60, 12.0, "dBu"),
        "fast_tanh": Bool(False),           # NAM plugin's tanh approximation (every engine)
        "precise": Bool(False),             # float64 LSTM/GRU (slower; --raw sets it)
        # a model of several sizes (NAM SlimmableContainer, slimmable WaveNet): 0..1 as NAM's
        # SetSlimmableSize, or auto: the largest this machine runs in real time
        "slim": NumOrWord(Num(0, 1), ("auto",), "auto"),
    }),
    "cab": Section({
        "enabled": Bool(True),
        "ir": FilePath(search=(str(paths.IR_DIR),)),
        "level_db": Num(-40, 40, 0.0, "dB"),
        "normalize": Choice(NORMALIZE, "energy"),
        "trim_silence": Bool(False),
        "max_seconds": Num(0.001, 30, 10.0, "s"),
    }, optional=True),
    "eq": Section({
        "enabled": Bool(True),
        "bands": Items(Section({
            "type": Choice(BAND_TYPES),
            "freq_hz": Num(20, 20000, unit="Hz"),
            "gain_db": Num(-24, 24, 0.0, "dB"),
            "q": Num(0.1, 20, 0.7071),
        }), max_items=16),
    }, optional=True),
    "output": Section({
        "level_db": Num(-60, 24, 0.0, "dB"),
        "dc_block": Bool(True),
        "limiter": Bool(True),                  # soft limiter: nothing reaches full scale
        "limiter_ceiling_db": Num(-20, 0, -1.0, "dB"),
    }),
})


@dataclass
class Preset:
    path: str
    data: dict
    model: Any = None  # a loaded amp model (pedal.models.ModelFile)
    ir: ImpulseResponse | None = None
    notices: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.data.get("name") or Path(self.path).stem

    @property
    def sample_rate(self) -> int:
        return self.model.sample_rate if self.model else 48000

    def build_chain(self) -> Chain:
        """A new chain (not yet prepared) for this preset: gate, amp, cab, eq, level."""
        d = self.data
        blocks: list[Block] = []
        g = d["gate"]
        gate = NoiseGate(g["threshold_db"], g["attack_ms"], g["hold_ms"], g["release_ms"],
                         g["hysteresis_db"], g["range_db"])
        gate.enabled = g["enabled"]
        blocks.append(gate)
        a = d["amp"]
        amp = AmpModel(self.model, a["input_gain_db"], a["output_gain_db"], a["knobs"],
                       a["normalize_loudness"], a["calibrate_input"], a["interface_dbu"],
                       a["fast_tanh"], a["precise"])
        amp.enabled = a["enabled"]
        blocks.append(amp)
        if self.ir is not None:
            cab = CabinetIR(self.ir, level_db=d["cab"]["level_db"])
            cab.enabled = d["cab"]["enabled"]
            blocks.append(cab)
        if d["eq"] is not None:
            eq = ParametricEQ(d["eq"]["bands"])
            eq.enabled = d["eq"]["enabled"]
            blocks.append(eq)
        o = d["output"]
        blocks.append(OutputLevel(o["level_db"], o["dc_block"], limiter=o["limiter"],
                                  ceiling_db=o["limiter_ceiling_db"]))
        return Chain(blocks)


def measure_loudness(model, knobs) -> str | None:
    """Give a model that states no loudness a measured one (``models/loudness.py``), so that
    normalisation brings every model to -18 dB; returns the notice that says so."""
    from ..models.loudness import loudness

    if model.metadata.get("loudness_measured") is not None:
        return None
    value, measured = loudness(model, knobs)
    if not measured:
        return None
    model.metadata["loudness_measured"] = round(value, 2)
    return (f"{model.path}: states no loudness; measured {value:.1f} dB on the standard "
            "input, normalised to -18 dB")


def parse_eq_arg(text: str) -> dict:
    """``TYPE:FREQ[:GAIN_DB[:Q]]`` (e.g. ``peak:800:-3:1.2``) into a band mapping."""
    parts = text.split(":")
    band: dict = {"type": parts[0]}
    for key, raw in zip(("freq_hz", "gain_db", "q"), parts[1:4]):
        try:
            band[key] = float(raw)
        except ValueError:
            band[key] = raw  # the validator names it
    if len(parts) > 4:
        band["extra"] = parts[4:]
    return band


def load_preset(path=None, *, model=None, ir=None, eq=None, knobs=None, level_db=None,
                raw: bool = False, slim=None) -> Preset:
    """Load and check a preset; keyword arguments override it (as ``pedal render`` flags do).

    eq: list of ``TYPE:FREQ[:GAIN[:Q]]`` strings replacing the preset's bands.
    raw: the amp model alone (no gate, cab, EQ, DC blocker; levels at 0 dB), in float64 where
    the engine offers it, for sample-by-sample comparison with other runtimes.
    """
    p = Path(path) if path is not None else paths.DEFAULT_PRESET
    doc = read_yaml(p, "preset file")
    if not isinstance(doc, dict):
        raise ConfigError(f"{p}: (top): must be a mapping of keys to values, "
                          f"got {type(doc).__name__}")
    doc = {k: (dict(v) if isinstance(v, dict) else v) for k, v in doc.items()}
    def from_cwd(name):  # a flag's path is relative to where the command runs
        here = Path(name).expanduser().resolve()
        return str(here) if here.exists() else name

    flags = {}  # key path -> the command-line flag that set it: its errors name the flag
    if model is not None:
        doc.setdefault("amp", {})["model"] = from_cwd(model)
        flags["amp.model"] = "--model"
        if knobs is None:
            flags["amp.knobs"] = "--knobs"  # the preset's knobs were for its own model
    if ir is not None:
        doc["cab"] = {**(doc.get("cab") or {}), "ir": from_cwd(ir)}
        flags["cab.ir"] = "--ir"
    if eq is not None:
        doc["eq"] = {**(doc.get("eq") or {}), "bands": [parse_eq_arg(e) for e in eq]}
        flags["eq.bands"] = "--eq"
    if knobs is not None:
        doc.setdefault("amp", {})["knobs"] = list(knobs)
        flags["amp.knobs"] = "--knobs"
    if level_db is not None:
        doc.setdefault("output", {})["level_db"] = level_db
        flags["output.level_db"] = "--level-db"
    if slim is not None:
        doc.setdefault("amp", {})["slim"] = slim
        flags["amp.slim"] = "--slim"
    if raw:
        doc["gate"] = {**(doc.get("gate") or {}), "enabled": False}
        doc["cab"] = None
        doc["eq"] = None
        doc["output"] = {"level_db": 0.0, "dc_block": False, "limiter": False}
        doc.setdefault("amp", {}).update(input_gain_db=0.0, output_gain_db=0.0,
                                         normalize_loudness=False, calibrate_input=False,
                                         precise=True)
    data, problems = validate(doc, SCHEMA, file=str(p), base=p.parent)
    preset = Preset(str(p), data or {})
    # load the files the preset names, so their problems are reported with the others
    amp, cab = (data or {}).get("amp") or {}, (data or {}).get("cab") or {}
    if amp.get("model") is not None:
        try:
            preset.model = load_model(amp["model"])
            if preset.model.slimmable and isinstance(amp.get("slim"), float):
                preset.model = preset.model.at_slim(amp["slim"], "amp.slim")
            preset.notices += preset.model.notices
            n_knobs = len(amp.get("knobs") or [])
            if amp.get("knobs") is None and "knobs" in (doc.get("amp") or {}):
                pass  # the knob values themselves are wrong: that is reported already
            elif n_knobs != preset.model.knob_count:
                problems.append(f"{p}: amp.knobs: the model takes {preset.model.knob_count} "
                                f"knob value(s), got {n_knobs}")
            elif amp.get("normalize_loudness"):
                note = measure_loudness(preset.model, amp.get("knobs") or [])
                if note:
                    preset.notices.append(note)
        except ModelError as exc:
            problems.append(f"{p}: amp.model: {exc}")
    if cab.get("ir") is not None and None not in (cab["max_seconds"], cab["normalize"],
                                                 cab["trim_silence"]):
        try:
            preset.ir = load_ir(cab["ir"], preset.sample_rate, max_seconds=cab["max_seconds"],
                                normalize=cab["normalize"], trim_silence=cab["trim_silence"])
            preset.notices += preset.ir.notices
        except IRError as exc:
            problems.append(f"{p}: cab.ir: {exc}")
    if problems:
        raise ConfigError([_blame(line, str(p), flags) for line in problems])
    return preset


def _blame(line: str, file: str, flags: dict) -> str:
    """A problem with a value a flag gave names the flag, not the preset file."""
    for key, flag in flags.items():
        for head in (f"{file}: {key}: ", f"{file}: {key}["):
            if line.startswith(head):
                rest = line[len(f"{file}: {key}"):].lstrip(": ")
                if rest.startswith("["):  # bands[0].freq_hz -> --eq (1st): freq_hz
                    index, _, rest = rest[1:].partition("]")
                    noun = "band" if flag == "--eq" else "value"
                    flag = f"{flag} ({noun} {int(index) + 1})"
                    rest = rest.lstrip(".: ")
                if flag == "--knobs" and "knob value" in rest:
                    rest += " (give them with --knobs, e.g. --knobs 0.5)"
                return f"{flag}: {rest}"
    return line
