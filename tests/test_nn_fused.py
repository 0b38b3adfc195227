"""The fused ReLU, max pool and batchnorm passes against the layers in a row.

Each fused sandwich must equal the composition of the public layer functions it
replaces (to the bit where the fused pass does the same arithmetic, to rounding
where it sums in another order), give the same bits on one thread and on several,
and its kernels must equal their pure-Python source.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from _kernel_harness import kernel_pair
from skdeep.nn.layer_utils import (
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
    conv_norm_relu_forward,
    conv_norm_relu_pool_backward,
    conv_norm_relu_pool_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from skdeep.nn.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward_alt,
    batchnorm_forward,
    conv_backward_fast,
    conv_forward_fast,
    max_pool_backward_fast,
    max_pool_forward_fast,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
)

CONV_PARAM = {"stride": 1, "pad": 1}
# the models' window, and others: overlapping, uneven, one that skips pixels
POOLS = [(2, 2, 2), (3, 3, 2), (2, 3, 1), (2, 2, 3)]
# an image side each window tiles
SIDES = {(2, 2, 2): 12, (3, 3, 2): 13, (2, 3, 1): 12, (2, 2, 3): 14}


@pytest.fixture
def rng():
    return np.random.RandomState(231)


def _pool_param(pool):
    return dict(zip(("pool_height", "pool_width", "stride"), pool))


def _conv_inputs(rng, dtype, N=4, C=3, side=12, F=8):
    x = rng.randn(N, C, side, side).astype(dtype)
    w = (0.3 * rng.randn(F, C, 3, 3)).astype(dtype)
    b = rng.randn(F).astype(dtype)
    return x, w, b


def _conv_relu_pool_in_a_row(x, w, b, pool_param, dout):
    a, conv_cache = conv_forward_fast(x, w, b, CONV_PARAM)
    s, relu_cache = relu_forward(a)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    da = relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache)
    return (out, *conv_backward_fast(da, conv_cache))


def _conv_relu_pool_fused(x, w, b, pool_param, dout):
    out, cache = conv_relu_pool_forward(x, w, b, CONV_PARAM, pool_param)
    return (out, *conv_relu_pool_backward(dout, cache))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", POOLS)
def test_conv_relu_pool_equals_the_layers_in_a_row_to_the_bit(rng, dtype, pool):
    x, w, b = _conv_inputs(rng, dtype, side=SIDES[pool])
    w[0] = 0  # a channel of ties: every window the same value, negative or zero
    b[0] = 0
    b[1] = -1
    w[1] = 0
    pool_param = _pool_param(pool)
    out_shape = max_pool_forward_fast(conv_forward_fast(x, w, b, CONV_PARAM)[0],
                                      pool_param)[0].shape
    dout = rng.randn(*out_shape).astype(dtype)
    fused = _conv_relu_pool_fused(x, w, b, pool_param, dout)
    in_a_row = _conv_relu_pool_in_a_row(x, w, b, pool_param, dout)
    for got, expected in zip(fused, in_a_row):
        assert got.dtype == expected.dtype == dtype
        np.testing.assert_array_equal(got, expected)


def test_relu_pool_ties_and_nan_go_where_the_layers_in_a_row_send_them():
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = 2.0  # a tie: the first in row-major order
    x[0, 0, 0, 2:] = -1.0  # all negative: no gradient
    x[0, 0, 2:, 2:] = [[1.0, np.nan], [np.nan, 5.0]]  # the first NaN wins
    x[0, 0, 3, 0] = -0.0
    pool_param = _pool_param((2, 2, 2))
    dout = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    s, relu_cache = relu_forward(x)
    expected, pool_cache = max_pool_forward_fast(s, pool_param)
    expected_dx = relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache)
    ones = np.ones((1, 1, 1, 1))
    out, cache = conv_relu_pool_forward(x, ones, np.zeros(1), {"stride": 1, "pad": 0},
                                        pool_param)
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(cache[2][2], pool_cache[2])  # the same argmax
    dx = conv_relu_pool_backward(dout, cache)[0]
    np.testing.assert_array_equal(dx, expected_dx)


def test_conv_relu_pool_keeps_no_full_size_map(rng):
    # the pooled output and argmax are a quarter of the convolution's output; the
    # layers in a row kept the ReLU's full output as well
    x, w, b = _conv_inputs(rng, np.float32)
    out, (conv_cache, kept, pool_cache) = conv_relu_pool_forward(
        x, w, b, CONV_PARAM, _pool_param((2, 2, 2)))
    full_size = out.size * 4
    assert kept is out
    assert all(a.size < full_size for a in pool_cache if isinstance(a, np.ndarray))


def _bn_relu_pool_in_a_row(x, w, b, gamma, beta, pool_param, dout):
    a, conv_cache = conv_forward_fast(x, w, b, CONV_PARAM)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, {"mode": "train"})
    s, relu_cache = relu_forward(an)
    out, pool_cache = max_pool_forward_fast(s, pool_param)
    da, dgamma, dbeta = spatial_batchnorm_backward(
        relu_backward(max_pool_backward_fast(dout, pool_cache), relu_cache), bn_cache)
    return (out, *conv_backward_fast(da, conv_cache), dgamma, dbeta)


def _bn_relu_pool_fused(x, w, b, gamma, beta, pool_param, dout, bn_param=None):
    bn_param = {"mode": "train"} if bn_param is None else bn_param
    out, cache = conv_norm_relu_pool_forward(x, w, b, gamma, beta, CONV_PARAM, bn_param,
                                             "batchnorm", pool_param)
    return (out, *conv_norm_relu_pool_backward(dout, cache))


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("pool", POOLS)
def test_conv_batchnorm_relu_pool_equals_the_layers_in_a_row(rng, dtype, rtol, pool):
    x, w, b = _conv_inputs(rng, dtype, side=SIDES[pool])
    x += 20  # an offset the statistics must handle
    gamma = rng.randn(8).astype(dtype)  # negative scales too: the max of x is not it
    beta = rng.randn(8).astype(dtype)
    pool_param = _pool_param(pool)
    out_shape = conv_norm_relu_pool_forward(x, w, b, gamma, beta, CONV_PARAM,
                                            {"mode": "train"}, "batchnorm",
                                            pool_param)[0].shape
    dout = rng.randn(*out_shape).astype(dtype)
    fused = _bn_relu_pool_fused(x, w, b, gamma, beta, pool_param, dout)
    in_a_row = _bn_relu_pool_in_a_row(x, w, b, gamma, beta, pool_param, dout)
    names = ("out", "dx", "dw", "db", "dgamma", "dbeta")
    for name, got, expected in zip(names, fused, in_a_row):
        assert got.dtype == dtype, name
        # db is zero but for rounding (the normalization removes the bias): its
        # scale is that of the gradient it sums
        scale = max(np.abs(expected).max(), np.abs(dout).max())
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale,
                                   err_msg=name)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_batchnorm_relu_pool_in_test_mode_equals_the_layers_in_a_row(rng, dtype):
    x, w, b = _conv_inputs(rng, dtype)
    gamma, beta = rng.randn(8).astype(dtype), rng.randn(8).astype(dtype)
    running = {"running_mean": rng.randn(8).astype(dtype),
               "running_var": rng.rand(8).astype(dtype) + 1}
    pool_param = _pool_param((2, 2, 2))
    out, cache = conv_norm_relu_pool_forward(
        x, w, b, gamma, beta, CONV_PARAM, {"mode": "test", **running}, "batchnorm",
        pool_param)
    s, _ = conv_norm_relu_forward(x, w, b, gamma, beta, CONV_PARAM,
                                  {"mode": "test", **running}, "batchnorm")
    # to rounding: the compiler may contract the normalization's multiply and add
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(out, max_pool_forward_fast(s, pool_param)[0], rtol=rtol,
                               atol=rtol)
    with pytest.raises(ValueError, match="keeps no cache in test mode"):
        conv_norm_relu_pool_backward(np.ones_like(out), cache)


def test_fused_pool_refuses_bad_windows_before_updating_running_statistics(rng):
    x, w, b = _conv_inputs(rng, np.float64, side=5)
    bn_param = {"mode": "train"}
    with pytest.raises(ValueError, match="stride 2 does not tile the height"):
        conv_norm_relu_pool_forward(x, w, b, np.ones(8), np.zeros(8), CONV_PARAM,
                                    bn_param, "batchnorm", _pool_param((2, 2, 2)))
    assert "running_mean" not in bn_param


def _every_fused_path(x, w, b, gamma, beta, dout, dout_pooled):
    pool_param = _pool_param((2, 2, 2))
    out, cache = conv_relu_forward(x, w, b, CONV_PARAM)
    results = [out, *conv_relu_backward(dout, cache)]
    results += _conv_relu_pool_fused(x, w, b, pool_param, dout_pooled)
    results += _bn_relu_pool_fused(x, w, b, gamma, beta, pool_param, dout_pooled)
    s, cache = relu_forward(dout)
    return results + [s, relu_backward(dout_pooled[::-1].repeat(2, 2).repeat(2, 3), cache)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_paths_give_the_same_bits_on_one_thread_and_on_several(rng, dtype):
    # big enough for every kernel's parallel loop
    x, w, b = _conv_inputs(rng, dtype, N=16, C=3, side=16, F=32)
    gamma, beta = rng.randn(32).astype(dtype), rng.randn(32).astype(dtype)
    dout = rng.randn(16, 32, 16, 16).astype(dtype)
    dout_pooled = rng.randn(16, 32, 8, 8).astype(dtype)
    with threadpool_limits(2, user_api="openmp"):
        several = _every_fused_path(x, w, b, gamma, beta, dout, dout_pooled)
    with threadpool_limits(1, user_api="openmp"):
        one = _every_fused_path(x, w, b, gamma, beta, dout, dout_pooled)
    for a_several, a_one in zip(several, one):
        np.testing.assert_array_equal(a_several, a_one)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_kernels_equal_the_numpy_formula(rng, dtype):
    x = rng.randn(5, 40000).astype(dtype)  # parallel chunks and a partial last one
    x[0, :3] = [np.nan, -0.0, 0.0]
    dout = rng.randn(*x.shape).astype(dtype)
    dout[1, :2] = np.nan
    out, cache = relu_forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    assert out.dtype == dtype and out is not x
    np.testing.assert_array_equal(relu_backward(dout, cache), dout * (np.maximum(x, 0) > 0))
    # strided and integer inputs take NumPy's path, with the same results
    np.testing.assert_array_equal(relu_forward(x[:, ::2])[0], np.maximum(x[:, ::2], 0))
    assert relu_forward(np.arange(-3, 3))[0].dtype == np.arange(3).dtype


def test_sandwiches_with_an_in_place_relu_equal_the_layers_in_a_row(rng):
    x, w, b = rng.randn(6, 4, 5), rng.randn(20, 7), rng.randn(7)
    dout = rng.randn(6, 7)
    a, fc_cache = affine_forward(x, w, b)
    s, relu_cache = relu_forward(a)
    out, cache = affine_relu_forward(x, w, b)
    np.testing.assert_array_equal(out, s)
    expected = affine_backward(relu_backward(dout, relu_cache), fc_cache)
    for got, want in zip(affine_relu_backward(dout, cache), expected):
        np.testing.assert_array_equal(got, want)

    gamma, beta = rng.randn(7), rng.randn(7)
    an, bn_cache = batchnorm_forward(a, gamma, beta, {"mode": "train"})
    s, relu_cache = relu_forward(an)
    out, cache = affine_norm_relu_forward(x, w, b, gamma, beta, {"mode": "train"},
                                          "batchnorm")
    np.testing.assert_array_equal(out, s)
    da, dgamma, dbeta = batchnorm_backward_alt(relu_backward(dout, relu_cache), bn_cache)
    expected = (*affine_backward(da, fc_cache), dgamma, dbeta)
    for got, want in zip(affine_norm_relu_backward(dout, cache), expected):
        np.testing.assert_array_equal(got, want)

    xc, wc, bc = _conv_inputs(rng, np.float32)
    a, conv_cache = conv_forward_fast(xc, wc, bc, CONV_PARAM)
    s, relu_cache = relu_forward(a)
    out, cache = conv_relu_forward(xc, wc, bc, CONV_PARAM)
    np.testing.assert_array_equal(out, s)
    dout = rng.randn(*out.shape).astype(np.float32)
    expected = conv_backward_fast(relu_backward(dout, relu_cache), conv_cache)
    for got, want in zip(conv_relu_backward(dout, cache), expected):
        np.testing.assert_array_equal(got, want)


@pytest.fixture(scope="module")
def activation_kernels():
    return kernel_pair("_activations")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pool", POOLS)
def test_compiled_activation_kernels_equal_their_python_source(activation_kernels, rng,
                                                               dtype, pool):
    HH, WW, stride = pool
    N, C, H, W = 2, 3, SIDES[pool], SIDES[pool]
    H_out, W_out = (H - HH) // stride + 1, (W - WW) // stride + 1
    x = rng.randn(N, C, H, W).astype(dtype)
    x[0, 0, :2, :2] = 0  # a tie
    x[-1, -1, -2:, -2:] = np.nan
    mean, scale, beta = (rng.randn(C).astype(dtype) for _ in range(3))
    dout = rng.randn(N, C, H_out * W_out).astype(dtype)
    flat = rng.randn(1000).astype(dtype)
    results = []
    for module in activation_kernels:
        out = np.empty((N, C, H_out, W_out), dtype=dtype)
        argmax = np.empty((N, C, H_out, W_out), dtype=np.int32)
        module.normalize_relu_pool(x, mean, scale, beta, HH, WW, stride, out, argmax)
        dx = np.full((N * C, H * W), np.nan, dtype=dtype)
        module.relu_pool_backward(dout.reshape(N * C, -1), out.reshape(N * C, -1),
                                  argmax.reshape(N * C, -1), dx)
        relu, drelu = np.empty_like(flat), np.empty_like(flat)
        module.relu(flat, relu)
        module.relu_backward(flat[::-1].copy(), relu, drelu)
        # the batchnorm gradient (for windows that do not overlap), on the
        # compiled pool's output so that both read the same maxima
        out0, argmax0 = (results[0][0], results[0][1]) if results else (out, argmax)
        bn_dx = np.full((N, C, H * W), np.nan, dtype=dtype)
        dgamma, dbeta = np.empty(C), np.empty(C)
        if stride >= max(HH, WW):
            module.normalize_relu_pool_backward(
                dout, out0.reshape(N, C, -1), argmax0.reshape(N, C, -1),
                x.reshape(N, C, -1), mean, np.abs(scale), beta, bn_dx, dgamma, dbeta)
        results.append((out, argmax, dx, relu, drelu, bn_dx, dgamma, dbeta))
    (out, *exact, bn_dx, dgamma, dbeta), (out_py, *exact_py, bn_dx_py, dgamma_py,
                                          dbeta_py) = results
    # to rounding: the compiler may contract the normalization's multiply and add,
    # and sums in another order
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out, out_py, rtol=rtol, atol=rtol)
    for got, want in ((bn_dx, bn_dx_py), (dgamma, dgamma_py), (dbeta, dbeta_py)):
        if stride < max(HH, WW):
            break
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * np.nanmax(np.abs(want)))
    for compiled, python in zip(exact, exact_py):
        np.testing.assert_array_equal(compiled, python)
