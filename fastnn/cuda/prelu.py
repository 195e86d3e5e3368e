"""PReLU on the GPU, with the formulas of fastnn/kernels/prelu.py:

    forward   y_ij = x_ij if x_ij > 0 else a_j x_ij
    backward  dL/da_j = sum_i dy_ij x_ij [x_ij <= 0],   dx_ij = dy_ij if x_ij > 0 else a_j dy_ij

The slope gradient runs one thread per unit, summing the rows in order into the gradient buffer
as the CPU does; the rest one thread per element.
"""

from numba import cuda

from ..kernels import prelu as formulas
from ._launch import device, element_of_thread, elements, grid

prelu = device(formulas.prelu)
prelu_input_gradient = device(formulas.prelu_input_gradient)
prelu_slope_term = device(formulas.prelu_slope_term)


@cuda.jit
def forward_kernel(x, rows, alpha, y):
    i, j = element_of_thread(rows, x.shape[1])
    if i < 0:
        return
    y[i, j] = prelu(x[i, j], alpha[j])


@cuda.jit
def slope_gradient_kernel(x, dy, rows, grad_alpha):
    j = cuda.grid(1)
    if j >= x.shape[1]:
        return
    grad_alpha[j] = 0.0
    for i in range(rows):
        grad_alpha[j] += prelu_slope_term(dy[i, j], x[i, j])


@cuda.jit
def input_gradient_kernel(x, dy, rows, alpha, dx):
    i, j = element_of_thread(rows, x.shape[1])
    if i < 0:
        return
    dx[i, j] = prelu_input_gradient(dy[i, j], x[i, j], alpha[j])


def forward(x, rows, alpha, y):
    forward_kernel[elements(rows, x.shape[1])](x, rows, alpha, y)


def backward(x, dy, rows, alpha, grad_alpha, dx):
    """dL/da into ``grad_alpha`` (overwritten); dx when ``dx`` is not None."""
    slope_gradient_kernel[grid(x.shape[1])](x, dy, rows, grad_alpha)
    if dx is not None:
        input_gradient_kernel[elements(rows, x.shape[1])](x, dy, rows, alpha, dx)
