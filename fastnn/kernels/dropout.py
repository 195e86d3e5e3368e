"""Inverted dropout: dst = src * mask / (1 - rate), the mask recomputed from a counter hash.

    training   y = x * m / (1 - rate),   m_ij = 1 with probability 1 - rate, else 0
    backward   dx = dy * m / (1 - rate)  (the same m)
    inference  y = x

The mask is never stored: ``m_ij`` is a pure function of (key, i * width + j) (see
fastnn/kernels/random.py), so the backward pass recomputes exactly the forward's mask with the
same call. That costs a few integer operations per element and no memory or workspace traffic,
and it is the same rule the CUDA backend evaluates, so both give identical masks.
"""

from .random import keep_threshold, keeps
from .table import formula


@formula
def dropout_apply(src, dst, rate, key, first_row):
    """dst = src * m / (1 - rate) with the mask m of stream ``key``; forward (src = x) and
    backward (src = dL/dy) alike. Row i of ``src`` is row ``first_row + i`` of the batch."""
    rows, cols = src.shape
    threshold = keep_threshold(rate)
    scale = 1.0 / (1.0 - rate)
    for i in range(rows):
        base = (first_row + i) * cols
        for j in range(cols):
            if keeps(key, base + j, threshold):
                dst[i, j] = src[i, j] * scale
            else:
                dst[i, j] = 0.0
