"""Sandwich layers: common sequences of layers as one forward and one backward call.

Each computes the composition of the functions in :mod:`skdeep.nn.layers`; the
cache is the tuple of the inner caches, and each backward function checks it at
entry.  Where layers after a convolution are memory-bound passes over its output,
they run fused in compiled kernels, equal to the layers in a row: the ReLU and
max pool (:func:`conv_relu_pool_forward`), the batchnorm and ReLU
(:func:`conv_norm_relu_forward`), and all three
(:func:`conv_norm_relu_pool_forward`).  A ReLU after an affine or convolution
layer is applied in place on the output that layer has just made.  The GELU
variants the models use for ``activation='gelu'`` are private and unfused: the
layers in a row.
"""
import numpy as np

from ._arena import FRESH
from ._checks import check_cache, check_choice
from .layers import (
    _affine_backward,
    _affine_forward,
    _batchnorm,
    _check_eps,
    _conv_backward,
    _conv_forward,
    _conv_pool_backward,
    _dropout_train_forward,
    _max_pool_backward,
    _max_pool_forward,
    _normalize_backward,
    _normalize_forward,
    _relu_backward,
    _relu_in_place,
    _relu_max_pool_backward,
    _relu_max_pool_forward,
    _spatial_batchnorm_relu_backward,
    _spatial_batchnorm_relu_forward,
    _spatial_batchnorm_relu_pool_backward,
    _spatial_batchnorm_relu_pool_forward,
    affine_backward,
    affine_forward,
    batchnorm_backward_alt,
    batchnorm_forward,
    conv_backward_fast,
    conv_forward_fast,
    gelu_backward,
    gelu_forward,
    layernorm_backward,
    layernorm_forward,
    max_pool_backward_fast,
    max_pool_forward_fast,
    relu_backward,
    relu_forward,
    spatial_batchnorm_backward,
    spatial_batchnorm_forward,
    spatial_groupnorm_backward,
    spatial_groupnorm_forward,
)

__all__ = [
    "affine_relu_forward", "affine_relu_backward",
    "affine_norm_relu_forward", "affine_norm_relu_backward",
    "NORMALIZATIONS",
    "conv_relu_forward", "conv_relu_backward",
    "conv_relu_pool_forward", "conv_relu_pool_backward",
    "conv_norm_relu_forward", "conv_norm_relu_backward",
    "conv_norm_relu_pool_forward", "conv_norm_relu_pool_backward",
    "SPATIAL_NORMALIZATIONS", "ACTIVATIONS",
]

#: The activations the models offer after each conv and hidden layer.
ACTIVATIONS = ("relu", "gelu")

# normalization name -> (forward, backward) of the layer it inserts
_NORM_LAYERS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward_alt),
    "layernorm": (layernorm_forward, layernorm_backward),
}

#: Names accepted by :func:`affine_norm_relu_forward`.
NORMALIZATIONS = tuple(_NORM_LAYERS)


def _then_relu(layer_forward, *args):
    """``layer_forward(*args)`` followed by a ReLU; the cache is ``(layer_cache,
    relu_cache)``.  The layer's output is a fresh array of its own, so the ReLU
    overwrites it rather than allocating and writing another."""
    a, layer_cache = layer_forward(*args)
    out = _relu_in_place(a)
    return out, (layer_cache, out)


def _then_relu_backward(layer_backward, dout, cache, producer, **kwargs):
    """Backward pass of :func:`_then_relu` run by ``producer``: the ReLU's, then
    ``layer_backward(da, layer_cache, **kwargs)``."""
    check_cache(cache, 2, producer, types=(tuple, np.ndarray))
    layer_cache, relu_cache = cache
    return layer_backward(relu_backward(dout, relu_cache), layer_cache, **kwargs)


