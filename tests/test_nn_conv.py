"""Convolution, pooling and spatial normalization layers, and ThreeLayerConvNet.

The naive layers are checked against the values the CS231n notebooks publish and
against centered differences; the fast layers against the naive ones.
"""
import numpy as np
import pytest

from skdeep.nn.gradcheck import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from skdeep.nn.layer_utils import (
    SPATIAL_NORMALIZATIONS,
    conv_norm_relu_backward,
    conv_norm_relu_forward,
    conv_norm_relu_pool_backward,
    conv_norm_relu_pool_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from skdeep.nn import optim
from skdeep.nn._checks import MODES
from skdeep.nn.layers import (
    _spatial_batchnorm_relu_forward,
    _takes_winograd,
    batchnorm_backward,
    batchnorm_forward,
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    dropout_forward,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)
from skdeep.nn.models import ThreeLayerConvNet
from skdeep.nn.solver import Solver


@pytest.fixture
def rng():
    return np.random.RandomState(231)


# --- values published in the CS231n notebooks (assignment 2, ConvolutionalNetworks) --

def test_conv_forward_naive_cs231n_values():
    x_shape, w_shape = (2, 3, 4, 4), (3, 3, 4, 4)
    x = np.linspace(-0.1, 0.5, num=np.prod(x_shape)).reshape(x_shape)
    w = np.linspace(-0.2, 0.3, num=np.prod(w_shape)).reshape(w_shape)
    b = np.linspace(-0.1, 0.2, num=3)
    out, _ = conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    # correct_out of the CS231n notebook's conv_forward_naive cell
    correct_out = np.array([[[[-0.08759809, -0.10987781],
                              [-0.18387192, -0.2109216]],
                             [[0.21027089, 0.21661097],
                              [0.22847626, 0.23004637]],
                             [[0.50813986, 0.54309974],
                              [0.64082444, 0.67101435]]],
                            [[[-0.98053589, -1.03143541],
                              [-1.19128892, -1.24695841]],
                             [[0.69108355, 0.66880383],
                              [0.59480972, 0.56776003]],
                             [[2.36270298, 2.36904306],
                              [2.38090835, 2.38247847]]]])
    # the notebook expects a difference around 2e-8 (the values carry 8 decimals)
    assert rel_error(out, correct_out) < 1e-7
    assert rel_error(conv_forward_fast(x, w, b, {"stride": 2, "pad": 1})[0],
                     correct_out) < 1e-7


def test_max_pool_forward_naive_cs231n_values():
    x_shape = (2, 3, 4, 4)
    x = np.linspace(-0.3, 0.4, num=np.prod(x_shape)).reshape(x_shape)
    pool_param = {"pool_width": 2, "pool_height": 2, "stride": 2}
    out, _ = max_pool_forward_naive(x, pool_param)
    # correct_out of the CS231n notebook's max_pool_forward_naive cell
    correct_out = np.array([[[[-0.26315789, -0.24842105],
                              [-0.20421053, -0.18947368]],
                             [[-0.14526316, -0.13052632],
                              [-0.08631579, -0.07157895]],
                             [[-0.02736842, -0.01263158],
                              [0.03157895, 0.04631579]]],
                            [[[0.09052632, 0.10526316],
                              [0.14947368, 0.16421053]],
                             [[0.20842105, 0.22315789],
                              [0.26736842, 0.28210526]],
                             [[0.32631579, 0.34105263],
                              [0.38526316, 0.4]]]])
    assert rel_error(out, correct_out) < 1e-7
    assert rel_error(max_pool_forward_fast(x, pool_param)[0], correct_out) < 1e-7


def test_spatial_batchnorm_train_statistics_as_in_cs231n(rng):
    # the notebook's check: per-channel means and stds over (N, H, W) of the output
    # are 0 and 1 with gamma = 1, beta = 0, and beta and gamma otherwise
    N, C, H, W = 2, 3, 4, 5
    x = 4 * rng.randn(N, C, H, W) + 10
    out, _ = spatial_batchnorm_forward(x, np.ones(C), np.zeros(C), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    # eps = 1e-5 against a variance of about 16 shrinks the std by about 3e-7
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), 1, rtol=1e-6)
    gamma, beta = np.array([3.0, 4.0, 5.0]), np.array([6.0, 7.0, 8.0])
    out, _ = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), beta, rtol=1e-12)
    np.testing.assert_allclose(out.std(axis=(0, 2, 3)), gamma, rtol=1e-6)


