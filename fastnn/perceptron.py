"""The perceptron: one linear threshold unit trained by Rosenblatt's rule (not backpropagation).

    y_hat = step(w . x + b),  step(z) = 1 if z >= 0 else 0
    on each sample, in a fresh random order every epoch:  w <- w + eta (y - y_hat) x,
                                                          b <- b + eta (y - y_hat)

Weights start at zero; training stops at the first epoch without a mistake (``converged_``) or
after ``max_epochs``. The rule converges when the two classes are linearly separable (AND, OR)
and never when they are not (XOR). The epochs run in a compiled kernel
(fastnn/kernels/perceptron.py).
"""

import numpy as np

from .checks import non_negative_int, number, positive_int
from .kernels.perceptron import perceptron_epoch


class Perceptron:
    """A binary linear classifier trained by the perceptron rule.

    ``learning_rate`` (eta) > 0; ``max_epochs`` >= 1; ``seed`` fixes the order of the samples.
    After ``fit``: ``coef_`` (weights), ``intercept_`` (bias), ``classes_`` (the two labels,
    sorted; the second one is the positive class), ``errors_`` (mistakes per epoch),
    ``n_epochs_`` and ``converged_``.
    """

    def __init__(self, learning_rate=0.01, max_epochs=1000, seed=0):
        self.learning_rate = number("learning_rate", learning_rate, low=0.0, low_open=True)
        self.max_epochs = positive_int("max_epochs", max_epochs)
        self.seed = non_negative_int("seed", seed)
        self.coef_ = None

    def _inputs(self, X):
        X = np.asarray(X)
        if X.ndim == 1:
            X = X.reshape(-1, 1)
        if X.ndim != 2 or X.shape[0] == 0:
            raise ValueError(f"X must be a non-empty 2-D array (rows, features), got shape "
                             f"{X.shape}")
        if not (np.issubdtype(X.dtype, np.number) or X.dtype == np.bool_):
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        X = np.ascontiguousarray(X, dtype=np.float64)
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinite values")
        if self.coef_ is not None and X.shape[1] != self.coef_.shape[0]:
            raise ValueError(f"X has {X.shape[1]} feature column(s) but the perceptron was "
                             f"fitted on {self.coef_.shape[0]}")
        return X

    def fit(self, X, y):
        """Train from zero weights; return self."""
        self.coef_ = None
        X = self._inputs(X)
        y = np.asarray(y).reshape(-1)
        if y.shape[0] != X.shape[0]:
            raise ValueError(f"X has {X.shape[0]} rows but y has {y.shape[0]}")
        classes, targets = np.unique(y, return_inverse=True)
        if classes.size != 2:
            raise ValueError(f"the perceptron separates exactly two classes; y has "
                             f"{classes.size}: {classes.tolist()[:10]}")
        targets = targets.astype(np.float64)
        rng = np.random.default_rng(self.seed)
        w = np.zeros(X.shape[1])
        b = np.zeros(1)
        self.errors_ = []
        for _ in range(self.max_epochs):
            order = rng.permutation(X.shape[0]).astype(np.int64)
            mistakes = perceptron_epoch(X, targets, order, w, b, self.learning_rate)
            self.errors_.append(int(mistakes))
            if mistakes == 0:
                break
        self.classes_ = classes
        self.coef_ = w
        self.intercept_ = float(b[0])
        self.n_epochs_ = len(self.errors_)
        self.converged_ = self.errors_[-1] == 0
        return self

    def _require_fitted(self):
        if self.coef_ is None:
            raise ValueError("the perceptron is not fitted yet: call fit(X, y) first")

    def decision_function(self, X):
        """w . x + b for every row of X."""
        self._require_fitted()
        return self._inputs(X) @ self.coef_ + self.intercept_

    def predict(self, X):
        """The class label of every row: classes_[1] where w . x + b >= 0, else classes_[0]."""
        positive = self.decision_function(X) >= 0.0
        return self.classes_[positive.astype(int)]

    def score(self, X, y):
        """Accuracy: the fraction of rows of X whose predicted label equals y."""
        y = np.asarray(y).reshape(-1)
        predicted = self.predict(X)
        if y.shape[0] != predicted.shape[0]:
            raise ValueError(f"X has {predicted.shape[0]} rows but y has {y.shape[0]}")
        return float(np.mean(predicted == y))
