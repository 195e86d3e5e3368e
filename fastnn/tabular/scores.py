"""The numbers reported for a trained tabular model on rows with known targets, in NumPy.

Definitions follow scikit-learn's metrics (the tests compare with them):

    confusion matrix   C[i, j] = rows of actual class i predicted as class j
    precision          TP / rows predicted as the class     (None where that is 0)
    recall             TP / rows of the class               (None where that is 0)
    f1                 2 TP / (2 TP + FP + FN)              (None where that is 0)
    accuracy           the share of rows whose predicted class is the label
    roc_auc            area under the ROC curve of the scores (trapezoids over the distinct
                       scores, ties counted half), None with only one class present
    average_precision  sum over the distinct scores, highest first, of
                       (recall_n - recall_{n-1}) x precision_n
    mse, mae, r2       in the target's units; r2 = 1 - SSE / SST (None when SST = 0)

Binary precision, recall and f1 are those of the second class (the positive one).
``best_threshold`` gives the threshold with the highest F1 on rows with known labels.
"""

import numpy as np


def _ratio(numerator, denominator):
    return float(numerator / denominator) if denominator else None


def confusion_matrix(actual, predicted, k):
    """k x k counts: rows the actual classes, columns the predicted ones."""
    actual, predicted = np.asarray(actual, np.int64), np.asarray(predicted, np.int64)
    return np.bincount(actual * k + predicted, minlength=k * k).reshape(k, k)


def per_class(confusion, classes):
    """{label: {precision, recall, f1, support}} from a confusion matrix."""
    tp = np.diag(confusion)
    predicted_as, support = confusion.sum(axis=0), confusion.sum(axis=1)
    return {label: {"precision": _ratio(tp[c], predicted_as[c]),
                    "recall": _ratio(tp[c], support[c]),
                    "f1": _ratio(2 * tp[c], predicted_as[c] + support[c]),
                    "support": int(support[c])}
            for c, label in enumerate(classes)}


def _curve(positive, scores):
    """(true positives, false positives, score) at each distinct score, highest first: the
    counts of rows with a score at least that high."""
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    last = np.r_[np.flatnonzero(np.diff(scores)), scores.size - 1]
    tps = np.cumsum(positive)[last]
    fps = last + 1 - tps
    return tps.astype(np.float64), fps.astype(np.float64), scores[last]


def roc_auc(positive, scores):
    """Area under the ROC curve (module docstring); None with only one class present."""
    positive = np.asarray(positive, dtype=bool)
    tps, fps, _ = _curve(positive, np.asarray(scores, np.float64))
    if tps[-1] == 0 or fps[-1] == 0:
        return None
    tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def average_precision(positive, scores):
    """Average precision (module docstring); None with no positive row."""
    positive = np.asarray(positive, dtype=bool)
    tps, fps, _ = _curve(positive, np.asarray(scores, np.float64))
    if tps[-1] == 0:
        return None
    precision = tps / (tps + fps)
    recall = tps / tps[-1]
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def best_threshold(positive, scores):
    """The threshold t with the highest F1 when rows with score > t are positive (the highest
    such t among ties), placed halfway between two distinct scores; None with no positive
    row."""
    positive = np.asarray(positive, dtype=bool)
    tps, fps, at = _curve(positive, np.asarray(scores, np.float64))
    if tps[-1] == 0:
        return None
    f1 = 2 * tps / (tps + fps + tps[-1])
    best = int(np.argmax(f1))
    if best + 1 < at.size:
        return float(at[best] / 2 + at[best + 1] / 2)
    return float(np.nextafter(at[best], -np.inf))


def classification_scores(actual, predicted, classes, scores=None):
    """{"accuracy", ...}: for two classes (with ``scores``, the positive class's score per row)
    roc_auc, average_precision, precision, recall, f1; for every classification the confusion
    matrix and the per-class table."""
    k = len(classes)
    confusion = confusion_matrix(actual, predicted, k)
    result = {"accuracy": float(np.mean(np.asarray(actual) == np.asarray(predicted)))}
    if k == 2:
        tp, fp, fn = confusion[1, 1], confusion[0, 1], confusion[1, 0]
        positive = np.asarray(actual) == 1
        result.update(
            roc_auc=None if scores is None else roc_auc(positive, scores),
            average_precision=None if scores is None else average_precision(positive, scores),
            precision=_ratio(tp, tp + fp), recall=_ratio(tp, tp + fn),
            f1=_ratio(2 * tp, 2 * tp + fp + fn))
    result["confusion_matrix"] = {"labels": list(classes), "matrix": confusion.tolist()}
    result["per_class"] = per_class(confusion, classes)
    return result


def regression_scores(predicted, actual):
    """{"mse", "mae", "r2"} in the target's units."""
    predicted = np.asarray(predicted, np.float64)
    actual = np.asarray(actual, np.float64)
    with np.errstate(all="ignore"):
        error = predicted - actual
        sse = float(np.sum(error ** 2))
        sst = float(np.sum((actual - actual.mean()) ** 2))
        return {"mse": float(np.mean(error ** 2)), "mae": float(np.mean(np.abs(error))),
                "r2": 1.0 - sse / sst if sst > 0 else None}
