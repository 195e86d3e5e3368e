"""Prediction with the input check done in compiled code.

``predict_checked`` returns False, computing nothing, when X holds a NaN or an infinity;
otherwise it runs ``predict_rows`` (the forward pass a chunk of rows at a time) and returns
True. Checking here costs one vectorised pass over X instead of NumPy's temporary arrays,
which matters for the one-row predictions of a service (a few microseconds each). For the same
reason it takes the Network's fields as a plain tuple (Numba checks the types of a plain tuple's
items in C, of a namedtuple's in Python) and makes the Network record itself.
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


@kernel
def predict_checked(x_all, network_fields, chunk, out_all):
    """out_all = the network's output for every row of x_all (``network_fields`` the fields of a
    Network, in order); False (and nothing computed) when x_all is not all finite."""
    if not all_finite(x_all):
        return False
    predict_rows(x_all, Network(*network_fields), chunk, out_all)
    return True
