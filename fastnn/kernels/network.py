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
state, acts, deltas, kinds)``, ``kinds`` naming the table entries compiled
(fastnn/kernels/kinds.py). Dropout masks are a pure function of (seed, step, op index, element
index): see fastnn/kernels/random.py. ``step`` is the update step the batch belongs to.
"""

from collections import namedtuple

from .activations import activate, activation_backward
from .batchnorm import batchnorm_backward, batchnorm_forward, batchnorm_update_running
from .dense import dense_backward, dense_forward
from .dropout import dropout_apply
from .maxout import maxout_backward, maxout_forward
from .prelu import prelu_backward, prelu_forward
from .random import stream_key
from .share import first_row
from .table import formula, layout, switch
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

Network = namedtuple("Network", "ops opf params grads state acts deltas kinds")


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


@formula
def copy_into(src, dst):
    rows, cols = src.shape
    for r in range(rows):
        for c in range(cols):
            dst[r, c] = src[r, c]


# ----------------------------------------------------------------------- forward, per kind
# Each case runs op i of its kind; ``inp`` is op i-1's output (the batch for op 0, or the rows
# of it that ``share`` says: fastnn/kernels/share.py).
def _dense_forward(network, i, inp, out, rows, training, seed, step, share):
    ops = network.ops
    dense_forward(inp, network.params, ops[i, OPS.p_off], ops[i, OPS.n_in], ops[i, OPS.n_out],
                  ops[i, OPS.act], network.opf[i, OPF.alpha], out,
                  input_view(network.acts, ops, i, rows, out), network.kinds)


def _activation_forward(network, i, inp, out, rows, training, seed, step, share):
    ops = network.ops
    zero_bias = scratch_view(network.acts, ops, i, ops[i, OPS.n_out])
    zero_bias[:] = 0.0
    copy_into(inp, out)
    activate(ops[i, OPS.act], out, zero_bias, network.opf[i, OPF.alpha],
             input_view(network.acts, ops, i, rows, out), network.kinds)


def _dropout_forward(network, i, inp, out, rows, training, seed, step, share):
    rate = network.opf[i, OPF.rate]
    if training and rate > 0.0:
        dropout_apply(inp, out, rate, stream_key(seed, step, i), first_row(share))
    else:
        copy_into(inp, out)


def _batchnorm_forward(network, i, inp, out, rows, training, seed, step, share):
    ops = network.ops
    batchnorm_forward(inp, network.params, ops[i, OPS.p_off], ops[i, OPS.flags], network.state,
                      ops[i, OPS.s_off], network.opf[i, OPF.epsilon], training,
                      scratch_view(network.acts, ops, i, BATCHNORM_SCRATCH * ops[i, OPS.n_out]),
                      out, share)


def _prelu_forward(network, i, inp, out, rows, training, seed, step, share):
    p_off, n_out = network.ops[i, OPS.p_off], network.ops[i, OPS.n_out]
    prelu_forward(inp, network.params[p_off:p_off + n_out], out)


def _maxout_forward(network, i, inp, out, rows, training, seed, step, share):
    ops = network.ops
    n_out, pieces = ops[i, OPS.n_out], ops[i, OPS.pieces]
    z = rows_view(network.acts, ops[i, OPS.w_off], rows, n_out * pieces)
    maxout_forward(inp, network.params, ops[i, OPS.p_off], ops[i, OPS.n_in], n_out, pieces, z,
                   out)


_forward_cases = switch([(DENSE, _dense_forward), (ACTIVATION, _activation_forward),
                         (DROPOUT, _dropout_forward), (BATCHNORM, _batchnorm_forward),
                         (PRELU, _prelu_forward), (MAXOUT, _maxout_forward)], "layer")


# ----------------------------------------------------------------------- backward, per kind
# Each case back-propagates op i of its kind: ``d_out`` holds dL/d(output of op i) (dL/dz when
# ``fused``); it writes the op's gradients and, when ``need_dx``, dL/d(inp) into ``d_in``.
def _dense_backward(network, i, inp, out, d_in, d_out, rows, need_dx, fused, seed, step,
                    share):
    ops = network.ops
    if not fused:
        activation_backward(ops[i, OPS.act], out, input_view(network.acts, ops, i, rows, out),
                            d_out, network.opf[i, OPF.alpha], network.kinds)
    dense_backward(inp, d_out, network.params, network.grads, ops[i, OPS.p_off],
                   ops[i, OPS.n_in], ops[i, OPS.n_out], d_in, need_dx)


def _activation_backward(network, i, inp, out, d_in, d_out, rows, need_dx, fused, seed, step,
                         share):
    if need_dx:
        copy_into(d_out, d_in)
        if not fused:
            activation_backward(network.ops[i, OPS.act], out,
                                input_view(network.acts, network.ops, i, rows, out), d_in,
                                network.opf[i, OPF.alpha], network.kinds)


def _dropout_backward(network, i, inp, out, d_in, d_out, rows, need_dx, fused, seed, step,
                      share):
    if need_dx:
        rate = network.opf[i, OPF.rate]
        if rate > 0.0:
            dropout_apply(d_out, d_in, rate, stream_key(seed, step, i), first_row(share))
        else:
            copy_into(d_out, d_in)


def _batchnorm_backward(network, i, inp, out, d_in, d_out, rows, need_dx, fused, seed, step,
                        share):
    ops = network.ops
    n_out = ops[i, OPS.n_out]
    batchnorm_backward(inp, d_out, network.params, network.grads, ops[i, OPS.p_off],
                       ops[i, OPS.flags],
                       scratch_view(network.acts, ops, i, BATCHNORM_SCRATCH * n_out),
                       scratch_view(network.deltas, ops, i, 2 * n_out), d_in, need_dx, share)


def _prelu_backward(network, i, inp, out, d_in, d_out, rows, need_dx, fused, seed, step,
                    share):
    p_off, n_out = network.ops[i, OPS.p_off], network.ops[i, OPS.n_out]
    prelu_backward(inp, d_out, network.params[p_off:p_off + n_out],
                   network.grads[p_off:p_off + n_out], d_in, need_dx)


def _maxout_backward(network, i, inp, out, d_in, d_out, rows, need_dx, fused, seed, step,
                     share):
    ops = network.ops
    n_out, pieces, w_off = ops[i, OPS.n_out], ops[i, OPS.pieces], ops[i, OPS.w_off]
    z = rows_view(network.acts, w_off, rows, n_out * pieces)
    dz = rows_view(network.deltas, w_off, rows, n_out * pieces)
    maxout_backward(inp, d_out, z, dz, network.params, network.grads, ops[i, OPS.p_off],
                    ops[i, OPS.n_in], n_out, pieces, d_in, need_dx)


_backward_cases = switch([(DENSE, _dense_backward), (ACTIVATION, _activation_backward),
                          (DROPOUT, _dropout_backward), (BATCHNORM, _batchnorm_backward),
                          (PRELU, _prelu_backward), (MAXOUT, _maxout_backward)], "layer")


def _batchnorm_update(network, i, rows):
    ops = network.ops
    batchnorm_update_running(
        network.state, ops[i, OPS.s_off],
        scratch_view(network.acts, ops, i, BATCHNORM_SCRATCH * ops[i, OPS.n_out]), rows,
        network.opf[i, OPF.momentum])


_update_state_cases = switch([(BATCHNORM, _batchnorm_update)], "layer")


# ----------------------------------------------------------------------- the passes
@formula
def forward(network, x, training, seed, step, share):
    """Run the network on the batch x: the last op's output is then its ``op_view`` of ``acts``.
    ``training`` selects batch statistics and dropout; ``seed`` and ``step`` pick the masks.
    ``share`` is 0 when x is the whole batch, else the BatchShare of x's rows
    (fastnn/kernels/share.py). Reads ops, opf, params, state and writes acts (not grads or
    deltas)."""
    ops = network.ops
    rows = x.shape[0]
    inp = x
    for i in range(ops.shape[0]):
        out = op_view(network.acts, ops, i, rows)
        _forward_cases(network.kinds, ops[i, OPS.kind], network, i, inp, out, rows, training,
                       seed, step, share)
        inp = out


@formula
def backward(network, x, fused_output, seed, step, share):
    """Back-propagate dL/d(output), already in the last op's slot of ``deltas``, to every
    parameter's gradient. With ``fused_output`` that slot already holds dL/dz of the last op
    (the loss kernel folded in the output activation's derivative). ``seed``, ``step`` and
    ``share`` must be the forward's, so that dropout applies the same masks."""
    ops, acts, deltas = network.ops, network.acts, network.deltas
    rows = x.shape[0]
    last = ops.shape[0] - 1
    for i in range(last, -1, -1):
        out = op_view(acts, ops, i, rows)
        d_out = op_view(deltas, ops, i, rows)
        need_dx = i > 0
        inp = op_view(acts, ops, i - 1, rows) if need_dx else x
        d_in = op_view(deltas, ops, i - 1, rows) if need_dx else d_out
        _backward_cases(network.kinds, ops[i, OPS.kind], network, i, inp, out, d_in, d_out,
                        rows, need_dx, fused_output and i == last, seed, step, share)


@formula
def update_state(network, rows):
    """After a training step: fold each BatchNorm op's batch statistics (left in its scratch by
    the forward pass of ``rows`` rows) into its running statistics."""
    for i in range(network.ops.shape[0]):
        _update_state_cases(network.kinds, network.ops[i, OPS.kind], network, i, rows)
