"""The engine's argument checks (skdeep/nn/_checks.py) and their use at entry."""
import numpy as np
import pytest

from skdeep.nn import _checks


def test_check_array_never_copies_and_refuses_rank_and_dtype():
    x = np.zeros((4, 5))
    assert _checks.check_array(x, "x", ndim=2) is x
    with pytest.raises(ValueError, match=r"x must be a 2-D array of shape \(N, D\), "
                                         r"got an array of shape \(4, 5, 1\)"):
        _checks.check_array(x[..., None], "x", ndim=2, shape_doc="(N, D)")
    with pytest.raises(ValueError, match="w must have at least 2 dimensions"):
        _checks.check_array(np.zeros(3), "w", min_ndim=2)
    with pytest.raises(TypeError, match="x must be an array of real numbers, got dtype"):
        _checks.check_array(np.array(["a"]), "x")
    with pytest.raises(TypeError, match="floating point"):
        _checks.check_array(np.zeros(3, dtype=int), "x", floating=True)


def test_check_shape_names_argument_and_reason():
    with pytest.raises(ValueError, match=r"b must have shape \(3,\) to match w, got "
                                         r"shape \(4,\)"):
        _checks.check_shape(np.zeros(4), "b", (3,), "to match w")
    _checks.check_shape(np.zeros((2, 3)), "x", (None, 3))


def test_check_labels():
    y = np.array([0, 2, 1])
    assert _checks.check_labels(y, 3, 3) is y
    with pytest.raises(ValueError, match=r"y must be a 1-D array of shape \(3,\)"):
        _checks.check_labels(y[:, None], 3, 3)
    with pytest.raises(ValueError, match="y holds the label -1"):
        _checks.check_labels(np.array([0, -1, 1]), 3, 3)
    with pytest.raises(ValueError, match="y holds the label 3 but there are only 3"):
        _checks.check_labels(np.array([0, 3, 1]), 3, 3)
    with pytest.raises(ValueError, match="y has 2 labels but there are 3 samples"):
        _checks.check_labels(np.array([0, 1]), 3, 3)
    with pytest.raises(TypeError, match="y must hold integer class labels"):
        _checks.check_labels(np.array([0.0, 1.0, 1.0]), 3, 3)


@pytest.mark.parametrize("value, kwargs, message", [
    (np.inf, {"low": 0}, "reg must be a finite number >= 0, got inf"),
    (-1.0, {"low": 0}, "reg must be a finite number >= 0, got -1.0"),
    (1.0, {"low": 0, "high": 1, "high_open": True}, r"in \[0, 1\), got 1.0"),
    (0.0, {"low": 0, "low_open": True}, "> 0"),
    (np.nan, {}, "must be a finite number, got nan"),
])
def test_check_number_refuses_out_of_range(value, kwargs, message):
    with pytest.raises(ValueError, match=message):
        _checks.check_number(value, "reg", **kwargs)


def test_check_number_and_int_refuse_bools_and_strings():
    for bad in (True, "1", None):
        with pytest.raises(TypeError, match="reg must be a real number"):
            _checks.check_number(bad, "reg")
        with pytest.raises(TypeError, match="batch_size must be an int"):
            _checks.check_int(bad, "batch_size")
    assert _checks.check_int(None, "n", allow_none=True) is None
    with pytest.raises(ValueError, match="batch_size must be an int >= 1, got 0"):
        _checks.check_int(0, "batch_size")


def test_check_mode_dict_and_cache():
    with pytest.raises(TypeError, match="bn_param must be a dict, got list"):
        _checks.check_mode([], "bn_param")
    with pytest.raises(ValueError, match="bn_param must have the key 'mode'"):
        _checks.check_mode({}, "bn_param")
    with pytest.raises(ValueError, match=r"bn_param\['mode'\] must be 'train' or "
                                         r"'test', got 'eval'"):
        _checks.check_mode({"mode": "eval"}, "bn_param")
    with pytest.raises(ValueError, match="cache is None: batchnorm_forward keeps no "
                                         "cache in test mode"):
        _checks.check_cache(None, 8, "batchnorm_forward")
    with pytest.raises(ValueError, match="tuple of 3 entries returned by affine_forward"):
        _checks.check_cache((1, 2), 3, "affine_forward")


