"""The update kernels against their NumPy formulas, across thread counts, and the
Solver's fused step (penalty folded into the update) against the public loss and rules."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skdeep.nn import optim
from skdeep.nn.models import FullyConnectedNet, ThreeLayerConvNet
from skdeep.nn.solver import Solver

from _kernel_harness import load_pure_python

# the kernels' chunk length (the compiled module exports no constants)
CHUNK = load_pure_python("_optim").CHUNK

# Nesterov's momentum is the rule sgd_momentum with a flag: a case of its own here
RULES = [("sgd", {}), ("sgd_momentum", {}), ("sgd_momentum", {"nesterov": True}),
         ("rmsprop", {}), ("adam", {"t": 4})]
RULE_IDS = ["sgd", "momentum", "nesterov", "rmsprop", "adam"]


def _reference(rule, w, dw, config, reg):
    """One step of the rule's formula in NumPy, in the dtype of w (scalars cast to it
    as the kernels receive them), on the gradient ``dw + reg * w``."""
    s = w.dtype.type
    lr = s(config["learning_rate"])
    g = dw + s(reg) * w
    state = {}
    if rule == "sgd":
        w = w - lr * g
    elif rule == "sgd_momentum":
        mu = s(config["momentum"])
        v = mu * config["velocity"] - lr * g
        w = (w - lr * g + mu * v) if config["nesterov"] else w + v
        state["velocity"] = v
    elif rule == "rmsprop":
        decay = config["decay_rate"]
        cache = s(decay) * config["cache"] + s(1 - decay) * (g * g)
        w = w - lr * g / (np.sqrt(cache) + s(config["epsilon"]))
        state["cache"] = cache
    else:
        b1, b2, t = config["beta1"], config["beta2"], config["t"] + 1
        m = s(b1) * config["m"] + s(1 - b1) * g
        v = s(b2) * config["v"] + s(1 - b2) * (g * g)
        w = w - s(config["learning_rate"] / (1 - b1**t)) * m / (
            np.sqrt(v * s(1 / (1 - b2**t))) + s(config["epsilon"]))
        state.update(m=m, v=v)
    return w, state


def _arrays(n, dtype, seed=0):
    rng = np.random.default_rng(seed)
    w, dw = rng.standard_normal((2, n)).astype(dtype)
    return w, dw


def _config(rule, extra, w):
    """A config with every setting and a non-trivial state, as after a few steps."""
    rng = np.random.default_rng(1)
    config = dict(extra)
    _, config = getattr(optim, rule)(w, np.zeros_like(w), config)  # fills the defaults
    for key in ("velocity", "cache", "m", "v"):
        if key in config:
            state = rng.standard_normal(w.shape).astype(w.dtype)
            config[key] = np.abs(state) if key in ("cache", "v") else state
    if rule == "adam":
        config["t"] = 4
    return config


def _close(actual, expected):
    """Equal to a few units of rounding of the terms of the formula (whose sizes are
    about one here): the kernels may fuse a multiply and an add, NumPy does not."""
    eps = np.finfo(expected.dtype).eps
    np.testing.assert_allclose(actual, expected, rtol=4 * eps, atol=4 * eps)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reg", [0.0, 0.05])
@pytest.mark.parametrize(("rule", "extra"), RULES, ids=RULE_IDS)
def test_penalized_rule_equals_its_numpy_formula(rule, extra, reg, dtype):
    # an odd length over several chunks, so the last chunk is a partial one
    w, dw = _arrays(3 * CHUNK + 77, dtype)
    config = _config(rule, extra, w)
    expected_w, expected_state = _reference(rule, w, dw, config, reg)
    twin = optim._PENALIZED_RULES[getattr(optim, rule)]
    next_w, config, square_sum = twin(w, dw, config, None, reg)
    assert next_w.dtype == dtype
    _close(next_w, expected_w)
    for key, value in expected_state.items():
        _close(config[key], value)
    exact = float(np.sum(w.astype(np.float64) ** 2))
    if reg:
        # each chunk is summed in the dtype, the chunks' sums in float64: the error
        # bound of a sum of CHUNK positive terms
        assert abs(square_sum - exact) <= CHUNK * np.finfo(dtype).eps * exact
    else:
        assert square_sum == 0


@pytest.mark.parametrize(("rule", "extra"), RULES, ids=RULE_IDS)
def test_public_rule_is_the_twin_without_penalty(rule, extra):
    w, dw = _arrays(5000, np.float64)
    config = _config(rule, extra, w)
    twin_config = {k: v.copy() if isinstance(v, np.ndarray) else v
                   for k, v in config.items()}
    public_w, _ = getattr(optim, rule)(w, dw, config)
    twin_w, _, _ = optim._PENALIZED_RULES[getattr(optim, rule)](w, dw, twin_config)
    np.testing.assert_array_equal(public_w, twin_w)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("rule", "extra"), RULES, ids=RULE_IDS)
def test_updates_are_bit_identical_for_one_and_two_threads(rule, extra, dtype):
    # large enough for the parallel loop, with a partial last chunk
    w, dw = _arrays(150_001, dtype)
    config = _config(rule, extra, w)
    results = []
    for n_threads in (1, 2):
        cfg = {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in config.items()}
        with threadpool_limits(n_threads, user_api="openmp"):
            next_w, cfg, square_sum = optim._PENALIZED_RULES[getattr(optim, rule)](
                w, dw, cfg, None, 1e-3)
            plain_sum = optim._sum_of_squares(w)
        results.append((next_w, cfg, square_sum, plain_sum))
    (w1, cfg1, sum1, plain1), (w2, cfg2, sum2, plain2) = results
    np.testing.assert_array_equal(w1, w2)
    for key, value in cfg1.items():
        np.testing.assert_array_equal(value, cfg2[key])
    assert sum1 == sum2 == plain1 == plain2


def _digits_data(dtype):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X[:200] - X[:200].mean(axis=0)) / 16
    return {"X_train": X.astype(dtype), "y_train": y[:200]}


class PublicLossOnly:
    """A user's model: ``params``, ``reg`` and ``loss`` only (no private method), here
    delegating to a skdeep model, so its training is the public path's."""

    def __init__(self, model):
        self.model = model
        self.reg = model.reg

    @property
    def params(self):
        return self.model.params

    @params.setter
    def params(self, value):
        self.model.params = value

    def loss(self, X, y=None, sample_weight=None):
        return self.model.loss(X, y, sample_weight)


