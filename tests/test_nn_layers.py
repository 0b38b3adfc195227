"""Layers of skdeep.nn: gradients against centered differences, in float64."""
import math
import warnings

import numpy as np
import pytest

from skdeep.nn.gradcheck import (
    eval_numerical_gradient,
    eval_numerical_gradient_array,
    rel_error,
)
from skdeep.nn.layer_utils import (
    NORMALIZATIONS,
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
)
from skdeep.nn.layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward,
    batchnorm_backward_alt,
    batchnorm_forward,
    dropout_backward,
    dropout_forward,
    gelu_backward,
    gelu_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
    softmax_loss,
    svm_loss,
)


@pytest.fixture
def rng():
    return np.random.RandomState(231)


def test_affine_forward_known_values():
    # CS231n's reference values
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = affine_forward(x, w, b)
    correct_out = np.array([[1.49834967, 1.70660132, 1.91485297],
                            [3.25553199, 3.5141327, 3.77273342]])
    assert rel_error(out, correct_out) < 1e-7


def test_affine_backward(rng):
    x = rng.randn(10, 2, 3)
    w = rng.randn(6, 5)
    b = rng.randn(5)
    dout = rng.randn(10, 5)
    dx_num = eval_numerical_gradient_array(lambda x: affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: affine_forward(x, w, b)[0], b, dout)
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    assert dx.shape == x.shape
    assert rel_error(dx, dx_num) < 1e-8
    assert rel_error(dw, dw_num) < 1e-8
    assert rel_error(db, db_num) < 1e-8
    no_dx, dw2, db2 = affine_backward(dout, cache, compute_dx=False)
    assert no_dx is None
    np.testing.assert_array_equal(dw2, dw)
    np.testing.assert_array_equal(db2, db)


def test_relu_forward_and_backward(rng):
    x = np.linspace(-0.5, 0.5, num=12).reshape(3, 4)
    out, _ = relu_forward(x)
    np.testing.assert_array_equal(out, np.maximum(x, 0))
    assert relu_forward(x.copy())[0] is not x  # the input is never overwritten

    x = rng.randn(10, 10)
    dout = rng.randn(*x.shape)
    dx_num = eval_numerical_gradient_array(lambda x: relu_forward(x)[0], x, dout)
    _, cache = relu_forward(x)
    assert rel_error(relu_backward(dout, cache), dx_num) < 1e-10


# ---- GELU ----------------------------------------------------------------------
def _gelu_oracle(x):
    """x * Phi(x) and its derivative Phi(x) + x * phi(x), element by element with
    Python's math.erf (the C library's, not SciPy's)."""
    cdf = np.array([0.5 * (1 + math.erf(v / math.sqrt(2))) for v in x.ravel()])
    pdf = np.exp(-0.5 * x.ravel() ** 2) / math.sqrt(2 * math.pi)
    return (x.ravel() * cdf).reshape(x.shape), (cdf + x.ravel() * pdf).reshape(x.shape)


def test_gelu_matches_the_formula_and_its_derivative(rng):
    # |x| <= 4: there 1 + erf(x / sqrt(2)) keeps at least ten digits, so the
    # textbook formula is a trustworthy oracle
    x = np.clip(2 * rng.randn(7, 9), -4, 4)
    out, cache = gelu_forward(x)
    expected_out, expected_grad = _gelu_oracle(x)
    np.testing.assert_allclose(out, expected_out, rtol=1e-12, atol=1e-15)
    dout = rng.randn(*x.shape)
    np.testing.assert_allclose(gelu_backward(dout, cache), dout * expected_grad,
                               rtol=1e-12, atol=1e-15)
    # the known values: GELU(0) = 0, GELU(1) = Phi(1) = 0.841344746068543
    # (the standard normal table), GELU(-1) = -Phi(-1) = -(1 - Phi(1))
    np.testing.assert_allclose(gelu_forward(np.array([0.0, 1.0, -1.0]))[0],
                               [0.0, 0.841344746068543, -0.158655253931457],
                               rtol=1e-14, atol=0)


def test_gelu_gradient_against_centered_differences(rng):
    x = 3 * rng.randn(6, 5, 2)
    dout = rng.randn(*x.shape)
    dx_num = eval_numerical_gradient_array(lambda x: gelu_forward(x)[0], x, dout)
    _, cache = gelu_forward(x)
    # smooth everywhere (no kink as in the ReLU): centered differences agree to
    # about h**2 = 1e-10 relative
    assert rel_error(gelu_backward(dout, cache), dx_num) < 1e-8