# ---- entry checks of the public functions: each case returned a wrong result or
# failed deep inside NumPy before the checks existed

from skdeep.nn import gradcheck, layer_utils, layers, optim  # noqa: E402
from skdeep.nn.models import ConvNet, FullyConnectedNet, TwoLayerNet  # noqa: E402
from skdeep.nn.solver import Solver  # noqa: E402

rng = np.random.RandomState(0)
X46 = rng.randn(4, 6)
W63 = rng.randn(6, 3)
B3 = np.zeros(3)
SCORES = rng.randn(5, 4)
LABELS = np.array([0, 1, 2, 3, 1])


@pytest.mark.parametrize("call, error, match", [
    # softmax_loss(x, y[:, None]) used to broadcast into a loss of 5.687 (not 1.206)
    (lambda: layers.softmax_loss(SCORES, LABELS[:, None]), ValueError,
     r"y must be a 1-D array of shape \(5,\)"),
    (lambda: layers.svm_loss(SCORES, LABELS[:, None]), ValueError, "y must be a 1-D"),
    # label -1 used to mean the last class
    (lambda: layers.softmax_loss(SCORES, np.array([0, 1, -1, 3, 1])), ValueError,
     "y holds the label -1"),
    (lambda: layers.svm_loss(SCORES, np.array([0, 1, -1, 3, 1])), ValueError,
     "y holds the label -1"),
    # used to be NumPy's IndexError: index 7 is out of bounds
    (lambda: layers.softmax_loss(SCORES, np.array([0, 1, 7, 3, 1])), ValueError,
     "y holds the label 7 but there are only 4 classes"),
    (lambda: layers.softmax_loss(SCORES, LABELS.astype(float)), TypeError,
     "integer class labels"),
    (lambda: layers.softmax_loss(SCORES[:0], LABELS[:0]), ValueError, "at least one row"),
    # batchnorm on (4, 5, 1) used to return shape (4, 5, 5)
    (lambda: layers.batchnorm_forward(np.ones((4, 5, 1)), np.ones(5), np.zeros(5),
                                      {"mode": "train"}), ValueError,
     r"x must be a 2-D array of shape \(N, D\), got an array of shape \(4, 5, 1\)"),
    (lambda: layers.batchnorm_forward(X46, np.ones(5), np.zeros(6), {"mode": "train"}),
     ValueError, r"gamma must have shape \(6,\)"),
    (lambda: layers.batchnorm_forward(X46, np.ones(6), np.zeros(6), {}), ValueError,
     "bn_param must have the key 'mode'"),
    (lambda: layers.batchnorm_forward(X46, np.ones(6), np.zeros(6),
                                      {"mode": "train", "eps": -1}), ValueError,
     r"bn_param\['eps'\] must be a finite number > 0"),
    (lambda: layers.batchnorm_forward(X46, np.ones(6), np.zeros(6),
                                      {"mode": "test", "running_mean": np.zeros(5)}),
     ValueError, r"bn_param\['running_mean'\] must have shape \(6,\)"),
    # group norm used to take a negative eps and return NaN
    (lambda: layers.spatial_groupnorm_forward(np.ones((2, 4, 3, 3)), np.ones((1, 4, 1, 1)),
                                              np.zeros((1, 4, 1, 1)), 2, {"eps": -1}),
     ValueError, r"gn_param\['eps'\] must be a finite number > 0"),
    (lambda: layers.spatial_groupnorm_forward(np.ones((2, 4, 3, 3)), np.ones((1, 4, 1, 1)),
                                              np.zeros((1, 4, 1, 1)), 2, "eps"),
     TypeError, "gn_param must be a dict"),
    (lambda: layers.spatial_batchnorm_forward(np.ones((2, 4, 3, 3)), np.ones(4),
                                              np.zeros(4), {"mode": "train", "eps": 0}),
     ValueError, r"bn_param\['eps'\] must be a finite number > 0"),
    # layernorm used to broadcast gamma of the wrong length
    (lambda: layers.layernorm_forward(X46, np.ones((4, 1)), np.zeros(6), {}), ValueError,
     r"gamma must have shape \(6,\)"),
    (lambda: layers.layernorm_forward(X46[:, :, None], np.ones(6), np.zeros(6), {}),
     ValueError, "x must be a 2-D array"),
    # affine_forward used to broadcast a b of the wrong length
    (lambda: layers.affine_forward(X46, W63, np.zeros((4, 3))), ValueError,
     r"b must have shape \(3,\) to match the M columns of w"),
    # used to be matmul's "Input operand 1 has a mismatch in its core dimension"
    (lambda: layers.affine_forward(X46, W63[:5], B3), ValueError,
     r"w must have shape \(6, \*\) to match the D=6 values of each row of x"),
    (lambda: layers.affine_forward(X46, W63.astype(int), B3), TypeError,
     "w must be an array of floating point numbers"),
    (lambda: layers.affine_backward(np.ones((4, 2)), layers.affine_forward(X46, W63, B3)[1]),
     ValueError, r"dout must have shape \(4, 3\)"),
    # relu_backward used to broadcast a dout of the wrong shape
    (lambda: layers.relu_backward(np.ones((4, 1)), layers.relu_forward(X46)[1]),
     ValueError, r"dout must have shape \(4, 6\)"),
    (lambda: layers.relu_forward(np.array(["a"])), TypeError, "x must be an array of real"),
    (lambda: layers.dropout_forward(X46, {"mode": "train"}), ValueError,
     "dropout_param must have the key 'p'"),
    (lambda: layers.dropout_forward(X46, {"mode": "train", "p": np.nan}), ValueError,
     r"dropout_param\['p'\] must be a finite number in \(0, 1\]"),
    (lambda: layers.dropout_forward(X46, {"mode": "eval", "p": 0.5}), ValueError,
     r"dropout_param\['mode'\] must be 'train' or 'test'"),
    (lambda: layer_utils.affine_relu_backward(np.ones((4, 3)), None), ValueError,
     "cache is None"),
    (lambda: layer_utils.affine_norm_relu_forward(X46, W63, B3, np.ones(3), np.zeros(3),
                                                  {"mode": "train"}, "groupnorm"),
     ValueError, "normalization must be 'batchnorm' or 'layernorm', got 'groupnorm'"),
])
def test_layer_functions_refuse_malformed_input(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_backward_on_a_test_mode_cache_says_so():
    # used to be "TypeError: cannot unpack non-iterable NoneType object"
    bn_param = {"mode": "test"}
    out, cache = layers.batchnorm_forward(X46, np.ones(6), np.zeros(6), bn_param)
    for backward in (layers.batchnorm_backward, layers.batchnorm_backward_alt):
        with pytest.raises(ValueError, match="cache is None: batchnorm_forward keeps "
                                             "no cache in test mode"):
            backward(np.ones_like(out), cache)


def test_dropout_backward_follows_the_forward_mode_not_the_shared_dict():
    # a model shares one dropout_param between layers and switches its mode; a
    # test-mode forward must give the identity backward even after the switch
    # (it used to compute dout * None)
    param = {"mode": "test", "p": 0.5}
    _, cache = layers.dropout_forward(X46, param)
    param["mode"] = "train"
    dout = rng.randn(4, 6)
    assert layers.dropout_backward(dout, cache) is dout
    param["seed"] = 0
    _, cache = layers.dropout_forward(X46, param)
    with pytest.raises(ValueError, match=r"dout must have shape \(4, 6\)"):
        layers.dropout_backward(np.ones((4, 1)), cache)


@pytest.mark.parametrize("rule, config, match", [
    # beta1=1 used to be a ZeroDivisionError in the bias correction
    (optim.adam, {"beta1": 1.0}, r"config\['beta1'\] must be a finite number in \[0, 1\)"),
    (optim.adam, {"beta2": 1.5}, r"config\['beta2'\]"),
    (optim.adam, {"epsilon": 0.0}, r"config\['epsilon'\] must be a finite number > 0"),
    (optim.sgd, {"learning_rate": -1e-3}, r"config\['learning_rate'\] must be a finite "
                                          r"number >= 0"),
    (optim.sgd, {"learning_rate": np.inf}, r"config\['learning_rate'\]"),
    (optim.sgd_momentum, {"momentum": -0.1}, r"config\['momentum'\]"),
    (optim.rmsprop, {"decay_rate": 1.0}, r"config\['decay_rate'\]"),
    (optim.sgd_momentum, {"velocity": np.zeros(4)}, r"config\['velocity'\] has shape"),
])
def test_update_rules_refuse_bad_settings(rule, config, match):
    with pytest.raises(ValueError, match=match):
        rule(np.ones(3), np.ones(3), config)


def test_update_rules_refuse_bad_arrays():
    with pytest.raises(TypeError, match="config must be a dict, got list"):
        optim.sgd(np.ones(3), np.ones(3), [])
    with pytest.raises(TypeError, match="dw must be an array of real numbers"):
        optim.adam(np.ones(3), np.array(["a", "b", "c"]))
    with pytest.raises(TypeError, match=r"config\['learning_rate'\] must be a real"):
        optim.sgd(np.ones(3), np.ones(3), {"learning_rate": "fast"})


@pytest.mark.parametrize("kwargs, error, match", [
    ({"weight_scale": np.inf}, ValueError, "weight_scale must be a finite number > 0"),
    # a zero scale makes all hidden units identical forever; MLPClassifier refuses it too
    ({"weight_scale": 0}, ValueError, "weight_scale must be a finite number > 0"),
    ({"reg": np.inf}, ValueError, "reg must be a finite number >= 0, got inf"),
    ({"reg": -1}, ValueError, "reg must be a finite number >= 0"),
    ({"reg": True}, TypeError, "reg must be a real number"),
    ({"dtype": np.int64}, TypeError, "dtype must be a floating point dtype"),
    # the compiled layers compute float16 in float64: the model's dtype would not be
    # the dtype of its computation
    ({"dtype": np.float16}, TypeError, "dtype must be a floating point dtype the "
                                       "layers compute in, float32 or float64"),
    ({"hidden_dims": 5}, TypeError, "hidden_dims must be a list of ints"),
])
def test_models_refuse_bad_settings_up_front(kwargs, error, match):
    kwargs = {"hidden_dims": [5], **kwargs}
    with pytest.raises(error, match=match):
        FullyConnectedNet(**kwargs)
    if "hidden_dims" not in kwargs or kwargs["hidden_dims"] == [5]:
        kwargs.pop("hidden_dims")
        if "dtype" not in kwargs:
            with pytest.raises(error, match=match):
                TwoLayerNet(**kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    # used to fail inside the constructor with "'int' object is not iterable"
    ({"num_filters": 32}, TypeError, "num_filters must be a list of ints, got 32"),
    ({"num_filters": (8, 0)}, ValueError, r"num_filters\[1\] must be an int >= 1, got 0"),
    ({"hidden_dims": "ab"}, TypeError, "hidden_dims must be a list of ints, got 'ab'"),
])
def test_conv_net_refuses_bad_layer_lists_naming_them(kwargs, error, match):
    with pytest.raises(error, match=match):
        ConvNet(input_dim=(1, 8, 8), **kwargs)


