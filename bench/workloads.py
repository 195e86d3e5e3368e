"""The benchmark workloads B1-B4 (training), their data, initial weights and FLOP counts.

Every implementation of a workload trains the same network, on the same data, from the same
initial weights (made here, not by any one framework), so their losses can be compared. The
data are synthetic: X ~ N(0, 1) in float32, labels from a fixed random "teacher" network
(d-32(tanh)-k), so the task is learnable. Binary labels are the teacher's logit above its
median (balanced classes); multi-class labels are the argmax of its k outputs.

A network is a tuple of layer specs, each a tuple whose first item is the kind:
    ("dense", units, activation)    y = f(x W + b)
    ("batchnorm",)                  BatchNormalization over the batch (Keras defaults)
    ("activation", name)            an activation as its own layer (after batchnorm)
    ("dropout", rate)               inverted dropout
The last layer is always dense with the output activation that the loss expects (sigmoid for
"bce", softmax for "scce"); peers that fuse it into the loss do so (BCE-with-logits,
cross-entropy on logits).
"""

from dataclasses import dataclass, replace

import numpy as np

# BatchNormalization settings every implementation uses (Keras's defaults; PyTorch's momentum
# is 1 - 0.99 = 0.01 and its epsilon is set to 1e-3).
BN_MOMENTUM = 0.99
BN_EPSILON = 1e-3


@dataclass(frozen=True)
class Optimizer:
    """name: "sgd", "adam" or "rmsprop"; settings in PyTorch's meaning (RMSprop's rho is
    PyTorch's alpha; epsilon is added to the root, as PyTorch does)."""

    name: str
    lr: float
    options: tuple = ()  # (name, value) pairs

    @property
    def settings(self):
        return dict(self.options)


SGD = Optimizer("sgd", 0.01)
ADAM = Optimizer("adam", 1e-3, (("beta_1", 0.9), ("beta_2", 0.999), ("epsilon", 1e-7)))
RMSPROP = Optimizer("rmsprop", 1e-3, (("rho", 0.9), ("epsilon", 1e-7)))