def test_gelu_keeps_its_relative_accuracy_in_the_negative_tail():
    # Mills' ratio: Phi(x) = phi(x) / |x| * (1 - 1/x**2 + 3/x**4 - 15/x**6 + ...),
    # whose next term, 105 / x**8, is below 2e-10 relative at |x| = 30; the
    # formula through 1 + erf(x / sqrt(2)) gives exactly 0 there
    x = np.array([-30.0, -35.0])
    pdf = np.exp(-0.5 * x ** 2) / math.sqrt(2 * math.pi)
    series = pdf / -x * (1 - x ** -2 + 3 * x ** -4 - 15 * x ** -6)
    np.testing.assert_allclose(gelu_forward(x)[0], x * series, rtol=1e-9)
    assert np.all(gelu_forward(x)[0] < 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gelu_is_finite_and_quiet_for_extreme_inputs(dtype):
    big = np.finfo(dtype).max
    x = np.array([-big, -1e4, -60, -0.0, 60, 1e4, big], dtype=dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in the density's x**2
        out, cache = gelu_forward(x)
        dx = gelu_backward(np.ones_like(x), cache)
    assert out.dtype == dtype and dx.dtype == dtype
    # large positive inputs pass through, large negative ones give zero
    np.testing.assert_array_equal(out, np.array([0, 0, 0, 0, 60, 1e4, big], dtype))
    np.testing.assert_array_equal(dx, np.array([0, 0, 0, 0.5, 1, 1, 1], dtype))


def test_gelu_float32_agrees_with_float64(rng):
    x = 3 * rng.randn(50)
    out32, cache32 = gelu_forward(x.astype(np.float32))
    out64, cache64 = gelu_forward(x.astype(np.float32).astype(np.float64))
    np.testing.assert_allclose(out32, out64, rtol=1e-6, atol=1e-7)
    dout = np.ones(50, np.float32)
    np.testing.assert_allclose(gelu_backward(dout, cache32),
                               gelu_backward(dout.astype(np.float64), cache64),
                               rtol=1e-6, atol=1e-7)
    # integers compute in float64, as the layers' dtype rule says
    assert gelu_forward(np.arange(3))[0].dtype == np.float64


def test_gelu_backward_refuses_a_wrong_cache_or_dout():
    x = np.linspace(-1, 1, 6).reshape(2, 3)
    _, cache = gelu_forward(x)
    with pytest.raises(ValueError, match="dout"):
        gelu_backward(np.ones((3, 2)), cache)
    with pytest.raises(ValueError, match="gelu_forward"):
        gelu_backward(np.ones_like(x), relu_forward(x)[1])
    with pytest.raises(ValueError, match="gelu_forward"):
        gelu_backward(np.ones_like(x), None)
    with pytest.raises(TypeError, match="x must be"):
        gelu_forward(np.array(["a", "b"]))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_layers_keep_float_dtype(rng, dtype):
    x = rng.randn(8, 5).astype(dtype)
    w = rng.randn(5, 4).astype(dtype)
    b = np.zeros(4, dtype=dtype)
    gamma, beta = np.ones(5, dtype), np.zeros(5, dtype)
    assert affine_forward(x, w, b)[0].dtype == dtype
    assert relu_forward(x)[0].dtype == dtype
    assert dropout_forward(x, {"mode": "train", "p": 0.5, "seed": 0})[0].dtype == dtype
    bn_param = {"mode": "train"}
    out, cache = batchnorm_forward(x, gamma, beta, bn_param)
    assert out.dtype == dtype and bn_param["running_mean"].dtype == dtype
    assert all(g.dtype == dtype for g in batchnorm_backward_alt(np.ones_like(x), cache))
    out, cache = layernorm_forward(x, gamma, beta, {})
    assert out.dtype == dtype
    assert softmax_loss(x, np.arange(8) % 5)[1].dtype == dtype


def test_sandwich_layers_backward(rng):
    x = rng.randn(4, 3, 2)
    w = rng.randn(6, 10)
    b = rng.randn(10)
    dout = rng.randn(4, 10)
    _, cache = affine_relu_forward(x, w, b)
    dx, dw, db = affine_relu_backward(dout, cache)
    for grad, arg in ((dx, x), (dw, w), (db, b)):
        num = eval_numerical_gradient_array(lambda _: affine_relu_forward(x, w, b)[0],
                                            arg, dout)
        assert rel_error(grad, num) < 1e-8


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
def test_affine_norm_relu_backward(rng, normalization):
    x = rng.randn(6, 5)
    w = rng.randn(5, 4)
    b = rng.randn(4)
    gamma = rng.randn(4)
    beta = rng.randn(4)
    dout = rng.randn(6, 4)

    def forward(_):
        return affine_norm_relu_forward(x, w, b, gamma, beta, {"mode": "train"},
                                        normalization)[0]

    _, cache = affine_norm_relu_forward(x, w, b, gamma, beta, {"mode": "train"},
                                        normalization)
    grads = affine_norm_relu_backward(dout, cache)
    for grad, arg in zip(grads, (x, w, b, gamma, beta)):
        num = eval_numerical_gradient_array(forward, arg, dout)
        # b's gradient under batchnorm is zero up to rounding: compare absolutely
        assert np.max(np.abs(grad - num)) < 1e-7 or rel_error(grad, num) < 1e-7


def test_affine_norm_relu_rejects_unknown_normalization(rng):
    with pytest.raises(ValueError, match="normalization must be"):
        affine_norm_relu_forward(rng.randn(2, 3), rng.randn(3, 2), np.zeros(2),
                                 np.ones(2), np.zeros(2), {}, "groupnorm")


# ---- dropout -----------------------------------------------------------------------

def test_dropout_seed_gives_the_reference_mask_without_touching_global_state(rng):
    x = rng.randn(50, 40) + 10
    p, seed = 0.3, 123
    state = np.random.get_state()
    out, cache = dropout_forward(x, {"mode": "train", "p": p, "seed": seed})
    again, _ = dropout_forward(x, {"mode": "train", "p": p, "seed": seed})
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1])
    assert state[2:] == after[2:]
    keep = np.random.RandomState(seed).rand(*x.shape) < p
    np.testing.assert_array_equal(out != 0, keep)
    np.testing.assert_allclose(out[keep], x[keep] / p, rtol=1e-15)
    np.testing.assert_array_equal(out, again)


