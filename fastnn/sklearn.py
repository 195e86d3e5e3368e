"""scikit-learn estimators backed by fastnn: ``MLPClassifier`` and ``MLPRegressor``.

They follow the scikit-learn estimator contract (they drop into ``Pipeline``, ``GridSearchCV``,
``cross_val_score``) and take scikit-learn's MLP parameters where the meaning is the same:

    hidden_layer_sizes, activation   ("identity", "logistic", "tanh", "relu", or any fastnn name)
    solver                           "sgd" (with momentum / nesterovs_momentum), "adam" (with
                                     beta_1, beta_2, epsilon), any other fastnn optimizer name,
                                     or a fastnn optimizer instance; "lbfgs" is not available
    alpha                            L2 penalty 0.5 * alpha * ||W||^2 / batch size, as scikit-learn
                                     (fastnn's l2(alpha / (2 * batch_size)) on every kernel)
    batch_size ("auto" = min(200, n)), learning_rate_init, max_iter (epochs), shuffle,
    random_state, tol, n_iter_no_change, early_stopping, validation_fraction, verbose,
    warm_start

Stopping, as scikit-learn: without early stopping, training stops once the training loss has
not improved by ``tol`` for ``n_iter_no_change`` consecutive epochs; with it, a stratified
``validation_fraction`` of the rows is held out and training stops once the validation score
(accuracy, R^2) has not improved by ``tol`` for that many epochs, keeping the best weights.
Both are fastnn's ``EarlyStopping`` callback. fastnn adds ``dropout`` (the rate after every
hidden layer), ``batchnorm`` (Dense -> BatchNormalization -> activation) and ``dtype``.

The fitted network is ``model_`` (a fastnn ``Sequential``). Pickling stores it as a fastnn model
file (fastnn.model_file), never as pickled internals.
"""

import copy
import os
import tempfile
import warnings

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from . import optimizers
from .builders import make_optimizer, mlp
from .callbacks import EarlyStopping
from .checks import number, positive_int
from .model_file import load_model

# scikit-learn's name of the output activation, as its MLP reports ``out_activation_``
OUT_ACTIVATION = {"binary": "logistic", "multiclass": "softmax", "regression": "identity"}


def _model_to_bytes(model):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.fnn")
        model.save(path)
        with open(path, "rb") as f:
            return f.read()


def _model_from_bytes(data):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.fnn")
        with open(path, "wb") as f:
            f.write(data)
        return load_model(path)


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share; subclasses set ``_score_metric`` and
    implement ``_targets`` (encode y, fix the task) and ``_validate``."""

    _score_metric = None

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate_init=0.001, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False,
                 validation_fraction=0.1, beta_1=0.9, beta_2=0.999, epsilon=1e-8,
                 n_iter_no_change=10, dropout=0.0, batchnorm=False, dtype="float32"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.dtype = dtype

    # ----------------------------------------------------------------- building
    def _optimizer(self):
        if isinstance(self.solver, optimizers.Optimizer):
            return copy.deepcopy(self.solver)
        name = self.solver.lower() if isinstance(self.solver, str) else self.solver
        lr = self.learning_rate_init
        if name == "lbfgs":
            raise ValueError("solver='lbfgs' is not available in fastnn, which trains with "
                             "first-order optimizers; use 'adam', 'sgd' or another fastnn name")
        if name == "sgd":
            return optimizers.SGD(learning_rate=lr, momentum=self.momentum,
                                  nesterov=bool(self.nesterovs_momentum and self.momentum > 0))
        if name == "adam":
            return optimizers.Adam(learning_rate=lr, beta_1=self.beta_1, beta_2=self.beta_2,
                                   epsilon=self.epsilon)
        return make_optimizer(name, lr)

    def _batch_size(self, n_rows):
        if self.batch_size == "auto":
            return min(200, n_rows)
        return min(positive_int("batch_size", self.batch_size), n_rows)

    def _build(self, task, n_outputs, n_rows, seed):
        alpha = number("alpha", self.alpha, low=0.0)
        hidden = self.hidden_layer_sizes
        hidden = (hidden,) if isinstance(hidden, (int, np.integer)) else tuple(hidden)
        return mlp(task, n_outputs, hidden=hidden, activation=self.activation,
                   dropout=self.dropout, batchnorm=self.batchnorm,
                   l2=alpha / (2 * self._batch_size(n_rows)),
                   optimizer=self._optimizer(), seed=seed, dtype=self.dtype)

    # ----------------------------------------------------------------- training
    def _stopping(self, X, y, sample_weight, split_seed):
        """(training rows, their weights, validation data or None, the EarlyStopping
        callback)."""
        patience = positive_int("n_iter_no_change", self.n_iter_no_change) + 1
        tol = number("tol", self.tol, low=0.0)
        # scikit-learn stops when the count of epochs without improvement EXCEEDS
        # n_iter_no_change; EarlyStopping stops when it REACHES patience.
        if not self.early_stopping:
            return X, y, sample_weight, None, EarlyStopping(
                monitor="loss", patience=patience, min_delta=tol, mode="min",
                restore_best_weights=False)
        fraction = number("validation_fraction", self.validation_fraction, low=0.0, high=1.0,
                          low_open=True, high_open=True)
        stratify = y if isinstance(self, ClassifierMixin) else None
        weights = np.ones(len(y)) if sample_weight is None else sample_weight
        try:
            X_train, X_val, y_train, y_val, w_train, w_val = train_test_split(
                X, y, weights, test_size=fraction, random_state=split_seed,
                stratify=stratify)
        except ValueError:
            # too few rows of some class for a stratified split: split without stratifying,
            # as scikit-learn's own MLP does
            X_train, X_val, y_train, y_val, w_train, w_val = train_test_split(
                X, y, weights, test_size=fraction, random_state=split_seed)
        if sample_weight is None:
            w_train = w_val = None
        validation = (X_val, y_val) if w_val is None else (X_val, y_val, w_val)
        monitor = f"val_{self._score_metric}"
        return X_train, y_train, w_train, validation, EarlyStopping(
            monitor=monitor, patience=patience, min_delta=tol, mode="max",
            restore_best_weights=True)

    def _fit(self, X, y, incremental, classes=None, sample_weight=None):
        first = not hasattr(self, "model_") or not (incremental or self.warm_start)
        X, y = self._validate(X, y, reset=first)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        targets, task, n_outputs = self._targets(y, first, classes)
        if first:
            rng = check_random_state(self.random_state)
            seed = int(rng.randint(np.iinfo(np.int32).max))
            self._split_seed = int(rng.randint(np.iinfo(np.int32).max))
            self.model_ = self._build(task, n_outputs, X.shape[0], seed)
            self.n_outputs_ = n_outputs
            self.out_activation_ = OUT_ACTIVATION[task]
            self.loss_curve_, self.n_iter_, self.t_ = [], 0, 0
            self.validation_scores_ = [] if self.early_stopping and not incremental else None
        if incremental:
            X_train, y_train, w_train, validation, callbacks, epochs = \
                X, targets, sample_weight, None, [], 1
        else:
            X_train, y_train, w_train, validation, stop = self._stopping(
                X, targets, sample_weight, self._split_seed)
            callbacks, epochs = [stop], positive_int("max_iter", self.max_iter)
        history = self.model_.fit(X_train, y_train, epochs=epochs,
                                  batch_size=self._batch_size(X_train.shape[0]),
                                  shuffle=bool(self.shuffle), verbose=int(bool(self.verbose)),
                                  validation_data=validation, callbacks=callbacks,
                                  sample_weight=w_train)
        run = len(history.epoch)
        self.loss_curve_ += history.history["loss"]
        self.n_iter_ += run
        self.t_ += run * X_train.shape[0]
        if validation is not None:
            self.validation_scores_ = list(history.history[f"val_{self._score_metric}"])
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        else:
            self.best_loss_ = min(self.loss_curve_)
        if not incremental and run == epochs:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({epochs}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)
        return self

    def fit(self, X, y, sample_weight=None):
        """Train on (X, y) for up to ``max_iter`` epochs (see the module docstring for when it
        stops); ``sample_weight`` weights each row's loss (fastnn's weighted mean, see
        docs/training.md). Returns self."""
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    # ----------------------------------------------------------------- inference
    def _forward(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        return self.model_.predict(X).astype(np.float64)

    @property
    def coefs_(self):
        """The Dense layers' kernels (copies), as scikit-learn's ``coefs_``."""
        check_is_fitted(self)
        return [layer.kernel.copy() for layer in self.model_.layers if hasattr(layer, "kernel")]

    @property
    def intercepts_(self):
        check_is_fitted(self)
        return [layer.bias.copy() for layer in self.model_.layers if hasattr(layer, "kernel")]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "model_")

    # ----------------------------------------------------------------- pickling
    def __getstate__(self):
        state = super().__getstate__()
        if "model_" in state:
            state = dict(state, model_=_model_to_bytes(state["model_"]))
        return state

    def __setstate__(self, state):
        if isinstance(state.get("model_"), bytes):
            state = dict(state, model_=_model_from_bytes(state["model_"]))
        super().__setstate__(state)


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multilayer perceptron classifier: a sigmoid output for two classes (binary
    cross-entropy), softmax for more (categorical cross-entropy). See the module docstring."""

    _score_metric = "accuracy"

    def _validate(self, X, y, reset):
        return validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32))

    def _targets(self, y, first, classes):
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if self.classes_.size < 2:
                raise ValueError(f"y has {self.classes_.size} class; MLPClassifier needs at "
                                 "least two")
        index = np.searchsorted(self.classes_, y)
        index[index == self.classes_.size] = 0
        unknown = self.classes_[index] != y
        if np.any(unknown):
            raise ValueError(f"y contains labels not in classes_ {self.classes_.tolist()}: "
                             f"{np.unique(y[unknown]).tolist()}")
        task = "binary" if self.classes_.size == 2 else "multiclass"
        return index, task, self.classes_.size

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch over (X, y); the first call needs ``classes`` (every label that will
        occur). Returns self."""
        if not hasattr(self, "model_") and classes is None:
            raise ValueError("classes must be passed on the first call to partial_fit")
        return self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes), columns in the order of ``classes_``."""
        out = self._forward(X)
        proba = np.hstack([1.0 - out, out]) if self.classes_.size == 2 else out
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X):
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multilayer perceptron regressor: linear outputs, mean squared error; one output per
    column of y. See the module docstring."""

    _score_metric = "r2"

    def _validate(self, X, y, reset):
        return validate_data(self, X, y, reset=reset, dtype=(np.float64, np.float32),
                             multi_output=True, y_numeric=True)

    def _targets(self, y, first, classes):
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if not first and y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {y.shape[1]} column(s) but the model was fitted with "
                             f"{self.n_outputs_}")
        return y, "regression", y.shape[1]

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y); returns self."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def predict(self, X):
        """The predicted targets: shape (n,) for one output, (n, n_outputs) otherwise."""
        out = self._forward(X)
        return out.ravel() if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
