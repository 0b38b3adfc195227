"""Property-based tests of every public estimator and engine function.

Random shapes, dtypes, label sets and settings, valid and deliberately malformed, each
example knowing which it is.  Valid input gives a finite, correctly shaped result: a
clearly worded refusal of good input fails as surely as an accepted malformed one.
Malformed input (a bias of the wrong length, labels of shape (N, 1), a label of -1,
a dout of the wrong shape...) must be refused with a clear ValueError or TypeError,
never another exception or a NumPy-internal message, and never broadcast into a
result.

Estimators are enumerated from ``skdeep.__all__``, so new ones are picked up.  Each
property test declares the engine functions it calls (:func:`covers`), and a test
compares those with the public functions of the engine modules' ``__all__``: a public
function without a property, and a covered name that is no longer public (renamed or
removed), both fail.
"""
import re

import numpy as np
import pytest
# hypothesis is in the test extra: without it this module fails, it does not skip
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator, is_classifier

import skdeep
from skdeep import linear_model
from skdeep.nn import layer_utils, layers, optim
from skdeep.nn._checks import MODES

# derandomized: the same examples on every run, so a failure is reproducible in CI
FAST = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow])

# messages of errors raised from inside NumPy or Python rather than by a check: a
# user cannot act on them
UNCLEAR = re.compile(
    r"operands could not be broadcast|cannot unpack|out of bounds|matmul|"
    r"unsupported operand|not subscriptable|NoneType|division by zero|"
    r"has no attribute|not supported between|positional argument|"
    r"cannot reshape|Cannot cast ufunc|could not convert|setting an array element"
)

FLOATS = [np.float64, np.float32]


def _outcome(call, must_fail):
    """Run ``call``: valid input must succeed, malformed input must be refused clearly.

    With ``must_fail`` false any exception propagates, a clearly worded one too: a
    layer that refuses good input is as wrong as one that accepts bad input.  With
    ``must_fail`` true the call must raise a ValueError or TypeError whose message
    a user can act on.

    Returns the result, or None when the call was refused.
    """
    if not must_fail:
        return call()
    try:
        call()
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert message and not UNCLEAR.search(message), f"unclear error: {exc!r}"
        return None
    raise AssertionError("malformed input was accepted instead of refused")


def _finite(array, shape, dtype=None):
    array = np.asarray(array)
    assert array.shape == shape, f"shape {array.shape}, expected {shape}"
    assert np.all(np.isfinite(array)), "non-finite result"
    if dtype is not None:
        assert array.dtype == dtype, f"dtype {array.dtype}, expected {dtype}"


def _randn(seed, shape, dtype=np.float64, scale=1.0):
    return (scale * np.random.RandomState(seed).randn(*shape)).astype(dtype)


def _public_functions(module):
    """Names in ``module.__all__`` of functions (not classes or constants)."""
    return [name for name in module.__all__
            if callable(getattr(module, name)) and not isinstance(getattr(module, name), type)]


# the engine modules whose public functions each need a property test
ENGINE_MODULES = (layers, layer_utils, optim, linear_model)

# "module.function" -> the property test that calls it, filled by @covers
COVERED = {}


def covers(*names):
    """Record that the decorated property test calls each ``module.function`` named."""
    def record(test):
        for name in names:
            COVERED[name] = test.__name__
        return test
    return record


def _both_ways(module, *stems, variants=("",)):
    """``module.stem_forward`` and ``module.stem_backward`` (with each variant
    suffix, such as ``"_naive"``) for every stem."""
    return [f"{module}.{stem}_{way}{variant}" for stem in stems
            for way in ("forward", "backward") for variant in variants]


dims = st.integers(1, 5)
seeds = st.integers(0, 2**16)


# ---- affine layers -----------------------------------------------------------------

AFFINE_CORRUPTIONS = [None, None, "w_rows", "b_length", "b_2d", "x_1d", "dout", "x_str",
                      "w_int"]