def test_model_loss_checks_inputs_before_the_forward_pass():
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, normalization="batchnorm",
                              dtype=np.float64, random_state=0)
    with pytest.raises(ValueError, match="X has 5 values per sample but the model has "
                                         "input_dim=6"):
        model.loss(X46[:, :5])
    with pytest.raises(ValueError, match="y holds the label 3 but there are only 3"):
        model.loss(X46, np.array([0, 1, 2, 3]))
    # refused before batchnorm's running statistics were touched
    assert "running_mean" not in model.bn_params[0]
    model.reg = np.inf
    with pytest.raises(ValueError, match="reg must be a finite number"):
        model.loss(X46, np.array([0, 1, 2, 2]))


def _solver(**kwargs):
    model = FullyConnectedNet([5], input_dim=6, num_classes=3, random_state=0)
    data = {"X_train": X46, "y_train": np.array([0, 1, 2, 1])}
    data.update(kwargs.pop("data", {}))
    return Solver(model, data, verbose=False, **kwargs)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"lr_decay": -1}, ValueError, "lr_decay must be a finite number > 0, got -1"),
    ({"lr_decay": 0}, ValueError, "lr_decay must be"),
    ({"batch_size": True}, TypeError, "batch_size must be an int, got True"),
    ({"num_epochs": 2.5}, TypeError, "num_epochs must be an int"),
    ({"num_train_samples": 0}, ValueError, "num_train_samples must be an int >= 1"),
    ({"print_every": -1}, ValueError, "print_every must be an int >= 0"),
    ({"optim_config": {"learning_rate": np.nan}}, ValueError,
     r"optim_config\['learning_rate'\] must be a finite number"),
    ({"optim_config": 1e-3}, TypeError, "optim_config must be a dict"),
    # label -1 used to train as the last class
    ({"data": {"y_train": np.array([0, 1, -1, 1])}}, ValueError,
     "y_train holds the label -1"),
    ({"data": {"y_train": np.array([0, 1, 3, 1])}}, ValueError,
     "y_train holds the label 3 but there are only 3 classes"),
    ({"data": {"X_val": X46, "y_val": np.array([[0], [1], [2], [1]])}}, ValueError,
     r"y_val must be a 1-D array"),
    ({"data": {"train_rows": np.array([0, 4])}}, ValueError,
     r"train_rows must hold indices of rows of X_train, in \[0, 4\)"),
])
def test_solver_refuses_bad_options_and_labels(kwargs, error, match):
    with pytest.raises(error, match=match):
        _solver(**kwargs)


