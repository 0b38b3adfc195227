"""The models' step plans (skdeep.nn._arena), of the MLP and of the ConvNet: the same
bits as the layer functions, buffers reused across steps, nothing carried by pickles
or copies."""
import contextlib
import copy
import os
import pickle
import subprocess
import sys
import textwrap
import tracemalloc

import numpy as np
import pytest

from skdeep.nn import _arena
from skdeep.nn.models import ConvNet, FullyConnectedNet
from skdeep.nn.solver import Solver
from skdeep.neural_network import MLPClassifier


def _mlp(normalization=None, keep=1, dtype=np.float32, hidden=(32, 32, 32), input_dim=60,
         reg=1e-2):
    """Hidden layers of one size, so that a buffer wrongly shared between two
    layers' sites would be handed out twice in a step (and change the bits)."""
    return FullyConnectedNet(list(hidden), input_dim=input_dim, normalization=normalization,
                             dropout_keep_ratio=keep, dtype=dtype, reg=reg,
                             random_state=np.random.default_rng(1))


def _data(n=230, d=60, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, d).astype(np.float32), rng.randint(10, size=n)


def _fit(model, X, y, update_rule="adam", plan=True, batch_size=64):
    solver = Solver(model, {"X_train": X, "y_train": y, "X_val": X[:50], "y_val": y[:50]},
                    update_rule=update_rule, batch_size=batch_size, num_epochs=3,
                    verbose=False, random_state=0)
    if plan:
        solver.train()
    else:
        with _arena.disabled():
            solver.train()
    return solver


def _assert_same_models(a, b):
    assert a.params.keys() == b.params.keys()
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name], err_msg=name)
    for bn_a, bn_b in zip(a.bn_params, b.bn_params):
        for key in ("running_mean", "running_var"):
            if key in bn_a:
                np.testing.assert_array_equal(bn_a[key], bn_b[key], err_msg=key)


@pytest.mark.parametrize("normalization", [None, "batchnorm", "layernorm"])
@pytest.mark.parametrize("keep", [1, 0.7])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("update_rule", ["adam", "sgd_momentum"])
def test_fit_on_the_plan_is_bit_identical_to_the_layer_functions(normalization, keep,
                                                                 dtype, update_rule):
    """A fit whose steps reuse buffers (gradients included) ends with the very bits
    of the same fit on the public layer functions, which allocate every array."""
    X, y = _data()
    planned, reference = _mlp(normalization, keep, dtype), _mlp(normalization, keep, dtype)
    solver = _fit(planned, X, y, update_rule)
    solver_ref = _fit(reference, X, y, update_rule, plan=False)
    assert solver.loss_history == solver_ref.loss_history
    _assert_same_models(planned, reference)
    assert planned not in _arena._arenas  # released at the end of training


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_changing_batch_shapes_reuse_and_replace_buffers(normalization):
    """Steps of alternating batch sizes (the short last batch of an epoch) give the
    reference's losses and gradients, and the arena stops growing: a site keeps
    the buffers of its last two shapes, and a third shape replaces the oldest."""
    X, y = _data(n=300)
    planned, reference = _mlp(normalization, 0.8), _mlp(normalization, 0.8)
    sizes = [64, 38, 64, 38, 64, 17, 64, 38]
    held = []
    for step, n in enumerate(sizes):
        loss, grads, _ = planned._data_loss(X[:n], y[:n], reuse_grads=True)
        with _arena.disabled():
            loss_ref, grads_ref, _ = reference._data_loss(X[:n], y[:n])
        assert loss == loss_ref
        for name in grads_ref:
            np.testing.assert_array_equal(grads[name], grads_ref[name], err_msg=name)
        held.append(_arena.arena_of(planned).nbytes)
    assert held[1] > held[0]  # the second shape got buffers of its own
    assert held[2] == held[3] == held[1]  # both shapes reused, nothing new
    assert held[5] <= held[1]  # a third shape replaced one, it did not add up


