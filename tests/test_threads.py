"""The BLAS thread policy (fastnn/threads.py): the BLAS as configured by default (so runs are
bit-reproducible), the opt-in per-chunk measured choice, fixed counts, restoring the setting."""

import os
import subprocess
import sys

import numpy as np
import pytest

import fastnn as fn
from fastnn import threads

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_thread_counts():
    import scipy.linalg.cython_blas  # noqa: F401  (the BLAS fastnn's kernels call)

    return [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
            if lib["user_api"] == "blas"]


@pytest.fixture
def policy(monkeypatch):
    """The measured choice ("auto"), a BLAS configured for two threads, no learned choices;
    the settings each chunk ran with are recorded in ``policy.used``."""
    saved = threads.get_num_threads()
    threads.set_num_threads("auto")
    monkeypatch.setattr(threads, "configured_threads", lambda: 2)
    monkeypatch.setattr(threads, "_choices", {})
    used = []
    real = threads._limited
    monkeypatch.setattr(threads, "_limited", lambda limit: used.append(limit) or real(limit))
    monkeypatch.used = used
    yield monkeypatch
    threads.set_num_threads(saved)


def fit(rng, units, rows=64 * 40, epochs=1):
    """A 64-units-1 network at batch 256 (8192-row chunks: rows / 8192 chunks per epoch)."""
    X = rng.standard_normal((rows, 64))
    model = fn.Sequential([fn.Dense(units, activation="relu"), fn.Dense(1)], input_dim=64)
    model.compile(loss="mse")
    model.fit(X, X[:, 0], epochs=epochs, batch_size=256)
    return model


# (first setting, [(setting run, seconds per batch), ...], expected best, expected next)
CHOICES = [
    ("one thread stays while the other is slower", 1,
     [(1, 1.0), (1, 1.0), (None, 2.0)], 1, 1),
    ("a faster try wins", 1, [(1, 1.0), (1, 1.0), (None, 0.5)], None, None),
    ("the setting in use getting slower than the other's try switches back", None,
     [(None, 1.0), (None, 1.0), (1, 2.0), (None, 5.0)], 1, 1),
]


@pytest.mark.parametrize("case, first, runs, best, following",
                         CHOICES, ids=[c[0] for c in CHOICES])
def test_thread_choice(case, first, runs, best, following):
    choice = threads.ThreadChoice((first, None if first == 1 else 1))
    for setting, seconds in runs:
        choice.record(setting, seconds)
    assert choice.best == best
    assert choice.next() == following


def test_tries_of_a_slower_setting_get_rarer():
    choice = threads.ThreadChoice((1, None))
    tried = []
    for chunk in range(60):
        setting = choice.next()
        tried.append(setting)
        choice.record(setting, 1.0 if setting == 1 else 3.0)
    gaps = np.diff([i for i, s in enumerate(tried) if s is None])
    assert len(gaps) >= 2 and all(b > a for a, b in zip(gaps, gaps[1:]))
    assert choice.best == 1


def test_fit_times_its_chunks_and_learns_per_shape(rng, policy):
    before = blas_thread_counts()
    policy.setattr(threads, "free_cores", lambda: 1)  # first chunk on one thread
    # 8 x 64 x 600 multiply-adds: BLAS would split them; batches of 8 rows are not split
    X = rng.standard_normal((8 * 1024 * 6, 64))
    model = fn.Sequential([fn.Dense(600, activation="relu"), fn.Dense(1)], input_dim=64)
    model.compile(optimizer=fn.SGD(learning_rate=1e-3), loss="mse")
    model.fit(X, X[:, 0], epochs=1, batch_size=8)
    assert policy.used[0] == 1 and None in policy.used  # the other setting was tried
    # the key: the batch, the largest product, the configured threads, whether rows split
    assert list(threads._choices) == [(8, 64, 600, 2, False)]
    assert set(threads._choices[(8, 64, 600, 2, False)].seconds) == {1, None}
    assert blas_thread_counts() == before


