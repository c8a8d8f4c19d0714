"""``pedal match --plot``: the long-term spectra of the record, the default preset and the
match; the fitted EQ; the alignment path (optional extra ``pedal[plot]``)."""

from __future__ import annotations

import numpy as np

from ..audio.files import atomic_path
from ..errors import PedalError


def plot_match(path, rep) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PedalError("--plot needs matplotlib: pip install -e '.[plot]'") from None
    c = rep.curves
    fig, axes = plt.subplots(3, 1, figsize=(10, 11))
    ax = axes[0]
    top = max(np.max(c["record"]), np.max(c["match"]), np.max(c["default"]))
    for key, label in (("record", "record"), ("default", f"default preset "
                                                         f"({rep.before_db:.2f} dB)"),
                       ("match", f"match ({rep.after_db:.2f} dB)")):
        v = c[key] - np.max(c[key]) + top if key != "record" else c[key]
        ax.semilogx(c["bands_hz"], v, label=label, lw=2 if key == "record" else 1.3)
    ax.set_title("long-term spectra (third octaves, at one loudness)")
    ax.set_ylabel("dB")
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
    ax = axes[1]
    ax.semilogx(c["eq_hz"], c["eq_db"])
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_title("the fitted EQ")
    ax.set_xlabel("Hz")
    ax.set_ylabel("dB")
    ax.grid(True, which="both", alpha=0.3)
    ax = axes[2]
    if len(c["path"]):
        t = np.arange(len(c["path"])) * c["hop"] / 48000
        ax.plot(t, c["path"] * c["hop"] / 48000)
        ax.set_title(f"alignment: {rep.alignment.describe()}", fontsize=9)
    else:
        ax.set_title("alignment: the DI's part was not found in the record")
    ax.set_xlabel("DI seconds")
    ax.set_ylabel("record seconds")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