def test_reused_gradients_are_rewritten_but_loss_returns_fresh_ones():
    """Only a caller that asks (the Solver) gets gradients in reused buffers; the
    public ``loss`` returns arrays the caller owns, as the layer API does."""
    X, y = _data()
    model = _mlp("batchnorm")
    _, grads = model.loss(X[:64], y[:64])
    kept = {name: g.copy() for name, g in grads.items()}
    model.loss(X[64:128], y[64:128])
    for name in grads:
        np.testing.assert_array_equal(grads[name], kept[name], err_msg=name)
    _, reused, _ = model._data_loss(X[:64], y[:64], reuse_grads=True)
    _, again, _ = model._data_loss(X[64:128], y[64:128], reuse_grads=True)
    assert all(again[name] is reused[name] for name in ("W1", "b1", "W2", "W4"))


def test_pickles_and_copies_carry_no_arena():
    """The arena lives beside the model: a pickle or a copy has none, and a copy
    trained next to the original gets its own buffers."""
    X, y = _data()
    model = _mlp("batchnorm", 0.8)
    model._data_loss(X[:64], y[:64], reuse_grads=True)
    arena = _arena.arena_of(model)
    assert arena.nbytes > 0
    assert not any(isinstance(v, _arena.Arena) for v in vars(model).values())
    assert len(pickle.dumps(model)) < sum(p.nbytes for p in model.params.values()) + 20000
    twin = copy.deepcopy(model)
    assert _arena.arena_of(twin) is not arena
    assert _arena.arena_of(pickle.loads(pickle.dumps(model))).nbytes == 0


def test_estimator_fit_is_unchanged_by_the_plan():
    """MLPClassifier with batchnorm and dropout: the same fitted weights with and
    without step plans."""
    X, y = _data(n=200, d=20)
    settings = dict(hidden_layer_sizes=(16, 16), normalization="batchnorm",
                    dropout_keep_ratio=0.8, num_epochs=3, batch_size=32, random_state=0)
    planned = MLPClassifier(**settings).fit(X, y)
    with _arena.disabled():
        reference = MLPClassifier(**settings).fit(X, y)
    _assert_same_models(planned.model_, reference.model_)


def _steady_step(plan, normalization, keep):
    """The Solver and batch of a 3072-200x4-10 MLP after two warm-up steps, and
    the bytes of the maps one step makes (activations and their gradients)."""
    X, y = _data(n=256, d=3072)
    model = FullyConnectedNet([200] * 4, normalization=normalization,
                              dropout_keep_ratio=keep, reg=1e-3,
                              random_state=np.random.default_rng(0))
    solver = Solver(model, {"X_train": X, "y_train": y}, update_rule="adam",
                    batch_size=256, num_epochs=1, verbose=False, random_state=0)
    context = contextlib.nullcontext if plan else _arena.disabled
    with context():
        for _ in range(2):
            solver._step(X, y)
    weights = sum(w.nbytes for w in model.params.values())
    maps = 4 * 256 * 200 * 4  # one map of each hidden layer's output, float32
    return solver, X, y, context, weights + 2 * maps


@pytest.mark.parametrize("normalization, keep", [(None, 1), ("batchnorm", 0.8)])
def test_steady_state_step_allocates_nearly_nothing(normalization, keep):
    """tracemalloc during a training step of the Solver (forward, backward, Adam)
    after two warm-up steps of the same batch shape.

    Counted: every allocation of Python and NumPy (array data included).  Not
    counted: memory allocated inside the Pythran kernels (the ReLU, the update
    rule), which goes through malloc unseen by tracemalloc (checked: a kernel's
    16 MB internal buffer leaves a traced peak under 1 kB); the page-fault test
    below covers those.  The bound is a fraction of the gradients' and of two
    activation maps per layer, the least a step makes afresh without a plan.
    """
    results = {}
    for plan in (True, False):
        solver, X, y, context, step_bytes = _steady_step(plan, normalization, keep)
        with context():
            tracemalloc.start()
            try:
                before = tracemalloc.get_traced_memory()[0]
                solver._step(X, y)
                results[plan] = tracemalloc.get_traced_memory()[1] - before
            finally:
                tracemalloc.stop()
    assert results[True] < 0.05 * step_bytes, results
    assert results[False] > 0.5 * step_bytes, results


