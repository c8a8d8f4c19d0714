"""The ahead-of-time kernels (pedal/kernels/aot.py): the build plays exactly what the JIT
plays, the daemon runs on it without numba or LLVM, checked mode catches a wrong argument, a
kernel outside the build still runs, and a build for other sources is never loaded.

The build is made by ``pedal warmup`` (the test command runs it first); these tests fail, not
skip, without it: a warm-up that did not build is a defect."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from daemon_helpers import write_config
from pedal.kernels import aot

ROOT = Path(__file__).resolve().parents[1]

# runs in a child process with the kernels PEDAL_KERNELS names (checked: the build; jit: the
# JIT): every engine variant the warm-up knows and the default preset's chain on one signal,
# outputs saved for the parent
PLAY = r"""
import os, sys, numpy as np
from pedal import kernels
print(kernels.choose())
from pedal.kernels import jit
assert jit.mode() == {"checked": "aot-checked", "jit": "jit"}[os.environ["PEDAL_KERNELS"]]
from pedal.models.registry import ARCHITECTURES
from pedal.preset import load_preset
from pedal.dsp import ProcessSpec
x = (0.4 * np.sin(np.arange(2048) * 0.031) * np.linspace(0, 1.5, 2048)).astype(np.float32)
out = {}
for a in ARCHITECTURES:
    for i, (spec, options) in enumerate(a.examples()):
        eng = a.engine(spec, **options)
        eng.prepare(64)
        y = x.copy()
        for j in range(0, len(y), 64):
            eng.process(y[j:j + 64])
        out[f"{a.spec.__name__}{i}"] = y
chain = load_preset().build_chain()
chain.prepare(ProcessSpec(48000, 64))
y = x.copy()
for j in range(0, len(y), 64):
    chain.process(y[j:j + 64])
out["default preset"] = y
out["numba imported"] = np.array(["numba" in sys.modules])
np.savez(sys.argv[1], **out)
"""


def _child(code: str, *args, mode="checked", timeout=300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PEDAL_KERNELS=mode)
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, env=env, timeout=timeout, cwd=ROOT)


def _built():
    man = aot.manifest_path()
    assert man.is_file(), f"no ahead-of-time build at {man}: `pedal warmup` did not make it"
    return json.loads(man.read_text())


def test_the_build_plays_what_the_jit_plays(tmp_path):
    """Every engine variant and the default chain, through the build (checked) and through
    the JIT, each in a process of its own: the engines' bits, the chain's within 1e-6, and
    numba never imported on the build's side."""
    _built()
    for mode in ("checked", "jit"):
        r = _child(PLAY, tmp_path / f"{mode}.npz", mode=mode)
        assert r.returncode == 0, r.stderr[-3000:]
    got, want = np.load(tmp_path / "checked.npz"), np.load(tmp_path / "jit.npz")
    assert not got["numba imported"][0] and want["numba imported"][0]
    engines = [k for k in want.files if k not in ("default preset", "numba imported")]
    assert len(engines) >= 10 and set(got.files) == set(want.files)
    for k in engines:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)
        assert np.abs(want[k]).max() > 1e-3
    # the cabinet's convolution sums with fastmath, and the build's LLVM optimises the linked
    # module once more: the sums are ordered differently, and round apart in the last bits
    # (1.2e-7 measured for a 3000-tap IR). Sample for sample, the engines above are exact.
    np.testing.assert_allclose(got["default preset"], want["default preset"], rtol=0, atol=1e-6)
    assert np.abs(want["default preset"]).max() > 0.05


