"""fastnn's BLAS thread setting under calls from several Python threads at once: at a fixed
count the results are those of the same calls made one after another, bit for bit, and the
process's BLAS setting is the same afterwards as before (fastnn/threads.py, SharedLimit)."""

import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastnn as fn
from fastnn import threads

threadpoolctl = pytest.importorskip("threadpoolctl")
N_THREADS = 8


def blas_thread_counts():
    import scipy.linalg.cython_blas  # noqa: F401  (the BLAS fastnn's kernels call)

    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"]


@pytest.fixture
def setting():
    """fastnn's thread setting, restored after the test. The BLAS stays as configured (one
    thread per core here), so on a machine of two or more cores a limit of one changes the bits
    of the split products and the tests below can tell the limits apart."""
    saved = threads.get_num_threads()
    yield
    threads.set_num_threads(saved)


@pytest.fixture(scope="module")
def network():
    """A 512-400-1 network, 8 inputs of 1024 rows, and a prediction of one of them in chunks
    of 64 rows (16 compiled calls, each product split by the BLAS)."""
    rng = np.random.default_rng(0)
    model = fn.Sequential([fn.Dense(400, activation="tanh"), fn.Dense(1)], input_dim=512)
    inputs = [rng.standard_normal((1024, 512)).astype(np.float32) for _ in range(N_THREADS)]
    return lambda X: model.predict(X, batch_size=64), inputs


def at_once(work, inputs):
    """``work`` on each input, in N_THREADS threads that switch as often as Python allows (so
    that calls interleave between their entering and leaving a thread limit)."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(N_THREADS) as pool:
            return list(pool.map(work, inputs))
    finally:
        sys.setswitchinterval(interval)


def test_concurrent_predictions_equal_sequential_ones_at_a_fixed_count(network, setting):
    predict, inputs = network
    before = blas_thread_counts()
    fn.set_num_threads(1)
    sequential = [predict(X) for X in inputs]
    concurrent = at_once(predict, inputs)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(concurrent, sequential))
    assert blas_thread_counts() == before


def test_concurrent_fits_equal_sequential_ones_at_a_fixed_count(setting):
    fn.set_num_threads(1)
    rng = np.random.default_rng(1)
    data = [(rng.standard_normal((512, 64)), rng.standard_normal(512)) for _ in range(N_THREADS)]

    def fit(Xy):
        model = fn.Sequential([fn.Dense(300, activation="relu"), fn.Dense(1)], input_dim=64,
                              seed=2)
        model.compile(optimizer="adam", loss="mse")
        model.fit(*Xy, epochs=1, batch_size=256)
        return model.params

    sequential = [fit(Xy) for Xy in data]
    concurrent = at_once(fit, data)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(concurrent, sequential))


def test_the_setting_is_restored_exactly_after_concurrent_calls(network, setting):
    predict, inputs = network
    before = blas_thread_counts()
    fn.set_num_threads(1)
    for _ in range(2):
        at_once(predict, inputs)
        assert blas_thread_counts() == before
    fn.set_num_threads(None)
    assert blas_thread_counts() == before


def test_a_call_with_another_limit_waits_for_the_active_one():
    limit = threads.SharedLimit()
    order = []

    def other():
        with limit(None):
            order.append("other")

    with limit(1):
        thread = threading.Thread(target=other)
        thread.start()
        thread.join(0.2)
        assert thread.is_alive() and order == []  # blocked while the limit of 1 is active
        with limit(1):  # the same limit joins at once
            order.append("same")
    thread.join(10)
    assert order == ["same", "other"]


def test_a_limit_entered_in_any_thread_applies_there():
    """threadpoolctl lets only the first Python thread that set an OpenBLAS thread count change
    it and ignores the others; fastnn's limit takes control, so a limit entered in a thread
    other than the first (a serving thread, a Dask worker) applies, and is restored."""
    before = blas_thread_counts()
    limit = max(before) + 1  # unlike the configured count on any machine
    with threads.limited(limit):  # this thread sets a count first
        pass
    seen = []

    def other():
        with threads.limited(limit):
            seen.append(blas_thread_counts())
        seen.append(blas_thread_counts())

    thread = threading.Thread(target=other)
    thread.start()
    thread.join()
    assert seen == [[limit] * len(before), before]
    assert blas_thread_counts() == before


def test_a_sweep_run_in_a_worker_thread_runs_its_blas_on_one_thread():
    """A sweep worker's runs may execute in threads (a Dask worker's thread pool): their
    one-thread limit holds there too, whichever thread set a count first."""
    from fastnn import sweep_runners

    before = blas_thread_counts()
    with threads.limited(max(before) + 1):  # this thread sets a count first
        pass
    seen = []

    def run():
        with sweep_runners._single_threaded():
            seen.append(blas_thread_counts())

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    assert seen == [[1] * len(before)] and blas_thread_counts() == before
