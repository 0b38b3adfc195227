"""Linear classifiers trained by minibatch SGD, and their loss functions.

:class:`LinearSVMClassifier` (multiclass hinge loss) and :class:`SoftmaxClassifier`
(cross-entropy) are scikit-learn classifiers.  The loss functions
``(W, X, y, reg) -> (loss, dW)`` come in a vectorized version, the one training
uses, and a naive one with explicit loops to check it against.
"""
from ._classifiers import LinearSVMClassifier, SoftmaxClassifier
from ._losses import (
    softmax_loss_naive,
    softmax_loss_vectorized,
    svm_loss_naive,
    svm_loss_vectorized,
)

__all__ = [
    "LinearSVMClassifier",
    "SoftmaxClassifier",
    "softmax_loss_naive",
    "softmax_loss_vectorized",
    "svm_loss_naive",
    "svm_loss_vectorized",
]
