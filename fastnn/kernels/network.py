"""Forward and backward passes over a plan: the op table that describes any sequential network.

A plan is two tables with one row per op (written by fastnn.plan, read here and by fastnn/cuda),
whose columns are named once, below:
  ``ops``  int64  (n_ops, N_INT), columns ``OPS``: kind, the activation code, input and output
           widths, offsets (P_OFF parameters, S_OFF state, A_OFF output, W_OFF scratch, Z_OFF the
           kept pre-activation or -1), Maxout's pieces, BatchNorm's CENTER/SCALE flags
  ``opf``  float  (n_ops, N_FLOAT), columns ``OPF``: the activation's parameter, the kernel
           regularizer's l1 and l2, Dropout's rate, BatchNorm's momentum and epsilon
``KIND_COLUMNS`` says which columns beyond the common ones each op kind uses (its writer, the
layer, may set only those). Op i reads op i-1's output (op 0 reads the batch x) and writes its
own output, a (B, n_out) C-contiguous view of the flat activation workspace at A_OFF; the
backward pass keeps dL/d(output) of op i in the same place of a second workspace. Parameters are
read at P_OFF of the flat parameter buffer (gradients at the same offset of the gradient buffer),
non-trainable state at S_OFF of the state buffer. An op that needs scratch space (Maxout's
pre-activations, BatchNorm's batch statistics, the Activation layer's zero bias, the input of an
activation whose derivative reads it) has it at W_OFF of both workspaces. Because every
architecture is a table, one compiled function serves them all.

The compiled functions take the buffers as one record, ``Network(ops, opf, params, grads,
state, acts, deltas)``. Dropout masks are a pure function of (seed, step, op index, element
index): see fastnn/kernels/random.py. ``step`` is the update step the batch belongs to.
"""

from collections import namedtuple

from ._jit import kernel
from .activations import activate, activation_backward
from .batchnorm import batchnorm_backward, batchnorm_forward, batchnorm_update_running
from .dense import dense_backward, dense_forward
from .dropout import dropout_apply
from .maxout import maxout_backward, maxout_forward
from .prelu import prelu_backward, prelu_forward
from .random import stream_key
from .table import formula, layout
from .views import matrix_view

# Op kinds.
DENSE, ACTIVATION, DROPOUT, BATCHNORM, PRELU, MAXOUT = range(6)

# The columns of the two tables.
OPS = layout("kind", "act", "n_in", "n_out", "p_off", "s_off", "a_off", "w_off", "z_off",
             "pieces", "flags")
OPF = layout("alpha", "l1", "l2", "rate", "momentum", "epsilon")
N_INT, N_FLOAT = len(OPS), len(OPF)
# Columns every op has (the plan fills them); then, per kind, those its layer sets.
COMMON_COLUMNS = ("kind", "n_in", "n_out", "p_off", "s_off", "a_off", "w_off", "z_off")
KIND_COLUMNS = {
    DENSE: ("act", "alpha", "l1", "l2"),
    ACTIVATION: ("act", "alpha"),
    DROPOUT: ("rate",),
    BATCHNORM: ("flags", "momentum", "epsilon"),
    PRELU: (),
    MAXOUT: ("pieces", "l1", "l2"),
}
# Scratch values BatchNorm keeps per feature (mean, variance, 1/std, gamma/std).
BATCHNORM_SCRATCH = 4

Network = namedtuple("Network", "ops opf params grads state acts deltas")


@formula
def rows_view(buffer, start, rows, width):
    """The (rows, width) C-contiguous view of a flat workspace starting at ``start``."""
    return matrix_view(buffer, start, rows, width)


@formula
def op_view(buffer, ops, i, rows):
    """Op i's (rows, n_out) slice of a flat workspace."""
    return rows_view(buffer, ops[i, OPS.a_off], rows, ops[i, OPS.n_out])


@formula
def input_view(buffer, ops, i, rows, out):
    """Op i's kept pre-activation (rows, n_out) in a flat workspace; ``out`` when it keeps
    none (its activation does not need it)."""
    z_off = ops[i, OPS.z_off]
    return rows_view(buffer, z_off, rows, ops[i, OPS.n_out]) if z_off >= 0 else out


@formula
def scratch_view(buffer, ops, i, size):
    """The first ``size`` values of op i's scratch in a flat workspace."""
    return buffer[ops[i, OPS.w_off]:ops[i, OPS.w_off] + size]


@kernel
def copy_into(src, dst):
    rows, cols = src.shape
    for r in range(rows):
        for c in range(cols):
            dst[r, c] = src[r, c]