@covers(*_both_ways("layers", "affine"), *_both_ways("layer_utils", "affine_relu"))
@FAST
@given(n=dims, k1=dims, k2=dims, m=dims, seed=seeds, dtype=st.sampled_from(FLOATS),
       sandwich=st.booleans(), corrupt=st.sampled_from(AFFINE_CORRUPTIONS))
def test_affine_layers(n, k1, k2, m, seed, dtype, sandwich, corrupt):
    forward, backward = ((layer_utils.affine_relu_forward, layer_utils.affine_relu_backward)
                         if sandwich else (layers.affine_forward, layers.affine_backward))
    x = _randn(seed, (n, k1, k2), dtype)
    w = _randn(seed + 1, (k1 * k2 + (corrupt == "w_rows"), m), dtype)
    b = _randn(seed + 2, {"b_length": (m + 1,), "b_2d": (n, m)}.get(corrupt, (m,)), dtype)
    if corrupt == "x_1d":
        x = x.reshape(-1)
    elif corrupt == "x_str":
        x = x.astype(str)
    elif corrupt == "w_int":
        w = w.astype(np.int64)
    # integer weights are refused: affine layers compute in the floating dtype of w
    must_fail = corrupt not in (None, "dout")
    result = _outcome(lambda: forward(x, w, b), must_fail)
    if result is None:
        return
    out, cache = result
    _finite(out, (n, m), dtype if corrupt is None else None)
    dout = _randn(seed + 3, (n, m + (corrupt == "dout")), dtype)
    grads = _outcome(lambda: backward(dout, cache), corrupt == "dout")
    if grads is not None:
        for grad, arg in zip(grads, (x, w, b)):
            _finite(grad, arg.shape)


# ---- elementwise layers ------------------------------------------------------------

@covers(*_both_ways("layers", "relu", "dropout"))
@FAST
@given(n=dims, d=dims, seed=seeds, dtype=st.sampled_from(FLOATS + [np.int64, np.uint8]),
       dropout=st.booleans(), mode=st.sampled_from(["train", "test", "eval", None]),
       p=st.sampled_from([0.5, 1.0, 0.0, 1.5, np.nan]),
       corrupt=st.sampled_from([None, None, "dout", "x_complex"]))
def test_relu_and_dropout(n, d, seed, dtype, dropout, mode, p, corrupt):
    x = _randn(seed, (n, d), scale=10).astype(dtype)
    if corrupt == "x_complex":
        x = x.astype(np.complex128)
    if dropout:
        param = {"p": p, "seed": seed} if mode is None else {"mode": mode, "p": p,
                                                              "seed": seed}
        bad_param = mode not in MODES or not 0 < p <= 1
        forward, backward = (lambda: layers.dropout_forward(x, param)), \
            layers.dropout_backward
    else:
        bad_param = False
        forward, backward = (lambda: layers.relu_forward(x)), layers.relu_backward
    result = _outcome(forward, bad_param or corrupt == "x_complex")
    if result is None:
        return
    out, cache = result
    _finite(out, (n, d))
    dout = _randn(seed + 1, (n, d + 1) if corrupt == "dout" else (n, d))
    # a dropout in test mode is the identity both ways, whatever the shape of dout
    identity = dropout and mode == "test"
    dx = _outcome(lambda: backward(dout, cache), corrupt == "dout" and not identity)
    if dx is not None:
        _finite(dx, dout.shape)


@covers(*_both_ways("layers", "gelu"))
@FAST
@given(shape=st.lists(dims, min_size=1, max_size=4).map(tuple), seed=seeds,
       dtype=st.sampled_from(FLOATS + [np.int64, np.uint8]),
       scale=st.sampled_from([1.0, 10.0, 1e30]),
       corrupt=st.sampled_from([None, None, "dout", "x_complex", "relu_cache"]))