def affine_relu_forward(x, w, b):
    """Affine layer followed by a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k)
        Inputs, flattened to rows of ``D`` values.
    w : ndarray of shape (D, M)
        Weights.
    b : ndarray of shape (M,)
        Biases.

    Returns
    -------
    out : ndarray of shape (N, M)
        Output of the layer.
    cache : tuple
        ``(fc_cache, relu_cache)``, the caches of
        :func:`~skdeep.nn.layers.affine_forward` and
        :func:`~skdeep.nn.layers.relu_forward`, for :func:`affine_relu_backward`.
    """
    return _then_relu(affine_forward, x, w, b)


def affine_relu_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`affine_relu_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`affine_relu_forward`.
    compute_dx : bool, default=True
        Whether to compute ``dx`` (see :func:`~skdeep.nn.layers.affine_backward`).

    Returns
    -------
    dx : ndarray of the shape of ``x``, or None
        Gradient with respect to ``x``.
    dw : ndarray of shape (D, M)
        Gradient with respect to ``w``.
    db : ndarray of shape (M,)
        Gradient with respect to ``b``.
    """
    return _then_relu_backward(affine_backward, dout, cache, "affine_relu_forward",
                               compute_dx=compute_dx)


def _norm_layer(normalization, layers=_NORM_LAYERS):
    """The (forward, backward) pair of ``normalization`` in ``layers``, or a clear error."""
    return layers[check_choice(normalization, "normalization", tuple(layers))]


def affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization):
    """Affine layer, then batch or layer normalization, then a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k)
        Inputs, flattened to rows of ``D`` values.
    w : ndarray of shape (D, M)
        Weights.
    b : ndarray of shape (M,)
        Biases.
    gamma, beta : ndarray of shape (M,)
        Scale and shift of the normalization.
    norm_param : dict
        ``bn_param`` of :func:`~skdeep.nn.layers.batchnorm_forward` or ``ln_param``
        of :func:`~skdeep.nn.layers.layernorm_forward`.
    normalization : {'batchnorm', 'layernorm'}
        The normalization between the affine layer and the ReLU: batch
        normalization of each feature over the batch, or layer normalization of
        each sample over its features.

    Returns
    -------
    out : ndarray of shape (N, M)
        Output of the layer.
    cache : tuple
        ``(fc_cache, norm_cache, relu_cache, normalization)``: the caches of the
        three layers and the normalization's name, for
        :func:`affine_norm_relu_backward`.
    """
    norm_forward, _ = _norm_layer(normalization)
    a, fc_cache = affine_forward(x, w, b)
    an, norm_cache = norm_forward(a, gamma, beta, norm_param)
    out = _relu_in_place(an)  # the normalization's output, which nothing else holds
    return out, (fc_cache, norm_cache, out, normalization)


def affine_norm_relu_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`affine_norm_relu_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, M)
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`affine_norm_relu_forward`.
    compute_dx : bool, default=True
        Whether to compute ``dx`` (see :func:`~skdeep.nn.layers.affine_backward`).

    Returns
    -------
    dx : ndarray of the shape of ``x``, or None
        Gradient with respect to ``x``.
    dw : ndarray of shape (D, M)
        Gradient with respect to ``w``.
    db : ndarray of shape (M,)
        Gradient with respect to ``b``.
    dgamma : ndarray of shape (M,)
        Gradient with respect to ``gamma``.
    dbeta : ndarray of shape (M,)
        Gradient with respect to ``beta``.
    """
    check_cache(cache, 4, "affine_norm_relu_forward",
                types=(tuple, (tuple, type(None)), np.ndarray, str))
    fc_cache, norm_cache, relu_cache, normalization = cache
    _, norm_backward = _norm_layer(normalization)
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = norm_backward(dan, norm_cache)
    dx, dw, db = affine_backward(da, fc_cache, compute_dx=compute_dx)
    return dx, dw, db, dgamma, dbeta


# The models' step plans (skdeep.nn._arena): the hidden affine layer of
# affine_relu_forward or affine_norm_relu_forward, then dropout, on the layers'
# own private helpers, with every map in the layer's ``buffers`` and the
# parameter gradients in ``grad_buffers``.  The caller owns the upstream
# gradient of the backward pass, which is overwritten.  Inputs are the model's,
# checked at its entry.

def _planned_hidden_forward(x, w, b, norm, dropout_param, buffers):
    """``affine - [norm] - relu - [dropout]`` in ``buffers``; ``norm`` is None or
    ``(gamma, beta, norm_param, normalization)``, ``dropout_param`` empty for no
    dropout or one in train mode.  Returns the output and the cache of
    :func:`_planned_hidden_backward`."""
    a, fc_cache = _affine_forward(x, w, b, buffers.scope("affine"))
    norm_cache = None
    if norm is not None:
        gamma, beta, norm_param, normalization = norm
        name = "bn_param" if normalization == "batchnorm" else "ln_param"
        eps = _check_eps(norm_param, name)
        norm_buffers = buffers.scope("norm")
        if normalization == "batchnorm":
            a, norm_cache = _batchnorm(a, gamma, beta, norm_param, eps, 0, norm_buffers)
        else:
            a, norm_cache = _normalize_forward(a, gamma, beta, eps, 1, norm_buffers)
    out = _relu_in_place(a)
    mask = None
    if dropout_param:
        out, (_, mask) = _dropout_train_forward(out, dropout_param, dropout_param["p"],
                                                buffers.scope("dropout"))
    return out, (fc_cache, norm_cache, a, mask)


def _planned_hidden_backward(dout, cache, compute_dx, buffers, grad_buffers):
    """Backward pass of :func:`_planned_hidden_forward`, overwriting ``dout``:
    ``(dx, dw, db, dgamma, dbeta)``, the last two None without normalization."""
    fc_cache, norm_cache, relu_cache, mask = cache
    if mask is not None:
        np.multiply(dout, mask, out=dout)
    da = _relu_backward(dout, relu_cache, dout)
    dgamma = dbeta = None
    if norm_cache is not None:
        da, dgamma, dbeta = _normalize_backward(da, norm_cache, buffers.scope("norm"))
    dx, dw, db = _affine_backward(da, fc_cache, compute_dx, buffers.scope("affine"),
                                  grad_buffers)
    return dx, dw, db, dgamma, dbeta


def conv_relu_forward(x, w, b, conv_param):
    """Convolution (:func:`~skdeep.nn.layers.conv_forward_fast`) followed by a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input of the layer.
    w : ndarray of shape (F, C, HH, WW)
        Weights.
    b : ndarray of shape (F,)
        Biases.
    conv_param : dict
        ``stride`` and ``pad``.

    Returns
    -------
    out : ndarray of shape (N, F, H_out, W_out)
        Output of the layer.
    cache : tuple
        ``(conv_cache, relu_cache)`` for :func:`conv_relu_backward`.
    """
    return _then_relu(conv_forward_fast, x, w, b, conv_param)


def conv_relu_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_relu_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`conv_relu_forward`.
    compute_dx : bool, default=True
        Whether to compute ``dx`` (see :func:`~skdeep.nn.layers.conv_backward_fast`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
        Gradient with respect to ``x``.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    """
    return _then_relu_backward(conv_backward_fast, dout, cache, "conv_relu_forward",
                               compute_dx=compute_dx)


