"""Tests for skdeep.linear_model: the loss functions and the two SGD classifiers."""
import pickle
import re
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep.exceptions import DivergenceError
from skdeep.linear_model import (
    LinearSVMClassifier,
    SoftmaxClassifier,
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)
from skdeep.linear_model._losses import linear_loss
from skdeep.nn.gradcheck import eval_numerical_gradient, rel_error
from skdeep.nn.layers import softmax_loss, svm_loss

CLASSIFIERS = [LinearSVMClassifier, SoftmaxClassifier]
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


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


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


# ----------------------------------------------------------------------------
# classifiers


def _cs231n_training(loss_fn, X, y, learning_rate, reg, num_iters, batch_size, seed):
    """The CS231n way: bias column appended, (D + 1, C) weights, choice batches."""
    rng = np.random.RandomState(seed)
    X_aug = np.hstack([X, np.ones((X.shape[0], 1))])
    W = 0.001 * rng.randn(X_aug.shape[1], np.max(y) + 1)
    history = []
    for _ in range(num_iters):
        idx = rng.choice(X_aug.shape[0], batch_size)
        loss, grad = loss_fn(W, X_aug[idx], y[idx], reg)
        history.append(loss)
        W -= learning_rate * grad
    return W, np.array(history)


@pytest.mark.parametrize("score_loss, public_loss", [(svm_loss, svm_loss_vectorized),
                                                     (softmax_loss, softmax_loss_vectorized)])
