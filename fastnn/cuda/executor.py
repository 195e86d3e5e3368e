"""The plan executed on the GPU: the CPU's op tables (fastnn/plan.py) over device buffers.

A ``DeviceNetwork`` reads the model's plan once and makes, per op, its views into the flat
device buffers: parameters and their gradients at p_off of the parameter and gradient buffers,
state at s_off, its output and delta at a_off, its scratch at w_off and its kept pre-activation
at z_off of two workspaces laid out exactly as on the CPU (fastnn/kernels/network.py, whose
named columns it reads). The views are made for batches of up to
``capacity`` rows; a smaller batch runs on their first ``rows`` rows. ``forward``, ``backward``
and ``update_state`` then launch each op's kernels in plan order from Python; nothing is copied
between host and device. Dropout's stream keys come from the CPU's hash of (seed, step, op), so
the masks are the CPU's.

Each op kind that the CPU plan runs needs a class here before ``device="cuda"`` accepts a model
that uses it; ``check_supported`` names the first one missing.
"""

import numpy as np
from numba import cuda

from ..kernels import network as net
from ..kernels.losses import PER_ROW, mean_scale
from ..kernels.network import OPF, OPS
from ..kernels.random import stream_key
from . import activations, batchnorm, maxout, prelu
from .dropout import dropout_apply
from .losses import launch_loss_rows
from .matmul import column_sums, matmul
from .reductions import N_DEVICE_STATS, N_ROW_STATS, ROW_LOSS, STAT_LAST_WEIGHT
from .regularization import Penalty


def _block(buffer, offset, shape):
    size = int(np.prod(shape))
    return buffer[offset:offset + size].reshape(shape)


class Op:
    """One op's views: ``out`` and ``delta`` (capacity, n_out) at a_off of the workspaces."""

    def __init__(self, index, row, floats, buffers, capacity):
        self.index = index
        self.n_in, self.n_out = int(row[OPS.n_in]), int(row[OPS.n_out])
        self.act, self.alpha = int(row[OPS.act]), floats[OPF.alpha]
        self.p_off, self.s_off, self.w_off = int(row[OPS.p_off]), int(row[OPS.s_off]), \
            int(row[OPS.w_off])
        self.floats = floats  # float64 NumPy scalars, also as kernel arguments (see _launch)
        params, grads, state, acts, deltas = buffers
        self.out = _block(acts, int(row[OPS.a_off]), (capacity, self.n_out))
        self.delta = None if deltas is None else \
            _block(deltas, int(row[OPS.a_off]), (capacity, self.n_out))
        z_off = int(row[OPS.z_off])
        # the activation's kept input (z + bias), or the output when the activation keeps none
        self.kept = self.out if z_off < 0 else _block(acts, z_off, (capacity, self.n_out))

    def update_state(self, rows, stats):
        """After a training step (only BatchNorm has state to update)."""


class DenseOp(Op):
    """y = f(x W + b): one tiled-matmul launch with bias and activation fused (an activation
    that is row-wise or keeps its input: the product, then the activation's kernel). Backward:
    the activation's derivative, dW = x^T dz, db = column sums of dz, dx = dz W^T."""

    def __init__(self, index, row, floats, buffers, capacity):
        super().__init__(index, row, floats, buffers, capacity)
        params, grads = buffers[0], buffers[1]
        size = self.n_in * self.n_out
        self.weights = _block(params, self.p_off, (self.n_in, self.n_out))
        self.bias = _block(params, self.p_off + size, (self.n_out,))
        if grads is not None:
            self.grad_w = _block(grads, self.p_off, (self.n_in, self.n_out))
            self.grad_b = _block(grads, self.p_off + size, (self.n_out,))

    def forward(self, x, rows, training, seed, step):
        if activations.fused_in_matmul(self.act):
            matmul(x, self.weights, self.out, rows, self.n_out, self.n_in, bias=self.bias,
                   act=self.act, alpha=self.alpha)
        else:
            matmul(x, self.weights, self.out, rows, self.n_out, self.n_in)
            activations.activate(self.act, self.out, self.bias, rows, self.alpha, self.kept)

    def backward(self, x, rows, d_in, output_fused, seed, step):
        if not output_fused:
            activations.backward(self.act, self.out, self.kept, self.delta, rows, self.alpha)
        dense_backward(x, self.delta, rows, self.weights, self.grad_w, self.grad_b, d_in)


def dense_backward(x, dz, rows, weights, grad_w, grad_b, dx):
    """dW = x^T dz, db = column sums of dz; dx = dz W^T when ``dx`` is not None."""
    n_in, n_out = weights.shape
    matmul(x, dz, grad_w, n_in, n_out, rows, trans_a=True)
    column_sums(dz, rows, grad_b)
    if dx is not None:
        matmul(dz, weights, dx, rows, n_in, n_out, trans_b=True)


