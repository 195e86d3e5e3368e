"""Prediction with the input check done in compiled code, without holding the GIL.

``predict_checked`` returns False, computing nothing, when X holds a NaN or an infinity;
otherwise it runs ``predict_rows`` (the forward pass a chunk of rows at a time) and returns
True. Checking here costs one vectorised pass over X instead of NumPy's temporary arrays,
which matters for the one-row predictions of a service (a few microseconds each). For the same
reason it takes the Network's buffers as separate arguments (the dispatcher types plain array
arguments faster than a tuple of them) and makes the Network record itself: inference writes
no gradient, so the record's grads and deltas are the params and the activation workspace.

``predict_checked`` releases the GIL while it runs, so Python threads that predict at the same
time run in parallel; each needs its own ``acts`` workspace.
"""

import math

from ._jit import kernel
from .network import Network
from .training import predict_rows


@kernel
def all_finite(x):
    """True when no entry of the 2-D array x is NaN or infinite (x * 0 is NaN for those)."""
    total = 0.0
    rows, cols = x.shape
    for i in range(rows):
        for j in range(cols):
            total += x[i, j] * 0.0
    return math.isfinite(total)


@kernel(nogil=True)
def predict_checked(x_all, ops, opf, params, state, acts, chunk, out_all, kinds):
    """out_all = the output of the network (the plan's ``ops``/``opf`` tables over ``params``
    and ``state``, ``acts`` sized for ``chunk`` rows, the table entries ``kinds`` compiled) for
    every row of x_all, ``chunk`` rows at a time; False (and nothing computed) when x_all is
    not all finite."""
    if not all_finite(x_all):
        return False
    predict_rows(x_all, Network(ops, opf, params, params, state, acts, acts, kinds), chunk,
                 out_all)
    return True
