"""Forward and backward passes over a plan: the op table that describes any sequential network.

A plan is two tables with one row per op (built by fastnn.plan):
  ``ops``  int64  (n_ops, N_INT):  KIND, ACT, N_IN, N_OUT, P_OFF, S_OFF, A_OFF, PIECES, FLAGS,
                                   W_OFF
  ``opf``  float  (n_ops, N_FLOAT): ALPHA (the activation's parameter), then per-kind settings:
                                   Dense and Maxout: L1, L2 (the kernel regularizer);
                                   Dropout: RATE; BatchNormalization: MOMENTUM, EPSILON
Op i reads op i-1's output (op 0 reads the batch x) and writes its own output, a (B, N_OUT)
C-contiguous view of the flat activation workspace at A_OFF; the backward pass keeps dL/d(output)
of op i in the same place of a second workspace. Parameters are read at P_OFF in the flat
parameter buffer (gradients at the same offset of the gradient buffer), non-trainable state at
S_OFF of the state buffer. An op that needs scratch space (Maxout's pre-activations, BatchNorm's
batch statistics, a zero bias for Activation) has it at W_OFF of both workspaces. PIECES is
Maxout's number of affine pieces, FLAGS BatchNorm's CENTER/SCALE bits. Because every
architecture is a table, one compiled function serves them all.

Dropout masks are a pure function of (seed, step, op index, element index): see
fastnn/kernels/random.py. ``step`` is the update step the batch belongs to.
"""

from ._jit import kernel
from .activations import activate, activation_backward
from .batchnorm import batchnorm_backward, batchnorm_forward, batchnorm_update_running
from .dense import dense_backward, dense_forward
from .dropout import dropout_apply
from .maxout import maxout_backward, maxout_forward
from .prelu import prelu_backward, prelu_forward
from .random import stream_key
from .views import matrix_view

# Op kinds.
DENSE, ACTIVATION, DROPOUT, BATCHNORM, PRELU, MAXOUT = range(6)

# Integer columns.
KIND, ACT, N_IN, N_OUT, P_OFF, S_OFF, A_OFF, PIECES, FLAGS, W_OFF = range(10)
N_INT = 10
# Float columns (the meaning of 1 and 2 depends on the kind).
ALPHA = 0
L1, L2 = 1, 2
RATE = 1
MOMENTUM, EPSILON = 1, 2
N_FLOAT = 4
# Scratch values BatchNorm keeps per feature (mean, variance, 1/std, gamma/std).
BATCHNORM_SCRATCH = 4


@kernel
def rows_view(buffer, start, rows, width):
    """The (rows, width) C-contiguous view of a flat workspace starting at ``start``."""
    return matrix_view(buffer, start, rows, width)


@kernel
def op_view(buffer, ops, i, rows):
    """Op i's (rows, N_OUT) slice of a flat workspace."""
    return rows_view(buffer, ops[i, A_OFF], rows, ops[i, N_OUT])


@kernel
def scratch_view(buffer, ops, i, size):
    """The first ``size`` values of op i's scratch in a flat workspace."""
    return buffer[ops[i, W_OFF]:ops[i, W_OFF] + size]


@kernel
def copy_into(src, dst):
    rows, cols = src.shape
    for r in range(rows):
        for c in range(cols):
            dst[r, c] = src[r, c]


