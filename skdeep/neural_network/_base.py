"""What every network classifier shares: validation, splits, training, prediction.

A subclass says how to build its model (``_build_model``), what its architecture
is (``_architecture``, for warm starts) and, if the model wants something other
than rows of features, how to turn rows into model inputs (``_model_input``).
Training is :class:`skdeep.nn.solver.Solver`; the math lives in :mod:`skdeep.nn`.
"""
import numbers

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from ..nn.optim import UPDATE_RULES
from ..nn.solver import Solver
from ..utils._threads import with_blas_single_thread

# rows per forward pass at prediction time: bounds memory, costs nothing in speed
_PREDICT_CHUNK = 1024


def _seed_sequence(random_state):
    """A SeedSequence for ``random_state``, without touching NumPy's global state.

    None draws fresh entropy from the operating system; an int is the seed; a
    RandomState or Generator passed in is advanced to draw a seed, as
    scikit-learn estimators consume the RandomState they are given.
    """
    if random_state is None:
        return np.random.SeedSequence()
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        if random_state < 0:
            raise ValueError(f"random_state must be non-negative, got {random_state}.")
        return np.random.SeedSequence(int(random_state))
    if isinstance(random_state, np.random.RandomState):
        return np.random.SeedSequence(int(random_state.randint(np.iinfo(np.int32).max)))
    if isinstance(random_state, np.random.Generator):
        return np.random.SeedSequence(int(random_state.integers(2**63)))
    raise ValueError(
        f"random_state must be None, an int, a numpy.random.RandomState or a "
        f"numpy.random.Generator, got {random_state!r}."
    )


def _stratified_split(y, validation_fraction, rng):
    """Training and validation row indices, each class split in the same proportion.

    Each class gives ``round(validation_fraction * count)`` rows to validation but
    keeps at least one for training, so every class is learnt; tiny data may
    therefore give an empty validation set.  Both index arrays are sorted.
    """
    n = len(y)
    if validation_fraction == 0:
        return np.arange(n), np.empty(0, dtype=np.intp)
    val_parts = []
    for c in np.unique(y):
        rows = np.flatnonzero(y == c)
        n_val = min(int(np.floor(validation_fraction * len(rows) + 0.5)), len(rows) - 1)
        if n_val > 0:
            val_parts.append(rng.choice(rows, n_val, replace=False))
    val_idx = np.sort(np.concatenate(val_parts)) if val_parts else np.empty(0, np.intp)
    is_train = np.ones(n, dtype=bool)
    is_train[val_idx] = False
    return np.flatnonzero(is_train), val_idx


