"""Layers: each one describes itself to the plan (fastnn.plan) as one op of the compiled network.

A layer is built once its input width is known; it then reports its output width, the shapes
of its trainable parameters (stored in the model's flat buffer in that order) and the size of its
non-trainable state. After the model allocates the buffers, the layer holds views into them
(``Dense.kernel``, ``Dense.bias``), so writing to a view writes the model's parameters.
"""

from . import activations, initializers
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

    def state_size(self):
        """Number of non-trainable state values (e.g. running statistics)."""
        return 0

    def initialize(self, rng):
        """Fill the parameter views (set by the model) with initial values from ``rng``."""

    def op_settings(self):
        """(activation code, [float settings]) for the op row of this layer."""
        return activations.code_of("linear"), [0.0]

    def get_config(self):
        return {"class": type(self).__name__, "name": self.name}


class Dense(Layer):
    """Fully connected layer: y = activation(x @ kernel + bias), kernel of shape (n_in, units)."""

    kind = network.DENSE

    def __init__(self, units, activation=None, kernel_initializer="auto",
                 bias_initializer="zeros", name=None):
        super().__init__(name)
        if isinstance(units, bool) or not isinstance(units, int) or units < 1:
            raise ValueError(f"Dense units must be a positive integer, got {units!r}")
        self.units = units
        self.activation = activations.resolve(activation)
        self.kernel_initializer = initializers.get(kernel_initializer, self.activation)
        self.bias_initializer = initializers.get(bias_initializer, self.activation)
        self.kernel = None
        self.bias = None

    def output_width(self, n_in):
        return self.units

    def parameter_shapes(self):
        return [("kernel", (self.n_in, self.units)), ("bias", (self.units,))]

    def initialize(self, rng):
        self.kernel[...] = self.kernel_initializer(self.kernel.shape, rng)
        self.bias[...] = self.bias_initializer(self.bias.shape, rng)

    def op_settings(self):
        return (activations.code_of(self.activation),
                [activations.default_parameter(self.activation)])

    def get_config(self):
        return {**super().get_config(), "units": self.units, "activation": self.activation,
                "kernel_initializer": self.kernel_initializer.get_config(),
                "bias_initializer": self.bias_initializer.get_config()}


LAYERS = {cls.__name__: cls for cls in (Dense,)}


def from_config(config):
    """A new layer from ``get_config()`` output; ValueError for an unknown class."""
    config = dict(config)
    name = config.pop("class", None)
    if name not in LAYERS:
        raise ValueError(f"unknown layer class {name!r}")
    return LAYERS[name](**config)