class ActivationOp(Op):
    """y = f(x); backward: dx = f'(y) dy (the derivative skipped when the loss fused it)."""

    def __init__(self, index, row, floats, buffers, capacity):
        super().__init__(index, row, floats, buffers, capacity)
        acts = buffers[3]
        self.zero_bias = acts[self.w_off:self.w_off + self.n_out]
        self.zero_bias.copy_to_device(np.zeros(self.n_out, dtype=acts.dtype))

    def forward(self, x, rows, training, seed, step):
        activations.copy_rows(x, self.out, rows)
        activations.activate(self.act, self.out, self.zero_bias, rows, self.alpha, self.kept)

    def backward(self, x, rows, d_in, output_fused, seed, step):
        if d_in is not None:
            activations.copy_rows(self.delta, d_in, rows)
            if not output_fused:
                activations.backward(self.act, self.out, self.kept, d_in, rows, self.alpha)


class DropoutOp(Op):
    """Training: y = x m / (1 - rate), the mask m from the counter hash; otherwise y = x."""

    def forward(self, x, rows, training, seed, step):
        rate = self.floats[OPF.rate]
        if training and rate > 0.0:
            dropout_apply(x, self.out, rows, rate, stream_key(seed, step, self.index))
        else:
            activations.copy_rows(x, self.out, rows)

    def backward(self, x, rows, d_in, output_fused, seed, step):
        rate = self.floats[OPF.rate]
        if d_in is None:
            return
        if rate > 0.0:
            dropout_apply(self.delta, d_in, rows, rate, stream_key(seed, step, self.index))
        else:
            activations.copy_rows(self.delta, d_in, rows)


class BatchNormOp(Op):
    """Batch (training) or running (inference) statistics per feature, then gamma xhat + beta;
    after each training step the running statistics take the batch's in."""

    def __init__(self, index, row, floats, buffers, capacity):
        super().__init__(index, row, floats, buffers, capacity)
        self.params, self.grads, self.state, acts, deltas = buffers
        self.flags = int(row[OPS.flags])
        n = self.n_out
        self.scratch = acts[self.w_off:self.w_off + net.BATCHNORM_SCRATCH * n]
        self.work = None if deltas is None else deltas[self.w_off:self.w_off + 2 * n]

    def forward(self, x, rows, training, seed, step):
        batchnorm.forward(x, rows, self.params, self.p_off, self.flags, self.state, self.s_off,
                          self.floats[OPF.epsilon], training, self.scratch, self.out)

    def backward(self, x, rows, d_in, output_fused, seed, step):
        batchnorm.backward(x, self.delta, rows, self.grads, self.p_off, self.flags,
                           self.scratch, self.work, d_in)

    def update_state(self, rows, stats):
        batchnorm.update_running(self.state, self.s_off, self.scratch, self.n_out, rows,
                                 self.floats[OPF.momentum], stats)


class PReLUOp(Op):
    """y = x if x > 0 else a x, one trainable slope per unit."""

    def __init__(self, index, row, floats, buffers, capacity):
        super().__init__(index, row, floats, buffers, capacity)
        params, grads = buffers[0], buffers[1]
        self.slopes = params[self.p_off:self.p_off + self.n_out]
        if grads is not None:
            self.grad_slopes = grads[self.p_off:self.p_off + self.n_out]

    def forward(self, x, rows, training, seed, step):
        prelu.forward(x, rows, self.slopes, self.out)

    def backward(self, x, rows, d_in, output_fused, seed, step):
        prelu.backward(x, self.delta, rows, self.slopes, self.grad_slopes, d_in)


class MaxoutOp(Op):
    """z = x W (tiled product), y = the max over each unit's pieces of z + b; backward: dz at
    the arg-max pieces, then the dense backward."""

    def __init__(self, index, row, floats, buffers, capacity):
        super().__init__(index, row, floats, buffers, capacity)
        params, grads, state, acts, deltas = buffers
        self.pieces = int(row[OPS.pieces])
        width = self.n_out * self.pieces
        size = self.n_in * width
        self.weights = _block(params, self.p_off, (self.n_in, width))
        self.bias = _block(params, self.p_off + size, (width,))
        if grads is not None:
            self.grad_w = _block(grads, self.p_off, (self.n_in, width))
            self.grad_b = _block(grads, self.p_off + size, (width,))
        self.z = _block(acts, self.w_off, (capacity, width))
        self.dz = None if deltas is None else _block(deltas, self.w_off, (capacity, width))

    def forward(self, x, rows, training, seed, step):
        matmul(x, self.weights, self.z, rows, self.z.shape[1], self.n_in)
        maxout.bias_and_max(self.z, rows, self.bias, self.pieces, self.out)

    def backward(self, x, rows, d_in, output_fused, seed, step):
        maxout.route_gradient(self.z, self.delta, rows, self.pieces, self.dz)
        dense_backward(x, self.dz, rows, self.weights, self.grad_w, self.grad_b, d_in)


# op kind -> its CUDA class
OP_CLASSES = {net.DENSE: DenseOp, net.ACTIVATION: ActivationOp, net.DROPOUT: DropoutOp,
              net.BATCHNORM: BatchNormOp, net.PRELU: PReLUOp, net.MAXOUT: MaxoutOp}