class BaseNetClassifier(ClassifierMixin, BaseEstimator):
    """Base class of the network classifiers (not for direct use).

    Subclasses define the parameters ``update_rule``, ``learning_rate``,
    ``lr_decay``, ``batch_size``, ``num_epochs``, ``validation_fraction``,
    ``early_stopping``, ``n_iter_no_change``, ``warm_start``, ``dtype``,
    ``random_state`` and ``verbose``, and implement ``_build_model``,
    ``_architecture`` and, when needed, ``_model_input`` and ``_check_params``.
    """

    # ---- hooks -------------------------------------------------------------
    def _build_model(self, n_features, n_classes, rng):
        """A new, initialized model for ``n_features`` inputs and ``n_classes``."""
        raise NotImplementedError

    def _architecture(self, n_features, n_classes):
        """What must not change between a warm start and the fitted model."""
        raise NotImplementedError

    def _model_input(self, X, dtype):
        """Validated rows ``X`` as the model's input array, of ``dtype``.

        Copies only when it must: training slices rows out of the result by index.
        """
        return np.ascontiguousarray(X, dtype=dtype)

    def _check_params(self):
        """Validate the subclass's own parameters; raise ValueError."""

    # ---- validation --------------------------------------------------------
    def _check_training_params(self):
        def positive_int(name):
            value = getattr(self, name)
            if (not isinstance(value, numbers.Integral) or isinstance(value, bool)
                    or value < 1):
                raise ValueError(f"{name} must be a positive int, got {value!r}.")

        def real(name, low, high, low_open=False, high_open=False):
            value = getattr(self, name)
            ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
            ok = ok and (value > low if low_open else value >= low)
            ok = ok and (value < high if high_open else value <= high)
            if not ok:
                interval = (f"{'(' if low_open else '['}{low}, {high}"
                            f"{')' if high_open else ']'}")
                raise ValueError(f"{name} must be a float in {interval}, got {value!r}.")

        if self.update_rule not in UPDATE_RULES:
            raise ValueError(
                f"update_rule must be one of {list(UPDATE_RULES)}, got {self.update_rule!r}."
            )
        real("learning_rate", 0, np.inf, low_open=True, high_open=True)
        real("lr_decay", 0, 1, low_open=True)
        positive_int("batch_size")
        positive_int("num_epochs")
        real("validation_fraction", 0, 1, high_open=True)
        positive_int("n_iter_no_change")
        if np.dtype(self.dtype) not in (np.float32, np.float64):
            raise ValueError(f"dtype must be float32 or float64, got {self.dtype!r}.")
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError(
                "early_stopping=True needs a validation set: set validation_fraction > 0."
            )
        self._check_params()

    # ---- fitting -----------------------------------------------------------
    def fit(self, X, y):
        """Train the network on ``X`` and ``y``.

        A stratified ``validation_fraction`` of the data is held out; after
        ``num_epochs`` epochs (fewer with ``early_stopping``) the network keeps the
        parameters of the epoch with the best validation accuracy.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels, of any type.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        skdeep.exceptions.DivergenceError
            When the loss becomes NaN or infinite (the learning rate is too large).
        """
        return self._fit(X, y, classes=None, incremental=False)

    def partial_fit(self, X, y, classes=None):
        """Train the network for one epoch on ``X`` and ``y``, continuing from its state.

        The parameters and the optimizer state carry over between calls; nothing
        is held out for validation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels, all in ``classes``.
        classes : array-like of shape (n_classes,), default=None
            Every class the estimator will see.  Required on the first call,
            ignored afterwards.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, classes=classes, incremental=True)

    def _fit(self, X, y, classes, incremental):
        self._check_training_params()
        dtype = np.dtype(self.dtype)
        fitted = hasattr(self, "model_")
        continuing = fitted and (incremental or self.warm_start)
        X, y = validate_data(self, X, y, dtype=[np.float32, np.float64],
                             reset=not continuing)
        check_classification_targets(y)

        if incremental and not fitted:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = np.unique(classes)
        elif continuing:
            classes = self.classes_
        else:
            classes = np.unique(y)
        if len(classes) < 2:
            raise ValueError(
                f"The classifier needs samples of at least 2 classes, but the data "
                f"contains only one class: {classes[0]!r}."
            )
        if incremental or continuing:
            unseen = np.setdiff1d(y, classes)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that are not in classes "
                    f"{classes.tolist()}"
                    + (" given to the first call to partial_fit." if incremental else
                       " of the previous fit; warm_start needs the same classes.")
                )
        y_encoded = np.searchsorted(classes, y)

        seeds = _seed_sequence(self.random_state).spawn(3)
        model_rng, solver_rng, split_rng = (np.random.default_rng(s) for s in seeds)
        n_features = X.shape[1]
        architecture = self._architecture(n_features, len(classes))
        if continuing:
            if architecture != self._fitted_architecture:
                raise ValueError(
                    f"The network was fitted as {self._fitted_architecture} but the "
                    f"parameters now ask for {architecture}; "
                    + ("partial_fit" if incremental else "warm_start=True")
                    + " needs the same architecture. Use fit (with warm_start=False) "
                    "to train a new network."
                )
            self.model_.reg = self.reg
        else:
            self.classes_ = classes
            self.model_ = self._build_model(n_features, len(classes), model_rng)
            self._fitted_architecture = architecture
            self.loss_history_ = []
            self.train_acc_history_ = []
            self.val_acc_history_ = []
            self.n_iter_ = 0
            self._optim_configs = None

        if incremental:
            train_rows, val_rows = None, np.empty(0, np.intp)
        else:
            train_rows, val_rows = _stratified_split(
                y_encoded, self.validation_fraction, split_rng)
            if len(val_rows) == 0:
                if self.early_stopping:
                    raise ValueError(
                        f"early_stopping=True needs a validation set, but "
                        f"validation_fraction={self.validation_fraction} of these "
                        f"{len(y)} samples leaves none (each class keeps at least one "
                        f"sample for training)."
                    )
                train_rows = None
        X_model = self._model_input(X, dtype)
        # the Solver trains on train_rows of the whole array: no copy of the split
        data = {"X_train": X_model, "y_train": y_encoded, "train_rows": train_rows}
        if len(val_rows):
            data["X_val"] = X_model[val_rows]
            data["y_val"] = y_encoded[val_rows]

        solver = Solver(
            self.model_, data,
            update_rule=self.update_rule,
            optim_config={"learning_rate": self.learning_rate},
            lr_decay=self.lr_decay,
            batch_size=self.batch_size,
            num_epochs=1 if incremental else self.num_epochs,
            print_every=10 if self.verbose >= 2 else 0,
            verbose=bool(self.verbose),
            random_state=solver_rng,
            early_stopping=self.early_stopping and not incremental,
            n_iter_no_change=self.n_iter_no_change,
        )
        if incremental and self._optim_configs is not None:
            # the optimizer's moments and decayed learning rate carry over
            solver.optim_configs = self._optim_configs
        solver.train()

        self._optim_configs = solver.optim_configs
        self.loss_history_.extend(solver.loss_history)
        self.train_acc_history_.extend(solver.train_acc_history)
        self.val_acc_history_.extend(solver.val_acc_history)
        self.n_iter_ += solver.epoch
        self.best_val_acc_ = solver.best_val_acc if solver.val_acc_history else None
        return self

    # ---- prediction --------------------------------------------------------
    @with_blas_single_thread
    def _scores(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        # float64 inference: scores of a row must not depend on which other rows
        # share its matrix product, and float32 GEMMs round differently per shape
        model = self.model_.astype(np.float64)
        scores = np.empty((X.shape[0], len(self.classes_)))
        for start in range(0, X.shape[0], _PREDICT_CHUNK):
            chunk = slice(start, start + _PREDICT_CHUNK)
            scores[chunk] = model.loss(self._model_input(X[chunk], np.float64))
        return scores

    def decision_function(self, X):
        """Class scores of the network (the inputs of its softmax).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples, n_classes), or (n_samples,) for two
            classes, where it is the score of ``classes_[1]`` minus that of
            ``classes_[0]``.
        """
        scores = self._scores(X)
        if scores.shape[1] == 2:
            return scores[:, 1] - scores[:, 0]
        return scores

    def predict_proba(self, X):
        """Class probabilities: the softmax of the class scores.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Columns in the order of ``classes_``.
        """
        scores = self._scores(X)
        scores -= scores.max(axis=1, keepdims=True)
        np.exp(scores, out=scores)
        scores /= scores.sum(axis=1, keepdims=True)
        return scores

    def predict_log_proba(self, X):
        """Logarithm of :meth:`predict_proba`, computed stably.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
        """
        scores = self._scores(X)
        scores -= scores.max(axis=1, keepdims=True)
        scores -= np.log(np.exp(scores).sum(axis=1, keepdims=True))
        return scores

    def predict(self, X):
        """Predicted class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y : ndarray of shape (n_samples,)
            Labels from ``classes_``.
        """
        scores = self._scores(X)
        return self.classes_[np.argmax(scores, axis=1)]
