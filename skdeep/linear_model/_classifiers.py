"""Linear classifiers trained by minibatch SGD: multiclass SVM and softmax."""
import numbers
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..exceptions import DivergenceError, check_finite_loss
from ..nn.layers import softmax_loss, svm_loss
from ..utils._threads import (blas_max_threads, blas_single_thread,
                              openmp_effective_n_threads, with_blas_single_thread)
from ._losses import linear_loss


def _check_number(estimator, name, value, kind, low, low_inclusive):
    """Raise a scikit-learn style error unless ``value`` is a ``kind`` above ``low``."""
    if kind is numbers.Integral:
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
        kind_name = "an int"
    else:
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        kind_name = "a float"
    if ok:
        ok = value >= low if low_inclusive else value > low
        ok = ok and np.isfinite(value)
    if not ok:
        bracket = "[" if low_inclusive else "("
        raise ValueError(
            f"The '{name}' parameter of {type(estimator).__name__} must be "
            f"{kind_name} in the range {bracket}{low}, inf). Got {value!r} instead."
        )


class _Inline:
    """An executor that runs each task at once on the calling thread."""

    class _Done:
        def __init__(self, value):
            self._value = value

        def result(self):
            return self._value

    def submit(self, fn, *args, **kwargs):
        return self._Done(fn(*args, **kwargs))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# Below this many batch values per step (batch_size x n_features) a helper
# thread's two hand-offs cost more than the work it takes over: measured with
# batches of 200, it lost at 512 features (0.38 s -> 0.44 s for 1,500 steps) and
# won from 1,024 (0.64 s -> 0.55 s; 1.52 s -> 1.11 s at 3,072).
_HELPER_MIN_BATCH_VALUES = 2**17


def _second_thread_allowed():
    """Whether fit may keep a second core busy.

    Follows skdeep's thread convention (:mod:`skdeep.utils._threads`) and the
    BLAS limit: inside ``GridSearchCV(n_jobs=...)`` workers, or under
    ``threadpoolctl.threadpool_limits(1)``, fit stays on one thread.
    """
    return openmp_effective_n_threads() >= 2 and blas_max_threads() >= 2


