"""Weight penalties on the kernels of Dense and Maxout ops (Keras's kernel_regularizer).

For an op with coefficients l1 = opf[OPF.l1], l2 = opf[OPF.l2] and kernel W (biases are not
penalised):

    penalty  R(W) = l1 sum |w| + l2 sum w^2
    gradient dR/dw = l1 sign(w) + 2 l2 w         (sign(0) = 0)

The reported loss is the data loss plus the sum of every op's penalty, as Keras reports it.
``penalty_gradient`` is the per-weight formula both backends use; the sums are reductions each
backend does its own way.
"""

from numba.core import types

from ._jit import kernel
from .network import DENSE, MAXOUT, OPF, OPS
from .table import formula, switch

# The "penalty" family of fastnn/kernels/kinds.py: a network with at least one penalised kernel.
WEIGHT_PENALTY = 1


@formula
def penalty_gradient(w, l1, l2):
    """dR/dw = l1 sign(w) + 2 l2 w."""
    sign = 1.0 if w > 0.0 else (-1.0 if w < 0.0 else 0.0)
    return l1 * sign + 2.0 * l2 * w



@formula
def penalized_span(ops, opf, i):
    """(first weight, number of weights, l1, l2) of op i's penalised kernel; 0 weights when the
    op has no regularizer."""
    kind = ops[i, OPS.kind]
    l1 = opf[i, OPF.l1]
    l2 = opf[i, OPF.l2]
    if (kind != DENSE and kind != MAXOUT) or (l1 == 0.0 and l2 == 0.0):
        return ops[i, OPS.p_off], 0, l1, l2
    pieces = ops[i, OPS.pieces] if kind == MAXOUT else 1
    return ops[i, OPS.p_off], ops[i, OPS.n_in] * ops[i, OPS.n_out] * pieces, l1, l2


@kernel
def regularization_penalty(network, add_gradient):
    """The total penalty of the current parameters; with ``add_gradient`` its gradient is added
    to ``grads`` (which must already hold the data loss's gradient)."""
    ops, opf, params, grads = network.ops, network.opf, network.params, network.grads
    total = 0.0
    for i in range(ops.shape[0]):
        start, size, l1, l2 = penalized_span(ops, opf, i)
        if size == 0:
            continue
        abs_sum = 0.0
        sq_sum = 0.0
        for k in range(start, start + size):
            w = params[k]
            abs_sum += abs(w)
            sq_sum += w * w
            if add_gradient:
                grads[k] += penalty_gradient(w, l1, l2)
        total += l1 * abs_sum + l2 * sq_sum
    return total


def _penalty(network, add_gradient):
    return regularization_penalty(network, add_gradient)


_penalty_cases = switch([(WEIGHT_PENALTY, _penalty)], "penalty", returns=types.float64)


@formula
def step_penalty(network, add_gradient):
    """``regularization_penalty`` in a training step: 0.0, compiling nothing, when
    ``network.kinds`` says that no op has a penalty."""
    return _penalty_cases(network.kinds, WEIGHT_PENALTY, network, add_gradient)
