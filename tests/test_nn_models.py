"""Models of skdeep.nn: initialization, regularization and whole-network gradients."""
import numpy as np
import pytest

from skdeep.nn.gradcheck import eval_numerical_gradient, rel_error
from skdeep.nn.layer_utils import NORMALIZATIONS
from skdeep.nn.models import FullyConnectedNet, TwoLayerNet


def _max_gradient_error(model, X, y):
    """Largest error of the analytic gradients; near-zero gradients compared absolutely."""
    loss, grads = model.loss(X, y)
    worst = 0.0
    for name in sorted(grads):
        num = eval_numerical_gradient(lambda _: model.loss(X, y)[0], model.params[name],
                                      verbose=False, h=1e-5)
        if max(np.abs(num).max(), np.abs(grads[name]).max()) < 1e-8:
            # a gradient that is zero in exact arithmetic (biases before batchnorm):
            # relative errors of rounding noise mean nothing
            continue
        worst = max(worst, rel_error(num, grads[name]))
    return worst


@pytest.mark.parametrize("normalization", [None, "batchnorm"])
def test_fully_connected_label_smoothing(normalization):
    rng = np.random.RandomState(0)
    X, y = rng.randn(5, 7), np.array([0, 1, 2, 3, 1])
    model = FullyConnectedNet([6], input_dim=7, num_classes=4, reg=0.5,
                              normalization=normalization, label_smoothing=0.2,
                              weight_scale=0.5, dtype=np.float64, random_state=0)
    # oracle (without normalization, whose test-mode scores differ from training's):
    # cross-entropy of the scores against (1 - 0.2) * onehot + 0.2 / 4, plus the
    # L2 penalty 0.5 * reg * sum(W**2)
    loss, _ = model.loss(X, y)
    if normalization is None:
        scores = model.loss(X)
        log_p = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
        target = np.full((5, 4), 0.05)
        target[np.arange(5), y] += 0.8
        penalty = 0.25 * sum(np.sum(model.params[w] ** 2) for w in ("W1", "W2"))
        assert loss == pytest.approx(-np.sum(target * log_p) / 5 + penalty, rel=1e-12)
    assert _max_gradient_error(model, X, y) < 1e-6
    with pytest.raises(ValueError, match="label_smoothing"):
        FullyConnectedNet([6], input_dim=7, label_smoothing=1.0)


@pytest.mark.parametrize("reg", [0.0, 3.14])
@pytest.mark.parametrize("keep", [1, 0.75, 0.5])
def test_fully_connected_gradients_with_dropout(reg, keep):
    rng = np.random.RandomState(231)
    N, D, H1, H2, C = 3, 10, 12, 15, 6
    X = rng.randn(N, D)
    y = rng.randint(C, size=N)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=reg,
                              weight_scale=2e-1, dtype=np.float64,
                              dropout_keep_ratio=keep, seed=123, random_state=0)
    assert _max_gradient_error(model, X, y) < 1e-5


@pytest.mark.parametrize("normalization", NORMALIZATIONS)
@pytest.mark.parametrize("reg", [0.0, 3.14])
def test_fully_connected_gradients_with_normalization(normalization, reg):
    rng = np.random.RandomState(231)
    N, D, H1, H2, C = 10, 10, 12, 15, 6
    X = rng.randn(N, D)
    y = rng.randint(C, size=N)
    model = FullyConnectedNet([H1, H2], input_dim=D, num_classes=C, reg=reg,
                              weight_scale=2e-1, dtype=np.float64,
                              normalization=normalization, random_state=0)
    assert _max_gradient_error(model, X, y) < 1e-5


def test_batchnorm_with_dropout_gradients():
    rng = np.random.RandomState(0)
    X = rng.randn(10, 8)
    y = rng.randint(4, size=10)
    model = FullyConnectedNet([12, 9], input_dim=8, num_classes=4, reg=0.5,
                              weight_scale=0.1, dtype=np.float64, normalization="batchnorm",
                              dropout_keep_ratio=0.6, seed=1, random_state=1)
    assert _max_gradient_error(model, X, y) < 1e-5


def test_initial_loss_is_log_num_classes():
    X = np.random.RandomState(0).randn(50, 15)
    y = np.arange(50) % 10
    model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10, weight_scale=1e-3,
                              dtype=np.float64, random_state=0)
    loss, _ = model.loss(X, y)
    assert abs(loss - np.log(10)) < 1e-3


def test_parameter_names_and_initialization():
    model = FullyConnectedNet([200, 300], input_dim=400, num_classes=10,
                              weight_scale=0.05, normalization="batchnorm", random_state=0)
    assert set(model.params) == {"W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2",
                                 "beta2", "W3", "b3"}
    assert model.params["W1"].shape == (400, 200)
    assert model.params["W3"].shape == (300, 10)
    assert model.params["gamma2"].shape == (300,)
    for name, value in model.params.items():
        assert value.dtype == np.float32
        if name.startswith("W"):
            assert abs(value.std() - 0.05) < 0.005 and abs(value.mean()) < 0.005
        elif name.startswith("gamma"):
            np.testing.assert_array_equal(value, 1)
        else:
            np.testing.assert_array_equal(value, 0)
    he = FullyConnectedNet([100], input_dim=800, num_classes=10, weight_scale="he",
                           random_state=0)
    assert abs(he.params["W1"].std() - np.sqrt(2 / 800)) < 0.002
    assert abs(he.params["W2"].std() - np.sqrt(2 / 100)) < 0.01


