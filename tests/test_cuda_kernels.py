"""Every CUDA kernel against its CPU twin (or NumPy) on random inputs, for every row of the
formula tables (activations, losses, optimizers).

Runs on a GPU where there is one, else on Numba's CUDA simulator (switched on in conftest.py);
sizes are tiny because the simulator runs each GPU thread as a Python thread. Sizes are set
against the launch shapes of fastnn/cuda/_launch.py (which are smaller on the simulator): sizes
that are not multiples of the matmul tile, products that span several tiles, buffers longer than
one block.
"""

import numpy as np
import pytest
from numba import cuda

import fastnn as fn
from fastnn import optimizers
from fastnn.cuda import activations as cu_act
from fastnn.cuda import batchnorm as cu_bn
from fastnn.cuda import dropout as cu_dropout
from fastnn.cuda import losses as cu_loss
from fastnn.cuda import optimizers as cu_opt
from fastnn.cuda import reductions as cu_red
from fastnn.cuda import regularization as cu_reg
from fastnn.cuda._launch import THREADS, TILE, elements
from fastnn.cuda.clipping import Clipper
from fastnn.cuda.device import CudaUnavailableError, cuda_module
from fastnn.cuda.matmul import column_sums, matmul
from fastnn.cuda.trainer import gather_rows
from fastnn.kernels import activations as k_act
from fastnn.kernels import batchnorm as k_bn
from fastnn.kernels import clipping as k_clip
from fastnn.kernels import dropout as k_dropout
from fastnn.kernels import losses as k_loss
from fastnn.kernels import network as k_net
from fastnn.kernels import optimizers as k_opt
from fastnn.kernels import random as k_random
from fastnn.kernels import regularization as k_reg
from fastnn.kernels import training as k_train


def _cuda_usable():
    try:
        cuda_module()
    except CudaUnavailableError:
        return False
    return True


pytestmark = [pytest.mark.skipif(not _cuda_usable(), reason="no CUDA GPU and no simulator"),
              pytest.mark.usefixtures("simulator_switching")]

TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-11, atol=1e-12)}
ALPHAS = {k_act.CODES["leaky_relu"]: 0.1, k_act.CODES["elu"]: 0.7}
ACTIVATION_CODES = [code for code, e in enumerate(k_act.ACTIVATIONS)]


