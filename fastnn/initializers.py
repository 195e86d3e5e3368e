"""Weight initializers, with Keras's names and formulas.

For a kernel of shape (fan_in, fan_out):

    zeros, ones, constant(value)
    random_normal     N(mean=0, stddev=0.05)
    random_uniform    U(-0.05, 0.05)
    glorot_uniform    U(-l, l),  l = sqrt(6 / (fan_in + fan_out))
    glorot_normal     truncated N(0, s),  s = sqrt(2 / (fan_in + fan_out)) / 0.8796
    he_uniform        U(-l, l),  l = sqrt(6 / fan_in)
    he_normal         truncated N(0, s),  s = sqrt(2 / fan_in) / 0.8796
    lecun_uniform     U(-l, l),  l = sqrt(3 / fan_in)
    lecun_normal      truncated N(0, s),  s = sqrt(1 / fan_in) / 0.8796

The truncated normals are cut at two standard deviations; the 0.8796 (Keras's 0.879625...) is
the standard deviation of a unit normal truncated there, so the variance is the stated one.
``"auto"`` picks He for the ReLU family, LeCun for SELU and Glorot otherwise.
"""

import numpy as np

from . import activations
from .checks import choice, number

TRUNCATED_STD = 0.87962566103423978


def truncated_normal(rng, shape, stddev, mean=0.0):
    """N(mean, stddev) cut at two standard deviations, by redrawing the values outside."""
    values = rng.standard_normal(shape)
    outside = np.abs(values) > 2.0
    while outside.any():
        values[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(values) > 2.0
    return mean + stddev * values


class Initializer:
    """Base class: ``init(shape, rng)`` returns a float64 array of ``shape``."""

    def __call__(self, shape, rng):
        raise NotImplementedError

    def get_config(self):
        return {"name": self.name, **vars(self)}


class Constant(Initializer):
    name = "constant"

    def __init__(self, value=0.0):
        self.value = number("Constant value", value)

    def __call__(self, shape, rng):
        return np.full(shape, self.value)


class Zeros(Constant):
    name = "zeros"

    def __init__(self):
        super().__init__(0.0)

    def get_config(self):
        return {"name": self.name}


class Ones(Constant):
    name = "ones"

    def __init__(self):
        super().__init__(1.0)

    def get_config(self):
        return {"name": self.name}


class RandomNormal(Initializer):
    name = "random_normal"

    def __init__(self, mean=0.0, stddev=0.05):
        self.mean = number("RandomNormal mean", mean)
        self.stddev = number("RandomNormal stddev", stddev, low=0.0)

    def __call__(self, shape, rng):
        return rng.normal(self.mean, self.stddev, shape)


class RandomUniform(Initializer):
    name = "random_uniform"

    def __init__(self, minval=-0.05, maxval=0.05):
        self.minval = number("RandomUniform minval", minval)
        self.maxval = number("RandomUniform maxval", maxval, low=self.minval)

    def __call__(self, shape, rng):
        return rng.uniform(self.minval, self.maxval, shape)


class VarianceScaling(Initializer):
    """Variance scale / fan, where fan is fan_in or the mean of fan_in and fan_out."""

    def __init__(self, scale, fan, distribution):
        self.scale, self.fan, self.distribution = scale, fan, distribution

    def __call__(self, shape, rng):
        fan_in, fan_out = (shape[0], shape[1]) if len(shape) == 2 else (shape[0], shape[0])
        n = fan_in if self.fan == "fan_in" else (fan_in + fan_out) / 2.0
        variance = self.scale / max(1.0, n)
        if self.distribution == "uniform":
            limit = np.sqrt(3.0 * variance)
            return rng.uniform(-limit, limit, shape)
        return truncated_normal(rng, shape, np.sqrt(variance) / TRUNCATED_STD)

    def get_config(self):
        return {"name": self.name}


class GlorotUniform(VarianceScaling):
    name = "glorot_uniform"

    def __init__(self):
        super().__init__(1.0, "fan_avg", "uniform")


class GlorotNormal(VarianceScaling):
    name = "glorot_normal"

    def __init__(self):
        super().__init__(1.0, "fan_avg", "normal")


class HeUniform(VarianceScaling):
    name = "he_uniform"

    def __init__(self):
        super().__init__(2.0, "fan_in", "uniform")


class HeNormal(VarianceScaling):
    name = "he_normal"

    def __init__(self):
        super().__init__(2.0, "fan_in", "normal")


class LecunUniform(VarianceScaling):
    name = "lecun_uniform"

    def __init__(self):
        super().__init__(1.0, "fan_in", "uniform")


class LecunNormal(VarianceScaling):
    name = "lecun_normal"

    def __init__(self):
        super().__init__(1.0, "fan_in", "normal")


INITIALIZERS = {cls.name: cls for cls in (
    Zeros, Ones, Constant, RandomNormal, RandomUniform, GlorotUniform, GlorotNormal,
    HeUniform, HeNormal, LecunUniform, LecunNormal)}


def auto_for(activation):
    """The usual advice: He for the ReLU family, LeCun for SELU, Glorot otherwise."""
    name = activations.resolve(activation)
    if name in activations.RELU_FAMILY:
        return "he_uniform"
    if name == "selu":
        return "lecun_normal"
    return "glorot_uniform"


def get(spec, activation=None):
    """An Initializer from a name ("auto" resolved for ``activation``), a config dict or an
    Initializer; ValueError if unknown."""
    if isinstance(spec, Initializer):
        return spec
    config = dict(spec) if isinstance(spec, dict) else {"name": spec}
    name = config.pop("name", None)
    key = choice("initializer", name.lower() if isinstance(name, str) else name,
                 ["auto", *INITIALIZERS])
    return INITIALIZERS[auto_for(activation) if key == "auto" else key](**config)
