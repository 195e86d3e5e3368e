"""Weight penalties on the kernels of Dense and Maxout ops (Keras's kernel_regularizer).

For an op with coefficients l1 = opf[L1], l2 = opf[L2] and kernel W (biases are not penalised):

    penalty  R(W) = l1 sum |w| + l2 sum w^2
    gradient dR/dw = l1 sign(w) + 2 l2 w         (sign(0) = 0)

The reported loss is the data loss plus the sum of every op's penalty, as Keras reports it.
"""

from ._jit import kernel
from .network import DENSE, KIND, L1, L2, MAXOUT, N_IN, N_OUT, P_OFF, PIECES


@kernel
def regularization_penalty(ops, opf, params, grads, add_gradient):
    """The total penalty of the current parameters; with ``add_gradient`` its gradient is added
    to ``grads`` (which must already hold the data loss's gradient)."""
    total = 0.0
    for i in range(ops.shape[0]):
        kind = ops[i, KIND]
        l1 = opf[i, L1]
        l2 = opf[i, L2]
        if (kind != DENSE and kind != MAXOUT) or (l1 == 0.0 and l2 == 0.0):
            continue
        size = ops[i, N_IN] * ops[i, N_OUT] * (ops[i, PIECES] if kind == MAXOUT else 1)
        start = ops[i, P_OFF]
        abs_sum = 0.0
        sq_sum = 0.0
        for k in range(start, start + size):
            w = params[k]
            abs_sum += abs(w)
            sq_sum += w * w
            if add_gradient:
                sign = 1.0 if w > 0.0 else (-1.0 if w < 0.0 else 0.0)
                grads[k] += l1 * sign + 2.0 * l2 * w
        total += l1 * abs_sum + l2 * sq_sum
    return total
