"""Layers: forward and backward passes.

Every forward function returns ``(out, cache)``; every backward function takes
``(dout, cache)`` and returns the gradients in the order of the forward inputs.
Arrays are channels-first, ``(N, C, H, W)``; affine layers flatten every input to
``(N, D)``.  Settings travel in plain dicts (``dropout_param``, ``bn_param``,
``ln_param``), as in the CS231n assignments.

Functions keep the floating dtype of their inputs, so float32 networks compute in
float32 throughout and float64 gradient checks stay float64.
"""
import numpy as np

__all__ = [
    "affine_forward", "affine_backward",
    "relu_forward", "relu_backward",
    "dropout_forward", "dropout_backward",
    "batchnorm_forward", "batchnorm_backward", "batchnorm_backward_alt",
    "layernorm_forward", "layernorm_backward",
    "softmax_loss", "svm_loss",
]


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
    cache : tuple
        ``(x, w, b)`` for :func:`affine_backward`.
    """
    out = x.reshape(x.shape[0], -1) @ w
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
    dw : ndarray of shape (D, M)
    db : ndarray of shape (M,)
    """
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)
    dw = x2.T @ dout
    db = dout.sum(axis=0)
    dx = (dout @ w.T).reshape(x.shape) if compute_dx else None
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
    cache : ndarray
        The output, whose positive entries mark where gradient flows.
    """
    out = np.maximum(x, 0)
    return out, out


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
    """
    # out > 0 exactly where x > 0, so caching the output is enough; multiplying by
    # the boolean mask is an order of magnitude faster than np.where
    return dout * (cache > 0)


def _check_keep_probability(p):
    if not (isinstance(p, (int, float, np.integer, np.floating)) and 0 < p <= 1):
        raise ValueError(
            f"dropout_param['p'] is the probability of keeping a unit and must be in "
            f"(0, 1], got {p!r}."
        )


def _uniform(shape, dtype, dropout_param):
    """Uniform [0, 1) draws for a dropout mask, from the source the param names."""
    seed = dropout_param.get("seed")
    if seed is not None:
        # a private RandomState: the same mask on every call, global state untouched
        return np.random.RandomState(seed).rand(*shape)
    rng = dropout_param.get("rng")
    if rng is None:
        return np.random.rand(*shape)
    if isinstance(rng, np.random.Generator):
        # float32 draws are twice as fast and plenty for a comparison with p
        return rng.random(shape, dtype=np.float32 if dtype == np.float32 else np.float64)
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
    cache : tuple
        ``(dropout_param, mask)``; in train mode ``mask`` holds ``1 / p`` for kept
        units and 0 for dropped ones, in test mode it is None.
    """
    p = dropout_param["p"]
    mode = dropout_param["mode"]
    _check_keep_probability(p)
    dtype = x.dtype if np.issubdtype(x.dtype, np.floating) else np.dtype(np.float64)
    if mode == "train":
        mask = (_uniform(x.shape, dtype, dropout_param) < p).astype(dtype)
        mask /= p
        out = x * mask
    elif mode == "test":
        mask = None
        out = x
    else:
        raise ValueError(f"dropout_param['mode'] must be 'train' or 'test', got {mode!r}.")
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
    """
    dropout_param, mask = cache
    if dropout_param["mode"] == "train":
        return dout * mask
    return dout


# Batch and layer normalization are one computation over different axes: batchnorm
# normalizes each feature over the batch (axis 0), layernorm each sample over its
# features (axis 1), and the spatial variants over (N, H, W) or channel groups.  The
# helpers below are that one implementation; gamma and beta always broadcast against
# x and their gradients are summed over the axes gamma is broadcast along.

def _normalize_forward(x, gamma, beta, eps, axis):
    """Normalize ``x`` over ``axis`` with its own statistics, then scale and shift."""
    mean = x.mean(axis=axis, keepdims=True)
    xhat = x - mean
    var = np.mean(np.square(xhat), axis=axis, keepdims=True)  # biased
    inv_std = 1 / np.sqrt(var + eps)
    xhat *= inv_std
    out = xhat * gamma
    out += beta
    cache = (x, xhat, mean, var, inv_std, gamma, eps, axis)
    return out, cache


def _param_grad_axes(dout, gamma):
    """Axes along which gamma (and beta) were broadcast against the output."""
    g = np.reshape(gamma, (1,) * (dout.ndim - np.ndim(gamma)) + np.shape(gamma))
    return tuple(i for i in range(dout.ndim) if g.shape[i] == 1 and dout.shape[i] != 1)


