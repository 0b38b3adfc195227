"""The airbench tricks of ConvNet and ConvNetClassifier, each against an oracle:
the whitening layer, dirac initialization, frozen normalization scales, the
betas' learning-rate multiplier, batchnorm momentum, pooling before the
normalization, and the named recipe."""
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.utils.estimator_checks import parametrize_with_checks

from skdeep.neural_network import ConvNetClassifier
from skdeep.neural_network import _convnet
from skdeep.nn.gradcheck import eval_numerical_gradient, eval_numerical_gradient_array
from skdeep.nn.layer_utils import _conv_pool_norm_act_backward, _conv_pool_norm_act_forward
from skdeep.nn.layers import (
    conv_forward_naive,
    gelu_forward,
    max_pool_forward_naive,
    relu_forward,
    spatial_batchnorm_forward,
    spatial_groupnorm_forward,
)
from skdeep.nn.models import ConvNet
from skdeep.nn.solver import Solver
from skdeep.nn._whitening import whitening_filters

# the estimator's tests train on the 8x8 digits with this small net
SMALL = dict(num_filters=(4, 4), filter_size=3, pool_every=2, hidden_dim=16,
             learning_rate=3e-3, batch_size=32, num_epochs=2, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def patch_covariance_oracle(images):
    """Every 2x2 patch (stride 1) written out by loops, and NumPy's covariance."""
    n, _, height, width = images.shape
    patches = [images[k, :, i:i + 2, j:j + 2].ravel()
               for k in range(n) for i in range(height - 1) for j in range(width - 1)]
    return np.cov(np.array(patches), rowvar=False, bias=True)


def assert_filters_are_scaled_eigenvectors(filters, images, eps):
    eigenvalues, eigenvectors = np.linalg.eigh(patch_covariance_oracle(images))
    eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]
    flat = filters.reshape(len(filters), -1)
    for j in range(len(filters)):
        norm = np.linalg.norm(flat[j])
        np.testing.assert_allclose(norm, 1 / np.sqrt(eigenvalues[j] + eps), rtol=1e-6)
        # an eigenvector is defined up to its sign
        np.testing.assert_allclose(abs(flat[j] @ eigenvectors[:, j]) / norm, 1,
                                   rtol=1e-6, err_msg=f"filter {j}")


# ---- the whitening layer --------------------------------------------------------
@pytest.mark.parametrize("channels, num_filters", [(1, None), (3, None), (3, 5)])
def test_whitening_filters_are_the_patch_covariance_eigenvectors(channels, num_filters):
    rng = np.random.RandomState(0)
    # correlated pixels and channels, as in images, so the eigenvalues differ
    images = rng.rand(7, channels, 6, 5).cumsum(axis=2).cumsum(axis=1)
    filters = whitening_filters(images, num_filters, eps=1e-3)
    k = channels * 4 if num_filters is None else num_filters
    assert filters.shape == (k, channels, 2, 2)
    assert_filters_are_scaled_eigenvectors(filters, images, eps=1e-3)


def test_whitening_decorrelates_the_patches():
    # the layer's output over the sample has covariance lambda / (lambda + eps) on
    # its diagonal and zero elsewhere: the definition of a whitening
    rng = np.random.RandomState(1)
    images = rng.rand(5, 3, 6, 6).cumsum(axis=3)
    eps = 1e-2
    model = ConvNet([4], filter_size=3, hidden_dims=[], input_dim=(3, 6, 6),
                    whitening=images, whitening_eps=eps, dtype=np.float64,
                    random_state=0)
    out = model._whiten(images)[:, :12, :5, :5]  # the positions of unpadded patches
    covariance = np.cov(out.transpose(1, 0, 2, 3).reshape(12, -1), bias=True)
    eigenvalues = np.linalg.eigvalsh(patch_covariance_oracle(images))[::-1]
    np.testing.assert_allclose(covariance, np.diag(eigenvalues / (eigenvalues + eps)),
                               atol=1e-9)


def test_whitening_layer_is_frozen_during_fit_and_keeps_the_image_size(digits):
    X, y = digits
    # four epochs: the 4 whitened channels of 8x8 digits feed only 4 filters
    clf = ConvNetClassifier(whitening=True, whitening_eps=1e-2,
                            **{**SMALL, "num_epochs": 4}).fit(X, y)
    model = clf.model_
    assert "W0" not in model.params and "W0" in model.frozen_params
    # after training, still the eigenvectors of the patches of every image given
    # to fit (fewer than the 5,000 sampled)
    images = X.reshape(-1, 1, 8, 8)
    assert_filters_are_scaled_eigenvectors(model.frozen_params["W0"], images, 1e-2)
    # 4 channels (4 eigenvectors) into the first conv, at 8x8
    assert model.params["W1"].shape == (4, 4, 3, 3)
    assert model._whiten(images[:2].astype(model.dtype)).shape == (2, 4, 8, 8)
    assert clf.score(X, y) > 0.5
    # the frozen layer goes with the float64 copy used for prediction
    np.testing.assert_allclose(clf._prediction_model().frozen_params["W0"],
                               model.frozen_params["W0"])