def test_spatial_batchnorm_test_mode_uses_running_statistics(rng):
    # the notebook's test-time check: after many training batches, test-mode
    # outputs of a fresh batch have means near 0 and stds near 1 per channel
    N, C, H, W = 10, 4, 11, 12
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(C), np.zeros(C)
    for _ in range(50):
        spatial_batchnorm_forward(2.3 * rng.randn(N, C, H, W) + 13, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    out, cache = spatial_batchnorm_forward(2.3 * rng.randn(N, C, H, W) + 13, gamma,
                                           beta, bn_param)
    assert cache[1] is None
    assert np.abs(out.mean(axis=(0, 2, 3))).max() < 0.1
    assert np.abs(out.std(axis=(0, 2, 3)) - 1).max() < 0.1
    # and exactly the affine map of the running statistics
    x = rng.randn(N, C, H, W)
    expected = ((x - bn_param["running_mean"][:, None, None])
                / np.sqrt(bn_param["running_var"][:, None, None] + 1e-5))
    np.testing.assert_allclose(spatial_batchnorm_forward(x, gamma, beta, bn_param)[0],
                               expected, rtol=1e-12)


def test_spatial_groupnorm_statistics(rng):
    N, C, H, W, G = 2, 6, 4, 5, 2
    x = 4 * rng.randn(N, C, H, W) + 10
    gamma, beta = np.ones((1, C, 1, 1)), np.zeros((1, C, 1, 1))
    out, _ = spatial_groupnorm_forward(x, gamma, beta, G, {})
    groups = out.reshape(N, G, -1)
    np.testing.assert_allclose(groups.mean(axis=2), 0, atol=1e-12)
    np.testing.assert_allclose(groups.std(axis=2), 1, rtol=1e-5)
    # each channel of a group is scaled and shifted by its own gamma and beta
    gamma = rng.rand(1, C, 1, 1) + 0.5
    beta = rng.randn(1, C, 1, 1)
    scaled, _ = spatial_groupnorm_forward(x, gamma, beta, G, {"eps": 1e-5})
    np.testing.assert_allclose(scaled, out * gamma + beta, rtol=1e-12, atol=1e-12)
    # statistics are per sample: a sample's output does not depend on the others
    alone, _ = spatial_groupnorm_forward(x[:1], gamma, beta, G, {})
    np.testing.assert_allclose(alone, scaled[:1], rtol=1e-12, atol=1e-12)


# --- gradients against centered differences (float64) ---

CONV_CASES = [
    # (N, C, H, W), (F, HH, WW), stride, pad
    ((2, 3, 5, 5), (2, 3, 3), 1, 1),
    ((2, 2, 7, 9), (2, 3, 5), 2, 1),
    ((1, 1, 6, 4), (2, 2, 4), 2, 3),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", CONV_CASES)
@pytest.mark.parametrize("forward, backward", [
    (conv_forward_naive, conv_backward_naive),
    (conv_forward_fast, conv_backward_fast),
])
def test_conv_backward_gradients(rng, forward, backward, x_shape, w_shape, stride, pad):
    F, HH, WW = w_shape
    x = rng.randn(*x_shape)
    w = rng.randn(F, x_shape[1], HH, WW)
    b = rng.randn(F)
    conv_param = {"stride": stride, "pad": pad}
    out, cache = forward(x, w, b, conv_param)
    dout = rng.randn(*out.shape)
    dx_num = eval_numerical_gradient_array(lambda x: forward(x, w, b, conv_param)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: forward(x, w, b, conv_param)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: forward(x, w, b, conv_param)[0], b, dout)
    dx, dw, db = backward(dout, cache)
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dw, dw_num) < 1e-7
    assert rel_error(db, db_num) < 1e-7


@pytest.mark.parametrize("forward, backward", [
    (max_pool_forward_naive, max_pool_backward_naive),
    (max_pool_forward_fast, max_pool_backward_fast),
])
@pytest.mark.parametrize("pool_param", [
    {"pool_height": 2, "pool_width": 2, "stride": 2},
    {"pool_height": 3, "pool_width": 2, "stride": 1},
])
def test_max_pool_backward_gradients(rng, forward, backward, pool_param):
    x = rng.randn(2, 2, 6, 5) if pool_param["stride"] == 1 else rng.randn(3, 2, 8, 8)
    out, cache = forward(x, pool_param)
    dout = rng.randn(*out.shape)
    dx_num = eval_numerical_gradient_array(lambda x: forward(x, pool_param)[0], x, dout)
    assert rel_error(backward(dout, cache), dx_num) < 1e-7


def test_spatial_batchnorm_gradients(rng):
    N, C, H, W = 2, 3, 4, 5
    x = 5 * rng.randn(N, C, H, W) + 12
    gamma, beta = rng.randn(C), rng.randn(C)
    dout = rng.randn(N, C, H, W)

    def f(_):
        return spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})[0]

    _, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    dx, dgamma, dbeta = spatial_batchnorm_backward(dout, cache)
    assert rel_error(dx, eval_numerical_gradient_array(f, x, dout)) < 1e-6
    assert rel_error(dgamma, eval_numerical_gradient_array(f, gamma, dout)) < 1e-6
    assert rel_error(dbeta, eval_numerical_gradient_array(f, beta, dout)) < 1e-6


def test_spatial_groupnorm_gradients(rng):
    N, C, H, W, G = 2, 6, 4, 5, 2
    x = 5 * rng.randn(N, C, H, W) + 12
    gamma, beta = rng.randn(1, C, 1, 1), rng.randn(1, C, 1, 1)
    dout = rng.randn(N, C, H, W)

    def f(_):
        return spatial_groupnorm_forward(x, gamma, beta, G, {})[0]

    _, cache = spatial_groupnorm_forward(x, gamma, beta, G, {})
    dx, dgamma, dbeta = spatial_groupnorm_backward(dout, cache)
    assert dgamma.shape == dbeta.shape == (1, C, 1, 1)
    assert rel_error(dx, eval_numerical_gradient_array(f, x, dout)) < 1e-6
    assert rel_error(dgamma, eval_numerical_gradient_array(f, gamma, dout)) < 1e-6
    assert rel_error(dbeta, eval_numerical_gradient_array(f, beta, dout)) < 1e-6


# --- the fast layers equal the naive ones ---

FAST_CASES = [
    # (N, C, H, W), (F, HH, WW), stride, pad
    ((2, 3, 8, 8), (4, 3, 3), 1, 1),
    ((3, 3, 9, 7), (2, 3, 3), 2, 0),
    ((1, 1, 5, 8), (3, 3, 2), 1, 3),
    ((2, 1, 11, 7), (2, 5, 3), 2, 3),
    ((1, 3, 4, 4), (5, 4, 4), 1, 0),
]


@pytest.mark.parametrize("x_shape, w_shape, stride, pad", FAST_CASES)
def test_fast_conv_equals_naive(rng, x_shape, w_shape, stride, pad):
    F, HH, WW = w_shape
    x = rng.randn(*x_shape)
    w = rng.randn(F, x_shape[1], HH, WW)
    b = rng.randn(F)
    conv_param = {"stride": stride, "pad": pad}
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    np.testing.assert_allclose(out_fast, out_naive, rtol=0, atol=1e-10)
    dout = rng.randn(*out_naive.shape)
    for g_fast, g_naive in zip(conv_backward_fast(dout, cache_fast),
                               conv_backward_naive(dout, cache_naive)):
        assert g_fast.shape == g_naive.shape
        np.testing.assert_allclose(g_fast, g_naive, rtol=0, atol=1e-10)
    dx, dw, db = conv_backward_fast(dout, cache_fast, compute_dx=False)
    assert dx is None
    np.testing.assert_allclose(dw, conv_backward_naive(dout, cache_naive)[1], atol=1e-10)


