"""PReLU: a ReLU whose negative slope is a trainable parameter, one per unit.

    forward   y_ij = x_ij if x_ij > 0 else a_j x_ij
    backward  dL/da_j = sum_i dy_ij x_ij [x_ij <= 0],   dx_ij = dy_ij if x_ij > 0 else a_j dy_ij
"""

from ._jit import kernel


@kernel
def prelu_forward(x, alpha, y):
    rows, cols = x.shape
    for i in range(rows):
        for j in range(cols):
            v = x[i, j]
            y[i, j] = v if v > 0.0 else alpha[j] * v


@kernel
def prelu_backward(x, dy, alpha, grad_alpha, dx, need_dx):
    """dL/da into ``grad_alpha`` (overwritten); dx when ``need_dx``."""
    rows, cols = x.shape
    for j in range(cols):
        grad_alpha[j] = 0.0
    for i in range(rows):
        for j in range(cols):
            if x[i, j] <= 0.0:
                grad_alpha[j] += dy[i, j] * x[i, j]
    if need_dx:
        for i in range(rows):
            for j in range(cols):
                dx[i, j] = dy[i, j] if x[i, j] > 0.0 else alpha[j] * dy[i, j]
