"""Activation names, their codes in the compiled kernels, and their default parameter.

The formulas and derivatives are in fastnn/kernels/activations.py and docs/math.md.
"""

from .kernels import activations as _k

# name -> (kernel code, default parameter: leaky_relu's slope, elu's alpha)
ACTIVATIONS = {
    "linear": (_k.LINEAR, 0.0),
    "sigmoid": (_k.SIGMOID, 0.0),
    "tanh": (_k.TANH, 0.0),
    "relu": (_k.RELU, 0.0),
    "leaky_relu": (_k.LEAKY_RELU, 0.01),
    "elu": (_k.ELU, 1.0),
    "selu": (_k.SELU, 0.0),
    "softplus": (_k.SOFTPLUS, 0.0),
    "softmax": (_k.SOFTMAX, 0.0),
    "step": (_k.STEP, 0.0),
}
ALIASES = {None: "linear", "identity": "linear", "logistic": "sigmoid", "leakyrelu": "leaky_relu",
           "heaviside": "step"}

RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu"})


def resolve(name):
    """Canonical activation name for ``name`` (None means linear); ValueError if unknown."""
    key = name.lower() if isinstance(name, str) else name
    key = ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}"
        )
    return key


def code_of(name):
    return ACTIVATIONS[resolve(name)][0]


def default_parameter(name):
    return ACTIVATIONS[resolve(name)][1]