# 3x3 filters at stride 1 and pad 1 over enough channels take Winograd F(2x2, 3x3)
WINOGRAD_CASES = [
    # (N, C, H, W), F: even and odd sides, a single pixel, the channel threshold
    ((2, 16, 8, 8), 16),
    ((3, 17, 5, 7), 20),
    ((2, 16, 1, 1), 16),
    ((1, 32, 2, 3), 19),
    # enough images for several blocks
    ((19, 16, 4, 4), 24),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, F, pool", [
    ((5, 16, 12, 12), 16, (2, 2, 2)),  # the models' pool
    ((5, 16, 13, 13), 16, (3, 3, 2)),  # overlapping windows
    ((3, 16, 14, 14), 16, (2, 2, 3)),  # windows that skip pixels
    ((2, 16, 7, 7), 20, (3, 3, 2)),  # an odd size: tiles past the edge
    ((19, 16, 6, 6), 24, (2, 2, 2)),  # enough images for several blocks
])
def test_conv_pool_backward_reads_the_pooled_gradient_as_the_layers_in_a_row(
        rng, dtype, x_shape, F, pool):
    """The Winograd backward pass from a max pool's gradient and argmax gives the
    bits of max_pool_backward_fast then conv_backward_fast for dx and dw (the
    transforms see the very same full-size gradient, overlapping windows
    summed in the same order), db to rounding (it sums the pooled gradient),
    on one thread and on several."""
    from threadpoolctl import threadpool_limits
    from skdeep.nn._arena import FRESH
    from skdeep.nn.layers import _conv_pool_backward
    x = rng.randn(*x_shape).astype(dtype)
    w = rng.randn(F, x_shape[1], 3, 3).astype(dtype)
    b = rng.randn(F).astype(dtype)
    pool_param = dict(zip(("pool_height", "pool_width", "stride"), pool))
    a, conv_cache = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    pooled, pool_cache = max_pool_forward_fast(a, pool_param)
    dpooled = rng.randn(*pooled.shape).astype(dtype)
    in_a_row = conv_backward_fast(max_pool_backward_fast(dpooled, pool_cache), conv_cache)
    assert _takes_winograd(x, w, 1, 1)
    for threads in (1, 2):
        with threadpool_limits(threads, user_api="openmp"):
            dx, dw, db = _conv_pool_backward(dpooled, conv_cache, pool_cache, True, FRESH)
        np.testing.assert_array_equal(dx, in_a_row[0])
        np.testing.assert_array_equal(dw, in_a_row[1])
        rtol = 1e-5 if dtype == np.float32 else 1e-12
        np.testing.assert_allclose(db, in_a_row[2], rtol=rtol,
                                   atol=rtol * np.abs(dpooled).sum(axis=(0, 2, 3)).max())
        assert dx.dtype == dw.dtype == db.dtype == dtype
    _, dw_only, _ = _conv_pool_backward(dpooled, conv_cache, pool_cache, False, FRESH)
    np.testing.assert_array_equal(dw_only, in_a_row[1])


@pytest.mark.parametrize("x_shape, F", WINOGRAD_CASES)
def test_winograd_conv_equals_naive(rng, x_shape, F):
    x = rng.randn(*x_shape)
    w = rng.randn(F, x_shape[1], 3, 3)
    b = rng.randn(F)
    conv_param = {"stride": 1, "pad": 1}
    assert _takes_winograd(x, w, 1, 1)
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    assert rel_error(out_fast, out_naive) < 1e-10
    dout = rng.randn(*out_naive.shape)
    grads_naive = conv_backward_naive(dout, cache_naive)
    for g_fast, g_naive in zip(conv_backward_fast(dout, cache_fast), grads_naive):
        assert g_fast.shape == g_naive.shape and g_fast.dtype == np.float64
        assert rel_error(g_fast, g_naive) < 1e-10
    dx, dw, db = conv_backward_fast(dout, cache_fast, compute_dx=False)
    assert dx is None
    assert rel_error(dw, grads_naive[1]) < 1e-10


@pytest.mark.parametrize("C", [3, 16])  # im2col, then Winograd
def test_fast_conv_of_an_empty_batch(C):
    x = np.zeros((0, C, 4, 4))
    w = np.ones((16, C, 3, 3))
    out, cache = conv_forward_fast(x, w, np.ones(16), {"stride": 1, "pad": 1})
    assert out.shape == (0, 16, 4, 4)
    dx, dw, db = conv_backward_fast(out, cache)
    assert dx.shape == x.shape
    np.testing.assert_array_equal(dw, np.zeros_like(w))
    np.testing.assert_array_equal(db, np.zeros(16))


@pytest.mark.parametrize("x_shape, F, stride, pad, K", [
    # what stays on im2col: few channels, another stride, pad or filter size
    ((2, 3, 8, 8), 16, 1, 1, 3),
    ((2, 16, 8, 8), 8, 1, 1, 3),
    ((2, 16, 9, 9), 16, 2, 1, 3),
    ((2, 16, 8, 8), 16, 1, 0, 3),
    ((2, 16, 8, 8), 16, 1, 2, 5),
])
def test_winograd_is_taken_only_where_it_applies(rng, x_shape, F, stride, pad, K):
    x = rng.randn(*x_shape)
    w = rng.randn(F, x_shape[1], K, K)
    assert not _takes_winograd(x, w, stride, pad)
    b = rng.randn(F)
    conv_param = {"stride": stride, "pad": pad}
    out_naive, cache_naive = conv_forward_naive(x, w, b, conv_param)
    out_fast, cache_fast = conv_forward_fast(x, w, b, conv_param)
    assert rel_error(out_fast, out_naive) < 1e-10
    dout = rng.randn(*out_naive.shape)
    for g_fast, g_naive in zip(conv_backward_fast(dout, cache_fast),
                               conv_backward_naive(dout, cache_naive)):
        assert rel_error(g_fast, g_naive) < 1e-10