class _BaseLinearClassifier(ClassifierMixin, BaseEstimator):
    """Shared training and prediction of the SGD-trained linear classifiers.

    Subclasses set ``_score_loss``, a function ``(scores, y) -> (loss, dscores)``.
    """

    _score_loss = None

    def __init__(
        self, learning_rate, reg, num_iters, batch_size, random_state, verbose
    ):
        self.learning_rate = learning_rate
        self.reg = reg
        self.num_iters = num_iters
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    def _validate_params(self):
        _check_number(self, "learning_rate", self.learning_rate, numbers.Real, 0, False)
        _check_number(self, "reg", self.reg, numbers.Real, 0, True)
        _check_number(self, "num_iters", self.num_iters, numbers.Integral, 1, True)
        _check_number(self, "batch_size", self.batch_size, numbers.Integral, 1, True)

    def fit(self, X, y):
        """Train the classifier by minibatch SGD.

        Each of the ``num_iters`` steps draws ``batch_size`` rows with replacement,
        computes the loss and its gradient on them and moves the weights by
        ``-learning_rate`` times the gradient.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.  float32 data is trained in float32, anything else in
            float64.
        y : array-like of shape (n_samples,)
            Class labels, of any type.

        Returns
        -------
        self : object
            The fitted classifier.

        Raises
        ------
        skdeep.exceptions.DivergenceError
            If the loss or the weights become NaN or infinite, which means the
            learning rate is too large for the data.
        """
        self._validate_params()
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], order="C", accept_sparse=False
        )
        check_classification_targets(y)
        classes, y_encoded = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in the "
                f"data, but the data contains only one class: {classes[0].tolist()!r}."
            )
        learning_rate = float(self.learning_rate)
        reg = float(self.reg)
        num_iters = int(self.num_iters)
        batch_size = int(self.batch_size)
        n_samples, n_features = X.shape
        n_classes = len(classes)
        dtype = X.dtype
        rng = check_random_state(self.random_state)

        # The seeds' model is one (D + 1, C) matrix over X with a column of ones
        # appended; drawing it whole keeps their random stream (initialization, then
        # batches), and its last row is the bias.  Appending the column would copy X.
        W_full = 0.001 * rng.randn(n_features + 1, n_classes)
        W = np.ascontiguousarray(W_full[:n_features], dtype=dtype)
        b = W_full[n_features].astype(dtype)

        # Two batch buffers: the next batch is gathered while this step's
        # products run.  With a second core and large batches, a helper thread
        # does that gather (a memory-bound random read of the training rows) and
        # half of the weight gradient; the products stay single-threaded BLAS.
        # Otherwise the same work runs in the same order on this thread, so
        # results never depend on the threads.
        X_batches = (np.empty((batch_size, n_features), dtype=dtype),
                     np.empty((batch_size, n_features), dtype=dtype))
        y_batch = np.empty(batch_size, dtype=y_encoded.dtype)
        scores = np.empty((batch_size, n_classes), dtype=dtype)
        dW = np.empty_like(W)
        loss_history = np.empty(num_iters)

        use_helper = (batch_size * n_features >= _HELPER_MIN_BATCH_VALUES
                      and _second_thread_allowed())
        helper = ThreadPoolExecutor(max_workers=1) if use_helper else _Inline()
        # The products are (batch_size x D) by (D x C) with C small: BLAS's own
        # threads barely help them on an idle machine and, busy-waiting, slow them
        # many times over on a busy one or inside parallel grid searches.
        with blas_single_thread(), np.errstate(
            over="ignore", invalid="ignore"
        ), helper:
            # randint(n, size) draws what the seeds' np.random.choice(n, size) does;
            # drawing a step ahead keeps their stream, as nothing else draws.
            batch_idx = rng.randint(n_samples, size=batch_size)
            # mode="clip" because the default "raise" buffers `out`; the
            # indices are in range by construction.
            np.take(X, batch_idx, axis=0, out=X_batches[0], mode="clip")
            for it in range(num_iters):
                X_batch = X_batches[it % 2]
                np.take(y_encoded, batch_idx, out=y_batch, mode="clip")
                next_batch = None
                if it + 1 < num_iters:
                    batch_idx = rng.randint(n_samples, size=batch_size)
                    next_batch = helper.submit(
                        np.take, X, batch_idx, 0, X_batches[(it + 1) % 2], "clip"
                    )
                loss, _, db = linear_loss(
                    self._score_loss, W, X_batch, y_batch, reg, b=b,
                    scores_out=scores, dW_out=dW, helper=helper,
                )
                check_finite_loss(loss, self.learning_rate, it)
                loss_history[it] = loss
                if self.verbose and it % 100 == 0:
                    print("iteration %d / %d: loss %f" % (it, num_iters, loss))
                dW *= learning_rate
                W -= dW
                db *= learning_rate
                b -= db
                if next_batch is not None:
                    next_batch.result()
        if not (np.isfinite(W).all() and np.isfinite(b).all()):
            raise DivergenceError(
                f"Training diverged: the weights became non-finite in the last "
                f"iteration with learning_rate={self.learning_rate!r}. The learning "
                f"rate is probably too large for this data; try a smaller "
                f"learning_rate (for example {learning_rate / 10:g}) or standardize "
                f"the features."
            )

        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(W.T)
        self.intercept_ = b
        self.loss_history_ = loss_history
        self.n_iter_ = num_iters
        return self

    @with_blas_single_thread
    def _class_scores(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], accept_sparse=False, reset=False
        )
        return X @ self.coef_.T + self.intercept_

    def decision_function(self, X):
        """Class scores of the samples in ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes) or (n_samples,)
            ``X @ coef_.T + intercept_``, one column per class in ``classes_``.
            With two classes, scikit-learn's binary convention: the score of
            ``classes_[1]`` minus the score of ``classes_[0]``, positive where
            ``classes_[1]`` is predicted.
        """
        scores = self._class_scores(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

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
        scores = self._class_scores(X)
        return self.classes_[np.argmax(scores, axis=1)]


class LinearSVMClassifier(_BaseLinearClassifier):
    """Multiclass linear SVM (Weston-Watkins hinge loss) trained by minibatch SGD.

    Minimizes the mean over samples of ``sum_{j != y} max(0, s_j - s_y + 1)`` with
    class scores ``s = x @ coef_.T + intercept_``, plus ``reg`` times the sum of the
    squared weights, bias included (the CS231n formulation, where the bias is a row
    of the weight matrix fed by a column of ones).  Training is plain SGD:
    ``num_iters`` steps, each on ``batch_size`` rows drawn with replacement.

    Parameters
    ----------
    learning_rate : float, default=1e-3
        SGD step size.  The default suits standardized features; raw pixel values
        (0 to 255, centered) need about 1e-7.
    reg : float, default=1e-5
        L2 regularization strength: ``reg * sum(W**2)`` is added to the loss.
    num_iters : int, default=1500
        Number of SGD steps.
    batch_size : int, default=200
        Rows per step, drawn with replacement (may exceed ``n_samples``).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization (``0.001`` times standard normal) and the
        batches.  An int gives identical results for identical inputs; with
        ``random_state=s`` training follows the same random draws as the CS231n code
        after ``np.random.seed(s)``.
    verbose : int, default=0
        If nonzero, print the loss every 100 iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (n_classes, n_features)
        Weights, one row per class (also for two classes), in the training dtype.
    intercept_ : ndarray of shape (n_classes,)
        Biases, one per class.
    loss_history_ : ndarray of shape (num_iters,)
        Minibatch loss, regularization included, at each iteration.
    n_iter_ : int
        Number of SGD steps run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    SoftmaxClassifier : The same model with the cross-entropy loss.
    svm_loss_vectorized : The loss, as a function of the weights.

    Notes
    -----
    The BLAS library runs single-threaded during ``fit``: its threads gain little
    on these small products and slow them down many times when cores are busy.
    When the BLAS thread limit allows two threads, one helper thread gathers the
    next batch and computes half of the weight gradient; the weights are the same
    either way.  ``threadpoolctl.threadpool_limits(1)`` keeps ``fit`` on one thread.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep.linear_model import LinearSVMClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), LinearSVMClassifier(random_state=0))
    >>> clf.fit(X, y).score(X, y) > 0.9
    True
    """

    _score_loss = staticmethod(svm_loss)

    def __init__(
        self,
        learning_rate=1e-3,
        reg=1e-5,
        num_iters=1500,
        batch_size=200,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            learning_rate=learning_rate,
            reg=reg,
            num_iters=num_iters,
            batch_size=batch_size,
            random_state=random_state,
            verbose=verbose,
        )


class SoftmaxClassifier(_BaseLinearClassifier):
    """Softmax (multinomial logistic) classifier trained by minibatch SGD.

    Minimizes the mean cross-entropy of the softmax of the class scores
    ``s = x @ coef_.T + intercept_``, plus ``reg`` times the sum of the squared
    weights, bias included (the CS231n formulation, where the bias is a row of the
    weight matrix fed by a column of ones).  Training is plain SGD: ``num_iters``
    steps, each on ``batch_size`` rows drawn with replacement.

    Parameters
    ----------
    learning_rate : float, default=1e-2
        SGD step size.  The default suits standardized features; raw pixel values
        (0 to 255, centered) need about 1e-7.  Softmax gradients are smaller than
        hinge-loss ones, hence a larger default than :class:`LinearSVMClassifier`'s.
    reg : float, default=1e-5
        L2 regularization strength: ``reg * sum(W**2)`` is added to the loss.
    num_iters : int, default=1500
        Number of SGD steps.
    batch_size : int, default=200
        Rows per step, drawn with replacement (may exceed ``n_samples``).
    random_state : int, RandomState instance or None, default=None
        Seeds the weight initialization (``0.001`` times standard normal) and the
        batches.  An int gives identical results for identical inputs; with
        ``random_state=s`` training follows the same random draws as the CS231n code
        after ``np.random.seed(s)``.
    verbose : int, default=0
        If nonzero, print the loss every 100 iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    coef_ : ndarray of shape (n_classes, n_features)
        Weights, one row per class (also for two classes), in the training dtype.
    intercept_ : ndarray of shape (n_classes,)
        Biases, one per class.
    loss_history_ : ndarray of shape (num_iters,)
        Minibatch loss, regularization included, at each iteration.
    n_iter_ : int
        Number of SGD steps run.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during fit, when ``X`` has string column names.

    See Also
    --------
    LinearSVMClassifier : The same model with the multiclass hinge loss.
    softmax_loss_vectorized : The loss, as a function of the weights.

    Notes
    -----
    The BLAS library runs single-threaded during ``fit``: its threads gain little
    on these small products and slow them down many times when cores are busy.
    When the BLAS thread limit allows two threads, one helper thread gathers the
    next batch and computes half of the weight gradient; the weights are the same
    either way.  ``threadpoolctl.threadpool_limits(1)`` keeps ``fit`` on one thread.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep.linear_model import SoftmaxClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = make_pipeline(StandardScaler(), SoftmaxClassifier(random_state=0))
    >>> clf.fit(X, y).predict_proba(X[:2]).shape
    (2, 10)
    """

    _score_loss = staticmethod(softmax_loss)

    def __init__(
        self,
        learning_rate=1e-2,
        reg=1e-5,
        num_iters=1500,
        batch_size=200,
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            learning_rate=learning_rate,
            reg=reg,
            num_iters=num_iters,
            batch_size=batch_size,
            random_state=random_state,
            verbose=verbose,
        )

    def predict_log_proba(self, X):
        """Log of the softmax probabilities of each class.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``; finite for any finite scores.
        """
        scores = self._class_scores(X)
        scores -= scores.max(axis=1, keepdims=True)
        scores -= np.log(np.exp(scores).sum(axis=1, keepdims=True))
        return scores

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
        scores = self._class_scores(X)
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores
