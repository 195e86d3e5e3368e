"""scikit-learn's MLPClassifier: one ``partial_fit`` is one epoch (shuffled by the estimator's
own random state). It has no BatchNorm, dropout or RMSprop and one activation for all hidden
layers, so workloads that need more are Unavailable for it rather than run on another network.
Its weights are set to the shared initial ones after a first call has built the estimator, and
its optimizer is then started afresh; L2 (``alpha``) is off, as in every other implementation.
"""

import warnings

import numpy as np

from .base import Implementation, Unavailable, require


class SklearnImpl(Implementation):
    name = "sklearn"
    label = "scikit-learn MLP"

    def __init__(self, workload, X, y, weights, training=True):
        super().__init__(workload, X, y, weights, training)
        require("sklearn", "the scikit-learn peer")
        from sklearn.neural_network import MLPClassifier

        if workload.has_batchnorm or workload.has_dropout:
            raise Unavailable("scikit-learn's MLP has no BatchNorm or dropout")
        opt = workload.optimizer
        if opt.name not in ("sgd", "adam"):
            raise Unavailable(f"scikit-learn's MLP has no {opt.name}")
        hidden = [spec for spec in workload.layers[:-1]]
        if len({spec[2] for spec in hidden}) != 1:
            raise Unavailable("scikit-learn's MLP uses one activation for all hidden layers")
        solver = {"solver": "sgd", "momentum": 0.0, "nesterovs_momentum": False,
                  "learning_rate": "constant"} if opt.name == "sgd" else {
            "solver": "adam", "beta_1": opt.settings["beta_1"],
            "beta_2": opt.settings["beta_2"], "epsilon": opt.settings["epsilon"]}
        self.clf = MLPClassifier(
            hidden_layer_sizes=[spec[1] for spec in hidden], activation=hidden[0][2],
            alpha=0.0, batch_size=workload.batch, learning_rate_init=opt.lr, shuffle=True,
            random_state=np.random.RandomState(workload.seed), **solver)
        self.classes = np.arange(workload.n_classes)
        self.X, self.y = X, y.astype(np.int64)
        self.clf.partial_fit(X[:workload.batch], self.y[:workload.batch], classes=self.classes)
        self.clf.coefs_ = [w.copy() for w in weights[0::2]]
        self.clf.intercepts_ = [b.copy() for b in weights[1::2]]
        del self.clf._optimizer

    def train_epoch(self, shuffle=True):
        self.clf.shuffle = shuffle
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.clf.partial_fit(self.X, self.y)

    def predict_proba(self, X):
        p = self.clf.predict_proba(X)
        return p[:, 1:] if self.workload.loss == "bce" else p
