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
| ``scratch`` | scratch arrays on a kernel's own stack (no overlap checks, no allocation) |
| ``recurrent`` | LSTM and GRU stacks with their dense output |
| ``wavenet`` | NAM's WaveNet (and the WaveNetVA variant), one call per block |
| ``smartamppro`` | SmartAmpPro's windowed convolutions and LSTM step |
| ``filters`` | noise gate, biquad cascade, output level and DC blocker, direct FIR |
| ``fft``, ``convolution`` | real FFTs; the zero-latency partitioned convolution of the cab |
| ``pitch`` | the tuner's analysis |
| ``player`` | the daemon's mix: crossfade, bypass, mute, the output guard |
| ``io`` | interleaving, the MCP3202 decode |
| ``offline`` | the synthesised guitar and the diode-clipper circuit (allocate: not real time) |
| ``jit``, ``aot`` | the decorator the modules use; the ahead-of-time build of the real-time ones |

A kernel that inlines a helper of another module is compiled into that module's cache, which
numba keys on the kernel's own file only. So the cache of this package is stamped with a digest
of all its sources and dropped when any of them changes (``_fresh_cache``, run before the first
kernel is compiled or loaded): an edited helper never leaves stale machine code behind.

``pedal run`` and its loader take the real-time kernels from an ahead-of-time build instead
(``use_aot``; ``jit.py`` and ``aot.py`` say how): no numba, no LLVM in the daemon.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

STAMP = "pedal-kernels.stamp"


def _fresh_cache() -> None:
    """Drop this package's numba cache files when any kernel source changed since they were
    written (see the module docstring). Silent when numba's cache folder cannot be found."""
    here = Path(__file__).resolve().parent
    # aot.py builds from the JIT's machine code and compiles none of its own
    sources = sorted(p for p in here.glob("*.py") if p.name != "aot.py")
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


def choose() -> str:
    """``pedal run`` and its loader, first thing: ``PEDAL_KERNELS`` is ``aot`` (the default:
    the ahead-of-time build when there is one for these sources), ``checked`` (the same, every
    call checked: the tests) or ``jit``. Returns what was done, one line."""
    import os

    from . import jit

    want = os.environ.get("PEDAL_KERNELS", "aot")
    jit.WHAT = "kernels JIT (PEDAL_KERNELS=jit)" if want == "jit" else \
        use_aot(checked=want == "checked")
    return jit.WHAT


def use_aot(checked: bool = False) -> str:
    """Take every real-time kernel from the ahead-of-time build (``aot.py``) instead of
    numba's JIT, for this process: call before any kernel module is imported. Returns what was
    done, one line; without a usable build (or when too late) the kernels stay JIT, as before.
    ``checked``: every call is checked against the build's signatures (the tests)."""
    import sys

    from . import aot, jit

    if jit._AOT is not None:
        return f"{len(jit._AOT)} kernels ahead of time"
    early = [m for m in sys.modules if m.startswith(__name__ + ".")
             and m.rsplit(".", 1)[1] not in ("jit", "aot")]
    if early:
        return f"kernels JIT ({early[0]} was imported first)"
    table, what = aot.load(checked)
    if table is None:
        return f"kernels JIT: {what}"
    jit._AOT = table
    return what
