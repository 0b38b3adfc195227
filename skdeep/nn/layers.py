"""Layers: forward and backward passes.

Every forward function returns ``(out, cache)``; every backward function takes
``(dout, cache)`` and returns the gradients in the order of the forward inputs.
Arrays are channels-first, ``(N, C, H, W)``.
"""
import numpy as np


def softmax_loss(x, y):
    """Mean cross-entropy loss of softmax class scores, and its gradient.

    Computed through log-softmax (log-sum-exp after subtracting each row's maximum),
    so it stays finite for any finite scores and never takes ``log(0)``.

    Parameters
    ----------
    x : ndarray of shape (N, C)
        Class scores; float32 stays float32.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.

    Returns
    -------
    loss : float
        Mean over the N rows of ``-log softmax(x)[y]``.
    dx : ndarray of shape (N, C)
        Gradient of the loss with respect to ``x``.
    """
    n = x.shape[0]
    rows = np.arange(n)
    log_probs = x - x.max(axis=1, keepdims=True)
    log_probs -= np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    loss = -float(log_probs[rows, y].sum()) / n
    dx = np.exp(log_probs)
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