def test_winograd_conv_in_float32_follows_float64(rng):
    x = rng.randn(6, 32, 8, 8)
    w = rng.randn(24, 32, 3, 3) / np.sqrt(32 * 9)
    b = rng.randn(24)
    conv_param = {"stride": 1, "pad": 1}
    out64, cache64 = conv_forward_naive(x, w, b, conv_param)
    f32 = [a.astype(np.float32) for a in (x, w, b)]
    out32, cache32 = conv_forward_fast(*f32, conv_param)
    assert out32.dtype == np.float32
    dout = rng.randn(*out64.shape)
    grads32 = conv_backward_fast(dout.astype(np.float32), cache32)
    # float32's rounding (6e-8) over sums of a few hundred terms and the transforms
    for g32, g64 in zip((out32, *grads32), (out64, *conv_backward_naive(dout, cache64))):
        assert g32.dtype == np.float32
        np.testing.assert_allclose(g32, g64, rtol=1e-4, atol=1e-4 * np.abs(g64).max())


@pytest.mark.parametrize("x_shape, pool", [
    ((2, 3, 8, 8), (2, 2, 2)),
    ((1, 2, 9, 7), (3, 3, 2)),
    ((3, 1, 6, 10), (2, 4, 2)),
    ((2, 2, 5, 6), (2, 3, 1)),
])
def test_fast_max_pool_equals_naive(rng, x_shape, pool):
    pool_param = dict(zip(("pool_height", "pool_width", "stride"), pool))
    x = rng.randn(*x_shape)
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_fast, out_naive)
    dout = rng.randn(*out_naive.shape)
    np.testing.assert_allclose(max_pool_backward_fast(dout, cache_fast),
                               max_pool_backward_naive(dout, cache_naive),
                               rtol=0, atol=1e-10)


def test_max_pool_ties_send_the_gradient_to_the_first_maximum():
    # after a ReLU whole windows are zero: one position gets the gradient, as naive
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 3, 3] = 1.0
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = np.arange(1.0, 5.0).reshape(1, 1, 2, 2)
    expected = np.zeros((1, 1, 4, 4))
    expected[0, 0, [0, 0, 2, 3], [0, 2, 0, 3]] = [1, 2, 3, 4]
    for forward, backward in [(max_pool_forward_naive, max_pool_backward_naive),
                              (max_pool_forward_fast, max_pool_backward_fast)]:
        _, cache = forward(x, pool_param)
        np.testing.assert_array_equal(backward(dout, cache), expected)


def test_fast_layers_keep_float32(rng):
    x = rng.randn(2, 3, 6, 6).astype(np.float32)
    w = rng.randn(4, 3, 3, 3).astype(np.float32)
    b = np.zeros(4, dtype=np.float32)
    out, cache = conv_forward_fast(x, w, b, {"stride": 1, "pad": 1})
    assert out.dtype == np.float32
    assert all(g.dtype == np.float32 for g in conv_backward_fast(np.ones_like(out), cache))
    pooled, cache = max_pool_forward_fast(out, {"pool_height": 2, "pool_width": 2,
                                                "stride": 2})
    assert pooled.dtype == np.float32
    assert max_pool_backward_fast(np.ones_like(pooled), cache).dtype == np.float32
    out64, _ = conv_forward_naive(x.astype(np.float64), w.astype(np.float64),
                                  b.astype(np.float64), {"stride": 1, "pad": 1})
    np.testing.assert_allclose(out, out64, rtol=1e-5, atol=1e-5)


# what every site that picks the dtype it computes in must pick: float32 and float64
# stay, anything else becomes float64 (the kernels and products exist in those two)
COMPUTING_DTYPES = [(np.bool_, np.float64), (np.uint8, np.float64), (np.int64, np.float64),
                    (np.float16, np.float64), (np.float32, np.float32),
                    (np.float64, np.float64), (np.longdouble, np.float64)]


@pytest.mark.parametrize("dtype, computed", COMPUTING_DTYPES)
def test_every_site_that_picks_a_dtype_picks_the_same(rng, dtype, computed):
    # dropout kept float16 (and long double) while the compiled layers and the update
    # rules computed them in float64
    x = (rng.rand(2, 3, 4, 4) > 0.5).astype(dtype)
    w = (rng.rand(2, 3, 3, 3) > 0.5).astype(dtype)
    ones = np.ones(3, dtype=dtype)
    outputs = {
        "dropout": dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 0})[0],
        "conv": conv_forward_fast(x, w, np.zeros(2, dtype), {"stride": 1, "pad": 1})[0],
        "pool": max_pool_forward_fast(x, {"pool_height": 2, "pool_width": 2,
                                          "stride": 2})[0],
        "fused batchnorm": _spatial_batchnorm_relu_forward(x, ones, ones,
                                                           {"mode": "train"})[0],
    }
    for rule in optim.UPDATE_RULES:
        outputs[rule] = getattr(optim, rule)(x, x)[0]
    assert {name: out.dtype for name, out in outputs.items()} == {
        name: np.dtype(computed) for name in outputs}


# --- sandwiches ---

def test_conv_relu_and_conv_relu_pool_sandwiches(rng):
    x = rng.randn(2, 3, 8, 8)
    w = rng.randn(3, 3, 3, 3)
    b = rng.randn(3)
    dout = rng.randn(2, 3, 8, 8)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = conv_relu_forward(x, w, b, conv_param)
    np.testing.assert_allclose(out, np.maximum(conv_forward_naive(x, w, b, conv_param)[0], 0),
                               atol=1e-12)
    grads = conv_relu_backward(dout, cache)
    for arg, grad in zip((x, w, b), grads):
        num = eval_numerical_gradient_array(
            lambda _: conv_relu_forward(x, w, b, conv_param)[0], arg, dout)
        assert rel_error(grad, num) < 1e-7

    out, cache = conv_relu_pool_forward(x, w, b, conv_param, pool_param)
    dout = rng.randn(*out.shape)
    grads = conv_relu_pool_backward(dout, cache)
    for arg, grad in zip((x, w, b), grads):
        num = eval_numerical_gradient_array(
            lambda _: conv_relu_pool_forward(x, w, b, conv_param, pool_param)[0], arg, dout)
        assert rel_error(grad, num) < 1e-7
    assert conv_relu_pool_backward(dout, cache, compute_dx=False)[0] is None


