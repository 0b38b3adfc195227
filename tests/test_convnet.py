"""ConvNet and ConvNetClassifier: gradients, geometry errors, training options, digits."""
import math
import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeep.neural_network import ConvNetClassifier
from skdeep.neural_network._base import _PREDICT_ROWS
from skdeep.nn.gradcheck import eval_numerical_gradient
from skdeep.nn.layers import conv_forward_naive
from skdeep.nn.models import ConvNet

# A net small enough to train on the 8x8 digits in every test that fits one.
SMALL = dict(num_filters=8, filter_size=3, hidden_dim=32, learning_rate=3e-3,
             batch_size=32)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X / 16, y  # 8x8 grey images in [0, 1], 64 features


@pytest.fixture(scope="module")
def digits_split(digits):
    return train_test_split(*digits, random_state=0)


# ---- the model ----------------------------------------------------------------
@pytest.mark.parametrize("normalization, keep", [(None, 0.7), ("batchnorm", 1),
                                                  ("groupnorm", 0.7)])
def test_convnet_gradients(normalization, keep):
    model = ConvNet([2, 2, 2], filter_size=[3, 5, 3], pool_every=2, hidden_dims=[5, 4],
                    input_dim=(1, 6, 6), num_classes=3, normalization=normalization,
                    num_groups=2, dropout_keep_ratio=keep, label_smoothing=0.1, reg=0.1,
                    weight_scale="he", dtype=np.float64, seed=1, random_state=0)
    rng = np.random.RandomState(1)
    for name, value in model.params.items():
        # biases off zero: an all-zero input window would otherwise sit exactly on
        # the kink of the next ReLU, where finite differences are meaningless
        if name.startswith("b"):
            value[...] = rng.randn(*value.shape)
    X = rng.randn(3, 1, 6, 6)
    y = np.array([0, 2, 1])
    _, grads = model.loss(X, y)
    for name in sorted(model.params):
        numerical = eval_numerical_gradient(lambda _: model.loss(X, y)[0],
                                            model.params[name], verbose=False)
        # atol for the gradients that are zero: a bias before a normalization that
        # subtracts its channel's mean (batchnorm, or group norm with one channel
        # per group) does not change the loss
        np.testing.assert_allclose(grads[name], numerical, rtol=1e-5, atol=1e-8,
                                   err_msg=name)


@pytest.mark.parametrize("normalization, keep", [(None, 0.7), ("batchnorm", 1),
                                                  ("groupnorm", 0.7)])
def test_gelu_convnet_gradients(normalization, keep):
    model = ConvNet([2, 2, 2], filter_size=[3, 5, 3], pool_every=2, hidden_dims=[5, 4],
                    input_dim=(1, 6, 6), num_classes=3, normalization=normalization,
                    num_groups=2, dropout_keep_ratio=keep, label_smoothing=0.1, reg=0.1,
                    weight_scale="he", activation="gelu", dtype=np.float64, seed=1,
                    random_state=0)
    rng = np.random.RandomState(1)
    for value in model.params.values():
        # every parameter off its initial value, so that gammas and betas matter
        value += 0.1 * rng.randn(*value.shape)
    X = rng.randn(3, 1, 6, 6)
    y = np.array([0, 2, 1])
    _, grads = model.loss(X, y)
    assert sorted(grads) == sorted(model.params)
    for name in sorted(model.params):
        numerical = eval_numerical_gradient(lambda _: model.loss(X, y)[0],
                                            model.params[name], verbose=False)
        # the GELU has no kink, so no bias needs moving off one; atol for the
        # gradients that are zero (a bias before a normalization)
        np.testing.assert_allclose(grads[name], numerical, rtol=1e-6, atol=1e-9,
                                   err_msg=name)


