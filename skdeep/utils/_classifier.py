"""The prediction methods of every classifier with class scores, written once.

As scikit-learn's ``LinearClassifierMixin`` derives ``decision_function`` and
``predict`` from one product, a classifier here provides ``_scores(X)`` and
inherits the public methods: :class:`ScoresClassifierMixin` for the decisions,
and :class:`SoftmaxProbaMixin` on top where the model defines probabilities as
the softmax of its scores (not the linear SVM, whose hinge loss defines none).
The math is :mod:`skdeep.utils._scores`.
"""
import numpy as np

from ._scores import binary_decision, log_softmax, softmax


class ScoresClassifierMixin:
    """``decision_function`` and ``predict`` over the class scores ``_scores(X)``.

    A subclass implements ``_scores(X)``: check that it is fitted, validate
    ``X`` and return a new float array of shape (n_samples, n_classes), one
    column per class of ``classes_`` (the methods below may overwrite it).
    """

    def _scores(self, X):
        raise NotImplementedError

    def decision_function(self, X):
        """Class scores of the samples in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            One column per class in ``classes_``: ``X @ coef_.T + intercept_``
            for a linear classifier, the inputs of the softmax for a network.
            With two classes, scikit-learn's binary convention: the score of
            ``classes_[1]`` minus the score of ``classes_[0]``, positive where
            ``classes_[1]`` is predicted.
        """
        return binary_decision(self._scores(X))

    def predict(self, X):
        """Predict the class of each sample: the one with the highest score.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            Labels from ``classes_``; ties go to the class listed first.
        """
        scores = self._scores(X)  # first: it raises NotFittedError before fit
        return self.classes_[np.argmax(scores, axis=1)]


class SoftmaxProbaMixin:
    """``predict_proba`` and ``predict_log_proba``: the softmax of ``_scores(X)``.

    For models trained on the softmax cross-entropy of their scores; listed
    before :class:`ScoresClassifierMixin` among the bases.
    """

    def predict_proba(self, X):
        """Softmax probabilities of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; each row sums to one.
        """
        scores = self._scores(X)
        return softmax(scores, out=scores)

    def predict_log_proba(self, X):
        """Log of the softmax probabilities of each class, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; finite for any finite scores
            (each row is shifted by its largest score, so ``log(0)`` is never
            taken).
        """
        scores = self._scores(X)
        return log_softmax(scores, out=scores)
