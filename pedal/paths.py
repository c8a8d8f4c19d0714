"""Where the bundled material lives (the repository checkout the package runs from)."""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent
ROOT = PACKAGE.parent
MODELS_DIR = ROOT / "models"
IR_DIR = ROOT / "ir"
PRESETS_DIR = ROOT / "presets"
DEFAULT_PRESET = PRESETS_DIR / "default.yaml"
DEMO_DI = PACKAGE / "assets" / "demo_di.flac"
MODEL_SUFFIXES = (".onnx", ".nam", ".json")
IR_SUFFIXES = (".wav", ".flac", ".aif", ".aiff")


def bundled(folder: Path, suffixes) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes and p.is_file())