def test_linear_loss_is_the_data_part_the_public_losses_penalize(score_loss, public_loss):
    # linear_loss returns the data loss alone: the public losses add the penalty,
    # the SGD loop folds it into its update
    rng = np.random.RandomState(0)
    W, X = rng.randn(7, 4), rng.randn(20, 7)
    b, y = rng.randn(4), rng.randint(4, size=20)
    reg = 0.3
    loss, dW = public_loss(W, X, y, reg)
    data_loss, data_dW, db = linear_loss(score_loss, W, X, y)
    assert db is None
    assert data_loss == pytest.approx(loss - reg * np.sum(W**2), rel=1e-12)
    np.testing.assert_allclose(data_dW, dW - 2 * reg * W, rtol=1e-12, atol=1e-15)
    # the bias's gradient is that of the bias row of the bias-column trick
    loss_b, dW_b, db = linear_loss(score_loss, W, X, y, b=b)
    loss_aug, dW_aug, _ = linear_loss(score_loss, np.vstack([W, b]),
                                      np.hstack([X, np.ones((20, 1))]), y)
    assert loss_b == pytest.approx(loss_aug, rel=1e-12)
    np.testing.assert_allclose(dW_b, dW_aug[:-1], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(db, dW_aug[-1], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("cls, loss_fn", [(LinearSVMClassifier, svm_loss_vectorized),
                                          (SoftmaxClassifier, softmax_loss_vectorized)])
def test_fit_reproduces_the_cs231n_bias_column_training(cls, loss_fn, digits):
    X, y = digits
    params = dict(learning_rate=1e-3, reg=0.5, num_iters=300, batch_size=50)
    W_ref, history_ref = _cs231n_training(loss_fn, X, y, seed=7, **params)
    clf = cls(random_state=7, dtype="float64", **params).fit(X, y)
    np.testing.assert_allclose(clf.coef_, W_ref[:-1].T, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(clf.intercept_, W_ref[-1], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(clf.loss_history_, history_ref, rtol=1e-9)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_defaults_learn_standardized_digits(cls, digits):
    X, y = digits
    clf = cls(random_state=0).fit(X[::2], y[::2])
    assert clf.score(X[1::2], y[1::2]) > 0.9
    assert clf.loss_history_.shape == (clf.num_iters,)
    assert clf.n_iter_ == clf.num_iters
    # SGD is noisy, but the loss must come down
    assert clf.loss_history_[-100:].mean() < 0.5 * clf.loss_history_[:100].mean()


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_fitted_attributes_and_binary_string_labels(cls):
    X, y = make_blobs(n_samples=120, centers=2, n_features=5, random_state=3)
    labels = np.array(["cat", "dog"])[y]
    clf = cls(num_iters=200, random_state=0).fit(X, labels)
    assert clf.coef_.shape == (2, 5)
    assert clf.intercept_.shape == (2,)
    assert list(clf.classes_) == ["cat", "dog"]
    decision = clf.decision_function(X)
    assert decision.shape == (120,)
    scores = X @ clf.coef_.T + clf.intercept_
    np.testing.assert_allclose(decision, scores[:, 1] - scores[:, 0])
    assert np.array_equal(clf.predict(X), clf.classes_[(decision > 0).astype(int)])
    assert clf.score(X, labels) > 0.95


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_multiclass_decision_function_is_linear_scores(cls, digits):
    X, y = digits
    clf = cls(num_iters=50, random_state=0).fit(X, y + 10)
    scores = clf.decision_function(X[:20])
    assert scores.shape == (20, 10)
    np.testing.assert_allclose(scores, X[:20] @ clf.coef_.T + clf.intercept_)
    assert np.array_equal(clf.predict(X[:20]), 10 + np.argmax(scores, axis=1))


def test_softmax_predict_proba(digits):
    X, y = digits
    clf = SoftmaxClassifier(num_iters=300, random_state=0).fit(X, y)
    proba = clf.predict_proba(X[:50])
    assert proba.shape == (50, 10)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    assert np.array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X[:50]))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X[:50])), proba, rtol=1e-10)
    scores = clf.decision_function(X[:50])
    expected = np.exp(scores) / np.exp(scores).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(proba, expected, rtol=1e-10)
    assert not hasattr(LinearSVMClassifier(), "predict_proba")


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_random_state_reproducible_and_global_rng_untouched(cls, digits):
    X, y = digits
    np.random.seed(123)
    state = np.random.get_state()[1].copy()
    a = cls(num_iters=100, random_state=0).fit(X, y)
    b = cls(num_iters=100, random_state=0).fit(X, y)
    c = cls(num_iters=100, random_state=1).fit(X, y)
    assert np.array_equal(np.random.get_state()[1], state)
    assert np.array_equal(a.coef_, b.coef_)
    assert np.array_equal(a.loss_history_, b.loss_history_)
    assert not np.allclose(a.coef_, c.coef_)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_random_state_is_resolved_as_scikit_learn_resolves_it(cls, digits):
    # sklearn.utils.check_random_state, the estimators' one rule: None draws
    # from NumPy's global state (np.random.seed repeats the fit), an int seeds
    # a RandomState, a RandomState is used as is (and advanced)
    X, y = digits
    np.random.seed(7)
    from_global = cls(num_iters=50).fit(X, y)
    rng = np.random.RandomState(7)
    from_instance = cls(num_iters=50, random_state=rng).fit(X, y)
    from_seed = cls(num_iters=50, random_state=7).fit(X, y)
    for fitted in (from_instance, from_seed):
        assert np.array_equal(fitted.coef_, from_global.coef_)
    # both sources advanced by the same draws
    assert rng.get_state()[2] == np.random.get_state()[2]
    assert np.array_equal(rng.get_state()[1], np.random.get_state()[1])


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_dtype_sets_the_training_dtype_whatever_the_input(cls, digits):
    X, y = digits
    X32 = X.astype(np.float32)
    clf32 = cls(num_iters=200, random_state=0).fit(X32, y)
    assert clf32.coef_.dtype == np.float32 and clf32.intercept_.dtype == np.float32
    assert clf32.decision_function(X32).dtype == np.float32
    # float64 input is converted a batch at a time to the same float32 values
    clf32_from64 = cls(num_iters=200, random_state=0).fit(X, y)
    np.testing.assert_array_equal(clf32_from64.coef_, clf32.coef_)
    np.testing.assert_array_equal(clf32_from64.loss_history_, clf32.loss_history_)
    clf64 = cls(num_iters=200, random_state=0, dtype="float64").fit(X32, y)
    assert clf64.coef_.dtype == np.float64
    np.testing.assert_allclose(clf32.coef_, clf64.coef_, rtol=1e-3, atol=1e-5)
    clf_int = cls(num_iters=10, random_state=0, dtype=np.float64).fit(
        np.round(X).astype(np.int32), y)
    assert clf_int.coef_.dtype == np.float64


