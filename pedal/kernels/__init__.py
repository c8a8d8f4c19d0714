"""Every numba kernel of the pedal, by topic; the only package that imports numba.

Rules for these modules (see design.md and CONTRIBUTING.md):

- a kernel takes arrays and scalars, writes into output/state arrays it is given and reads no
  globals, except the integer constants of its own module (the layouts of its packed arrays:
  numba freezes them at compile time, and the cache is keyed on the module's file, so they
  stay in step); the real-time kernels never allocate (only ``offline``'s do);
- kernels are compiled with ``cache=True``; the first call in a new process loads them from the
  cache (``pedal warmup`` and the daemon's start do that ahead of time);
- objects that own state live elsewhere (``pedal.dsp``, ``pedal.models.arch``, the player) and
  only hand their arrays in here.

| module | kernels |
|---|---|
| ``activations`` | tanh and sigmoid in float32, WaveNet's activation switch |
| ``linalg`` | matrix-vector and 1x1-convolution helpers the model kernels inline |
| ``recurrent`` | LSTM and GRU stacks with their dense output |
| ``wavenet`` | NAM's WaveNet (and the WaveNetVA variant), one call per block |
| ``smartamppro`` | SmartAmpPro's windowed convolutions and LSTM step |
| ``filters`` | noise gate, biquad cascade, output level and DC blocker, direct FIR |
| ``fft``, ``convolution`` | real FFTs; the zero-latency partitioned convolution of the cab |
| ``pitch`` | the tuner's analysis |
| ``player`` | the daemon's mix: crossfade, bypass, mute, the output guard |
| ``io`` | interleaving, the MCP3202 decode |
| ``offline`` | the synthesised guitar and the diode-clipper circuit (allocate: not real time) |

A kernel that inlines a helper of another module is compiled into that module's cache, which
numba keys on the kernel's own file only. So the cache of this package is stamped with a digest
of all its sources and dropped when any of them changes (``_fresh_cache``): an edited helper
never leaves stale machine code behind.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

STAMP = "pedal-kernels.stamp"


def _fresh_cache() -> None:
    """Drop this package's numba cache files when any kernel source changed since they were
    written (see the module docstring). Silent when numba's cache folder cannot be found."""
    here = Path(__file__).resolve().parent
    sources = sorted(here.glob("*.py"))
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()[:20]
    try:
        from numba.core.caching import CacheImpl

        def probe():
            pass
        folder = None
        for cls in CacheImpl._locator_classes:
            loc = cls.from_function(probe, str(sources[0]))  # type: ignore[attr-defined]
            if loc is not None:
                folder = Path(loc.get_cache_path())
                break
        if folder is None:
            return
        stamp = folder / STAMP
        if stamp.is_file() and stamp.read_text().strip() == digest:
            return
        stems = {p.stem for p in sources}
        for f in folder.glob("*.nb[ic]"):
            if f.name.split(".")[0] in stems:
                f.unlink(missing_ok=True)
        stamp.write_text(digest + "\n")
    except (ImportError, AttributeError, OSError, TypeError):
        pass


def _skip_blas_probe() -> None:
    """numba's first compile or cache load imports ``numba.np.arraymath``, whose check for a
    BLAS (for ``np.dot`` in nopython code) imports ``scipy.linalg`` when scipy is installed:
    0.2 s and 15 MB in every process that plays a block, the daemon and its loader included.
    No kernel here uses BLAS, so that module is imported first with ``scipy.linalg`` hidden
    (numba then records "no BLAS"). Nothing is hidden when scipy.linalg is already imported."""
    import sys

    if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
        return
    sys.modules["scipy.linalg"] = None  # type: ignore[assignment]  # ImportError for numba
    try:
        import numba.np.arraymath  # noqa: F401
    except ImportError:
        pass
    finally:
        if sys.modules.get("scipy.linalg", 0) is None:
            del sys.modules["scipy.linalg"]


_fresh_cache()
_skip_blas_probe()
