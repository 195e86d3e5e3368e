"""The scikit-learn estimators: scikit-learn's own estimator checks, Pipeline and GridSearchCV,
the meaning of the mirrored parameters, and accuracy against scikit-learn's MLP."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, load_iris, make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier as SkMLPClassifier  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

import fastnn as fn  # noqa: E402
from fastnn.sklearn import MLPClassifier, MLPRegressor  # noqa: E402



@pytest.fixture(autouse=True)
def one_blas_thread():
    """Both libraries on one BLAS thread: on a busy machine, threaded BLAS made these small fits
    up to 20 times slower (and their timing is not what these tests are about)."""
    import scipy.linalg.cython_blas  # noqa: F401  (Numba's BLAS, loaded so that it is limited)
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


# Small networks and budgets keep scikit-learn's ~50 checks per estimator fast.
CHECKED = [
    MLPClassifier(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=60,
                  random_state=0),
    MLPRegressor(hidden_layer_sizes=(16,), learning_rate_init=0.01, max_iter=60,
                 random_state=0),
]

# Checks that cannot apply, by name, with the reason. Add a row here, never a blanket skip.
NOT_APPLICABLE = {
    "check_sample_weight_equivalence_on_dense_data":
        "integer weights equal repeated rows only up to the minibatch schedule and the L2 "
        "scale (alpha / batch size), which repeating rows changes; scikit-learn's own MLP "
        "passes this check only with solver='lbfgs' (tests/test_weights.py checks the "
        "equivalence on one full batch)",
}


@parametrize_with_checks(CHECKED, expected_failed_checks=lambda est: NOT_APPLICABLE)
def test_scikit_learn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        check(estimator)


def test_import_fastnn_does_not_import_scikit_learn_or_dask():
    code = ("import sys, fastnn; print(','.join(m for m in ('sklearn', 'dask', 'distributed', "
            "'joblib') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


# ----------------------------------------------------------------------------- the contract
def test_constructor_stores_parameters_unchanged_and_set_params_works():
    hidden = [5, 3]
    clf = MLPClassifier(hidden_layer_sizes=hidden, solver="rmsprop", dropout=0.2, alpha=0.5)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] is hidden
    assert (params["solver"], params["dropout"], params["alpha"]) == ("rmsprop", 0.2, 0.5)
    assert clf.set_params(max_iter=7, batchnorm=True) is clf
    assert (clf.max_iter, clf.batchnorm) == (7, True)


def test_fit_partial_fit_and_the_fitted_attributes():
    X, y = make_classification(80, 5, n_informative=3, n_classes=3, random_state=0)
    labels = np.array(["a", "b", "c"])[y]
    clf = MLPClassifier((8,), max_iter=5, random_state=0)
    with pytest.warns(ConvergenceWarning):
        assert clf.fit(X, labels) is clf
    assert clf.classes_.tolist() == ["a", "b", "c"]
    assert clf.n_features_in_ == 5 and clf.n_iter_ == 5 and len(clf.loss_curve_) == 5
    assert clf.out_activation_ == "softmax" and clf.n_outputs_ == 3
    assert [c.shape for c in clf.coefs_] == [(5, 8), (8, 3)]
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"a", "b", "c"}
    assert 0.0 <= clf.score(X, labels) <= 1.0

    inc = MLPClassifier((8,), random_state=0)
    with pytest.raises(ValueError, match="classes must be passed"):
        inc.partial_fit(X, labels)
    inc.partial_fit(X[:40], labels[:40], classes=["a", "b", "c"])
    inc.partial_fit(X[40:], labels[40:])
    assert inc.n_iter_ == 2 and len(inc.loss_curve_) == 2
    with pytest.raises(ValueError, match="not in classes_"):
        inc.partial_fit(X[:3], ["a", "b", "z"])


def test_feature_names_are_recorded():
    pd = pytest.importorskip("pandas")
    X, y = make_classification(60, 3, n_informative=2, n_redundant=0, random_state=0)
    frame = pd.DataFrame(X, columns=["age", "height", "income"])
    clf = MLPClassifier((4,), max_iter=3, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["age", "height", "income"]


def test_random_state_makes_fits_reproducible():
    X, y = make_classification(100, 6, random_state=1)

    def proba(random_state):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            return MLPClassifier((8,), max_iter=5, random_state=random_state).fit(
                X, y).predict_proba(X)

    np.testing.assert_array_equal(proba(3), proba(3))
    assert not np.array_equal(proba(3), proba(4))


@pytest.mark.parametrize("network", [{}, {"dropout": 0.3, "batchnorm": True}])
def test_pickle_keeps_the_network_and_its_optimizer_state(network):
    X, y = make_classification(60, 4, random_state=2)
    clf = MLPClassifier((6,), random_state=0, **network).partial_fit(X, y, classes=[0, 1])
    copy = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))
    clf.partial_fit(X, y)
    copy.partial_fit(X, y)  # Adam's moments, the shuffling and dropout states travelled
    np.testing.assert_array_equal(copy.predict_proba(X), clf.predict_proba(X))


# ----------------------------------------------------------------------------- the parameters
@pytest.mark.parametrize("params, optimizer, config", [
    ({"solver": "adam"}, "Adam", {"beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-8}),
    ({"solver": "adam", "beta_1": 0.8, "epsilon": 1e-6}, "Adam", {"beta_1": 0.8, "epsilon": 1e-6}),
    ({"solver": "sgd"}, "SGD", {"momentum": 0.9, "nesterov": True}),
    ({"solver": "sgd", "momentum": 0.0}, "SGD", {"momentum": 0.0, "nesterov": False}),
    ({"solver": "sgd", "nesterovs_momentum": False}, "SGD", {"momentum": 0.9, "nesterov": False}),
    ({"solver": "rmsprop"}, "RMSprop", {}),
    ({"solver": "adagrad"}, "Adagrad", {}),
])
def test_solver_maps_to_the_fastnn_optimizer(params, optimizer, config):
    X, y = make_classification(40, 3, n_informative=2, n_redundant=0, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((4,), max_iter=1, learning_rate_init=0.02, **params).fit(X, y)
    opt = clf.model_.optimizer
    assert type(opt).__name__ == optimizer
    assert opt.learning_rate == 0.02
    got = opt.get_config()
    assert {k: got[k] for k in config} == config


@pytest.mark.parametrize("params, message", [
    ({"solver": "lbfgs"}, "lbfgs"),
    ({"solver": "newton"}, "unknown optimizer"),
    ({"activation": "swishy"}, "unknown activation"),
    ({"hidden_layer_sizes": (4, 0)}, "positive integers"),
    ({"alpha": -1.0}, "alpha"),
    ({"max_iter": 0}, "max_iter"),
    ({"batch_size": 0}, "batch_size"),
    ({"early_stopping": True, "validation_fraction": 1.5}, "validation_fraction"),
    ({"dropout": 1.0}, "dropout"),
])
def test_bad_parameters_raise_value_error_at_fit(params, message):
    X, y = make_classification(40, 3, n_informative=2, n_redundant=0, random_state=0)
    clf = MLPClassifier(**params)  # constructing never validates (scikit-learn's rule)
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_alpha_is_scikit_learns_l2_penalty():
    """scikit-learn adds alpha * W / batch_size to each kernel's gradient, nothing to biases."""
    X, y = make_classification(50, 4, random_state=3)
    alpha = 0.3
    plain, penalised = (MLPClassifier((5,), alpha=a, batch_size=50, dtype="float64",
                                      random_state=0).partial_fit(X, y, classes=[0, 1])
                        for a in (0.0, alpha))
    weights = plain.model_.get_weights()
    penalised.model_.set_weights(weights)
    penalty = penalised.model_.compute_gradients(X, y) - plain.model_.compute_gradients(X, y)
    expected = np.concatenate([(alpha * w / 50 if w.ndim == 2 else np.zeros_like(w)).ravel()
                               for w in weights])
    np.testing.assert_allclose(penalty, expected, atol=1e-12)