@kernel
def forward(network, x, training, seed, step):
    """Run the network on the batch x: the last op's output is then its ``op_view`` of ``acts``.
    ``training`` selects batch statistics and dropout; ``seed`` and ``step`` pick the masks.
    Reads ops, opf, params, state and writes acts (not grads or deltas)."""
    ops, opf, params, state, acts = (network.ops, network.opf, network.params, network.state,
                                     network.acts)
    rows = x.shape[0]
    inp = x
    for i in range(ops.shape[0]):
        out = op_view(acts, ops, i, rows)
        kind = ops[i, OPS.kind]
        n_out = ops[i, OPS.n_out]
        p_off = ops[i, OPS.p_off]
        if kind == DENSE:
            dense_forward(inp, params, p_off, ops[i, OPS.n_in], n_out, ops[i, OPS.act],
                          opf[i, OPF.alpha], out, input_view(acts, ops, i, rows, out))
        elif kind == ACTIVATION:
            zero_bias = scratch_view(acts, ops, i, n_out)
            zero_bias[:] = 0.0
            copy_into(inp, out)
            activate(ops[i, OPS.act], out, zero_bias, opf[i, OPF.alpha],
                     input_view(acts, ops, i, rows, out))
        elif kind == DROPOUT:
            rate = opf[i, OPF.rate]
            if training and rate > 0.0:
                dropout_apply(inp, out, rate, stream_key(seed, step, i))
            else:
                copy_into(inp, out)
        elif kind == BATCHNORM:
            batchnorm_forward(inp, params, p_off, ops[i, OPS.flags], state, ops[i, OPS.s_off],
                              opf[i, OPF.epsilon], training,
                              scratch_view(acts, ops, i, BATCHNORM_SCRATCH * n_out), out)
        elif kind == PRELU:
            prelu_forward(inp, params[p_off:p_off + n_out], out)
        elif kind == MAXOUT:
            pieces = ops[i, OPS.pieces]
            z = rows_view(acts, ops[i, OPS.w_off], rows, n_out * pieces)
            maxout_forward(inp, params, p_off, ops[i, OPS.n_in], n_out, pieces, z, out)
        inp = out


@kernel
def backward(network, x, fused_output, seed, step):
    """Back-propagate dL/d(output), already in the last op's slot of ``deltas``, to every
    parameter's gradient. With ``fused_output`` that slot already holds dL/dz of the last op
    (the loss kernel folded in the output activation's derivative). ``seed`` and ``step`` must
    be the forward's, so that dropout applies the same masks."""
    ops, opf, params, grads, acts, deltas = (network.ops, network.opf, network.params,
                                             network.grads, network.acts, network.deltas)
    rows = x.shape[0]
    last = ops.shape[0] - 1
    for i in range(last, -1, -1):
        out = op_view(acts, ops, i, rows)
        d_out = op_view(deltas, ops, i, rows)
        need_dx = i > 0
        inp = op_view(acts, ops, i - 1, rows) if need_dx else x
        d_in = op_view(deltas, ops, i - 1, rows) if need_dx else d_out
        kind = ops[i, OPS.kind]
        n_out = ops[i, OPS.n_out]
        p_off = ops[i, OPS.p_off]
        fused = fused_output and i == last
        if kind == DENSE:
            if not fused:
                activation_backward(ops[i, OPS.act], out, input_view(acts, ops, i, rows, out),
                                    d_out, opf[i, OPF.alpha])
            dense_backward(inp, d_out, params, grads, p_off, ops[i, OPS.n_in], n_out, d_in,
                           need_dx)
        elif kind == ACTIVATION:
            if need_dx:
                copy_into(d_out, d_in)
                if not fused:
                    activation_backward(ops[i, OPS.act], out,
                                        input_view(acts, ops, i, rows, out), d_in,
                                        opf[i, OPF.alpha])
        elif kind == DROPOUT:
            if need_dx:
                rate = opf[i, OPF.rate]
                if rate > 0.0:
                    dropout_apply(d_out, d_in, rate, stream_key(seed, step, i))
                else:
                    copy_into(d_out, d_in)
        elif kind == BATCHNORM:
            batchnorm_backward(inp, d_out, params, grads, p_off, ops[i, OPS.flags],
                               scratch_view(acts, ops, i, BATCHNORM_SCRATCH * n_out),
                               scratch_view(deltas, ops, i, 2 * n_out), d_in, need_dx)
        elif kind == PRELU:
            prelu_backward(inp, d_out, params[p_off:p_off + n_out], grads[p_off:p_off + n_out],
                           d_in, need_dx)
        elif kind == MAXOUT:
            pieces = ops[i, OPS.pieces]
            z = rows_view(acts, ops[i, OPS.w_off], rows, n_out * pieces)
            dz = rows_view(deltas, ops[i, OPS.w_off], rows, n_out * pieces)
            maxout_backward(inp, d_out, z, dz, params, grads, p_off, ops[i, OPS.n_in], n_out,
                            pieces, d_in, need_dx)


@kernel
def update_state(network, rows):
    """After a training step: fold each BatchNorm op's batch statistics (left in its scratch by
    the forward pass of ``rows`` rows) into its running statistics."""
    ops, opf = network.ops, network.opf
    for i in range(ops.shape[0]):
        if ops[i, OPS.kind] == BATCHNORM:
            batchnorm_update_running(
                network.state, ops[i, OPS.s_off],
                scratch_view(network.acts, ops, i, BATCHNORM_SCRATCH * ops[i, OPS.n_out]), rows,
                opf[i, OPF.momentum])