def test_whitening_sample_is_drawn_from_random_state(digits, monkeypatch):
    X, y = digits
    monkeypatch.setattr(_convnet, "_WHITENING_IMAGES", 100)
    settings = dict(SMALL, num_epochs=1, whitening=True)
    filters = [ConvNetClassifier(**{**settings, "random_state": seed}).fit(X, y)
               .model_.frozen_params["W0"] for seed in (0, 0, 1)]
    np.testing.assert_array_equal(filters[0], filters[1])
    assert not np.allclose(filters[0], filters[2])


def test_whitening_is_part_of_the_architecture(digits):
    X, y = digits
    clf = ConvNetClassifier(whitening=True, warm_start=True, **SMALL).fit(X, y)
    with pytest.raises(ValueError, match="same architecture"):
        clf.set_params(whitening=False).fit(X, y)


def test_whitening_refuses_bad_samples():
    with pytest.raises(ValueError, match="whitening"):
        ConvNet([2], filter_size=3, input_dim=(1, 4, 4), whitening=np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match="num_filters must be at most"):
        whitening_filters(np.zeros((2, 1, 4, 4)), 5)
    with pytest.raises(ValueError, match="whitening_filters must be at most"):
        ConvNet([2], filter_size=3, input_dim=(1, 4, 4), whitening=np.zeros((2, 1, 4, 4)),
                whitening_filters=5)
    with pytest.raises(ValueError, match="whitening_eps"):
        ConvNet([2], filter_size=3, input_dim=(1, 4, 4), whitening=np.zeros((2, 1, 4, 4)),
                whitening_eps=0)


# ---- dirac initialization -------------------------------------------------------
@pytest.mark.parametrize("num_filters", [(5, 3), (2, 4)])
def test_dirac_conv_is_the_identity_on_its_first_channels(num_filters):
    channels = 3
    model = ConvNet(num_filters, filter_size=[3, 5], pool_every=5, hidden_dims=[],
                    input_dim=(channels, 6, 6), dirac_init=True, dtype=np.float64,
                    random_state=0)
    plain = ConvNet(num_filters, filter_size=[3, 5], pool_every=5, hidden_dims=[],
                    input_dim=(channels, 6, 6), dtype=np.float64, random_state=0)
    x = np.random.RandomState(0).randn(2, channels, 6, 6)
    for i, conv_param in enumerate(model.conv_params, start=1):
        W = model.params[f"W{i}"]
        out, _ = conv_forward_naive(x[:, :W.shape[1]] if i == 1 else
                                    np.random.RandomState(i).randn(2, W.shape[1], 6, 6),
                                    W, np.zeros(W.shape[0]), conv_param)
        n = min(W.shape[:2])
        source = x if i == 1 else np.random.RandomState(i).randn(2, W.shape[1], 6, 6)
        np.testing.assert_array_equal(out[:, :n], source[:, :n])
        # the other filters keep their random draws
        np.testing.assert_array_equal(W[n:], plain.params[f"W{i}"][n:])


# ---- normalization: frozen scale, faster shift, momentum ----------------------------
def test_frozen_scale_is_one_and_untrained(digits):
    X, y = digits
    clf = ConvNetClassifier(normalization="batchnorm", freeze_norm_scale=True,
                            **SMALL).fit(X, y)
    model = clf.model_
    assert not [name for name in model.params if name.startswith("gamma")]
    for i in (1, 2, 3):
        np.testing.assert_array_equal(model.frozen_params[f"gamma{i}"], 1)
        assert np.any(model.params[f"beta{i}"] != 0)


def test_beta_learning_rate_is_scaled_through_the_schedule():
    rng = np.random.RandomState(0)
    X, y = rng.randn(20, 1, 4, 4), rng.randint(3, size=20)

    def model(scale):
        return ConvNet([2], filter_size=3, hidden_dims=[4], input_dim=(1, 4, 4),
                       num_classes=3, normalization="batchnorm", dtype=np.float64,
                       norm_shift_lr_scale=scale, random_state=0)

    # one full-batch step of plain SGD: each parameter moves by -rate * gradient,
    # the betas by -rate * scale * gradient
    start = model(8.0)
    _, grads = start.loss(X, y)
    trained = model(8.0)
    Solver(trained, {"X_train": X, "y_train": y}, update_rule="sgd",
           optim_config={"learning_rate": 0.1}, batch_size=20, num_epochs=1).train()
    for name, value in start.params.items():
        rate = 0.1 * (8.0 if name.startswith("beta") else 1.0)
        np.testing.assert_allclose(trained.params[name], value - rate * grads[name],
                                   rtol=1e-9, atol=1e-12, err_msg=name)
    solver = Solver(model(8.0), {"X_train": X, "y_train": y}, update_rule="sgd_momentum",
                    optim_config={"learning_rate": 0.1}, batch_size=5, num_epochs=2,
                    lr_schedule="linear", warmup_fraction=0.5)
    solver.train()
    configs = solver.optim_configs
    assert configs["beta1"]["learning_rate"] == 8.0 * configs["W1"]["learning_rate"] > 0
    assert configs["b1"]["learning_rate"] == configs["W1"]["learning_rate"]


