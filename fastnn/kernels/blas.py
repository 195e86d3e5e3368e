"""The BLAS matrix product, called straight from compiled code: ``gemm_into(a, b, out)``.

It computes what ``np.dot(a, b, out)`` does (``a`` or ``b`` may be a plain transpose ``x.T``
of a C-contiguous array; ``out`` C-contiguous; one float dtype) through the same entry point
Numba's ``np.dot`` uses (``numba_xxgemm``: SciPy's OpenBLAS ``sgemm``/``dgemm``), inline in the
caller, with no temporary and without the wrapper's "abort the process on a BLAS error" branch
(kernels allocate nothing: fastnn/kernels/_jit.py). The wrapper can fail only when SciPy's BLAS
cannot be loaded, which ``ensure_blas`` rules out when the kernel is compiled. Shapes are not
checked: the callers pass shapes from the plan.
"""

from llvmlite import ir
from numba.core import cgutils, types
from numba.core.imputils import impl_ret_untracked
from numba.extending import intrinsic
from numba.np.arrayobj import make_array
from numba.np.linalg import ensure_blas, get_blas_kind

from .. import scipy_blas

scipy_blas.load()  # before the first product, which would import all of scipy.linalg for it

_CHAR = ir.IntType(8)
_VOID_P = ir.IntType(8).as_pointer()


def _matrix(ty):
    return (isinstance(ty, types.Array) and ty.ndim == 2 and ty.layout in "CF"
            and isinstance(ty.dtype, types.Float))


@intrinsic
def gemm_into(typingctx, a, b, out):
    if not (_matrix(a) and _matrix(b) and _matrix(out) and out.layout == "C"
            and a.dtype == b.dtype == out.dtype):
        return None
    ensure_blas()
    sig = types.none(a, b, out)

    def codegen(context, builder, signature, args):
        intp = context.get_value_type(types.intp)
        fnty = ir.FunctionType(ir.IntType(32), [_CHAR, _CHAR, _CHAR, intp, intp, intp,
                                                _VOID_P, _VOID_P, intp, _VOID_P, intp,
                                                _VOID_P, _VOID_P, intp])
        gemm = cgutils.get_or_insert_function(builder.module, fnty, "numba_xxgemm")
        a_ty, b_ty, _ = signature.args
        a_arr, b_arr, out_arr = (make_array(ty)(context, builder, value)
                                 for ty, value in zip(signature.args, args))
        m, k = cgutils.unpack_tuple(builder, a_arr.shape)
        n = cgutils.unpack_tuple(builder, b_arr.shape)[1]
        dtype = a_ty.dtype
        alpha = cgutils.alloca_once_value(builder, context.get_constant(dtype, 1.0))
        beta = cgutils.alloca_once_value(builder, context.get_constant(dtype, 0.0))

        def operand(ty, arr):
            """(transpose flag, leading dimension, data) as BLAS (column-major) sees a
            row-major product: out^T = b^T a^T."""
            rows, cols = cgutils.unpack_tuple(builder, arr.shape)
            flag = ord("n") if ty.layout == "C" else ord("t")
            return (ir.Constant(_CHAR, flag), cols if ty.layout == "C" else rows,
                    builder.bitcast(arr.data, _VOID_P))

        trans_b, ld_b, data_b = operand(b_ty, b_arr)
        trans_a, ld_a, data_a = operand(a_ty, a_arr)
        builder.call(gemm, (ir.Constant(_CHAR, ord(get_blas_kind(dtype))), trans_b, trans_a,
                            n, m, k, builder.bitcast(alpha, _VOID_P), data_b, ld_b, data_a,
                            ld_a, builder.bitcast(beta, _VOID_P),
                            builder.bitcast(out_arr.data, _VOID_P), n))
        return impl_ret_untracked(context, builder, types.none, context.get_dummy_value())

    return sig, codegen

