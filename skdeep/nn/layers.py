"""Layers: forward and backward passes.

Every forward function returns ``(out, cache)``; every backward function takes
``(dout, cache)`` and returns the gradients in the order of the forward inputs.
Arrays are channels-first, ``(N, C, H, W)``; affine layers flatten every input to
``(N, D)``.  Settings travel in plain dicts (``dropout_param``, ``bn_param``,
``ln_param``, ``gn_param``, ``conv_param``, ``pool_param``), as in the CS231n
assignments.

Functions keep the floating dtype of their inputs, so float32 networks compute in
float32 throughout and float64 gradient checks stay float64.  Where a layer picks
the dtype it computes in (the compiled convolution, pooling and fused batchnorm,
dropout's mask), it follows :func:`skdeep.utils._dtypes.float_dtype`, as the
update rules of :mod:`skdeep.nn.optim` do: other inputs compute in float64.
"""
import math

import numpy as np
from scipy.special import erfc

from .._kernels import _activations as _act_kernel
from .._kernels import _conv as _conv_kernel
# the score losses live in skdeep._loss, which the linear models share without
# loading this module; they are public here
from .._loss import softmax_loss, svm_loss
from ..utils._dtypes import float_dtype
from ..utils._matmul import matmul, matmuls, run_blocks
from ..utils._threads import kernel_threads
from ._checks import (
    check_array,
    check_cache,
    check_dict,
    check_int,
    check_mode,
    check_number,
    check_shape,
)
from ._arena import FRESH
from ._random import as_rng

__all__ = [
    "affine_forward", "affine_backward",
    "relu_forward", "relu_backward",
    "gelu_forward", "gelu_backward",
    "dropout_forward", "dropout_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward",
    "softmax_loss", "svm_loss",
    "conv_forward_naive", "conv_backward_naive",
    "conv_forward_fast", "conv_backward_fast",
    "max_pool_forward_naive", "max_pool_backward_naive",
    "max_pool_forward_fast", "max_pool_backward_fast",
    "spatial_batchnorm_forward", "spatial_batchnorm_backward",
    "spatial_groupnorm_forward", "spatial_groupnorm_backward",
]


def _check_affine_inputs(x, w, b):
    x = check_array(x, "x", min_ndim=2, shape_doc="(N, d_1, ..., d_k)")
    w = check_array(w, "w", ndim=2, floating=True, shape_doc="(D, M)")
    b = check_array(b, "b", floating=True)
    n_values = math.prod(x.shape[1:])
    check_shape(w, "w", (n_values, None),
                f"to match the D={n_values} values of each row of x")
    check_shape(b, "b", (w.shape[1],), "to match the M columns of w")
    return x, w, b


def affine_forward(x, w, b):
    """Fully connected layer: ``x.reshape(N, D) @ w + b``.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k)
        Inputs; each is flattened to a row of ``D = d_1 * ... * d_k`` values.
    w : ndarray of shape (D, M)
        Weights.
    b : ndarray of shape (M,)
        Biases.

    Returns
    -------
    out : ndarray of shape (N, M)
        Output of the layer.  A large product runs on every core
        (:func:`skdeep.utils._matmul.matmul`), with the same bits on any number
        of threads when BLAS is held at one thread, as training and prediction
        hold it.
    cache : tuple
        ``(x, w, b)`` for :func:`affine_backward`.

    Raises
    ------
    ValueError
        When ``w`` does not have ``D`` rows or ``b`` does not have ``M`` entries.
    TypeError
        When an argument does not hold numbers (floats for ``w`` and ``b``).
    """
    x, w, b = _check_affine_inputs(x, w, b)
    return _affine_forward(x, w, b, FRESH)


def _affine_forward(x, w, b, buffers):
    """:func:`affine_forward` of checked inputs, its output in ``buffers``: the
    one implementation, shared by the layer function and the models' step plans
    (:mod:`skdeep.nn._arena`)."""
    x2 = x.reshape(x.shape[0], -1)
    out = buffers.empty("out", (x2.shape[0], w.shape[1]), np.result_type(x2, w))
    matmul(x2, w, out=out)
    out += b
    return out, (x, w, b)