def test_early_stopping_holds_out_rows_and_stops():
    X, y = make_classification(300, 8, random_state=4)
    clf = MLPClassifier((16,), early_stopping=True, n_iter_no_change=3, max_iter=500,
                        learning_rate_init=0.05, random_state=0).fit(X, y)
    assert clf.n_iter_ < 500
    assert len(clf.validation_scores_) == clf.n_iter_
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.best_loss_ is None


def test_without_early_stopping_training_stops_when_the_loss_stalls():
    X, y = make_classification(200, 5, random_state=5)
    clf = MLPClassifier((8,), tol=0.5, n_iter_no_change=2, max_iter=100,
                        random_state=0).fit(X, y)
    # a tolerance of 0.5 is never met after the first epoch: 1 + (n_iter_no_change + 1) epochs
    assert clf.n_iter_ == 4
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_regressor_single_and_multiple_outputs():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 3))
    Y = np.column_stack([X @ [1.0, -1.0, 0.5], X[:, 0] * 0.5])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = MLPRegressor((16,), max_iter=200, learning_rate_init=0.01,
                           random_state=0).fit(X, Y[:, 0])
        two = MLPRegressor((16,), max_iter=200, learning_rate_init=0.01,
                           random_state=0).fit(X, Y)
    assert one.predict(X).shape == (120,) and two.predict(X).shape == (120, 2)
    assert one.score(X, Y[:, 0]) > 0.9 and two.score(X, Y) > 0.9


