"""Sequential.predict on the CPU: the fast path for arrays that need no conversion (and the
leaner one for a single such row) checks them as the full path does, and threads predicting on
one model at the same time (the compiled kernel runs without the GIL) get the results of the
same calls made one after another."""

import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastnn as fn
from fastnn import inference as cpu_inference
from fastnn import threads
from fastnn.kernels import inference

N_IN = 5
THREADS = 6


@pytest.fixture(scope="module")
def model():
    """A 5-12(tanh)-7(relu)-3(softmax) network and a reference: its forward pass in float64
    NumPy from the same weights."""
    net = fn.Sequential([fn.Dense(12, activation="tanh"), fn.Dense(7, activation="relu"),
                         fn.Dense(3, activation="softmax")], input_dim=N_IN, seed=3)

    def reference(X):
        h = np.asarray(X, dtype=np.float64)
        for layer, f in zip(net.layers, (np.tanh, lambda z: np.maximum(z, 0.0), None)):
            h = h @ layer.kernel.astype(np.float64) + layer.bias
            if f is None:
                h = np.exp(h - h.max(axis=1, keepdims=True))
                h /= h.sum(axis=1, keepdims=True)
            else:
                h = f(h)
        return h

    return net, reference


ROWS = np.random.default_rng(0).standard_normal((40, N_IN)).astype(np.float32)


@pytest.mark.parametrize("X", [
    ROWS[:1],                                   # the fast path: one row
    ROWS,                                       # the fast path: several chunks
    ROWS[0],                                    # one row given as a 1-D array
    ROWS[:3].astype(np.float64),                # converted to float32
    np.asfortranarray(ROWS[:9]),                # not C-contiguous: copied
    ROWS[::2],                                  # a strided view: copied
    ROWS[:2].tolist(),                          # a list
    ROWS[:1].astype(np.float64),                # one row to convert: not the one-row path
    np.repeat(ROWS[:1], 2, axis=1)[:, ::2],     # one strided row: copied
], ids=["one-row", "many-rows", "1-D", "float64", "fortran", "strided", "list",
        "one-row-float64", "one-row-strided"])
def test_every_input_form_gives_the_numpy_forward_pass(model, X):
    net, reference = model
    net.predict(ROWS[:1])  # the one-row path is ready from here on
    expected = reference(np.atleast_2d(np.asarray(X, dtype=np.float32)))
    np.testing.assert_allclose(net.predict(X, batch_size=16), expected, rtol=1e-5, atol=1e-6)


def test_no_input_form_compiles_another_kernel_specialisation(model):
    """Inputs the kernel does not take as they are (another dtype, strided) are converted
    first, on every path: the kernel keeps the one specialisation the first call made."""
    net = model[0]
    net.predict(ROWS[:1])
    before = list(inference.predict_checked.signatures)
    for X in (ROWS[:1], ROWS[:1].astype(np.float64), np.repeat(ROWS[:1], 2, axis=1)[:, ::2],
              ROWS[::2], np.asfortranarray(ROWS[:9]), ROWS[:1].astype(np.float16)):
        net.predict(X)
    assert inference.predict_checked.signatures == before


@pytest.mark.parametrize("batch_size", [1, 16, 1024])
def test_one_row_gives_the_bits_of_the_general_path(model, batch_size):
    """The one-row path runs the kernel the general path runs, on the same arguments."""
    net = model[0]
    net.predict(ROWS[:1])
    for i in range(4):
        row = ROWS[i:i + 1]
        lean = net.predict(row, batch_size=batch_size)
        general = net.predict(np.vstack([row, row]), batch_size=1)[:1]
        assert lean.shape == (1, 3) and lean.dtype == np.float32
        assert lean.tobytes() == general.tobytes()


def test_a_row_of_the_width_before_a_rebuild_is_refused():
    net = fn.Sequential([fn.Dense(4, activation="relu"), fn.Dense(2)], input_dim=N_IN + 2,
                        seed=0)
    old_row = np.ones((1, N_IN + 2), dtype=np.float32)
    net.predict(old_row)  # prepares the one-row path of the first plan
    net.build(N_IN)
    with pytest.raises(ValueError, match="feature column"):
        net.predict(old_row)


def test_one_row_follows_a_rebuild_and_a_change_of_backend():
    """A model rebuilt for another width predicts with its new plan, and one moved to another
    backend predicts there, after one-row predictions that prepared the old plan's path."""
    net = fn.Sequential([fn.Dense(4, activation="relu"), fn.Dense(2)], input_dim=N_IN, seed=0)
    net.predict(ROWS[:1])
    net.build(N_IN + 2)
    row = np.ones((1, N_IN + 2), dtype=np.float32)
    expected = np.maximum(row @ net.layers[0].kernel + net.layers[0].bias, 0.0) \
        @ net.layers[1].kernel + net.layers[1].bias
    np.testing.assert_allclose(net.predict(row), expected, rtol=1e-5, atol=1e-6)
    net.predict(row)  # the new plan's one-row path is ready

    class Elsewhere:
        name = "elsewhere"

        def __init__(self):
            self.calls = []

        def predict(self, model, X, chunk):
            self.calls.append(X.shape)
            return np.zeros((X.shape[0], 2), dtype=np.float32)

    net.backend = Elsewhere()
    assert net.predict(row).tolist() == [[0.0, 0.0]] and net.backend.calls == [(1, N_IN + 2)]


