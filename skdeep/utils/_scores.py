"""Class scores to probabilities and decisions: the one implementation of each.

NumPy only, so that the network engine (which imports nothing from scikit-learn)
and the estimators share it.
"""
import numpy as np


def log_softmax(scores, out=None):
    """Log-softmax of each row of ``scores``, computed stably.

    Each row is shifted by its maximum before exponentiating, so the result is
    finite for any finite scores and ``log(0)`` is never taken.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Class scores, float32 or float64.
    out : ndarray of shape (n_samples, n_classes), default=None
        Where to write the result; may be ``scores`` itself.

    Returns
    -------
    log_proba : ndarray of shape (n_samples, n_classes)
        ``scores - logsumexp(scores, axis=1)``, in the dtype of ``scores``.
    """
    out = np.subtract(scores, scores.max(axis=1, keepdims=True), out=out)
    out -= np.log(np.exp(out).sum(axis=1, keepdims=True))
    return out


def softmax(scores, out=None):
    """Softmax of each row of ``scores``: probabilities that sum to one.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        Class scores, float32 or float64.
    out : ndarray of shape (n_samples, n_classes), default=None
        Where to write the result; may be ``scores`` itself.

    Returns
    -------
    proba : ndarray of shape (n_samples, n_classes)
        ``exp(log_softmax(scores))``, in the dtype of ``scores``.
    """
    out = np.subtract(scores, scores.max(axis=1, keepdims=True), out=out)
    np.exp(out, out=out)
    out /= out.sum(axis=1, keepdims=True)
    return out


def binary_decision(scores):
    """scikit-learn's ``decision_function`` convention for class scores.

    Parameters
    ----------
    scores : ndarray of shape (n_samples, n_classes)
        One column per class of ``classes_``.

    Returns
    -------
    decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
        With two classes, the score of ``classes_[1]`` minus that of
        ``classes_[0]`` (positive where ``classes_[1]`` wins); otherwise
        ``scores`` unchanged.
    """
    if scores.shape[1] == 2:
        return scores[:, 1] - scores[:, 0]
    return scores
