#!/usr/bin/env python3
"""Remake the bundled demo DI clip and the synthetic cabinet IR (deterministic: same bytes).

    python scripts/make_assets.py
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pedal.synth import guitar as synth  # noqa: E402
from pedal.audio.files import write_audio  # noqa: E402


def main() -> int:
    sr = 48000
    di = ROOT / "pedal" / "assets" / "demo_di.flac"
    write_audio(di, synth.guitar_riff(sr), sr, subtype="PCM_24")
    print(f"wrote {di.relative_to(ROOT)}")
    ir = ROOT / "ir" / "pedal_synthetic_4x12.wav"
    write_audio(ir, synth.cabinet_ir(sr, 8192), sr, subtype="PCM_24")
    print(f"wrote {ir.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