def affine_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`affine_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`affine_forward`.
    compute_dx : bool, default=True
        Whether to compute ``dx``.  A network's first layer does not need the
        gradient with respect to its input, and skipping it saves a third of that
        layer's work; ``dx`` is then None.

    Returns
    -------
    dx : ndarray of the shape of ``x``, or None
        Gradient with respect to ``x``.
    dw : ndarray of shape (D, M)
        Gradient with respect to ``w``.
    db : ndarray of shape (M,)
        Gradient with respect to ``b``.
    """
    check_cache(cache, 3, "affine_forward", types=(np.ndarray,) * 3)
    x, w, b = cache
    dout = check_array(dout, "dout")
    check_shape(dout, "dout", (x.shape[0], w.shape[1]),
                "(the shape of the output of affine_forward)")
    return _affine_backward(dout, cache, compute_dx, FRESH, FRESH)


def _affine_backward(dout, cache, compute_dx, buffers, grad_buffers):
    """:func:`affine_backward` of a checked cache: ``dx`` in ``buffers``, ``dw``
    and ``db`` in ``grad_buffers`` (see :func:`_affine_forward`)."""
    x, w, _ = cache
    x2 = x.reshape(x.shape[0], -1)
    dw = grad_buffers.empty("dw", w.shape, np.result_type(x2, dout))
    # the two products in one hand-off to the threads
    if compute_dx:
        dx = buffers.empty("dx", (x2.shape[0], w.shape[0]), np.result_type(dout, w))
        matmuls([(x2.T, dout), (dout, w.T)], outs=[dw, dx])
        dx = dx.reshape(x.shape)
    else:
        matmul(x2.T, dout, out=dw)
        dx = None
    if grad_buffers is FRESH:
        db = dout.sum(axis=0)
    else:  # the dtype dout.sum gives a float dout
        db = np.sum(dout, axis=0, out=grad_buffers.empty("db", dout.shape[1:], dout.dtype))
    return dx, dw, db


def relu_forward(x):
    """Rectified linear unit, ``max(x, 0)`` elementwise.

    Parameters
    ----------
    x : ndarray
        Inputs of any shape.

    Returns
    -------
    out : ndarray of the shape of ``x``
        Output of the layer.
    cache : ndarray
        The output, whose positive entries mark where gradient flows.
    """
    x = check_array(x, "x")
    if _relu_kernel_takes(x):
        out = np.empty_like(x)
        with kernel_threads():
            _act_kernel.relu(x.reshape(-1), out.reshape(-1))
        return out, out
    out = np.maximum(x, 0)
    return out, out


def _relu_kernel_takes(*arrays):
    """Whether the compiled ReLU kernels take ``arrays``: C-contiguous, of one
    dtype, float32 or float64 (others go through NumPy, keeping their dtype)."""
    dtype = arrays[0].dtype
    return dtype in (np.float32, np.float64) and all(
        a.dtype == dtype and a.flags.c_contiguous for a in arrays)


def _relu_in_place(a):
    """relu_forward of an array the caller owns, written over it: the result and
    cache of :func:`relu_forward` without allocating another map."""
    if _relu_kernel_takes(a):
        with kernel_threads():
            _act_kernel.relu(a.reshape(-1), a.reshape(-1))
    else:
        np.maximum(a, 0, out=a)
    return a


def relu_backward(dout, cache):
    """Backward pass of :func:`relu_forward`.

    Parameters
    ----------
    dout : ndarray
        Upstream gradient, of the shape of the layer's input.
    cache : ndarray
        The cache returned by :func:`relu_forward`.

    Returns
    -------
    dx : ndarray of the shape of ``dout``
        Gradient with respect to ``x``.
    """
    if not isinstance(cache, np.ndarray):
        raise ValueError("cache must be the array returned by relu_forward, got "
                         f"{type(cache).__name__}.")
    dout = check_array(dout, "dout")
    check_shape(dout, "dout", cache.shape, "(the shape of the input of relu_forward)")
    # out > 0 exactly where x > 0, so caching the output is enough; the kernel
    # multiplies by the mask in one pass, with no boolean temporary
    return _relu_backward(dout, cache)


def _relu_backward(dout, cache, dx=None):
    """:func:`relu_backward` of checked arguments, written into ``dx`` when given
    (which may be ``dout``: each value depends on its own position only)."""
    if _relu_kernel_takes(dout, cache) and (dx is None or _relu_kernel_takes(dout, dx)):
        if dx is None:
            dx = np.empty_like(dout)
        with kernel_threads():
            _act_kernel.relu_backward(dout.reshape(-1), cache.reshape(-1), dx.reshape(-1))
        return dx
    return dout * (cache > 0)


_SQRT_HALF = math.sqrt(0.5)
_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)
_DENSITY_CLIP = 40.0


def gelu_forward(x):
    """Gaussian error linear unit, ``x * Phi(x)`` elementwise (the exact GELU).

    ``Phi`` is the standard normal CDF, computed as ``erfc(-x / sqrt(2)) / 2``:
    the complementary error function keeps ``Phi`` accurate to its last digit far
    into the negative tail, where ``(1 + erf(x / sqrt(2))) / 2`` loses it to
    cancellation.  This is PyTorch's default GELU, not its tanh approximation.

    Parameters
    ----------
    x : ndarray
        Inputs of any shape; float32 stays float32, other real dtypes compute in
        float64.

    Returns
    -------
    out : ndarray of the shape of ``x``
        Output of the layer.
    cache : tuple
        ``(x, cdf)``: the input and ``Phi(x)``, both in the computing dtype, for
        :func:`gelu_backward`.

    Raises
    ------
    TypeError
        When ``x`` does not hold real numbers.
    """
    x = check_array(x, "x")
    x = x.astype(float_dtype(x), copy=False)
    cdf = erfc(x * -_SQRT_HALF)
    cdf *= 0.5
    return x * cdf, (x, cdf)


def gelu_backward(dout, cache):
    """Backward pass of :func:`gelu_forward`.

    Parameters
    ----------
    dout : ndarray
        Upstream gradient, of the shape of the layer's input.
    cache : tuple
        The cache ``(x, cdf)`` returned by :func:`gelu_forward`.

    Returns
    -------
    dx : ndarray of the shape of ``dout``
        Gradient with respect to ``x``: ``dout * (Phi(x) + x * phi(x))``, with
        ``phi`` the standard normal density.

    Raises
    ------
    ValueError
        When ``cache`` is not the tuple of :func:`gelu_forward` or ``dout`` does
        not have the shape of its input.
    """
    check_cache(cache, 2, "gelu_forward", types=(np.ndarray, np.ndarray))
    x, cdf = cache
    dout = check_array(dout, "dout")
    check_shape(dout, "dout", x.shape, "(the shape of the input of gelu_forward)")
    # x * phi(x) is below the smallest float64 beyond |x| = 40: clipping there
    # changes nothing and keeps x**2 from overflowing
    tail = np.clip(x, -_DENSITY_CLIP, _DENSITY_CLIP)
    dx = np.square(tail)
    dx *= -0.5
    np.exp(dx, out=dx)
    dx *= tail
    dx *= _INV_SQRT_2PI
    dx += cdf
    dx *= dout
    return dx


def _uniform(shape, dtype, dropout_param, buffers=FRESH):
    """Uniform [0, 1) draws for a dropout mask, from the source the param names
    (a Generator's in ``buffers``' "uniform")."""
    seed = dropout_param.get("seed")
    if seed is not None:
        # a private RandomState: the same mask on every call, global state untouched
        rng = as_rng(seed, "dropout_param['seed']")
    else:
        rng = as_rng(dropout_param.get("rng"), "dropout_param['rng']")
    if isinstance(rng, np.random.Generator):
        # float32 draws halve the random bits drawn and are plenty for a
        # comparison with p
        return rng.random(dtype=dtype, out=buffers.empty("uniform", shape, dtype))
    return rng.random_sample(shape)


def dropout_forward(x, dropout_param):
    """Inverted dropout.

    In train mode each unit is kept with probability ``p`` and kept units are
    divided by ``p``, so the expected output equals the input; test mode is the
    identity.

    Parameters
    ----------
    x : ndarray
        Inputs of any shape.
    dropout_param : dict
        - ``mode``: ``'train'`` or ``'test'``.
        - ``p``: probability of keeping a unit, in (0, 1].
        - ``seed`` (optional): when not None, the mask is the one
          ``np.random.RandomState(seed).rand(*x.shape) < p`` gives, on every call,
          without touching NumPy's global random state (for gradient checks).
        - ``rng`` (optional, skdeep extension): a ``numpy.random.Generator`` or
          ``RandomState`` to draw masks from when there is no seed.  Without either,
          masks come from NumPy's global random state, as in CS231n.

    Returns
    -------
    out : ndarray of the shape of ``x``
        Output of the layer.
    cache : tuple
        ``(dropout_param, mask)``; in train mode ``mask`` holds ``1 / p`` for kept
        units and 0 for dropped ones, in test mode it is None.
    """
    x = check_array(x, "x")
    mode = check_mode(dropout_param, "dropout_param")
    check_dict(dropout_param, "dropout_param", required=("p",))
    p = dropout_param["p"]
    # p is the probability of keeping a unit (CS231n's convention, not PyTorch's)
    check_number(p, "dropout_param['p']", low=0, high=1, low_open=True)
    dtype = float_dtype(x)
    if mode == "train":
        return _dropout_train_forward(x.astype(dtype, copy=False), dropout_param, p,
                                      FRESH)
    return x, (dropout_param, None)


def _dropout_train_forward(x, dropout_param, p, buffers):
    """:func:`dropout_forward` in train mode of a checked floating ``x``, its
    mask and output in ``buffers``."""
    keep = np.less(_uniform(x.shape, x.dtype, dropout_param, buffers), p,
                   out=buffers.empty("keep", x.shape, bool))
    mask = buffers.empty("mask", x.shape, x.dtype)
    np.copyto(mask, keep)
    mask /= p
    out = np.multiply(x, mask, out=buffers.like("out", x, x.dtype))
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    """Backward pass of :func:`dropout_forward`.

    Parameters
    ----------
    dout : ndarray
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`dropout_forward`.

    Returns
    -------
    dx : ndarray of the shape of ``dout``
        Gradient with respect to ``x``; ``dout`` itself when the forward pass ran
        in test mode (the identity).
    """
    check_cache(cache, 2, "dropout_forward", types=(dict, (np.ndarray, type(None))))
    dout = check_array(dout, "dout")
    _, mask = cache
    # the mask, not the dict's mode, says what the forward pass did: the dict is
    # shared and its mode may have been switched since
    if mask is None:
        return dout
    check_shape(dout, "dout", mask.shape, "(the shape of the input of dropout_forward)")
    return dout * mask


# Batch and layer normalization are one computation over different axes: batchnorm
# normalizes each feature over the batch (axis 0), layernorm each sample over its
# features (axis 1), and the spatial variants over (N, H, W) or channel groups.  The
# helpers below are that one implementation; gamma and beta always broadcast against
# x and their gradients are summed over the axes gamma is broadcast along.

def _normalize_forward(x, gamma, beta, eps, axis, buffers=FRESH):
    """Normalize ``x`` over ``axis`` with its own statistics, then scale and shift;
    the maps of the size of ``x`` in ``buffers``."""
    mean = x.mean(axis=axis, keepdims=True)
    xhat = np.subtract(x, mean, out=buffers.like("xhat", x, np.result_type(x, mean)))
    squares = np.square(xhat, out=buffers.like("squares", xhat, xhat.dtype))
    var = np.mean(squares, axis=axis, keepdims=True)  # biased
    inv_std = 1 / np.sqrt(var + eps)
    xhat *= inv_std
    out = np.multiply(xhat, gamma, out=buffers.like("out", xhat, np.result_type(xhat, gamma)))
    out += beta
    cache = (x, xhat, mean, var, inv_std, gamma, eps, axis)
    return out, cache


# what _normalize_forward caches: (x, xhat, mean, var, inv_std, gamma, eps, axis)
_NORM_CACHE_TYPES = (np.ndarray,) * 6 + (float, (int, tuple))


def _param_grad_axes(dout, gamma):
    """Axes along which gamma (and beta) were broadcast against the output."""
    g = np.reshape(gamma, (1,) * (dout.ndim - np.ndim(gamma)) + np.shape(gamma))
    return tuple(i for i in range(dout.ndim) if g.shape[i] == 1 and dout.shape[i] != 1)


def _normalize_backward(dout, cache, buffers=FRESH):
    """Closed-form gradient of :func:`_normalize_forward`.

    With ``g = dout * gamma`` and ``M`` values per statistic,
    ``dx = inv_std * (g - mean(g) - xhat * mean(g * xhat))``, means over the
    normalized axes.  The maps of the size of ``dout`` are in ``buffers``
    ("dx", and "product" for the temporaries); dgamma and dbeta are fresh.
    """
    x, xhat, mean, var, inv_std, gamma, eps, axis = cache
    param_axes = _param_grad_axes(dout, gamma)
    dbeta = dout.sum(axis=param_axes).reshape(np.shape(gamma))
    product = buffers.like("product", dout, np.result_type(dout, xhat))
    dgamma = np.multiply(dout, xhat, out=product).sum(axis=param_axes).reshape(
        np.shape(gamma))
    if param_axes == tuple(np.atleast_1d(axis)):
        # gamma is constant over each statistic's values (batchnorm): the two means
        # are dbeta and dgamma over M, scaled by gamma, and need no pass of their own
        m = x.size // np.size(inv_std)
        dbeta_m = dbeta / m
        dx = np.subtract(dout, dbeta_m, out=buffers.like(
            "dx", dout, np.result_type(dout, dbeta_m)))
        dgamma_m = dgamma / m
        dx -= np.multiply(xhat, dgamma_m, out=buffers.like(
            "product", dout, np.result_type(xhat, dgamma_m)))
        dx *= gamma * inv_std
        return dx, dgamma, dbeta
    g = np.multiply(dout, gamma, out=buffers.like("dx", dout, np.result_type(dout, gamma)))
    # the product buffer again when the dtypes agree: dgamma is summed already
    product = buffers.like("product", dout, np.result_type(g, xhat))
    gx_mean = np.multiply(g, xhat, out=product).mean(axis=axis, keepdims=True)
    g_mean = g.mean(axis=axis, keepdims=True)
    g -= g_mean
    g -= np.multiply(xhat, gx_mean, out=product)
    g *= inv_std
    return g, dgamma, dbeta


def _running_stat(bn_param, key, n_features, dtype):
    value = bn_param.get(key)
    if value is None:
        return np.zeros(n_features, dtype=dtype)
    value = check_array(value, f"bn_param[{key!r}]")
    check_shape(value, f"bn_param[{key!r}]", (n_features,),
                "to match the D columns of x")
    return value


def _check_eps(param, param_name):
    """The settings dict of a normalization, checked, and its ``eps`` (default 1e-5)."""
    check_dict(param, param_name)
    return check_number(param.get("eps", 1e-5), f"{param_name}['eps']", low=0,
                        low_open=True)


def _check_norm_inputs(x, gamma, beta, param, param_name):
    """Entry checks shared by batchnorm_forward and layernorm_forward."""
    x = check_array(x, "x", ndim=2, shape_doc="(N, D)")
    eps = _check_eps(param, param_name)
    for name, value in (("gamma", gamma), ("beta", beta)):
        value = check_array(value, name, floating=True)
        check_shape(value, name, (x.shape[1],), "to match the D columns of x")
    return x, np.asarray(gamma), np.asarray(beta), eps


def _check_norm_backward(dout, cache, producer):
    """Entry checks of the batchnorm and layernorm backward passes."""
    check_cache(cache, 8, producer, types=_NORM_CACHE_TYPES)
    dout = check_array(dout, "dout")
    check_shape(dout, "dout", cache[1].shape, f"(the shape of the output of {producer})")
    return dout


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of each feature over the batch, then ``gamma * xhat + beta``.

    In train mode the batch mean and biased variance normalize ``x`` and update the
    running statistics in ``bn_param`` as
    ``running = momentum * running + (1 - momentum) * batch_statistic``; in test mode
    the running statistics normalize ``x``.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Input of the layer.
    gamma : ndarray of shape (D,)
        Scale.
    beta : ndarray of shape (D,)
        Shift.
    bn_param : dict
        - ``mode``: ``'train'`` or ``'test'``.
        - ``eps``: added to the variance, default 1e-5.
        - ``momentum``: of the running averages, default 0.9.
        - ``running_mean``, ``running_var``: arrays of shape (D,), created as zeros
          on first use and replaced in the dict by their updated values.

    Returns
    -------
    out : ndarray of shape (N, D)
        Output of the layer.
    cache : tuple
        For :func:`batchnorm_backward` and :func:`batchnorm_backward_alt`; None in
        test mode.
    """
    x, gamma, beta, eps = _check_norm_inputs(x, gamma, beta, bn_param, "bn_param")
    return _batchnorm(x, gamma, beta, bn_param, eps, axis=0)


def _batchnorm_state(bn_param, n_features, dtype, n_rows):
    """Mode, momentum and running statistics of a batchnorm, checked; a batch
    of ``n_rows`` samples (the first axis of x) must have one in train mode."""
    mode = check_mode(bn_param, "bn_param")
    if mode == "train" and n_rows == 0:
        raise ValueError("x has no rows: batch statistics need at least one sample.")
    momentum = check_number(bn_param.get("momentum", 0.9), "bn_param['momentum']",
                            low=0, high=1)
    running_mean = _running_stat(bn_param, "running_mean", n_features, dtype)
    running_var = _running_stat(bn_param, "running_var", n_features, dtype)
    return mode, momentum, running_mean, running_var


def _update_running_stats(bn_param, mode, momentum, running_mean, running_var, mean,
                          var):
    """Store the running statistics, moved towards the batch's in train mode."""
    if mode == "train":
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var


def _batchnorm(x, gamma, beta, bn_param, eps, axis, buffers=FRESH):
    """Batch normalization over `axis` of x, gamma and beta shaped to broadcast
    against it; the running statistics in `bn_param` are flat, one per feature.
    In train mode the maps of the size of x are in `buffers`."""
    mode, momentum, running_mean, running_var = _batchnorm_state(
        bn_param, np.size(gamma), x.dtype, x.shape[0])
    if mode == "train":
        out, cache = _normalize_forward(x, gamma, beta, eps, axis=axis, buffers=buffers)
        mean, var = cache[2].ravel(), cache[3].ravel()
    else:
        scale = gamma / np.sqrt(running_var + eps).reshape(np.shape(gamma))
        out = (x - running_mean.reshape(np.shape(gamma))) * scale
        out += beta
        cache = mean = var = None
    _update_running_stats(bn_param, mode, momentum, running_mean, running_var, mean, var)
    return out, cache


def batchnorm_backward(dout, cache):
    """Backward pass of :func:`batchnorm_forward`, stage by stage.

    Walks the computational graph of the forward pass (centre, square, average,
    square root, invert, scale) one node at a time.  It is the readable reference;
    :func:`batchnorm_backward_alt` gives the same result faster.

    Parameters
    ----------
    dout : ndarray of shape (N, D)
        Upstream gradient.
    cache : tuple
        The cache of :func:`batchnorm_forward` in train mode.

    Returns
    -------
    dx : ndarray of shape (N, D)
        Gradient with respect to ``x``.
    dgamma : ndarray of shape (D,)
        Gradient with respect to ``gamma``.
    dbeta : ndarray of shape (D,)
        Gradient with respect to ``beta``.

    Raises
    ------
    ValueError
        When ``cache`` is None because the forward pass ran in test mode, or
        ``dout`` does not have the shape of the forward output.
    """
    dout = _check_norm_backward(dout, cache, "batchnorm_forward")
    x, xhat, mean, var, inv_std, gamma, eps, _ = cache
    n = x.shape[0]
    xmu = x - mean
    std = np.sqrt(var + eps)
    dbeta = dout.sum(axis=0)
    dgamma = (dout * xhat).sum(axis=0)
    dxhat = dout * gamma
    dinv_std = (dxhat * xmu).sum(axis=0, keepdims=True)
    dxmu = dxhat * inv_std
    dstd = -dinv_std / std**2
    dvar = 0.5 / std * dstd
    dsquares = np.ones_like(x) * dvar / n
    dxmu += 2 * xmu * dsquares
    dmean = -dxmu.sum(axis=0, keepdims=True)
    dx = dxmu + np.ones_like(x) * dmean / n
    return dx, dgamma, dbeta


def batchnorm_backward_alt(dout, cache):
    """Backward pass of :func:`batchnorm_forward` in simplified closed form.

    ``dx = gamma / (N * std) * (N * dout - sum(dout) - xhat * sum(dout * xhat))``,
    sums over the batch: a few passes over the data instead of a dozen.  Networks
    use this one.

    Parameters
    ----------
    dout : ndarray of shape (N, D)
        Upstream gradient.
    cache : tuple
        The cache of :func:`batchnorm_forward` in train mode.

    Returns
    -------
    dx : ndarray of shape (N, D)
        Gradient with respect to ``x``.
    dgamma : ndarray of shape (D,)
        Gradient with respect to ``gamma``.
    dbeta : ndarray of shape (D,)
        Gradient with respect to ``beta``.

    Raises
    ------
    ValueError
        When ``cache`` is None because the forward pass ran in test mode, or
        ``dout`` does not have the shape of the forward output.
    """
    dout = _check_norm_backward(dout, cache, "batchnorm_forward")
    return _normalize_backward(dout, cache)


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization of each sample over its features, then ``gamma * xhat + beta``.

    The statistics are per sample, so train and test behave identically and there
    are no running averages.

    Parameters
    ----------
    x : ndarray of shape (N, D)
        Input of the layer.
    gamma : ndarray of shape (D,)
        Scale.
    beta : ndarray of shape (D,)
        Shift.
    ln_param : dict
        ``eps``, added to the variance, default 1e-5; other keys (such as
        ``mode``) are ignored.

    Returns
    -------
    out : ndarray of shape (N, D)
        Output of the layer.
    cache : tuple
        For :func:`layernorm_backward`.
    """
    x, gamma, beta, eps = _check_norm_inputs(x, gamma, beta, ln_param, "ln_param")
    return _normalize_forward(x, gamma, beta, eps, axis=1)


def layernorm_backward(dout, cache):
    """Backward pass of :func:`layernorm_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, D)
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`layernorm_forward`.

    Returns
    -------
    dx : ndarray of shape (N, D)
        Gradient with respect to ``x``.
    dgamma : ndarray of shape (D,)
        Gradient with respect to ``gamma``.
    dbeta : ndarray of shape (D,)
        Gradient with respect to ``beta``.
    """
    dout = _check_norm_backward(dout, cache, "layernorm_forward")
    return _normalize_backward(dout, cache)


# Convolution and pooling.  The naive functions are plain loops over every output
# position: the reference the fast ones are tested against.  The fast ones lower the
# convolution to matrix products (im2col), done by NumPy's BLAS.

def _check_int_param(params, params_name, key, low):
    check_dict(params, params_name, required=(key,))
    return check_int(params[key], f"{params_name}[{key!r}]", low=low)


def _output_size(size, window, stride, dim, window_name):
    """Number of window positions along one dimension, or a clear error."""
    if window > size:
        raise ValueError(
            f"The {window_name} {dim} ({window}) is larger than the "
            f"{'padded ' if window_name == 'filter' else ''}input {dim} ({size})."
        )
    if (size - window) % stride:
        raise ValueError(
            f"The stride {stride} does not tile the {dim}: ({size} - {window}) is not "
            f"a multiple of it."
        )
    return 1 + (size - window) // stride


def _conv_geometry(x, w, b, conv_param):
    """Check the arguments of a convolution; return ``(stride, pad, H_out, W_out)``."""
    check_array(x, "x", ndim=4, shape_doc="(N, C, H, W)")
    check_array(w, "w", ndim=4, shape_doc="(F, C, HH, WW)")
    if x.shape[1] != w.shape[1]:
        raise ValueError(
            f"x has {x.shape[1]} channels but w has filters over {w.shape[1]} channels."
        )
    check_shape(check_array(b, "b"), "b", (w.shape[0],), "(one bias per filter)")
    stride = _check_int_param(conv_param, "conv_param", "stride", 1)
    pad = _check_int_param(conv_param, "conv_param", "pad", 0)
    H, W = x.shape[2:]
    HH, WW = w.shape[2:]
    H_out = _output_size(H + 2 * pad, HH, stride, "height", "filter")
    W_out = _output_size(W + 2 * pad, WW, stride, "width", "filter")
    return stride, pad, H_out, W_out


def _pool_geometry(x, pool_param):
    """Check the arguments of a pooling; return ``(HH, WW, stride, H_out, W_out)``."""
    check_array(x, "x", ndim=4, shape_doc="(N, C, H, W)")
    HH = _check_int_param(pool_param, "pool_param", "pool_height", 1)
    WW = _check_int_param(pool_param, "pool_param", "pool_width", 1)
    stride = _check_int_param(pool_param, "pool_param", "stride", 1)
    H_out = _output_size(x.shape[2], HH, stride, "height", "pool window")
    W_out = _output_size(x.shape[3], WW, stride, "width", "pool window")
    return HH, WW, stride, H_out, W_out


# (x, w, b, conv_param), the cache of both convolutions
_CONV_CACHE_TYPES = (np.ndarray, np.ndarray, None, dict)


def _check_dout(dout, shape):
    check_shape(check_array(dout, "dout"), "dout", shape, "(the shape of the layer's output)")


def conv_forward_naive(x, w, b, conv_param):
    """Convolutional layer (cross-correlation), as plain loops.

    The reference implementation: one dot product per output value.  Use
    :func:`conv_forward_fast` in networks; it gives the same result.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input images.
    w : ndarray of shape (F, C, HH, WW)
        Filters.
    b : ndarray of shape (F,)
        Biases.
    conv_param : dict
        - ``stride``: step between window positions, an int >= 1, in both
          directions.
        - ``pad``: number of zeros added on every side of the input, an int >= 0.

    Returns
    -------
    out : ndarray of shape (N, F, H_out, W_out)
        ``H_out = 1 + (H + 2 * pad - HH) // stride``, likewise ``W_out``.
    cache : tuple
        ``(x, w, b, conv_param)`` for :func:`conv_backward_naive`.

    Raises
    ------
    ValueError
        When x or w is not 4-D, their channel counts differ, b is not one value per
        filter, the filter is larger than the padded input, the stride does not
        tile the padded height or width, or ``conv_param`` lacks a valid ``stride``
        or ``pad``.
    """
    stride, pad, H_out, W_out = _conv_geometry(x, w, b, conv_param)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((N, F, H_out, W_out), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride:i * stride + HH,
                                   j * stride:j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    """Backward pass of :func:`conv_forward_naive`, as plain loops.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
        Upstream gradient.
    cache : tuple
        ``(x, w, b, conv_param)``, as returned by :func:`conv_forward_naive`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    """
    check_cache(cache, 4, "conv_forward_naive", types=_CONV_CACHE_TYPES)
    x, w, b, conv_param = cache
    stride, pad, H_out, W_out = _conv_geometry(x, w, b, conv_param)
    N, F = x.shape[0], w.shape[0]
    _check_dout(dout, (N, F, H_out, W_out))
    HH, WW = w.shape[2:]
    H, W = x.shape[2:]
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    dx_pad = np.zeros_like(x_pad, dtype=np.result_type(x, dout))
    dw = np.zeros_like(w, dtype=np.result_type(w, dout))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    rows = slice(i * stride, i * stride + HH)
                    cols = slice(j * stride, j * stride + WW)
                    dw[f] += x_pad[n, :, rows, cols] * dout[n, f, i, j]
                    dx_pad[n, :, rows, cols] += w[f] * dout[n, f, i, j]
    db = dout.sum(axis=(0, 2, 3))
    dx = dx_pad[:, :, pad:pad + H, pad:pad + W].copy()
    return dx, dw, db


def max_pool_forward_naive(x, pool_param):
    """Max pooling, as plain loops.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Inputs.
    pool_param : dict
        ``pool_height``, ``pool_width`` (the window) and ``stride``, ints >= 1.

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
        ``H_out = 1 + (H - pool_height) // stride``, likewise ``W_out``.
    cache : tuple
        ``(x, pool_param)`` for :func:`max_pool_backward_naive`.

    Raises
    ------
    ValueError
        When x is not 4-D, the window is larger than the input, the stride does
        not tile the height or width, or ``pool_param`` lacks a valid key.
    """
    HH, WW, stride, H_out, W_out = _pool_geometry(x, pool_param)
    N, C = x.shape[:2]
    out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, c, i, j] = np.max(x[n, c, i * stride:i * stride + HH,
                                                 j * stride:j * stride + WW])
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    """Backward pass of :func:`max_pool_forward_naive`, as plain loops.

    Each window's gradient goes to the position of its maximum (the first one in
    row-major order when several values tie).

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
        Upstream gradient.
    cache : tuple
        ``(x, pool_param)``, as returned by :func:`max_pool_forward_naive`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    """
    check_cache(cache, 2, "max_pool_forward_naive", types=(np.ndarray, dict))
    x, pool_param = cache
    HH, WW, stride, H_out, W_out = _pool_geometry(x, pool_param)
    N, C = x.shape[:2]
    _check_dout(dout, (N, C, H_out, W_out))
    dx = np.zeros_like(x, dtype=np.result_type(x, dout))
    for n in range(N):
        for c in range(C):
            for i in range(H_out):
                for j in range(W_out):
                    window = x[n, c, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    di, dj = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * stride + di, j * stride + dj] += dout[n, c, i, j]
    return dx


# A block of images for the convolution kernels holds about this many bytes of
# columns: several images, so that the products stay efficient, few enough that a
# block's columns stay in cache between the kernel that writes them and the
# products that read them.
_CONV_BLOCK_BYTES = 1 << 21
# The batch is cut into at least this many blocks (when it has that many images),
# so that the threads share the work evenly.
_CONV_MIN_BLOCKS = 8


def _conv_blocks(N, image_bytes):
    """Bounds of the blocks of images the convolution works on, one at a time per
    thread, given the bytes of an image's columns: a function of the shapes only,
    so results do not depend on the threads."""
    per_block = max(1, min(_CONV_BLOCK_BYTES // image_bytes, -(-N // _CONV_MIN_BLOCKS)))
    return [(n0, min(n0 + per_block, N)) for n0 in range(0, N, per_block)]


def _im2col_bytes(x, w, H_out, W_out):
    """Bytes of one image's columns (see :func:`_im2col`)."""
    return w[0].size * H_out * W_out * x.itemsize


