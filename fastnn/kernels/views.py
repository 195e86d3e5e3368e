"""A cheap 2-D view into a flat buffer, for the kernels that walk the flat parameter and
workspace arrays once or more per batch.

``matrix_view(buf, start, rows, cols)`` is ``buf[start:start + rows * cols].reshape((rows,
cols))`` for a C-contiguous 1-D ``buf``, typed C-contiguous (so BLAS takes it as it is), without
the call into Numba's reshape helper, which costs about 16 ns per view (a batch of online
learning makes a few dozen views). It checks nothing: callers pass bounds from the plan.
``flat_view(array)`` is the reverse: a C-contiguous array's elements as one 1-D view (a column
of an (n, 1) matrix as a contiguous vector, so loops over it vectorise).
"""

from numba.core import cgutils, types
from numba.core.imputils import impl_ret_borrowed
from numba.extending import intrinsic
from numba.np.arrayobj import make_array, populate_array


@intrinsic
def matrix_view(typingctx, buf, start, rows, cols):
    if not (isinstance(buf, types.Array) and buf.ndim == 1 and buf.layout == "C"):
        return None
    result = buf.copy(ndim=2, layout="C")
    sig = result(buf, start, rows, cols)

    def codegen(context, builder, signature, args):
        array, begin, n_rows, n_cols = args
        intp = context.get_value_type(types.intp)
        begin, n_rows, n_cols = (context.cast(builder, value, ty, types.intp)
                                 for value, ty in zip((begin, n_rows, n_cols),
                                                      signature.args[1:]))
        source = make_array(signature.args[0])(context, builder, array)
        view = make_array(result)(context, builder)
        itemsize = context.get_constant(types.intp, context.get_abi_sizeof(
            context.get_data_type(result.dtype)))
        populate_array(view,
                       data=builder.gep(source.data, [begin]),
                       shape=cgutils.pack_array(builder, [n_rows, n_cols], ty=intp),
                       strides=cgutils.pack_array(builder, [builder.mul(n_cols, itemsize),
                                                            itemsize], ty=intp),
                       itemsize=itemsize, meminfo=source.meminfo, parent=source.parent)
        return impl_ret_borrowed(context, builder, result, view._getvalue())

    return sig, codegen


@intrinsic
def flat_view(typingctx, array):
    """All elements of a C-contiguous array as a 1-D C-contiguous view (``array.ravel()``
    without the helper call)."""
    if not (isinstance(array, types.Array) and array.layout == "C"):
        return None
    result = array.copy(ndim=1, layout="C")
    sig = result(array)

    def codegen(context, builder, signature, args):
        intp = context.get_value_type(types.intp)
        source = make_array(signature.args[0])(context, builder, args[0])
        view = make_array(result)(context, builder)
        populate_array(view, data=source.data,
                       shape=cgutils.pack_array(builder, [source.nitems], ty=intp),
                       strides=cgutils.pack_array(builder, [source.itemsize], ty=intp),
                       itemsize=source.itemsize, meminfo=source.meminfo, parent=source.parent)
        return impl_ret_borrowed(context, builder, result, view._getvalue())

    return sig, codegen