def conv_relu_pool_forward(x, w, b, conv_param, pool_param):
    """Convolution, ReLU, then max pooling (the fast layers).

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input of the layer.
    w : ndarray of shape (F, C, HH, WW)
        Weights.
    b : ndarray of shape (F,)
        Biases.
    conv_param : dict
        ``stride`` and ``pad``.
    pool_param : dict
        ``pool_height``, ``pool_width`` and ``stride``.

    Returns
    -------
    out : ndarray of shape (N, F, H_pool, W_pool)
        Output of the layer.
    cache : tuple
        ``(conv_cache, out, pool_cache)`` for :func:`conv_relu_pool_backward`: the
        cache of :func:`~skdeep.nn.layers.conv_forward_fast`, the output (whose
        positive entries mark the windows gradient flows through), and
        ``(conv_shape, pool_param, argmax)``, the shape of the convolution's
        output and where each window's maximum is in it, as in
        :func:`~skdeep.nn.layers.max_pool_forward_fast`.

    Notes
    -----
    Max commutes with the ReLU, so the ReLU and the pool run fused in one compiled
    pass over the convolution's output that writes only the pooled map; the
    result, and the gradients of the backward pass, equal
    :func:`~skdeep.nn.layers.relu_forward` then
    :func:`~skdeep.nn.layers.max_pool_forward_fast` (the same maximum of each
    window on ties).
    """
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, relu_pool_cache = _relu_max_pool_forward(a, pool_param)
    return out, (conv_cache, *relu_pool_cache)