def _im2col(x, HH, WW, stride, pad, H_out, W_out):
    """Columns of every filter window of a block of images, (C * HH * WW, N,
    H_out * W_out).

    Row ``(c * HH + i) * WW + j`` matches ``w.reshape(F, -1)``; ``[:, n, y * W_out +
    x]`` is output position (y, x) of image n.  Seen as a matrix of N * H_out *
    W_out columns, the block is one product with the filters.
    """
    N, C, H, W = x.shape
    cols = np.empty((C * HH * WW, N, H_out * W_out), dtype=x.dtype)
    _conv_kernel.im2col(x.reshape(N, C, H * W), H, W, HH, WW, stride, pad, cols)
    return cols


# Winograd F(2x2, 3x3) (see skdeep/_kernels/_conv.py) takes the 3x3 convolutions
# of stride 1 and pad 1 with at least this many input channels and filters: its
# products sum over the channels (forward) or the filters (dx), and with fewer
# the tile transforms cost more than the multiplies they save.
_WINOGRAD_MIN_CHANNELS = 16


def _takes_winograd(x, w, stride, pad):
    """Whether the convolution of x by w (and its backward pass) runs as Winograd
    F(2x2, 3x3)."""
    return (w.shape[2:] == (3, 3) and stride == 1 and pad == 1
            and min(x.shape[1], w.shape[0]) >= _WINOGRAD_MIN_CHANNELS)