@kernel
def forward(ops, opf, params, state, x, acts, training, seed, step):
    """Run the network on the batch x; return the last op's output (a view of ``acts``).
    ``training`` selects batch statistics and dropout; ``seed`` and ``step`` pick the masks."""
    rows = x.shape[0]
    inp = x
    for i in range(ops.shape[0]):
        out = op_view(acts, ops, i, rows)
        kind = ops[i, KIND]
        n_out = ops[i, N_OUT]
        p_off = ops[i, P_OFF]
        if kind == DENSE:
            dense_forward(inp, params, p_off, ops[i, N_IN], n_out, ops[i, ACT], opf[i, ALPHA],
                          out)
        elif kind == ACTIVATION:
            zero_bias = scratch_view(acts, ops, i, n_out)
            zero_bias[:] = 0.0
            copy_into(inp, out)
            activate(ops[i, ACT], out, zero_bias, opf[i, ALPHA])
        elif kind == DROPOUT:
            if training and opf[i, RATE] > 0.0:
                dropout_apply(inp, out, opf[i, RATE], stream_key(seed, step, i))
            else:
                copy_into(inp, out)
        elif kind == BATCHNORM:
            batchnorm_forward(inp, params, p_off, ops[i, FLAGS], state, ops[i, S_OFF],
                              opf[i, EPSILON], training,
                              scratch_view(acts, ops, i, BATCHNORM_SCRATCH * n_out), out)
        elif kind == PRELU:
            prelu_forward(inp, params[p_off:p_off + n_out], out)
        elif kind == MAXOUT:
            pieces = ops[i, PIECES]
            z = rows_view(acts, ops[i, W_OFF], rows, n_out * pieces)
            maxout_forward(inp, params, p_off, ops[i, N_IN], n_out, pieces, z, out)
        inp = out
    return inp


@kernel
def backward(ops, opf, params, grads, state, x, acts, deltas, fused_output, seed, step):
    """Back-propagate dL/d(output), already in the last op's slot of ``deltas``, to every
    parameter's gradient. With ``fused_output`` that slot already holds dL/dz of the last op
    (the loss kernel folded in the output activation's derivative). ``seed`` and ``step`` must
    be the forward's, so that dropout applies the same masks."""
    rows = x.shape[0]
    last = ops.shape[0] - 1
    for i in range(last, -1, -1):
        out = op_view(acts, ops, i, rows)
        d_out = op_view(deltas, ops, i, rows)
        need_dx = i > 0
        inp = op_view(acts, ops, i - 1, rows) if need_dx else x
        d_in = op_view(deltas, ops, i - 1, rows) if need_dx else d_out
        kind = ops[i, KIND]
        n_out = ops[i, N_OUT]
        p_off = ops[i, P_OFF]
        fused = fused_output and i == last
        if kind == DENSE:
            if not fused:
                activation_backward(ops[i, ACT], out, d_out, opf[i, ALPHA])
            dense_backward(inp, d_out, params, grads, p_off, ops[i, N_IN], n_out, d_in, need_dx)
        elif kind == ACTIVATION:
            if need_dx:
                copy_into(d_out, d_in)
                if not fused:
                    activation_backward(ops[i, ACT], out, d_in, opf[i, ALPHA])
        elif kind == DROPOUT:
            if need_dx:
                if opf[i, RATE] > 0.0:
                    dropout_apply(d_out, d_in, opf[i, RATE], stream_key(seed, step, i))
                else:
                    copy_into(d_out, d_in)
        elif kind == BATCHNORM:
            batchnorm_backward(inp, d_out, params, grads, p_off, ops[i, FLAGS],
                               scratch_view(acts, ops, i, BATCHNORM_SCRATCH * n_out),
                               scratch_view(deltas, ops, i, 2 * n_out), d_in, need_dx)
        elif kind == PRELU:
            prelu_backward(inp, d_out, params[p_off:p_off + n_out], grads[p_off:p_off + n_out],
                           d_in, need_dx)
        elif kind == MAXOUT:
            pieces = ops[i, PIECES]
            z = rows_view(acts, ops[i, W_OFF], rows, n_out * pieces)
            dz = rows_view(deltas, ops[i, W_OFF], rows, n_out * pieces)
            maxout_backward(inp, d_out, z, dz, params, grads, p_off, ops[i, N_IN], n_out, pieces,
                            d_in, need_dx)


@kernel
def update_state(ops, opf, state, acts, rows):
    """After a training step: fold each BatchNorm op's batch statistics (left in its scratch by
    the forward pass of ``rows`` rows) into its running statistics."""
    for i in range(ops.shape[0]):
        if ops[i, KIND] == BATCHNORM:
            batchnorm_update_running(
                state, ops[i, S_OFF],
                scratch_view(acts, ops, i, BATCHNORM_SCRATCH * ops[i, N_OUT]), rows,
                opf[i, MOMENTUM])