def test_gelu(shape, seed, dtype, scale, corrupt):
    x = _randn(seed, shape, scale=scale)
    if dtype == np.uint8:
        x = np.abs(x).clip(0, 255)
    elif dtype == np.int64:
        x = x.clip(-1e6, 1e6)
    # float32 stays float32 (1e30 included); other dtypes compute in float64
    x = x.astype(dtype)
    if corrupt == "x_complex":
        x = x.astype(np.complex128)
    result = _outcome(lambda: layers.gelu_forward(x), corrupt == "x_complex")
    if result is None:
        return
    out, cache = result
    out_dtype = dtype if dtype in FLOATS else np.float64
    _finite(out, shape, out_dtype)
    # GELU(x) = x * Phi(x) <= max(x, 0), and its minimum is -0.16997 (at x = -0.7518)
    assert np.all(out <= np.maximum(x, 0)) and np.all(out >= -0.1700)
    dout = _randn(seed + 1, shape[:-1] + (shape[-1] + 1,) if corrupt == "dout" else shape)
    if corrupt == "relu_cache":
        cache = layers.relu_forward(x)[1]
    dx = _outcome(lambda: layers.gelu_backward(dout, cache),
                  corrupt in ("dout", "relu_cache"))
    if dx is not None:
        _finite(dx, shape)


# ---- batch and layer normalization ---------------------------------------------------

NORM_CORRUPTIONS = [None, None, "x_3d", "gamma_length", "gamma_2d", "eps", "mode",
                    "dout", "test_cache"]


@covers(*_both_ways("layers", "batchnorm", "layernorm"), "layers.batchnorm_backward_alt",
        *_both_ways("layer_utils", "affine_norm_relu"))
@FAST
@given(n=dims, d=dims, seed=seeds, dtype=st.sampled_from(FLOATS),
       kind=st.sampled_from(["batchnorm", "batchnorm_alt", "layernorm", "affine_bn",
                             "affine_ln"]),
       corrupt=st.sampled_from(NORM_CORRUPTIONS))
def test_normalization_layers(n, d, seed, dtype, kind, corrupt):
    x = _randn(seed, (n, d, 1) if corrupt == "x_3d" else (n, d), dtype, scale=5)
    gamma = _randn(seed + 1, {"gamma_length": (d + 1,), "gamma_2d": (1, d)}.get(corrupt, (d,)),
                   dtype)
    beta = _randn(seed + 2, (d,), dtype)
    param = {"mode": "test" if corrupt == "test_cache" else "train"}
    if corrupt == "mode":
        param["mode"] = "eval"
    if corrupt == "eps":
        param["eps"] = -1.0
    batchnorm = kind.startswith("batch") or kind == "affine_bn"
    if kind.startswith("affine"):
        w = _randn(seed + 3, (d, d), dtype)
        b = np.zeros(d, dtype)
        norm = "batchnorm" if batchnorm else "layernorm"
        forward = lambda: layer_utils.affine_norm_relu_forward(  # noqa: E731
            x, w, b, gamma, beta, param, norm)
        backward, grad_shapes = layer_utils.affine_norm_relu_backward, None
    else:
        name = "batchnorm" if batchnorm else "layernorm"
        forward = lambda: getattr(layers, f"{name}_forward")(x, gamma, beta, param)  # noqa
        backward = getattr(layers, {"batchnorm": "batchnorm_backward",
                                    "batchnorm_alt": "batchnorm_backward_alt",
                                    "layernorm": "layernorm_backward"}[kind])
        grad_shapes = [(n, d), (d,), (d,)]
    # layernorm has no mode: its dict's mode is ignored, and it keeps its cache; the
    # affine sandwiches flatten every input to rows, so a 3-D x is valid for them
    x_3d_bad = corrupt == "x_3d" and not kind.startswith("affine")
    must_fail = x_3d_bad or corrupt in ("gamma_length", "gamma_2d", "eps") or (
        batchnorm and corrupt == "mode")
    result = _outcome(forward, must_fail)
    if result is None:
        return
    out, cache = result
    _finite(out, (n, d), dtype)
    dout = _randn(seed + 4, (n + 1, d) if corrupt == "dout" else (n, d), dtype)
    grads = _outcome(lambda: backward(dout, cache),
                     corrupt == "dout" or (batchnorm and corrupt == "test_cache"))
    if grads is not None:
        grad_shapes = grad_shapes or [x.shape, (d, d), (d,), (d,), (d,)]
        assert len(grads) == len(grad_shapes)
        for grad, shape in zip(grads, grad_shapes):
            _finite(grad, shape)


