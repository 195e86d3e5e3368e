"""The BLAS thread policy (fastnn/threads.py): fixed counts, the busy-machine rule, restoring."""

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


class ThreadsDuringFit(fn.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.seen = blas_thread_counts()


def fit_and_see(rng):
    X = rng.standard_normal((64, 8))
    model = fn.Sequential([fn.Dense(16, activation="relu"), fn.Dense(1)], input_dim=8)
    model.compile(loss="mse")
    probe = ThreadsDuringFit()
    model.fit(X, X[:, 0], epochs=1, batch_size=16, callbacks=[probe])
    return probe.seen


@pytest.fixture
def restore_policy():
    saved = threads.get_num_threads()
    yield
    threads.set_num_threads(saved)


@pytest.mark.parametrize("busy, expect_one", [(True, True), (False, False)])
def test_automatic_choice_limits_blas_to_the_free_cores(
        rng, monkeypatch, restore_policy, busy, expect_one):
    threads.set_num_threads(None)
    monkeypatch.setattr(threads, "cores", lambda: 4)
    monkeypatch.setattr(threads, "free_cores", lambda: 1 if busy else 4)
    before = blas_thread_counts()
    seen = fit_and_see(rng)
    assert seen == ([1] * len(before) if expect_one else before)
    assert blas_thread_counts() == before


def test_a_fixed_count_applies_during_fit_and_is_restored(rng, monkeypatch, restore_policy):
    monkeypatch.setattr(threads, "free_cores", threads.cores)
    before = blas_thread_counts()
    fn.set_num_threads(1)
    assert fn.get_num_threads() == 1
    assert fit_and_see(rng) == [1] * len(before)
    assert blas_thread_counts() == before


@pytest.mark.parametrize("bad", [0, -2, 1.5, True, "2"])
def test_bad_thread_counts_are_rejected(bad):
    with pytest.raises(ValueError, match="positive integer"):
        fn.set_num_threads(bad)


def test_free_cores_is_between_one_and_the_cores():
    assert 1 <= threads.free_cores() <= threads.cores()


def test_environment_variable_sets_the_initial_count():
    code = "import fastnn; print(fastnn.get_num_threads())"
    env = dict(os.environ, FASTNN_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "1"
    env["FASTNN_NUM_THREADS"] = "many"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.returncode != 0 and "FASTNN_NUM_THREADS" in out.stderr


def test_predict_takes_the_same_policy(rng, monkeypatch, restore_policy):
    seen = []
    threads.set_num_threads(None)
    monkeypatch.setattr(threads, "free_cores", lambda: seen.append(blas_thread_counts()) or 1)
    model = fn.Sequential([fn.Dense(4)], input_dim=3)
    X = rng.standard_normal((32, 3))
    np.testing.assert_allclose(model.predict(X), X.astype(np.float32) @ model.layers[0].kernel
                               + model.layers[0].bias, rtol=1e-5, atol=1e-6)
    assert len(seen) == 1  # asked once for 32 rows
    model.predict(X[:1])
    assert len(seen) == 1  # one row never reaches BLAS: no question asked
