"""Forward and backward passes over a plan: the op table that describes any sequential network.

A plan is two tables with one row per op (built by fastnn.plan):
  ``ops``  int64  (n_ops, N_INT):  KIND, ACT, N_IN, N_OUT, P_OFF, S_OFF, A_OFF
  ``opf``  float  (n_ops, N_FLOAT): ALPHA (the activation's parameter), then per-kind settings
Op i reads op i-1's output (op 0 reads the batch x) and writes its own output, a (B, N_OUT)
C-contiguous view of the flat activation workspace at A_OFF; the backward pass keeps dL/d(output)
of op i in the same place of a second workspace. Parameters are read at P_OFF in the flat
parameter buffer (gradients at the same offset of the gradient buffer), non-trainable state at
S_OFF of the state buffer. Because every architecture is a table, one compiled function serves
them all.
"""

from ._jit import kernel
from .activations import activation_backward
from .dense import dense_backward, dense_forward
from .views import matrix_view

# Op kinds.
DENSE = 0

# Integer columns.
KIND, ACT, N_IN, N_OUT, P_OFF, S_OFF, A_OFF = range(7)
N_INT = 7
# Float columns.
ALPHA = 0
N_FLOAT = 4


@kernel
def op_view(buffer, ops, i, rows):
    """Op i's (rows, N_OUT) slice of a flat workspace."""
    return matrix_view(buffer, ops[i, A_OFF], rows, ops[i, N_OUT])


@kernel
def forward(ops, opf, params, state, x, acts, training):
    """Run the network on the batch x; return the last op's output (a view of ``acts``)."""
    rows = x.shape[0]
    inp = x
    for i in range(ops.shape[0]):
        out = op_view(acts, ops, i, rows)
        kind = ops[i, KIND]
        if kind == DENSE:
            dense_forward(inp, params, ops[i, P_OFF], ops[i, N_IN], ops[i, N_OUT],
                          ops[i, ACT], opf[i, ALPHA], out)
        inp = out
    return inp


@kernel
def backward(ops, opf, params, grads, state, x, acts, deltas, fused_output):
    """Back-propagate dL/d(output), already in the last op's slot of ``deltas``, to every
    parameter's gradient. With ``fused_output`` that slot already holds dL/dz of the last op
    (the loss kernel folded in the output activation's derivative)."""
    rows = x.shape[0]
    last = ops.shape[0] - 1
    for i in range(last, -1, -1):
        out = op_view(acts, ops, i, rows)
        d_out = op_view(deltas, ops, i, rows)
        need_dx = i > 0
        inp = op_view(acts, ops, i - 1, rows) if need_dx else x
        d_in = op_view(deltas, ops, i - 1, rows) if need_dx else d_out
        kind = ops[i, KIND]
        if kind == DENSE:
            if not (fused_output and i == last):
                activation_backward(ops[i, ACT], out, d_out, opf[i, ALPHA])
            dense_backward(inp, d_out, params, grads, ops[i, P_OFF], ops[i, N_IN],
                           ops[i, N_OUT], d_in, need_dx)
