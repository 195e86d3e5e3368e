"""PReLU: a ReLU whose negative slope is a trainable parameter, one per unit.

    forward   y_ij = x_ij if x_ij > 0 else a_j x_ij
    backward  dL/da_j = sum_i dy_ij x_ij [x_ij <= 0],   dx_ij = dy_ij if x_ij > 0 else a_j dy_ij

The per-element formulas are the ones both backends use; the slope gradient's column sums are
a reduction each backend does its own way.
"""

from ._jit import kernel
from .table import formula


@formula
def prelu(x, a):
    return x if x > 0.0 else a * x


@formula
def prelu_input_gradient(dy, x, a):
    return dy if x > 0.0 else a * dy


@formula
def prelu_slope_term(dy, x):
    """The element's share of dL/da: dy x where x <= 0."""
    return dy * x if x <= 0.0 else 0.0


@kernel
def prelu_forward(x, alpha, y):
    rows, cols = x.shape
    for i in range(rows):
        for j in range(cols):
            y[i, j] = prelu(x[i, j], alpha[j])


@kernel
def prelu_backward(x, dy, alpha, grad_alpha, dx, need_dx):
    """dL/da into ``grad_alpha`` (overwritten); dx when ``need_dx``."""
    rows, cols = x.shape
    for j in range(cols):
        grad_alpha[j] = 0.0
    for i in range(rows):
        for j in range(cols):
            grad_alpha[j] += prelu_slope_term(dy[i, j], x[i, j])
    if need_dx:
        for i in range(rows):
            for j in range(cols):
                dx[i, j] = prelu_input_gradient(dy[i, j], x[i, j], alpha[j])
