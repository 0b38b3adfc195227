"""Tests for skdeep.linear_model: the loss functions and the two SGD classifiers."""
import numpy as np
import pytest

from skdeep.linear_model import (
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)
from skdeep.nn.gradcheck import eval_numerical_gradient, rel_error

LOSSES = {
    "svm": (svm_loss_naive, svm_loss_vectorized),
    "softmax": (softmax_loss_naive, softmax_loss_vectorized),
}


def _small_problem(seed=0, n=40, d=30, c=7, w_scale=1e-2):
    rng = np.random.RandomState(seed)
    W = w_scale * rng.randn(d, c)
    X = rng.randn(n, d)
    y = rng.randint(c, size=n)
    return W, X, y


# ----------------------------------------------------------------------------
# loss functions


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("reg", [0.0, 0.5, 3e3])
def test_naive_and_vectorized_losses_agree(name, reg):
    naive, vectorized = LOSSES[name]
    W, X, y = _small_problem(w_scale=1.0)
    loss_naive, dW_naive = naive(W, X, y, reg)
    loss_vec, dW_vec = vectorized(W, X, y, reg)
    assert rel_error(loss_naive, loss_vec) < 1e-10
    assert rel_error(dW_naive, dW_vec) < 1e-10
    assert dW_vec.shape == W.shape


@pytest.mark.parametrize("name", sorted(LOSSES))
@pytest.mark.parametrize("impl", [0, 1], ids=["naive", "vectorized"])
def test_loss_gradient_matches_numerical_gradient(name, impl):
    loss_fn = LOSSES[name][impl]
    W, X, y = _small_problem(seed=1, n=15, d=8, c=5, w_scale=0.5)
    reg = 0.3
    _, dW = loss_fn(W, X, y, reg)
    dW_num = eval_numerical_gradient(lambda w: loss_fn(w, X, y, reg)[0], W, verbose=False)
    assert rel_error(dW, dW_num) < 1e-7


def test_losses_known_values():
    # With W = 0 every score is 0: each wrong class violates the SVM margin by
    # exactly 1, and softmax is uniform.
    n, d, c = 6, 4, 10
    X = np.random.RandomState(0).randn(n, d)
    y = np.arange(n) % c
    W = np.zeros((d, c))
    for fn in (svm_loss_naive, svm_loss_vectorized):
        assert fn(W, X, y, 1.0)[0] == pytest.approx(c - 1, rel=1e-12)
    for fn in (softmax_loss_naive, softmax_loss_vectorized):
        assert fn(W, X, y, 1.0)[0] == pytest.approx(np.log(c), rel=1e-12)
    # regularization is reg * sum(W**2) with gradient 2 * reg * W
    W = np.full((d, c), 0.5)
    X0 = np.zeros((n, d))
    for naive, vectorized in LOSSES.values():
        for fn in (naive, vectorized):
            loss, dW = fn(W, X0, y, 2.0)
            data_loss, _ = fn(np.zeros_like(W), X0, y, 0.0)
            assert loss - data_loss == pytest.approx(2.0 * 0.25 * d * c, rel=1e-12)
            np.testing.assert_allclose(dW, 2 * 2.0 * W)


def test_svm_loss_hand_computed():
    # scores [3.2, 5.1, -1.7] with true class 0: max(0, 5.1-3.2+1) + max(0, -1.7-3.2+1)
    W = np.array([[3.2, 5.1, -1.7]])
    X = np.array([[1.0]])
    y = np.array([0])
    for fn in (svm_loss_naive, svm_loss_vectorized):
        loss, dW = fn(W, X, y, 0.0)
        assert loss == pytest.approx(2.9)
        np.testing.assert_allclose(dW, [[-1.0, 1.0, 0.0]])


@pytest.mark.parametrize("fn", [softmax_loss_naive, softmax_loss_vectorized])
def test_softmax_loss_finite_for_huge_scores(fn):
    # scores of order 1e5 overflow a plain exp; the loss is then max - s_y
    W = np.array([[1e5, -1e5, 3e5]])
    X = np.array([[1.0], [2.0]])
    y = np.array([0, 2])
    loss, dW = fn(W, X, y, 0.0)
    assert np.isfinite(loss) and np.all(np.isfinite(dW))
    assert loss == pytest.approx((2e5 + 0.0) / 2)


def test_vectorized_losses_keep_float32():
    W, X, y = _small_problem(seed=2)
    for naive, vectorized in LOSSES.values():
        loss64, dW64 = vectorized(W, X, y, 0.1)
        loss32, dW32 = vectorized(W.astype(np.float32), X.astype(np.float32), y, 0.1)
        assert dW32.dtype == np.float32
        assert loss32 == pytest.approx(loss64, rel=1e-5)
        np.testing.assert_allclose(dW32, dW64, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("fn", [svm_loss_naive, svm_loss_vectorized,
                                softmax_loss_naive, softmax_loss_vectorized])
def test_loss_functions_reject_bad_shapes(fn):
    W, X, y = _small_problem()
    with pytest.raises(ValueError, match="features per row"):
        fn(W, X[:, :-1], y, 0.0)
    with pytest.raises(ValueError, match="one label per row"):
        fn(W, X, y[:-1], 0.0)
    with pytest.raises(ValueError, match=r"class indices in \[0, 7\)"):
        fn(W, X, np.full_like(y, 7), 0.0)