@pytest.mark.parametrize("p", [0.25, 0.4, 0.7])
def test_dropout_keeps_about_p_and_preserves_the_mean(rng, p):
    x = rng.randn(500, 500) + 10
    out_train, _ = dropout_forward(x, {"mode": "train", "p": p})
    out_test, _ = dropout_forward(x, {"mode": "test", "p": p})
    kept = np.mean(out_train != 0)
    assert abs(kept - p) < 0.01
    assert abs(out_train.mean() - x.mean()) < 0.02 * x.mean()
    np.testing.assert_array_equal(out_test, x)


def test_dropout_without_seed_or_rng_draws_from_numpys_global_state(rng):
    # as in the CS231n notebooks: np.random.seed repeats the masks
    x = rng.randn(30, 20) + 10
    np.random.seed(4)
    out, _ = dropout_forward(x, {"mode": "train", "p": 0.5})
    np.random.seed(4)
    np.testing.assert_array_equal(out != 0, np.random.rand(*x.shape) < 0.5)


def test_dropout_rng_extension_is_reproducible(rng):
    x = rng.randn(30, 20)
    param = {"mode": "train", "p": 0.5, "rng": np.random.default_rng(0)}
    out1, _ = dropout_forward(x, param)
    out2, _ = dropout_forward(x, param)
    assert not np.array_equal(out1, out2)  # the stream advances
    param = {"mode": "train", "p": 0.5, "rng": np.random.default_rng(0)}
    np.testing.assert_array_equal(dropout_forward(x, param)[0], out1)


def test_dropout_backward(rng):
    x = rng.randn(10, 10) + 10
    dout = rng.randn(*x.shape)
    param = {"mode": "train", "p": 0.2, "seed": 123}
    _, cache = dropout_forward(x, param)
    dx = dropout_backward(dout, cache)
    dx_num = eval_numerical_gradient_array(lambda x: dropout_forward(x, param)[0], x, dout)
    assert rel_error(dx, dx_num) < 1e-10
    _, cache = dropout_forward(x, {"mode": "test", "p": 0.2})
    np.testing.assert_array_equal(dropout_backward(dout, cache), dout)


@pytest.mark.parametrize("param", [
    {"mode": "train", "p": 0}, {"mode": "train", "p": 1.5}, {"mode": "eval", "p": 0.5},
    # a random source of another kind failed deep inside NumPy (AttributeError,
    # TypeError)
    {"mode": "train", "p": 0.5, "rng": "seed"},
    {"mode": "train", "p": 0.5, "seed": 0.5},
])
def test_dropout_rejects_bad_params(param):
    with pytest.raises(ValueError, match="dropout_param"):
        dropout_forward(np.ones((2, 2)), param)


