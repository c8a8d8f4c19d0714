"""The models folder as the pedal's cycle of amps, kept in step with the disk.

Files arrive over ssh at any time. A file joins the cycle only when it is complete and valid:
its size and modification time have not changed for ``settle_s`` (a copy in progress keeps
changing them), and the loader process (``loader.py``) has loaded it, checked that it runs at
the pedal's sample rate and that it passes the real-time budget at the pedal's block size. A
file that fails is reported once (until it changes) and skipped. Hidden files and the temporary
names of copy tools (``.name``, ``*.tmp``, ``*.part``, ``*~``) are ignored, so ``scp
model.nam pi:/var/lib/pedal/models/.model.nam && ssh pi mv ...`` appears at once. A file that
is removed leaves the cycle; if it is playing, it keeps playing until the next change. A
missing folder empties the cycle (reported once) and is picked up again when it comes back.

The library itself never loads anything: ``scan`` (on the control loop) only lists the folder,
``next_to_check`` names the next settled file, and ``checked`` takes the loader's verdict, which
counts only if the file has not changed meanwhile.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import MODEL_SUFFIXES

log = logging.getLogger("pedal")
IGNORED_SUFFIXES = (".tmp", ".part", ".partial", ".swp", ".crdownload", "~")
MAX_FILES = 1000  # files of a folder that are considered (a full folder is reported)


def candidate(name: str) -> bool:
    low = name.lower()
    return (not name.startswith(".") and not low.endswith(IGNORED_SUFFIXES)
            and Path(low).suffix in MODEL_SUFFIXES)


@dataclass
class Entry:
    path: Path
    signature: tuple       # (size, mtime_ns) when last seen
    since: float           # monotonic time the signature was first seen unchanged
    model: object = None   # the loaded model, once valid
    error: str | None = None
    load: float | None = None  # share of the block budget (budget check)
    checking: bool = False


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

    def job(self, path: Path) -> dict:
        """The loader job that checks ``path`` for this pedal."""
        return {"path": str(path), "sample_rate": self.sample_rate, "block": self.block,
                "max_load": self.max_load}

    def scan(self, now: float | None = None) -> list[tuple[str, Path]]:
        """Bring the entries up to date with the folder. Returns events: ("removed", path)."""
        now = time.monotonic() if now is None else now
        events = []
        try:
            with os.scandir(self.folder) as it:
                names = []
                for de in it:
                    if candidate(de.name):
                        names.append(de.name)
                        if len(names) >= MAX_FILES:
                            break
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
        return events

    def next_to_check(self, now: float | None = None) -> Entry | None:
        """The first settled file that has not been checked (by name), or None."""
        now = time.monotonic() if now is None else now
        if any(e.checking for e in self.entries.values()):
            return None
        for e in sorted(self.entries.values(), key=lambda e: e.path.name.lower()):
            if e.model is None and e.error is None and now - e.since >= self.settle_s:
                e.checking = True
                return e
        return None

    def checked(self, entry: Entry, result: dict | None, error: Exception | None) -> str | None:
        """The loader's verdict on ``entry``: "added", "rejected", or None when the file
        changed (or left) while it was checked."""
        entry.checking = False
        if self.entries.get(entry.path) is not entry:
            return None
        if error is not None:
            entry.error = str(error).splitlines()[0]
            self.errors.append((entry.path, entry.error))
            return "rejected"
        assert result is not None
        entry.model, entry.load = result["model"], result["load"]
        return "added"

    def rejected(self) -> dict[str, str]:
        """File name -> why it is not in the cycle."""
        return {e.path.name: e.error for e in self.entries.values() if e.error is not None}

    def pending(self) -> int:
        """Files seen but not yet checked."""
        return sum(1 for e in self.entries.values() if e.model is None and e.error is None)
