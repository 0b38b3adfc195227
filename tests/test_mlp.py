"""MLPClassifier: scikit-learn conformance, training options and plots."""
import pickle
import re

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeep.exceptions import DivergenceError
from skdeep.neural_network import MLPClassifier


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def digits_split(digits):
    return train_test_split(*digits, random_state=0)


@pytest.fixture(scope="module")
def blobs():
    X, y = make_blobs(n_samples=200, centers=3, n_features=5, random_state=0)
    return StandardScaler().fit_transform(X), y


# the defaults are checked with every other estimator in test_common.py
@parametrize_with_checks([
    MLPClassifier(normalization="batchnorm", dropout_keep_ratio=0.8),
    MLPClassifier(normalization="layernorm", update_rule="sgd_momentum",
                  learning_rate=1e-2, hidden_layer_sizes=(50, 50)),
])
def test_sklearn_compatible_configurations(estimator, check):
    check(estimator)


def test_learns_digits_in_float32(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = MLPClassifier(num_epochs=30, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.93
    assert all(v.dtype == np.float32 for v in clf.model_.params.values())
    assert clf.model_.params["W1"].shape == (64, 100)
    assert clf.n_iter_ == 30


@pytest.mark.parametrize("normalization, keep", [("batchnorm", 0.8), ("layernorm", 0.5)])
def test_normalization_and_dropout_train(digits_split, normalization, keep):
    X_train, X_test, y_train, y_test = digits_split
    clf = MLPClassifier(hidden_layer_sizes=(64, 64), normalization=normalization,
                        dropout_keep_ratio=keep, num_epochs=20, batch_size=50,
                        random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9
    assert "gamma2" in clf.model_.params


def test_string_labels_and_probabilities(blobs):
    X, y = blobs
    labels = np.array(["cat", "dog", "emu"])[y]
    clf = MLPClassifier(num_epochs=20, random_state=0).fit(X, labels)
    np.testing.assert_array_equal(clf.classes_, ["cat", "dog", "emu"])
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X))
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba)
    assert clf.score(X, labels) > 0.9
    binary = MLPClassifier(num_epochs=5, random_state=0).fit(X[y < 2], labels[y < 2])
    decision = binary.decision_function(X[y < 2])
    assert decision.shape == (int(np.sum(y < 2)),)
    np.testing.assert_array_equal(binary.classes_[(decision > 0).astype(int)],
                                  binary.predict(X[y < 2]))


def test_random_state_repeats_and_never_touches_global_state(blobs):
    X, y = blobs
    state = np.random.get_state()
    params = dict(dropout_keep_ratio=0.5, num_epochs=3, random_state=3)
    a = MLPClassifier(**params).fit(X, y)
    b = MLPClassifier(**params).fit(X, y)
    after = np.random.get_state()
    assert np.array_equal(state[1], after[1]) and state[2] == after[2]
    assert a.loss_history_ == b.loss_history_
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = MLPClassifier(**{**params, "random_state": 4}).fit(X, y)
    assert a.loss_history_ != c.loss_history_


def test_validation_split_is_stratified(digits):
    X, y = digits
    clf = MLPClassifier(num_epochs=1, validation_fraction=0.2, random_state=0)
    # the rows the Solver trains on are those the split leaves; check the split
    from skdeep.neural_network._base import _stratified_split

    train, val = _stratified_split(y, 0.2, np.random.default_rng(0))
    assert len(np.intersect1d(train, val)) == 0 and len(train) + len(val) == len(y)
    for c in range(10):
        share = np.mean(y[val] == c) / np.mean(y == c)
        assert abs(share - 1) < 0.05
    clf.fit(X, y)
    assert len(clf.val_acc_history_) == 1 and clf.best_val_acc_ is not None
    # too few samples to hold any out: every sample trains, nothing is validated
    tiny = MLPClassifier(num_epochs=2, random_state=0).fit(X[:6], y[:6])
    assert tiny.val_acc_history_ == [] and tiny.best_val_acc_ is None


def test_early_stopping(digits):
    X, y = digits
    clf = MLPClassifier(num_epochs=200, early_stopping=True, n_iter_no_change=3,
                        random_state=0).fit(X, y)
    assert clf.n_iter_ < 200
    assert len(clf.val_acc_history_) == clf.n_iter_
    with pytest.raises(ValueError, match="validation_fraction > 0"):
        MLPClassifier(early_stopping=True, validation_fraction=0).fit(X, y)
    with pytest.raises(ValueError, match="leaves none"):
        MLPClassifier(early_stopping=True).fit(X[:6], y[:6])


def test_warm_start_continues_training(blobs):
    X, y = blobs
    clf = MLPClassifier(num_epochs=2, warm_start=True, random_state=0).fit(X, y)
    W1 = clf.model_.params["W1"].copy()
    first_losses = list(clf.loss_history_)
    clf.fit(X, y)
    assert len(clf.loss_history_) == 2 * len(first_losses) and clf.n_iter_ == 4
    # continued, not restarted: the second run starts where the first ended
    assert clf.loss_history_[len(first_losses)] < first_losses[0]
    assert not np.array_equal(clf.model_.params["W1"], W1)
    with pytest.raises(ValueError, match="same architecture"):
        clf.set_params(hidden_layer_sizes=(7,)).fit(X, y)
    with pytest.raises(ValueError, match="warm_start needs the same classes"):
        clf.set_params(hidden_layer_sizes=(100,)).fit(X, y + 1)
    cold = clone(clf).set_params(warm_start=False, num_epochs=1).fit(X, y)
    assert cold.n_iter_ == 1


