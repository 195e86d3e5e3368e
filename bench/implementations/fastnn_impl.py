"""fastnn: the model as a user writes it, trained by ``fit(epochs=1)`` and run by ``predict``.

A workload whose layer or optimizer fastnn does not have yet is Unavailable ("not available
yet"), never replaced by something else.
"""

import fastnn as fn

from .base import Implementation, Unavailable

OPTIMIZER_CLASSES = {"sgd": "SGD", "adam": "Adam", "rmsprop": "RMSprop"}
LOSSES = {"bce": "binary_crossentropy", "scce": "sparse_categorical_crossentropy"}


def _feature(name):
    feature = getattr(fn, name, None)
    if feature is None:
        raise Unavailable(f"not available yet: fastnn has no {name}")
    return feature


def build_layers(workload):
    from ..workloads import BN_EPSILON, BN_MOMENTUM

    layers = []
    for spec in workload.layers:
        kind = spec[0]
        if kind == "dense":
            layers.append(fn.Dense(spec[1], activation=spec[2]))
        elif kind == "batchnorm":
            layers.append(_feature("BatchNormalization")(momentum=BN_MOMENTUM,
                                                         epsilon=BN_EPSILON))
        elif kind == "activation":
            layers.append(_feature("Activation")(spec[1]))
        elif kind == "dropout":
            layers.append(_feature("Dropout")(spec[1]))
        else:
            raise ValueError(f"unknown layer kind {kind!r}")
    return layers


def build_optimizer(opt):
    cls = _feature(OPTIMIZER_CLASSES[opt.name])
    return cls(learning_rate=opt.lr, **opt.settings)


def build_model(workload, weights, training=True):
    """The fastnn model of ``workload`` holding ``weights`` (dense kernels and biases),
    compiled for training when ``training``."""
    model = fn.Sequential(build_layers(workload), input_dim=workload.d, seed=workload.seed)
    if training:
        model.compile(optimizer=build_optimizer(workload.optimizer), loss=LOSSES[workload.loss])
    dense = [layer for layer in model.layers if isinstance(layer, fn.Dense)]
    for layer, kernel, bias in zip(dense, weights[0::2], weights[1::2]):
        layer.kernel[...] = kernel
        layer.bias[...] = bias
    return model


class FastnnImpl(Implementation):
    name = "fastnn"
    label = "fastnn"
    is_fastnn = True

    def __init__(self, workload, X, y, weights, training=True):
        super().__init__(workload, X, y, weights, training)
        self.model = build_model(workload, weights, training)
        self.X, self.y = X, y

    def train_epoch(self, shuffle=True):
        self.model.fit(self.X, self.y, epochs=1, batch_size=self.workload.batch,
                       shuffle=shuffle)

    def predict_proba(self, X):
        return self.model.predict(X)


def available_features():
    """{feature: present?} for the fastnn features the workloads need."""
    names = ["Adam", "RMSprop", "BatchNormalization", "Activation", "Dropout"]
    return {name: hasattr(fn, name) for name in names}

