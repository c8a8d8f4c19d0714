"""Pictures for people (optional extra ``pedal[plot]``: matplotlib). Never imported by the
daemon."""

from __future__ import annotations

import numpy as np

from ..audio.files import atomic_path
from ..errors import PedalError


def spectrograms(path, signals, sample_rate: int, title: str = "") -> None:
    """One spectrogram per (label, signal), stacked, written atomically as a PNG."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PedalError("--plot needs matplotlib: pip install -e '.[plot]'") from None
    fig, axes = plt.subplots(len(signals), 1, figsize=(10, 3.2 * len(signals)), sharex=True)
    axes = np.atleast_1d(axes)
    for ax, (label, x) in zip(axes, signals):
        with np.errstate(divide="ignore"):  # digital silence is -inf dB; it plots as black
            ax.specgram(np.asarray(x, np.float64), NFFT=2048, Fs=sample_rate, noverlap=1536,
                        cmap="magma", vmin=-140, vmax=-20, scale="dB")
        ax.set_ylim(0, min(12000, sample_rate / 2))
        ax.set_ylabel("Hz")
        ax.set_title(label)
    axes[-1].set_xlabel("seconds")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=90, format="png")
    plt.close(fig)