@pytest.mark.parametrize("momentum", [0.9, 0.4])
def test_running_mean_follows_bn_momentum(momentum):
    rng = np.random.RandomState(0)
    X, y = rng.randn(6, 2, 4, 4), rng.randint(3, size=6)
    model = ConvNet([3], filter_size=3, hidden_dims=[], input_dim=(2, 4, 4),
                    num_classes=3, normalization="batchnorm", bn_momentum=momentum,
                    dtype=np.float64, random_state=0)
    model.loss(X, y)
    conv, _ = conv_forward_naive(X, model.params["W1"], model.params["b1"],
                                 model.conv_params[0])
    # running statistics start at zero: one step leaves (1 - momentum) * batch mean
    np.testing.assert_allclose(model.bn_params[0]["running_mean"],
                               (1 - momentum) * conv.mean(axis=(0, 2, 3)), rtol=1e-10)


@pytest.mark.parametrize("param, value", [
    ("norm_shift_lr_scale", 0), ("norm_shift_lr_scale", True), ("bn_momentum", 1),
    ("bn_momentum", False), ("whitening_eps", 0), ("whitening", 1), ("dirac_init", "yes"),
    ("freeze_norm_scale", None), ("pool_before_norm", 0), ("pool_after", "middle")])
def test_bad_options_are_refused_by_name(digits, param, value):
    X, y = digits
    with pytest.raises(ValueError, match=param):
        ConvNetClassifier(**{**SMALL, param: value}).fit(X, y)


