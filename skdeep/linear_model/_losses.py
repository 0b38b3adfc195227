"""Loss functions of the linear classifiers: multiclass SVM (hinge) and softmax.

Each public function takes ``(W, X, y, reg)`` with ``W`` of shape (D, C), ``X`` of
shape (N, D) and integer labels ``y`` in ``[0, C)``, and returns ``(loss, dW)``: the
mean data loss over the N samples plus ``reg * sum(W**2)``, and its gradient, whose
regularization part is ``2 * reg * W``.

The vectorized versions are the implementation the classifiers train with: the
score-level math lives once, in :func:`skdeep.nn.layers.svm_loss` and
:func:`skdeep.nn.layers.softmax_loss` (defined in the small module ``skdeep._loss``,
so that the linear models do not load the convolution engine), and
:func:`linear_loss` adds the linear map around it.  The L2 penalty is added by the
public functions here and, folded into the update, by the SGD loop.  The naive versions loop over
samples and classes with none of that machinery, so that the two can be tested
against each other.
"""
import math

import numpy as np

from .._loss import softmax_loss, svm_loss
from ..utils._checks import check_number


def _check_loss_args(W, X, y, reg):
    """Entry checks of the public losses; ``(W, X, y)`` as arrays."""
    check_number(reg, "reg", low=0)
    W = np.asarray(W)
    X = np.asarray(X)
    y = np.asarray(y)
    if W.ndim != 2:
        raise ValueError(f"W must be a 2-D array of shape (D, C), got shape {W.shape}.")
    if X.ndim != 2:
        raise ValueError(f"X must be a 2-D array of shape (N, D), got shape {X.shape}.")
    if X.shape[1] != W.shape[0]:
        raise ValueError(
            f"X has {X.shape[1]} features per row but W has {W.shape[0]} rows; they "
            f"must match (X of shape (N, D), W of shape (D, C))."
        )
    if y.shape != (X.shape[0],):
        raise ValueError(
            f"y must have shape ({X.shape[0]},), one label per row of X, got shape "
            f"{y.shape}."
        )
    if y.size and not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"y must hold integer class indices, got dtype {y.dtype}.")
    if y.size and (y.min() < 0 or y.max() >= W.shape[1]):
        raise ValueError(
            f"y must hold class indices in [0, {W.shape[1]}) for W with "
            f"{W.shape[1]} columns, got values from {y.min()} to {y.max()}."
        )
    if X.shape[0] == 0:
        raise ValueError("X has no rows; the mean loss over zero samples is undefined.")
    return W, X, y


def _sum_of_squares(a):
    # ravel in memory order: a view also of a W laid out as the transpose of a
    # C-contiguous array, which reshape(-1) would copy
    flat = a.ravel(order="K")
    return float(np.dot(flat, flat))