@pytest.mark.parametrize("normalization", SPATIAL_NORMALIZATIONS)
@pytest.mark.parametrize("pool", [False, True])
def test_conv_norm_relu_sandwiches(rng, normalization, pool):
    x = rng.randn(2, 3, 6, 6)
    w = rng.randn(4, 3, 3, 3)
    b = rng.randn(4)
    shape = (4,) if normalization == "batchnorm" else (1, 4, 1, 1)
    gamma, beta = rng.rand(*shape) + 0.5, rng.randn(*shape)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}

    def forward(_):
        norm_param = {"mode": "train"} if normalization == "batchnorm" else {"G": 2}
        if pool:
            return conv_norm_relu_pool_forward(x, w, b, gamma, beta, conv_param,
                                               norm_param, normalization, pool_param)
        return conv_norm_relu_forward(x, w, b, gamma, beta, conv_param, norm_param,
                                      normalization)

    out, cache = forward(None)
    dout = rng.randn(*out.shape)
    backward = conv_norm_relu_pool_backward if pool else conv_norm_relu_backward
    dx, dw, db, dgamma, dbeta = backward(dout, cache)
    if normalization == "batchnorm":
        # batchnorm subtracts each channel's mean, and the bias with it
        assert np.abs(db).max() < 1e-12
    else:
        assert rel_error(db, eval_numerical_gradient_array(lambda _: forward(_)[0], b,
                                                           dout)) < 1e-6
    for arg, grad in zip((x, w, gamma, beta), (dx, dw, dgamma, dbeta)):
        num = eval_numerical_gradient_array(lambda _: forward(_)[0], arg, dout)
        assert rel_error(grad, num) < 1e-6


# --- clear errors ---

def _conv(x_shape=(2, 3, 8, 8), w_shape=(4, 3, 3, 3), b_shape=(4,), conv_param=None):
    conv_param = {"stride": 1, "pad": 1} if conv_param is None else conv_param
    return np.zeros(x_shape), np.zeros(w_shape), np.zeros(b_shape), conv_param


@pytest.mark.parametrize("args, error, match", [
    (_conv(x_shape=(3, 8, 8)), ValueError, "x must be a 4-D array"),
    (_conv(w_shape=(4, 27)), ValueError, "w must be a 4-D array"),
    (_conv(w_shape=(4, 1, 3, 3)), ValueError, "x has 3 channels but w .* 1 channels"),
    (_conv(b_shape=(3,)), ValueError, r"b must have shape \(4,\) \(one bias per filter\)"),
    (_conv(b_shape=(4, 1)), ValueError, r"b must have shape \(4,\)"),
    (_conv(w_shape=(4, 3, 11, 3)), ValueError, r"filter height \(11\) is larger"),
    (_conv(w_shape=(4, 3, 3, 3), conv_param={"stride": 1, "pad": 0},
           x_shape=(2, 3, 8, 2)), ValueError, r"filter width \(3\) is larger"),
    (_conv(conv_param={"stride": 2, "pad": 1}, x_shape=(2, 3, 9, 8)), ValueError,
     "stride 2 does not tile the width"),
    (_conv(conv_param={"stride": 2, "pad": 1}, x_shape=(2, 3, 8, 9)), ValueError,
     "stride 2 does not tile the height"),
    (_conv(conv_param={"stride": 1}), ValueError, "conv_param must have the key 'pad'"),
    (_conv(conv_param={"stride": 0, "pad": 1}), ValueError,
     r"conv_param\['stride'\] must be an int >= 1"),
    (_conv(conv_param={"stride": 1, "pad": -1}), ValueError,
     r"conv_param\['pad'\] must be an int >= 0"),
    (_conv(conv_param={"stride": 1, "pad": 1.5}), TypeError,
     r"conv_param\['pad'\] must be an int"),
    (_conv(conv_param=[1, 1]), TypeError, "conv_param must be a dict"),
])
@pytest.mark.parametrize("forward", [conv_forward_naive, conv_forward_fast])
def test_conv_bad_arguments(forward, args, error, match):
    with pytest.raises(error, match=match):
        forward(*args)


@pytest.mark.parametrize("x_shape, pool_param, match", [
    ((2, 3, 8), {"pool_height": 2, "pool_width": 2, "stride": 2}, "x must be a 4-D"),
    ((2, 3, 8, 1), {"pool_height": 2, "pool_width": 2, "stride": 2},
     r"pool window width \(2\) is larger than the input width \(1\)"),
    ((2, 3, 1, 8), {"pool_height": 2, "pool_width": 2, "stride": 2},
     r"pool window height \(2\) is larger"),
    ((2, 3, 8, 7), {"pool_height": 2, "pool_width": 2, "stride": 2},
     "stride 2 does not tile the width"),
    ((2, 3, 8, 8), {"pool_height": 2, "stride": 2}, "must have the key 'pool_width'"),
])
@pytest.mark.parametrize("forward", [max_pool_forward_naive, max_pool_forward_fast])
def test_pool_bad_arguments(forward, x_shape, pool_param, match):
    with pytest.raises(ValueError, match=match):
        forward(np.zeros(x_shape), pool_param)


def test_backward_rejects_dout_of_the_wrong_shape(rng):
    x, w, b, conv_param = _conv()
    out, cache = conv_forward_fast(x, w, b, conv_param)
    with pytest.raises(ValueError, match=r"dout must have shape \(2, 4, 8, 8\)"):
        conv_backward_fast(out[:, :3], cache)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out, cache = max_pool_forward_fast(x, pool_param)
    with pytest.raises(ValueError, match="dout must have shape"):
        max_pool_backward_fast(out[:1], cache)