def test_gradcheck_refuses_integer_points_and_mismatched_gradients():
    # an integer x rounds x + h back to x: the gradient used to come back as zeros
    x = np.arange(3)
    with pytest.raises(TypeError, match="x must be an array of floating point numbers"):
        gradcheck.eval_numerical_gradient(lambda x: float(np.sum(x ** 2)), x,
                                          verbose=False)
    xf = np.ones(3)
    with pytest.raises(ValueError, match=r"df must have shape \(3,\)"):
        gradcheck.eval_numerical_gradient_array(lambda x: 2 * x, xf, np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"analytic_grad must have shape \(3,\)"):
        gradcheck.grad_check_sparse(lambda x: float(x.sum()), xf, np.ones(2))
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        gradcheck.eval_numerical_gradient(lambda x: 0.0, xf, verbose=False, h=0)
    # a (3,) against a (3, 1) used to broadcast into a (3, 3) comparison of the
    # wrong pairs: 1.0 instead of the true 0
    with pytest.raises(ValueError, match=r"y must have shape \(3,\) \(the shape of x\)"):
        gradcheck.rel_error(np.arange(3.0), np.arange(3.0)[:, None])


def test_check_accuracy_and_astype_refuse_bad_arguments():
    solver = _solver()
    with pytest.raises(ValueError, match="y holds the label -1"):
        solver.check_accuracy(X46, np.array([0, 1, -1, 1]))
    with pytest.raises(ValueError, match="y has 3 labels but there are 4 samples"):
        solver.check_accuracy(X46, np.array([0, 1, 1]))
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        solver.check_accuracy(X46, np.array([0, 1, 1, 1]), batch_size=0)
    with pytest.raises(TypeError, match="dtype must be a floating point dtype"):
        solver.model.astype(np.int32)