# ---- losses --------------------------------------------------------------------------

LABEL_CORRUPTIONS = [None, None, "column", "negative", "too_large", "float", "length",
                     "x_3d"]


def _labels(seed, n, c, corrupt):
    y = np.random.RandomState(seed).randint(c, size=n)
    if corrupt == "column":
        return y[:, None]
    if corrupt == "negative":
        y[0] = -1
    elif corrupt == "too_large":
        y[-1] = c
    elif corrupt == "float":
        return y.astype(np.float64)
    elif corrupt == "length":
        return np.append(y, 0)
    return y


@covers("layers.softmax_loss", "layers.svm_loss")
@FAST
@given(n=dims, c=dims, seed=seeds, dtype=st.sampled_from(FLOATS),
       name=st.sampled_from(["softmax_loss", "svm_loss"]),
       scale=st.sampled_from([1.0, 1e3, 1e30]), corrupt=st.sampled_from(LABEL_CORRUPTIONS))
def test_layer_losses(n, c, seed, dtype, name, scale, corrupt):
    x = _randn(seed, (n, c, 1) if corrupt == "x_3d" else (n, c), dtype, scale)
    y = _labels(seed, n, c, corrupt)
    result = _outcome(lambda: getattr(layers, name)(x, y), corrupt is not None)
    if result is not None:
        loss, dx = result
        # "both stay finite for any finite scores"
        assert np.isfinite(loss)
        _finite(dx, (n, c), dtype)


@covers(*(f"linear_model.{loss}_loss_{version}" for loss in ("svm", "softmax")
          for version in ("naive", "vectorized")))
@FAST
@given(n=dims, d=dims, c=dims, seed=seeds, dtype=st.sampled_from(FLOATS),
       name=st.sampled_from([f"{loss}_loss_{version}" for loss in ("svm", "softmax")
                             for version in ("naive", "vectorized")]),
       reg=st.sampled_from([0.0, 0.5, -1.0, np.inf]),
       corrupt=st.sampled_from(LABEL_CORRUPTIONS + ["w_rows"]))
def test_linear_losses(n, d, c, seed, dtype, name, reg, corrupt):
    W = _randn(seed, (d + (corrupt == "w_rows"), c), dtype, 1e-2)
    X = _randn(seed + 1, (n, d, 1) if corrupt == "x_3d" else (n, d), dtype)
    y = _labels(seed, n, c, corrupt)
    must_fail = corrupt is not None or reg < 0 or not np.isfinite(reg)
    result = _outcome(lambda: getattr(linear_model, name)(W, X, y, reg), must_fail)
    if result is not None:
        loss, dW = result
        assert np.isfinite(loss)
        _finite(dW, W.shape)


# ---- update rules --------------------------------------------------------------------

@covers(*(f"optim.{rule}" for rule in optim.UPDATE_RULES))
@FAST
@given(shape=st.lists(dims, min_size=1, max_size=3).map(tuple), seed=seeds,
       dtype=st.sampled_from(FLOATS), rule=st.sampled_from(optim.UPDATE_RULES),
       in_place=st.booleans(),
       setting=st.sampled_from([None, None, ("learning_rate", 0.0),
                                ("learning_rate", -1e-3), ("learning_rate", np.inf),
                                ("momentum", 1.0), ("decay_rate", 1.0), ("beta1", 1.0),
                                ("beta2", 2.0), ("epsilon", 0.0), ("dw", "shape"),
                                ("config", "list"), ("state", "shape")]))