def test_random_state_leaves_global_state_alone_and_none_uses_it():
    state = np.random.get_state()
    a = FullyConnectedNet([5], input_dim=4, dropout_keep_ratio=0.5, random_state=3)
    a.loss(np.ones((3, 4)), np.zeros(3, dtype=int))
    after = np.random.get_state()
    assert np.array_equal(state[1], after[1]) and state[2] == after[2]
    b = FullyConnectedNet([5], input_dim=4, random_state=3)
    np.testing.assert_array_equal(a.params["W1"], b.params["W1"])
    # None follows np.random.seed, as in the CS231n code
    np.random.seed(7)
    c = FullyConnectedNet([5], input_dim=4)
    np.random.seed(7)
    d = FullyConnectedNet([5], input_dim=4)
    np.testing.assert_array_equal(c.params["W1"], d.params["W1"])


def test_regularization_is_half_reg_sum_of_squared_weights_only():
    rng = np.random.RandomState(0)
    X, y = rng.randn(6, 7), rng.randint(3, size=6)
    model = FullyConnectedNet([5, 4], input_dim=7, num_classes=3, weight_scale=0.3,
                              normalization="layernorm", dtype=np.float64, random_state=0)
    for name in model.params:  # make biases, gammas and betas non-trivial
        if not name.startswith("W"):
            model.params[name] = rng.randn(*model.params[name].shape)
    loss0, grads0 = model.loss(X, y)
    model.reg = 0.7
    loss1, grads1 = model.loss(X, y)
    penalty = sum(np.sum(model.params[f"W{i}"] ** 2) for i in (1, 2, 3))
    assert abs(loss1 - loss0 - 0.5 * 0.7 * penalty) < 1e-12
    for name in grads0:
        if name.startswith("W"):
            np.testing.assert_allclose(grads1[name] - grads0[name],
                                       0.7 * model.params[name], atol=1e-12)
        else:
            np.testing.assert_array_equal(grads1[name], grads0[name])


def test_scores_in_test_mode_ignore_dropout_and_use_running_stats():
    rng = np.random.RandomState(0)
    X = rng.randn(20, 6)
    model = FullyConnectedNet([8], input_dim=6, num_classes=3, dropout_keep_ratio=0.5,
                              normalization="batchnorm", dtype=np.float64, random_state=0)
    model.loss(X, rng.randint(3, size=20))  # train mode: sets running statistics
    scores = model.loss(X)
    assert scores.shape == (20, 3)
    np.testing.assert_array_equal(scores, model.loss(X))  # deterministic
    np.testing.assert_allclose(model.loss(X[:5]), scores[:5])  # rows independent


def test_two_layer_net_cs231n_values():
    N, D, H, C = 3, 5, 50, 7
    model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=1e-3,
                        random_state=0)
    assert abs(model.params["W1"].std() - 1e-3) < 1e-4
    assert model.params["W1"].dtype == np.float64
    np.testing.assert_array_equal(model.params["b1"], 0)
    model.params["W1"] = np.linspace(-0.7, 0.3, num=D * H).reshape(D, H)
    model.params["b1"] = np.linspace(-0.1, 0.9, num=H)
    model.params["W2"] = np.linspace(-0.3, 0.4, num=H * C).reshape(H, C)
    model.params["b2"] = np.linspace(-0.9, 0.1, num=C)
    X = np.linspace(-5.5, 4.5, num=N * D).reshape(D, N).T
    correct_scores = np.asarray(
        [[11.53165108, 12.2917344, 13.05181771, 13.81190102, 14.57198434, 15.33206765,
          16.09215096],
         [12.05769098, 12.74614105, 13.43459113, 14.1230412, 14.81149128, 15.49994135,
          16.18839143],
         [12.58373087, 13.20054771, 13.81736455, 14.43418138, 15.05099822, 15.66781506,
          16.2846319]])
    assert np.abs(model.loss(X) - correct_scores).sum() < 1e-6
    y = np.asarray([0, 5, 1])
    loss, _ = model.loss(X, y)
    assert abs(loss - 3.4702243556) < 1e-10
    model.reg = 1.0
    loss, _ = model.loss(X, y)
    assert abs(loss - 26.5948426952) < 1e-10


@pytest.mark.parametrize("reg", [0.0, 0.7])
def test_two_layer_net_gradients(reg):
    rng = np.random.RandomState(231)
    X, y = rng.randn(3, 5), np.array([0, 5, 1])
    model = TwoLayerNet(input_dim=5, hidden_dim=50, num_classes=7, weight_scale=1e-1,
                        reg=reg, random_state=0)
    assert _max_gradient_error(model, X, y) < 1e-6


def test_astype_copies_everything():
    model = FullyConnectedNet([6], input_dim=4, num_classes=3, normalization="batchnorm",
                              random_state=0)
    model.loss(np.random.RandomState(0).randn(10, 4), np.arange(10) % 3)
    copy64 = model.astype(np.float64)
    assert copy64.params["W1"].dtype == np.float64
    assert copy64.bn_params[0]["running_mean"].dtype == np.float64
    copy64.params["W1"][:] = 0
    copy64.bn_params[0]["mode"] = "changed"
    assert np.any(model.params["W1"] != 0)
    assert model.bn_params[0]["mode"] == "train"


@pytest.mark.parametrize("kwargs, match", [
    ({"hidden_dims": [0]}, "int >= 1"),
    ({"hidden_dims": [5], "normalization": "groupnorm"}, "normalization"),
    ({"hidden_dims": [5], "dropout_keep_ratio": 0}, "dropout_keep_ratio"),
    ({"hidden_dims": [5], "weight_scale": "xavier"}, "weight_scale"),
    ({"hidden_dims": [5], "random_state": "seed"}, "random_state"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        FullyConnectedNet(**kwargs)
