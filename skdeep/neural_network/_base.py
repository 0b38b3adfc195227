"""What every network classifier shares: parameters, splits, training, prediction.

A subclass declares its own parameters (``_parameter_constraints``, merged with
the base's) and says how to build its model (``_build_model``), what its
architecture is (``_architecture``, for warm starts) and, if the model wants
something other than rows of features, how to turn rows into model inputs
(``_model_input``).  Training is :class:`skdeep.nn.solver.Solver`; the math lives
in :mod:`skdeep.nn`.
"""
import copy
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Options, StrOptions
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..nn.callbacks import _MONITORS, Callback
from ..nn.optim import UPDATE_RULES
from ..nn.solver import Solver
from ..utils._row_groups import are_whole_numbers, row_groups
from ..utils._callbacks import CallbackSupport, FitTasks, solver_bridge
from ..utils._threads import with_blas_single_thread
from ..utils._classifier import ScoresClassifierMixin, SoftmaxProbaMixin
from ..utils._dtypes import float_dtype
from ..utils._param_validation import (
    NumberInterval,
    class_weight_constraints,
    training_dtype_constraints,
)
from ..utils._validation import (apply_class_weight, check_at_least_two_classes,
                                 encode_labels, row_chunks)

# Rows of every forward pass at prediction time, whatever working_memory says.
# One fixed shape, padded when fewer rows remain, so that BLAS picks the same
# kernels for every block and computes a row the same way whichever rows share
# its product: predictions do not depend on batching, on any processor.
_PREDICT_ROWS = 128


class _SequenceOfInts(Options):
    """A list, tuple or 1-D array of ints of at least ``low`` (layer sizes).

    An ``Options`` only because scikit-learn's validation accepts no other
    constraint classes; it matches by the test below, not by a set of options.
    """

    def __init__(self, low):
        super().__init__(object, set())
        self.low = low

    def is_satisfied_by(self, val):
        return isinstance(val, (list, tuple, np.ndarray)) and np.ndim(val) == 1 and all(
            isinstance(v, Integral) and not isinstance(v, (bool, np.bool_))
            and v >= self.low for v in val)

    def __str__(self):
        return f"a sequence of ints >= {self.low}"


def _as_list(value):
    """An int or a sequence of ints as a list of ints."""
    return [int(value)] if isinstance(value, Integral) else [int(v) for v in value]


# The Solver's histories, each the source of the estimator's attribute of the
# same name with a trailing underscore.
_SOLVER_HISTORIES = ("loss_history", "train_acc_history", "val_acc_history")


def _child_rngs(random_state, n):
    """``n`` independent Generators drawn from ``random_state``.

    The one seeding path of the networks: ``check_random_state`` gives the
    RandomState scikit-learn would use (so an int always gives the same
    children, and None draws from NumPy's global state as every scikit-learn
    estimator does), and one seed drawn from it spawns the children.
    """
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    return [np.random.default_rng(child)
            for child in np.random.SeedSequence(int(seed)).spawn(n)]


def _in_float_dtype(X):
    """Validated rows ``X`` in the dtype of :func:`skdeep.utils._dtypes.float_dtype`.

    float32 and float64 stay as they are, without a copy; any other numeric
    dtype (integers, booleans, float16) is read as float64, which holds every
    value of them that float32 would round.
    """
    return X.astype(float_dtype(X), copy=False)


def _root_mean_square(X, rows=None, sample_weight=None):
    """``sqrt(mean(X**2))`` over every entry of ``X``, in float64, in bounded memory.

    With ``rows``, over the entries of ``X[rows]`` (rows may repeat); with
    ``sample_weight`` (one per row of ``X``), each row's entries count with its
    weight, as they would with the row repeated.
    """
    n = X.shape[0] if rows is None else len(rows)
    if sample_weight is None:
        weight = np.ones(n)
    else:
        weight = sample_weight if rows is None else sample_weight[rows]
    total = 0.0
    for chunk_rows in row_chunks(n, 8 * X.shape[1], max_n_rows=4096):
        chunk = X[chunk_rows if rows is None else rows[chunk_rows]].astype(np.float64)
        total += float(np.dot(np.einsum("ij,ij->i", chunk, chunk), weight[chunk_rows]))
    return float(np.sqrt(total / (weight.sum() * X.shape[1])))