def test_update_rules(shape, seed, dtype, rule, in_place, setting):
    w = _randn(seed, shape, dtype)
    dw = _randn(seed + 1, shape + (1,) if setting == ("dw", "shape") else shape, dtype)
    config = {}
    must_fail = setting is not None
    if setting == ("config", "list"):
        config = []
    elif setting == ("state", "shape"):
        state = {"sgd": None, "sgd_momentum": "velocity", "rmsprop": "cache",
                 "adam": "m"}[rule]
        must_fail = state is not None
        if state:
            config[state] = np.zeros(w.size + 1)
    elif setting is not None and setting[0] not in ("dw",):
        key, value = setting
        uses = {"sgd": {"learning_rate"}, "sgd_momentum": {"learning_rate", "momentum"},
                "rmsprop": {"learning_rate", "decay_rate", "epsilon"},
                "adam": {"learning_rate", "beta1", "beta2", "epsilon"}}[rule]
        # settings a rule does not read are left alone; a zero learning rate is valid
        must_fail = key in uses and (key, value) != ("learning_rate", 0.0)
        config[key] = value
    update = getattr(optim, rule)
    w_before = w.copy()
    result = _outcome(lambda: update(w, dw, config, **({"out": w} if in_place else {})),
                      must_fail)
    if result is None:
        return
    next_w, config_out = result
    _finite(next_w, shape, dtype)
    assert config_out is config
    if not in_place:
        np.testing.assert_array_equal(w, w_before)


# ---- convolution, pooling and spatial normalization ----------------------------------

def _conv_out(size, window, stride, pad):
    return 1 + (size + 2 * pad - window) // stride


def _tiles(size, window, stride, pad=0):
    """Whether windows of ``stride`` cover the padded size exactly: the layers refuse
    a window larger than the input or a stride that leaves a remainder (documented
    in docs/neural_network.md), so any other geometry is malformed input."""
    padded = size + 2 * pad
    return padded >= window and (padded - window) % stride == 0


@covers(*_both_ways("layers", "conv", variants=("_naive", "_fast")))
@FAST
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       f=st.integers(1, 3), hh=st.integers(1, 4), stride=st.integers(1, 3),
       pad=st.integers(0, 2), seed=seeds, dtype=st.sampled_from(FLOATS),
       variant=st.sampled_from(["naive", "fast"]),
       corrupt=st.sampled_from([None, None, None, "w_channels", "b_length", "x_3d",
                                "stride_0", "pad_negative", "dout"]))
def test_convolution_layers(n, c, h, w, f, hh, stride, pad, seed, dtype, variant, corrupt):
    forward = getattr(layers, f"conv_forward_{variant}")
    backward = getattr(layers, f"conv_backward_{variant}")
    x = _randn(seed, (n, c, h) if corrupt == "x_3d" else (n, c, h, w), dtype)
    weights = _randn(seed + 1, (f, c + (corrupt == "w_channels"), hh, hh), dtype)
    b = _randn(seed + 2, (f + (corrupt == "b_length"),), dtype)
    conv_param = {"stride": 0 if corrupt == "stride_0" else stride,
                  "pad": -1 if corrupt == "pad_negative" else pad}
    geometry_ok = _tiles(h, hh, stride, pad) and _tiles(w, hh, stride, pad)
    must_fail = corrupt not in (None, "dout") or not geometry_ok
    result = _outcome(lambda: forward(x, weights, b, conv_param), must_fail)
    if result is None:
        return
    out, cache = result
    shape = (n, f, _conv_out(h, hh, stride, pad), _conv_out(w, hh, stride, pad))
    _finite(out, shape)
    dout = _randn(seed + 3, shape[:3] + (shape[3] + (corrupt == "dout"),), dtype)
    grads = _outcome(lambda: backward(dout, cache), corrupt == "dout")
    if grads is not None:
        for grad, arg in zip(grads, (x, weights, b)):
            _finite(grad, arg.shape)


