"""MLPClassifier: scikit-learn conformance, training options and plots."""
import pickle
import re

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_digits, make_blobs
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeep.exceptions import DivergenceError
from skdeep.neural_network import MLPClassifier
import skdeep.neural_network._base as network_base
from skdeep.neural_network._base import _PREDICT_ROWS
from skdeep.nn.models import FullyConnectedNet
from skdeep.utils._validation import row_chunks


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


@parametrize_with_checks([
    MLPClassifier(),
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
                        monitor="val_accuracy", random_state=0).fit(X, y)
    assert clf.n_iter_ < 200
    assert len(clf.val_acc_history_) == clf.n_iter_
    with pytest.raises(ValueError, match="validation_fraction > 0"):
        MLPClassifier(early_stopping=True, validation_fraction=0).fit(X, y)
    with pytest.raises(ValueError, match="leaves none"):
        MLPClassifier(early_stopping=True).fit(X[:6], y[:6])


def test_early_stopping_watches_the_validation_loss_by_default(digits):
    X, y = digits
    patience = 3
    # without L2 and at a larger rate the validation loss soon stops falling
    # (at reg=1e-4 and 1e-3 it falls for all 200 epochs)
    clf = MLPClassifier(num_epochs=200, early_stopping=True, n_iter_no_change=patience,
                        learning_rate=1e-2, reg=0.0, random_state=0).fit(X, y)
    losses = [row["val_loss"] for row in clf.history_]
    # the first epoch of the lowest loss, then as many epochs without a lower one
    first_best = int(np.argmin(losses)) + 1
    assert clf.n_iter_ == first_best + patience < 200
    assert clf.best_val_loss_ == min(losses)
    assert clf.best_val_acc_ == max(row["val_accuracy"] for row in clf.history_)


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


def test_label_smoothing_trains_and_a_warm_start_may_change_it(blobs):
    X, y = blobs
    plain = MLPClassifier(num_epochs=3, batch_size=20, random_state=0).fit(X, y)
    clf = MLPClassifier(num_epochs=3, batch_size=20, label_smoothing=0.2,
                        warm_start=True, random_state=0).fit(X, y)
    assert clf.model_.label_smoothing == 0.2
    # same weights, split and minibatches: the first step's loss differs by the
    # target alone
    assert clf.loss_history_[0] != plain.loss_history_[0]
    assert clf.score(X, y) > 0.9
    clf.set_params(label_smoothing=0.0).fit(X, y)
    assert clf.model_.label_smoothing == 0.0 and clf.n_iter_ == 6
    with pytest.raises(InvalidParameterError, match="label_smoothing"):
        MLPClassifier(label_smoothing=1.0).fit(X, y)


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


def test_zero_sample_weight_is_removing_the_sample(digits):
    X, y = digits
    weight = (np.arange(len(y)) % 3 != 0).astype(float)
    params = dict(hidden_layer_sizes=(30,), num_epochs=3, batch_size=64, random_state=0)
    weighted = MLPClassifier(**params).fit(X, y, sample_weight=weight)
    removed = MLPClassifier(**params).fit(X[weight > 0], y[weight > 0])
    # the same rows train and validate, in the same order, with weight one each; only
    # the summation order of the measured input scale may differ, in its last bit
    np.testing.assert_allclose(weighted.predict_proba(X), removed.predict_proba(X),
                               rtol=0, atol=1e-6)
    assert weighted.val_acc_history_ == removed.val_acc_history_


@pytest.mark.parametrize("params", [
    dict(),
    dict(normalization="batchnorm", dropout_keep_ratio=0.8, batch_size=32),
])
def test_integer_sample_weight_is_repeating_the_sample(blobs, params):
    # float32, minibatches, a held-out split, batchnorm and dropout: all of them
    # see the same rows in the same order, so the fits are equal to the last bit
    X, y = blobs
    weight = np.arange(len(y)) % 4
    params = dict(hidden_layer_sizes=(20,), num_epochs=5, random_state=0, **params)
    weighted = MLPClassifier(**params).fit(X, y, sample_weight=weight)
    X_repeated, y_repeated = np.repeat(X, weight, axis=0), np.repeat(y, weight)
    # wherever the copies stand
    shuffle = np.random.RandomState(1).permutation(len(y_repeated))
    repeated = MLPClassifier(**params).fit(X_repeated[shuffle], y_repeated[shuffle])
    np.testing.assert_array_equal(weighted.predict_proba(X), repeated.predict_proba(X))
    np.testing.assert_array_equal(weighted.loss_history_, repeated.loss_history_)
    assert weighted.val_acc_history_ == repeated.val_acc_history_


def test_unweighted_rows_keep_their_order_unless_some_repeat(blobs):
    X, y = blobs
    params = dict(hidden_layer_sizes=(20,), num_epochs=3, random_state=0)
    reverse = np.arange(len(y))[::-1]
    # distinct rows: the order of the data is the order the Solver permutes
    forward = MLPClassifier(**params).fit(X, y)
    backward = MLPClassifier(**params).fit(X[reverse], y[reverse])
    assert not np.array_equal(forward.loss_history_, backward.loss_history_)
    # a repeated row: rows are ordered by content, as weighted rows are
    X_dup, y_dup = np.vstack([X, X[:1]]), np.append(y, y[0])
    forward = MLPClassifier(**params).fit(X_dup, y_dup)
    backward = MLPClassifier(**params).fit(X_dup[::-1], y_dup[::-1])
    np.testing.assert_array_equal(forward.loss_history_, backward.loss_history_)


def test_sample_weight_shifts_the_decision_toward_heavy_classes():
    # two overlapping classes: weighting class 0 ten times claims the overlap for it
    X, y = make_blobs(n_samples=400, centers=[[0, 0], [1, 1]], cluster_std=1.0,
                      random_state=0)
    params = dict(num_epochs=20, random_state=0)
    plain = MLPClassifier(**params).fit(X, y)
    heavy = MLPClassifier(**params).fit(X, y, sample_weight=np.where(y == 0, 10.0, 1.0))
    assert np.mean(heavy.predict(X) == 0) > np.mean(plain.predict(X) == 0) + 0.2


@pytest.mark.parametrize("weight, match", [
    (np.zeros(200), "at least one non-zero number"),
    (-np.ones(200), "Negative values in data passed to `sample_weight`"),
])
def test_bad_sample_weight(blobs, weight, match):
    X, y = blobs
    with pytest.raises(ValueError, match=match):
        MLPClassifier(num_epochs=1).fit(X, y, sample_weight=weight)
    with pytest.raises(ValueError, match=match):
        MLPClassifier().partial_fit(X, y, classes=[0, 1, 2], sample_weight=weight)


def test_sample_weight_on_one_class_only_is_refused(blobs):
    X, y = blobs
    with pytest.raises(ValueError, match="at least 2 classes with a non-zero"):
        MLPClassifier(num_epochs=1).fit(X, y, sample_weight=(y == 1).astype(float))
    # partial_fit knows the other classes from its first call
    MLPClassifier().partial_fit(X, y, classes=[0, 1, 2],
                                sample_weight=(y == 1).astype(float))


def test_sample_weight_is_routed_through_pipeline_and_grid_search(blobs):
    X, y = blobs
    weight = np.where(y == 0, 5.0, 1.0)
    params = dict(num_epochs=5, random_state=0)
    direct = MLPClassifier(**params).fit(X, y, sample_weight=weight)
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            StandardScaler().set_fit_request(sample_weight=False),
            MLPClassifier(**params).set_fit_request(sample_weight=True))
        pipe.fit(X, y, sample_weight=weight)
        # the network in the pipeline got the weights: it is the direct fit on the
        # rows the scaler handed over
        X_scaled = pipe[0].transform(X)
        on_scaled = MLPClassifier(**params).fit(X_scaled, y, sample_weight=weight)
        np.testing.assert_array_equal(pipe.predict_proba(X),
                                      on_scaled.predict_proba(X_scaled))
        search = GridSearchCV(
            MLPClassifier(**params).set_fit_request(sample_weight=True)
            .set_score_request(sample_weight=True),
            {"hidden_layer_sizes": [(100,)]}, cv=2)
        search.fit(X, y, sample_weight=weight)
        np.testing.assert_array_equal(search.best_estimator_.predict_proba(X),
                                      direct.predict_proba(X))