def _g_rows(a0, a1, a2):
    """The rows of ``G a`` from those of a: G = [[1, 0, 0], [1/2, 1/2, 1/2],
    [1/2, -1/2, 1/2], [0, 0, 1]]."""
    return a0, (a0 + a1 + a2) / 2, (a0 - a1 + a2) / 2, a2


def _gt_rows(a0, a1, a2, a3):
    """The rows of ``G^T a`` from those of a."""
    return a0 + (a1 + a2) / 2, (a1 - a2) / 2, (a1 + a2) / 2 + a3


def _winograd_filters(w, dtype):
    """The filters w (F, C, 3, 3) transformed as ``G g G^T``, (16, C, F): the right
    operands of the 16 products.  Computed on contiguous (C, F) planes of the taps:
    small BLAS products or strided planes would cost more here."""
    F, C = w.shape[:2]
    taps = np.ascontiguousarray(np.asarray(w, dtype=dtype).reshape(F, C, 9).T)
    u = np.empty((4, 4, C, F), dtype=dtype)
    for a, row in enumerate(_g_rows(taps[0:3], taps[3:6], taps[6:9])):
        for b, value in enumerate(_g_rows(*row)):
            u[a, b] = value
    return u.reshape(16, C, F)


def _winograd_filters_grad(du, dtype):
    """dw (F, C, 3, 3) = ``G^T du G`` of the transformed filters' gradient du
    (16, C, F)."""
    C, F = du.shape[1:]
    dw = np.empty((3, 3, C, F), dtype=dtype)
    for i, row in enumerate(_gt_rows(*du.reshape(4, 4, C, F))):
        for j, value in enumerate(_gt_rows(*row)):
            dw[i, j] = value
    return np.ascontiguousarray(dw.reshape(9, C, F).T).reshape(F, C, 3, 3)