def test_gelu_convnet_scores_are_the_layers_written_out():
    model = ConvNet([2], filter_size=3, pool_every=2, hidden_dims=[4],
                    input_dim=(1, 4, 4), num_classes=3, activation="gelu",
                    weight_scale=1.0, dtype=np.float64, random_state=0)
    X = np.random.RandomState(1).randn(2, 1, 4, 4)
    p = model.params

    def gelu(a):  # x * Phi(x), Phi through Python's math.erf
        return a * 0.5 * (1 + np.vectorize(math.erf)(a / math.sqrt(2)))

    conv, _ = conv_forward_naive(X, p["W1"], p["b1"], {"stride": 1, "pad": 1})
    hidden = gelu(gelu(conv).reshape(2, -1) @ p["W2"] + p["b2"])
    np.testing.assert_allclose(model.loss(X), hidden @ p["W3"] + p["b3"], rtol=1e-12)
    # and the ReLU network with the same parameters computes something else
    model.activation = "relu"
    assert not np.allclose(model.loss(X), hidden @ p["W3"] + p["b3"])


def test_convnet_shapes_and_parameters():
    model = ConvNet([4, 6, 8], filter_size=[5, 3, 3], pool_every=2, hidden_dims=[10],
                    input_dim=(3, 16, 12), num_classes=7, normalization="groupnorm",
                    num_groups=2, random_state=0)
    assert model.output_shapes == [(4, 16, 12), (6, 8, 6), (8, 8, 6)]
    assert model.params["W1"].shape == (4, 3, 5, 5)
    assert model.params["W3"].shape == (8, 6, 3, 3)
    assert model.params["W4"].shape == (8 * 8 * 6, 10)
    assert model.params["W5"].shape == (10, 7)
    assert model.params["gamma1"].shape == (1, 4, 1, 1)  # spatial group norm
    assert model.params["gamma4"].shape == (10,)  # layernorm of the hidden layer
    assert "gamma5" not in model.params
    assert all(v.dtype == np.float32 for v in model.params.values())
    scores = model.loss(np.zeros((2, 3, 16, 12)))
    assert scores.shape == (2, 7) and scores.dtype == np.float32


def test_convnet_he_initialization_uses_the_fan_in():
    model = ConvNet([64], filter_size=5, hidden_dims=[], input_dim=(8, 16, 16),
                    weight_scale="he", dtype=np.float64, random_state=0)
    # fan-in of the conv layer: 8 channels x 5 x 5
    assert model.params["W1"].std() == pytest.approx(np.sqrt(2 / 200), rel=0.05)
    assert model.params["W2"].std() == pytest.approx(np.sqrt(2 / (64 * 8 * 8)), rel=0.05)


@pytest.mark.parametrize("kwargs, match", [
    (dict(filter_size=4), "filter_size must be odd"),
    (dict(filter_size=9), "filter_size 9 of conv layer 1 is larger"),
    (dict(num_filters=[4, 4, 4, 4], filter_size=1),
     "pool_every=1 puts a 2x2 pool after conv layer 4"),
    (dict(normalization="groupnorm", num_groups=3), "num_groups=3 must divide"),
])
def test_convnet_geometry_errors(kwargs, match):
    params = dict(num_filters=[4], filter_size=3, input_dim=(1, 8, 8))
    with pytest.raises(ValueError, match=match):
        ConvNet(**{**params, **kwargs})


def test_test_flip_averages_the_mirror_image():
    X = np.random.RandomState(0).randn(4, 3, 8, 8)
    plain = ConvNet([4], filter_size=3, hidden_dims=[5], input_dim=(3, 8, 8),
                    dtype=np.float64, random_state=0)
    flipped = ConvNet([4], filter_size=3, hidden_dims=[5], input_dim=(3, 8, 8),
                      test_flip=True, dtype=np.float64, random_state=0)
    expected = (plain.loss(X) + plain.loss(X[..., ::-1])) / 2
    np.testing.assert_allclose(flipped.loss(X), expected, rtol=1e-12)
    # training scores are of the images themselves
    y = np.arange(4)
    assert plain.loss(X, y)[0] == flipped.loss(X, y)[0]


