"""Update rules of skdeep.nn.optim against hand-computed steps."""
import numpy as np
import pytest

from skdeep.nn import optim
from skdeep.nn.gradcheck import rel_error

N, D = 4, 5


@pytest.fixture
def w():
    return np.linspace(-0.4, 0.6, num=N * D).reshape(N, D)


@pytest.fixture
def dw():
    return np.linspace(-0.6, 0.4, num=N * D).reshape(N, D)


def test_sgd(w, dw):
    next_w, config = optim.sgd(w, dw, {"learning_rate": 0.1})
    np.testing.assert_allclose(next_w, w - 0.1 * dw, rtol=1e-15)
    next_w, config = optim.sgd(w, dw)
    assert config == {"learning_rate": 1e-2}
    np.testing.assert_allclose(next_w, w - 1e-2 * dw, rtol=1e-15)


def test_sgd_momentum_cs231n_values(w, dw):
    v = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    config = {"learning_rate": 1e-3, "velocity": v}
    next_w, returned = optim.sgd_momentum(w, dw, config=config)
    assert returned is config
    expected_next_w = np.asarray([
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    expected_velocity = np.asarray([
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
    assert rel_error(next_w, expected_next_w) < 1e-8
    assert rel_error(config["velocity"], expected_velocity) < 1e-8
    assert config["momentum"] == 0.9


def test_rmsprop_by_hand(w, dw):
    cache = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    config = {"learning_rate": 1e-2, "cache": cache}
    next_w, _ = optim.rmsprop(w, dw, config=config)
    expected_cache = 0.99 * cache + 0.01 * dw**2
    expected_next_w = w - 1e-2 * dw / (np.sqrt(expected_cache) + 1e-8)
    assert rel_error(config["cache"], expected_cache) < 1e-14
    assert rel_error(next_w, expected_next_w) < 1e-14
    # CS231n's published first row
    assert rel_error(next_w[0], [-0.39223849, -0.34037513, -0.28849239, -0.23659121,
                                 -0.18467247]) < 1e-7


def test_adam_cs231n_values_and_step_count(w, dw):
    m = np.linspace(0.6, 0.9, num=N * D).reshape(N, D)
    v = np.linspace(0.7, 0.5, num=N * D).reshape(N, D)
    config = {"learning_rate": 1e-2, "m": m, "v": v, "t": 5}
    next_w, _ = optim.adam(w, dw, config=config)
    expected_next_w = np.asarray([
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    expected_v = np.asarray([
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    expected_m = np.asarray([
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])
    assert config["t"] == 6  # incremented before the bias correction uses it
    assert rel_error(next_w, expected_next_w) < 1e-6
    assert rel_error(config["v"], expected_v) < 1e-7
    assert rel_error(config["m"], expected_m) < 1e-7


def test_adam_first_step_from_defaults(w, dw):
    config = {}
    next_w, _ = optim.adam(w, dw, config)
    assert config["t"] == 1
    # after one step from zero moments, m_hat = dw and v_hat = dw**2
    np.testing.assert_allclose(next_w, w - 1e-3 * dw / (np.abs(dw) + 1e-8), rtol=1e-12)
    assert {"learning_rate", "beta1", "beta2", "epsilon"} <= set(config)


def test_default_learning_rates_are_the_ones_the_rules_use(w, dw):
    # the CS231n defaults, which the Solver reads from this one table instead of
    # writing them again
    assert optim.DEFAULT_LEARNING_RATES == {"sgd": 1e-2, "sgd_momentum": 1e-2,
                                            "rmsprop": 1e-2, "adam": 1e-3}
    assert optim.UPDATE_RULES == tuple(optim.DEFAULT_LEARNING_RATES)
    for rule in optim.UPDATE_RULES:
        _, config = getattr(optim, rule)(w, dw)
        assert config["learning_rate"] == optim.DEFAULT_LEARNING_RATES[rule]


@pytest.mark.parametrize("rule", optim.UPDATE_RULES)
def test_default_call_modifies_nothing_the_caller_holds(rule, w, dw):
    w_before = w.copy()
    state = {"sgd": {}, "sgd_momentum": {"velocity": np.ones_like(w)},
             "rmsprop": {"cache": np.ones_like(w)},
             "adam": {"m": np.ones_like(w), "v": np.ones_like(w), "t": 3}}[rule]
    held = {k: v.copy() for k, v in state.items() if isinstance(v, np.ndarray)}
    config = dict(state)
    next_w, _ = getattr(optim, rule)(w, dw, config)
    np.testing.assert_array_equal(w, w_before)
    for key, value in held.items():
        np.testing.assert_array_equal(state[key], value)
    assert not np.array_equal(next_w, w)


@pytest.mark.parametrize("rule", optim.UPDATE_RULES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_equals_copying_update(rule, dtype, w, dw):
    w, dw = w.astype(dtype), dw.astype(dtype)
    update = getattr(optim, rule)
    copy_config, inplace_config = {}, {}
    copied = w.copy()
    in_place = w.copy()
    for _ in range(3):
        copied, _ = update(copied, dw, copy_config)
        result, _ = update(in_place, dw, inplace_config, out=in_place)
        assert result is in_place
    assert copied.dtype == dtype
    np.testing.assert_allclose(in_place, copied, rtol=1e-6 if dtype == np.float32 else 1e-14)


def test_float32_update_matches_float64_formula(w, dw):
    w32, dw32 = w.astype(np.float32), dw.astype(np.float32)
    config32, config64 = {}, {}
    for _ in range(5):
        w32, _ = optim.adam(w32, dw32, config32)
        w, _ = optim.adam(w, dw, config64)
    assert w32.dtype == np.float32 and config32["m"].dtype == np.float32
    np.testing.assert_allclose(w32, w, rtol=1e-5, atol=1e-6)


def test_out_must_fit(w, dw):
    with pytest.raises(ValueError, match="out must be"):
        optim.sgd(w, dw, {}, out=np.empty((3, 3)))
    with pytest.raises(ValueError, match="dw has shape"):
        optim.sgd(w, dw[:2])


@pytest.mark.parametrize("reg", [0.0, 0.1])
def test_python_source_of_the_kernel_agrees_with_the_loaded_one(w, dw, reg):
    """The pure-Python fallback and the compiled kernel compute the same updates."""
    from _kernel_harness import kernel_pair

    loaded, source = kernel_pair("_optim")
    f = np.float64
    # (kernel, number of state arrays, its scalar settings), reg last
    calls = [("sgd_update", 0, (f(0.01),)),
             ("momentum_update", 1, (f(0.01), f(0.9))),
             ("nesterov_update", 1, (f(0.01), f(0.9))),
             ("rmsprop_update", 1, (f(0.01), f(0.99), f(0.01), f(1e-8))),
             ("adam_update", 2, (f(0.9), f(0.1), f(0.999), f(0.001), f(0.01), f(2.0),
                                 f(1e-8)))]
    for name, num_states, scalars in calls:
        results = []
        for module in (loaded, source):
            arrays = [w.ravel().copy(), dw.ravel().copy(),
                      *(np.full(N * D, 0.5 - 0.3 * k) for k in range(num_states))]
            square_sum = getattr(module, name)(*arrays, *scalars, f(reg))
            results.append((arrays, square_sum))
        (compiled, compiled_sum), (python, python_sum) = results
        for a, b in zip(compiled, python):
            np.testing.assert_allclose(a, b, rtol=1e-14, err_msg=name)
        assert compiled_sum == pytest.approx(python_sum, rel=1e-14)
        assert (compiled_sum == 0) == (reg == 0)
    assert loaded.sum_squares(w.ravel()) == pytest.approx(source.sum_squares(w.ravel()),
                                                          rel=1e-14)
