"""Linear classifiers trained by minibatch SGD: multiclass SVM and softmax."""
from numbers import Integral, Real

import numpy as np
from sklearn import get_config
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from .._loss import softmax_loss, svm_loss
from ..utils._callbacks import CallbackSupport, FitTasks
from ..utils._threads import with_blas_single_thread
from ..utils._classifier import ScoresClassifierMixin, SoftmaxProbaMixin
from ..utils._param_validation import (
    NumberInterval,
    class_weight_constraints,
    training_dtype_constraints,
)
from ..utils._validation import apply_class_weight, encode_labels
from ._sgd import iterations_per_task, train_linear_sgd


def _check_batch_memory(estimator, batch_size, X, dtype):
    """Refuse a batch whose two buffers need more than the data or working_memory.

    A batch may hold more rows than the data (they are drawn with replacement),
    but buffers beyond both the size of ``X`` and scikit-learn's
    ``working_memory`` are almost surely a mistake, and would otherwise fail
    deep inside NumPy with a MemoryError.
    """
    needed = 2 * batch_size * X.shape[1] * np.dtype(dtype).itemsize
    allowed = max(X.nbytes, get_config()["working_memory"] * 2**20)
    if needed > allowed:
        raise ValueError(
            f"batch_size={batch_size} needs two batch buffers of {needed / 2**30:.3g} "
            f"GiB for {X.shape[1]} features, more than the training data "
            f"({X.shape[0]} rows) and scikit-learn's working_memory "
            f"({get_config()['working_memory']} MiB). Use a batch_size of at most "
            f"n_samples, or raise working_memory with sklearn.set_config."
        )


class _IterationTasks:
    """The ``tasks`` of :func:`train_linear_sgd`: a callback fit task per block.

    Hands each block of ``size`` iterations to scikit-learn's callbacks as one
    subtask of ``fit_tasks``, with the attributes a copy of the estimator
    needs to predict as if ``fit`` stopped after it.
    """

    def __init__(self, fit_tasks, size, classes):
        self.size = size
        self._fit_tasks = fit_tasks
        self._classes = classes

    def begin(self):
        self._fit_tasks.begin_subtask("iterations")

    def end(self, W, b, loss_history):
        return self._fit_tasks.end_subtask(lambda: {
            "classes_": self._classes, "coef_": W.T.copy(), "intercept_": b.copy(),
            "loss_history_": loss_history.copy(), "n_iter_": len(loss_history),
        })