@pytest.mark.parametrize("cls", CLASSIFIERS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_helper_thread_changes_nothing_but_speed(cls, dtype, digits, monkeypatch):
    from threadpoolctl import threadpool_limits

    from skdeep.linear_model import _sgd as _classifiers

    X = digits[0][:, :63].astype(dtype)  # odd: unequal halves of the gradient
    y = digits[1]
    params = dict(num_iters=120, batch_size=64, random_state=5)
    monkeypatch.setattr(_classifiers, "_HELPER_MIN_BATCH_VALUES", 0)
    fits = {}
    for allowed in (False, True):
        monkeypatch.setattr(_classifiers, "_second_thread_allowed", lambda: allowed)
        fits[allowed] = cls(**params).fit(X, y)
        with pytest.raises(DivergenceError):
            cls(learning_rate=1e6, reg=10.0, num_iters=300).fit(X, y)
    np.testing.assert_array_equal(fits[True].coef_, fits[False].coef_)
    np.testing.assert_array_equal(fits[True].intercept_, fits[False].intercept_)
    np.testing.assert_array_equal(fits[True].loss_history_, fits[False].loss_history_)
    monkeypatch.undo()
    with threadpool_limits(limits=1, user_api="blas"):
        assert not _classifiers._second_thread_allowed()


@pytest.mark.parametrize("x_dtype, out_dtype", [(np.float64, np.float32),
                                                 (np.float32, np.float32),
                                                 (np.float32, np.float64)])
def test_gather_kernel_and_its_python_source_equal_numpy_indexing(x_dtype, out_dtype):
    """The batch gather, compiled and as Python, is ``X[rows].astype(out.dtype)``."""
    from _kernel_harness import kernel_pair

    rng = np.random.RandomState(0)
    # values no float32 holds exactly, so the conversion's rounding is compared too
    X = (rng.randn(40, 37) * 1e3 + 1 / 3).astype(x_dtype)
    rows = np.array([39, 0, 5, 5, 17, 39, 0], dtype=np.int64)  # ends, repeats
    expected = X[rows].astype(out_dtype)
    for module in kernel_pair("_gather"):
        out = np.full((len(rows), X.shape[1]), np.nan, dtype=out_dtype)
        module.gather_rows(X, rows, out)
        np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("weights", [None, "integer", "real"])
def test_batches_drawn_in_blocks_are_the_per_step_draws(weights, digits, monkeypatch):
    """Drawing many steps at once keeps the stream, and the generator's end state."""
    from skdeep.linear_model import _sgd

    X, y = digits
    sample_weight = {None: None,
                     "integer": np.arange(len(y)) % 3 + 1.0,
                     "real": np.linspace(0.1, 2.0, len(y))}[weights]
    num_iters, batch_size = 23, 10
    # blocks of 7 steps: three whole blocks and a remainder of two
    monkeypatch.setattr(_sgd, "_ROWS_PER_DRAW", 7 * batch_size + 3)
    per_step_rng, block_rng = np.random.RandomState(4), np.random.RandomState(4)
    per_step = _sgd._RowDraws(per_step_rng, X, y, sample_weight)
    expected = [per_step(batch_size) for _ in range(num_iters)]
    drawn = list(_sgd._batch_rows(_sgd._RowDraws(block_rng, X, y, sample_weight),
                                  num_iters, batch_size))
    assert len(drawn) == num_iters
    for rows, rows_expected in zip(drawn, expected):
        np.testing.assert_array_equal(rows, rows_expected)
    assert block_rng.randint(2**31) == per_step_rng.randint(2**31)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_float64_rows_beyond_float32_are_refused_not_called_divergence(
        cls, digits, monkeypatch):
    from skdeep.linear_model import _sgd

    X, y = digits
    X = X.astype(np.float64)
    # finite, but infinite in the float32 batches, in the half of the features
    # whose gradient the helper thread computes
    X[3, 60] = 1e300
    # with the helper thread, whose products then meet the infinity too
    monkeypatch.setattr(_sgd, "_HELPER_MIN_BATCH_VALUES", 0)
    monkeypatch.setattr(_sgd, "_second_thread_allowed", lambda: True)
    with warnings.catch_warnings(), pytest.raises(ValueError, match="range of float32"):
        warnings.simplefilter("error")  # on the helper thread too
        cls(num_iters=400, batch_size=200, random_state=0).fit(X, y)
    # float64 training takes such values; the learning rate is then the problem
    with pytest.raises(DivergenceError, match="learning rate"):
        cls(num_iters=400, batch_size=200, random_state=0, dtype="float64").fit(X, y)


def test_helper_thread_is_used_only_for_large_batches(digits, monkeypatch):
    from skdeep.linear_model import _sgd as _classifiers

    started = []

    class RecordingHelper(_classifiers.HelperThread):
        def __init__(self):
            started.append(True)
            super().__init__()

    monkeypatch.setattr(_classifiers, "HelperThread", RecordingHelper)
    monkeypatch.setattr(_classifiers, "_second_thread_allowed", lambda: True)
    X, y = digits
    LinearSVMClassifier(num_iters=5, batch_size=200).fit(X, y)  # 200 x 64 values
    assert started == []
    wide = np.tile(X, (1, 16))  # 200 x 1,024 values per batch
    LinearSVMClassifier(num_iters=5, batch_size=200).fit(wide, y)
    assert started == [True]


@pytest.mark.parametrize("cls, loss_fn", [(LinearSVMClassifier, svm_loss_vectorized),
                                          (SoftmaxClassifier, softmax_loss_vectorized)])
def test_batch_larger_than_training_set(cls, loss_fn, digits):
    # drawn with replacement, so a batch may hold more rows than the data
    X, y = digits[0][:30], digits[1][:30]
    params = dict(learning_rate=1e-2, reg=1e-3, num_iters=50, batch_size=100)
    W_ref, _ = _cs231n_training(loss_fn, X, y, seed=3, **params)
    clf = cls(random_state=3, dtype="float64", **params).fit(X, y)
    np.testing.assert_allclose(clf.coef_, W_ref[:-1].T, rtol=1e-9, atol=1e-12)
    assert clf.score(X, y) > 0.9


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_divergence_raises_naming_the_learning_rate(cls, digits):
    X, y = digits
    clf = cls(learning_rate=1e6, reg=10.0, num_iters=300, random_state=0)
    with pytest.raises(DivergenceError, match=re.escape("learning_rate=1000000.0")):
        clf.fit(X * 1e3, y)
    assert not hasattr(clf, "coef_")


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_verbose_prints_the_loss_every_100_iterations(cls, digits, capsys):
    X, y = digits
    cls(num_iters=250, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "iteration 0 / 250", "iteration 100 / 250", "iteration 200 / 250"]
    assert re.fullmatch(r"iteration 0 / 250: loss \d+\.\d{6}", lines[0])
    cls(num_iters=250, random_state=0).fit(X, y)
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("cls", CLASSIFIERS)
@pytest.mark.parametrize("param, value, message", [
    ("learning_rate", 0.0, r"'learning_rate' parameter .* must be a float in the range \(0(\.0)?, inf\)"),
    ("learning_rate", "fast", "'learning_rate' parameter"),
    ("learning_rate", np.inf, "'learning_rate' parameter"),
    ("reg", -1.0, r"'reg' parameter .* range \[0(\.0)?, inf\)"),
    # an infinite penalty is refused up front, not blamed on the learning rate
    ("reg", np.inf, r"'reg' parameter .* range \[0(\.0)?, inf\)"),
    ("reg", np.nan, "'reg' parameter"),
    ("dtype", "float16", "'dtype' parameter"),
    ("num_iters", 0, r"'num_iters' parameter .* must be an int in the range \[1, inf\)"),
    ("batch_size", 2.5, "'batch_size' parameter .* must be an int"),
    # a bool is a typo, not a number, as the networks rule (bool is an Integral)
    ("reg", True, r"'reg' parameter .* must be a float .* Got True instead"),
    ("learning_rate", True, "'learning_rate' parameter .* Got True instead"),
    ("num_iters", True, "'num_iters' parameter .* Got True instead"),
    ("batch_size", np.True_, "'batch_size' parameter .* Got np.True_ instead"),
])
def test_bad_parameters_raise_clear_errors(cls, param, value, message):
    X, y = make_blobs(n_samples=20, random_state=0)
    with pytest.raises(ValueError, match=message):
        cls(**{param: value}).fit(X, y)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_huge_batch_size_is_refused_before_allocating(cls):
    # two buffers of 10**9 rows would need 477 GiB (float64; 238 GiB in float32)
    X, y = make_blobs(n_samples=20, n_features=64, random_state=0)
    with pytest.raises(ValueError, match=r"batch_size=1000000000 needs two batch buffers"):
        cls(batch_size=10**9).fit(X, y)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_mixed_string_and_number_labels_get_scikit_learns_error(cls):
    X = np.random.RandomState(0).randn(6, 3)
    y = np.array(["a", 1, "a", 1, "b", 2], dtype=object)
    with pytest.raises(ValueError, match="Mix of label input types"):
        cls().fit(X, y)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_single_integer_class_message_shows_the_plain_number(cls):
    X = np.random.RandomState(0).randn(10, 3)
    with pytest.raises(ValueError, match=r"only one class: 0\.$"):
        cls().fit(X, np.zeros(10, dtype=np.int64))


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_single_class_is_refused(cls):
    X = np.random.RandomState(0).randn(10, 3)
    with pytest.raises(ValueError, match="at least 2 classes.*only one class: 'a'"):
        cls().fit(X, ["a"] * 10)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_pipeline_gridsearch_clone_pickle(cls, digits):
    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(), cls(num_iters=200, random_state=0))
    grid = {f"{cls.__name__.lower()}__learning_rate": [1e-4, 1e-2]}
    searches = [GridSearchCV(clone(pipe), grid, cv=2, n_jobs=n_jobs).fit(X, y)
                for n_jobs in (1, 2)]
    np.testing.assert_array_equal(searches[0].cv_results_["mean_test_score"],
                                  searches[1].cv_results_["mean_test_score"])
    best = searches[1].best_estimator_
    restored = pickle.loads(pickle.dumps(best))
    np.testing.assert_array_equal(restored.decision_function(X), best.decision_function(X))
    assert best.score(X, y) > 0.9