def test_model_test_time_views_follow_the_records_weights():
    X = np.random.RandomState(0).randn(4, 3, 8, 8)
    kwargs = dict(num_filters=[4], filter_size=3, hidden_dims=[5], input_dim=(3, 8, 8),
                  dtype=np.float64, random_state=0)
    plain = ConvNet(**kwargs)

    def pair(images):
        return (plain.loss(images) + plain.loss(images[..., ::-1])) / 2

    padded = np.pad(X, ((0, 0), (0, 0), (1, 1), (1, 1)), mode="reflect")
    # airbench's level-2 views: the mirror pair, then the pairs of the crops at
    # offsets (0, 0) and (2, 2) of the reflected padding, each half of the mean
    expected = pair(X) / 2 + (pair(padded[..., :8, :8]) + pair(padded[..., 2:, 2:])) / 4
    views = ConvNet(**kwargs, test_time_views="flip+shift")
    np.testing.assert_allclose(views.loss(X), expected, rtol=1e-12)
    np.testing.assert_array_equal(ConvNet(**kwargs, test_time_views="flip").loss(X),
                                  ConvNet(**kwargs, test_flip=True).loss(X))
    y = np.arange(4)
    assert plain.loss(X, y)[0] == views.loss(X, y)[0]
    with pytest.raises(ValueError, match="test_time_views"):
        ConvNet(**kwargs, test_time_views="crop")


