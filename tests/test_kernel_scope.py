"""Kernels compiled for one model's table entries (a KindSet) or for every entry (None):
which a model gets, and that both compute the same."""

import numba
import numpy as np
import pytest

import fastnn as fn
from fastnn import kernel_scope
from fastnn.kernels import activations as act_kernels
from fastnn.kernels import table
from fastnn.kernels.kinds import FAMILIES, KindSet
from fastnn.kernels.network import ACTIVATION, BATCHNORM, DENSE, DROPOUT
from fastnn.kernels.training import MONITOR_ON


def _model(optimizer="adam"):
    model = fn.Sequential([fn.Dense(8, activation="tanh"), fn.Dropout(0.25), fn.Dense(3)],
                          input_dim=4, seed=3)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy")
    return model


@pytest.fixture
def fresh_scope(monkeypatch):
    """A process state in which nothing has been chosen yet, and no kernels are prepared."""
    monkeypatch.setattr(kernel_scope, "_chosen", {})
    monkeypatch.setattr(kernel_scope.compile_cache, "kernels_cached", lambda dtype: False)


def test_model_kinds_names_the_entries_the_model_uses():
    model = fn.Sequential([fn.Dense(8, activation="relu"), fn.BatchNormalization(),
                           fn.Activation("elu"), fn.Dropout(0.1), fn.Dense(2, "softmax")],
                          input_dim=3)
    assert kernel_scope.model_kinds(model).families == KindSet(
        layer={DENSE, BATCHNORM, ACTIVATION, DROPOUT},
        activation={act_kernels.CODES[name] for name in ("relu", "elu", "softmax")}).families
    model.compile(optimizer=fn.optimizers.SGD(fn.schedules.CosineDecay(0.1, 10)), loss="mse")
    kinds = kernel_scope.model_kinds(model, monitoring=True)
    assert kinds.codes("loss") == (fn.losses.LOSSES["mse"].code,)
    assert kinds.codes("optimizer") == (model.optimizer.code,)
    # every schedule: a callback may switch to any of them mid-fit
    assert kinds.codes("schedule") == tuple(range(len(fn.schedules.SCHEDULES)))
    assert kinds.codes("monitor") == (MONITOR_ON,)


def test_kind_sets_cover_compare_and_join():
    small, large = KindSet(layer={0}, activation={3}), KindSet(layer={0, 1}, activation={3, 8})
    assert large.covers(small) and not small.covers(large)
    assert small.union(KindSet(layer={1}, activation={8})) == large
    assert hash(small) == hash(KindSet(activation={3}, layer={0}))
    with pytest.raises(ValueError, match="unknown table families"):
        KindSet(layers={0})
    assert [family for family, _ in small.families] == list(FAMILIES)


@pytest.mark.parametrize("prepared, first, then, expected", [
    # nothing prepared: the first model's own set, kept for every model it covers
    (False, "tanh", "tanh", "first"),
    (False, "tanh+relu", "relu", "first"),
    # a model it does not cover: every entry
    (False, "tanh", "relu", None),
    # prepared kernels: every entry from the start
    (True, "tanh", "tanh", None),
])
def test_kinds_for_chooses_once_per_process(monkeypatch, prepared, first, then, expected):
    monkeypatch.setattr(kernel_scope, "_chosen", {})
    monkeypatch.setattr(kernel_scope.compile_cache, "kernels_cached", lambda dtype: prepared)

    def needs(names):
        return KindSet(layer={DENSE}, activation={act_kernels.CODES[n] for n in names.split("+")})

    chosen = kernel_scope.kinds_for(needs(first), "float32")
    assert chosen == (None if prepared else needs(first))
    assert kernel_scope.kinds_for(needs(then), "float32") == (
        needs(first) if expected == "first" else None)
    assert kernel_scope.kinds_for(needs(then), "float64") == (None if prepared else needs(then))


def test_compile_every_entry_overrides_a_first_choice(fresh_scope):
    needed = KindSet(layer={DENSE})
    assert kernel_scope.kinds_for(needed, "float32") == needed
    kernel_scope.compile_every_entry()
    assert kernel_scope.kinds_for(needed, "float32") is None


def test_a_code_outside_the_set_is_not_compiled():
    """``activate`` compiled for a set without relu leaves z as it is for relu's code."""
    z = np.array([[-1.0, 2.0]])
    kept = z.copy()
    relu, tanh = act_kernels.CODES["relu"], act_kernels.CODES["tanh"]
    only_tanh = KindSet(activation={tanh})
    act_kernels.activate(relu, kept, np.zeros(2), 0.0, kept, only_tanh)
    np.testing.assert_array_equal(kept, z)
    act_kernels.activate(tanh, kept, np.zeros(2), 0.0, kept, only_tanh)
    np.testing.assert_allclose(kept, np.tanh(z))


def _fit(model, X, y, callbacks=()):
    history = model.fit(X, y, epochs=3, batch_size=8, verbose=0, callbacks=list(callbacks))
    return model.params.copy(), {k: v for k, v in history.history.items() if k != "time"}


def test_a_models_own_set_trains_and_predicts_as_every_entry_does(monkeypatch):
    """The same fit, validation and prediction with the model's KindSet and with None give the
    same numbers, also when a callback switches the schedule mid-fit."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 4)).astype(np.float32)
    y = rng.integers(0, 3, size=40)

    class SwitchSchedule(fn.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate = fn.schedules.ExponentialDecay(0.01, 0.1)

    results = []
    for scope in ("own", "every"):
        model = _model()
        own = kernel_scope.model_kinds(model)
        monkeypatch.setattr(kernel_scope, "_chosen", {"float32": own if scope == "own" else None})
        params, history = _fit(model, X, y, [SwitchSchedule()])
        results.append((params, history, model.predict(X), model.evaluate(X, y)))
    (p_own, h_own, out_own, ev_own), (p_all, h_all, out_all, ev_all) = results
    np.testing.assert_array_equal(p_own, p_all)
    np.testing.assert_array_equal(out_own, out_all)
    assert h_own == h_all and ev_own == ev_all
    assert h_own["lr"][1] != h_own["lr"][0]


def test_a_case_compiles_once_for_kernels_that_release_the_gil_and_those_that_do_not():
    def double(x):  # a case body of this test's own
        for i in range(x.shape[0]):
            x[i] *= 2.0

    run = table.switch([(DENSE, double)], "layer")

    @numba.njit(nogil=True)
    def releasing(kinds, x):
        run(kinds, DENSE, x)

    @numba.njit
    def keeping(kinds, x):
        run(kinds, DENSE, x)

    x, kinds = np.ones(3), KindSet(layer={DENSE})
    releasing(kinds, x)
    keeping(kinds, x)
    assert x.tolist() == [4.0, 4.0, 4.0]
    assert sum(key[0] is double.__code__ for key in table._CASES) == 1