def test_partial_fit(blobs):
    X, y = blobs
    clf = MLPClassifier(batch_size=50, random_state=0)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[:100], y[:100], classes=[0, 1, 2, 3])
    assert len(clf.loss_history_) == 2 and clf.n_iter_ == 1
    adam_steps = clf._optim_configs["W1"]["t"]
    for _ in range(10):
        clf.partial_fit(X, y)
    assert clf._optim_configs["W1"]["t"] == adam_steps + 10 * 4  # the optimizer continues
    assert clf.score(X, y) > 0.9
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2, 3])
    with pytest.raises(ValueError, match=r"labels \[7\] that are not in classes"):
        clf.partial_fit(X[:3], [0, 1, 7])
    with pytest.raises(ValueError, match="features"):
        clf.partial_fit(X[:, :3], y)


def test_divergence_raises_naming_the_learning_rate(blobs):
    X, y = blobs
    clf = MLPClassifier(update_rule="sgd", learning_rate=1e9, weight_scale=10.0,
                        num_epochs=5, random_state=0)
    with pytest.raises(DivergenceError, match=r"learning_rate=1000000000\.0"):
        clf.fit(X * 1e3, y)


def test_verbose_prints_one_line_per_epoch(capsys, blobs):
    X, y = blobs
    MLPClassifier(num_epochs=3, verbose=1, random_state=0).fit(X, y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    for epoch, line in enumerate(lines, 1):
        assert re.fullmatch(rf"\(Epoch {epoch} / 3\) train acc: [01]\.\d{{6}}; "
                            r"val_acc: [01]\.\d{6}; loss: \d+\.\d{6}", line)
    MLPClassifier(num_epochs=1, batch_size=10, verbose=2, random_state=0).fit(X, y)
    assert "(Iteration 10 / 18) loss:" in capsys.readouterr().out


def test_pickle_clone_pipeline_and_parallel_grid_search(blobs):
    X, y = blobs
    clf = MLPClassifier(num_epochs=5, random_state=0).fit(X, y)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X), clf.predict_proba(X))
    assert clone(clf).get_params() == clf.get_params()
    assert not hasattr(clone(clf), "model_")
    pipe = make_pipeline(StandardScaler(), MLPClassifier(num_epochs=10, random_state=0))
    assert pipe.fit(X, y).score(X, y) > 0.9
    search = GridSearchCV(MLPClassifier(num_epochs=5, random_state=0),
                          {"hidden_layer_sizes": [(10,), (30,)]}, cv=2, n_jobs=2)
    search.fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] in [(10,), (30,)]


def test_predictions_do_not_depend_on_batching(digits):
    X, y = digits
    clf = MLPClassifier(num_epochs=2, normalization="batchnorm", random_state=0).fit(X, y)
    full = clf.decision_function(X[:50])
    one_by_one = np.vstack([clf.decision_function(X[i:i + 1]) for i in range(50)])
    np.testing.assert_allclose(one_by_one, full, rtol=0, atol=1e-12)


@pytest.mark.parametrize("params, match", [
    ({"hidden_layer_sizes": (10, 0)}, "hidden_layer_sizes must be positive ints"),
    ({"dropout_keep_ratio": 0.0}, "dropout_keep_ratio"),
    ({"dropout_keep_ratio": 1.5}, "dropout_keep_ratio"),
    ({"normalization": "groupnorm"}, "normalization must be None, 'batchnorm'"),
    ({"update_rule": "adagrad"}, "update_rule must be one of"),
    ({"learning_rate": 0}, "learning_rate"),
    ({"lr_decay": 1.5}, "lr_decay"),
    ({"reg": -1}, "reg"),
    ({"weight_scale": "xavier"}, "weight_scale"),
    ({"batch_size": 0}, "batch_size"),
    ({"num_epochs": 2.5}, "num_epochs"),
    ({"validation_fraction": 1.0}, "validation_fraction"),
    ({"dtype": "float16"}, "dtype"),
    ({"random_state": "seed"}, "random_state"),
])
def test_bad_parameters_are_named(blobs, params, match):
    X, y = blobs
    with pytest.raises(ValueError, match=match):
        MLPClassifier(**params).fit(X, y)


def test_plot_history(blobs):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skdeep.plotting import plot_history

    X, y = blobs
    clf = MLPClassifier(num_epochs=4, random_state=0).fit(X, y)
    axes = plot_history(clf, title="one run")
    assert len(axes) == 2
    np.testing.assert_array_equal(axes[0].lines[0].get_ydata(), clf.loss_history_)
    assert [line.get_label() for line in axes[1].lines] == ["train", "validation"]
    np.testing.assert_array_equal(axes[1].lines[1].get_ydata(), clf.val_acc_history_)

    other = MLPClassifier(num_epochs=4, update_rule="sgd_momentum", learning_rate=1e-2,
                          random_state=0).fit(X, y)
    axes = plot_history({"adam": clf, "momentum": other})
    assert len(axes) == 3
    assert [line.get_label() for line in axes[2].lines] == ["adam", "momentum"]
    np.testing.assert_array_equal(axes[1].lines[1].get_ydata(), other.train_acc_history_)

    runs = [{"loss_history": [3, 2, 1], "train_acc_history": [0.5]}]
    axes = plot_history(runs, labels=["dict"])
    assert axes[2].lines[0].get_ydata().size == 0  # no validation curve to draw
    with pytest.raises(TypeError, match="history must be"):
        plot_history(42)
    with pytest.raises(ValueError, match="axes must hold 2 Axes"):
        plot_history(clf, axes=plt.subplots(1, 3)[1])
    plt.close("all")
