"""Which rows of a batch a forward or backward pass runs on, and how it meets the other parts.

The passes of fastnn/kernels/network.py take a ``share``: either the integer 0 (the whole batch,
one thread: nothing to meet) or a ``BatchShare`` (one part of a batch whose rows are split
between threads, fastnn/kernels/row_split.py):

    BatchShare(first, batch, active, part, parts, sync, sums)
        ``first`` the batch row that the pass's row 0 is; ``batch`` the batch's rows; ``active``
        the parts that run this batch (``parts``, or 1 when part 0 runs it alone); ``part`` of
        ``parts`` threads; ``sync`` the int64 slots of fastnn/kernels/sync.py (SYNC_ARRIVED,
        SYNC_ABORT), then from SYNC_PARTS each part's count of barriers passed; ``sums``
        float64 (2, parts, width): where the parts leave per-column partial sums

``add_up(share, values)`` turns each part's per-column partial sums over its rows into the
batch's sums, in every part (BatchNorm's statistics): part p writes its values into row p of
one half of ``sums``, all meet, and each adds the rows up in part order, so every part gets the
same bits. Successive calls alternate between the two halves, so a part writing the next sums
never overwrites ones another part is still reading (it cannot pass the barrier between). With
an integer share, or one part active, it changes nothing.
"""

from collections import namedtuple

from numba.core import types
from numba.extending import overload

from .sync import SYNC_ABORT, arrive
from .table import formula

BatchShare = namedtuple("BatchShare", "first batch active part parts sync sums")
# The first of the parts' barrier counts in ``sync``.
SYNC_PARTS = SYNC_ABORT + 1


def first_row(share):
    """The batch row that row 0 of the pass is."""


def batch_rows(share, rows):
    """The rows of the whole batch (``rows`` for the whole batch)."""


def add_up(share, values):
    """values[j] <- the sum of every active part's values[j] (see above)."""


@overload(first_row)
def _first_row(share):
    if isinstance(share, types.Integer):
        return lambda share: share
    return lambda share: share.first


@overload(batch_rows)
def _batch_rows(share, rows):
    if isinstance(share, types.Integer):
        return lambda share, rows: rows
    return lambda share, rows: share.batch


@formula
def meet(share):
    """A barrier of all ``parts`` threads (counted in the part's slot of ``sync``): True, or
    False when the caller aborted the loop."""
    slot = SYNC_PARTS + share.part
    crossing = share.sync[slot] + 1
    share.sync[slot] = crossing
    return arrive(share.sync, share.parts, crossing)


@formula
def _add_up(share, values):
    if share.active == 1:
        return
    n = values.shape[0]
    half = share.sums[share.sync[SYNC_PARTS + share.part] % 2]
    own = half[share.part]
    for j in range(n):
        own[j] = values[j]
    meet(share)
    for j in range(n):
        total = half[0, j]
        for p in range(1, share.active):
            total += half[p, j]
        values[j] = total


@overload(add_up)
def _add_up_overload(share, values):
    if isinstance(share, types.Integer):
        return lambda share, values: None
    return lambda share, values: _add_up(share, values)