def _winograd_tiles(H, W):
    """Tiles of one image's (H, W) output, 2x2 outputs each."""
    return ((H + 1) // 2) * ((W + 1) // 2)


def _transformed_tiles(x, H, W, argmax=None):
    """The transformed 4x4 tiles ``B^T d B``, (16, N * tiles, C), of a block x
    (N, C, H * W); with ``argmax``, x is a max pool's gradient (N, C, Q) and the
    tiles are those of the (H, W) gradient it stands for."""
    N, C = x.shape[:2]
    v = np.empty((16, N * _winograd_tiles(H, W), C), dtype=x.dtype)
    if argmax is None:
        _conv_kernel.winograd_input(x, H, W, v)
    else:
        _conv_kernel.winograd_input_pooled(x, argmax, H, W, v)
    return v


def _winograd_block(x, u, bias, out):
    """out (N, F, H * W) = the convolution of a block of images x (N, C, H, W),
    stride 1 and pad 1, by the filters u transformed by :func:`_winograd_filters`,
    plus bias."""
    N, C, H, W = x.shape
    v = _transformed_tiles(x.reshape(N, C, H * W), H, W)
    _conv_kernel.winograd_output(np.matmul(v, u), bias, H, W, out)


def _winograd_bytes(x, F):
    """Bytes of one image's transformed tiles and products."""
    C, H, W = x.shape[1:]
    return 16 * (C + F) * _winograd_tiles(H, W) * x.itemsize


def _winograd_forward(x, w, bias, out):
    """out (N, F, H * W) = the convolution of x by w at stride 1 and pad 1, plus
    bias, by Winograd F(2x2, 3x3), on blocks of images shared among threads."""
    u = _winograd_filters(w, x.dtype)

    def forward_block(n0, n1):
        _winograd_block(x[n0:n1], u, bias, out[n0:n1])

    run_blocks(forward_block, _conv_blocks(x.shape[0], _winograd_bytes(x, w.shape[0])))


def _winograd_backward(x, w, dout, dx, argmax=None):
    """dw of the convolution of x by w (stride 1, pad 1) given dout (N, F, H * W),
    and dx (N, C, H, W) unless None, by Winograd F(2x2, 3x3) on blocks of images.

    dx is the convolution of dout by the filters flipped and with their channels
    swapped.  dw is ``G^T du G``, du the sum over the tiles of the 16 products of
    the output's transformed gradient (``A dy A^T``) with the transformed input
    tiles, summed over the blocks in their order.  With ``argmax``, a max pool
    follows the convolution: dout is the pool's gradient (N, F, Q) and argmax
    its windows' maxima (see :func:`max_pool_forward_fast`), and the transforms
    read the convolution's gradient from them.
    """
    N, C, H, W = x.shape
    F = w.shape[0]
    tiles = _winograd_tiles(H, W)
    dx_filters = _winograd_filters(w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], x.dtype)
    no_bias = np.zeros(C, dtype=x.dtype)

    def backward_block(n0, n1):
        v = _transformed_tiles(x[n0:n1].reshape(n1 - n0, C, H * W), H, W)
        block_argmax = None if argmax is None else argmax[n0:n1]
        d = np.empty((16, (n1 - n0) * tiles, F), dtype=x.dtype)
        if block_argmax is None:
            _conv_kernel.winograd_output_grad(dout[n0:n1], H, W, d)
        else:
            _conv_kernel.winograd_output_grad_pooled(dout[n0:n1], block_argmax, H, W, d)
        if dx is not None:
            g = _transformed_tiles(dout[n0:n1], H, W, block_argmax)
            _conv_kernel.winograd_output(np.matmul(g, dx_filters), no_bias, H, W,
                                         dx[n0:n1].reshape(n1 - n0, C, H * W))
        return np.matmul(v.transpose(0, 2, 1), d)

    # summed from zeros, which an empty batch returns
    du = sum(run_blocks(backward_block, _conv_blocks(N, _winograd_bytes(x, F))),
             np.zeros((16, C, F), dtype=x.dtype))
    return _winograd_filters_grad(du, x.dtype)