def _weighted_rows(X, y, sample_weight):
    """The rows to train on and the weights that remain for the loss.

    Returns ``(rows, sample_weight)``, ``rows`` indexing ``X`` (None: every row
    as it stands) and possibly repeating:

    - no weights and distinct (row, label) pairs: ``(None, None)``;
    - whole-number weights, or no weights but repeated pairs: equal pairs merged
      and each repeated as many times as its summed weight, in the content
      order of :func:`skdeep.utils._row_groups.row_groups`, and no weights.  A
      weight of k is then k copies of the sample, exactly: the weighted data and
      the data with repeated rows train on the same rows in the same order;
    - other weights: the rows of positive weight and ``sample_weight``, for the
      weighted mean loss.
    """
    groups = row_groups(X, y, sample_weight)
    if groups is None:
        return None, None
    rows, weights = groups
    if are_whole_numbers(weights):
        return np.repeat(rows, weights.astype(np.intp)), None
    return np.flatnonzero(sample_weight > 0), sample_weight


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


def _model_if_stopped(solver):
    """A copy of the solver's model with the weights ``train()`` would end with now."""
    params, bn_stats = solver.final_weights()
    stopped = copy.deepcopy(solver.model)
    stopped.params = copy.deepcopy(params)
    for bn, saved in zip(getattr(stopped, "bn_params", ()), copy.deepcopy(bn_stats)):
        bn.update(saved)
    return stopped


class _Recorder(Callback):
    """The Solver callback that keeps the estimator's fitted attributes up to date.

    ``history_`` gains each epoch's row as the epoch ends, numbered from the
    network's first epoch (so that rows continue across warm starts and
    ``partial_fit``); :meth:`attributes` are the other fitted attributes, the
    histories of this training appended to those of the earlier ones.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    def on_train_begin(self, solver):
        # a resumed Solver starts with the histories of its first epochs, which
        # the estimator from the checkpoint already holds
        self.start = {"epoch": solver.epoch, **{
            name: len(getattr(solver, name)) for name in _SOLVER_HISTORIES}}

    def on_epoch_end(self, solver, record):
        epoch = self.estimator.n_iter_ + solver.epoch - self.start["epoch"]
        self.estimator.history_.append({**record, "epoch": epoch})

    def attributes(self, solver, model):
        """The fitted attributes after the Solver's epochs so far, with ``model``."""
        estimator = self.estimator
        attributes = {
            f"{name}_": getattr(estimator, f"{name}_")
            + getattr(solver, name)[self.start[name]:]
            for name in _SOLVER_HISTORIES}
        attributes.update(
            model_=model,
            n_iter_=estimator.n_iter_ + solver.epoch - self.start["epoch"],
            best_val_acc_=solver.best_val_acc if solver.val_acc_history else None,
            best_val_loss_=solver.best_val_loss if solver.val_acc_history else None,
            _optim_configs=solver.optim_configs,
        )
        return attributes

    def attributes_if_stopped(self, solver):
        """The fitted attributes of the estimator if training stopped now.

        What a fitted estimator predicts with (the model ``fit`` would keep),
        ``history_`` so far, and ``_resume_state``, the Solver's state from
        which a later ``fit`` finishes this one (into ``model_``, whose other
        state, such as its random source, is the training model's): copies, as
        the training goes on.
        """
        state = solver.state_dict()
        attributes = self.attributes(solver, _model_if_stopped(solver))
        attributes.update(history_=list(self.estimator.history_),
                          _optim_configs=state["optim_configs"],
                          _resume_state={"solver": state})
        return attributes