def test_norm_bad_arguments():
    x = np.zeros((2, 6, 4, 4))
    with pytest.raises(ValueError, match=r"gamma must have shape \(6,\)"):
        spatial_batchnorm_forward(x, np.ones((1, 6, 1, 1)), np.zeros(6), {"mode": "train"})
    with pytest.raises(ValueError, match=r"beta must have shape \(1, 6, 1, 1\)"):
        spatial_groupnorm_forward(x, np.ones((1, 6, 1, 1)), np.zeros(6), 2, {})
    with pytest.raises(ValueError, match="G must divide the 6 channels, got 4"):
        spatial_groupnorm_forward(x, np.ones((1, 6, 1, 1)), np.zeros((1, 6, 1, 1)), 4, {})
    with pytest.raises(ValueError, match="x must be a 4-D"):
        spatial_batchnorm_forward(x[0], np.ones(6), np.zeros(6), {"mode": "train"})


# --- ThreeLayerConvNet ---

def test_three_layer_convnet_initial_loss_and_shapes():
    model = ThreeLayerConvNet(random_state=0)
    assert model.params["W1"].shape == (32, 3, 7, 7)
    assert model.params["W2"].shape == (32 * 16 * 16, 100)
    assert model.params["W3"].shape == (100, 10)
    assert all(p.dtype == np.float32 for p in model.params.values())
    assert all(not model.params[f"b{i}"].any() for i in (1, 2, 3))
    X = np.random.RandomState(0).randn(20, 3, 32, 32)
    y = np.arange(20) % 10
    loss, grads = model.loss(X, y)
    # tiny weights make the scores nearly equal: the loss of a uniform guess
    assert abs(loss - np.log(10)) < 1e-2
    assert set(grads) == set(model.params)
    model.reg = 0.5
    loss_reg, _ = model.loss(X, y)
    penalty = sum(0.5 * 0.5 * np.sum(model.params[f"W{i}"].astype(np.float64) ** 2)
                  for i in (1, 2, 3))
    assert loss_reg == pytest.approx(loss + penalty, rel=1e-5)
    assert model.loss(X).shape == (20, 10)


@pytest.mark.parametrize("reg", [0.0, 0.3])
def test_three_layer_convnet_gradients(reg):
    rng = np.random.RandomState(231)
    X = rng.randn(2, 3, 10, 8)
    y = np.array([1, 4])
    model = ThreeLayerConvNet(input_dim=(3, 10, 8), num_filters=3, filter_size=3,
                              hidden_dim=7, num_classes=5, weight_scale=1e-1, reg=reg,
                              dtype=np.float64, random_state=0)
    loss, grads = model.loss(X, y)
    for name in sorted(model.params):
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0],
                                      model.params[name], verbose=False, h=1e-6)
        assert rel_error(num, grads[name]) < 1e-6, name


def test_three_layer_convnet_bad_arguments():
    with pytest.raises(ValueError, match="filter_size must be odd"):
        ThreeLayerConvNet(filter_size=4)
    with pytest.raises(ValueError, match="even image height and width"):
        ThreeLayerConvNet(input_dim=(3, 31, 32))
    with pytest.raises(ValueError, match="input_dim must be"):
        ThreeLayerConvNet(input_dim=(32, 32))


def test_three_layer_convnet_overfits_100_cifar10_images(cifar10):
    # the CS231n notebook's sanity check: Adam at 1e-3, batches of 50, 15 epochs
    X, y, _, _ = cifar10
    X = X[:200].transpose(0, 3, 1, 2).astype(np.float32)
    X -= X.mean(axis=0)
    X /= 64
    model = ThreeLayerConvNet(weight_scale=1e-2, random_state=0)
    solver = Solver(model, {"X_train": X[:100], "y_train": y[:100],
                            "X_val": X[100:150], "y_val": y[100:150]},
                    update_rule="adam", optim_config={"learning_rate": 1e-3},
                    batch_size=50, num_epochs=15, verbose=False, random_state=0)
    solver.train()
    assert solver.train_acc_history[-1] > 0.9


# --- the compiled kernel equals its Python source ---

