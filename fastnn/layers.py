"""Layers: each one describes itself to the plan (fastnn.plan) as one op of the compiled network.

A layer is built once its input width is known; it then reports its output width, the shapes
of its trainable parameters (stored in the model's flat buffer in that order), the shapes of its
non-trainable state (stored in the model's flat state buffer) and the scratch space its kernels
need in the workspace. After the model allocates the buffers, the layer holds views into them
(``Dense.kernel``, ``BatchNormalization.moving_mean``, ...), so writing to a view writes the
model's values. The formulas are in the kernels (fastnn/kernels/) and docs/layers/.
"""

import numpy as np

from . import activations, initializers
from . import regularizers as regularizers_mod
from .checks import choice, number, positive_int
from .kernels import batchnorm as batchnorm_kernels
from .kernels import network


class Layer:
    """Base class. Subclasses set ``kind`` (the op kind) and implement the methods below."""

    kind = None

    def __init__(self, name=None):
        self.name = name
        self.n_in = None
        self.n_out = None

    def build(self, n_in):
        """Fix the input width; return the output width."""
        self.n_in = int(n_in)
        self.n_out = self.output_width(self.n_in)
        return self.n_out

    def output_width(self, n_in):
        return n_in

    def parameter_shapes(self):
        """[(name, shape), ...] of the trainable parameters, in flat-buffer order."""
        return []

    def state_shapes(self):
        """[(name, shape), ...] of the non-trainable state (e.g. running statistics)."""
        return []

    def state_size(self):
        """Number of non-trainable state values."""
        return sum(int(np.prod(shape)) for _, shape in self.state_shapes())

    def scratch_size(self, rows):
        """Workspace values the op's kernels need beyond its output, for batches of ``rows``."""
        return 0

    def kept_input_offset(self):
        """Where in its scratch the op keeps its activation's input (None: it keeps none)."""
        return None

    def initialize(self, rng):
        """Fill the parameter and state views (set by the model) with initial values."""

    def op_columns(self):
        """{column name: value} of the op's own columns (network.KIND_COLUMNS[kind])."""
        return {}

    def get_config(self):
        return {"class": type(self).__name__, "name": self.name}


class Dense(Layer):
    """Fully connected layer: y = activation(x @ kernel + bias), kernel of shape (n_in, units).
    ``kernel_regularizer`` (fn.l1, fn.l2, fn.l1_l2) adds a penalty on the kernel to the loss."""

    kind = network.DENSE

    def __init__(self, units, activation=None, kernel_initializer="auto",
                 bias_initializer="zeros", kernel_regularizer=None, name=None):
        super().__init__(name)
        self.units = positive_int("Dense units", units)
        self.activation = activations.resolve(activation)
        self.kernel_initializer = initializers.get(kernel_initializer, self.activation)
        self.bias_initializer = initializers.get(bias_initializer, self.activation)
        self.kernel_regularizer = regularizers_mod.get(kernel_regularizer)
        self.kernel = None
        self.bias = None

    def output_width(self, n_in):
        return self.units

    def parameter_shapes(self):
        return [("kernel", (self.n_in, self.units)), ("bias", (self.units,))]

    def scratch_size(self, rows):
        return rows * self.units if activations.needs_input(self.activation) else 0

    def kept_input_offset(self):
        return 0 if activations.needs_input(self.activation) else None

    def initialize(self, rng):
        self.kernel[...] = self.kernel_initializer(self.kernel.shape, rng)
        self.bias[...] = self.bias_initializer(self.bias.shape, rng)

    def op_columns(self):
        return {"act": activations.code_of(self.activation),
                "alpha": activations.default_parameter(self.activation),
                **_penalty_columns(self.kernel_regularizer)}

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "kernel_initializer": self.kernel_initializer.get_config(),
                "bias_initializer": self.bias_initializer.get_config(),
                "kernel_regularizer": _regularizer_config(self.kernel_regularizer)}


def _penalty_columns(regularizer):
    """The op's l1 and l2 columns."""
    if regularizer is None:
        return {"l1": 0.0, "l2": 0.0}
    return {"l1": regularizer.l1, "l2": regularizer.l2}


def _regularizer_config(regularizer):
    return None if regularizer is None else regularizer.get_config()


class Activation(Layer):
    """y = activation(x), element-wise (softmax: over each row): the layer form of Dense's
    ``activation=`` argument, e.g. after BatchNormalization."""

    kind = network.ACTIVATION

    def __init__(self, activation, name=None):
        super().__init__(name)
        self.activation = activations.resolve(activation)

    def scratch_size(self, rows):
        # a zero bias for the fused bias-and-activate kernel, then the input if it is kept
        kept = rows * self.n_out if activations.needs_input(self.activation) else 0
        return self.n_out + kept

    def kept_input_offset(self):
        return self.n_out if activations.needs_input(self.activation) else None

    def op_columns(self):
        return {"act": activations.code_of(self.activation),
                "alpha": activations.default_parameter(self.activation)}

    def get_config(self):
        return {**super().get_config(), "activation": self.activation}