# ---- the estimator ------------------------------------------------------------
def test_learns_digits_in_float32(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = ConvNetClassifier(**SMALL, num_epochs=8, random_state=0).fit(X_train, y_train)
    # a linear classifier reaches about 0.95 on this split; the convnet does better
    assert clf.score(X_test, y_test) > 0.96
    assert clf.image_shape_ == (8, 8, 1)
    assert clf.model_.params["W1"].shape == (8, 1, 3, 3)
    assert all(v.dtype == np.float32 for v in clf.model_.params.values())
    assert clf.n_iter_ == 8 and len(clf.val_acc_history_) == 8


@pytest.mark.parametrize("normalization", ["batchnorm", "groupnorm"])
def test_normalized_deeper_net_learns_digits(digits_split, normalization):
    X_train, X_test, y_train, y_test = digits_split
    clf = ConvNetClassifier(num_filters=(8, 8), filter_size=3, pool_every=2,
                            hidden_dim=(), normalization=normalization, num_groups=4,
                            learning_rate=1e-2, batch_size=32, num_epochs=3,
                            random_state=0)
    assert clf.fit(X_train[:600], y_train[:600]).score(X_test, y_test) > 0.9


def test_gelu_learns_digits_and_is_part_of_the_architecture(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = ConvNetClassifier(num_filters=(8, 8), filter_size=3, pool_every=2,
                            hidden_dim=32, normalization="batchnorm",
                            activation="gelu", learning_rate=1e-2, batch_size=32,
                            num_epochs=3, random_state=0)
    assert clf.fit(X_train[:600], y_train[:600]).score(X_test, y_test) > 0.9
    assert clf.model_.activation == "gelu"
    with pytest.raises(ValueError, match="same architecture"):
        clf.set_params(warm_start=True, activation="relu").fit(X_train[:600],
                                                                y_train[:600])
    with pytest.raises(ValueError, match="activation"):
        ConvNetClassifier(activation="tanh").fit(X_train[:50], y_train[:50])


def test_val_loss_is_the_plain_cross_entropy_under_label_smoothing(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = ConvNetClassifier(**SMALL, num_epochs=1, label_smoothing=0.3,
                            random_state=0)
    clf.fit(X_train[:400], y_train[:400], X_val=X_test[:200], y_val=y_test[:200])
    # oracle: -mean log p(label) of the fitted network (the epoch's own weights:
    # one epoch, so the best one), p from predict_proba in float64
    proba = clf.predict_proba(X_test[:200])
    plain = -np.mean(np.log(proba[np.arange(200), y_test[:200]]))
    # the smoothed loss against (1 - 0.3) * onehot + 0.3 / 10 of the same scores
    target = np.full(proba.shape, 0.03)
    target[np.arange(200), y_test[:200]] += 0.7
    smoothed = -np.mean(np.sum(target * np.log(proba), axis=1))
    # float32 training scores against float64 predictions: agreement to 1e-4
    assert clf.history_[0]["val_loss"] == pytest.approx(plain, rel=1e-4)
    assert abs(smoothed - plain) > 0.1


# tests/test_common.py's settings for the checks' tiny inputs, with the speed
# records' training tricks (GELU, label smoothing) switched on: they must leave
# scikit-learn's checks passing.
# The learning rate is doubled: with those small weights every GELU sits near
# zero, where it is x / 2, so the gradients reaching the early layers are about
# halved, and 20 epochs of 2 steps at 1e-2 stay short of the 0.83 training
# accuracy check_classifiers_train asks for
@parametrize_with_checks([ConvNetClassifier(
    num_filters=4, filter_size=1, pool_every=2, hidden_dim=8, batch_size=200,
    num_epochs=20, learning_rate=2e-2, weight_scale=1e-2, activation="gelu",
    label_smoothing=0.1)])
def test_sklearn_compatible_with_gelu_and_label_smoothing(estimator, check):
    check(estimator)


def _record_forward_passes(monkeypatch):
    """The (shape, dtype) of the input of every ConvNet forward from now on."""
    seen = []
    real_loss = ConvNet.loss

    def recording_loss(model, X_batch, y_batch=None, **kwargs):
        seen.append((X_batch.shape, X_batch.dtype))
        return real_loss(model, X_batch, y_batch, **kwargs)

    monkeypatch.setattr(ConvNet, "loss", recording_loss)
    return seen


def test_predictions_in_float64_whatever_the_training_dtype(digits, monkeypatch):
    X, y = digits
    X, y = X[:300], y[:300]
    clf32 = ConvNetClassifier(**SMALL, num_epochs=2, random_state=0).fit(X, y)
    clf64 = ConvNetClassifier(**SMALL, num_epochs=2, dtype="float64",
                              random_state=0).fit(X, y)
    assert clf32.model_.params["W1"].dtype == np.float32
    assert clf64.model_.params["W1"].dtype == np.float64
    seen = _record_forward_passes(monkeypatch)
    scores32 = clf32.decision_function(X)
    scores64 = clf64.decision_function(X)
    clf32.decision_function(X.astype(np.float32))
    assert {dtype for _, dtype in seen} == {np.dtype(np.float64)}
    # the float32 weights, read exactly in float64: the same scores as a float64
    # copy of the network computes
    model = clf32.model_.astype(np.float64)
    np.testing.assert_allclose(scores32, model.loss(clf32._model_input(X, np.float64)),
                               rtol=1e-12, atol=1e-12)
    # the same initial weights and minibatches: float32 training follows float64's
    np.testing.assert_allclose(scores32, scores64, rtol=1e-2, atol=1e-2)


def test_predictions_do_not_depend_on_batching(digits, monkeypatch):
    X, y = digits
    clf = ConvNetClassifier(**SMALL, num_epochs=1, normalization="batchnorm",
                            random_state=0).fit(X[:200], y[:200])
    seen = _record_forward_passes(monkeypatch)
    full = clf.decision_function(X[:300])
    one_by_one = np.vstack([clf.decision_function(X[i:i + 1]) for i in range(300)])
    np.testing.assert_array_equal(one_by_one, full)
    # about 17 KB of activations per image: a tenth of a MiB would hold 6, but
    # working_memory only groups the forward passes, of the same shape
    with sklearn.config_context(working_memory=0.1):
        np.testing.assert_array_equal(clf.decision_function(X[:300]), full)
    # by construction, on any processor: every forward pass has one shape and
    # dtype, so BLAS computes each image with the same kernels whatever its batch
    assert set(seen) == {((_PREDICT_ROWS, 1, 8, 8), np.dtype(np.float64))}
    assert len(seen) == 3 + 300 + 3  # ceil(300 / 128) blocks, 300 single images


@pytest.mark.parametrize("params, match", [
    (dict(image_shape=(8, 4, 1)), r"image_shape=\(8, 4, 1\) holds 32 values"),
    (dict(filter_size=9), "filter_size 9 of conv layer 1 is larger"),
    (dict(num_filters=(4, 4, 4, 4), filter_size=1), "pool_every=1 puts a 2x2 pool"),
    (dict(num_filters=6, normalization="groupnorm", num_groups=4),
     "num_groups=4 must divide"),
    (dict(filter_size=(3, 3)), "filter_size must be an int or one size per conv layer"),
    (dict(hidden_dim=-1), "hidden_dim"),
    (dict(lr_schedule="step"), "lr_schedule"),
])
def test_bad_geometry_is_refused_before_training(digits, params, match):
    X, y = digits
    clf = ConvNetClassifier(**params)
    with pytest.raises(ValueError, match=match):
        clf.fit(X[:50], y[:50])
    assert not hasattr(clf, "loss_history_")


def test_random_state_repeats(digits):
    X, y = digits
    X, y = X[:300], y[:300]

    def proba(seed, **extra):
        clf = ConvNetClassifier(**SMALL, num_epochs=2, random_state=seed, **extra)
        return clf.fit(X, y).predict_proba(X)

    np.testing.assert_array_equal(proba(0), proba(0))
    assert not np.array_equal(proba(0), proba(1))
    augmented = proba(0, augment=True)
    np.testing.assert_array_equal(augmented, proba(0, augment=True))
    assert not np.array_equal(augmented, proba(0))


def test_warm_start_and_partial_fit_continue(digits):
    X, y = digits
    X, y = X[:400], y[:400]
    clf = ConvNetClassifier(**SMALL, num_epochs=3, random_state=0).fit(X, y)
    first_losses = list(clf.loss_history_)
    clf.set_params(warm_start=True, num_epochs=1).fit(X, y)
    assert clf.n_iter_ == 4
    # continuing: the next epoch starts near where the last one ended
    assert np.mean(clf.loss_history_[-5:]) < np.mean(first_losses[:5]) / 2

    inc = ConvNetClassifier(**SMALL, random_state=0)
    inc.partial_fit(X, y, classes=np.arange(10))
    loss_after_one = np.mean(inc.loss_history_[-5:])
    for _ in range(3):
        inc.partial_fit(X, y)
    assert inc.n_iter_ == 4
    assert np.mean(inc.loss_history_[-5:]) < loss_after_one
    with pytest.raises(ValueError, match="same architecture"):
        inc.set_params(num_filters=4).partial_fit(X, y)


def test_schedule_ends_near_zero_and_options_reach_the_solver(digits):
    X, y = digits
    X, y = X[:300], y[:300]
    clf = ConvNetClassifier(**SMALL, num_epochs=2, update_rule="sgd_momentum",
                            nesterov=True, lr_schedule="cosine", warmup_fraction=0.3,
                            label_smoothing=0.1, random_state=0).fit(X, y)
    configs = clf._optim_configs.values()
    assert all(c["nesterov"] for c in configs)
    # the rate of the last of T steps, after round(0.3 T) of warm-up
    steps = len(clf.loss_history_)
    warmup = round(0.3 * steps)
    factor = 0.5 * (1 + np.cos(np.pi * (steps - 1 - warmup) / (steps - warmup)))
    for config in configs:
        assert config["learning_rate"] == pytest.approx(factor * SMALL["learning_rate"])
    assert clf.model_.label_smoothing == 0.1


def test_weight_averaging_and_test_flip(digits_split):
    X_train, X_test, y_train, y_test = digits_split
    clf = ConvNetClassifier(**SMALL, num_epochs=4, weight_averaging=0.99,
                            random_state=0).fit(X_train, y_train)
    assert clf.score(X_test, y_test) > 0.9
    # with test_flip, an image and its mirror image get the same scores
    mirror = X_test.reshape(-1, 8, 8)[:, :, ::-1].reshape(len(X_test), -1)
    clf.set_params(test_flip=True)
    np.testing.assert_allclose(clf.decision_function(X_test),
                               clf.decision_function(mirror), rtol=1e-5, atol=1e-6)
    clf.set_params(test_flip=False)
    assert not np.allclose(clf.decision_function(X_test), clf.decision_function(mirror))


def _mirror(X):
    """Rows of 8x8 grey images, each mirrored left-right."""
    return X.reshape(-1, 8, 8)[:, :, ::-1].reshape(len(X), -1)


def _shifted_by_hand(X):
    """Each 8x8 image moved one pixel down-right and one pixel up-left, the
    pixels brought in reflected: crops of np.pad(..., mode='reflect')."""
    padded = np.pad(X.reshape(-1, 8, 8), ((0, 0), (1, 1), (1, 1)), mode="reflect")
    return [padded[:, :8, :8].reshape(len(X), -1),
            padded[:, 2:, 2:].reshape(len(X), -1)]


def test_test_time_views_average_the_scores_of_the_named_views(digits):
    X, y = digits
    clf = ConvNetClassifier(**SMALL, num_epochs=2, normalization="batchnorm",
                            random_state=0).fit(X[:300], y[:300])
    X = X[300:500]
    plain = clf.decision_function
    scores = plain(X)
    # None is the image alone: the model's scores of its one padded block
    block = np.zeros((_PREDICT_ROWS, 1, 8, 8))
    block[:100] = clf._model_input(X[:100], np.float64)
    np.testing.assert_array_equal(scores[:100],
                                  clf.model_.astype(np.float64).loss(block)[:100])

    # the oracle: the plain scores of the views made in this test
    pair = (plain(X) + plain(_mirror(X))) / 2
    shifted = [(plain(S) + plain(_mirror(S))) / 2 for S in _shifted_by_hand(X)]
    expected = pair / 2 + (shifted[0] + shifted[1]) / 4
    clf.set_params(test_time_views="flip")
    np.testing.assert_allclose(clf.decision_function(X), pair, rtol=1e-12, atol=1e-12)
    flip_views = clf.decision_function(X)
    clf.set_params(test_time_views=None, test_flip=True)
    np.testing.assert_array_equal(clf.decision_function(X), flip_views)

    clf.set_params(test_time_views="flip+shift", test_flip=False)
    np.testing.assert_allclose(clf.decision_function(X), expected, rtol=1e-12,
                               atol=1e-12)
    # the views' logits are averaged; probabilities are their softmax
    e = np.exp(expected - expected.max(axis=1, keepdims=True))
    np.testing.assert_allclose(clf.predict_proba(X), e / e.sum(axis=1, keepdims=True),
                               rtol=1e-10)
    assert not np.allclose(expected, pair) and not np.allclose(pair, scores)
    # a row's views do not depend on the rows passed with it
    one_by_one = np.vstack([clf.decision_function(X[i:i + 1])
                            for i in range(0, 200, 37)])
    np.testing.assert_array_equal(one_by_one, clf.decision_function(X)[::37])


def test_augment_options_reach_the_training(digits):
    X, y = digits
    X, y = X[:300], y[:300]

    def proba(**augment):
        clf = ConvNetClassifier(**SMALL, num_epochs=2, augment=True, random_state=0,
                                **augment)
        return clf.fit(X, y).predict_proba(X)

    default = proba()
    # the defaults are the options' values of before
    np.testing.assert_array_equal(
        default, proba(augment_pad=1, augment_flip="random", augment_border="zeros"))
    variants = [proba(augment_pad=2), proba(augment_flip="alternating"),
                proba(augment_flip=None), proba(augment_border="reflect")]
    for variant in variants:
        assert not np.array_equal(variant, default)
    np.testing.assert_array_equal(variants[1], proba(augment_flip="alternating"))


@pytest.mark.parametrize("params", [dict(augment_flip="sometimes"),
                                    dict(augment_border="wrap"), dict(augment_pad=-1),
                                    dict(augment_pad=True),
                                    dict(test_time_views="crop")])
def test_bad_augment_and_view_options_are_refused(digits, params):
    X, y = digits
    name = next(iter(params))
    with pytest.raises(ValueError, match=name):
        ConvNetClassifier(**params).fit(X[:50], y[:50])


def test_string_labels_pickle_and_clone(digits):
    X, y = digits
    names = np.array(["zero", "one", "two", "three", "four", "five", "six", "seven",
                      "eight", "nine"])
    clf = ConvNetClassifier(**SMALL, num_epochs=1, random_state=0).fit(X[:200],
                                                                      names[y[:200]])
    assert set(clf.predict(X[:20])) <= set(names)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict_proba(X[:20]), clf.predict_proba(X[:20]))
    assert clone(clf).get_params() == clf.get_params()


# ---- plot_conv_filters ----------------------------------------------------------
def test_plot_conv_filters_tiles_each_filter_on_its_own_scale():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skdeep.plotting import plot_conv_filters

    weights = np.zeros((5, 3, 2, 2))
    weights[0, 0, 0, 0] = 1e-3  # a tiny filter is stretched like a large one
    weights[1, 2, 1, 1] = -50
    ax = plot_conv_filters(weights)
    grid = ax.images[0].get_array()
    # 5 filters -> 3 columns and 2 rows of 2x2 pixels with 1 pixel between them
    assert grid.shape == (5, 8, 3)
    np.testing.assert_array_equal(grid[0, 0], [1, 0, 0])  # red at its maximum
    np.testing.assert_array_equal(grid[0, 1], [0, 0, 0])
    np.testing.assert_array_equal(grid[1, 4], [1, 1, 0])  # the -50 is the minimum
    assert (grid[:, 2] == 0).all() and (grid[2] == 0).all()  # padding
    assert ax.get_title() == "5 filters of 2x2x3"
    # grey filters of a model, and the error for anything else
    model = ConvNet([4], filter_size=3, hidden_dims=[], input_dim=(1, 8, 8),
                    random_state=0)
    ax = plot_conv_filters(model, padding=0)
    assert ax.images[0].get_array().shape == (6, 6)
    with pytest.raises(ValueError, match="shape \\(F, C, HH, WW\\)"):
        plot_conv_filters(np.zeros((3, 3)))
    plt.close("all")


def test_plot_conv_filters_of_a_whitened_net_shows_the_whitening_filters():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skdeep.plotting import plot_conv_filters

    rng = np.random.RandomState(0)
    X = rng.randn(40, 3 * 8 * 8).astype(np.float32)
    clf = ConvNetClassifier(num_filters=(4,), hidden_dim=(), whitening=True,
                            num_epochs=1, batch_size=20, image_shape=(8, 8, 3),
                            validation_fraction=0.0, random_state=0)
    clf.fit(X, rng.randint(0, 2, size=40))
    W0 = clf.model_.frozen_params["W0"]
    ax = plot_conv_filters(clf, padding=0)
    # the whitening filters see RGB pixels: colour tiles, as many as W0 has
    assert ax.get_title() == f"{len(W0)} filters of 2x2x3"
    assert ax.images[0].get_array().shape[2] == 3
    plt.close("all")