@covers(*_both_ways("layers", "max_pool", variants=("_naive", "_fast")))
@FAST
@given(n=st.integers(1, 3), c=st.integers(1, 3), h=st.integers(1, 7), w=st.integers(1, 7),
       ph=st.integers(1, 3), pw=st.integers(1, 3), stride=st.integers(1, 3), seed=seeds,
       dtype=st.sampled_from(FLOATS), variant=st.sampled_from(["naive", "fast"]),
       corrupt=st.sampled_from([None, None, "x_3d", "stride_0", "dout"]))
def test_pooling_layers(n, c, h, w, ph, pw, stride, seed, dtype, variant, corrupt):
    forward = getattr(layers, f"max_pool_forward_{variant}")
    backward = getattr(layers, f"max_pool_backward_{variant}")
    x = _randn(seed, (n, c, h) if corrupt == "x_3d" else (n, c, h, w), dtype)
    pool_param = {"pool_height": ph, "pool_width": pw,
                  "stride": 0 if corrupt == "stride_0" else stride}
    geometry_ok = _tiles(h, ph, stride) and _tiles(w, pw, stride)
    result = _outcome(lambda: forward(x, pool_param),
                      corrupt in ("x_3d", "stride_0") or not geometry_ok)
    if result is None:
        return
    out, cache = result
    shape = (n, c, _conv_out(h, ph, stride, 0), _conv_out(w, pw, stride, 0))
    _finite(out, shape, dtype)
    dout = _randn(seed + 1, shape[:3] + (shape[3] + (corrupt == "dout"),), dtype)
    dx = _outcome(lambda: backward(dout, cache), corrupt == "dout")
    if dx is not None:
        _finite(dx, x.shape)


@covers(*_both_ways("layers", "spatial_batchnorm", "spatial_groupnorm"))
@FAST
@given(n=st.integers(1, 3), c=st.integers(1, 6), h=st.integers(1, 4), w=st.integers(1, 4),
       groups=st.integers(1, 3), seed=seeds, dtype=st.sampled_from(FLOATS),
       kind=st.sampled_from(layer_utils.SPATIAL_NORMALIZATIONS),
       corrupt=st.sampled_from([None, None, "gamma_length", "x_2d", "dout"]))
def test_spatial_normalization_layers(n, c, h, w, groups, seed, dtype, kind, corrupt):
    forward = getattr(layers, f"spatial_{kind}_forward")
    backward = getattr(layers, f"spatial_{kind}_backward")
    x = _randn(seed, (n, c) if corrupt == "x_2d" else (n, c, h, w), dtype, scale=3)
    size = c + (corrupt == "gamma_length")
    gamma_shape = (size,) if kind == "batchnorm" else (1, size, 1, 1)
    gamma = _randn(seed + 1, gamma_shape, dtype)
    beta = _randn(seed + 2, gamma_shape, dtype)
    if kind == "batchnorm":
        call = lambda: forward(x, gamma, beta, {"mode": "train"})  # noqa: E731
        bad_groups = False
    else:
        call = lambda: forward(x, gamma, beta, groups, {})  # noqa: E731
        bad_groups = c % groups != 0
    must_fail = corrupt in ("gamma_length", "x_2d") or bad_groups
    result = _outcome(call, must_fail)
    if result is None:
        return
    out, cache = result
    _finite(out, (n, c, h, w), dtype)
    dout = _randn(seed + 3, (n, c, h, w + (corrupt == "dout")), dtype)
    grads = _outcome(lambda: backward(dout, cache), corrupt == "dout")
    if grads is not None:
        for grad, shape in zip(grads, [x.shape, gamma.shape, beta.shape]):
            _finite(grad, shape)