def check_supported(layers):
    """ValueError naming the first layer whose op has no CUDA twin yet."""
    for layer in layers:
        if layer.kind not in OP_CLASSES:
            raise ValueError(f"layer {type(layer).__name__} has no CUDA kernel yet; "
                             "use device='cpu' for this model")


class DeviceNetwork:
    """The model's ops over device buffers, for batches of at most ``capacity`` rows.

    ``grads`` None builds an inference-only network (no delta workspace)."""

    def __init__(self, model, capacity, params, grads, state):
        check_supported(model.layers)
        ops, opf, workspace = model.plan.tables(capacity)
        self.acts = cuda.device_array(max(workspace, 1), dtype=model.dtype)
        self.deltas = None if grads is None else \
            cuda.device_array(max(workspace, 1), dtype=model.dtype)
        buffers = (params, grads, state, self.acts, self.deltas)
        self.ops = [OP_CLASSES[int(ops[i, OPS.kind])](i, ops[i], opf[i], buffers, capacity)
                    for i in range(len(model.layers))]
        self.params, self.grads = params, grads
        self.penalty = None if grads is None else Penalty(ops, opf)

    @property
    def output(self):
        return self.ops[-1].out

    @property
    def output_delta(self):
        """Where the loss kernel writes dL/d(output) (dL/dz when fused)."""
        return self.ops[-1].delta

    def forward(self, x, rows, training, seed, step):
        """Run the first ``rows`` rows of x through every op; returns the output view.
        ``training`` selects batch statistics and dropout; ``seed`` and ``step`` the masks."""
        inp = x
        for op in self.ops:
            op.forward(inp, rows, training, seed, step)
            inp = op.out
        return inp

    def backward(self, x, rows, fused_output, seed, step):
        """Back-propagate the loss gradient already in ``output_delta`` to every parameter
        (``seed`` and ``step`` must be the forward's, for the same dropout masks)."""
        last = len(self.ops) - 1
        for i in range(last, -1, -1):
            inp = self.ops[i - 1].out if i > 0 else x
            d_in = self.ops[i - 1].delta if i > 0 else None
            self.ops[i].backward(inp, rows, d_in, fused_output and i == last, seed, step)

    def update_state(self, rows, stats):
        """After a training step: BatchNorm's running statistics (skipped after a halt)."""
        for op in self.ops:
            op.update_state(rows, stats)

    def add_penalty(self, stats):
        """The kernel regularizers' gradient into the gradients, their penalty (times the
        batch's weight sum) into the loss stat."""
        self.penalty(self.params, self.grads, stats)


def predict(model, X, chunk):
    """The network's output for every row of X, ``chunk`` rows at a time on the device."""
    n = X.shape[0]
    chunk = max(1, min(int(chunk), n))
    params = cuda.to_device(model.params)
    state = cuda.to_device(model.state)
    network = DeviceNetwork(model, chunk, params, None, state)
    x_dev = cuda.device_array((chunk, X.shape[1]), dtype=model.dtype)
    out = np.empty((n, model.plan.n_out), dtype=model.dtype)
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        rows = stop - start
        x_dev[:rows].copy_to_device(X[start:stop])
        y = network.forward(x_dev, rows, False, 0, 0)
        y[:rows].copy_to_host(out[start:stop])
    return out


def batch_gradients(model, X, Y, W):
    """The gradient of the weighted mean loss plus the weight penalty over all of (X, Y) as one
    batch, in training mode with the dropout masks of step ``iterations``, into
    ``model.grads``; returns that loss (as fastnn.kernels.training.batch_gradients does).
    Running statistics are left unchanged."""
    rows = X.shape[0]
    params = cuda.to_device(model.params)
    grads = cuda.device_array_like(model.grads)
    state = cuda.to_device(model.state)
    network = DeviceNetwork(model, rows, params, grads, state)
    x_dev, y_dev = cuda.to_device(X), cuda.to_device(Y)
    weights = cuda.to_device(np.zeros(0) if W is None else W)
    row_stats = cuda.device_array((rows, N_ROW_STATS), dtype=np.float64)
    total = cuda.device_array(1, dtype=np.float64)
    training = model.training_state
    seed, step = training.mask_seed, training.iterations
    settings = model.loss_settings()
    out = network.forward(x_dev, rows, True, seed, step)
    launch_loss_rows(settings.code, out, y_dev, weights, total, network.output_delta, rows,
                     settings.param, settings.fused, 0, 0.0, row_stats)
    network.backward(x_dev, rows, settings.fused, seed, step)
    stats = np.zeros(N_DEVICE_STATS)
    stats[STAT_LAST_WEIGHT] = 1.0
    network.add_penalty(cuda.to_device(stats))
    grads.copy_to_host(model.grads)
    row_values = row_stats.copy_to_host()
    scale = mean_scale(float(total.copy_to_host()[0]), model.plan.n_out, PER_ROW[settings.code])
    return row_values[:, ROW_LOSS].sum() * scale + network.penalty.value()