# ---- every backward function checks its cache at entry -----------------------------

def _backward_functions():
    return [getattr(module, name) for module in (layers, layer_utils)
            for name in module.__all__ if "_backward" in name]


# a cache of the wrong kind of object, of every tuple length a cache has (0 to 8
# entries) holding no arrays, and a list in place of a tuple
MALFORMED_CACHES = [object(), ["x", "w"], *(("junk",) * k for k in range(9))]


@pytest.mark.parametrize("backward", _backward_functions(), ids=lambda f: f.__name__)
@pytest.mark.parametrize("cache", MALFORMED_CACHES, ids=repr)
def test_every_backward_refuses_a_malformed_cache_naming_it(backward, cache):
    # the message names the cache and the forward function that makes it; without
    # the check these were "cannot unpack", "has no attribute 'shape'" or a result
    producer = backward.__name__.replace("_backward_alt", "_forward").replace(
        "_backward", "_forward")
    with pytest.raises(ValueError, match=rf"^cache(\[\d\])? .*{producer}"):
        backward(np.ones((2, 3, 4, 4)), cache)


def test_the_backward_functions_are_enumerated():
    names = {f.__name__ for f in _backward_functions()}
    assert {"conv_backward_naive", "max_pool_backward_fast", "spatial_groupnorm_backward",
            "conv_relu_pool_backward", "conv_norm_relu_pool_backward",
            "affine_backward"} <= names