def test_top_level_import():
    import skdeep
    assert skdeep.LinearSVMClassifier is LinearSVMClassifier
    assert skdeep.SoftmaxClassifier is SoftmaxClassifier


# ----------------------------------------------------------------------------
# class templates


@pytest.fixture
def pyplot():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    yield plt
    plt.close("all")


def test_plot_class_templates_from_a_fitted_pipeline(pyplot, digits):
    from skdeep.plotting import plot_class_templates

    X, y = load_digits(return_X_y=True)
    pipe = make_pipeline(StandardScaler(with_std=False),
                         SoftmaxClassifier(num_iters=100, random_state=0))
    pipe.fit(X, np.array(list("abcdefghij"))[y])
    fig = plot_class_templates(pipe, n_cols=5)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 10 and len(shown) == 10
    assert [ax.get_title() for ax in shown] == list("abcdefghij")
    coef = pipe[-1].coef_
    first = shown[0].images[0].get_array()
    assert first.shape == (8, 8)
    # one colour scale shared by all classes
    expected = (coef[0] - coef.min()) / (coef.max() - coef.min())
    np.testing.assert_allclose(np.asarray(first).ravel(), expected)


def test_plot_class_templates_colour_array(pyplot):
    from skdeep.plotting import plot_class_templates

    weights = np.random.RandomState(0).randn(3, 32 * 32 * 3)
    fig = plot_class_templates(weights, class_names=["x", "y", "z"])
    image = fig.axes[2].images[0].get_array()
    assert image.shape == (32, 32, 3)
    # rows are channels-last flattened images
    np.testing.assert_allclose(
        image[0, 1], (weights[2, 3:6] - weights.min()) / np.ptp(weights))
    with pytest.raises(ValueError, match="class_names has 2 names for 3 templates"):
        plot_class_templates(weights, class_names=["x", "y"])
    with pytest.raises(ValueError, match="image_shape"):
        plot_class_templates(weights, image_shape=(32, 32, 1))


