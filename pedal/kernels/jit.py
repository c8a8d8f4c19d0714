"""numba's options for every kernel of the package, and the decorator the kernel modules use.

Two ways to get a kernel's machine code (the decorator ``njit`` chooses, once per process):

- **JIT** (the default): ``njit`` is numba's; kernels compile on first call and are cached on
  disk (``cache=True``), so a later process loads them (``pedal warmup`` does it ahead).
- **Ahead of time** (``use_aot``, which ``pedal run`` and its loader call before any kernel
  module is imported): every real-time kernel comes from one extension module that
  ``pedal warmup`` built from the very same numba compilation (``aot.py``). Importing it loads
  neither numba nor LLVM: the daemon starts faster and holds ~70 MB less (libllvmlite alone).
  A kernel the build does not hold (the offline ones, the inlined helpers) stays a lazy JIT
  kernel: the first call imports numba and compiles or loads it as before.

An ahead-of-time function checks nothing about its arguments (a float64 array where the build
has float32 is read as float32). The callers hand in the arrays they allocated at prepare, the
same types the warm-up used; ``checked`` mode (``PEDAL_KERNELS=checked``, the tests) verifies
every call against the build's signatures and raises TypeError on any difference.
"""

from __future__ import annotations

from typing import Any, Callable

# fastmath lets LLVM vectorise the inner loops (reassociation of sums); the kernels do not rely
# on IEEE special values (inputs are validated finite before they reach a kernel).
# _nrt=False: no reference counting inside a kernel. A kernel allocates nothing and returns
# nothing, and every array it touches is held by its caller for the whole call, so the
# increment and decrement numba emits around a view it cannot pair up buy nothing; each is a
# call and an atomic, with the vector registers spilled around it. The WaveNet's layer loop had
# over a hundred such call sites: nano's block with no samples took 5.1 us with them and 3.4 us
# without (interleaved, best of 20, JIT). numba refuses to compile an allocation without its
# runtime, so a kernel that allocates cannot lose it by mistake: it says ALLOCATES.
FAST: dict[str, Any] = dict(cache=True, nogil=True, fastmath=True, error_model="numpy",
                            _nrt=False)
# IEEE arithmetic: filters whose state must not drift (float64 biquads), the tuner, the mix
STRICT: dict[str, Any] = dict(cache=True, nogil=True, error_model="numpy", _nrt=False)
# a kernel that allocates its own work arrays (the offline synthesis): numba's runtime owns them
ALLOCATES: dict[str, Any] = dict(STRICT, _nrt=True)

# set by use_aot before the kernel modules are imported: "module.name" -> the built callable
_AOT: dict[str, Callable] | None = None
_LAZY: list["_Lazy"] = []
_DEFERRED: list[tuple[str, str, Callable, Callable]] = []  # module, name, factory, stand-in
_BUILT: list[tuple[str, str, Callable, dict, Callable]] = []  # module, name, fn, options, built
_numba_njit: Callable | None = None
WHAT = "kernels JIT"  # what ``choose`` did, for the daemon's log and status


def _numba() -> Callable:
    """numba's njit, with this package's cache checks done first (once per process)."""
    global _numba_njit
    if _numba_njit is None:
        from . import _fresh_cache, _skip_blas_probe

        _fresh_cache()
        _skip_blas_probe()
        from numba import njit as real

        _numba_njit = real
    return _numba_njit


def njit(*args, **options):
    """``@njit(**FAST)`` / ``@njit(inline="always", **FAST)`` as numba's, or (ahead-of-time
    mode) the built function of that name, or a lazy JIT kernel when the build has none."""
    if args and callable(args[0]) and not options:
        return njit(**{})(args[0])

    def wrap(fn):
        if _AOT is None:
            return _numba()(**options)(fn)
        built = _AOT.get(f"{fn.__module__}.{fn.__name__}")
        if built is not None:
            _BUILT.append((fn.__module__, fn.__name__, fn, options, built))
            return built
        lazy = _Lazy(fn, options)
        _LAZY.append(lazy)
        return lazy
    return wrap


def deferred(module: str, name: str, factory: Callable) -> Any:
    """A numba object a kernel module needs at compile time only (an intrinsic): ``factory()``
    now under the JIT; under ahead-of-time kernels a stand-in, replaced in ``module`` by
    ``factory()`` when a JIT kernel is first compiled, there and in every kernel module that
    imported it (so an AOT process imports no numba)."""
    if _AOT is None:
        _numba()  # the package's cache checks run before numba is first imported
        return factory()

    def stand_in(*args):
        raise RuntimeError(f"{module}.{name} runs only inside a compiled kernel")
    _DEFERRED.append((module, name, factory, stand_in))
    return stand_in


class _Lazy:
    """A kernel outside the ahead-of-time build: JIT-compiled (or loaded from numba's cache)
    on its first call. Before the first compilation every lazy kernel module's globals are
    turned into numba dispatchers, so a JIT kernel that calls another kernel or an inlined
    helper sees what numba can compile against (callers elsewhere keep the built functions)."""

    def __init__(self, fn, options):
        self.py_func, self.options = fn, options
        self._real = None
        self.__name__, self.__doc__ = fn.__name__, fn.__doc__
        self.__module__ = fn.__module__

    def real(self):
        if self._real is None:
            _materialise()
        return self._real

    def __call__(self, *args):
        return self.real()(*args)


def _materialise() -> None:
    import sys

    real = _numba()
    for modname, name, factory, stand_in in _DEFERRED:
        made = factory()
        package = modname.rpartition(".")[0]
        for mod in list(sys.modules.values()):
            if getattr(mod, "__name__", "").startswith(package + ".") \
                    and getattr(mod, name, None) is stand_in:
                setattr(mod, name, made)
    _DEFERRED.clear()
    for lazy in _LAZY:
        if lazy._real is None:
            lazy._real = real(**lazy.options)(lazy.py_func)
    for lazy in _LAZY:
        mod = sys.modules[lazy.py_func.__module__]
        if getattr(mod, lazy.__name__, None) is lazy:
            setattr(mod, lazy.__name__, lazy._real)
    # built kernels too: a JIT kernel calling one needs numba's dispatcher of it
    for modname, name, fn, options, built in _BUILT:
        owner = sys.modules.get(modname)
        if owner is not None and getattr(owner, name, None) is built:
            setattr(owner, name, real(**options)(fn))


def resolve(kernel, *args):
    """The callable to keep for calls with arguments like ``args``: for a kernel built in more
    than one variant, the variant for these argument types (so the hot path skips choosing);
    otherwise the kernel itself."""
    pick = getattr(kernel, "pick", None)
    return pick(*args) if pick is not None else kernel


def mode() -> str:
    """"jit", "aot" or "aot-checked": how this process's kernels run."""
    if _AOT is None:
        return "jit"
    return "aot-checked" if any(getattr(f, "checked", False) for f in _AOT.values()) else "aot"
