"""The models folder as the pedal's cycle of amps, kept in step with the disk.

Files arrive over ssh at any time. A file joins the cycle only when it is complete and valid:
its size and modification time have not changed for ``settle_s`` (a copy in progress keeps
changing them), it loads (``pedal.models.load_model`` validates shapes, sizes and values), it
runs at the pedal's sample rate, and it passes the real-time budget check at the pedal's block
size. A file that fails is logged once (until it changes) and skipped. Hidden files and the
temporary names of copy tools (``.name``, ``*.tmp``, ``*.part``, ``*~``) are ignored, so
``scp model.nam pi:/var/lib/pedal/models/.model.nam && ssh pi mv ...`` appears at once.
A file that is removed leaves the cycle; if it is playing, it keeps playing until the next
change. A missing folder empties the cycle (and is reported once) and is picked up again when
it comes back.

Scanning runs on the control thread; each call loads at most one new file, so the loop stays
responsive while a folder of many models is read.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ModelError
from ..paths import MODEL_SUFFIXES

log = logging.getLogger("pedal")
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".swp", ".crdownload", "~")


def candidate(name: str) -> bool:
    low = name.lower()
    return (not name.startswith(".") and not low.endswith(IGNORED_SUFFIXES)
            and Path(low).suffix in MODEL_SUFFIXES)


def check_rate(model, sample_rate: int) -> None:
    """A model must run at the pedal's rate: the chain does not resample."""
    if model.sample_rate != sample_rate:
        raise ModelError(f"{model.path}: model runs at {model.sample_rate} Hz, the pedal at "
                         f"{sample_rate} Hz (set audio.sample_rate, or use a {sample_rate} Hz "
                         "model)")


@dataclass
class Entry:
    path: Path
    signature: tuple       # (size, mtime_ns) when last seen
    since: float           # monotonic time the signature was first seen unchanged
    model: object = None   # the loaded model, once valid
    error: str | None = None
    load: float | None = None  # share of the block budget (budget check)


@dataclass
class ModelLibrary:
    folder: Path
    sample_rate: int
    block: int
    max_load: float = 0.5
    settle_s: float = 1.0
    entries: dict = field(default_factory=dict)
    folder_missing: bool = False
    errors: list = field(default_factory=list)  # (path, message) newly found, for the daemon

    @property
    def cycle(self) -> list[Path]:
        """Valid models, sorted by file name."""
        return sorted((e.path for e in self.entries.values() if e.model is not None),
                      key=lambda p: p.name.lower())

    def get(self, path) -> object | None:
        e = self.entries.get(Path(path))
        return e.model if e is not None else None

    def check(self, path: Path):
        """Load and check one file now (also used for the file a saved state names)."""
        from ..models import load_model
        from ..models.info import check_realtime

        model = load_model(path)
        check_rate(model, self.sample_rate)
        knobs = [0.5] * model.knob_count
        load = check_realtime(model, self.block, self.max_load, knobs=knobs)
        return model, load

    def scan(self, now: float | None = None, load_one: bool = True) -> list[tuple[str, Path]]:
        """Bring the cycle up to date. Returns events: ("added"|"removed"|"rejected", path)."""
        now = time.monotonic() if now is None else now
        events = []
        try:
            names = [n for n in os.listdir(self.folder) if candidate(n)]
        except OSError as exc:
            if not self.folder_missing:
                self.folder_missing = True
                self.errors.append((self.folder, f"{self.folder}: models folder unreadable "
                                    f"({exc.strerror}); the current sound keeps playing"))
            names = []
        else:
            if self.folder_missing:
                log.info("models folder %s is back", self.folder)
            self.folder_missing = False
        seen = set()
        for name in names:
            p = self.folder / name
            try:
                st = p.stat()
            except OSError:
                continue
            if not p.is_file():
                continue
            seen.add(p)
            sig = (st.st_size, st.st_mtime_ns)
            e = self.entries.get(p)
            if e is None or e.signature != sig:
                if e is not None and e.model is not None:
                    events.append(("removed", p))  # changed in place: checked again
                self.entries[p] = Entry(p, sig, now)
        for p in list(self.entries):
            if p not in seen:
                e = self.entries.pop(p)
                if e.model is not None:
                    events.append(("removed", p))
        if load_one:
            for e in sorted(self.entries.values(), key=lambda e: e.path.name.lower()):
                if e.model is None and e.error is None and now - e.since >= self.settle_s:
                    try:
                        e.model, e.load = self.check(e.path)
                        events.append(("added", e.path))
                    except ModelError as exc:
                        e.error = str(exc).splitlines()[0]
                        self.errors.append((e.path, e.error))
                        events.append(("rejected", e.path))
                    except MemoryError:
                        e.error = f"{e.path}: not enough memory to load it"
                        self.errors.append((e.path, e.error))
                        events.append(("rejected", e.path))
                    break
        return events

    def rejected(self) -> dict[str, str]:
        """File name -> why it is not in the cycle."""
        return {e.path.name: e.error for e in self.entries.values() if e.error is not None}

    def pending(self) -> int:
        """Files seen but not yet checked."""
        return sum(1 for e in self.entries.values() if e.model is None and e.error is None)
