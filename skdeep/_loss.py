"""Losses of class scores, ``(scores, y) -> (loss, dscores)`` (private module).

The one implementation of the softmax cross-entropy and the multiclass hinge loss
at the level of scores.  The network engine (:mod:`skdeep.nn.layers`, where they
are public) and the linear classifiers (:mod:`skdeep.linear_model`) both use
them; this module imports NumPy and skdeep's generic checks only, so the linear
models do not load the convolution engine to compute a loss.
"""
import numpy as np

from .utils._checks import check_array, check_labels, check_number, check_shape
from .utils._scores import log_softmax

__all__ = ["softmax_loss", "svm_loss"]


def _check_loss_inputs(x, y):
    """Entry checks of the losses: (N, C) float scores, N labels in [0, C)."""
    x = check_array(x, "x", ndim=2, floating=True, shape_doc="(N, C)")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise ValueError(f"x must have at least one row and one class, got shape "
                         f"{x.shape}.")
    y = check_labels(y, x.shape[0], x.shape[1])
    return x, y


def softmax_loss(x, y, label_smoothing=0.0, sample_weight=None):
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
    sample_weight : ndarray of shape (N,), default=None
        skdeep extension: non-negative weight of each row, which multiplies that
        row's loss before the mean over the N rows.  Weights that average one over
        the rows give the weighted mean loss; a batch of zero weights gives zero.

    Returns
    -------
    loss : float
        Mean over the N rows of ``-sum(target * log softmax(x))`` (times the row's
        weight); with no smoothing, ``-log softmax(x)[y]``.
    dx : ndarray of shape (N, C)
        Gradient of the loss with respect to ``x``: ``(softmax(x) - target) / N``
        (times the row's weight).

    Raises
    ------
    ValueError
        When ``x`` is not 2-D or empty, or ``y`` is not a vector of N labels in
        ``[0, C)``.
    TypeError
        When ``x`` is not floating point or ``y`` not integers.
    """
    x, y = _check_loss_inputs(x, y)
    check_number(label_smoothing, "label_smoothing", low=0, high=1)
    n, num_classes = x.shape
    rows = np.arange(n)
    log_probs = log_softmax(x)
    row_losses = -log_probs[rows, y]
    dx = np.exp(log_probs)
    if label_smoothing:
        # the uniform part of the target weighs every log-probability equally
        row_losses *= 1 - label_smoothing
        row_losses -= (label_smoothing / num_classes) * log_probs.sum(axis=1)
        dx[rows, y] -= 1 - label_smoothing
        dx -= label_smoothing / num_classes
    else:
        dx[rows, y] -= 1
    if sample_weight is None:
        loss = float(row_losses.sum()) / n
    else:
        weight = check_array(sample_weight, "sample_weight")
        check_shape(weight, "sample_weight", (n,), "(one weight per row of x)")
        weight = weight.astype(x.dtype, copy=False)
        loss = float(np.dot(row_losses, weight)) / n
        dx *= weight[:, None]
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

    Raises
    ------
    ValueError
        When ``x`` is not 2-D or empty, or ``y`` is not a vector of N labels in
        ``[0, C)``.
    TypeError
        When ``x`` is not floating point or ``y`` not integers.
    """
    x, y = _check_loss_inputs(x, y)
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
