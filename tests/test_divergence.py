"""The divergence rule (skdeep.exceptions.DivergenceMonitor) and its use in training."""
import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skdeep import LinearSVMClassifier, MLPClassifier, SoftmaxClassifier
from skdeep.exceptions import DivergenceError, DivergenceMonitor


@pytest.fixture(scope="module")
def digits():
    return load_digits(return_X_y=True)


def _feed(monitor, losses, learning_rate=0.1):
    for i, loss in enumerate(losses):
        monitor.check(loss, learning_rate, i)


def test_monitor_raises_on_non_finite_loss():
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(DivergenceError, match=r"the loss became .* at iteration 2 "
                                                  r"with learning_rate=0\.1\."):
            _feed(DivergenceMonitor(), [2.3, 2.2, bad])


def test_monitor_raises_when_the_windowed_loss_explodes():
    # geometric growth, as a too large learning rate gives: 2.3 * 10**k
    losses = [2.3 * 10.0 ** k for k in range(10)]
    monitor = DivergenceMonitor()
    with pytest.raises(DivergenceError, match=re.escape("learning_rate=1000000.0")) as exc:
        _feed(monitor, losses, learning_rate=1e6)
    # the mean of 2.3 * (1 + 10 + ... + 10**k) over k + 1 losses first exceeds
    # 1e4 * 2.3 at k = 5 (mean 2.3 * 111111 / 6 = 2.3 * 18518)
    assert "at iteration 5 " in str(exc.value)
    assert "exceeds 10000 times the starting loss 2.3" in str(exc.value)


def test_monitor_tolerates_a_single_spike_and_noise():
    monitor = DivergenceMonitor()
    rng = np.random.RandomState(0)
    noisy = 2.3 * np.exp(rng.randn(2000))  # noise of a factor of e either way
    # one minibatch at 5e4 times the start: the mean of 10 stays below 1e4 times
    noisy[500] = 2.3 * 5e4
    _feed(monitor, noisy)


def test_monitor_floor_keeps_a_warm_start_from_raising_on_noise():
    # starting from a trained loss of 1e-3, a window mean of 50 is noise, not a
    # divergence: it is below 1e4 times the floor of 1
    _feed(DivergenceMonitor(), [1e-3] + [50.0] * 30)
    with pytest.raises(DivergenceError):
        _feed(DivergenceMonitor(), [1e-3] + [2e4] * 30)


@pytest.mark.parametrize("kwargs", [
    # without the monitor these fits end with finite losses of 1e12 to 1e15
    {"learning_rate": 1e6},
    {"update_rule": "sgd", "learning_rate": 100},
])
def test_mlp_with_too_large_learning_rate_raises(digits, kwargs):
    X, y = digits
    clf = MLPClassifier(random_state=0, num_epochs=5, **kwargs)
    lr = kwargs["learning_rate"]
    with pytest.raises(DivergenceError, match=re.escape(f"learning_rate={lr!r}.")):
        clf.fit(X, y)


def _max_window_ratio(losses, window=10, floor=1.0):
    """The largest ratio the rule compares with its factor, over a loss history."""
    losses = np.asarray(losses, dtype=np.float64)
    sums = np.cumsum(np.r_[0.0, losses])
    ends = np.arange(1, len(losses) + 1)
    starts = np.maximum(0, ends - window)
    means = (sums[ends] - sums[starts]) / (ends - starts)
    return means.max() / max(losses[0], floor)


@pytest.mark.parametrize("make", [
    # typical and ten times typical learning rates on the raw digits (0..16)
    lambda: MLPClassifier(learning_rate=1e-3, num_epochs=20, random_state=0),
    lambda: MLPClassifier(learning_rate=1e-2, num_epochs=6, random_state=0),
    lambda: MLPClassifier(update_rule="sgd", learning_rate=1e-1, num_epochs=6,
                          random_state=0),
    lambda: MLPClassifier(update_rule="rmsprop", dropout_keep_ratio=0.5,
                          learning_rate=1e-2, num_epochs=6, random_state=0),
    lambda: MLPClassifier(update_rule="sgd_momentum", normalization="batchnorm",
                          learning_rate=1e-1, num_epochs=6, random_state=0),
])
def test_no_false_alarm_on_ordinary_network_training(digits, make):
    X, y = digits
    clf = make().fit(X, y)
    assert clf.score(X, y) > 0.9
    # a margin of a hundred below the rule's factor of 1e4
    assert _max_window_ratio(clf.loss_history_) < 100


@pytest.mark.parametrize("make", [
    lambda: SoftmaxClassifier(learning_rate=1e-3, num_iters=500, random_state=0),
    lambda: SoftmaxClassifier(learning_rate=1e-2, num_iters=500, random_state=0),
    lambda: LinearSVMClassifier(learning_rate=1e-3, num_iters=500, random_state=0),
    lambda: LinearSVMClassifier(learning_rate=1e-1, num_iters=500, random_state=0),
])
def test_no_false_alarm_on_ordinary_linear_training(digits, make):
    X, y = digits
    clf = make().fit(X, y)
    assert clf.score(X, y) > 0.9
    assert _max_window_ratio(clf.loss_history_) < 100


def test_linear_classifier_with_too_large_learning_rate_raises(digits):
    # without the monitor this fit ends at chance accuracy with coefficients of 1e8
    X, y = digits
    with pytest.raises(DivergenceError, match=re.escape("learning_rate=100000.0.")):
        SoftmaxClassifier(learning_rate=1e5, random_state=0).fit(X.astype(np.float32), y)


@pytest.mark.parametrize("cls", [LinearSVMClassifier, SoftmaxClassifier])
def test_linear_weights_overflow_raises_the_monitors_message(cls):
    # one step of learning_rate=1e308 on features of 1e3: the loss of the
    # starting weights is finite, the update overflows, and no loss sees it
    X = 1e3 * np.random.RandomState(0).randn(30, 5)
    y = np.arange(30) % 3
    with pytest.raises(DivergenceError) as from_monitor:
        DivergenceMonitor().check(np.inf, 1e308, 0)
    expected = str(from_monitor.value).replace("the loss became inf",
                                               "the weights became non-finite")
    with pytest.raises(DivergenceError) as exc:
        cls(learning_rate=1e308, num_iters=1, batch_size=30, dtype="float64",
            random_state=0).fit(X, y)
    assert str(exc.value) == expected
