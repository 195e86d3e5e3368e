"""The plan executed on the GPU: the CPU's op tables (fastnn/plan.py) over device buffers.

A ``DeviceNetwork`` reads the model's plan once and makes, per op, its views into the flat
device buffers: weights, bias and their gradients at P_OFF of the parameter and gradient buffers,
state at S_OFF, and its output and delta at A_OFF of two activation workspaces laid out exactly
as on the CPU (fastnn/kernels/network.py). The views are made for batches of up to ``capacity``
rows; a smaller batch runs on their first ``rows`` rows. ``forward`` and ``backward`` then launch
each op's kernels in plan order from Python: nothing is copied between host and device.

Each op kind that the CPU plan runs needs a class here before ``device="cuda"`` accepts a model
that uses it; ``check_supported`` names the first one missing.
"""

import numpy as np
from numba import cuda

from ..kernels import network as net
from . import activations
from .losses import N_ROW_STATS, ROW_LOSS, launch_loss_rows, loss_scale
from .matmul import column_sums, matmul


def _block(buffer, offset, shape):
    size = int(np.prod(shape))
    return buffer[offset:offset + size].reshape(shape)


class DenseOp:
    """y = f(x W + b): one tiled-matmul launch with bias and activation fused (softmax: plus a
    row kernel). Backward: the activation's derivative, dW = x^T dz, db = column sums of dz,
    dx = dz W^T."""

    def __init__(self, row, floats, params, grads, acts, deltas, capacity):
        self.n_in, self.n_out = int(row[net.N_IN]), int(row[net.N_OUT])
        self.act, self.alpha = int(row[net.ACT]), float(floats[net.ALPHA])
        p_off, size = int(row[net.P_OFF]), self.n_in * self.n_out
        self.weights = _block(params, p_off, (self.n_in, self.n_out))
        self.bias = _block(params, p_off + size, (self.n_out,))
        if grads is not None:
            self.grad_w = _block(grads, p_off, (self.n_in, self.n_out))
            self.grad_b = _block(grads, p_off + size, (self.n_out,))
        self.out = _block(acts, int(row[net.A_OFF]), (capacity, self.n_out))
        self.delta = None if deltas is None else \
            _block(deltas, int(row[net.A_OFF]), (capacity, self.n_out))

    def forward(self, x, rows, training):
        matmul(x, self.weights, self.out, rows, self.n_out, self.n_in, bias=self.bias,
               act=activations.epilogue_code(self.act), alpha=self.alpha)
        activations.activate_rows(self.act, self.out, rows)

    def backward(self, x, rows, d_in, output_fused):
        if not output_fused:
            activations.backward(self.act, self.out, self.delta, rows, self.alpha)
        matmul(x, self.delta, self.grad_w, self.n_in, self.n_out, rows, trans_a=True)
        column_sums(self.delta, rows, self.grad_b)
        if d_in is not None:
            matmul(self.delta, self.weights, d_in, rows, self.n_in, self.n_out, trans_b=True)


# op kind -> its CUDA class
OPS = {net.DENSE: DenseOp}


def check_supported(layers):
    """ValueError naming the first layer whose op has no CUDA twin yet."""
    for layer in layers:
        if layer.kind not in OPS:
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
        self.ops = [OPS[int(ops[i, net.KIND])](ops[i], opf[i], params, grads, self.acts,
                                                self.deltas, capacity)
                    for i in range(len(model.layers))]

    @property
    def output(self):
        return self.ops[-1].out

    @property
    def output_delta(self):
        """Where the loss kernel writes dL/d(output) (dL/dz when fused)."""
        return self.ops[-1].delta

    def forward(self, x, rows, training):
        """Run the first ``rows`` rows of x through every op; returns the output view."""
        inp = x
        for op in self.ops:
            op.forward(inp, rows, training)
            inp = op.out
        return inp

    def backward(self, x, rows, fused_output):
        """Back-propagate the loss gradient already in ``output_delta`` to every parameter."""
        last = len(self.ops) - 1
        for i in range(last, -1, -1):
            inp = self.ops[i - 1].out if i > 0 else x
            d_in = self.ops[i - 1].delta if i > 0 else None
            self.ops[i].backward(inp, rows, d_in, fused_output and i == last)


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
        y = network.forward(x_dev, rows, False)
        y[:rows].copy_to_host(out[start:stop])
    return out


def batch_gradients(model, X, Y):
    """The gradient of the mean loss over all of (X, Y) as one batch, into ``model.grads``;
    returns the loss (the CUDA twin of fastnn.kernels.training.batch_gradients)."""
    rows = X.shape[0]
    params = cuda.to_device(model.params)
    grads = cuda.device_array_like(model.grads)
    state = cuda.to_device(model.state)
    network = DeviceNetwork(model, rows, params, grads, state)
    x_dev, y_dev = cuda.to_device(X), cuda.to_device(Y)
    row_stats = cuda.device_array((rows, N_ROW_STATS), dtype=np.float64)
    out = network.forward(x_dev, rows, True)
    launch_loss_rows(model.loss.code, out, y_dev, network.output_delta, rows, model.loss_param,
                     model.fused_output, 0, 0.0, row_stats)
    network.backward(x_dev, rows, model.fused_output)
    grads.copy_to_host(model.grads)
    total = row_stats.copy_to_host()[:, ROW_LOSS].sum()
    return total * loss_scale(model.loss.code, rows, model.plan.n_out)
