"""fastnn.buffers: arrays whose data starts on a cache line."""

import numpy as np
import pytest

from fastnn.buffers import ALIGNMENT, aligned_empty


@pytest.mark.parametrize("n, dtype", [(1, np.float32), (1000, np.float32),
                                      (300_000, np.float32), (7, np.float64),
                                      (65_537, np.float64)])
def test_aligned_empty_starts_on_a_cache_line(n, dtype):
    arrays = [aligned_empty(n, dtype) for _ in range(4)]  # several allocations, any offsets
    for a in arrays:
        assert a.ctypes.data % ALIGNMENT == 0
        assert a.shape == (n,) and a.dtype == dtype
        assert a.flags.c_contiguous and a.flags.writeable
        a[:] = np.arange(n)  # the whole span is usable memory
        assert a.sum() == n * (n - 1) / 2


def test_aligned_zeros_and_a_models_buffers_start_on_a_cache_line():
    import fastnn as fn
    from fastnn.buffers import aligned_zeros

    assert not aligned_zeros(33, np.float32).any()
    model = fn.Sequential([fn.Dense(5), fn.BatchNormalization(), fn.Dense(1)], input_dim=3)
    for buffer in (model.params, model.grads, model.state):
        assert buffer.ctypes.data % ALIGNMENT == 0 and buffer.size