def test_divergence_raises_naming_the_learning_rate(blobs):
    X, y = blobs
    clf = MLPClassifier(update_rule="sgd", learning_rate=1e9, weight_scale=10.0,
                        num_epochs=5, random_state=0)
    with pytest.raises(DivergenceError, match=r"learning_rate=1000000000\.0"):
        clf.fit(X * 1e3, y)


def test_exploding_loss_on_digits_raises_naming_the_learning_rate(digits):
    X, y = digits
    # the loss climbs to about 1e15 but stays finite, so a check for NaN and inf
    # alone would let fit return the diverged network
    with pytest.raises(DivergenceError, match=r"learning_rate=1000000\.0"):
        MLPClassifier(learning_rate=1e6, num_epochs=20, random_state=0).fit(X, y)


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
    # ten Adam steps of 1e-3 would leave the score to the initial weights
    pipe = make_pipeline(StandardScaler(), MLPClassifier(num_epochs=60, random_state=0))
    assert pipe.fit(X, y).score(X, y) > 0.9
    search = GridSearchCV(MLPClassifier(num_epochs=5, random_state=0),
                          {"hidden_layer_sizes": [(10,), (30,)]}, cv=2, n_jobs=2)
    search.fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] in [(10,), (30,)]


def test_predictions_do_not_depend_on_batching(digits, monkeypatch):
    X, y = digits
    clf = MLPClassifier(num_epochs=2, normalization="batchnorm", random_state=0).fit(X, y)
    shapes = []
    real_loss = FullyConnectedNet.loss

    def recording_loss(model, X_batch, y_batch=None, **kwargs):
        shapes.append((X_batch.shape, X_batch.dtype))
        return real_loss(model, X_batch, y_batch, **kwargs)

    monkeypatch.setattr(FullyConnectedNet, "loss", recording_loss)
    full = clf.decision_function(X[:300])
    one_by_one = np.vstack([clf.decision_function(X[i:i + 1]) for i in range(300)])
    np.testing.assert_array_equal(one_by_one, full)
    # a small working_memory groups fewer forward passes, of the same shape
    with sklearn.config_context(working_memory=0.1):
        np.testing.assert_array_equal(clf.decision_function(X[:300]), full)
    # by construction, on any processor: every forward pass has one shape and
    # dtype, so BLAS computes each row with the same kernels whatever its batch
    assert set(shapes) == {((_PREDICT_ROWS, X.shape[1]), np.dtype(np.float64))}
    assert len(shapes) == 3 + 300 + 3  # ceil(300 / 128) blocks, 300 single rows