class _BaseLinearClassifier(CallbackSupport, ScoresClassifierMixin, ClassifierMixin,
                            BaseEstimator):
    """Shared training and prediction of the SGD-trained linear classifiers.

    Subclasses set ``_score_loss``, a function ``(scores, y) -> (loss, dscores)``.
    """

    _score_loss = None

    _parameter_constraints: dict = {
        "learning_rate": [NumberInterval(Real, 0, np.inf, closed="neither")],
        "reg": [NumberInterval(Real, 0, np.inf, closed="left")],
        "num_iters": [NumberInterval(Integral, 1, None, closed="left")],
        "batch_size": [NumberInterval(Integral, 1, None, closed="left")],
        "class_weight": class_weight_constraints(),
        "dtype": training_dtype_constraints(),
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(self, learning_rate, reg, *, num_iters, batch_size, class_weight,
                 dtype, random_state, verbose):
        self.learning_rate = learning_rate
        self.reg = reg
        self.num_iters = num_iters
        self.batch_size = batch_size
        self.class_weight = class_weight
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None):
        """Train the classifier by minibatch SGD.

        Each of the ``num_iters`` steps draws ``batch_size`` rows with replacement,
        computes the mean loss and its gradient on them and moves the weights by
        ``-learning_rate`` times the gradient.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, float32 or float64 (other numbers are read as
            float64); training converts it to ``dtype`` a batch at a time.
        y : array-like of shape (n_samples,)
            Class labels, of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each row.  Weighted draws: each batch draws
            rows with probability proportional to their weight, so the mean
            loss of a batch estimates the weighted mean loss over the data.
            Integer weights draw exactly what the data with each row repeated
            ``weight`` times draws; rows of weight zero are never drawn (nor
            count as classes).  None means equal weights.  Multiplied by the
            weights of ``class_weight``.

        Returns
        -------
        self : object
            The fitted classifier.

        Raises
        ------
        ValueError
            If ``batch_size`` needs batch buffers larger than both ``X`` and
            scikit-learn's ``working_memory``.
        skdeep.exceptions.DivergenceError
            If the loss or the weights become NaN or infinite, which means the
            learning rate is too large for the data.

        Notes
        -----
        With scikit-learn's callbacks (:meth:`set_callbacks`), each block of
        100 iterations (of ``num_iters / 100`` when that is more, so at most
        100 blocks) is one fit task: ``ProgressBar`` advances and
        ``ScoringMonitor`` scores after each, and a callback whose
        ``on_fit_task_end`` returns True stops training after that block,
        leaving the classifier fitted with the iterations run
        (``loss_history_`` and ``n_iter_`` count them).  The blocks change
        nothing in the training.
        """
        X, y = validate_data(
            self, X, y, dtype=[np.float64, np.float32], order="C", accept_sparse=False
        )
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
        X_train, y_train, train_weight = self._training_rows(X, y, sample_weight)
        classes, y_encoded = encode_labels(self, y_train)
        dtype = np.dtype(self.dtype)
        _check_batch_memory(self, self.batch_size, X_train, dtype)
        num_iters, per_task = int(self.num_iters), iterations_per_task(int(self.num_iters))
        fit_tasks = FitTasks(self, max_subtasks=-(-num_iters // per_task), X=X, y=y,
                             sample_weight=sample_weight)
        W, b, loss_history = train_linear_sgd(
            self._score_loss, X_train, y_encoded, len(classes),
            learning_rate=float(self.learning_rate), reg=float(self.reg),
            num_iters=num_iters, batch_size=int(self.batch_size),
            rng=check_random_state(self.random_state), dtype=dtype,
            sample_weight=train_weight, verbose=self.verbose,
            tasks=_IterationTasks(fit_tasks, per_task, classes),
        )
        self.classes_ = classes
        self.coef_ = np.ascontiguousarray(W.T)
        self.intercept_ = b
        self.loss_history_ = loss_history
        self.n_iter_ = len(loss_history)
        fit_tasks.end()
        return self

    def _training_rows(self, X, y, sample_weight):
        """``(X, y, sample_weight)`` to train on: ``class_weight`` applied, and
        the rows of weight zero dropped (as good as absent, also for the classes).
        """
        sample_weight = apply_class_weight(self, y, sample_weight)
        if sample_weight is not None:
            kept = sample_weight > 0
            if not kept.all():
                X, y, sample_weight = X[kept], y[kept], sample_weight[kept]
        return X, y, sample_weight

    @with_blas_single_thread
    def _scores(self, X):
        check_is_fitted(self)
        X = validate_data(
            self, X, dtype=[np.float64, np.float32], accept_sparse=False, reset=False
        )
        return X @ self.coef_.T + self.intercept_


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
        Rows per step, drawn with replacement (may exceed ``n_samples``, as
        long as the batch buffers fit in the size of the training data or in
        scikit-learn's ``working_memory``).
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, as scikit-learn's ``SGDClassifier`` defines
        them, multiplying ``sample_weight`` (so a class weighing ``w`` is drawn
        as if each of its rows were weighted ``w``): a dict ``{label: weight}``
        (classes it leaves out weigh 1; a label that is not a class of ``y``
        is an error), or ``'balanced'``, each class weighing ``n_samples /
        (n_classes * count)`` with its count in ``y``, which trains exactly as
        ``sample_weight=compute_sample_weight('balanced', y)``.  None: every
        class weighs 1.
    dtype : {'float32', 'float64'}, default='float32'
        The dtype training computes in, whatever the dtype of ``X``: float64
        input (what ``StandardScaler`` hands over) is converted a batch at a
        time.  float32 halves the memory traffic of every step and reaches the
        same accuracy (the SGD noise of a 200-row batch is far above float32
        rounding); float64 reproduces the CS231n notebooks' float64 training
        to rounding.
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
        Weights, one row per class (also for two classes), in ``dtype``.
    intercept_ : ndarray of shape (n_classes,)
        Biases, one per class, in ``dtype``.
    loss_history_ : ndarray of shape (``n_iter_``,)
        Minibatch loss, regularization included, at each SGD step (one entry
        per step, where the networks record one per minibatch too).
    n_iter_ : int
        Number of SGD steps run: ``num_iters``, or fewer when a callback
        stopped training (the networks count epochs; see the table of names in
        the linear model docs).
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
        *,
        num_iters=1500,
        batch_size=200,
        class_weight=None,
        dtype="float32",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            learning_rate=learning_rate,
            reg=reg,
            num_iters=num_iters,
            batch_size=batch_size,
            class_weight=class_weight,
            dtype=dtype,
            random_state=random_state,
            verbose=verbose,
        )


class SoftmaxClassifier(SoftmaxProbaMixin, _BaseLinearClassifier):
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
        Rows per step, drawn with replacement (may exceed ``n_samples``, as
        long as the batch buffers fit in the size of the training data or in
        scikit-learn's ``working_memory``).
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, as scikit-learn's ``SGDClassifier`` defines
        them, multiplying ``sample_weight`` (so a class weighing ``w`` is drawn
        as if each of its rows were weighted ``w``): a dict ``{label: weight}``
        (classes it leaves out weigh 1; a label that is not a class of ``y``
        is an error), or ``'balanced'``, each class weighing ``n_samples /
        (n_classes * count)`` with its count in ``y``, which trains exactly as
        ``sample_weight=compute_sample_weight('balanced', y)``.  None: every
        class weighs 1.
    dtype : {'float32', 'float64'}, default='float32'
        The dtype training computes in, whatever the dtype of ``X``: float64
        input (what ``StandardScaler`` hands over) is converted a batch at a
        time.  float32 halves the memory traffic of every step and reaches the
        same accuracy (the SGD noise of a 200-row batch is far above float32
        rounding); float64 reproduces the CS231n notebooks' float64 training
        to rounding.
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
        Weights, one row per class (also for two classes), in ``dtype``.
    intercept_ : ndarray of shape (n_classes,)
        Biases, one per class, in ``dtype``.
    loss_history_ : ndarray of shape (``n_iter_``,)
        Minibatch loss, regularization included, at each SGD step (one entry
        per step, where the networks record one per minibatch too).
    n_iter_ : int
        Number of SGD steps run: ``num_iters``, or fewer when a callback
        stopped training (the networks count epochs; see the table of names in
        the linear model docs).
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
        *,
        num_iters=1500,
        batch_size=200,
        class_weight=None,
        dtype="float32",
        random_state=None,
        verbose=0,
    ):
        super().__init__(
            learning_rate=learning_rate,
            reg=reg,
            num_iters=num_iters,
            batch_size=batch_size,
            class_weight=class_weight,
            dtype=dtype,
            random_state=random_state,
            verbose=verbose,
        )
