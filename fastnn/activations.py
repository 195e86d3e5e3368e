"""Activation names, their codes in the compiled kernels, and their default parameter.

The names, formulas and derivatives are the table in fastnn/kernels/activations.py (see also
docs/math.md); this module resolves what users write (aliases, case, Keras's and PyTorch's
spelling of GELU's approximation) onto those names.
"""

from .checks import choice
from .kernels import activations as _k

# name -> (kernel code, default parameter: leaky_relu's slope, elu's alpha)
ACTIVATIONS = {entry.name: (code, entry.parameter) for code, entry in enumerate(_k.ACTIVATIONS)}
ALIASES = {None: "linear", "identity": "linear", "logistic": "sigmoid", "leakyrelu": "leaky_relu",
           "heaviside": "step", "swish": "silu", "gelu_approximate": "gelu_tanh"}

RELU_FAMILY = frozenset({"relu", "leaky_relu", "elu"})


def resolve(name):
    """Canonical activation name for ``name`` (None means linear); ValueError if unknown."""
    key = name.lower() if isinstance(name, str) else name
    key = ALIASES.get(key, key)
    return choice("activation", key if key in ACTIVATIONS else name, ACTIVATIONS)


def gelu(approximate=False):
    """The name of GELU with or without the tanh approximation, spelled as Keras
    (``approximate=True``/``False``) or PyTorch (``approximate="tanh"``/``"none"``) spell it:
    ``Dense(64, activation=fn.activations.gelu(approximate="tanh"))``."""
    if approximate in (True, "tanh"):
        return "gelu_tanh"
    if approximate in (False, "none"):
        return "gelu"
    raise ValueError(f"approximate must be True, False, 'tanh' or 'none', got {approximate!r}")


def code_of(name):
    return ACTIVATIONS[resolve(name)][0]


def default_parameter(name):
    return ACTIVATIONS[resolve(name)][1]


def needs_input(name):
    """True when the activation's derivative reads its input, which the layer then keeps."""
    return _k.ACTIVATIONS[code_of(name)].needs_input