@pytest.mark.parametrize("pool_after, pooled", [("last", [2, 4]), ("first", [1, 3])])
def test_pool_after_picks_the_layer_of_each_group(pool_after, pooled, digits):
    model = ConvNet([3, 3, 3, 3], filter_size=3, pool_every=2, hidden_dims=[],
                    input_dim=(1, 12, 12), pool_after=pool_after, random_state=0)
    sides = [12, 12, 12, 12]
    for i in pooled:  # a pool halves the side of its layer and of every later one
        sides[i - 1:] = [side // 2 for side in sides[i - 1:]]
    assert model.output_shapes == [(3, side, side) for side in sides]
    X, y = digits
    clf = ConvNetClassifier(**{**SMALL, "num_filters": (4, 4, 4)}, pool_after=pool_after)
    assert clf.fit(X, y).model_.output_shapes[0][1] == (4 if pool_after == "first" else 8)


# ---- pooling before the normalization -------------------------------------------------
def written_out(x, w, b, conv_param, pool_param, norm, activation):
    """conv - pool - [norm] - activation from the reference layers, one by one."""
    a, _ = conv_forward_naive(x, w, b, conv_param)
    a, _ = max_pool_forward_naive(a, pool_param)
    if norm is not None:
        gamma, beta, norm_param, normalization = norm
        if normalization == "batchnorm":
            a, _ = spatial_batchnorm_forward(a, gamma, beta, dict(norm_param))
        else:
            a, _ = spatial_groupnorm_forward(a, gamma, beta, norm_param["G"], {})
    return (gelu_forward if activation == "gelu" else relu_forward)(a)[0]


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("normalization", [None, "batchnorm", "groupnorm"])
def test_conv_pool_norm_act_matches_the_layers_and_its_gradients(activation,
                                                                 normalization):
    rng = np.random.RandomState(0)
    x, w, b = rng.randn(3, 2, 6, 6), rng.randn(4, 2, 3, 3), rng.randn(4)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    shape = (1, 4, 1, 1) if normalization == "groupnorm" else (4,)
    gamma, beta = 1 + 0.1 * rng.randn(*shape), 0.1 * rng.randn(*shape)

    def forward(x, w, b, gamma, beta):
        norm = None if normalization is None else (
            gamma, beta, {"mode": "train", "G": 2}, normalization)
        return _conv_pool_norm_act_forward(x, w, b, conv_param, pool_param, norm,
                                           activation)

    out, cache = forward(x, w, b, gamma, beta)
    norm = None if normalization is None else (
        gamma, beta, {"mode": "train", "G": 2}, normalization)
    np.testing.assert_allclose(
        out, written_out(x, w, b, conv_param, pool_param, norm, activation),
        rtol=1e-10, atol=1e-12)
    assert out.shape == (3, 4, 3, 3)
    dout = rng.randn(*out.shape)
    grads = _conv_pool_norm_act_backward(dout, cache)
    inputs = [x, w, b, gamma, beta]
    names = ["x", "w", "b", "gamma", "beta"][:5 if normalization else 3]
    for k, name in enumerate(names):
        def f(_):
            return forward(*inputs)[0]
        numerical = eval_numerical_gradient_array(f, inputs[k], dout)
        np.testing.assert_allclose(grads[k], numerical, rtol=1e-6, atol=1e-8,
                                   err_msg=name)


@pytest.mark.parametrize("activation", ["relu", "gelu"])
def test_convnet_with_every_trick_has_true_gradients(activation):
    # all but dirac_init, an initialization whose identity filters copy the exact
    # zeros of a ReLU into the next pool's windows: ties, where the loss has kinks
    rng = np.random.RandomState(1)
    X, y = rng.randn(6, 2, 6, 6), rng.randint(3, size=6)
    model = ConvNet([3, 4], filter_size=3, pool_every=2, hidden_dims=[5],
                    input_dim=(2, 6, 6), num_classes=3, normalization="batchnorm",
                    activation=activation, whitening=X, whitening_eps=0.1,
                    freeze_norm_scale=True, norm_shift_lr_scale=4.0,
                    pool_before_norm=True, reg=0.1, weight_scale="he",
                    label_smoothing=0.1, dtype=np.float64, random_state=0)
    for name, value in model.params.items():
        if name.startswith("b"):  # off the ReLU's kink, as in test_convnet
            value[...] = rng.randn(*value.shape)
    _, grads = model.loss(X, y)
    assert set(grads) == set(model.params)
    for name in sorted(model.params):
        numerical = eval_numerical_gradient(lambda _: model.loss(X, y)[0],
                                            model.params[name], verbose=False)
        np.testing.assert_allclose(grads[name], numerical, rtol=1e-5, atol=1e-8,
                                   err_msg=name)


# ---- defaults and scikit-learn ------------------------------------------------------
def test_default_options_train_exactly_as_without_them(digits):
    X, y = digits
    explicit = dict(whitening=False, dirac_init=False, freeze_norm_scale=False,
                    norm_shift_lr_scale=1.0, bn_momentum=0.9, pool_before_norm=False)
    plain = ConvNetClassifier(normalization="batchnorm", **SMALL).fit(X, y)
    same = ConvNetClassifier(normalization="batchnorm", **SMALL, **explicit).fit(X, y)
    np.testing.assert_array_equal(plain.loss_history_, same.loss_history_)
    np.testing.assert_array_equal(plain.predict_proba(X), same.predict_proba(X))


@parametrize_with_checks([ConvNetClassifier(
    num_filters=4, filter_size=1, pool_every=2, hidden_dim=8, batch_size=200,
    num_epochs=20, learning_rate=1e-2, weight_scale=1e-2, normalization="batchnorm",
    dirac_init=True, freeze_norm_scale=True, norm_shift_lr_scale=4.0, bn_momentum=0.5,
    pool_before_norm=True)])
def test_sklearn_compatible_with_the_airbench_options(estimator, check):
    # CHECKED_SETTINGS of test_common with the options on; the whitening layer
    # needs images of at least 2x2 pixels, which the checks' strips are not
    check(estimator)


# ---- the recipe ---------------------------------------------------------------------
def test_from_recipe_sets_the_recipe_and_the_overrides():
    clf = ConvNetClassifier.from_recipe("cifar10-fast", num_epochs=3, random_state=7)
    params = clf.get_params()
    for name, value in _convnet.RECIPES["cifar10-fast"].items():
        if name != "num_epochs":
            assert params[name] == value, name
    assert (clf.num_epochs, clf.random_state) == (3, 7)
    assert clf.whitening and clf.freeze_norm_scale and clf.pool_before_norm


def test_from_recipe_refuses_unknown_names_and_parameters():
    with pytest.raises(ValueError, match=r"'cifar10-fast'"):
        ConvNetClassifier.from_recipe("cifar100")
    with pytest.raises(TypeError, match="num_filter"):
        ConvNetClassifier.from_recipe("cifar10-fast", num_filter=3)


def test_recipe_learns_digits(digits):
    X, y = digits
    # three layers, not six: the 8x8 digits are 2x2 after two pools
    clf = ConvNetClassifier.from_recipe("cifar10-fast", num_filters=(8, 8, 16),
                                        batch_size=64, num_epochs=3, random_state=0)
    clf.fit(X, y)
    assert clf.score(X, y) > 0.5  # ten classes: chance is 0.1