@covers(*_both_ways("layer_utils", "conv_relu", "conv_relu_pool", "conv_norm_relu",
                    "conv_norm_relu_pool"))
@FAST
@given(n=st.integers(1, 2), c=st.integers(1, 3), side=st.integers(2, 6),
       f=st.sampled_from([2, 4]), seed=seeds, dtype=st.sampled_from(FLOATS),
       norm=st.sampled_from([None, *layer_utils.SPATIAL_NORMALIZATIONS]),
       pool=st.booleans(),
       corrupt=st.sampled_from([None, None, "w_channels", "b_length", "gamma_length",
                                "dout"]))
def test_convolution_sandwiches(n, c, side, f, seed, dtype, norm, pool, corrupt):
    name = "conv_relu" if norm is None else "conv_norm_relu"
    name += "_pool" if pool else ""
    forward = getattr(layer_utils, f"{name}_forward")
    backward = getattr(layer_utils, f"{name}_backward")
    x = _randn(seed, (n, c, side, side), dtype)
    w = _randn(seed + 1, (f, c + (corrupt == "w_channels"), 3, 3), dtype)
    b = _randn(seed + 2, (f + (corrupt == "b_length"),), dtype)
    conv_param = {"stride": 1, "pad": 1}
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    args = [x, w, b]
    if norm is not None:
        size = f + (corrupt == "gamma_length")
        shape = (size,) if norm == "batchnorm" else (1, size, 1, 1)
        param = {"mode": "train"} if norm == "batchnorm" else {"G": 2}
        args += [_randn(seed + 3, shape, dtype), _randn(seed + 4, shape, dtype),
                 conv_param, param, norm]
    else:
        args.append(conv_param)
    if pool:
        args.append(pool_param)
    # a 2x2 pool of stride 2 leaves a remainder on an odd side, which is refused
    must_fail = corrupt in ("w_channels", "b_length") or (
        corrupt == "gamma_length" and norm is not None) or (pool and side % 2)
    result = _outcome(lambda: forward(*args), must_fail)
    if result is None:
        return
    out, cache = result
    out_side = side // 2 if pool else side
    _finite(out, (n, f, out_side, out_side))
    dout = _randn(seed + 5, (n, f, out_side, out_side + (corrupt == "dout")), dtype)
    grads = _outcome(lambda: backward(dout, cache), corrupt == "dout")
    if grads is not None:
        for grad, arg in zip(grads, args[:5]):
            _finite(grad, arg.shape)


def test_every_public_engine_function_has_a_property():
    """The covered names are exactly the public functions of the engine modules."""
    public = {f"{module.__name__.rsplit('.', 1)[-1]}.{name}"
              for module in ENGINE_MODULES for name in _public_functions(module)}
    assert sorted(public - set(COVERED)) == [], "public functions without a property test"
    assert sorted(set(COVERED) - public) == [], (
        "property tests cover names that are not public (renamed or removed?)")


# ---- estimators ----------------------------------------------------------------------

def _estimators():
    return [getattr(skdeep, name) for name in skdeep.__all__
            if isinstance(getattr(skdeep, name), type)
            and issubclass(getattr(skdeep, name), BaseEstimator)]


def _quick(estimator, image_shape):
    """Few iterations, and the image shape for estimators that take images."""
    params = estimator.get_params()
    quick = {"num_epochs": 2, "num_iters": 20, "verbose": 0, "random_state": 0,
             "image_shape": image_shape}
    if "num_iters" in params:
        # the linear classifiers see raw pixel values up to 255, which the CS231n
        # notebooks train with a learning rate of 1e-7; the default would diverge
        quick["learning_rate"] = 1e-7
    return estimator.set_params(**{k: v for k, v in quick.items() if k in params})