@pytest.mark.parametrize("X, match", [
    (np.array([[0.0, 1.0, np.nan, 0.0, 0.0]], dtype=np.float32), "NaN or infinite"),
    (np.array([[0.0, np.inf, 0.0, 0.0, 0.0]], dtype=np.float32), "NaN or infinite"),
    (np.vstack([ROWS, [[0.0, 0.0, 0.0, 0.0, -np.inf]]]).astype(np.float32), "NaN or infinite"),
    (np.ones((1, N_IN + 1), dtype=np.float32), "6 feature column"),
    (np.ones((0, N_IN), dtype=np.float32), "no rows"),
    (np.ones((1, N_IN, 1), dtype=np.float32), "2-D"),
    (np.full((1, N_IN), 1e300), "NaN or infinite"),  # too large for float32
])
def test_bad_arrays_are_refused_on_the_fast_path_too(model, X, match):
    model[0].predict(ROWS[:1])  # the one-row path is ready
    with pytest.raises(ValueError, match=match):
        model[0].predict(X)


@pytest.mark.parametrize("verbose, batch_size, match", [
    (True, 32, "verbose"), (3, 32, "verbose"), (0, 0, "batch_size"), (0, 2.5, "batch_size"),
    (0, True, "batch_size"),
])
def test_bad_options_are_refused(model, verbose, batch_size, match):
    with pytest.raises(ValueError, match=match):
        model[0].predict(ROWS[:1], batch_size=batch_size, verbose=verbose)


def test_the_inference_kernel_releases_the_gil():
    assert inference.predict_checked.targetoptions.get("nogil") is True


def test_concurrent_predictions_equal_sequential_ones(model):
    """THREADS threads, switching as often as Python allows, each predicting one row at a time
    and 4000-row arrays in chunks of 8, 64 and 1024 rows on the same model, all at once (calls
    that shared a workspace would overwrite each other's activations)."""
    net = model[0]
    rows = [ROWS[i:i + 1] for i in range(ROWS.shape[0])]
    many = np.random.default_rng(1).standard_normal((THREADS, 4000, N_IN)).astype(np.float32)

    def work(i):
        return ([net.predict(row) for row in rows[i::THREADS]]
                + [net.predict(many[i], batch_size=size) for size in (8, 64, 1024)])

    sequential = [work(i) for i in range(THREADS)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        with ThreadPoolExecutor(THREADS) as pool:
            concurrent = list(pool.map(work, range(THREADS)))
    finally:
        sys.setswitchinterval(interval)
    for got, expected in zip(concurrent, sequential):
        assert [a.tobytes() for a in got] == [b.tobytes() for b in expected]


@pytest.fixture
def wide():
    """A 512-64(relu)-3 network (enough work per chunk of 16 rows to split by rows), 100 rows,
    and the thread setting restored afterwards."""
    saved = threads.get_num_threads()
    net = fn.Sequential([fn.Dense(64, activation="relu"), fn.Dense(3)], input_dim=512, seed=1)
    X = np.random.default_rng(2).standard_normal((100, 512)).astype(np.float32)
    yield net, X
    threads.set_num_threads(saved)


def test_row_parallel_results_do_not_depend_on_the_number_of_threads(wide):
    net, X = wide
    dense = net.layers
    expected = np.maximum(X @ dense[0].kernel + dense[0].bias, 0.0) @ dense[1].kernel \
        + dense[1].bias
    outputs = {}
    for count in (1, 2, 3):
        threads.set_num_threads(count)
        outputs[count] = net.predict(X, batch_size=16)
        np.testing.assert_allclose(outputs[count], expected, rtol=1e-4, atol=1e-4)
    assert outputs[1].tobytes() == outputs[2].tobytes() == outputs[3].tobytes()


def test_a_bad_row_in_a_late_chunk_stops_the_row_parallel_path(wide):
    net, X = wide
    threads.set_num_threads(2)
    X = X.copy()
    X[-1, 7] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        net.predict(X, batch_size=16)


@pytest.mark.parametrize("setting", [None, "auto"])
def test_the_default_settings_share_rows_among_the_configured_threads(wide, monkeypatch,
                                                                      setting):
    """None and "auto" share a prediction's pieces among as many threads as the BLAS is
    configured for (counted before the call limits the BLAS to one thread)."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    net, X = wide
    threads.configured_threads()  # SciPy's BLAS loaded, so that the limit below reaches it
    workers = []
    real = cpu_inference._in_pieces
    monkeypatch.setattr(cpu_inference, "_in_pieces",
                        lambda *args: workers.append(args[-1]) or real(*args))
    threads.set_num_threads(setting)
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        net.predict(X, batch_size=16)
    assert workers == [2]


def test_predictions_run_every_product_on_one_blas_thread(wide, monkeypatch):
    """Whatever the thread setting: predictions split rows between threads, not products."""
    net, X = wide
    used = []
    real = threads._limited
    monkeypatch.setattr(threads, "_limited", lambda limit: used.append(limit) or real(limit))
    for setting in (None, "auto", 2):
        threads.set_num_threads(setting)
        net.predict(X)
        net.predict(X, batch_size=16)
    net.predict(X[:1])  # one row: no product reaches the BLAS
    assert used == [1] * 6