def test_rows_are_chunked_by_the_one_rule(digits, monkeypatch):
    """The input scale and the predictions bound their memory with row_chunks."""
    X, y = digits
    calls = []

    def recording_row_chunks(n_rows, bytes_per_row, **kwargs):
        calls.append(n_rows)
        return row_chunks(n_rows, bytes_per_row, **kwargs)

    monkeypatch.setattr(network_base, "row_chunks", recording_row_chunks)
    clf = MLPClassifier(num_epochs=1, random_state=0).fit(X, y)
    assert calls == [len(X)]  # the root-mean-square of the training rows
    clf.decision_function(X[:300])
    assert calls == [len(X), 3]  # ceil(300 / 128) blocks of rows to predict


@pytest.mark.parametrize("int_dtype", [np.int64, np.uint32])
def test_integer_inputs_are_read_as_float64(blobs, int_dtype):
    """Integers train and predict as their float64 copy (float_dtype's rule).

    Values above 2**24, which float32 rounds, so that reading them as float32
    would train on other numbers.
    """
    X, y = blobs
    X_int = (2**24 + np.round(X * 1000) * 7).astype(int_dtype)
    X_val_int, y_val = X_int[::4], y[::4]
    params = dict(hidden_layer_sizes=(8,), num_epochs=2, dtype="float64",
                  random_state=0)
    from_int = MLPClassifier(**params).fit(X_int, y, X_val=X_val_int, y_val=y_val)
    from_float = MLPClassifier(**params).fit(X_int.astype(np.float64), y,
                                             X_val=X_val_int.astype(np.float64),
                                             y_val=y_val)
    assert from_int.input_scale_ == from_float.input_scale_
    assert from_int.history_[-1]["val_loss"] == from_float.history_[-1]["val_loss"]
    np.testing.assert_array_equal(from_int.predict_proba(X_int),
                                  from_float.predict_proba(X_int.astype(np.float64)))