# ---- batch and layer normalization -------------------------------------------------

def test_batchnorm_train_normalizes_each_feature(rng):
    N, D1, D2, D3 = 200, 50, 60, 3
    X = rng.randn(N, D1)
    W1, W2 = rng.randn(D1, D2), rng.randn(D2, D3)
    a = np.maximum(0, X.dot(W1)).dot(W2)
    out, _ = batchnorm_forward(a, np.ones(D3), np.zeros(D3), {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=1e-3)
    gamma, beta = np.array([1.0, 2.0, 3.0]), np.array([11.0, 12.0, 13.0])
    out, _ = batchnorm_forward(a, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=0), beta, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=0), gamma, rtol=1e-3)


def test_batchnorm_running_averages_follow_the_spec(rng):
    x1, x2 = rng.randn(20, 4) * 3 + 1, rng.randn(20, 4) - 2
    bn_param = {"mode": "train", "momentum": 0.8}
    batchnorm_forward(x1, np.ones(4), np.zeros(4), bn_param)
    # created as zeros on first use, then one update
    np.testing.assert_allclose(bn_param["running_mean"], 0.2 * x1.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"], 0.2 * x1.var(axis=0))
    batchnorm_forward(x2, np.ones(4), np.zeros(4), bn_param)
    np.testing.assert_allclose(bn_param["running_mean"],
                               0.8 * 0.2 * x1.mean(axis=0) + 0.2 * x2.mean(axis=0))
    np.testing.assert_allclose(bn_param["running_var"],
                               0.8 * 0.2 * x1.var(axis=0) + 0.2 * x2.var(axis=0))


def test_batchnorm_test_mode_uses_running_statistics(rng):
    N, D1, D2, D3 = 200, 50, 60, 3
    W1, W2 = rng.randn(D1, D2), rng.randn(D2, D3)
    bn_param = {"mode": "train"}
    gamma, beta = np.ones(D3), np.zeros(D3)
    for _ in range(50):
        a = np.maximum(0, rng.randn(N, D1).dot(W1)).dot(W2)
        batchnorm_forward(a, gamma, beta, bn_param)
    bn_param["mode"] = "test"
    a = np.maximum(0, rng.randn(N, D1).dot(W1)).dot(W2)
    out, _ = batchnorm_forward(a, gamma, beta, bn_param)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=0.15)
    np.testing.assert_allclose(out.std(axis=0), 1, atol=0.15)
    expected = (a - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + 1e-5)
    np.testing.assert_allclose(out, expected, rtol=1e-12)
    # a single row is normalized the same way alone and among others
    np.testing.assert_allclose(batchnorm_forward(a[:1], gamma, beta, bn_param)[0], out[:1])


def test_batchnorm_backward_both_forms(rng):
    N, D = 4, 5
    x = 5 * rng.randn(N, D) + 12
    gamma, beta = rng.randn(D), rng.randn(D)
    dout = rng.randn(N, D)
    param = {"mode": "train"}

    def fx(x):
        return batchnorm_forward(x, gamma, beta, param)[0]

    def fg(g):
        return batchnorm_forward(x, g, beta, param)[0]

    def fb(b):
        return batchnorm_forward(x, gamma, b, param)[0]

    dx_num = eval_numerical_gradient_array(fx, x, dout)
    dgamma_num = eval_numerical_gradient_array(fg, gamma.copy(), dout)
    dbeta_num = eval_numerical_gradient_array(fb, beta.copy(), dout)
    _, cache = batchnorm_forward(x, gamma, beta, param)
    for backward in (batchnorm_backward, batchnorm_backward_alt):
        dx, dgamma, dbeta = backward(dout, cache)
        assert rel_error(dx, dx_num) < 1e-7
        assert rel_error(dgamma, dgamma_num) < 1e-9
        assert rel_error(dbeta, dbeta_num) < 1e-9


def test_batchnorm_backward_alt_equals_staged_form(rng):
    x = rng.randn(100, 500)
    gamma, beta = rng.randn(500), rng.randn(500)
    dout = rng.randn(100, 500)
    _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
    staged = batchnorm_backward(dout, cache)
    closed = batchnorm_backward_alt(dout, cache)
    for a, b in zip(staged, closed):
        assert rel_error(a, b) < 1e-10