def linear_loss(score_loss, W, X, y, b=None, scores_out=None, dW_out=None,
                helper=None):
    """Data loss and gradients of the linear scores ``X @ W + b`` under ``score_loss``.

    The one implementation of the linear classifiers' training math; the public
    ``*_loss_vectorized`` functions (which add the L2 penalty) and the estimators'
    SGD loop (which folds it into its update) both call it.

    Parameters
    ----------
    score_loss : callable
        ``score_loss(scores, y) -> (mean data loss, dscores)``, for example
        :func:`skdeep.nn.layers.svm_loss`.
    W : ndarray of shape (D, C)
    X : ndarray of shape (N, D)
        Same dtype as ``W``.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.
    b : ndarray of shape (C,) or None
        Bias.  Its gradient is that of the bias row of the bias-column trick (a
        column of ones appended to ``X``).
    scores_out : ndarray of shape (N, C), optional
        Buffer for the scores, to avoid an allocation per call.
    dW_out : ndarray of shape (D, C), optional
        Buffer that receives ``dW``; fastest as the transpose of a C-contiguous
        (C, D) array, as the trainer keeps it.
    helper : executor, optional
        Anything with ``submit(fn, *args, **kwargs)`` returning an object with
        ``result()``, as ``concurrent.futures.Executor``.  When given, ``dW`` is
        computed as two products over halves of the features, the second half
        submitted to ``helper``.  The split is the same whether the helper is
        another thread or runs tasks in place, so the result does not depend on
        the threads.

    Returns
    -------
    loss : float
        The mean data loss, no penalty.
    dW : ndarray of shape (D, C)
    db : ndarray of shape (C,) or None
        None when ``b`` is None.
    """
    scores = np.matmul(X, W, out=scores_out)
    if b is not None:
        scores += b
    data_loss, dscores = score_loss(scores, y)
    # dW is computed transposed, as dscores.T @ X: with few classes OpenBLAS runs
    # that shape faster than X.T @ dscores.  A dW_out laid out as the transpose of
    # a C-contiguous (C, D) array takes the product in place.
    if dW_out is None:
        dW_t = np.empty(W.shape[::-1], dtype=np.result_type(X, dscores))
    else:
        dW_t = dW_out.T
    second_half = None
    if helper is None:
        np.matmul(dscores.T, X, out=dW_t)
    else:
        half = X.shape[1] // 2
        second_half = helper.submit(np.matmul, dscores.T, X[:, half:],
                                    out=dW_t[:, half:])
        np.matmul(dscores.T, X[:, :half], out=dW_t[:, :half])
    # the bias gradient needs no dW: computed while the helper may still be busy
    db = None if b is None else dscores.sum(axis=0)
    if second_half is not None:
        second_half.result()
    return data_loss, dW_t.T, db


def svm_loss_vectorized(W, X, y, reg):
    """Multiclass SVM loss (margin 1) of a linear classifier, vectorized.

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights, one column per class.
    X : ndarray of shape (N, D)
        Samples, one per row.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.
    reg : float
        L2 regularization strength.

    Returns
    -------
    loss : float
        ``mean_i sum_{j != y_i} max(0, s_ij - s_iy_i + 1) + reg * sum(W**2)`` with
        ``s = X @ W``.
    dW : ndarray of shape (D, C)
        Gradient of ``loss`` with respect to ``W``, in the dtype of ``X @ W``.

    See Also
    --------
    svm_loss_naive : The same loss with explicit loops, a reference for tests.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.linear_model import svm_loss_vectorized
    >>> W = np.zeros((2, 3))
    >>> X = np.array([[1.0, 2.0]])
    >>> loss, dW = svm_loss_vectorized(W, X, np.array([0]), reg=0.0)
    >>> loss  # two wrong classes, each violating the margin by 1
    2.0
    """
    return _vectorized_loss(svm_loss, W, X, y, reg)


def softmax_loss_vectorized(W, X, y, reg):
    """Softmax (cross-entropy) loss of a linear classifier, vectorized.

    Stays finite for any finite scores: it is computed through log-softmax.

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights, one column per class.
    X : ndarray of shape (N, D)
        Samples, one per row.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.
    reg : float
        L2 regularization strength.

    Returns
    -------
    loss : float
        ``mean_i -log softmax(s_i)[y_i] + reg * sum(W**2)`` with ``s = X @ W``.
    dW : ndarray of shape (D, C)
        Gradient of ``loss`` with respect to ``W``, in the dtype of ``X @ W``.

    See Also
    --------
    softmax_loss_naive : The same loss with explicit loops, a reference for tests.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.linear_model import softmax_loss_vectorized
    >>> W = np.zeros((2, 4))
    >>> X = np.array([[1.0, 2.0]])
    >>> loss, dW = softmax_loss_vectorized(W, X, np.array([0]), reg=0.0)
    >>> print(f"{loss:.4f}")  # uniform over 4 classes: log(4)
    1.3863
    """
    return _vectorized_loss(softmax_loss, W, X, y, reg)


def _vectorized_loss(score_loss, W, X, y, reg):
    """The public vectorized loss of ``score_loss``: checks, :func:`linear_loss`, then
    the L2 penalty ``reg * sum(W**2)`` and its gradient."""
    W, X, y = _check_loss_args(W, X, y, reg)
    data_loss, dW, _ = linear_loss(score_loss, W, X, y)
    dW += (2 * reg) * W
    return data_loss + reg * _sum_of_squares(W), dW


