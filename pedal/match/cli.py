"""``pedal match`` on the command line: flags, progress, the report, the JSON and the plot."""

from __future__ import annotations

import sys
import time
from pathlib import Path


class _Progress:
    """A bar rewritten in place on a terminal; a line every ``every`` seconds in a log."""

    def __init__(self, stream, every: float = 5.0):
        self.stream, self.every = stream, every
        self.tty = stream.isatty()
        self.last = -1e9
        self.start = time.monotonic()

    def __call__(self, frac: float) -> None:
        now = time.monotonic()
        if frac < 1.0 and now - self.last < (0.2 if self.tty else self.every):
            return
        self.last = now
        bar = "#" * int(frac * 24) + "." * (24 - int(frac * 24))
        line = f"[{bar}] {100 * frac:5.1f} % searched, {now - self.start:5.1f} s"
        self.stream.write(("\r" + line + ("\n" if frac >= 1.0 else "")) if self.tty
                          else line + "\n")
        self.stream.flush()


def cmd_match(args) -> int:
    from .command import match
    from .report import print_report, write_json

    err = sys.stderr
    rep = match(args.reference, args.di, args.output, models=args.models or (),
                irs=args.irs or (), minutes=args.minutes, bundled=not args.no_bundled,
                progress=_Progress(err), log=lambda line: print(line, file=err),
                capture=args.capture)
    if args.plot:
        from .plot import plot_match

        png = Path(args.output).with_suffix(".png")
        plot_match(png, rep)
        rep.notes.append(f"wrote {png}")
    if args.json:
        write_json(rep, sys.stdout)
    else:
        print_report(rep, sys.stdout)
    return 0


def add_match_parser(sub) -> None:
    m = sub.add_parser("match", help="how close can my guitar get to the tone of a record? "
                       "Finds the rig and writes a preset",
                       description="Find the DI's part in the record, search the library's "
                       "models, drives, cabinets and an EQ for the rig closest to it, and "
                       "write it as a preset.")
    m.add_argument("reference", help="the record, or part of it (any soundfile format)")
    m.add_argument("di", help="your clean DI: the same part played again, or other playing")
    m.add_argument("-o", "--output", required=True, help="the preset to write (.yaml)")
    m.add_argument("--models", action="append", metavar="DIR",
                   help="a folder (or file) of amp models to search (repeat); the bundled "
                   "ones are always searched")
    m.add_argument("--irs", action="append", metavar="DIR",
                   help="a folder (or file) of cabinet IRs to search (repeat)")
    m.add_argument("--minutes", type=float, default=3.0, help="time budget (default 3)")
    m.add_argument("--no-bundled", action="store_true",
                   help="search only --models/--irs, not the bundled model and IR")
    m.add_argument("--plot", action="store_true",
                   help="also write OUT.png: spectra, the EQ, the alignment (needs .[plot])")
    m.add_argument("--json", action="store_true", help="print the report as JSON")
    m.add_argument("--capture", action="store_true",
                   help="beyond the library: when the DI is the record's part, fine-tune the "
                   "chosen amp on the aligned frames (another --minutes; needs .[train]); "
                   "kept only when closer on held-out frames")
    m.set_defaults(func=cmd_match)
