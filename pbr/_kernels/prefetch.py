"""A software prefetch for kernels that gather from a large array in an order the
hardware prefetcher cannot follow (layer 1: numba only; llvmlite's IR builder is reached
through numba's ``cgutils``).

``prefetch(a, index)`` asks the CPU to bring the cache line holding ``a[index]``
towards the core (LLVM's ``llvm.prefetch``: a read, high locality, data cache).  It
changes no value, never faults (an address outside the array is allowed) and compiles to
nothing on a target without a prefetch instruction.  :func:`pbr._kernels.onepass.finish`
gathers one 32-byte record per cohort row from 256 interleaved streams; prefetching the
record 16 rows ahead took that pass from 6.0-7.2 ms to 4.0-4.6 ms at 1M offenders on the
project machine (in-process, alternating, median of 21).
"""

from __future__ import annotations

from typing import Any

from numba import types
from numba.core import cgutils as _cgutils
from numba.extending import intrinsic

cgutils: Any = _cgutils  # numba's code-generation helpers carry no type hints
ir: Any = cgutils.ir  # llvmlite's IR builder, as numba exposes it


def _prefetch(typingctx: Any, arr: Any, index: Any) -> Any:
    """Prefetch ``arr[index]`` (``index`` an integer, or a tuple of them for an n-d
    array) for reading."""
    if not isinstance(arr, types.Array):
        return None
    # a tuple type's items (numba's types carry no hints, so read through Any)
    kinds: list[Any] = (list(getattr(index, "types")) if isinstance(index, types.BaseTuple)  # noqa: B009
                        else [index])
    if len(kinds) != arr.ndim or not all(isinstance(k, types.Integer) for k in kinds):
        return None
    sig = types.void(arr, index)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty, idxty = signature.args
        ary = context.make_array(aryty)(context, builder, args[0])
        inds = (cgutils.unpack_tuple(builder, args[1], len(kinds))
                if isinstance(idxty, types.BaseTuple) else [args[1]])
        # any integer width or sign: the address arithmetic is in intp
        inds = [context.cast(builder, v, k, types.intp) for v, k in zip(inds, kinds,
                                                                        strict=True)]
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, inds)
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fnty = ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.prefetch.p0")
        # read (0), high temporal locality (3), data cache (1)
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(i32, 0),
                          ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


#: ``prefetch(arr, index)`` inside a Numba kernel
prefetch: Any = intrinsic(_prefetch)
