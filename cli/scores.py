"""The numbers reported for a trained model on a table with known targets.

    loss          the training loss on the encoded targets (for regression: on the
                  standardised target, the scale the model was trained on)
    accuracy      classification: the share of rows whose predicted class is the label
                  (fastnn's own metric, as compiled)
    mse, mae, r2  regression: in the target's own units (predictions mapped back)
    per class     precision = TP / predicted as the class, recall = TP / rows of the class
                  (None where the denominator is 0), support = rows of the class
"""

import numpy as np


def regression_scores(predicted, actual):
    """mse, mae and r2 of predictions against targets, in the target's units (fastnn.metrics)."""
    from fastnn import metrics
    from fastnn.kernels.losses import NO_ACCURACY

    p, y = predicted.reshape(-1, 1), actual.reshape(-1, 1).astype(np.float64)
    return {name: metrics.from_predictions(name, p, y, NO_ACCURACY, 0.0)
            for name in ("mse", "mae", "r2")}


def per_class(predicted, actual, classes):
    """{label: {precision, recall, support}} from predicted and actual class indices."""
    k = len(classes)
    confusion = np.bincount(actual * k + predicted, minlength=k * k).reshape(k, k)
    tp = np.diag(confusion)
    predicted_as, support = confusion.sum(axis=0), confusion.sum(axis=1)
    return {label: {"precision": float(tp[c] / predicted_as[c]) if predicted_as[c] else None,
                    "recall": float(tp[c] / support[c]) if support[c] else None,
                    "support": int(support[c])}
            for c, label in enumerate(classes)}


def score(bundle, X, target_series, with_classes=False):
    """{"loss": ..., metrics...} (and "per_class" when asked, for classification)."""
    model, target = bundle.model, bundle.target
    encoded = target.encode(target_series)
    library = model.evaluate(X, encoded)
    result = {"loss": library["loss"]}
    outputs = model.predict(X)
    if target.task == "regression":
        result.update(regression_scores(target.decode(outputs),
                                        target_series.to_numpy(dtype=np.float64)))
        return result
    result["accuracy"] = library["accuracy"]
    if with_classes:
        actual = encoded.argmax(axis=1) if encoded.ndim == 2 else encoded.astype(np.int64)
        result["per_class"] = per_class(target.class_indices(outputs), actual, target.classes)
    return result