def _normalize_backward(dout, cache):
    """Closed-form gradient of :func:`_normalize_forward`.

    With ``g = dout * gamma`` and ``M`` values per statistic,
    ``dx = inv_std * (g - mean(g) - xhat * mean(g * xhat))``, means over the
    normalized axes.
    """
    x, xhat, mean, var, inv_std, gamma, eps, axis = cache
    param_axes = _param_grad_axes(dout, gamma)
    dbeta = dout.sum(axis=param_axes).reshape(np.shape(gamma))
    dgamma = (dout * xhat).sum(axis=param_axes).reshape(np.shape(gamma))
    g = dout * gamma
    gx_mean = (g * xhat).mean(axis=axis, keepdims=True)
    g_mean = g.mean(axis=axis, keepdims=True)
    g -= g_mean
    g -= xhat * gx_mean
    g *= inv_std
    return g, dgamma, dbeta


def _running_stat(bn_param, key, shape, dtype):
    value = bn_param.get(key)
    return np.zeros(shape, dtype=dtype) if value is None else value


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch normalization of each feature over the batch, then ``gamma * xhat + beta``.

    In train mode the batch mean and biased variance normalize ``x`` and update the
    running statistics in ``bn_param`` as
    ``running = momentum * running + (1 - momentum) * batch_statistic``; in test mode
    the running statistics normalize ``x``.

    Parameters
    ----------
    x : ndarray of shape (N, D)
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
    cache : tuple
        For :func:`batchnorm_backward` and :func:`batchnorm_backward_alt`; None in
        test mode.
    """
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    n_features = x.shape[1]
    running_mean = _running_stat(bn_param, "running_mean", n_features, x.dtype)
    running_var = _running_stat(bn_param, "running_var", n_features, x.dtype)
    if mode == "train":
        out, cache = _normalize_forward(x, gamma, beta, eps, axis=0)
        mean, var = cache[2].ravel(), cache[3].ravel()
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        scale = gamma / np.sqrt(running_var + eps)
        out = (x - running_mean) * scale
        out += beta
        cache = None
    else:
        raise ValueError(f"bn_param['mode'] must be 'train' or 'test', got {mode!r}.")
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
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
    dgamma : ndarray of shape (D,)
    dbeta : ndarray of shape (D,)
    """
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
    dgamma : ndarray of shape (D,)
    dbeta : ndarray of shape (D,)
    """
    return _normalize_backward(dout, cache)


def layernorm_forward(x, gamma, beta, ln_param):
    """Layer normalization of each sample over its features, then ``gamma * xhat + beta``.

    The statistics are per sample, so train and test behave identically and there
    are no running averages.

    Parameters
    ----------
    x : ndarray of shape (N, D)
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
    cache : tuple
        For :func:`layernorm_backward`.
    """
    return _normalize_forward(x, gamma, beta, ln_param.get("eps", 1e-5), axis=1)


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
    dgamma : ndarray of shape (D,)
    dbeta : ndarray of shape (D,)
    """
    return _normalize_backward(dout, cache)


def softmax_loss(x, y, label_smoothing=0.0):
    """Mean cross-entropy loss of softmax class scores, and its gradient.

    Computed through log-softmax (log-sum-exp after subtracting each row's maximum),
    so it stays finite for any finite scores and never takes ``log(0)``.

    Parameters
    ----------
    x : ndarray of shape (N, C)
        Class scores; float32 stays float32.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.
    label_smoothing : float, default=0.0
        skdeep extension: the target of each row is ``1 - label_smoothing`` on its
        label plus ``label_smoothing / C`` on every class, instead of the label
        alone.  0 is the plain cross-entropy.

    Returns
    -------
    loss : float
        Mean over the N rows of ``-sum(target * log softmax(x))``; with no
        smoothing, ``-log softmax(x)[y]``.
    dx : ndarray of shape (N, C)
        Gradient of the loss with respect to ``x``: ``(softmax(x) - target) / N``.
    """
    n, num_classes = x.shape
    rows = np.arange(n)
    log_probs = x - x.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    loss = -float(log_probs[rows, y].sum()) / n
    dx = np.exp(log_probs)
    if label_smoothing:
        # the uniform part of the target weighs every log-probability equally
        loss = ((1 - label_smoothing) * loss
                - label_smoothing * float(log_probs.sum()) / (n * num_classes))
        dx[rows, y] -= 1 - label_smoothing
        dx -= label_smoothing / num_classes
    else:
        dx[rows, y] -= 1
    dx /= n
    return loss, dx


def svm_loss(x, y):
    """Mean multiclass hinge loss (margin 1) of class scores, and its gradient.

    Parameters
    ----------
    x : ndarray of shape (N, C)
        Class scores.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.

    Returns
    -------
    loss : float
        Mean over the N rows of ``sum_{j != y} max(0, x_j - x_y + 1)``.
    dx : ndarray of shape (N, C)
        Gradient of the loss with respect to ``x``.
    """
    n = x.shape[0]
    rows = np.arange(n)
    margins = x - x[rows, y][:, None]
    margins += 1
    np.maximum(margins, 0, out=margins)
    margins[rows, y] = 0
    loss = float(margins.sum()) / n
    dx = (margins > 0).astype(x.dtype)
    dx[rows, y] = -dx.sum(axis=1)
    dx /= n
    return loss, dx
