import os
from pathlib import Path

# the daemons the tests start take the ahead-of-time kernels and check every call against the
# build's signatures (pedal/kernels/jit.py), except the real-time ones through the testbed,
# which run them unchecked, as the service does (tests/testbed.py); this process keeps the JIT
os.environ.setdefault("PEDAL_KERNELS", "checked")
os.environ.setdefault("NUMBA_NRT_STATS", "1")  # before numba loads: allocation counters
if "PEDAL_CACHE" not in os.environ:  # measured loudness is cached here, not in your home
    import tempfile

    os.environ["PEDAL_CACHE"] = tempfile.mkdtemp(prefix="pedal-test-cache-")

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("PEDAL_SHARED", ROOT.parent / "shared"))


@pytest.fixture(scope="session")
def shared():
    """../shared (third-party test data); tests that need it skip when it is absent."""
    if not (SHARED / "data").is_dir():
        pytest.skip(f"shared test data not found at {SHARED} (set PEDAL_SHARED)")
    return SHARED


@pytest.fixture(scope="session")
def guitar():
    """Two seconds of the project's synthesized guitar at 48 kHz (peak 0.5)."""
    from pedal.synth.guitar import guitar_riff

    return guitar_riff(48000)[48000:3 * 48000].copy()


def chunked(block, x, sizes):
    """Run x through a prepared block in chunks of the given sizes (cycled)."""
    y = x.copy()
    i, k = 0, 0
    while i < len(y):
        n = sizes[k % len(sizes)]
        block.process(y[i:i + n])
        i += n
        k += 1
    return y


@pytest.fixture(scope="session")
def torch_mod():
    why = ("PyTorch under arm64 emulation: PyPI's aarch64 torch 2.13.0 is a CUDA build that "
           "does not import, so scripts/test-arm64.sh does not install it"
           if os.environ.get("PEDAL_ARM64") else "PyTorch (test extra) not installed")
    torch = pytest.importorskip("torch", reason=why)
    torch.set_num_threads(1)
    return torch


def rng(seed=0):
    return np.random.default_rng(seed)