def _rss_and_maps(pid: int) -> tuple[int, str]:
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1]) // 1024
    return rss, Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_daemon_runs_without_numba_or_llvm(tmp_path):
    """`pedal run` as the service runs it (ahead of time, unchecked): it plays, says so in its
    status, maps no libllvmlite, and stays under issue 19's 120 MB resident."""
    from pedal.service.socket import request

    _built()
    cfg = write_config(tmp_path)
    env = dict(os.environ, PEDAL_KERNELS="aot")
    proc = subprocess.Popen([sys.executable, "-m", "pedal", "run", "--config", str(cfg)],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        st = None
        while time.monotonic() < deadline:
            try:
                st = request(tmp_path / "pedal.sock", "status", [])["status"]
                if st["blocks"] > 50:
                    break
            except Exception:  # noqa: BLE001 - not answering yet
                pass
            time.sleep(0.1)
        assert st is not None and st["blocks"] > 50, "the daemon did not play"
        assert st["kernels"] == "aot" and st["state"] == "playing"
        rss, maps = _rss_and_maps(proc.pid)
        assert "libllvmlite" not in maps
        assert rss < 120, f"daemon resident {rss} MB"
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0]
    assert "kernels ahead of time" in out, out[-2000:]


CHECKED = r"""
import numpy as np
from pedal import kernels
kernels.use_aot(checked=True)
from pedal.kernels.filters import noise_gate
st = np.zeros(4)
try:
    noise_gate(np.zeros(64), 64, 0.1, 0.05, 0.99, 0.5, 0.01, 100.0, 0.0, st)
except TypeError as exc:
    print("refused:", exc)
x = np.ones(64, np.float32)
noise_gate(x, 64, 0.1, 0.05, 0.99, 0.5, 0.01, 100.0, 0.0, st)
print("played", float(x[-1]))
"""


def test_checked_mode_refuses_an_argument_the_build_does_not_take():
    """A float64 signal where the build has float32: unchecked it would be read as float32;
    checked (the tests' mode) it is a TypeError naming the kernel and the argument."""
    _built()
    r = _child(CHECKED)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "refused: pedal.kernels.filters.noise_gate: argument 0 is float64[1d]" in r.stdout
    assert "played" in r.stdout


LAZY = r"""
import sys, numpy as np
from pedal import kernels
print(kernels.use_aot())
from pedal.kernels.offline import diode_clipper
from pedal.kernels.filters import noise_gate
assert "numba" not in sys.modules
v = np.linspace(-2, 2, 256)
out = np.zeros(256)
diode_clipper(v, out, 48000.0, 2200.0, 10e-9, 2.52e-9, 1.752 * 0.02585, 8)
np.save(sys.argv[1], out)
print("numba" in sys.modules, type(noise_gate).__name__)
"""


def test_a_kernel_outside_the_build_is_compiled_on_demand(tmp_path):
    """The offline diode clipper is not in the build: in an ahead-of-time process its first call
    imports numba and runs the JIT kernel, with the JIT's result."""
    from pedal.kernels.offline import diode_clipper

    _built()
    r = _child(LAZY, tmp_path / "lazy.npy", mode="aot")
    assert r.returncode == 0, r.stderr[-3000:]
    assert r.stdout.split()[-2:] == ["True", "builtin_function_or_method"], r.stdout
    v = np.linspace(-2, 2, 256)
    want = np.zeros(256)
    diode_clipper(v, want, 48000.0, 2200.0, 10e-9, 2.52e-9, 1.752 * 0.02585, 8)
    np.testing.assert_array_equal(np.load(tmp_path / "lazy.npy"), want)
    assert np.abs(want).max() > 0.1


def test_a_build_for_other_sources_is_never_loaded(tmp_path, monkeypatch):
    """Another key (edited kernels, another numba or CPU): not loaded; a manifest whose
    extension is missing: not loaded, one line; too late in a process: the JIT stays."""
    from pedal import kernels
    from pedal.kernels import jit

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    table, why = aot.load()
    assert table is None and "no ahead-of-time build" in why
    man = aot.manifest_path()
    man.parent.mkdir(parents=True)
    man.write_text(json.dumps({"module": man.stem, "file": man.stem + ".so", "kernels": {}}))
    table, why = aot.load()
    assert table is None and str(man) in why and "\n" not in why
    import pedal.kernels.filters  # noqa: F401 - imported: too late to switch
    assert kernels.use_aot().startswith("kernels JIT (pedal.kernels.")
    assert jit.mode() == "jit"