@pytest.mark.parametrize("m,n,k,trans_a,trans_b", [
    (TILE + 3, TILE - 1, TILE + 5, False, False),  # two row tiles, two k tiles, ragged edges
    (TILE - 1, TILE + 3, TILE + 1, True, False),   # A given as a^T (the weight gradient x^T dz)
    (TILE + 1, 6, 5, False, True),                 # B given as b^T (the input gradient dz W^T)
])
def test_tiled_matmul_matches_numpy(m, n, k, trans_a, trans_b, rng):
    a = rng.normal(size=(k, m) if trans_a else (m, k))
    b = rng.normal(size=(n, k) if trans_b else (k, n))
    out = cuda.to_device(np.full((m + 2, n), 7.0))  # two spare rows that must stay untouched
    matmul(cuda.to_device(a), cuda.to_device(b), out, m, n, k, trans_a, trans_b)
    expected = (a.T if trans_a else a) @ (b.T if trans_b else b)
    got = out.copy_to_host()
    np.testing.assert_allclose(got[:m], expected, **TOL[np.float64])
    assert np.all(got[m:] == 7.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("code", ACTIVATION_CODES, ids=lambda c: k_act.ACTIVATIONS[c].name)
def test_dense_forward_matches_cpu(code, dtype, rng):
    """A dense layer's forward as the CUDA executor runs it (product, bias and activation fused
    in the epilogue, or the product then the activation's kernel) against the CPU's product and
    activation kernel on the same flat parameter buffer, with the kept input."""
    rows, n_in, n_out, offset = 3, 4, 5, 3
    alpha = ALPHAS.get(code, 0.0)
    x = rng.normal(size=(rows, n_in)).astype(dtype)
    params = rng.normal(size=offset + n_in * n_out + n_out).astype(dtype)
    expected = x @ params[offset:offset + n_in * n_out].reshape(n_in, n_out)
    kept = np.zeros((rows, n_out), dtype=dtype)
    k_act.activate(code, expected, params[offset + n_in * n_out:], alpha, kept)

    d_params = cuda.to_device(params)
    weights = d_params[offset:offset + n_in * n_out].reshape((n_in, n_out))
    bias = d_params[offset + n_in * n_out:]
    out = cuda.device_array((rows, n_out), dtype=dtype)
    pre = cuda.to_device(np.zeros((rows, n_out), dtype=dtype))
    if cu_act.fused_in_matmul(code):
        matmul(cuda.to_device(x), weights, out, rows, n_out, n_in, bias=bias, act=code,
               alpha=alpha)
    else:
        matmul(cuda.to_device(x), weights, out, rows, n_out, n_in)
        cu_act.activate(code, out, bias, rows, alpha, pre)
    np.testing.assert_allclose(out.copy_to_host(), expected, **TOL[dtype])
    np.testing.assert_allclose(pre.copy_to_host(), kept, **TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("code", ACTIVATION_CODES, ids=lambda c: k_act.ACTIVATIONS[c].name)
def test_activation_backward_matches_cpu(code, dtype, rng):
    """dL/dz from dL/dy, the saved output and the kept input, on the first ``rows`` rows."""
    capacity, rows, cols = 4, 3, 5
    alpha = ALPHAS.get(code, 0.0)
    y = rng.normal(size=(capacity, cols)).astype(dtype)
    z = y.copy()
    k_act.activate(code, y, np.zeros(cols, dtype=dtype), alpha, z)  # a valid (output, input)
    dy = rng.normal(size=(capacity, cols)).astype(dtype)
    expected = dy.copy()
    k_act.activation_backward(code, y[:rows], z[:rows], expected[:rows], alpha)
    d_dy = cuda.to_device(dy)
    cu_act.backward(code, cuda.to_device(y), cuda.to_device(z), d_dy, rows, alpha)
    np.testing.assert_allclose(d_dy.copy_to_host(), expected, **TOL[dtype])


def _targets(code, rows, cols, rng, dtype):
    if code == k_loss.SCCE:
        return rng.integers(0, cols, size=(rows, 1)).astype(dtype)
    if code == k_loss.CCE:
        return np.eye(cols, dtype=dtype)[rng.integers(0, cols, size=rows)]
    if code == k_loss.BCE:
        return rng.integers(0, 2, size=(rows, cols)).astype(dtype)
    if code == k_loss.HINGE:
        return (2 * rng.integers(0, 2, size=(rows, cols)) - 1).astype(dtype)
    return rng.normal(size=(rows, cols)).astype(dtype)


def _outputs(code, rows, cols, rng, dtype):
    if code == k_loss.BCE:
        return rng.uniform(0.02, 0.98, size=(rows, cols)).astype(dtype)
    if code in (k_loss.CCE, k_loss.SCCE):
        e = np.exp(rng.normal(size=(rows, cols)))
        return (e / e.sum(axis=1, keepdims=True)).astype(dtype)
    return rng.normal(size=(rows, cols)).astype(dtype)


ACCURACY = {k_loss.BCE: (k_loss.BINARY_ACCURACY, 0.5), k_loss.HINGE: (k_loss.BINARY_ACCURACY, 0.0),
            k_loss.CCE: (k_loss.ONEHOT_ACCURACY, 0.0), k_loss.SCCE: (k_loss.SPARSE_ACCURACY, 0.0)}
LOSS_CASES = [(code, fused) for code, entry in enumerate(k_loss.LOSSES)
              for fused in ((False, True) if entry.fused_activation else (False,))]


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("code,fused", LOSS_CASES,
                         ids=lambda c: str(c) if isinstance(c, bool) else k_loss.LOSSES[c].name)
def test_loss_rows_match_cpu(code, fused, weighted, rng):
    """Gradient, loss, correct count and error sums against the CPU's loss_and_gradient,
    count_correct and accumulate_errors (errors against the one-hot row for sparse targets),
    with and without sample weights, then summed into the epoch stats by accumulate_batch."""
    dtype, capacity, rows, cols, param = np.float64, 6, 5, 3, 0.6
    out = _outputs(code, capacity, cols, rng, dtype)
    y = _targets(code, capacity, cols, rng, dtype)
    w = rng.uniform(0.0, 2.0, size=rows) if weighted else k_loss.NO_WEIGHTS
    rule, threshold = ACCURACY.get(code, (k_loss.NO_ACCURACY, 0.0))
    grad_cpu = np.zeros((rows, cols), dtype=dtype)
    loss_cpu = k_loss.loss_and_gradient(code, out[:rows], y[:rows], w, grad_cpu, param, fused)
    cpu_stats = np.zeros(k_train.N_STATS)
    k_train.accumulate_errors(out[:rows], y[:rows], w, cpu_stats)

    grad = cuda.to_device(np.zeros((capacity, cols), dtype=dtype))
    row_stats = cuda.device_array((capacity, cu_red.N_ROW_STATS), dtype=np.float64)
    total = cuda.device_array(1)
    cu_loss.launch_loss_rows(code, cuda.to_device(out), cuda.to_device(y), cuda.to_device(w),
                             total, grad, rows, param, fused, rule, threshold, row_stats)
    np.testing.assert_allclose(grad.copy_to_host()[:rows], grad_cpu, **TOL[dtype])
    assert np.all(grad.copy_to_host()[rows:] == 0.0)
    stats = cuda.to_device(np.zeros(cu_red.N_DEVICE_STATS))
    cu_red.launch_accumulate_batch(row_stats, rows, cols, k_loss.PER_ROW[code], 0.1, 0, stats)
    got = stats.copy_to_host()
    weight = rows if not weighted else w.sum()
    np.testing.assert_allclose(got[k_train.STAT_WEIGHT], weight, rtol=1e-12)
    np.testing.assert_allclose(got[k_train.STAT_LOSS], loss_cpu * weight, rtol=1e-12)
    np.testing.assert_allclose(got[k_train.STAT_CORRECT], k_loss.count_correct(
        rule, out[:rows], y[:rows], w, threshold), rtol=1e-12)
    for slot in (k_train.STAT_ABS_ERR, k_train.STAT_SQ_ERR):
        np.testing.assert_allclose(got[slot], cpu_stats[slot], rtol=1e-12)
    assert got[k_train.STAT_BATCHES] == 1 and got[k_train.STAT_LR] == 0.1


def test_a_non_finite_batch_halts_accumulation_and_updates(rng):
    row_stats = rng.uniform(size=(4, cu_red.N_ROW_STATS))
    row_stats[2, cu_red.ROW_LOSS] = np.inf
    stats = cuda.to_device(np.zeros(cu_red.N_DEVICE_STATS))
    cu_red.launch_accumulate_batch(cuda.to_device(row_stats), 4, 1, False, 0.1, 6, stats)
    halted = stats.copy_to_host()
    assert halted[k_train.STAT_NONFINITE] == 1.0 and halted[cu_red.STAT_HALTED_AT] == 6
    assert halted[k_train.STAT_WEIGHT] == 0.0
    row_stats[2, cu_red.ROW_LOSS] = 1.0  # a later, finite batch is not accumulated either
    cu_red.launch_accumulate_batch(cuda.to_device(row_stats), 4, 1, False, 0.1, 7, stats)
    np.testing.assert_array_equal(stats.copy_to_host(), halted)
    params = rng.normal(size=10).astype(np.float32)
    d_params = cuda.to_device(params)
    sgd = optimizers.SGD(0.1)
    cu_opt.optimizer_step(sgd.code, cuda.to_device(sgd.hyper()), d_params, cuda.to_device(params),
                          cuda.to_device(sgd.initial_state(10, np.float32)), 0.1, 1, stats)
    np.testing.assert_array_equal(d_params.copy_to_host(), params)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_column_sums_over_the_first_rows(dtype, rng):
    x = rng.normal(size=(9, 21)).astype(dtype)
    out = cuda.device_array(21, dtype=dtype)
    column_sums(cuda.to_device(x), 7, out)
    np.testing.assert_allclose(out.copy_to_host(), x[:7].sum(axis=0, dtype=np.float64),
                               **TOL[dtype])


# Every optimizer of the table, with its variants' flags.
OPTIMIZERS = [
    optimizers.SGD(0.05), optimizers.SGD(0.05, momentum=0.9),
    optimizers.SGD(0.05, momentum=0.8, nesterov=True, weight_decay=0.01),
    optimizers.Adagrad(0.1, weight_decay=0.01), optimizers.Adadelta(1.0, weight_decay=0.01),
    optimizers.RMSprop(0.01), optimizers.RMSprop(0.01, momentum=0.5, centered=True,
                                                 weight_decay=0.01),
    optimizers.Adam(0.01), optimizers.Adam(0.01, amsgrad=True, weight_decay=0.01),
    optimizers.AdamW(0.01), optimizers.Nadam(0.01),
    optimizers.Nadam(0.01, weight_decay=0.01, decoupled_weight_decay=True),
    optimizers.Lion(0.01, weight_decay=0.1),
]


def test_every_optimizer_of_the_table_is_checked():
    assert {o.kernel.name for o in OPTIMIZERS} == {e.name for e in k_opt.OPTIMIZERS}


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: o.name)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_optimizer_step_matches_cpu(optimizer, dtype, rng):
    """Two steps (t = 1, 2) from the same state, on a buffer longer than one block."""
    n = THREADS + 2
    params = rng.normal(size=n).astype(dtype)
    state = optimizer.initial_state(n, dtype)
    expected, expected_state = params.copy(), state.copy()
    d_params, d_state = cuda.to_device(params), cuda.to_device(state)
    stats = cuda.to_device(np.zeros(cu_red.N_DEVICE_STATS))
    hyper = cuda.to_device(optimizer.hyper())
    for t in (1, 2):
        grads = rng.normal(size=n).astype(dtype)
        lr = optimizer.learning_rate / t
        k_opt.optimizer_step(optimizer.code, optimizer.hyper(), expected, grads, expected_state,
                             lr, t)
        cu_opt.optimizer_step(optimizer.code, hyper, d_params, cuda.to_device(grads), d_state,
                              lr, t, stats)
    np.testing.assert_allclose(d_params.copy_to_host(), expected, **TOL[dtype])
    np.testing.assert_allclose(d_state.copy_to_host(), expected_state, **TOL[dtype])


# Values summed by one block of a reduction's first pass.
BLOCK_SPAN = cu_red.REDUCE_THREADS * cu_red.ITEMS_PER_THREAD


@pytest.mark.parametrize("clip_norm,clip_value", [(1.5, 0.0), (2.0, 0.5), (1e6, 0.0)])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_clipping_matches_cpu(clip_norm, clip_value, dtype, rng):
    """More values than one block of the norm's first pass sums."""
    grads = rng.normal(size=BLOCK_SPAN + 88).astype(dtype)
    expected = grads.copy()
    k_clip.clip_gradients(expected, clip_norm, clip_value)
    d_grads = cuda.to_device(grads)
    Clipper(grads.size, np.dtype(dtype), clip_norm, clip_value)(d_grads)
    np.testing.assert_allclose(d_grads.copy_to_host(), expected, **TOL[dtype])


@pytest.mark.parametrize("n", [1, cu_red.REDUCE_THREADS + 2, BLOCK_SPAN + 88],
                         ids=["one-block", "one-block-strided", "two-blocks"])
def test_sum_of_squares_is_exact_to_float64_rounding(n, rng):
    assert cu_red.sum_blocks(n) == -(-n // (cu_red.REDUCE_THREADS * cu_red.ITEMS_PER_THREAD))
    assert cu_red.sum_blocks(10 ** 9) == cu_red.MAX_BLOCKS
    x = rng.normal(size=n).astype(np.float32)
    total = cuda.device_array(1)
    cu_red.launch_sum_of_squares(cuda.to_device(x), cuda.device_array(cu_red.MAX_BLOCKS), total)
    np.testing.assert_allclose(total.copy_to_host()[0], np.sum(x.astype(np.float64) ** 2),
                               rtol=1e-13)


@pytest.mark.filterwarnings("ignore:overflow encountered")  # the simulator's uint64 hash
@pytest.mark.parametrize("rate", [0.1, 0.5, 0.9])
def test_dropout_masks_are_the_cpus(rate, rng):
    """The same key gives the same mask as the CPU kernel, element for element (and the same
    values, up to float rounding)."""
    capacity, rows, cols = 9, 7, 13
    src = rng.normal(size=(capacity, cols)).astype(np.float32)
    key = k_random.stream_key(np.uint64(42), 3, 2)
    expected = np.full((capacity, cols), 5.0, dtype=np.float32)
    k_dropout.dropout_apply(src[:rows], expected[:rows], rate, key, 0)
    dst = cuda.to_device(np.full((capacity, cols), 5.0, dtype=np.float32))
    cu_dropout.dropout_apply(cuda.to_device(src), dst, rows, rate, key)
    got = dst.copy_to_host()
    np.testing.assert_array_equal(got == 0.0, expected == 0.0)
    assert 0 < np.count_nonzero(expected[:rows] == 0.0) < rows * cols
    np.testing.assert_allclose(got, expected, **TOL[np.float32])


@pytest.mark.parametrize("rows", [1, 6])  # one row: the running variance is left alone
def test_batchnorm_running_statistics_match_cpu(rows, rng):
    n, s_off = 5, 2
    state = rng.uniform(0.5, 1.5, size=s_off + 2 * n + 1)
    scratch = rng.uniform(0.1, 2.0, size=k_net.BATCHNORM_SCRATCH * n)
    expected = state.copy()
    k_bn.batchnorm_update_running(expected, s_off, scratch, rows, 0.9)
    d_state = cuda.to_device(state)
    cu_bn.update_running(d_state, s_off, cuda.to_device(scratch), n, rows, 0.9,
                         cuda.to_device(np.zeros(cu_red.N_DEVICE_STATS)))
    np.testing.assert_allclose(d_state.copy_to_host(), expected, rtol=1e-14)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_penalty_matches_cpu(dtype, rng):
    """Two regularized ops (Dense with l1 and l2, Maxout with l2) and one without: the gradient
    added, the value, and the value times the batch's weight sum added to the loss stat."""
    model = fn.Sequential([fn.Dense(40, kernel_regularizer=fn.l1_l2(0.01, 0.02)),
                           fn.Maxout(3, 2, kernel_regularizer=fn.l2(0.05)), fn.Dense(2)],
                          input_dim=17, dtype=np.dtype(dtype).name)
    ops, opf = model.plan.ops, model.plan.opf
    grads = rng.normal(size=model.plan.n_params).astype(dtype)
    expected = grads.copy()
    network = k_net.Network(ops, opf, model.params, expected, model.state, model.params,
                            model.params, None)
    value = k_reg.regularization_penalty(network, True)
    d_grads = cuda.to_device(grads)
    stats = np.zeros(cu_red.N_DEVICE_STATS)
    stats[cu_red.STAT_LAST_WEIGHT] = 4.0
    d_stats = cuda.to_device(stats)
    penalty = cu_reg.Penalty(ops, opf)
    penalty(cuda.to_device(model.params), d_grads, d_stats)
    np.testing.assert_allclose(d_grads.copy_to_host(), expected, **TOL[dtype])
    rtol = 1e-6 if dtype == np.float32 else 1e-12  # the CPU may square in either precision
    np.testing.assert_allclose(penalty.value(), value, rtol=rtol)
    np.testing.assert_allclose(d_stats.copy_to_host()[k_train.STAT_LOSS], 4 * value, rtol=rtol)


def test_gather_rows_matches_cpu(rng):
    source = rng.normal(size=(11, 3))
    order = rng.permutation(11).astype(np.int64)
    dest = cuda.to_device(np.zeros((5, 3)))
    gather_rows[elements(4, 3)](cuda.to_device(source), cuda.to_device(order), 6, 4, dest)
    expected = np.zeros((5, 3))
    k_train.gather_rows(source, order, 6, 10, expected)
    np.testing.assert_array_equal(dest.copy_to_host(), expected)