def _naive_loss(sample_loss, W, X, y, reg):
    """Loop over samples in float64: the mean of ``sample_loss`` plus ``reg * sum(W**2)``.

    ``sample_loss(scores, label, x, dW)`` returns one sample's loss and adds its
    gradient to ``dW``, looping over the classes.
    """
    W, X, y = _check_loss_args(W, X, y, reg)
    W = W.astype(np.float64)
    X = X.astype(np.float64)
    num_train = X.shape[0]
    loss = 0.0
    dW = np.zeros_like(W)
    for i in range(num_train):
        loss += sample_loss(X[i] @ W, y[i], X[i], dW)
    loss /= num_train
    dW /= num_train
    loss += reg * np.sum(W * W)
    dW += 2 * reg * W
    return float(loss), dW


def _svm_sample_loss(scores, label, x, dW):
    loss = 0.0
    correct_class_score = scores[label]
    for j in range(len(scores)):
        if j == label:
            continue
        margin = scores[j] - correct_class_score + 1
        if margin > 0:
            loss += margin
            dW[:, j] += x
            dW[:, label] -= x
    return loss


def _softmax_sample_loss(scores, label, x, dW):
    num_classes = len(scores)
    # shifted by the maximum so that no exp overflows
    max_score = max(scores[j] for j in range(num_classes))
    sum_exp = 0.0
    for j in range(num_classes):
        sum_exp += math.exp(scores[j] - max_score)
    log_sum_exp = max_score + math.log(sum_exp)
    for j in range(num_classes):
        prob = math.exp(scores[j] - log_sum_exp)
        dW[:, j] += (prob - (j == label)) * x
    return log_sum_exp - scores[label]


def svm_loss_naive(W, X, y, reg):
    """Multiclass SVM loss (margin 1) of a linear classifier, with explicit loops.

    A reference implementation: it loops over samples and classes, in float64,
    and shares no code with :func:`svm_loss_vectorized`, which it must agree with.

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights, one column per class.
    X : ndarray of shape (N, D)
        Samples, one per row.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.
    reg : float
        L2 regularization strength.

    Returns
    -------
    loss : float
        ``mean_i sum_{j != y_i} max(0, s_ij - s_iy_i + 1) + reg * sum(W**2)``.
    dW : ndarray of shape (D, C), float64
        Gradient of ``loss`` with respect to ``W``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.linear_model import svm_loss_naive
    >>> loss, dW = svm_loss_naive(np.zeros((2, 3)), np.ones((1, 2)), np.array([0]), 0.0)
    >>> loss
    2.0
    """
    return _naive_loss(_svm_sample_loss, W, X, y, reg)


def softmax_loss_naive(W, X, y, reg):
    """Softmax (cross-entropy) loss of a linear classifier, with explicit loops.

    A reference implementation: it loops over samples and classes, in float64,
    and shares no code with :func:`softmax_loss_vectorized`, which it must agree
    with.  Each sample's scores are shifted by their maximum before
    exponentiating, so the loss stays finite for any finite scores.

    Parameters
    ----------
    W : ndarray of shape (D, C)
        Weights, one column per class.
    X : ndarray of shape (N, D)
        Samples, one per row.
    y : ndarray of shape (N,)
        Integer labels in ``[0, C)``.
    reg : float
        L2 regularization strength.

    Returns
    -------
    loss : float
        ``mean_i -log softmax(s_i)[y_i] + reg * sum(W**2)``.
    dW : ndarray of shape (D, C), float64
        Gradient of ``loss`` with respect to ``W``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.linear_model import softmax_loss_naive
    >>> loss, dW = softmax_loss_naive(np.zeros((2, 4)), np.ones((1, 2)), np.array([0]), 0.0)
    >>> print(f"{loss:.4f}")
    1.3863
    """
    return _naive_loss(_softmax_sample_loss, W, X, y, reg)