@pytest.fixture(scope="module")
def conv_kernels():
    """The loaded ``_conv`` kernel (compiled when built) and its pure-Python source."""
    import importlib.util

    from skdeep._kernels import _conv as loaded

    path = loaded.__file__.rsplit("_conv", 1)[0] + "_conv.py"
    spec = importlib.util.spec_from_file_location("_conv_source", path)
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    return loaded, source


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, HH, WW, stride, pad", [
    ((2, 3, 7, 6), 3, 2, 1, 1),
    # "same" padding at stride 1, the kernels' shifted-copy path
    ((2, 3, 5, 9), 3, 3, 1, 1),
    ((2, 2, 4, 3), 5, 7, 1, 3),
    ((1, 2, 9, 9), 3, 3, 2, 3),
    # big enough for the parallel loops of the compiled kernel
    ((8, 4, 30, 30), 5, 5, 1, 2),
])
def test_compiled_conv_kernel_equals_its_python_source(conv_kernels, rng, dtype, x_shape,
                                                       HH, WW, stride, pad):
    N, C, H, W = x_shape
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    x = rng.randn(*x_shape).astype(dtype)
    dcols = rng.randn(C * HH * WW, N, H_out * W_out).astype(dtype)
    results = []
    for module in conv_kernels:
        cols = np.full((C * HH * WW, N, H_out * W_out), np.nan, dtype=dtype)
        module.im2col(x.reshape(N, C, H * W), H, W, HH, WW, stride, pad, cols)
        dx = np.full((N, C, H * W), np.nan, dtype=dtype)
        module.col2im(dcols.copy(), H, W, HH, WW, stride, pad, dx)
        results.append((cols, dx))
    (cols, dx), (cols_py, dx_py) = results
    np.testing.assert_array_equal(cols, cols_py)
    rtol = 1e-6 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(dx, dx_py, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape", [(2, 3, 4, 4), (2, 2, 5, 7), (1, 2, 1, 1), (3, 4, 6, 3)])
def test_compiled_winograd_kernels_equal_their_python_source(conv_kernels, rng, dtype,
                                                            x_shape):
    N, C, H, W = x_shape
    tiles = N * ((H + 1) // 2) * ((W + 1) // 2)
    x = rng.randn(N, C, H * W).astype(dtype)
    m = rng.randn(16, tiles, C).astype(dtype)
    bias = rng.randn(C).astype(dtype)
    # for the pooled variants: a 2x2 pool's gradient, and maxima anywhere
    pooled = np.ascontiguousarray(x[:, :, :(H // 2) * (W // 2)])
    argmax = rng.randint(H * W, size=pooled.shape).astype(np.int32)
    results = []
    for module in conv_kernels:
        v = np.full((16, tiles, C), np.nan, dtype=dtype)
        module.winograd_input(x, H, W, v)
        out = np.full((N, C, H * W), np.nan, dtype=dtype)
        module.winograd_output(m, bias, H, W, out)
        d = np.full((16, tiles, C), np.nan, dtype=dtype)
        module.winograd_output_grad(x, H, W, d)
        v_pooled = np.full((16, tiles, C), np.nan, dtype=dtype)
        module.winograd_input_pooled(pooled, argmax, H, W, v_pooled)
        d_pooled = np.full((16, tiles, C), np.nan, dtype=dtype)
        module.winograd_output_grad_pooled(pooled, argmax, H, W, d_pooled)
        results.append((v, out, d, v_pooled, d_pooled))
    for compiled, python in zip(*results):
        assert not np.isnan(compiled).any()
        np.testing.assert_array_equal(compiled, python)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("x_shape, HH, WW, stride", [
    ((2, 3, 8, 6), 2, 2, 2),
    ((1, 2, 9, 7), 3, 3, 2),
    ((16, 16, 16, 16), 2, 2, 2),
    ((16, 16, 16, 16), 3, 2, 1),
])
def test_compiled_pool_kernel_equals_its_python_source(conv_kernels, rng, dtype, x_shape,
                                                       HH, WW, stride):
    N, C, H, W = x_shape
    H_out, W_out = (H - HH) // stride + 1, (W - WW) // stride + 1
    x = rng.randn(*x_shape).astype(dtype)
    x[0, 0, :2, :2] = 0  # a tie
    x[-1, -1, -2:, -2:] = np.nan
    dout = rng.randn(N * C, H_out * W_out).astype(dtype)
    results = []
    for module in conv_kernels:
        out = np.empty((N, C, H_out, W_out), dtype=dtype)
        argmax = np.empty((N, C, H_out, W_out), dtype=np.int32)
        module.max_pool_forward(x, HH, WW, stride, out, argmax)
        dx = np.full((N * C, H * W), np.nan, dtype=dtype)
        module.max_pool_backward(dout, argmax.reshape(N * C, -1), dx)
        results.append((out, argmax, dx))
    for compiled, python in zip(*results):
        np.testing.assert_array_equal(compiled, python)


def test_pool_propagates_nan_like_the_naive_layer():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 0] = np.nan
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    out_naive, cache_naive = max_pool_forward_naive(x, pool_param)
    out_fast, cache_fast = max_pool_forward_fast(x, pool_param)
    np.testing.assert_array_equal(out_fast, out_naive)
    assert np.isnan(out_fast[0, 0, 0, 0])
    dout = np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(max_pool_backward_fast(dout, cache_fast),
                                  max_pool_backward_naive(dout, cache_naive))


def _conv_fast_pass(x, w, b, conv_param, dout):
    out, cache = conv_forward_fast(x, w, b, conv_param)
    return (out, *conv_backward_fast(dout, cache))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("C, F", [(3, 5), (16, 16)])  # im2col, then Winograd
def test_fast_conv_gives_the_same_bits_on_one_thread_and_on_several(rng, dtype, C, F):
    from threadpoolctl import threadpool_limits

    # enough images for many blocks, handed to the threads in any order
    x = rng.randn(37, C, 9, 8).astype(dtype)
    w = rng.randn(F, C, 3, 3).astype(dtype)
    b = rng.randn(F).astype(dtype)
    conv_param = {"stride": 1, "pad": 1}
    assert _takes_winograd(x, w, 1, 1) == (C == 16)
    dout = rng.randn(37, F, 9, 8).astype(dtype)
    with threadpool_limits(2):
        several = _conv_fast_pass(x, w, b, conv_param, dout)
    with threadpool_limits(1):
        one = _conv_fast_pass(x, w, b, conv_param, dout)
    for a_several, a_one in zip(several, one):
        np.testing.assert_array_equal(a_several, a_one)
    out_naive, _ = conv_forward_naive(x.astype(np.float64), w, b, conv_param)
    np.testing.assert_allclose(several[0], out_naive, rtol=1e-4, atol=1e-4)


def test_fast_conv_memory_does_not_grow_with_the_columns_of_the_batch(rng):
    import tracemalloc

    N, C, H, F, K = 128, 16, 32, 4, 3
    x = rng.randn(N, C, H, H).astype(np.float32)
    w = rng.randn(F, C, K, K).astype(np.float32)
    b = rng.randn(F).astype(np.float32)
    dout = rng.randn(N, F, H, H).astype(np.float32)
    batch_cols_bytes = N * C * K * K * H * H * 4
    tracemalloc.start()
    try:
        _conv_fast_pass(x, w, b, {"stride": 1, "pad": 1}, dout)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # beside the output and the input gradient, only the columns of the blocks
    # of images being worked on: a few images' worth per thread
    assert peak - x.nbytes - dout.nbytes < batch_cols_bytes / 6


def test_spatial_batchnorm_of_a_large_batch_equals_batchnorm_on_its_rows(rng):
    from threadpoolctl import threadpool_limits

    # the (N, C, H * W) view reduced over two axes, against the transposed rows
    N, C, H, W = 16, 16, 64, 64
    x = 3 * rng.randn(N, C, H, W) + 5
    gamma, beta = rng.randn(C), rng.randn(C)
    dout = rng.randn(N, C, H, W)
    out, cache = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
    grads = spatial_batchnorm_backward(dout, cache)
    rows = x.transpose(0, 2, 3, 1).reshape(-1, C)
    out_rows, cache_rows = batchnorm_forward(rows, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out, out_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2),
                               rtol=1e-12, atol=1e-12)
    dx_rows, dgamma_rows, dbeta_rows = batchnorm_backward(
        dout.transpose(0, 2, 3, 1).reshape(-1, C), cache_rows)
    np.testing.assert_allclose(grads[0], dx_rows.reshape(N, H, W, C).transpose(0, 3, 1, 2),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(grads[1], dgamma_rows, rtol=1e-9)
    np.testing.assert_allclose(grads[2], dbeta_rows, rtol=1e-9)
    with threadpool_limits(1):
        out_one, cache_one = spatial_batchnorm_forward(x, gamma, beta, {"mode": "train"})
        grads_one = spatial_batchnorm_backward(dout, cache_one)
    np.testing.assert_array_equal(out_one, out)
    for g_one, g in zip(grads_one, grads):
        np.testing.assert_array_equal(g_one, g)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-10), (np.float32, 2e-4)])
@pytest.mark.parametrize("mode", MODES)
def test_fused_batchnorm_relu_equals_the_layers_in_a_row(rng, dtype, rtol, mode):
    # big enough for the kernels' parallel loops; an offset the statistics must handle
    x = (4 * rng.randn(8, 6, 20, 20) + 30).astype(dtype)
    w = (0.2 * rng.randn(16, 6, 3, 3)).astype(dtype)
    b, gamma, beta = (rng.randn(16).astype(dtype) for _ in range(3))
    running = {"running_mean": rng.randn(16).astype(dtype) + 30,
               "running_var": rng.rand(16).astype(dtype) + 1}
    conv_param = {"stride": 1, "pad": 1}
    fused_param = {"mode": mode, "momentum": 0.8, **running}
    row_param = {"mode": mode, "momentum": 0.8, **running}
    out, cache = conv_norm_relu_forward(x, w, b, gamma, beta, conv_param, fused_param,
                                        "batchnorm")
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    an, bn_cache = spatial_batchnorm_forward(a, gamma, beta, row_param)
    expected, relu_cache = relu_forward(an)
    assert out.dtype == dtype
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=rtol)
    for key in running:
        np.testing.assert_allclose(fused_param[key], row_param[key], rtol=rtol)
    if mode == "test":
        return
    dout = rng.randn(*out.shape).astype(dtype)
    dx, dw, db, dgamma, dbeta = conv_norm_relu_backward(dout, cache)
    da, dgamma_rows, dbeta_rows = spatial_batchnorm_backward(
        relu_backward(dout, relu_cache), bn_cache)
    dx_rows, dw_rows, _ = conv_backward_fast(da, conv_cache)
    for grad, grad_rows in ((dx, dx_rows), (dw, dw_rows), (dgamma, dgamma_rows),
                            (dbeta, dbeta_rows)):
        assert grad.dtype == dtype
        scale = np.abs(grad_rows).max()
        np.testing.assert_allclose(grad, grad_rows, rtol=rtol, atol=rtol * scale)


