"""numba's options for every kernel of the package."""

from typing import Any

# fastmath lets LLVM vectorise the inner loops (reassociation of sums); the kernels do not rely
# on IEEE special values (inputs are validated finite before they reach a kernel)
FAST: dict[str, Any] = dict(cache=True, nogil=True, fastmath=True, error_model="numpy")
# IEEE arithmetic: filters whose state must not drift (float64 biquads), the tuner, the mix
STRICT: dict[str, Any] = dict(cache=True, nogil=True, error_model="numpy")
