"""Scratch arrays on a compiled kernel's own stack (``stack_like``).

A view of a caller's array may overlap any other, as far as LLVM can tell, so every vectorised
loop that stores into one and loads from another opens with a run-time overlap check of each
pair of pointers (about a hundred instructions per matrix-vector pass of an LSTM-16 step, most
of the step's fixed cost). Memory the kernel allocates on its own stack overlaps nothing, and
LLVM knows that: loops that store only there carry no checks. Nothing is allocated on the heap
and nothing is counted: the stack space is reserved once at the kernel's entry.

Under ahead-of-time kernels (``jit.use_aot``) this module imports no numba: ``stack_like`` is then
made when, and if, a JIT kernel is first compiled (``jit.deferred``).
"""

from __future__ import annotations

from . import jit


def _make():
    from numba import types
    from numba.extending import intrinsic
    from numba.np.arrayobj import make_array, populate_array

    @intrinsic
    def stack_like(typingctx, like, size):
        """A 1D C array of ``like``'s dtype and ``size`` elements (an integer constant) on the
        stack of the compiled kernel, 64-byte aligned, its contents undefined."""
        if not isinstance(like, types.Array) or not isinstance(size, types.IntegerLiteral):
            return None
        n = size.literal_value
        if not 0 < n <= 1 << 16:  # a stack frame, not a heap
            return None
        arrty = types.Array(like.dtype, 1, "C")

        def codegen(context, builder, sig, args):
            elem = context.get_data_type(arrty.dtype)
            count = context.get_constant(types.intp, n)
            with builder.goto_entry_block():  # reserved once, not per loop trip
                ptr = builder.alloca(elem, size=count)
            ptr.align = 64
            itemsize = context.get_constant(types.intp, context.get_abi_sizeof(elem))
            ary = make_array(arrty)(context, builder)
            populate_array(ary, data=ptr, shape=[count], strides=[itemsize],
                           itemsize=itemsize, meminfo=None)
            return ary._getvalue()
        return arrty(like, size), codegen
    return stack_like


stack_like = jit.deferred(__name__, "stack_like", _make)