def test_plot_class_templates_needs_a_fitted_linear_model(pyplot):
    from sklearn.exceptions import NotFittedError
    from sklearn.neighbors import KNeighborsClassifier

    from skdeep.plotting import plot_class_templates

    with pytest.raises(NotFittedError):
        plot_class_templates(LinearSVMClassifier())
    X, y = make_blobs(n_samples=20, n_features=4, random_state=0)
    with pytest.raises(TypeError, match="no coef_"):
        plot_class_templates(KNeighborsClassifier(n_neighbors=1).fit(X, y))


# ----------------------------------------------------------------------------
# CIFAR-10 with the CS231n notebooks' settings


@pytest.fixture(scope="module")
def cifar_rows(cifar10):
    X_train, y_train, X_test, y_test = cifar10
    return (X_train[:49000].reshape(49000, -1), y_train[:49000],
            X_test[:1000].reshape(1000, -1), y_test[:1000])


@pytest.mark.parametrize("cls, learning_rate, reg", [
    (LinearSVMClassifier, 1e-7, 2.5e4),
    (SoftmaxClassifier, 2.5e-7, 8e3),
])
def test_cifar10_cs231n_settings_reach_036(cls, learning_rate, reg, cifar_rows):
    # the notebooks' pipeline (mean-centred raw pixels, their settings); the CS231n
    # notebooks report 0.37 to 0.39
    X_train, y_train, X_test, y_test = cifar_rows
    pipe = make_pipeline(
        StandardScaler(with_std=False),
        cls(learning_rate=learning_rate, reg=reg, num_iters=1500, batch_size=200,
            random_state=0),
    )
    pipe.fit(X_train, y_train)
    assert pipe.score(X_test, y_test) >= 0.36