def _train(model, data, rule, extra, num_epochs=2):
    solver = Solver(model, data, update_rule=rule,
                    optim_config={"learning_rate": 1e-2 if rule != "sgd" else 5e-2,
                                  **{k: v for k, v in extra.items() if k != "t"}},
                    batch_size=50, num_epochs=num_epochs, verbose=False, random_state=0)
    return solver.train()


def _fc_net(dtype, reg, normalization=None):
    return FullyConnectedNet([20, 15], input_dim=64, num_classes=10, reg=reg,
                             weight_scale=0.1, normalization=normalization,
                             dtype=dtype, random_state=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reg", [0.0, 0.05])
@pytest.mark.parametrize(("rule", "extra"), RULES, ids=RULE_IDS)
def test_fused_step_equals_public_loss_and_rule(rule, extra, reg, dtype):
    data = _digits_data(dtype)
    # layernorm: parameters the penalty leaves alone (gamma, beta) beside the weights.
    # (Not batchnorm, whose preceding biases have a gradient made of rounding alone,
    # which RMSProp and Adam turn into full steps in random directions.)
    fused = _train(_fc_net(dtype, reg, "layernorm"), data, rule, extra)
    public = _train(PublicLossOnly(_fc_net(dtype, reg, "layernorm")), data, rule, extra)
    assert fused._penalized_rule is not None and public._penalized_rule is None
    # the first loss is computed from the same weights by the same sums
    assert fused.loss_history[0] == public.loss_history[0]
    # later ones differ only by the rounding of the updates (fused multiply-adds)
    rtol = 1e-4 if dtype == np.float32 else 1e-10
    np.testing.assert_allclose(fused.loss_history, public.loss_history, rtol=rtol)
    for name, value in fused.model.params.items():
        np.testing.assert_allclose(value, public.model.params[name], rtol=rtol, atol=rtol)


def test_recorded_loss_is_the_public_loss_of_the_weights_before_the_step():
    data = _digits_data(np.float64)
    model = _fc_net(np.float64, 0.05)
    losses = []
    solver = Solver(model, data, update_rule="adam", batch_size=200, num_epochs=3,
                    verbose=False, random_state=0)
    original = solver._step

    def step(X_batch, y_batch, weight_batch=None):
        # the public loss at the weights the step starts from
        losses.append(model.loss(X_batch, y_batch)[0])
        original(X_batch, y_batch, weight_batch)

    solver._step = step
    solver.train()
    assert solver._penalized_rule is not None
    assert solver.loss_history == losses


def test_fused_convnet_step_equals_the_public_one():
    rng = np.random.default_rng(0)
    data = {"X_train": rng.standard_normal((40, 3, 8, 8)), "y_train": rng.integers(0, 10, 40)}

    def convnet():
        return ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3,
                                 hidden_dim=12, weight_scale=0.1, reg=0.1,
                                 dtype=np.float64, random_state=0)

    fused = _train(convnet(), data, "adam", {})
    public = _train(PublicLossOnly(convnet()), data, "adam", {})
    assert fused._penalized_rule is not None
    np.testing.assert_allclose(fused.loss_history, public.loss_history, rtol=1e-10)
    for name, value in fused.model.params.items():
        np.testing.assert_allclose(value, public.model.params[name], rtol=1e-10,
                                   atol=1e-12)