class BaseNetClassifier(CallbackSupport, SoftmaxProbaMixin, ScoresClassifierMixin,
                        ClassifierMixin, BaseEstimator):
    """Base class of the network classifiers (not for direct use).

    Declares and validates the training parameters every network shares
    (``dropout_keep_ratio``, ``update_rule``, ``learning_rate``, ``lr_decay``,
    ``reg``, ``weight_scale``, ``batch_size``, ``num_epochs``,
    ``validation_fraction``, ``early_stopping``, ``n_iter_no_change``,
    ``monitor``, ``warm_start``, ``class_weight``, ``dtype``, ``random_state``,
    ``verbose``); a subclass sets them in its ``__init__``, merges its own
    constraints as
    ``{**BaseNetClassifier._parameter_constraints, ...}`` and implements
    ``_build_model``, ``_architecture`` and, when needed, ``_model_input``.
    """

    _parameter_constraints: dict = {
        "dropout_keep_ratio": [NumberInterval(Real, 0, 1, closed="right")],
        "update_rule": [StrOptions(set(UPDATE_RULES))],
        "learning_rate": [NumberInterval(Real, 0, np.inf, closed="neither")],
        "lr_decay": [NumberInterval(Real, 0, 1, closed="right")],
        "reg": [NumberInterval(Real, 0, np.inf, closed="left")],
        "weight_scale": [NumberInterval(Real, 0, np.inf, closed="neither"),
                         StrOptions({"he"})],
        "batch_size": [NumberInterval(Integral, 1, None, closed="left")],
        "num_epochs": [NumberInterval(Integral, 1, None, closed="left")],
        "validation_fraction": [NumberInterval(Real, 0, 1, closed="left")],
        "early_stopping": ["boolean"],
        "n_iter_no_change": [NumberInterval(Integral, 1, None, closed="left")],
        "monitor": [StrOptions(set(_MONITORS))],
        "warm_start": ["boolean"],
        "class_weight": class_weight_constraints(),
        "dtype": training_dtype_constraints(),
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # ---- hooks -------------------------------------------------------------
    def _build_model(self, n_features, n_classes, rng):
        """A new, initialized model for ``n_features`` inputs and ``n_classes``."""
        raise NotImplementedError

    def _architecture(self, n_features, n_classes):
        """What must not change between a warm start and the fitted model."""
        raise NotImplementedError

    def _solver_options(self, incremental):
        """Solver options of the subclass, added to (or replacing) the base's."""
        return {}

    def _model_settings(self):
        """Model attributes from parameters a warm start or partial_fit may change.

        Written into the model before each training; a subclass adds its own.
        """
        return {"reg": self.reg}

    def _input_scale(self, X, rows, sample_weight):
        """What the rows of ``X`` are divided by before the model; 1 leaves them.

        ``rows`` and ``sample_weight`` are the training rows and their weights,
        as `_weighted_rows` gives them.
        """
        return 1.0

    def _model_input(self, X, dtype):
        """Validated rows ``X`` as the model's input array, of ``dtype``.

        Copies only when it must: training slices rows out of the result by index.
        """
        return np.ascontiguousarray(X, dtype=dtype)

    def _scaled_input(self, X, dtype):
        """Rows ``X`` divided by ``input_scale_``, as the model's input of ``dtype``."""
        if self.input_scale_ != 1:
            X = np.multiply(X, 1 / self.input_scale_, dtype=dtype)
        return self._model_input(X, dtype)

    # ---- fitting -----------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, sample_weight=None, *, X_val=None, y_val=None,
            sample_weight_val=None):
        """Train the network on ``X`` and ``y``.

        A stratified ``validation_fraction`` of the data is held out, or
        ``X_val`` and ``y_val`` are the validation data; after ``num_epochs``
        epochs (fewer with ``early_stopping`` or a callback that stops) the
        network keeps the parameters of the epoch with the best ``monitor``
        (the lowest validation loss by default), or the last epoch's without
        validation data.  ``history_`` gains one row per epoch.

        With ``warm_start=True`` a fitted network trains ``num_epochs`` more
        epochs, from its parameters but with a new optimizer state.  A network
        loaded from a :class:`skdeep.callbacks.Checkpoint` written during a fit
        that did not finish is the exception: ``fit`` with ``warm_start=True``
        resumes that fit, optimizer state, random draws and learning-rate
        schedule included, and runs its remaining epochs up to ``num_epochs``;
        on the same data with the same parameters it ends exactly as the
        uninterrupted fit would have.

        Interrupting ``fit`` with Ctrl-C (SIGINT, ``KeyboardInterrupt``) stops
        the training at once, warns, and returns the estimator fitted with the
        parameters of the best epoch so far (of the last completed epoch
        without validation data; as they are, if no epoch completed): it
        predicts, and ``history_`` holds the completed epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Class labels, of any type.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample.  Whole numbers repeat samples:
            a weight of ``k`` trains exactly as ``k`` copies of the sample, zero
            as its absence (from validation too).  Other weights weigh the
            training loss, which is then the weighted mean loss.
        X_val : array-like of shape (n_val, n_features), default=None
            Validation data, used instead of holding out a share of ``X``:
            ``validation_fraction`` is then ignored and every row of ``X``
            trains.  Validated as ``X`` is.
        y_val : array-like of shape (n_val,), default=None
            Labels of ``X_val``, each one of the classes of ``y``; required with
            ``X_val``.
        sample_weight_val : array-like of shape (n_val,), default=None
            Non-negative weight of each row of ``X_val`` in the validation loss
            and accuracy.

        Returns
        -------
        self : object
            The fitted estimator.

        Raises
        ------
        ValueError
            When ``X_val`` and ``y_val`` do not come together, when ``X_val``
            does not have the features of ``X``, or when ``y_val`` holds a label
            absent from ``y``.
        skdeep.exceptions.DivergenceError
            When training diverges (the learning rate is too large).
        """
        return self._fit(X, y, sample_weight, classes=None, incremental=False,
                         validation=(X_val, y_val, sample_weight_val))

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, sample_weight=None):
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
            Every class the estimator will see.  Required on the first call; a
            later call may repeat it but not change it.
        sample_weight : array-like of shape (n_samples,), default=None
            Non-negative weight of each sample, as in :meth:`fit`.

        Returns
        -------
        self : object
            The updated estimator.
        """
        return self._fit(X, y, sample_weight, classes=classes, incremental=True)

    def _fit(self, X, y, sample_weight, classes, incremental, validation=(None,) * 3):
        callback_weight = sample_weight
        self._check_validation_request(validation)
        continuing = hasattr(self, "model_") and (incremental or self.warm_start)
        X, y = validate_data(self, X, y, reset=not continuing)
        X = _in_float_dtype(X)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64,
                                                 ensure_non_negative=True)
        sample_weight = apply_class_weight(self, y, sample_weight, classes, incremental)
        classes, y_encoded = self._encode_labels(y, classes, incremental, continuing,
                                                 sample_weight)
        validation = self._validation_data(validation, classes)
        rows, sample_weight = _weighted_rows(X, y_encoded, sample_weight)
        model_rng, solver_rng, split_rng = _child_rngs(self.random_state, 3)
        if continuing:
            self._check_same_architecture(X.shape[1], incremental)
        else:
            self._init_model(X, classes, rows, sample_weight, model_rng)
        data = self._training_data(X, y_encoded, rows, sample_weight, incremental,
                                   split_rng, validation)
        resume = None if incremental else getattr(self, "_resume_state", None)
        tasks = FitTasks(self, max_subtasks=self._epochs_to_run(incremental, resume),
                         X=X, y=y, sample_weight=callback_weight)
        self._train(data, incremental, solver_rng, tasks, resume)
        tasks.end()
        return self

    def _check_validation_request(self, validation):
        """Refuse validation data given by halves, and early stopping without any."""
        X_val, y_val, sample_weight_val = validation
        if (X_val is None) != (y_val is None):
            given, missing = ("X_val", "y_val") if y_val is None else ("y_val", "X_val")
            raise ValueError(f"{given} is provided, but {missing} was not provided.")
        if sample_weight_val is not None and X_val is None:
            raise ValueError(
                "sample_weight_val is provided, but X_val and y_val were not provided.")
        if self.early_stopping and self.validation_fraction == 0 and X_val is None:
            raise ValueError(
                "early_stopping=True needs a validation set: set validation_fraction > 0 "
                "or pass X_val and y_val to fit."
            )

    def _validation_data(self, validation, classes):
        """``(X_val, y_val encoded, sample_weight_val)`` validated, or None if not given."""
        X_val, y_val, sample_weight_val = validation
        if X_val is None:
            return None
        X_val, y_val = validate_data(self, X_val, y_val, reset=False)
        X_val = _in_float_dtype(X_val)
        unknown = np.setdiff1d(unique_labels(y_val), classes)
        if unknown.size:
            raise ValueError(
                f"y_val contains labels {unknown.tolist()} that are not in the classes "
                f"{classes.tolist()} of y."
            )
        if sample_weight_val is not None:
            sample_weight_val = _check_sample_weight(sample_weight_val, X_val,
                                                     dtype=np.float64,
                                                     ensure_non_negative=True)
        return X_val, np.searchsorted(classes, y_val), sample_weight_val

    def _epochs_to_run(self, incremental, resume):
        """Epochs of this call: one fit task each for scikit-learn's callbacks."""
        if incremental:
            return 1
        done = 0 if resume is None else resume["solver"]["epoch"]
        return max(self.num_epochs - done, 0)

    def _encode_labels(self, y, classes, incremental, continuing, sample_weight):
        """The classes and ``y`` as indices into them, checked against past fits."""
        new_network = not (incremental or continuing)
        y_classes, y_encoded = encode_labels(self, y, min_classes=2 if new_network else 1)
        if new_network:
            classes = y_classes
        elif continuing:
            if incremental and classes is not None and not np.array_equal(
                    self.classes_, unique_labels(classes)):
                raise ValueError(
                    f"classes={classes!r} is not the same as on the first call to "
                    f"partial_fit, was: {self.classes_!r}."
                )
            classes = self.classes_
        else:
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            classes = unique_labels(classes)
            check_at_least_two_classes(self, classes)
        if not new_network:
            unseen = np.setdiff1d(y_classes, classes)
            if unseen.size:
                raise ValueError(
                    f"y contains labels {unseen.tolist()} that are not in classes "
                    f"{classes.tolist()}"
                    + (" given to the first call to partial_fit." if incremental else
                       " of the previous fit; warm_start needs the same classes.")
                )
            y_encoded = np.searchsorted(classes, y)
        if sample_weight is not None and not incremental:
            # _check_sample_weight has refused weights that are all zero
            weighted = np.unique(y_encoded[sample_weight > 0])
            if len(weighted) < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes with "
                    f"a non-zero sample_weight, but only class "
                    f"{classes[weighted[0]]!r} has any."
                )
        return classes, y_encoded

    def _check_same_architecture(self, n_features, incremental):
        architecture = self._architecture(n_features, len(self.classes_))
        if architecture != self._fitted_architecture:
            raise ValueError(
                f"The network was fitted as {self._fitted_architecture} but the "
                f"parameters now ask for {architecture}; "
                + ("partial_fit" if incremental else "warm_start=True")
                + " needs the same architecture. Use fit (with warm_start=False) "
                "to train a new network."
            )

    def _init_model(self, X, classes, rows, sample_weight, rng):
        """A new network and empty histories."""
        n_features = X.shape[1]
        self.classes_ = classes
        self.input_scale_ = self._input_scale(X, rows, sample_weight)
        self.model_ = self._build_model(n_features, len(classes), rng)
        self._fitted_architecture = self._architecture(n_features, len(classes))
        self.loss_history_ = []
        self.train_acc_history_ = []
        self.val_acc_history_ = []
        self.n_iter_ = 0
        self.history_ = []
        self._optim_configs = None
        # a checkpoint's unfinished fit is not this network's
        self.__dict__.pop("_resume_state", None)

    def _training_data(self, X, y_encoded, rows, sample_weight, incremental, rng,
                       validation=None):
        """The Solver's data dict: the training rows and the validation data.

        ``rows`` and ``sample_weight`` are as `_weighted_rows` gives them;
        ``validation`` is what `_validation_data` returns.  Without it, ``fit``
        holds out a split drawn over ``rows``: the Solver trains on
        ``train_rows`` of the whole array, so the split costs no copy of the
        training data.
        """
        dtype = np.dtype(self.dtype)
        X_model = self._scaled_input(X, dtype)
        if not incremental and validation is None:
            rows, val_rows = self._held_out_split(y_encoded, rows, rng)
            if len(val_rows):
                validation = (X_model[val_rows], y_encoded[val_rows],
                              None if sample_weight is None else sample_weight[val_rows])
        elif validation is not None:
            X_val, y_val, sample_weight_val = validation
            validation = (self._scaled_input(X_val, dtype), y_val, sample_weight_val)
        data = {"X_train": X_model, "y_train": y_encoded, "train_rows": rows,
                "sample_weight": sample_weight}
        if validation is not None:
            data["X_val"], data["y_val"] = validation[:2]
            if validation[2] is not None:
                data["sample_weight_val"] = validation[2]
        return data

    def _held_out_split(self, y_encoded, rows, rng):
        """``(train_rows, val_rows)``: the stratified ``validation_fraction`` of ``rows``.

        ``train_rows`` is None when every row of the array trains once.
        """
        labels = y_encoded if rows is None else y_encoded[rows]
        train_rows, val_rows = _stratified_split(labels, self.validation_fraction, rng)
        if rows is not None:
            train_rows, val_rows = rows[train_rows], rows[val_rows]
        if len(val_rows) == 0 and self.early_stopping:
            raise ValueError(
                f"early_stopping=True needs a validation set, but "
                f"validation_fraction={self.validation_fraction} of these "
                f"{len(y_encoded)} samples leaves none (each class keeps at least "
                f"one sample for training)."
            )
        return (train_rows if len(val_rows) or rows is not None else None), val_rows

    def _solver_kwargs(self, incremental):
        """The Solver's options from the estimator's parameters."""
        options = dict(
            update_rule=self.update_rule,
            optim_config={"learning_rate": self.learning_rate},
            lr_decay=self.lr_decay,
            batch_size=self.batch_size,
            num_epochs=1 if incremental else self.num_epochs,
            print_every=10 if self.verbose >= 2 else 0,
            verbose=bool(self.verbose),
            early_stopping=self.early_stopping and not incremental,
            n_iter_no_change=self.n_iter_no_change,
            monitor=self.monitor,
        )
        options.update(self._solver_options(incremental))
        return options

    def _train(self, data, incremental, rng, tasks, resume):
        """Train ``model_`` on ``data`` with a Solver, then set the fitted attributes.

        ``resume`` is the state of an unfinished fit saved by a checkpoint, to
        continue from (it sets the weights training goes on from); None starts
        a new Solver.
        """
        model = self.model_
        for name, value in self._model_settings().items():
            setattr(model, name, value)
        recorder = _Recorder(self)
        callbacks = [recorder, solver_bridge(tasks, recorder.attributes_if_stopped)]
        solver = Solver(model, data, callbacks=callbacks, random_state=rng,
                        **self._solver_kwargs(incremental))
        if resume is not None:
            solver.load_state_dict(resume["solver"])
        elif incremental and self._optim_configs is not None:
            # the optimizer's moments and decayed learning rate carry over
            solver.optim_configs = self._optim_configs
        solver.train()
        for name, value in recorder.attributes(solver, solver.model).items():
            setattr(self, name, value)
        self.__dict__.pop("_resume_state", None)

    # ---- prediction --------------------------------------------------------
    def _prediction_model(self):
        """The fitted network as prediction runs it: a float64 copy of ``model_``.

        float64 whatever the training dtype: float32 products of the trained
        weights would round more than the scores' last digits a user compares.
        """
        return self.model_.astype(np.float64)

    @with_blas_single_thread
    def _scores(self, X):
        check_is_fitted(self)
        X = _in_float_dtype(validate_data(self, X, reset=False))
        model = self._prediction_model()
        scores = np.empty((X.shape[0], len(self.classes_)))
        # working_memory bounds the model inputs prepared at a time (two float64
        # copies of the rows), in whole blocks: it groups forward passes, never
        # changes their shape
        n_blocks = -(-X.shape[0] // _PREDICT_ROWS)
        for blocks in row_chunks(n_blocks, _PREDICT_ROWS * 16 * X.shape[1]):
            start = blocks.start * _PREDICT_ROWS
            inputs = self._scaled_input(X[start:blocks.stop * _PREDICT_ROWS], np.float64)
            for offset in range(0, len(inputs), _PREDICT_ROWS):
                block = inputs[offset:offset + _PREDICT_ROWS]
                rows = slice(start + offset, start + offset + len(block))
                scores[rows] = self._block_scores(model, block)
        return scores

    @staticmethod
    def _block_scores(model, inputs):
        """Test-mode scores of up to ``_PREDICT_ROWS`` model inputs, as a full block."""
        n = len(inputs)
        if n < _PREDICT_ROWS:
            padded = np.zeros((_PREDICT_ROWS,) + inputs.shape[1:], dtype=inputs.dtype)
            padded[:n] = inputs
            inputs = padded
        return model.loss(inputs)[:n]