def test_a_try_of_the_other_setting_runs_a_quarter_of_a_chunk(rng, policy, monkeypatch):
    from fastnn.trainer import CpuTrainer

    spans = []
    real = CpuTrainer.run_batches
    monkeypatch.setattr(CpuTrainer, "run_batches",
                        lambda self, order, first, stop: spans.append((first, stop))
                        or real(self, order, first, stop))
    policy.setattr(threads, "free_cores", lambda: 1)
    X = rng.standard_normal((8 * 1024 * 3, 64))  # 3 chunks of 1024 batches of 8 rows
    model = fn.Sequential([fn.Dense(600, activation="relu"), fn.Dense(1)], input_dim=64)
    model.compile(optimizer=fn.SGD(learning_rate=1e-3), loss="mse")
    model.fit(X, X[:, 0], epochs=1, batch_size=8)
    assert spans[:3] == [(0, 1024), (1024, 1024 + 256), (1024 + 256, 2048)]
    assert policy.used[:2] == [1, None]  # the try is the second call, on the BLAS's threads


def test_a_fit_that_splits_measures_the_split_as_its_all_threads_setting(rng, policy):
    policy.setattr(threads, "free_cores", lambda: 1)
    fit(rng, 300, rows=8192 * 4)  # 256 x 64 x 300 multiply-adds, batches of 256 rows
    assert list(threads._choices) == [(256, 64, 300, 2, True)]
    assert set(threads._choices[(256, 64, 300, 2, True)].seconds) == {1, threads.ROWS}
    assert set(policy.used) == {1}  # a split runs every product on one BLAS thread


def test_small_products_need_no_decision(rng, policy):
    policy.setattr(threads, "free_cores", lambda: pytest.fail("looked at the machine"))
    fit(rng, 8)
    assert policy.used == [] and threads._choices == {}


def test_a_fixed_count_applies_to_every_chunk_and_is_restored(rng, policy):
    before = blas_thread_counts()
    fn.set_num_threads(1)
    assert fn.get_num_threads() == 1
    fit(rng, 8, rows=8192 * 2)
    assert policy.used == [1, 1]
    assert blas_thread_counts() == before
    with threads._limited(1):
        assert blas_thread_counts() == [1] * len(before)


def test_free_cores_and_the_largest_product():
    assert 1 <= threads.free_cores() <= threads.cores()
    assert threads.other_runnable_tasks() >= 0
    assert threads.largest_product(fn.Sequential([fn.Dense(5), fn.Dense(7)], input_dim=3)
                                   .plan) == (5, 7)


def test_by_default_the_blas_is_left_as_configured_and_fits_are_bit_identical(rng, policy):
    threads.set_num_threads(None)
    policy.setattr(threads, "free_cores", lambda: pytest.fail("looked at the machine"))
    first = fit(np.random.default_rng(5), 300, rows=8192 * 2).params
    second = fit(np.random.default_rng(5), 300, rows=8192 * 2).params
    assert policy.used == [] and threads._choices == {}
    assert first.tobytes() == second.tobytes()


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2", "fast"])
def test_bad_thread_counts_are_rejected(bad):
    with pytest.raises(ValueError, match="positive integer"):
        fn.set_num_threads(bad)


def test_environment_variable_sets_the_initial_count():
    code = "import fastnn; print(fastnn.get_num_threads())"
    env = dict(os.environ, FASTNN_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "1"
    env["FASTNN_NUM_THREADS"] = "auto"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "auto"
    env["FASTNN_NUM_THREADS"] = "many"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "FASTNN_NUM_THREADS" in out.stderr


def test_predict_runs_its_products_on_one_blas_thread(rng, policy):
    policy.setattr(threads, "free_cores", lambda: 2)
    model = fn.Sequential([fn.Dense(300)], input_dim=1000)
    X = rng.standard_normal((32, 1000))
    expected = X.astype(np.float32) @ model.layers[0].kernel + model.layers[0].bias
    np.testing.assert_allclose(model.predict(X), expected, rtol=1e-4, atol=1e-4)
    assert policy.used == [1]  # not measured per chunk: rows are split, not products
    model.predict(X[:1])  # one row never reaches BLAS
    assert policy.used == [1]
    # several pieces are shared among threads (fastnn/inference.py): one limit for the call
    np.testing.assert_allclose(model.predict(X, batch_size=10), expected, rtol=1e-4, atol=1e-4)
    assert policy.used == [1, 1]