_FAULTS_SCRIPT = textwrap.dedent("""
    import ctypes, resource, sys
    libc = ctypes.CDLL(None)
    libc.mallopt(-3, 1 << 16)  # M_MMAP_THRESHOLD: every block >= 64 kB is a fresh mapping
    import numpy as np
    np._core.multiarray._set_madvise_hugepage(False)  # 4 kB pages: faults count bytes
    sys.path.insert(0, {tests!r})
    import test_nn_arena as t
    for plan in (True, False):
        solver, X, y, context, step_bytes = t._steady_step(plan, None, 1)
        with context():
            f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            solver._step(X, y)
            f1 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        print((f1 - f0) * 4096, step_bytes)
""")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_steady_state_step_maps_no_new_memory():
    """Counted by page faults, in a process where glibc maps every block of 64 kB
    or more afresh and unmaps it when freed: a step that allocated a large
    buffer anywhere (NumPy, BLAS or inside a Pythran kernel, which tracemalloc
    does not see) would fault its pages in.  Small blocks from glibc's heap
    are not counted; the tracemalloc test bounds those of Python and NumPy."""
    script = _FAULTS_SCRIPT.format(tests=os.path.dirname(__file__))
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         env=env, check=True).stdout.split("\n")
    (planned, step_bytes), (unplanned, _) = [map(int, line.split()) for line in out[:2]]
    assert planned < 0.05 * step_bytes, (planned, unplanned, step_bytes)
    assert unplanned > 0.5 * step_bytes, (planned, unplanned, step_bytes)


def _convnet(images, normalization="batchnorm", activation="relu", pool_before_norm=True,
             whitening=True, dtype=np.float32):
    """Two blocks of the airbench shape (the pool after each block's first conv) with
    16 filters, so that the convs after the first take the Winograd path and the
    first one im2col; layers 2 and 3 convolve maps of one shape, so that a buffer
    wrongly shared between their sites would change the bits."""
    return ConvNet([16, 16, 16, 16], filter_size=3, pool_every=2, pool_after="first",
                   hidden_dims=(), input_dim=images.shape[1:], normalization=normalization,
                   num_groups=4, activation=activation, pool_before_norm=pool_before_norm,
                   whitening=images[:40] if whitening else None, reg=1e-3, dtype=dtype,
                   random_state=np.random.default_rng(3))


def _images(n, size=16, seed=0):
    rng = np.random.RandomState(seed)
    return rng.randn(n, 3, size, size).astype(np.float32), rng.randint(10, size=n)


