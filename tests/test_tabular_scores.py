"""fastnn.tabular.scores against scikit-learn's metrics."""

import numpy as np
import pytest
from sklearn import metrics

from fastnn.tabular import scores

rng = np.random.default_rng(7)
CASES = {
    "random": (rng.integers(0, 2, 200), rng.random(200)),
    "ties": (np.array([0, 1, 1, 0, 1, 0, 1, 1]), np.array([.1, .4, .4, .4, .8, .8, .9, .1])),
    "separable": (np.array([0, 0, 1, 1]), np.array([.1, .2, .8, .9])),
    "inverted": (np.array([1, 1, 0, 0]), np.array([.1, .2, .8, .9])),
    "float32 scores": (rng.integers(0, 2, 50), rng.random(50).astype(np.float32)),
}


@pytest.mark.parametrize("case", CASES)
def test_binary_ranking_metrics(case):
    y, s = CASES[case]
    assert scores.roc_auc(y == 1, s) == pytest.approx(metrics.roc_auc_score(y, s), abs=1e-12)
    assert scores.average_precision(y == 1, s) == pytest.approx(
        metrics.average_precision_score(y, s), abs=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_best_threshold_maximises_f1(case):
    y, s = CASES[case]
    t = scores.best_threshold(y == 1, s)
    best = max(metrics.f1_score(y, (s >= c).astype(int)) for c in np.unique(s))
    assert metrics.f1_score(y, (s > t).astype(int)) == pytest.approx(best)


def test_undefined_values_are_none():
    assert scores.roc_auc(np.ones(3, bool), np.arange(3.0)) is None
    assert scores.average_precision(np.zeros(3, bool), np.arange(3.0)) is None
    assert scores.best_threshold(np.zeros(3, bool), np.arange(3.0)) is None


@pytest.mark.parametrize("k", [2, 4])
def test_classification_scores(k):
    actual, predicted = rng.integers(0, k, 100), rng.integers(0, k, 100)
    predicted[predicted == k - 1] = 0  # a class never predicted: precision undefined
    labels = [f"c{c}" for c in range(k)]
    result = scores.classification_scores(actual, predicted, labels,
                                          rng.random(100) if k == 2 else None)
    assert result["accuracy"] == pytest.approx(metrics.accuracy_score(actual, predicted))
    assert result["confusion_matrix"] == {
        "labels": labels, "matrix": metrics.confusion_matrix(actual, predicted).tolist()}
    p, r, f, support = metrics.precision_recall_fscore_support(actual, predicted,
                                                               zero_division=np.nan)
    for c, label in enumerate(labels):
        row = result["per_class"][label]
        for mine, theirs in ((row["precision"], p[c]), (row["recall"], r[c]),
                             (row["f1"], f[c])):
            assert (mine is None and np.isnan(theirs)) or mine == pytest.approx(theirs)
        assert row["support"] == support[c]
    if k == 2:
        assert result["precision"] is None  # class 1 is never predicted
        assert result["recall"] == pytest.approx(metrics.recall_score(actual, predicted))
        assert result["f1"] == pytest.approx(metrics.f1_score(actual, predicted))


def test_regression_scores():
    y, p = rng.standard_normal(50), rng.standard_normal(50)
    result = scores.regression_scores(p, y)
    assert result["mse"] == pytest.approx(metrics.mean_squared_error(y, p))
    assert result["mae"] == pytest.approx(metrics.mean_absolute_error(y, p))
    assert result["r2"] == pytest.approx(metrics.r2_score(y, p))
    assert scores.regression_scores(p[:3], np.ones(3))["r2"] is None
