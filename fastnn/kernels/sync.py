"""Meeting points between the threads of one compiled loop: an atomic counter and a barrier.

Threads that run parts of the same loop (fastnn/kernels/row_split.py) share an int64 array
``sync`` whose slot SYNC_ARRIVED counts arrivals at barriers since the loop started (zero at the
start). Each thread counts the barriers it has passed; at its k-th barrier it adds one arrival
and waits until all ``parts`` threads have arrived k times, or until the caller sets
sync[SYNC_ABORT] (a thread that will never arrive: its caller failed), and says which:

    arrive(sync, parts, k):   sync[SYNC_ARRIVED] += 1 (atomically);
                              wait until sync[SYNC_ARRIVED] >= parts * k: True,
                              or sync[SYNC_ABORT] != 0: False

The increment is sequentially consistent and the wait reads with acquire ordering, so whatever a
thread wrote before the barrier is visible to every thread after it. A waiting thread spins and,
after SPINS_BEFORE_YIELD readings, gives its core away (``sched_yield``) between readings, so a
thread that waits on an oversubscribed machine lets the one it waits for run.
"""

from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

from .table import formula

SYNC_ARRIVED, SYNC_ABORT = 0, 1
SPINS_BEFORE_YIELD = 2000


def _int64_array(ty):
    return isinstance(ty, types.Array) and ty.ndim == 1 and ty.dtype == types.int64


def _slot(context, builder, array_type, array, index):
    data = make_array(array_type)(context, builder, array).data
    return builder.gep(data, [index])


@intrinsic
def atomic_add(typingctx, array, index, value):
    """array[index] += value atomically (sequentially consistent); returns the old value."""
    if not (_int64_array(array) and isinstance(index, types.Integer)
            and isinstance(value, types.Integer)):
        return None
    sig = types.int64(array, index, value)

    def codegen(context, builder, signature, args):
        array_v, index_v, value_v = args
        index_v = context.cast(builder, index_v, signature.args[1], types.intp)
        value_v = context.cast(builder, value_v, signature.args[2], types.int64)
        slot = _slot(context, builder, signature.args[0], array_v, index_v)
        return builder.atomic_rmw("add", slot, value_v, "seq_cst")

    return sig, codegen


@intrinsic
def atomic_read(typingctx, array, index):
    """array[index], read atomically with acquire ordering."""
    if not (_int64_array(array) and isinstance(index, types.Integer)):
        return None
    sig = types.int64(array, index)

    def codegen(context, builder, signature, args):
        array_v, index_v = args
        index_v = context.cast(builder, index_v, signature.args[1], types.intp)
        slot = _slot(context, builder, signature.args[0], array_v, index_v)
        return builder.load_atomic(slot, "acquire", 8)

    return sig, codegen


@intrinsic
def yield_core(typingctx):
    """sched_yield(): let another runnable thread have this core."""
    sig = types.int32()

    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module,
                                            ir.FunctionType(ir.IntType(32), []), "sched_yield")
        return builder.call(fn, [])

    return sig, codegen


@formula
def arrive(sync, parts, crossing):
    """This thread's ``crossing``-th barrier (1-based) of ``parts`` threads (see above): True
    when all arrived, False when aborted."""
    atomic_add(sync, SYNC_ARRIVED, 1)
    target = parts * crossing
    spins = 0
    while atomic_read(sync, SYNC_ARRIVED) < target:
        if atomic_read(sync, SYNC_ABORT) != 0:
            return False
        spins += 1
        if spins > SPINS_BEFORE_YIELD:
            yield_core()
    return True