@pytest.mark.parametrize("normalization, activation, pool_before_norm, whitening", [
    ("batchnorm", "relu", True, True),  # the cifar10-fast recipe's layers
    ("batchnorm", "relu", False, False),  # the fused batchnorm-ReLU-pool
    ("groupnorm", "relu", True, False),
    ("groupnorm", "relu", False, True),
    (None, "relu", False, False),  # the unplanned layers, beside a planned output
    ("batchnorm", "gelu", True, False),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_convnet_fit_on_the_plan_is_bit_identical_to_the_layer_functions(
        normalization, activation, pool_before_norm, whitening, dtype):
    """The ConvNet's steps on its plan (conv, pool, norm-ReLU and output maps reused,
    a short last batch taking turns with the full ones) end with the very bits of
    the same fit on the public layer functions."""
    X, y = _images(100)
    planned = _convnet(X, normalization, activation, pool_before_norm, whitening, dtype)
    reference = _convnet(X, normalization, activation, pool_before_norm, whitening, dtype)
    solver = _fit(planned, X, y, "sgd_momentum", batch_size=32)
    solver_ref = _fit(reference, X, y, "sgd_momentum", plan=False, batch_size=32)
    assert solver.loss_history == solver_ref.loss_history
    _assert_same_models(planned, reference)
    assert planned not in _arena._arenas  # released at the end of training


def _convnet_step_peak(n, plan):
    """The traced peak of one Solver step (forward, backward, update) of the
    recipe-shaped ConvNet on a batch of ``n`` 32x32 images, after two warm-up
    steps, and the bytes its plan holds."""
    X, y = _images(n, size=32)
    model = _convnet(X)
    solver = Solver(model, {"X_train": X, "y_train": y}, update_rule="sgd_momentum",
                    batch_size=n, num_epochs=1, verbose=False, random_state=0)
    context = contextlib.nullcontext() if plan else _arena.disabled()
    with context:
        for _ in range(2):
            solver._step(X, y)
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            solver._step(X, y)
            peak = tracemalloc.get_traced_memory()[1] - before
        finally:
            tracemalloc.stop()
    return peak, _arena.arena_of(model).nbytes if plan else None


def test_convnet_steady_state_step_allocates_no_maps():
    """What a steady-state step allocates does not grow with the batch: from 128
    to 512 images the plan's buffers grow by the maps of 384 images, and the
    step's traced peak by a small fraction of that (the output layer's scores
    and the like); the step's constant part is the convolutions' per-block
    scratch (columns and tiles, bounded by the block size whatever the batch).
    Without the plan the peak grows with the maps."""
    small, small_arena = _convnet_step_peak(128, True)
    large, large_arena = _convnet_step_peak(512, True)
    maps = large_arena - small_arena
    assert maps > 0
    assert large - small < 0.03 * maps, (small, large, maps)
    unplanned_small, _ = _convnet_step_peak(128, False)
    unplanned_large, _ = _convnet_step_peak(512, False)
    assert unplanned_large - unplanned_small > 0.5 * maps


def _normalize_expressions(x, gamma, beta, dout, eps, axis):
    """The normalization's forward and backward as the plain NumPy expressions the
    layer functions were before they took buffers: each result laid out as NumPy
    lays out an expression's result, which the later reductions follow."""
    mean = x.mean(axis=axis, keepdims=True)
    xhat = x - mean
    var = np.mean(np.square(xhat), axis=axis, keepdims=True)
    inv_std = 1 / np.sqrt(var + eps)
    xhat *= inv_std
    out = xhat * gamma + beta
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    if axis == 0:
        dx = dout - dbeta / len(x)
        dx -= xhat * (dgamma / len(x))
        dx *= gamma * inv_std
        return out, dx, dgamma, dbeta
    g = dout * gamma
    gx_mean = (g * xhat).mean(axis=axis, keepdims=True)
    g -= g.mean(axis=axis, keepdims=True)
    g -= xhat * gx_mean
    g *= inv_std
    return out, g, dgamma, dbeta


@pytest.mark.parametrize("layout", ["C", "F", "strided"])
@pytest.mark.parametrize("normalization", ["batchnorm", "layernorm"])
def test_layer_functions_keep_their_bits_for_any_layout(layout, normalization):
    """The layer functions, now on the helpers that take buffers, give the bits of
    their former expressions for inputs of any memory layout (float32 sums
    follow the layout of what they sum)."""
    from skdeep.nn import layers
    rng = np.random.RandomState(0)
    base = rng.randn(300, 70).astype(np.float32)
    x = {"C": base, "F": np.asfortranarray(base), "strided": base[::2, 1:]}[layout]
    gamma, beta = rng.randn(2, x.shape[1]).astype(np.float32)
    dout = np.asfortranarray(rng.randn(*x.shape).astype(np.float32))
    if normalization == "batchnorm":
        out, cache = layers.batchnorm_forward(x, gamma, beta, {"mode": "train"})
        grads = layers.batchnorm_backward_alt(dout, cache)
    else:
        out, cache = layers.layernorm_forward(x, gamma, beta, {})
        grads = layers.layernorm_backward(dout, cache)
    axis = 0 if normalization == "batchnorm" else 1
    expected = _normalize_expressions(x, gamma, beta, dout, 1e-5, axis)
    for got, want in zip((out, *grads), expected):
        np.testing.assert_array_equal(got, want)