@pytest.fixture(scope="module")
def raw_pixels():
    # digits at the scale of 8-bit pixels with the mean image removed, as CIFAR-10
    # is fed to the networks in the CS231n notebooks
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(16 * X, y, random_state=0)
    mean_image = X_train.mean(axis=0)
    return X_train - mean_image, X_test - mean_image, y_train, y_test


def test_default_initialization_trains_on_raw_pixels(raw_pixels):
    X_train, X_test, y_train, y_test = raw_pixels
    clf = MLPClassifier(num_epochs=20, random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.93
    assert clf.input_scale_ == pytest.approx(np.sqrt(np.mean(X_train ** 2)), rel=1e-12)
    # the same as training on the inputs divided by their scale beforehand
    unit = MLPClassifier(num_epochs=20, random_state=0).fit(X_train / clf.input_scale_,
                                                            y_train)
    assert unit.input_scale_ == pytest.approx(1, rel=1e-12)
    np.testing.assert_allclose(clf.predict_proba(X_test),
                               unit.predict_proba(X_test / clf.input_scale_), atol=1e-4)
    # a number as weight_scale is CS231n's initialization, on the inputs as they are
    cs231n = MLPClassifier(weight_scale=1e-2, num_epochs=1).fit(X_train, y_train)
    assert cs231n.input_scale_ == 1


@pytest.mark.parametrize("params", [
    {"hidden_layer_sizes": (10, 0)},
    {"hidden_layer_sizes": True},
    {"dropout_keep_ratio": 0.0},
    {"dropout_keep_ratio": 1.5},
    {"normalization": "groupnorm"},
    {"update_rule": "adagrad"},
    {"learning_rate": 0},
    {"learning_rate": np.inf},
    {"lr_decay": 1.5},
    {"reg": -1},
    # a bool is a typo, not a strength of one; infinities are refused up front
    # rather than blamed on the learning rate when training diverges
    {"reg": True},
    {"reg": np.inf},
    {"weight_scale": np.inf},
    {"weight_scale": 0},
    {"weight_scale": "xavier"},
    {"batch_size": 0},
    {"batch_size": True},
    {"num_epochs": 2.5},
    {"validation_fraction": 1.0},
    {"dtype": "float16"},
    {"monitor": "accuracy"},
    {"random_state": "seed"},
])
def test_bad_parameters_are_named(blobs, params):
    X, y = blobs
    (name, value), = params.items()
    with pytest.raises(InvalidParameterError, match=f"The '{name}' parameter of "
                       f"MLPClassifier must be .* Got {re.escape(repr(value))} instead"):
        MLPClassifier(**params).fit(X, y)


def test_partial_fit_refuses_other_classes_later(blobs):
    X, y = blobs
    clf = MLPClassifier(random_state=0).partial_fit(X, y, classes=[0, 1, 2])
    clf.partial_fit(X, y, classes=[2, 1, 0])  # the same classes, in any order
    with pytest.raises(ValueError, match=r"classes=\[0, 1, 2, 3\] is not the same as "
                       r"on the first call to partial_fit"):
        clf.partial_fit(X, y, classes=[0, 1, 2, 3])
    np.testing.assert_array_equal(clf.classes_, [0, 1, 2])


def test_mixed_string_and_number_labels_are_refused(blobs):
    X, y = blobs
    labels = np.array(["cat", 1, "emu"], dtype=object)[y]
    with pytest.raises(ValueError, match="Mix of label input types"):
        MLPClassifier(num_epochs=1).fit(X, labels)
    clf = MLPClassifier().partial_fit(X, np.array(["cat", "dog", "emu"])[y],
                                      classes=["cat", "dog", "emu"])
    with pytest.raises(ValueError, match="Mix of label input types"):
        clf.partial_fit(X, labels)


def test_random_state_none_follows_numpy_global_state(blobs):
    X, y = blobs
    # scikit-learn's meaning of None: the global RandomState, so np.random.seed repeats
    np.random.seed(0)
    a = MLPClassifier(num_epochs=2).fit(X, y)
    np.random.seed(0)
    b = MLPClassifier(num_epochs=2).fit(X, y)
    assert a.loss_history_ == b.loss_history_
    c = MLPClassifier(num_epochs=2, random_state=np.random.RandomState(0)).fit(X, y)
    d = MLPClassifier(num_epochs=2, random_state=0).fit(X, y)
    assert c.loss_history_ == d.loss_history_


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