@dataclass(frozen=True)
class Workload:
    id: str
    title: str
    n: int
    d: int
    layers: tuple
    loss: str  # "bce" or "scce"
    batch: int
    optimizer: Optimizer
    # Relative difference allowed between two implementations' full-data losses after one
    # unshuffled epoch from the same weights (larger where dropout masks differ by framework).
    loss_rtol: float = 0.02
    seed: int = 0

    @property
    def n_classes(self):
        return self.layers[-1][1] if self.loss == "scce" else 2

    @property
    def dense_shapes(self):
        """[(n_in, n_out), ...] of the dense layers, in order."""
        shapes, width = [], self.d
        for layer in self.layers:
            if layer[0] == "dense":
                shapes.append((width, layer[1]))
                width = layer[1]
        return shapes

    @property
    def has_batchnorm(self):
        return any(layer[0] == "batchnorm" for layer in self.layers)

    @property
    def has_dropout(self):
        return any(layer[0] == "dropout" for layer in self.layers)

    @property
    def n_batches(self):
        return -(-self.n // self.batch)

    def scaled(self, n):
        """The same workload on ``n`` rows (for quick and smoke runs)."""
        return replace(self, n=int(n))

    def with_width(self, width):
        """The workload with every hidden dense layer ``width`` units wide (the width sweep)."""
        hidden = tuple(("dense", width, layer[2]) if layer[0] == "dense" else layer
                       for layer in self.layers[:-1])
        return replace(self, layers=hidden + self.layers[-1:], id=f"{self.id}{width}")

    def flops_per_epoch(self):
        """Floating-point operations of the matrix products of one training epoch: per dense
        layer 2 n_in n_out per row forward, as many for dW, and as many for dx except in the
        first layer (the input needs no gradient)."""
        total = 0
        for i, (n_in, n_out) in enumerate(self.dense_shapes):
            products = 3 if i > 0 else 2
            total += products * 2 * n_in * n_out
        return total * self.n

    def inference_flops_per_row(self):
        return sum(2 * n_in * n_out for n_in, n_out in self.dense_shapes)


B1 = Workload("B1", "online learning", 20000, 16,
              (("dense", 32, "tanh"), ("dense", 32, "tanh"), ("dense", 1, "sigmoid")),
              "bce", 1, SGD)
B2 = Workload("B2", "tabular", 50000, 32,
              (("dense", 64, "relu"), ("dense", 64, "relu"), ("dense", 1, "sigmoid")),
              "bce", 32, ADAM)
B3 = Workload("B3", "MNIST-shaped", 60000, 784,
              (("dense", 256, "relu"), ("dense", 128, "relu"), ("dense", 10, "softmax")),
              "scce", 128, ADAM)
B4 = Workload("B4", "BN + dropout", 60000, 784,
              (("dense", 512, "linear"), ("batchnorm",), ("activation", "relu"),
               ("dropout", 0.2),
               ("dense", 512, "linear"), ("batchnorm",), ("activation", "relu"),
               ("dropout", 0.2),
               ("dense", 10, "softmax")),
              "scce", 256, RMSPROP, loss_rtol=0.05)
TRAINING = (B1, B2, B3, B4)
BY_ID = {w.id: w for w in TRAINING}

# The width sweep: B2 (d=32, two hidden ReLU layers, batch 32, Adam) with other hidden widths.
SWEEP_BASE = replace(B2, id="W", title="width sweep")
SWEEP_WIDTHS = (8, 16, 32, 64, 128, 256, 512, 1024)

# Shapes that are not powers of two, against JAX: (id, what is awkward, workload). Each trains
# on SHAPE_ROWS rows at its scale (report.py).
SHAPES = (
    ("S1", "odd widths", Workload("S1", "odd widths", 8192, 37,
                                  (("dense", 61, "relu"), ("dense", 29, "relu"),
                                   ("dense", 1, "sigmoid")), "bce", 32, ADAM)),
    ("S2", "deep narrow stack", Workload("S2", "deep narrow stack", 8192, 16,
                                         tuple(("dense", 12, "tanh") for _ in range(8))
                                         + (("dense", 1, "sigmoid"),), "bce", 16, ADAM)),
    ("S3", "batch 3", Workload("S3", "batch 3", 8192, 32, B2.layers, "bce", 3, ADAM)),
    ("S4", "batch 7", Workload("S4", "batch 7", 8192, 32, B2.layers, "bce", 7, ADAM)),
    ("S5", "wide first layer", Workload("S5", "wide first layer", 8192, 2000,
                                        (("dense", 33, "relu"), ("dense", 5, "softmax")),
                                        "scce", 64, ADAM)),
    ("S6", "odd everything", Workload("S6", "odd everything", 8192, 101,
                                      (("dense", 250, "relu"), ("dense", 75, "relu"),
                                       ("dense", 5, "softmax")), "scce", 50, RMSPROP)),
)

# Rows per workload at each scale: "full" is the defined size, "tiny" is for the smoke tests.
SCALES = {"full": None, "quick": 0.2, "tiny": 256}


def at_scale(workload, scale):
    """The workload at a named scale ("full", "quick": 20% of the rows, "tiny": 256 rows)."""
    factor = SCALES[scale]
    if factor is None:
        return workload
    n = factor if isinstance(factor, int) else max(workload.batch, int(workload.n * factor))
    return workload.scaled(n)


def make_data(workload):
    """(X float32 (n, d), y) with y float32 0/1 labels for "bce", int64 classes for "scce"."""
    rng = np.random.default_rng([workload.seed, workload.d, workload.n_classes])
    X = rng.standard_normal((workload.n, workload.d)).astype(np.float32)
    k = 1 if workload.loss == "bce" else workload.n_classes
    w1 = rng.standard_normal((workload.d, 32)) / np.sqrt(workload.d)
    w2 = rng.standard_normal((32, k))
    logits = np.tanh(X.astype(np.float64) @ w1 * 2.0) @ w2
    if workload.loss == "bce":
        return X, (logits[:, 0] > np.median(logits[:, 0])).astype(np.float32)
    return X, logits.argmax(axis=1).astype(np.int64)


def initial_weights(workload):
    """Glorot-uniform kernels (n_in, n_out) and zero biases, float32: [W1, b1, W2, b2, ...]
    in dense-layer order (BatchNorm starts at gamma = 1, beta = 0 everywhere)."""
    rng = np.random.default_rng([workload.seed, 7])
    weights = []
    for n_in, n_out in workload.dense_shapes:
        limit = np.sqrt(6.0 / (n_in + n_out))
        weights.append(rng.uniform(-limit, limit, (n_in, n_out)).astype(np.float32))
        weights.append(np.zeros(n_out, dtype=np.float32))
    return weights


def mean_loss(workload, probabilities, y):
    """The workload's mean loss (float64) from predicted probabilities: binary cross-entropy of
    the one output column, or the cross-entropy of the true class; probabilities are clipped to
    [1e-7, 1 - 1e-7] as Keras (and fastnn) do."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-7, 1 - 1e-7)
    if workload.loss == "bce":
        p = p.reshape(-1)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    return float(-np.mean(np.log(p[np.arange(len(y)), y])))