def test_batchnorm_rejects_unknown_mode():
    with pytest.raises(ValueError, match="'train' or 'test'"):
        batchnorm_forward(np.ones((2, 2)), np.ones(2), np.zeros(2), {"mode": "eval"})


def test_layernorm_normalizes_each_sample(rng):
    x = rng.randn(4, 30) * 7 + 3
    gamma, beta = np.full(30, 2.0), np.full(30, -1.0)
    out, _ = layernorm_forward(x, gamma, beta, {"mode": "train"})
    np.testing.assert_allclose(out.mean(axis=1), -1, atol=1e-10)
    np.testing.assert_allclose(out.std(axis=1), 2, rtol=1e-4)
    # identical in train and test, per sample
    test_out, _ = layernorm_forward(x[:1], gamma, beta, {"mode": "test"})
    np.testing.assert_allclose(test_out, out[:1])


def test_layernorm_backward(rng):
    N, D = 4, 5
    x = 5 * rng.randn(N, D) + 12
    gamma, beta = rng.randn(D), rng.randn(D)
    dout = rng.randn(N, D)
    param = {}
    dx_num = eval_numerical_gradient_array(
        lambda x: layernorm_forward(x, gamma, beta, param)[0], x, dout)
    dgamma_num = eval_numerical_gradient_array(
        lambda g: layernorm_forward(x, g, beta, param)[0], gamma.copy(), dout)
    dbeta_num = eval_numerical_gradient_array(
        lambda b: layernorm_forward(x, gamma, b, param)[0], beta.copy(), dout)
    _, cache = layernorm_forward(x, gamma, beta, param)
    dx, dgamma, dbeta = layernorm_backward(dout, cache)
    assert rel_error(dx, dx_num) < 1e-7
    assert rel_error(dgamma, dgamma_num) < 1e-9
    assert rel_error(dbeta, dbeta_num) < 1e-9


# ---- losses --------------------------------------------------------------------------

@pytest.mark.parametrize("loss_fn, expected", [(softmax_loss, np.log(10)), (svm_loss, 9)])
def test_losses_gradients_and_values(rng, loss_fn, expected):
    num_classes, num_inputs = 10, 50
    x = 0.001 * rng.randn(num_inputs, num_classes)
    y = rng.randint(num_classes, size=num_inputs)
    dx_num = eval_numerical_gradient(lambda x: loss_fn(x, y)[0], x, verbose=False)
    loss, dx = loss_fn(x, y)
    assert abs(loss - expected) < 0.01
    assert rel_error(dx_num, dx) < 1e-7


@pytest.mark.parametrize("loss_fn", [softmax_loss, svm_loss])
def test_losses_stay_finite_for_huge_scores(loss_fn):
    x = np.array([[1e300, -1e300, 0.0], [-1e30, 1e30, 5.0]])
    loss, dx = loss_fn(x, np.array([1, 0]))
    assert np.isfinite(loss) and np.all(np.isfinite(dx))


def test_softmax_loss_weights_each_rows_loss(rng):
    x = rng.randn(6, 4)
    y = rng.randint(4, size=6)
    weight = np.array([0.0, 1.0, 2.5, 1.0, 0.5, 3.0])
    # the oracle: each row's unweighted loss, from the function itself on that row
    row_losses = np.array([softmax_loss(x[i:i + 1], y[i:i + 1])[0] for i in range(6)])
    loss, dx = softmax_loss(x, y, sample_weight=weight)
    np.testing.assert_allclose(loss, np.mean(weight * row_losses), rtol=1e-13)
    dx_num = eval_numerical_gradient(
        lambda x: softmax_loss(x, y, sample_weight=weight)[0], x, verbose=False)
    assert rel_error(dx_num, dx) < 1e-7
    assert not dx[0].any()  # a row of weight zero pulls on nothing
    smoothed = [softmax_loss(x[i:i + 1], y[i:i + 1], label_smoothing=0.1)[0]
                for i in range(6)]
    np.testing.assert_allclose(
        softmax_loss(x, y, label_smoothing=0.1, sample_weight=weight)[0],
        np.mean(weight * np.array(smoothed)), rtol=1e-13)
    ones = softmax_loss(x, y, sample_weight=np.ones(6))
    np.testing.assert_allclose(ones[0], softmax_loss(x, y)[0], rtol=1e-15)
    np.testing.assert_array_equal(ones[1], softmax_loss(x, y)[1])