CONV_PARAM = {"stride": 1, "pad": 1}
POOL_PARAM = {"pool_height": 2, "pool_width": 2, "stride": 2}
X4 = rng.randn(2, 4, 4, 4)
W4 = rng.randn(4, 4, 3, 3)
B4 = np.zeros(4)


def _caches():
    """Train-mode caches of the convolution, pooling and spatial layers."""
    gn = (np.ones((1, 4, 1, 1)), np.zeros((1, 4, 1, 1)))
    return {
        "conv": layers.conv_forward_fast(X4, W4, B4, CONV_PARAM)[1],
        "pool": layers.max_pool_forward_fast(X4, POOL_PARAM)[1],
        "pool_naive": layers.max_pool_forward_naive(X4, POOL_PARAM)[1],
        "spatial_bn": layers.spatial_batchnorm_forward(X4, np.ones(4), np.zeros(4),
                                                       {"mode": "train"})[1],
        "spatial_gn": layers.spatial_groupnorm_forward(X4, *gn, 2, {})[1],
        "conv_relu_pool": layer_utils.conv_relu_pool_forward(X4, W4, B4, CONV_PARAM,
                                                             POOL_PARAM)[1],
        "conv_norm_relu": layer_utils.conv_norm_relu_forward(
            X4, W4, B4, *gn, CONV_PARAM, {"G": 2}, "groupnorm")[1],
    }


@pytest.mark.parametrize("backward, cache_of, match", [
    # another layer's cache of the same length: each used to fail inside the
    # backward pass ("tuple has no attribute 'shape'", "cannot reshape", ...)
    (layers.max_pool_backward_fast, "conv_relu_pool",
     r"cache must be the tuple returned by max_pool_forward_fast, but its entry 0 is "
     r"tuple, not ndarray"),
    (layers.conv_backward_fast, "conv_norm_relu", r"cache must be the tuple of 4 entries "
                                                  r"returned by conv_forward_fast, got "
                                                  r"tuple of 3 entries"),
    (layers.max_pool_backward_naive, "spatial_bn",
     r"cache must be the tuple returned by max_pool_forward_naive, but its entry 0 is "
     r"tuple, not ndarray"),
    (layers.spatial_batchnorm_backward, "pool_naive",
     r"cache must be the tuple returned by spatial_batchnorm_forward, but its entry 0 "
     r"is ndarray, not tuple"),
    (layers.spatial_groupnorm_backward, "conv_norm_relu",
     r"cache must be the tuple of 2 entries returned by spatial_groupnorm_forward"),
    (layer_utils.conv_relu_backward, "spatial_gn",
     r"cache must be the tuple returned by conv_relu_forward, but its entry 1 is "
     r"tuple, not ndarray"),
    (layer_utils.conv_relu_pool_backward, "pool",
     r"cache must be the tuple returned by conv_relu_pool_forward, but its entry 0 is "
     r"ndarray, not tuple"),
    (layer_utils.conv_norm_relu_backward, "conv_relu_pool",
     r"cache must be the tuple returned by conv_norm_relu_forward, but its entry 1 is "
     r"ndarray, not tuple or None"),
    (layer_utils.conv_norm_relu_pool_backward, "conv_relu_pool",
     r"cache must be the tuple of 2 entries returned by conv_norm_relu_pool_forward, "
     r"got tuple of 3 entries"),
])
def test_backward_refuses_another_layers_cache(backward, cache_of, match):
    with pytest.raises(ValueError, match=match):
        backward(np.ones((2, 4, 4, 4)), _caches()[cache_of])


