"""What ``pedal match`` found and how close it got: the report, as text and as JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .align import Alignment


@dataclass
class Chosen:
    """What the written preset holds."""
    model: str
    input_gain_db: float
    ir: str | None
    bands: list
    gate_db: float
    level_db: float


@dataclass
class MatchReport(Chosen):
    """The rig chosen, and where it was found and how close it is."""
    reference: str
    di: str
    preset: str
    alignment: Alignment
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
