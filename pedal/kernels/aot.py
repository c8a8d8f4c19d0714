"""The ahead-of-time build of the real-time kernels: one extension module, made by numba's
``pycc`` from the same compilation the JIT caches, with every kernel the warm-up calls at the
signatures it calls them with. ``pedal warmup`` builds it (``python -m pedal.kernels.aot``);
``pedal run`` and its loader load it (``pedal.kernels.use_aot``) and then import neither numba
nor LLVM.

The build lives beside numba's cache (``$NUMBA_CACHE_DIR/pedal-aot``, else
``~/.cache/pedal/aot``) as ``rt_<key>.<ext>`` and its manifest ``rt_<key>.json`` (written last,
atomically: a build without its manifest is never loaded). The key is a digest of the kernel
sources, numba's version, the Python, the machine and this CPU's features (the code is
compiled for the host CPU, as the JIT's is): any change means another key, and a build with
another key is neither loaded nor kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import sys
import sysconfig
from pathlib import Path

HERE = Path(__file__).resolve().parent


def folder() -> Path:
    base = os.environ.get("NUMBA_CACHE_DIR")
    if base:
        return Path(base) / "pedal-aot"
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "pedal" / "aot"


def _cpu() -> str:
    """The lines of /proc/cpuinfo that name the CPU's instruction set (first core)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    keep = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        k = k.strip()
        if k in ("flags", "Features", "CPU part", "CPU implementer", "model name") \
                and k not in keep:
            keep[k] = v.strip()
    return json.dumps(keep, sort_keys=True)


def key() -> str:
    from importlib.metadata import version

    h = hashlib.sha256()
    for p in sorted(HERE.glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes())
    for part in (version("numba"), sys.version, platform.machine(), _cpu()):
        h.update(part.encode() + b"\0")
    return h.hexdigest()[:16]


def manifest_path() -> Path:
    return folder() / f"rt_{key()}.json"


# -- loading ---------------------------------------------------------------------------------
def load(checked: bool = False) -> tuple[dict | None, str]:
    """``({"pedal.kernels.mod.name": callable}, what)`` from the build for these sources, or
    ``(None, why not)``."""
    man = manifest_path()
    if not man.is_file():
        return None, "no ahead-of-time build of these kernels (`pedal warmup` makes it)"
    try:
        meta = json.loads(man.read_text())
        import importlib.util

        spec = importlib.util.spec_from_file_location(meta["module"], man.parent / meta["file"])
        if spec is None or spec.loader is None:
            return None, f"{man}: cannot load {meta['file']}"
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        table = {}
        for qual, variants in meta["kernels"].items():
            fns = [(getattr(mod, v["export"]), v["args"]) for v in variants]
            if checked:
                fns = [(_Checked(qual, f, a), a) for f, a in fns]
            table[qual] = fns[0][0] if len(fns) == 1 else _Switch(qual, fns)
    except (OSError, ImportError, KeyError, ValueError, AttributeError) as exc:
        return None, f"{man}: {type(exc).__name__}: {exc}"
    return table, f"{len(table)} kernels ahead of time ({man.parent / meta['file']})"


def _matches(desc, v) -> bool:
    kind = desc[0]
    if kind == "array":
        import numpy as np

        _, dtype, ndim, layout, readonly = desc
        return (isinstance(v, np.ndarray) and v.dtype.name == dtype and v.ndim == ndim
                and (layout != "C" or v.flags.c_contiguous) and v.flags.aligned
                and (readonly or v.flags.writeable))
    if kind == "int":
        import numpy as np

        return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
    if kind == "float":
        import numpy as np

        return isinstance(v, (float, int, np.floating, np.integer)) \
            and not isinstance(v, (bool, np.bool_))
    if kind == "bool":
        import numpy as np

        return isinstance(v, (bool, np.bool_))
    return False


class _Checked:
    """A built kernel whose every call is checked against its signature (``checked`` mode)."""

    checked = True

    def __init__(self, qual, fn, args):
        self.qual, self.fn, self.args = qual, fn, args

    def __call__(self, *a):
        if len(a) != len(self.args):
            raise TypeError(f"{self.qual}: {len(a)} arguments, the build has {len(self.args)}")
        for i, (d, v) in enumerate(zip(self.args, a)):
            if not _matches(d, v):
                got = f"{v.dtype}[{v.ndim}d] c_contiguous={v.flags.c_contiguous} " \
                    f"writeable={v.flags.writeable}" if hasattr(v, "dtype") else type(v).__name__
                raise TypeError(f"{self.qual}: argument {i} is {got}, the build has {d}")
        return self.fn(*a)