def test_a_replaced_loss_is_trained_through_the_public_path():
    model = _fc_net(np.float64, 0.05)
    calls = []
    public_loss = model.loss

    def loss(X, y=None, sample_weight=None):
        calls.append(len(X))
        return public_loss(X, y, sample_weight)

    model.loss = loss
    solver = _train(model, _digits_data(np.float64), "adam", {}, num_epochs=1)
    assert solver._penalized_rule is None
    assert len(calls) >= 4 and solver.loss_history[-1] < solver.loss_history[0]


def test_a_user_model_without_the_private_method_trains():
    model = PublicLossOnly(_fc_net(np.float32, 0.01))
    solver = _train(model, _digits_data(np.float32), "adam", {}, num_epochs=15)
    assert solver._penalized_rule is None
    assert solver.loss_history[-1] < 0.5 * solver.loss_history[0]


def test_model_loss_is_data_loss_plus_penalty():
    model = _fc_net(np.float64, 0.3)
    data = _digits_data(np.float64)
    X, y = data["X_train"][:30], data["y_train"][:30]
    loss, grads = model.loss(X, y)
    data_loss, data_grads, penalized = model._data_loss(X, y)
    assert penalized == ("W1", "W2", "W3")
    weights = [model.params[name] for name in penalized]
    assert loss == pytest.approx(data_loss + 0.15 * sum(np.sum(W**2) for W in weights),
                                 rel=1e-14)
    for name, dw in grads.items():
        extra = 0.3 * model.params[name] if name in penalized else 0
        np.testing.assert_allclose(dw, data_grads[name] + extra, rtol=1e-14, atol=1e-17)


def test_a_nan_loss_raises_before_the_fused_update():
    from skdeep.exceptions import DivergenceError

    model = _fc_net(np.float64, 0.05)
    model.params["b3"][0] = np.nan  # NaN scores, so a NaN data loss at the first step
    before = {name: value.copy() for name, value in model.params.items()}
    solver = Solver(model, _digits_data(np.float64), update_rule="adam", verbose=False,
                    random_state=0)
    assert solver._penalized_rule is not None
    with pytest.raises(DivergenceError, match="the loss became nan at iteration 0"):
        solver.train()
    for name, value in before.items():
        np.testing.assert_array_equal(model.params[name], value)
