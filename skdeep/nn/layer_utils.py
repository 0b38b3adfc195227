"""Sandwich layers: common sequences of layers as one forward and one backward call.

Each is a plain composition of the functions in :mod:`skdeep.nn.layers`; the cache
is the tuple of the inner caches.
"""
from .layers import (
    affine_backward,
    affine_forward,
    batchnorm_backward_alt,
    batchnorm_forward,
    layernorm_backward,
    layernorm_forward,
    relu_backward,
    relu_forward,
)

__all__ = [
    "affine_relu_forward", "affine_relu_backward",
    "affine_norm_relu_forward", "affine_norm_relu_backward",
    "NORMALIZATIONS",
]

# normalization name -> (forward, backward) of the layer it inserts
_NORM_LAYERS = {
    "batchnorm": (batchnorm_forward, batchnorm_backward_alt),
    "layernorm": (layernorm_forward, layernorm_backward),
}

#: Names accepted by :func:`affine_norm_relu_forward`.
NORMALIZATIONS = tuple(_NORM_LAYERS)


def affine_relu_forward(x, w, b):
    """Affine layer followed by a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k)
        Inputs, flattened to rows of ``D`` values.
    w : ndarray of shape (D, M)
    b : ndarray of shape (M,)

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : tuple
        For :func:`affine_relu_backward`.
    """
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


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
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache, compute_dx=compute_dx)


def _norm_layer(normalization):
    try:
        return _NORM_LAYERS[normalization]
    except (KeyError, TypeError):
        raise ValueError(
            f"normalization must be one of {sorted(_NORM_LAYERS)}, got {normalization!r}."
        ) from None


def affine_norm_relu_forward(x, w, b, gamma, beta, norm_param, normalization):
    """Affine layer, then batch or layer normalization, then a ReLU.

    Parameters
    ----------
    x : ndarray of shape (N, d_1, ..., d_k)
        Inputs, flattened to rows of ``D`` values.
    w : ndarray of shape (D, M)
    b : ndarray of shape (M,)
    gamma, beta : ndarray of shape (M,)
        Scale and shift of the normalization.
    norm_param : dict
        ``bn_param`` of :func:`~skdeep.nn.layers.batchnorm_forward` or ``ln_param``
        of :func:`~skdeep.nn.layers.layernorm_forward`.
    normalization : {'batchnorm', 'layernorm'}

    Returns
    -------
    out : ndarray of shape (N, M)
    cache : tuple
        For :func:`affine_norm_relu_backward`.
    """
    norm_forward, _ = _norm_layer(normalization)
    a, fc_cache = affine_forward(x, w, b)
    an, norm_cache = norm_forward(a, gamma, beta, norm_param)
    out, relu_cache = relu_forward(an)
    return out, (fc_cache, norm_cache, relu_cache, normalization)


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
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    dgamma : ndarray of shape (M,)
    dbeta : ndarray of shape (M,)
    """
    fc_cache, norm_cache, relu_cache, normalization = cache
    _, norm_backward = _norm_layer(normalization)
    dan = relu_backward(dout, relu_cache)
    da, dgamma, dbeta = norm_backward(dan, norm_cache)
    dx, dw, db = affine_backward(da, fc_cache, compute_dx=compute_dx)
    return dx, dw, db, dgamma, dbeta