# ----------------------------------------------------------------------------
# sample weights


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_unit_weights_change_nothing(cls, digits):
    X, y = digits
    plain = cls(num_iters=50, random_state=0).fit(X, y)
    ones = cls(num_iters=50, random_state=0).fit(X, y, sample_weight=np.ones(len(y)))
    np.testing.assert_array_equal(ones.coef_, plain.coef_)
    np.testing.assert_array_equal(ones.loss_history_, plain.loss_history_)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_integer_weights_train_as_repeated_rows_in_any_order(cls, digits):
    X, y = digits[0][:300], digits[1][:300]
    rng = np.random.RandomState(0)
    weights = rng.randint(0, 4, size=len(y))
    repeated = cls(num_iters=80, random_state=3).fit(np.repeat(X, weights, axis=0),
                                                      np.repeat(y, weights))
    order = rng.permutation(len(y))
    weighted = cls(num_iters=80, random_state=3).fit(X[order], y[order],
                                                      sample_weight=weights[order])
    np.testing.assert_array_equal(weighted.coef_, repeated.coef_)
    np.testing.assert_array_equal(weighted.loss_history_, repeated.loss_history_)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_weights_shift_the_decision_towards_the_heavy_class(cls):
    X, y = make_blobs(n_samples=400, centers=[[0, 0], [1.5, 0]], cluster_std=1.0,
                      random_state=0)
    heavy = np.where(y == 1, 20.0, 1.0)
    plain = cls(num_iters=500, random_state=0).fit(X, y)
    weighted = cls(num_iters=500, random_state=0).fit(X, y, sample_weight=heavy)
    assert (weighted.predict(X) == 1).sum() > (plain.predict(X) == 1).sum()


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_sample_weight_is_routed_through_pipeline_and_grid_search(cls, digits):
    import sklearn

    X, y = digits
    weights = np.random.RandomState(0).randint(1, 4, size=len(y)).astype(float)
    expected = cls(num_iters=60, random_state=0).fit(
        StandardScaler().fit_transform(X), y, sample_weight=weights)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            cls(num_iters=60, random_state=0).set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True))
        pipe.fit(X, y, sample_weight=weights)
        np.testing.assert_array_equal(pipe[-1].coef_, expected.coef_)
        search = GridSearchCV(pipe, {f"{pipe.steps[-1][0]}__reg": [1e-5]}, cv=2)
        search.fit(X, y, sample_weight=weights)
        np.testing.assert_array_equal(search.best_estimator_[-1].coef_, expected.coef_)
        # the weights reach the scorer too: a refused request would score NaN
        assert np.isfinite(search.cv_results_["mean_test_score"]).all()