def conv_forward_fast(x, w, b, conv_param):
    """Convolutional layer (cross-correlation) as matrix products.

    Same arguments and results as :func:`conv_forward_naive`.  The batch is cut
    into blocks of a few images, shared among threads.  3x3 filters at stride 1
    and pad 1 over at least 16 input channels and 16 filters (the 3x3 layers of
    the networks) run as Winograd F(2x2, 3x3): compiled kernels transform the
    block's 4x4 input tiles and 16 products per block with the transformed
    filters make the output, with 2.25 times fewer multiplies than im2col.
    Other convolutions gather each block's input windows into columns (im2col)
    and make each image's output with one product of its own, already in
    (F, H_out, W_out) order.
    On the Winograd path an image's output may change in its last bits with the
    number of images in its batch (BLAS may pick other kernels for another
    product shape), never with their values: the estimators predict in blocks
    of one fixed shape, so their predictions do not depend on batching.
    A block's columns or tiles stay in cache between the kernels and the
    products and are never kept for the whole batch: the backward pass
    computes them again, which costs less than writing and reading them through
    main memory, and bounds the memory of a layer by a few blocks whatever the
    batch size.  Block bounds depend only on the shapes and each product runs
    on one BLAS thread, so the results are bit-identical for any number of
    threads.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input images.
    w : ndarray of shape (F, C, HH, WW)
        Filters.
    b : ndarray of shape (F,)
        Biases.
    conv_param : dict
        ``stride`` (int >= 1) and ``pad`` (int >= 0), as in
        :func:`conv_forward_naive`.

    Returns
    -------
    out : ndarray of shape (N, F, H_out, W_out)
        In float32 when x and w are float32, otherwise float64.
    cache : tuple
        ``(x, w, b, conv_param)`` for :func:`conv_backward_fast`, with x and w in
        the dtype of the computation.

    Raises
    ------
    ValueError
        As :func:`conv_forward_naive`.
    """
    return _conv_forward(x, w, b, conv_param, FRESH)


def _conv_forward(x, w, b, conv_param, buffers):
    """:func:`conv_forward_fast` with its output from ``buffers``."""
    stride, pad, H_out, W_out = _conv_geometry(x, w, b, conv_param)
    dtype = float_dtype(x, w)
    x = np.ascontiguousarray(x, dtype=dtype)
    N, F = x.shape[0], w.shape[0]
    HH, WW = w.shape[2:]
    out = buffers.empty("conv", (N, F, H_out * W_out), dtype)
    if _takes_winograd(x, w, stride, pad):
        _winograd_forward(x, w, np.ascontiguousarray(b, dtype=dtype), out)
        return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param)
    w2 = np.ascontiguousarray(w.reshape(F, -1), dtype=dtype)
    bias = np.asarray(b, dtype=dtype)[:, None]

    def forward_block(n0, n1):
        cols = _im2col(x[n0:n1], HH, WW, stride, pad, H_out, W_out)
        np.matmul(w2, cols.transpose(1, 0, 2), out=out[n0:n1])
        out[n0:n1] += bias

    run_blocks(forward_block, _conv_blocks(N, _im2col_bytes(x, w, H_out, W_out)))
    return out.reshape(N, F, H_out, W_out), (x, w, b, conv_param)