def test_dropout_and_batchnorm_build_those_layers():
    X, y = make_classification(60, 4, random_state=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((8, 8), dropout=0.3, batchnorm=True, max_iter=2,
                            random_state=0).fit(X, y)
    kinds = [type(layer).__name__ for layer in clf.model_.layers]
    assert kinds == ["Dense", "BatchNormalization", "Activation", "Dropout"] * 2 + ["Dense"]
    assert clf.predict(X).shape == (60,)


# ----------------------------------------------------------------------------- in pipelines
def test_pipeline_inside_grid_search():
    X, y = load_iris(return_X_y=True)
    pipe = Pipeline([("scale", StandardScaler()),
                     ("mlp", MLPClassifier(max_iter=40, learning_rate_init=0.02,
                                           random_state=0))])
    grid = {"mlp__hidden_layer_sizes": [(4,), (16,)], "mlp__solver": ["adam", "sgd"]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search = GridSearchCV(pipe, grid, cv=3).fit(X, y)
    assert len(search.cv_results_["params"]) == 4
    assert search.best_score_ > 0.85
    assert search.best_estimator_.score(X, y) > 0.85


def test_digits_accuracy_at_least_that_of_scikit_learns_mlp():
    """Same hidden sizes, same epoch budget, same defaults, seeds 0-4 on both sides.

    The two are equal in expectation (10 seeds at 60 epochs: scikit-learn 0.9641 +- 0.0031,
    fastnn 0.9646 +- 0.0037), so one seed's comparison is a coin toss; the mean over five
    paired seeds is compared, allowing 0.01 (about 4 standard errors of the difference) for
    float32 rounding that differs between CPUs."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X / 16.0, y, test_size=0.3,
                                                        random_state=0, stratify=y)
    theirs, ours = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for seed in range(5):
            params = {"hidden_layer_sizes": (64,), "max_iter": 30, "random_state": seed}
            theirs.append(SkMLPClassifier(**params).fit(X_train, y_train).score(X_test, y_test))
            ours.append(MLPClassifier(**params).fit(X_train, y_train).score(X_test, y_test))
    assert np.mean(ours) >= np.mean(theirs) - 0.01
    assert min(ours) > 0.9


def test_a_fastnn_schedule_as_learning_rate_init():
    X, y = make_classification(40, 3, n_informative=2, n_redundant=0, random_state=0)
    schedule = fn.schedules.StepDecay(0.1, factor=0.5, every=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((4,), solver="sgd", learning_rate_init=schedule, max_iter=3,
                            random_state=0).fit(X, y)
    assert clf.model_.history.history["lr"] == pytest.approx([0.1, 0.05, 0.025])


def test_fastnn_optimizer_instance_as_solver():
    X, y = make_classification(40, 3, n_informative=2, n_redundant=0, random_state=0)
    solver = fn.optimizers.SGD(learning_rate=0.3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf = MLPClassifier((4,), solver=solver, max_iter=2).fit(X, y)
    assert clf.model_.optimizer is not solver  # a copy: the parameter stays unchanged
    assert clf.model_.optimizer.learning_rate == 0.3


def test_sample_weight_zero_rows_weigh_nothing_and_early_stopping_on_many_small_classes():
    X, y = make_classification(60, 4, n_informative=3, n_redundant=0, n_classes=6,
                               n_clusters_per_class=1, random_state=0)
    w = np.ones(60)
    w[:10] = 0.0
    clf = MLPClassifier((8,), max_iter=5, random_state=0, early_stopping=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y, sample_weight=w)  # 6 classes, a 6-row validation split: not stratified
        clf.partial_fit(X, y, sample_weight=w)
    assert clf.predict(X).shape == (60,)