# Classifiers that fit labels of a single class (and predict it), as scikit-learn's
# KNeighborsClassifier does; the others learn a boundary between classes and refuse
# one class, as scikit-learn's SGDClassifier does.  A new classifier refuses it
# unless it is listed here.
FITS_ONE_CLASS = {"KNNClassifier"}


def _bad_target(estimator, labels, y):
    """Whether ``fit(X, y)`` must refuse the labels."""
    if y is None:
        return False
    # scikit-learn's type_of_target calls floats "continuous"
    if labels == "floats":
        return True
    if y.dtype == object and not all(isinstance(label, str) for label in y):
        # type_of_target calls an object array holding numbers "unknown", and labels
        # mixing strings and numbers cannot be sorted
        return True
    return (len(np.unique(y)) < 2
            and type(estimator).__name__ not in FITS_ONE_CLASS)


LABEL_SETS = {
    "ints": lambda rng, n: rng.randint(0, 3, size=n),
    "negative ints": lambda rng, n: rng.randint(-2, 1, size=n),
    "strings": lambda rng, n: np.array(["cat", "dog", "ship"])[rng.randint(0, 3, size=n)],
    "one class": lambda rng, n: np.zeros(n, dtype=int),
    "mixed str and int": lambda rng, n: np.array(["a", 1, "b"], dtype=object)[
        rng.randint(0, 3, size=n)],
    "floats": lambda rng, n: rng.rand(n),
}


@pytest.mark.parametrize("cls", _estimators(), ids=lambda cls: cls.__name__)
@settings(max_examples=6, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors])
@given(n=st.integers(1, 12), side=st.sampled_from([8, 16]), channels=st.sampled_from([1, 3]),
       seed=seeds, dtype=st.sampled_from(FLOATS + [np.uint8, np.int64]),
       labels=st.sampled_from(sorted(LABEL_SETS)))
def test_estimators(cls, n, side, channels, seed, dtype, labels):
    rng = np.random.RandomState(seed)
    image_shape = (side, side, channels)
    X = (rng.rand(n, side * side * channels) * 255).astype(dtype)
    y = LABEL_SETS[labels](rng, n)
    estimator = _quick(cls(), image_shape)
    if not is_classifier(estimator):
        y = None
    fitted = _outcome(lambda: estimator.fit(X, y), _bad_target(estimator, labels, y))
    if fitted is None:
        return
    X_new = (rng.rand(3, X.shape[1]) * 255).astype(dtype)
    if is_classifier(fitted):
        classes = np.asarray(fitted.classes_)
        # more neighbours asked for than there are training samples: refused, as
        # scikit-learn's KNeighborsClassifier refuses it
        too_few = n < getattr(fitted, "n_neighbors", 1)
        pred = _outcome(lambda: np.asarray(fitted.predict(X_new)), too_few)
        if pred is not None:
            # the labels were a valid target: predictions are among them
            assert pred.shape == (3,)
            assert set(pred.tolist()) <= set(classes.tolist())
        if hasattr(fitted, "predict_proba"):
            proba = _outcome(lambda: fitted.predict_proba(X_new), too_few)
            if proba is not None:
                _finite(proba, (3, len(classes)))
                np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-6)
        if hasattr(fitted, "decision_function"):
            scores = _outcome(lambda: fitted.decision_function(X_new), too_few)
            if scores is not None:
                _finite(scores, (3,) if len(classes) == 2 else (3, len(classes)))
    else:
        Xt = _outcome(lambda: fitted.transform(X_new), must_fail=False)
        if Xt is not None:
            assert Xt.shape[0] == 3 and Xt.ndim == 2
            assert np.all(np.isfinite(Xt))
    # the wrong number of features at prediction time: a clear error
    method = fitted.predict if is_classifier(fitted) else fitted.transform
    _outcome(lambda: method(X_new[:, :-1]), must_fail=True)