class _Switch:
    """A kernel built in several variants (float32 and float64 state): ``pick`` chooses by the
    arguments where the variants differ; engines keep the pick (``jit.resolve``)."""

    def __init__(self, qual, fns):
        self.qual, self.fns = qual, fns
        n = len(fns[0][1])
        self.where = [i for i in range(n) if len({json.dumps(a[i]) for _, a in fns}) > 1]
        self.checked = any(getattr(f, "checked", False) for f, _ in fns)

    def pick(self, *a):
        for f, args in self.fns:
            if all(_matches(args[i], a[i]) for i in self.where):
                return f
        raise TypeError(f"{self.qual}: no built variant takes these arguments")

    def __call__(self, *a):
        return self.pick(*a)(*a)


# -- building --------------------------------------------------------------------------------
def _describe(t) -> list:
    from numba.core import types

    if isinstance(t, types.Array):
        return ["array", str(t.dtype), t.ndim, t.layout, not t.mutable]
    if isinstance(t, types.Boolean):
        return ["bool"]
    if isinstance(t, types.Integer):
        return ["int"]
    if isinstance(t, types.Float):
        return ["float"]
    raise TypeError(f"no ahead-of-time argument for {t}")


def _wrapper(dispatcher, n: int):
    """A function of n arguments that calls the dispatcher: pycc compiles it with its own
    default flags, and the kernel inside keeps the dispatcher's (fastmath, error model)."""
    names = ", ".join(f"a{i}" for i in range(n))
    ns = {"k": dispatcher}
    exec(f"def call({names}):\n    return k({names})\n", ns)  # noqa: S102 - our own source
    return ns["call"]


def build() -> Path:
    """Compile every kernel the warm-up calls into the extension for this key; returns the
    manifest. Run in a fresh process (``python -m pedal.kernels.aot``): what the warm-up calls
    is read from numba's dispatchers, so nothing else may have called a kernel first."""
    import importlib
    import pkgutil
    import shutil
    import tempfile
    import warnings

    from . import jit

    assert jit._AOT is None, "the build runs with the JIT"
    from ..tools.warmup import warm_up

    warm_up()
    from ..synth.guitar import _RIFF, guitar_riff

    guitar_riff(8000, riff=_RIFF[:1])  # the fake devices' synthetic guitar
    from numba.core.registry import CPUDispatcher

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from numba.pycc import CC

    k = key()
    name = f"rt_{k}"
    out = folder()
    out.mkdir(parents=True, exist_ok=True)
    cc = CC(name)
    cc.target_cpu = "host"
    cc.verbose = False
    kernels: dict[str, list] = {}
    import pedal.kernels as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        mod = importlib.import_module(f"pedal.kernels.{info.name}")
        for attr, d in sorted(vars(mod).items()):
            if not isinstance(d, CPUDispatcher) or d.py_func.__module__ != mod.__name__ \
                    or not d.signatures or d.targetoptions.get("inline") == "always":
                continue
            qual = f"{mod.__name__}.{attr}"
            for i, sig in enumerate(d.signatures):
                export = f"{info.name}__{attr}__{i}"
                cc.export(export, d.overloads[sig].signature)(  # type: ignore[attr-defined]
                    _wrapper(d, len(sig)))
                kernels.setdefault(qual, []).append(
                    {"export": export, "args": [_describe(t) for t in sig]})
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        cc.output_dir = tmp
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cc.compile()
        (built,) = Path(tmp).glob(f"{name}*")
        final = out / f"{name}{sysconfig.get_config_var('EXT_SUFFIX') or '.so'}"
        os.replace(built, final)
    man = out / f"{name}.json"
    part = man.with_suffix(".json.part")
    part.write_text(json.dumps({"module": name, "file": final.name, "kernels": kernels},
                               indent=1))
    os.replace(part, man)
    for old in out.glob("rt_*"):  # builds for other sources, numba versions or CPUs
        if not old.name.startswith(name):
            if old.is_dir():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    return man


def main(argv: list[str]) -> int:
    import time

    if argv[:1] == ["check"]:  # load in checked mode and run the warm-up through the build
        from . import use_aot

        what = use_aot(checked=True)
        from . import jit

        if jit.mode() != "aot-checked":
            print(f"ahead-of-time build not usable: {what}", file=sys.stderr)
            return 1
        from ..tools.warmup import warm_up

        warm_up()
        print(what)
        return 0
    t0 = time.perf_counter()
    man = build()
    print(f"{man} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