class Dropout(Layer):
    """Inverted dropout: in training y = x * m / (1 - rate) with m ~ Bernoulli(1 - rate) per
    element; in predict and evaluate y = x. ``rate`` in [0, 1)."""

    kind = network.DROPOUT

    def __init__(self, rate, name=None):
        super().__init__(name)
        self.rate = number("Dropout rate", rate, low=0.0, high=1.0, high_open=True)

    def op_columns(self):
        return {"rate": self.rate}

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


class BatchNormalization(Layer):
    """Per-feature normalisation: batch statistics in training, running statistics in
    inference, then gamma * xhat + beta. ``momentum`` is Keras's (PyTorch's is 1 - momentum)."""

    kind = network.BATCHNORM

    def __init__(self, momentum=0.99, epsilon=1e-3, center=True, scale=True, name=None):
        super().__init__(name)
        self.momentum = number("BatchNormalization momentum", momentum, low=0.0, high=1.0)
        self.epsilon = number("BatchNormalization epsilon", epsilon, low=0.0, low_open=True)
        self.center = bool(center)
        self.scale = bool(scale)
        self.gamma = self.beta = self.moving_mean = self.moving_variance = None

    def parameter_shapes(self):
        return ([("gamma", (self.n_out,))] if self.scale else []) + \
            ([("beta", (self.n_out,))] if self.center else [])

    def state_shapes(self):
        return [("moving_mean", (self.n_out,)), ("moving_variance", (self.n_out,))]

    def scratch_size(self, rows):
        return network.BATCHNORM_SCRATCH * self.n_out

    def initialize(self, rng):
        if self.scale:
            self.gamma[...] = 1.0
        if self.center:
            self.beta[...] = 0.0
        self.moving_mean[...] = 0.0
        self.moving_variance[...] = 1.0

    def op_columns(self):
        flags = (batchnorm_kernels.CENTER if self.center else 0) | \
            (batchnorm_kernels.SCALE if self.scale else 0)
        return {"flags": flags, "momentum": self.momentum, "epsilon": self.epsilon}

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale}


class PReLU(Layer):
    """y = x if x > 0 else alpha_j x, with one trainable slope alpha_j per unit.
    ``alpha_initializer``: a number (the initial slope, default 0.25 as in PyTorch) or an
    initializer."""

    kind = network.PRELU

    def __init__(self, alpha_initializer=0.25, name=None):
        super().__init__(name)
        if isinstance(alpha_initializer, bool):
            raise ValueError(f"PReLU alpha_initializer must be a number or an initializer, got "
                             f"{alpha_initializer!r}")
        if isinstance(alpha_initializer, (int, float, np.integer, np.floating)):
            alpha_initializer = initializers.Constant(alpha_initializer)
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha = None

    def parameter_shapes(self):
        return [("alpha", (self.n_out,))]

    def initialize(self, rng):
        self.alpha[...] = self.alpha_initializer(self.alpha.shape, rng)

    def get_config(self):
        return {**super().get_config(),
                "alpha_initializer": self.alpha_initializer.get_config()}


class Maxout(Layer):
    """y_u = max_k (x @ kernel[:, u, k] + bias[u, k]) for k < pieces (Goodfellow et al. 2013).
    Each piece is initialised as a Dense kernel of shape (n_in, units)."""

    kind = network.MAXOUT

    def __init__(self, units, pieces, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, name=None):
        super().__init__(name)
        self.units = positive_int("Maxout units", units)
        self.pieces = positive_int("Maxout pieces", pieces)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers_mod.get(kernel_regularizer)
        self.kernel = None
        self.bias = None

    def output_width(self, n_in):
        return self.units

    def parameter_shapes(self):
        return [("kernel", (self.n_in, self.units, self.pieces)),
                ("bias", (self.units, self.pieces))]

    def scratch_size(self, rows):
        return rows * self.units * self.pieces  # the pre-activations of every piece

    def initialize(self, rng):
        for k in range(self.pieces):
            self.kernel[:, :, k] = self.kernel_initializer((self.n_in, self.units), rng)
            self.bias[:, k] = self.bias_initializer((self.units,), rng)

    def op_columns(self):
        return {"pieces": self.pieces, **_penalty_columns(self.kernel_regularizer)}

    def get_config(self):
        return {**super().get_config(), "units": self.units, "pieces": self.pieces,
                "kernel_initializer": self.kernel_initializer.get_config(),
                "bias_initializer": self.bias_initializer.get_config(),
                "kernel_regularizer": _regularizer_config(self.kernel_regularizer)}


LAYERS = {cls.__name__: cls for cls in (Dense, Activation, Dropout, BatchNormalization, PReLU,
                                         Maxout)}


def from_config(config):
    """A new layer from ``get_config()`` output; ValueError for an unknown class."""
    config = dict(config)
    return LAYERS[choice("layer class", config.pop("class", None), LAYERS)](**config)
