"""Architecture names for ``--arch`` (no PyTorch here: the command line parses them)."""

from __future__ import annotations

import re

from ..errors import ConfigError

# NAM trainer v0.12.3's standard WaveNets (nam/train/core.py): (channels, head, dilations) x 2
_D1 = [1, 2, 4, 8, 16, 32, 64]
_D2 = [128, 256, 512, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
WAVENETS = {
    "standard": ((16, 8, [1 << i for i in range(10)]), (8, 1, [1 << i for i in range(10)])),
    "lite": ((12, 6, _D1), (6, 1, _D2)),
    "feather": ((8, 4, _D1), (4, 1, _D2)),
    "nano": ((4, 2, _D1), (2, 1, _D2)),
}
ARCH_HELP = ("lstm-H or lstm-LxH (e.g. lstm-16, lstm-2x8), gru-H or gru-LxH, "
             "wavenet-nano|feather|lite|standard")


def parse_arch(text: str) -> dict:
    """'lstm-16' -> {'kind': 'recurrent', 'cell': 'lstm', 'layers': 1, 'hidden': 16}."""
    t = text.strip().lower()
    m = re.fullmatch(r"(lstm|gru)-(?:(\d+)x)?(\d+)", t)
    if m:
        layers, hidden = int(m.group(2) or 1), int(m.group(3))
        if not (1 <= layers <= 4 and 1 <= hidden <= 128):
            raise ConfigError(f"--arch {text}: layers must be 1..4 and hidden size 1..128")
        return {"kind": "recurrent", "cell": m.group(1), "layers": layers, "hidden": hidden,
                "name": f"{m.group(1)}-{layers}x{hidden}" if layers > 1 else t}
    m = re.fullmatch(r"wavenet-(\w+)", t)
    if m and m.group(1) in WAVENETS:
        return {"kind": "wavenet", "size": m.group(1), "name": t}
    raise ConfigError(f"--arch {text}: unknown architecture; use {ARCH_HELP}")