def test_both_spatial_normalizations_cache_the_input_shape_first():
    # one documented order, (x_shape, norm_cache); groupnorm used to put the shape last
    caches = _caches()
    for name in ("spatial_bn", "spatial_gn"):
        x_shape, norm_cache = caches[name]
        assert x_shape == X4.shape
        assert isinstance(norm_cache, tuple) and len(norm_cache) == 8


def test_spatial_batchnorm_backward_on_a_test_mode_cache_says_so():
    _, cache = layers.spatial_batchnorm_forward(X4, np.ones(4), np.zeros(4),
                                                {"mode": "test"})
    with pytest.raises(ValueError, match=r"cache\[1\] is None: spatial_batchnorm_forward "
                                         r"keeps no cache in test mode"):
        layers.spatial_batchnorm_backward(np.ones_like(X4), cache)


# ---- grad_check_sparse's random_state ------------------------------------------------

GRID = np.arange(12.0).reshape(3, 4)


def _checked_positions(random_state, num_checks=6):
    """The positions grad_check_sparse perturbs, read off the calls of f."""
    x = GRID.copy()
    seen = []

    def f(point):
        moved = np.argwhere(point != GRID)
        seen.extend(tuple(int(i) for i in row) for row in moved)
        return float(np.sum(point ** 2))

    errors = gradcheck.grad_check_sparse(f, x, 2 * x, num_checks=num_checks,
                                         random_state=random_state)
    assert np.all(errors < 1e-7)  # the analytic gradient is right
    np.testing.assert_array_equal(x, GRID)  # restored
    return seen[::2]  # each position is perturbed twice, +h then -h


def _expected_positions(draw, num_checks=6):
    return [tuple(int(draw(m)) for m in GRID.shape) for _ in range(num_checks)]


def test_grad_check_sparse_none_draws_from_numpys_global_state(capsys):
    # as the CS231n notebooks use it: np.random.seed repeats the positions (a
    # fresh unseeded RandomState used to make them unrepeatable)
    np.random.seed(3)
    positions = _checked_positions(None)
    np.random.seed(3)
    assert positions == _expected_positions(np.random.randint)


def test_grad_check_sparse_int_seeds_its_own_state(capsys):
    before = np.random.get_state()[1].copy()
    positions = _checked_positions(7)
    assert positions == _expected_positions(np.random.RandomState(7).randint)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


def test_grad_check_sparse_draws_from_a_random_state_passed(capsys):
    rng, twin = np.random.RandomState(5), np.random.RandomState(5)
    positions = _checked_positions(rng)
    assert positions == _expected_positions(twin.randint)
    # the caller's source was drawn from, not copied: both are at the same place
    assert rng.randint(10**9) == twin.randint(10**9)


def test_grad_check_sparse_accepts_a_generator(capsys):
    # used to fail: np.random.RandomState(Generator) is an error
    positions = _checked_positions(np.random.default_rng(5))
    assert positions == _expected_positions(np.random.default_rng(5).integers)


def test_grad_check_sparse_refuses_other_random_states():
    with pytest.raises(ValueError, match="random_state must be None, an int, a "
                                         "numpy.random.RandomState or a numpy.random"
                                         ".Generator, got 'seed'"):
        gradcheck.grad_check_sparse(lambda x: 0.0, np.ones(3), np.zeros(3),
                                    random_state="seed")


@pytest.mark.parametrize("check", [
    lambda f, x: gradcheck.eval_numerical_gradient(f, x, verbose=False),
    lambda f, x: gradcheck.eval_numerical_gradient_array(f, x, np.ones(())),
    lambda f, x: gradcheck.grad_check_sparse(f, x, np.zeros_like(x), num_checks=1,
                                             random_state=0),
])
def test_gradient_checks_restore_x_when_f_raises(check):
    # x is perturbed in place; an f that fails on the moved point used to leave it
    # there, so the caller's array (often a model's parameters) was silently changed
    x = GRID.copy()

    def f(point):
        if not np.array_equal(point, GRID):
            raise RuntimeError("f failed")
        return 0.0

    with pytest.raises(RuntimeError, match="f failed"):
        check(f, x)
    np.testing.assert_array_equal(x, GRID)