def conv_backward_fast(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_forward_fast`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
        Upstream gradient.
    cache : tuple
        ``(x, w, b, conv_param)``, as returned by :func:`conv_forward_fast`.
    compute_dx : bool, default=True
        Whether to compute ``dx``.  A network's first convolution does not need the
        gradient with respect to its input, and skipping it saves about half of the
        backward pass; ``dx`` is then None.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
        Gradient with respect to ``x``.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    """
    return _conv_backward(dout, cache, compute_dx, FRESH)


def _conv_backward(dout, cache, compute_dx, buffers):
    """:func:`conv_backward_fast` with ``dx`` from ``buffers``."""
    check_cache(cache, 4, "conv_forward_fast", types=_CONV_CACHE_TYPES)
    x, w, b, conv_param = cache
    stride, pad, H_out, W_out = _conv_geometry(x, w, b, conv_param)
    N, C, H, W = x.shape
    F = w.shape[0]
    _check_dout(dout, (N, F, H_out, W_out))
    HH, WW = w.shape[2:]
    dtype = x.dtype
    w2t = np.ascontiguousarray(w.reshape(F, -1), dtype=dtype).T
    dout = np.ascontiguousarray(dout, dtype=dtype).reshape(N, F, H_out * W_out)
    dx = buffers.empty("conv_dx", x.shape, dtype) if compute_dx else None
    if _takes_winograd(x, w, stride, pad):
        dw = _winograd_backward(x, w, dout, dx)
        return dx, dw, dout.sum(axis=(0, 2), dtype=dtype)

    def backward_block(n0, n1):
        # one product per block, which small images need to keep BLAS efficient
        cols = _im2col(x[n0:n1], HH, WW, stride, pad, H_out, W_out)
        cols = cols.reshape(cols.shape[0], -1)
        dout_block = np.ascontiguousarray(dout[n0:n1].transpose(1, 0, 2)).reshape(F, -1)
        dw_block = dout_block @ cols.T
        if compute_dx:
            dcols = w2t @ dout_block
            _conv_kernel.col2im(dcols.reshape(-1, n1 - n0, H_out * W_out), H, W, HH, WW,
                                stride, pad, dx[n0:n1].reshape(n1 - n0, C, H * W))
        return dw_block

    blocks = _conv_blocks(N, _im2col_bytes(x, w, H_out, W_out))
    dw = sum(run_blocks(backward_block, blocks), np.zeros((F, C * HH * WW), dtype=dtype))
    dw = dw.reshape(w.shape)
    db = dout.sum(axis=(0, 2), dtype=dtype)
    return dx, dw, db


def max_pool_forward_fast(x, pool_param):
    """Max pooling, by a compiled kernel parallel over image planes.

    Same arguments and results as :func:`max_pool_forward_naive`.  The common
    2x2 window of stride 2 takes an unrolled path, many times faster than the
    general window loop.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Inputs.
    pool_param : dict
        ``pool_height``, ``pool_width`` (the window) and ``stride``, ints >= 1.

    Returns
    -------
    out : ndarray of shape (N, C, H_out, W_out)
        Output of the layer.
    cache : tuple
        ``(x, pool_param, argmax)`` for :func:`max_pool_backward_fast`, where
        ``argmax``, int32 of shape (N, C, H_out, W_out), holds where each
        window's first maximum is, as the index ``h * W + w`` in its (H, W) plane.

    Raises
    ------
    ValueError
        As :func:`max_pool_forward_naive`.
    """
    return _max_pool_forward(x, pool_param, FRESH)


def _max_pool_forward(x, pool_param, buffers):
    """:func:`max_pool_forward_fast` with its output and argmax from ``buffers``."""
    HH, WW, stride, H_out, W_out = _pool_geometry(x, pool_param)
    N, C = x.shape[:2]
    x = np.ascontiguousarray(x, dtype=float_dtype(x))
    out = buffers.empty("pool", (N, C, H_out, W_out), x.dtype)
    argmax = buffers.empty("argmax", (N, C, H_out, W_out), np.int32)
    with kernel_threads():
        _conv_kernel.max_pool_forward(x, HH, WW, stride, out, argmax)
    return out, (x, pool_param, argmax)


def max_pool_backward_fast(dout, cache):
    """Backward pass of :func:`max_pool_forward_fast`.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H_out, W_out)
        Upstream gradient.
    cache : tuple
        ``(x, pool_param, argmax)``, as returned by :func:`max_pool_forward_fast`.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    """
    return _max_pool_backward(dout, cache, FRESH)


def _max_pool_backward(dout, cache, buffers):
    """:func:`max_pool_backward_fast` with ``dx`` from ``buffers``."""
    check_cache(cache, 3, "max_pool_forward_fast", types=(np.ndarray, dict, np.ndarray))
    x, pool_param, argmax = cache
    HH, WW, stride, H_out, W_out = _pool_geometry(x, pool_param)
    N, C = x.shape[:2]
    _check_dout(dout, (N, C, H_out, W_out))
    dx = buffers.empty("pool_dx", x.shape, x.dtype)
    planes = N * C
    with kernel_threads():
        _conv_kernel.max_pool_backward(
            np.ascontiguousarray(dout, dtype=x.dtype).reshape(planes, -1),
            argmax.reshape(planes, -1), dx.reshape(planes, -1))
    return dx


def _conv_pool_backward(dout, conv_cache, pool_cache, compute_dx, buffers):
    """:func:`max_pool_backward_fast` then :func:`conv_backward_fast`, fused on the
    Winograd path: ``(dx, dw, db)`` from the pool's gradient ``dout``.

    The transforms read the convolution's gradient from the pooled gradient at
    the windows' maxima, so the full-size gradient (zero but at the maxima) is
    never written; db sums the pooled gradient.  Equal to the layers in a row to
    rounding (db sums fewer terms); other convolutions take them in a row.
    ``buffers`` holds dx (and the full-size gradient off the Winograd path).
    """
    check_cache(conv_cache, 4, "conv_forward_fast", types=_CONV_CACHE_TYPES)
    x, w, b, conv_param = conv_cache
    stride, pad, _, _ = _conv_geometry(x, w, b, conv_param)
    if not _takes_winograd(x, w, stride, pad):
        da = _max_pool_backward(dout, pool_cache, buffers)
        return _conv_backward(da, conv_cache, compute_dx, buffers)
    check_cache(pool_cache, 3, "max_pool_forward_fast",
                types=(np.ndarray, dict, np.ndarray))
    _, _, argmax = pool_cache
    N, F = argmax.shape[:2]
    _check_dout(dout, argmax.shape)
    dout = np.ascontiguousarray(dout, dtype=x.dtype).reshape(N, F, -1)
    dx = buffers.empty("conv_dx", x.shape, x.dtype) if compute_dx else None
    dw = _winograd_backward(x, w, dout, dx, argmax.reshape(N, F, -1))
    return dx, dw, dout.sum(axis=(0, 2), dtype=x.dtype)


def _windows_overlap(pool_param):
    return pool_param["stride"] < max(pool_param["pool_height"], pool_param["pool_width"])


def _normalize_relu_pool(x, mean, scale, beta, pool_param, buffers=FRESH):
    """Pooled output and argmax (from ``buffers``) of ``relu((x - mean) * scale +
    beta)`` per channel, x (N, C, H, W) C-contiguous, by one compiled pass parallel
    over image planes."""
    HH, WW, stride, H_out, W_out = _pool_geometry(x, pool_param)
    N, C = x.shape[:2]
    out = buffers.empty("pool", (N, C, H_out, W_out), x.dtype)
    argmax = buffers.empty("argmax", (N, C, H_out, W_out), np.int32)
    with kernel_threads():
        _act_kernel.normalize_relu_pool(x, mean, scale, beta, HH, WW, stride, out, argmax)
    return out, argmax


def _relu_max_pool_forward(x, pool_param):
    """:func:`relu_forward` then :func:`max_pool_forward_fast`, fused.

    Max commutes with the ReLU, so one compiled pass reads x once and writes only
    the pooled output and where each window's maximum is (the pooling of the
    ReLU's output, first maximum on ties); the ReLU's full-size output is never
    made.  The cache is ``(out, (x_shape, pool_param, argmax))``: the output,
    whose positive entries mark the windows gradient flows through, and argmax as
    in :func:`max_pool_forward_fast`, for :func:`_relu_max_pool_backward`.
    """
    _pool_geometry(x, pool_param)
    x = np.ascontiguousarray(x, dtype=float_dtype(x))
    C = x.shape[1]
    identity = (np.zeros(C, x.dtype), np.ones(C, x.dtype), np.zeros(C, x.dtype))
    out, argmax = _normalize_relu_pool(x, *identity, pool_param)
    return out, (out, (x.shape, pool_param, argmax))


def _check_relu_pool_cache(cache, producer):
    """Entry check of the fused ReLU-and-pool backward passes; returns ``(out,
    x_shape, pool_param, argmax)``."""
    check_cache(cache, 2, producer, types=(np.ndarray, tuple))
    out, pool_cache = cache
    check_cache(pool_cache, 3, producer, name="cache[1]", types=(tuple, dict, np.ndarray))
    return (out, *pool_cache)


def _relu_max_pool_backward(dout, cache):
    """Backward pass of :func:`_relu_max_pool_forward`: dx, written in one pass
    (zero but at each window's maximum, where it is dout if the output is
    positive)."""
    out, x_shape, _, argmax = _check_relu_pool_cache(cache, "_relu_max_pool_forward")
    _check_dout(dout, out.shape)
    dx = np.empty(x_shape, dtype=out.dtype)
    planes = x_shape[0] * x_shape[1]
    with kernel_threads():
        _act_kernel.relu_pool_backward(
            np.ascontiguousarray(dout, dtype=out.dtype).reshape(planes, -1),
            out.reshape(planes, -1), argmax.reshape(planes, -1), dx.reshape(planes, -1))
    return dx


def spatial_batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of each channel over the batch and the image plane.

    :func:`batchnorm_forward` applied to ``x`` seen as ``N * H * W`` rows of ``C``
    features, so the statistics of each channel are taken over (N, H, W).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input of the layer.
    gamma : ndarray of shape (C,)
        Scale.
    beta : ndarray of shape (C,)
        Shift.
    bn_param : dict
        As in :func:`batchnorm_forward` (``mode``, ``eps``, ``momentum``,
        ``running_mean``, ``running_var``), with statistics of shape (C,).

    Returns
    -------
    out : ndarray of shape (N, C, H, W)
        Output of the layer.
    cache : tuple
        ``(x_shape, norm_cache)``, the order of both spatial normalizations: the
        shape of ``x``, and the cache of the shared normalization, ``(x, xhat,
        mean, var, inv_std, gamma, eps, axis)`` over the (N, C, H * W) view of
        ``x`` (the cache of :func:`batchnorm_forward` on its (N * H * W, C)
        rows), or None in test mode.

    Raises
    ------
    ValueError
        When x is not 4-D or gamma or beta is not of shape (C,).
    """
    eps = _check_spatial_norm_inputs(x, gamma, beta, bn_param)
    N, C, H, W = x.shape
    # the (N, C, H * W) view reduced over axes 0 and 2 is the (N * H * W, C) rows of
    # batchnorm_forward without transposing a copy of x there and back
    out, cache = _batchnorm(x.reshape(N, C, H * W), np.reshape(gamma, (1, C, 1)),
                            np.reshape(beta, (1, C, 1)), bn_param, eps, axis=(0, 2))
    return out.reshape(N, C, H, W), (x.shape, cache)


def _check_spatial_cache(cache, producer):
    """Entry check of the spatial normalizations' backward passes; returns the
    ``(x_shape, norm_cache)`` that both forward passes cache."""
    check_cache(cache, 2, producer, types=(tuple, (tuple, type(None))))
    x_shape, norm_cache = cache
    check_cache(x_shape, 4, producer, name="cache[0]", types=(int,) * 4)
    check_cache(norm_cache, 8, producer, name="cache[1]", types=_NORM_CACHE_TYPES)
    return x_shape, norm_cache


def _check_spatial_norm_inputs(x, gamma, beta, bn_param):
    """Entry checks of the spatial batchnorm layers; returns eps."""
    check_array(x, "x", ndim=4, shape_doc="(N, C, H, W)")
    C = x.shape[1]
    check_shape(check_array(gamma, "gamma"), "gamma", (C,))
    check_shape(check_array(beta, "beta"), "beta", (C,))
    return _check_eps(bn_param, "bn_param")


def spatial_batchnorm_backward(dout, cache):
    """Backward pass of :func:`spatial_batchnorm_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H, W)
        Upstream gradient.
    cache : tuple
        ``(x_shape, norm_cache)``, as :func:`spatial_batchnorm_forward` returns it
        in train mode.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    dgamma : ndarray of shape (C,)
        Gradient with respect to ``gamma``.
    dbeta : ndarray of shape (C,)
        Gradient with respect to ``beta``.

    Raises
    ------
    ValueError
        When ``cache`` is not the one of a train-mode forward pass (a test-mode
        forward keeps None), or ``dout`` does not have the shape of ``x``.
    """
    x_shape, bn_cache = _check_spatial_cache(cache, "spatial_batchnorm_forward")
    _check_dout(dout, x_shape)
    N, C, H, W = x_shape
    dx, dgamma, dbeta = _normalize_backward(np.reshape(dout, (N, C, H * W)), bn_cache)
    return dx.reshape(N, C, H, W), dgamma.ravel(), dbeta.ravel()


def _batchnorm_relu_statistics(x, gamma, beta, bn_param):
    """Checks, statistics and running-statistics update of the fused batchnorm
    layers: ``(x3, mean, inv_std, gamma, beta, train)``, x as (N, C, H * W) and all
    in the dtype the kernels compute in, the statistics of the batch (computed in
    float64) in train mode, the running ones in test mode."""
    eps = _check_spatial_norm_inputs(x, gamma, beta, bn_param)
    N, C, H, W = x.shape
    dtype = float_dtype(x, gamma, beta)
    mode, momentum, running_mean, running_var = _batchnorm_state(bn_param, C, x.dtype, N)
    x3 = np.ascontiguousarray(np.reshape(x, (N, C, H * W)), dtype=dtype)
    if mode == "train":
        mean, var = np.empty(C), np.empty(C)
        with kernel_threads():
            _conv_kernel.channel_moments(x3, mean, var)
    else:
        mean, var = running_mean, running_var
    _update_running_stats(bn_param, mode, momentum, running_mean, running_var,
                          mean.astype(x.dtype), var.astype(x.dtype))
    inv_std = (1 / np.sqrt(var + eps)).astype(dtype)
    return (x3, mean.astype(dtype), inv_std, np.asarray(gamma, dtype=dtype),
            np.asarray(beta, dtype=dtype), mode == "train")


def _spatial_batchnorm_relu_forward(x, gamma, beta, bn_param, buffers=FRESH):
    """:func:`spatial_batchnorm_forward` then :func:`relu_forward`, fused.

    Same arguments and output as the two layers in a row (to rounding), in two
    compiled passes over x, parallel over channels: the channel statistics (in
    float64), then normalization, scale, shift and ReLU at once.  The layers in a
    row make about ten NumPy passes, each writing a fresh array of the size of the
    convolution's output, where these read x twice and write once.  The cache is
    ``(x_shape, x, mean, inv_std, gamma, beta)`` (None in test mode) for
    :func:`_spatial_batchnorm_relu_backward`.  ``buffers`` holds the output.
    """
    x3, mean, inv_std, gamma, beta, train = _batchnorm_relu_statistics(
        x, gamma, beta, bn_param)
    out = buffers.empty("norm_relu", x3.shape, x3.dtype)
    with kernel_threads():
        _conv_kernel.normalize_relu(x3, mean, gamma * inv_std, beta, out)
    cache = (x.shape, x3, mean, inv_std, gamma, beta) if train else None
    return out.reshape(x.shape), cache


_BN_RELU_CACHE_TYPES = (tuple,) + (np.ndarray,) * 5


def _spatial_batchnorm_relu_backward(dout, cache, buffers=FRESH):
    """Backward pass of :func:`_spatial_batchnorm_relu_forward`: dx (from
    ``buffers``), dgamma, dbeta."""
    check_cache(cache, 6, "_spatial_batchnorm_relu_forward", types=_BN_RELU_CACHE_TYPES)
    x_shape, x3, mean, inv_std, gamma, beta = cache
    _check_dout(dout, x_shape)
    C = x_shape[1]
    dout3 = np.ascontiguousarray(np.reshape(dout, x3.shape), dtype=x3.dtype)
    dx = buffers.empty("norm_relu_dx", x3.shape, x3.dtype)
    dgamma, dbeta = np.empty(C), np.empty(C)
    with kernel_threads():
        _conv_kernel.normalize_relu_backward(dout3, x3, mean, inv_std, gamma, beta, dx,
                                             dgamma, dbeta)
    return (dx.reshape(x_shape), dgamma.astype(x3.dtype),
            dbeta.astype(x3.dtype))


def _spatial_batchnorm_relu_pool_forward(x, gamma, beta, bn_param, pool_param,
                                         buffers=FRESH):
    """:func:`_spatial_batchnorm_relu_forward` then :func:`max_pool_forward_fast`,
    fused.

    After the channel statistics, one compiled pass normalizes, applies the ReLU
    and pools each plane in cache, writing only the pooled output and argmax (of
    the normalized map, as the layers in a row find them): the full-size
    activation is neither written nor kept.  The cache is ``(bn_relu_cache, (out,
    (x_shape, pool_param, argmax)))``: the cache of
    :func:`_spatial_batchnorm_relu_forward` (None in test mode) and that of
    :func:`_relu_max_pool_forward`, for :func:`_spatial_batchnorm_relu_pool_backward`.
    ``buffers`` holds the output and argmax.
    """
    _pool_geometry(x, pool_param)  # before the running statistics change
    x3, mean, inv_std, gamma, beta, train = _batchnorm_relu_statistics(
        x, gamma, beta, bn_param)
    out, argmax = _normalize_relu_pool(x3.reshape(x.shape), mean, gamma * inv_std, beta,
                                       pool_param, buffers)
    bn_cache = (x.shape, x3, mean, inv_std, gamma, beta) if train else None
    return out, (bn_cache, (out, (x.shape, pool_param, argmax)))


def _spatial_batchnorm_relu_pool_backward(dout, cache, buffers=FRESH):
    """Backward pass of :func:`_spatial_batchnorm_relu_pool_forward`: dx, dgamma,
    dbeta, from the pooled gradient without making the full-size one (but for
    overlapping windows, whose maxima may repeat: those take the pool's gradient,
    then :func:`_spatial_batchnorm_relu_backward`).  dx comes from ``buffers``."""
    producer = "_spatial_batchnorm_relu_pool_forward"
    check_cache(cache, 2, producer, types=((tuple, type(None)), tuple))
    bn_cache, relu_pool_cache = cache
    out, x_shape, pool_param, argmax = _check_relu_pool_cache(relu_pool_cache, producer)
    check_cache(bn_cache, 6, producer, name="cache[0]", types=_BN_RELU_CACHE_TYPES)
    _check_dout(dout, out.shape)
    _, x3, mean, inv_std, gamma, _ = bn_cache
    N, C = x_shape[:2]
    dout3 = np.ascontiguousarray(dout, dtype=x3.dtype).reshape(N, C, -1)
    if _windows_overlap(pool_param):
        ds = buffers.empty("pool_dx", x_shape, x3.dtype)
        with kernel_threads():
            _conv_kernel.max_pool_backward(dout3.reshape(N * C, -1),
                                           argmax.reshape(N * C, -1), ds.reshape(N * C, -1))
        return _spatial_batchnorm_relu_backward(ds, bn_cache, buffers)
    dx = buffers.empty("norm_relu_dx", x3.shape, x3.dtype)
    dgamma, dbeta = np.empty(C), np.empty(C)
    with kernel_threads():
        _act_kernel.normalize_relu_pool_backward(
            dout3, out.reshape(N, C, -1), argmax.reshape(N, C, -1), x3, mean, inv_std,
            gamma, dx, dgamma, dbeta)
    return dx.reshape(x_shape), dgamma.astype(x3.dtype), dbeta.astype(x3.dtype)


def spatial_groupnorm_forward(x, gamma, beta, G, gn_param):
    """Group normalization: per sample, each group of channels over itself and (H, W).

    The C channels split into G consecutive groups of ``C // G``; each sample's
    group is normalized with its own mean and biased variance, then every channel
    is scaled by ``gamma`` and shifted by ``beta``.  Train and test behave alike.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input of the layer.
    gamma : ndarray of shape (1, C, 1, 1)
        Scale.
    beta : ndarray of shape (1, C, 1, 1)
        Shift.
    G : int
        Number of groups; it must divide C.
    gn_param : dict
        ``eps``, added to the variance, default 1e-5; other keys are ignored.

    Returns
    -------
    out : ndarray of shape (N, C, H, W)
        Output of the layer.
    cache : tuple
        ``(x_shape, norm_cache)``, the order of both spatial normalizations: the
        shape of ``x``, and the cache of the shared normalization, ``(x, xhat,
        mean, var, inv_std, gamma, eps, axis)`` over the (N, G, C // G, H, W)
        view of ``x``.

    Raises
    ------
    ValueError
        When x is not 4-D, G does not divide C, or gamma or beta is not of shape
        (1, C, 1, 1).
    """
    check_array(x, "x", ndim=4, shape_doc="(N, C, H, W)")
    N, C, H, W = x.shape
    if C % check_int(G, "G"):
        raise ValueError(f"G must divide the {C} channels, got {G}.")
    check_shape(check_array(gamma, "gamma"), "gamma", (1, C, 1, 1))
    check_shape(check_array(beta, "beta"), "beta", (1, C, 1, 1))
    eps = _check_eps(gn_param, "gn_param")
    group_shape = (N, G, C // G, H, W)
    param_shape = (1, G, C // G, 1, 1)
    out, cache = _normalize_forward(
        x.reshape(group_shape), gamma.reshape(param_shape), beta.reshape(param_shape),
        eps, axis=(2, 3, 4))
    return out.reshape(x.shape), (x.shape, cache)


def spatial_groupnorm_backward(dout, cache):
    """Backward pass of :func:`spatial_groupnorm_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, C, H, W)
        Upstream gradient.
    cache : tuple
        ``(x_shape, norm_cache)``, as :func:`spatial_groupnorm_forward` returns it.

    Returns
    -------
    dx : ndarray of shape (N, C, H, W)
        Gradient with respect to ``x``.
    dgamma : ndarray of shape (1, C, 1, 1)
        Gradient with respect to ``gamma``.
    dbeta : ndarray of shape (1, C, 1, 1)
        Gradient with respect to ``beta``.

    Raises
    ------
    ValueError
        When ``cache`` is not the one :func:`spatial_groupnorm_forward` returns,
        or ``dout`` does not have the shape of ``x``.
    """
    x_shape, norm_cache = _check_spatial_cache(cache, "spatial_groupnorm_forward")
    _check_dout(dout, x_shape)
    group_shape = norm_cache[0].shape
    dx, dgamma, dbeta = _normalize_backward(dout.reshape(group_shape), norm_cache)
    C = x_shape[1]
    return dx.reshape(x_shape), dgamma.reshape(1, C, 1, 1), dbeta.reshape(1, C, 1, 1)