def conv_relu_pool_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_relu_pool_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_pool, W_pool)
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`conv_relu_pool_forward`.
    compute_dx : bool, default=True
        Whether to compute ``dx`` (see :func:`~skdeep.nn.layers.conv_backward_fast`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
        Gradient with respect to ``x``.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    """
    check_cache(cache, 3, "conv_relu_pool_forward", types=(tuple, np.ndarray, tuple))
    conv_cache, *relu_pool_cache = cache
    da = _relu_max_pool_backward(dout, tuple(relu_pool_cache))
    return conv_backward_fast(da, conv_cache, compute_dx=compute_dx)


def _spatial_groupnorm_relu_forward(x, gamma, beta, gn_param):
    return _then_relu(spatial_groupnorm_forward, x, gamma, beta, gn_param["G"], gn_param)


def _spatial_groupnorm_relu_backward(dout, cache):
    return _then_relu_backward(spatial_groupnorm_backward, dout, cache,
                               "_spatial_groupnorm_relu_forward")


# normalization name -> (forward, backward) of the spatial normalization and ReLU
# that follow a convolution; both forwards take (x, gamma, beta, norm_param)
_SPATIAL_NORM_RELU_LAYERS = {
    "batchnorm": (_spatial_batchnorm_relu_forward, _spatial_batchnorm_relu_backward),
    "groupnorm": (_spatial_groupnorm_relu_forward, _spatial_groupnorm_relu_backward),
}

#: Names accepted by :func:`conv_norm_relu_forward`.
SPATIAL_NORMALIZATIONS = tuple(_SPATIAL_NORM_RELU_LAYERS)


def conv_norm_relu_forward(x, w, b, gamma, beta, conv_param, norm_param, normalization):
    """Convolution, spatial batch or group normalization, then a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input of the layer.
    w : ndarray of shape (F, C, HH, WW)
        Weights.
    b : ndarray of shape (F,)
        Biases.
    gamma, beta : ndarray
        Scale and shift: of shape (F,) for batchnorm, (1, F, 1, 1) for groupnorm.
    conv_param : dict
        ``stride`` and ``pad``.
    norm_param : dict
        ``bn_param`` of :func:`~skdeep.nn.layers.spatial_batchnorm_forward`, or
        ``gn_param`` of :func:`~skdeep.nn.layers.spatial_groupnorm_forward` with
        the number of groups under the key ``'G'``.
    normalization : {'batchnorm', 'groupnorm'}
        The normalization between the convolution and the ReLU: spatial batch
        normalization of each channel over (N, H, W), or group normalization of
        each sample's groups of channels.

    Returns
    -------
    out : ndarray of shape (N, F, H_out, W_out)
        Output of the layer.
    cache : tuple
        ``(conv_cache, norm_relu_cache, normalization)`` for
        :func:`conv_norm_relu_backward`: the cache of
        :func:`~skdeep.nn.layers.conv_forward_fast`, the cache of the
        normalization and ReLU (with groupnorm ``(groupnorm_cache, relu_cache)``;
        with batchnorm the fused layers' ``(x_shape, x, mean, inv_std, gamma,
        beta)``, None in test mode), and the normalization's name.

    Notes
    -----
    With batchnorm, the normalization and the ReLU run fused in compiled passes
    over the convolution's output; the result equals
    :func:`~skdeep.nn.layers.spatial_batchnorm_forward` then
    :func:`~skdeep.nn.layers.relu_forward` to rounding (the channel statistics are
    accumulated in float64).
    """
    return _conv_norm_relu_forward(x, w, b, gamma, beta, conv_param, norm_param,
                                   normalization, FRESH)


def _spatial_norm_relu_forward(a, gamma, beta, norm_param, normalization, buffers):
    """The fused spatial normalization and ReLU of ``a``; batchnorm's output in
    ``buffers`` (group norm's is allocated)."""
    norm_relu_forward, _ = _norm_layer(normalization, _SPATIAL_NORM_RELU_LAYERS)
    if normalization == "batchnorm":
        return norm_relu_forward(a, gamma, beta, norm_param, buffers)
    return norm_relu_forward(a, gamma, beta, norm_param)


def _spatial_norm_relu_backward(dout, cache, normalization, buffers):
    """Backward pass of :func:`_spatial_norm_relu_forward`: ``(da, dgamma, dbeta)``."""
    _, norm_relu_backward = _norm_layer(normalization, _SPATIAL_NORM_RELU_LAYERS)
    if normalization == "batchnorm":
        return norm_relu_backward(dout, cache, buffers)
    return norm_relu_backward(dout, cache)


def _conv_norm_relu_forward(x, w, b, gamma, beta, conv_param, norm_param, normalization,
                            buffers):
    """:func:`conv_norm_relu_forward` with its maps from ``buffers``."""
    _norm_layer(normalization, _SPATIAL_NORM_RELU_LAYERS)  # refuses an unknown name
    a, conv_cache = _conv_forward(x, w, b, conv_param, buffers)
    out, norm_relu_cache = _spatial_norm_relu_forward(a, gamma, beta, norm_param,
                                                      normalization, buffers)
    return out, (conv_cache, norm_relu_cache, normalization)


def conv_norm_relu_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_norm_relu_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_out, W_out)
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`conv_norm_relu_forward`.
    compute_dx : bool, default=True
        Whether to compute ``dx`` (see :func:`~skdeep.nn.layers.conv_backward_fast`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
        Gradient with respect to ``x``.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    dgamma, dbeta : ndarray of the shape of gamma
        Gradients with respect to ``gamma`` and ``beta``.
    """
    return _conv_norm_relu_backward(dout, cache, compute_dx, FRESH)


def _conv_norm_relu_backward(dout, cache, compute_dx, buffers):
    """:func:`conv_norm_relu_backward` with its maps from ``buffers``."""
    check_cache(cache, 3, "conv_norm_relu_forward",
                types=(tuple, (tuple, type(None)), str))
    conv_cache, norm_relu_cache, normalization = cache
    da, dgamma, dbeta = _spatial_norm_relu_backward(dout, norm_relu_cache, normalization,
                                                    buffers)
    dx, dw, db = _conv_backward(da, conv_cache, compute_dx, buffers)
    return dx, dw, db, dgamma, dbeta


def conv_norm_relu_pool_forward(x, w, b, gamma, beta, conv_param, norm_param,
                                normalization, pool_param):
    """Convolution, spatial normalization, ReLU, then max pooling.

    Parameters
    ----------
    x : ndarray of shape (N, C, H, W)
        Input of the layer.
    w : ndarray of shape (F, C, HH, WW)
        Weights.
    b : ndarray of shape (F,)
        Biases.
    gamma, beta : ndarray
        As in :func:`conv_norm_relu_forward`.
    conv_param : dict
        ``stride`` and ``pad``.
    norm_param : dict
        As in :func:`conv_norm_relu_forward`.
    normalization : {'batchnorm', 'groupnorm'}
        As in :func:`conv_norm_relu_forward`.
    pool_param : dict
        ``pool_height``, ``pool_width`` and ``stride``.

    Returns
    -------
    out : ndarray of shape (N, F, H_pool, W_pool)
        Output of the layer.
    cache : tuple
        ``(conv_norm_relu_cache, pool_cache)`` for
        :func:`conv_norm_relu_pool_backward`.  With groupnorm, the caches of
        :func:`conv_norm_relu_forward` and
        :func:`~skdeep.nn.layers.max_pool_forward_fast`; with batchnorm, whose
        layers run fused, ``conv_norm_relu_cache`` is as
        :func:`conv_norm_relu_forward` makes it and ``pool_cache`` is ``(out,
        (conv_shape, pool_param, argmax))``: the output, the shape of the
        convolution's output, and where each window's maximum is in it, as in
        :func:`~skdeep.nn.layers.max_pool_forward_fast`.

    Notes
    -----
    With batchnorm, after the channel statistics one compiled pass normalizes,
    applies the ReLU and pools, writing only the pooled map; the backward pass
    works from the pooled gradient without making the full-size one.  The results
    equal :func:`conv_norm_relu_forward` then
    :func:`~skdeep.nn.layers.max_pool_forward_fast` to rounding.
    """
    return _conv_norm_relu_pool_forward(x, w, b, gamma, beta, conv_param, norm_param,
                                        normalization, pool_param, FRESH)


def _conv_norm_relu_pool_forward(x, w, b, gamma, beta, conv_param, norm_param,
                                 normalization, pool_param, buffers):
    """:func:`conv_norm_relu_pool_forward` with its maps from ``buffers``."""
    _norm_layer(normalization, _SPATIAL_NORM_RELU_LAYERS)  # refuses an unknown name
    if normalization != "batchnorm":
        s, cnr_cache = _conv_norm_relu_forward(x, w, b, gamma, beta, conv_param,
                                               norm_param, normalization, buffers)
        out, pool_cache = _max_pool_forward(s, pool_param, buffers)
        return out, (cnr_cache, pool_cache)
    a, conv_cache = _conv_forward(x, w, b, conv_param, buffers)
    out, (bn_cache, relu_pool_cache) = _spatial_batchnorm_relu_pool_forward(
        a, gamma, beta, norm_param, pool_param, buffers)
    return out, ((conv_cache, bn_cache, normalization), relu_pool_cache)


def conv_norm_relu_pool_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`conv_norm_relu_pool_forward`.

    Parameters
    ----------
    dout : ndarray of shape (N, F, H_pool, W_pool)
        Upstream gradient.
    cache : tuple
        The cache returned by :func:`conv_norm_relu_pool_forward`.
    compute_dx : bool, default=True
        Whether to compute ``dx`` (see :func:`~skdeep.nn.layers.conv_backward_fast`).

    Returns
    -------
    dx : ndarray of shape (N, C, H, W), or None
        Gradient with respect to ``x``.
    dw : ndarray of shape (F, C, HH, WW)
        Gradient with respect to ``w``.
    db : ndarray of shape (F,)
        Gradient with respect to ``b``.
    dgamma, dbeta : ndarray of the shape of gamma
        Gradients with respect to ``gamma`` and ``beta``.
    """
    return _conv_norm_relu_pool_backward(dout, cache, compute_dx, FRESH)


def _conv_norm_relu_pool_backward(dout, cache, compute_dx, buffers):
    """:func:`conv_norm_relu_pool_backward` with its maps from ``buffers``."""
    check_cache(cache, 2, "conv_norm_relu_pool_forward", types=(tuple, tuple))
    cnr_cache, pool_cache = cache
    check_cache(cnr_cache, 3, "conv_norm_relu_pool_forward", name="cache[0]",
                types=(tuple, (tuple, type(None)), str))
    conv_cache, norm_cache, normalization = cnr_cache
    if normalization != "batchnorm":
        ds = _max_pool_backward(dout, pool_cache, buffers)
        return _conv_norm_relu_backward(ds, cnr_cache, compute_dx, buffers)
    da, dgamma, dbeta = _spatial_batchnorm_relu_pool_backward(
        dout, (norm_cache, pool_cache), buffers)
    dx, dw, db = _conv_backward(da, conv_cache, compute_dx, buffers)
    return dx, dw, db, dgamma, dbeta


# ---- GELU: the layers in a row, unfused (correct first; no compiled variant yet) ----

def _spatial_groupnorm(x, gamma, beta, gn_param):
    return spatial_groupnorm_forward(x, gamma, beta, gn_param["G"], gn_param)


# normalization name -> (forward, backward) of the spatial normalization alone;
# both forwards take (x, gamma, beta, norm_param)
_SPATIAL_NORM_LAYERS = {
    "batchnorm": (spatial_batchnorm_forward, spatial_batchnorm_backward),
    "groupnorm": (_spatial_groupnorm, spatial_groupnorm_backward),
}


def _norm_gelu_forward(a, norm, norm_layers):
    """``[normalization] - GELU`` of ``a``.

    ``norm`` is None (no normalization) or ``(gamma, beta, norm_param,
    normalization)``, the name looked up in ``norm_layers``.  The cache is
    ``(norm_cache, normalization, gelu_cache)``, the first two None without
    normalization.
    """
    norm_cache = normalization = None
    if norm is not None:
        gamma, beta, norm_param, normalization = norm
        norm_forward, _ = _norm_layer(normalization, norm_layers)
        a, norm_cache = norm_forward(a, gamma, beta, norm_param)
    out, gelu_cache = gelu_forward(a)
    return out, (norm_cache, normalization, gelu_cache)


def _norm_gelu_backward(dout, cache, norm_layers):
    """Backward pass of :func:`_norm_gelu_forward`: ``(da, dgamma, dbeta)``, the
    last two None without normalization."""
    check_cache(cache, 3, "_norm_gelu_forward",
                types=((tuple, type(None)), (str, type(None)), tuple))
    norm_cache, normalization, gelu_cache = cache
    da = gelu_backward(dout, gelu_cache)
    if normalization is None:
        return da, None, None
    _, norm_backward = _norm_layer(normalization, norm_layers)
    return norm_backward(da, norm_cache)


def _affine_gelu_forward(x, w, b, norm=None):
    """``affine - [batch/layer norm] - GELU``; ``norm`` as in
    :func:`_norm_gelu_forward`.  The cache is ``(fc_cache, norm_gelu_cache)``."""
    a, fc_cache = affine_forward(x, w, b)
    out, norm_gelu_cache = _norm_gelu_forward(a, norm, _NORM_LAYERS)
    return out, (fc_cache, norm_gelu_cache)


def _affine_gelu_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`_affine_gelu_forward`: ``(dx, dw, db, dgamma,
    dbeta)``, the last two None without normalization."""
    check_cache(cache, 2, "_affine_gelu_forward", types=(tuple, tuple))
    fc_cache, norm_gelu_cache = cache
    da, dgamma, dbeta = _norm_gelu_backward(dout, norm_gelu_cache, _NORM_LAYERS)
    dx, dw, db = affine_backward(da, fc_cache, compute_dx=compute_dx)
    return dx, dw, db, dgamma, dbeta


def _conv_gelu_forward(x, w, b, conv_param, norm=None, pool_param=None):
    """``conv - [spatial norm] - GELU - [max pool]``; ``norm`` as in
    :func:`_norm_gelu_forward` (spatial batchnorm, or group norm with ``'G'`` in
    its param), no pool when ``pool_param`` is None.  The cache is
    ``(conv_cache, norm_gelu_cache, pool_cache)``, the last None without pool."""
    a, conv_cache = conv_forward_fast(x, w, b, conv_param)
    out, norm_gelu_cache = _norm_gelu_forward(a, norm, _SPATIAL_NORM_LAYERS)
    pool_cache = None
    if pool_param is not None:
        out, pool_cache = max_pool_forward_fast(out, pool_param)
    return out, (conv_cache, norm_gelu_cache, pool_cache)


def _conv_gelu_backward(dout, cache, *, compute_dx=True):
    """Backward pass of :func:`_conv_gelu_forward`: ``(dx, dw, db, dgamma,
    dbeta)``, the last two None without normalization."""
    check_cache(cache, 3, "_conv_gelu_forward", types=(tuple, tuple, (tuple, type(None))))
    conv_cache, norm_gelu_cache, pool_cache = cache
    if pool_cache is not None:
        dout = max_pool_backward_fast(dout, pool_cache)
    da, dgamma, dbeta = _norm_gelu_backward(dout, norm_gelu_cache, _SPATIAL_NORM_LAYERS)
    dx, dw, db = conv_backward_fast(da, conv_cache, compute_dx=compute_dx)
    return dx, dw, db, dgamma, dbeta


# ---- pooling before the normalization: conv - pool - [norm] - activation ----
# The blocks of the airbench CIFAR-10 speed records: the max pool comes straight
# after the convolution, so the normalization and the activation run on maps a
# quarter the size.

def _norm_act_forward(a, norm, activation, buffers=FRESH):
    """``[spatial norm] - ReLU/GELU`` of ``a``; ``norm`` as in
    :func:`_norm_gelu_forward`.  Batchnorm and ReLU run fused, into ``buffers``.
    The cache is ``(activation, normalization, inner_cache)``."""
    if activation == "gelu":
        out, cache = _norm_gelu_forward(a, norm, _SPATIAL_NORM_LAYERS)
        return out, ("gelu", None, cache)
    if norm is None:
        out, cache = relu_forward(a)
        return out, ("relu", None, cache)
    gamma, beta, norm_param, normalization = norm
    out, cache = _spatial_norm_relu_forward(a, gamma, beta, norm_param, normalization,
                                            buffers)
    return out, ("relu", normalization, cache)


def _norm_act_backward(dout, cache, buffers=FRESH):
    """Backward pass of :func:`_norm_act_forward`: ``(da, dgamma, dbeta)``, the
    last two None without normalization."""
    activation, normalization, inner_cache = cache
    if activation == "gelu":
        return _norm_gelu_backward(dout, inner_cache, _SPATIAL_NORM_LAYERS)
    if normalization is None:
        return relu_backward(dout, inner_cache), None, None
    return _spatial_norm_relu_backward(dout, inner_cache, normalization, buffers)


def _conv_pool_norm_act_forward(x, w, b, conv_param, pool_param, norm=None,
                                activation="relu", buffers=FRESH):
    """``conv - max pool - [spatial norm] - ReLU/GELU``; ``norm`` is None or
    ``(gamma, beta, norm_param, normalization)`` as in
    :func:`_norm_gelu_forward`.  The cache is ``(conv_cache, pool_cache,
    norm_act_cache)``; the convolution, the pool and a batchnorm-ReLU write to
    ``buffers``."""
    check_choice(activation, "activation", ACTIVATIONS)
    a, conv_cache = _conv_forward(x, w, b, conv_param, buffers)
    pooled, pool_cache = _max_pool_forward(a, pool_param, buffers)
    out, norm_act_cache = _norm_act_forward(pooled, norm, activation, buffers)
    return out, (conv_cache, pool_cache, norm_act_cache)


def _conv_pool_norm_act_backward(dout, cache, *, compute_dx=True, buffers=FRESH):
    """Backward pass of :func:`_conv_pool_norm_act_forward`: ``(dx, dw, db,
    dgamma, dbeta)``, the last two None without normalization.  The pool's and
    the convolution's run fused (see :func:`~skdeep.nn.layers._conv_pool_backward`)."""
    check_cache(cache, 3, "_conv_pool_norm_act_forward", types=(tuple, tuple, tuple))
    conv_cache, pool_cache, norm_act_cache = cache
    dpooled, dgamma, dbeta = _norm_act_backward(dout, norm_act_cache, buffers)
    dx, dw, db = _conv_pool_backward(dpooled, conv_cache, pool_cache, compute_dx, buffers)
    return dx, dw, db, dgamma, dbeta