def test_fused_batchnorm_relu_propagates_nan(rng):
    x = rng.randn(4, 3, 20, 20)
    x[1, 2, 5, 7] = np.nan
    out, _ = conv_norm_relu_forward(x, np.ones((3, 3, 1, 1)), np.zeros(3), np.ones(3),
                                    np.zeros(3), {"stride": 1, "pad": 0},
                                    {"mode": "train"}, "batchnorm")
    # the NaN spreads through the convolution to every channel's statistics
    assert np.isnan(out).all()


@pytest.mark.parametrize("x_shape, w_shape, stride", [((40, 3, 32, 32), (32, 3, 3, 3), 1),
                                                      ((40, 128, 9, 9), (256, 128, 3, 3), 2)])
def test_im2col_conv_output_of_an_image_does_not_depend_on_its_batch(rng, x_shape, w_shape,
                                                                      stride):
    # one product per image on the im2col path, whatever the batch size
    x = rng.randn(*x_shape).astype(np.float32)
    w = rng.randn(*w_shape).astype(np.float32)
    b = rng.randn(w_shape[0]).astype(np.float32)
    conv_param = {"stride": stride, "pad": 1}
    assert not _takes_winograd(x, w, stride, 1)
    full, _ = conv_forward_fast(x, w, b, conv_param)
    for lo, hi in ((0, 1), (3, 10), (7, 40)):
        part, _ = conv_forward_fast(x[lo:hi], w, b, conv_param)
        np.testing.assert_array_equal(part, full[lo:hi])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_winograd_conv_output_of_an_image_does_not_depend_on_the_other_images(rng, dtype):
    # what predictions in fixed-shape blocks rely on: in a batch of one shape, an
    # image's output does not change with the values of the images beside it
    # (zeros padding a last block, or other images)
    x = rng.randn(40, 128, 4, 4).astype(dtype)
    w = rng.randn(256, 128, 3, 3).astype(dtype)
    b = rng.randn(256).astype(dtype)
    conv_param = {"stride": 1, "pad": 1}
    assert _takes_winograd(x, w, 1, 1)
    full, _ = conv_forward_fast(x, w, b, conv_param)
    others = rng.randn(*x.shape).astype(dtype)
    others[3:10] = x[3:10]
    np.testing.assert_array_equal(conv_forward_fast(others, w, b, conv_param)[0][3:10],
                                  full[3:10])
    others[10:] = 0
    np.testing.assert_array_equal(conv_forward_fast(others, w, b, conv_param)[0][3:10],
                                  full[3:10])


def test_predictions_through_winograd_layers_do_not_depend_on_batching(monkeypatch):
    from sklearn.datasets import load_digits

    from skdeep.neural_network import ConvNetClassifier

    X, y = load_digits(return_X_y=True)
    X = X[:300] / 16
    # the second conv layer (16 -> 16 channels, 3x3) takes the Winograd path
    clf = ConvNetClassifier(num_filters=(16, 16), filter_size=3, pool_every=2,
                            hidden_dim=(), num_epochs=1, batch_size=50,
                            random_state=0).fit(X[:200], y[:200])
    taken = []
    real = _takes_winograd

    def recording(x, w, stride, pad):
        taken.append(real(x, w, stride, pad))
        return taken[-1]

    monkeypatch.setattr("skdeep.nn.layers._takes_winograd", recording)
    full = clf.decision_function(X)
    assert any(taken)
    one_by_one = np.vstack([clf.decision_function(X[i:i + 1]) for i in range(0, 300, 7)])
    np.testing.assert_array_equal(one_by_one, full[::7])
