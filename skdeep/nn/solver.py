"""Minibatch training of a model, as the CS231n ``Solver`` does it.

::

    solver = Solver(model, data, update_rule="adam",
                    optim_config={"learning_rate": 1e-3},
                    lr_decay=0.95, num_epochs=10, batch_size=100)
    solver.train()

After ``train()`` the model holds the parameters of the epoch with the best
validation accuracy (or, with ``monitor='val_loss'``, the lowest validation
loss), and the solver keeps the histories.
"""
import copy
import math
import time
import warnings

import numpy as np

from ..utils._divergence import DivergenceMonitor, check_finite_loss
from ..utils._scores import log_softmax
from ..utils._threads import blas_single_thread
from . import optim
from ._arena import release as release_arena
from ._checks import (check_array, check_choice, check_dict, check_int, check_labels,
                      check_number)
from ._random import as_rng
from .models import _loss_splits_off_penalty
from .callbacks import (
    _LR_SCHEDULES,
    _MONITORS,
    AUGMENT_BORDERS,
    AUGMENT_FLIPS,
    AlternatingFlipAndShift,
    Callback,
    EpochCheckpoint,
    FlipAndShift,
    LearningRateSchedule,
    Lookahead,
    PrintProgress,
    StopOnPlateau,
    WeightAveraging,
    _is_improvement,
)

__all__ = ["Solver"]

def _accuracy(scores, y, sample_weight=None):
    """(Weighted) fraction of rows whose highest score is at their label."""
    return float(np.average(np.argmax(scores, axis=1) == y, weights=sample_weight))


def _cross_entropy(scores, y, sample_weight=None):
    """(Weighted) mean softmax cross-entropy of class scores against labels."""
    log_proba = log_softmax(np.asarray(scores, dtype=np.float64))
    if len(y) and y.max() >= log_proba.shape[1]:
        # a model without a score for a label gives it probability zero
        return math.inf
    return float(np.average(-log_proba[np.arange(len(y)), y], weights=sample_weight))


class Solver:
    """Trains a classification model with minibatch first-order updates.

    Each epoch visits every training sample once, in a fresh random order, in
    ``ceil(N / batch_size)`` minibatches of at most ``batch_size`` samples whose
    sizes differ by at most one.  (A leftover minibatch of a few samples would take
    a full-size step on a very noisy gradient, and would feed batchnorm a variance
    of almost nothing.)  After each epoch
    the learning rate is multiplied by ``lr_decay`` and the accuracies on (a
    sample of) the training data and on the validation data are recorded.

    The loop is the CS231n reference implementation's; everything else happens in
    callbacks (:mod:`skdeep.nn.callbacks`) called at fixed points of it.  The
    skdeep options below create the built-in ones: ``lr_schedule`` and
    ``warmup_fraction`` a ``LearningRateSchedule``, ``augment`` a
    ``FlipAndShift`` (or ``AlternatingFlipAndShift``), ``weight_averaging`` a
    ``WeightAveraging``, ``verbose`` a ``PrintProgress``, ``early_stopping`` a
    ``StopOnPlateau``, ``checkpoint_name`` an ``EpochCheckpoint``; ``callbacks``
    adds more.  :meth:`state_dict` and :meth:`load_state_dict` resume a training
    bit for bit.

    Parameters
    ----------
    model : object
        Has ``params`` (dict of str to ndarray) and ``loss(X, y=None)``, returning
        class scores when ``y`` is None and ``(loss, grads)`` otherwise, with
        ``grads`` keyed like ``params``.  When it also has ``bn_params`` (a list of
        dicts, as :class:`~skdeep.nn.models.FullyConnectedNet`), their running
        statistics are saved and restored with the parameters of the best epoch.
    data : dict
        ``X_train`` (N, ...) and ``y_train`` (N,) integer labels; ``X_val`` and
        ``y_val`` for validation.  skdeep extensions: ``X_val`` and ``y_val`` may be
        missing or None, and then training keeps the last epoch's parameters;
        ``train_rows``, when given, lists the rows of ``X_train`` to train on, so a
        split of a large array needs no copy of it; ``sample_weight`` (N,), when
        given, weighs each row of ``X_train`` in the loss: the weights are rescaled
        to average one over the training rows and each minibatch's loss is the
        mean of its rows' weighted losses, so an epoch's expected loss is the
        weighted mean loss.  The model's ``loss`` then receives the minibatch's
        weights as ``sample_weight``, and the training accuracy is weighted
        likewise; ``sample_weight_val`` weighs the validation accuracy and loss.
    update_rule : str or callable, default='sgd'
        A name from :mod:`skdeep.nn.optim` (``'sgd'``, ``'sgd_momentum'``,
        ``'rmsprop'``, ``'adam'``) or a function with their signature.
    optim_config : dict, default={}
        Settings passed to the update rule (``learning_rate``...); each parameter
        gets its own copy, which also holds that parameter's optimizer state.
    lr_decay : float, default=1.0
        Factor applied to the learning rate after each epoch.
    batch_size : int, default=100
        Samples per minibatch.
    num_epochs : int, default=10
        Passes over the training data.
    num_train_samples : int or None, default=1000
        Training samples drawn (without replacement) to measure the training
        accuracy after each epoch; None uses them all.
    num_val_samples : int or None, default=None
        Likewise for validation; None uses them all.
    checkpoint_name : str, default=None
        When set, the model and histories are pickled after each epoch to
        ``f"{checkpoint_name}_epoch_{epoch}.pkl"``, with the solver's
        :meth:`state_dict` under ``'solver_state'`` to resume from.  Each file is
        written atomically: a crash mid-write leaves no partial file.
    print_every : int, default=10
        Print the training loss every ``print_every`` iterations (when verbose);
        0 or None prints epoch lines only.
    verbose : bool, default=True
        Print progress: ``(Iteration t / T) loss: ...`` lines and, after each epoch,
        ``(Epoch e / E) train acc: ...; val_acc: ...; loss: ...`` with the epoch's
        mean training loss.
    random_state : None, int, RandomState or Generator, default=None
        skdeep extension: source of the minibatch orders and accuracy samples.  None
        uses NumPy's global random state, as CS231n does.
    early_stopping : bool, default=False
        skdeep extension: stop when the ``monitor`` column has not improved for
        ``n_iter_no_change`` epochs.  Needs validation data.
    n_iter_no_change : int, default=10
        skdeep extension: patience of ``early_stopping``, in epochs.
    monitor : {'val_accuracy', 'val_loss'}, default='val_accuracy'
        skdeep extension: the column of ``history`` that picks the epoch whose
        parameters the model ends with (the highest validation accuracy, as
        CS231n does, or the lowest validation loss; ties go to the later epoch)
        and that ``early_stopping`` watches.  The loss is the weighted objective
        itself and changes with every prediction's confidence, where the
        accuracy of a small validation set moves in steps of a few rows.
    lr_schedule : {'constant', 'cosine', 'linear'}, default='constant'
        skdeep extension: how the learning rate changes at every step after the
        warm-up: ``'cosine'`` follows half a cosine from the learning rate down
        to zero over the remaining steps of ``train()``, ``'linear'`` a straight
        line.  It multiplies the epoch factor of ``lr_decay``.  A linear warm-up
        followed by either decay is the "one-cycle" schedule of Smith & Topin
        (2019), without its momentum cycle.
    warmup_fraction : float, default=0.0
        skdeep extension: share of the steps of ``train()``, in [0, 1), during
        which the learning rate rises linearly from ``learning_rate / W`` to
        ``learning_rate`` (W the number of warm-up steps).  Large steps on the
        random initial weights of a deep net can throw it where it never recovers.
    weight_averaging : float, 'lookahead' or None, default=None
        skdeep extension: decay ``d`` of an exponential moving average of the
        parameters, updated after every step as ``avg = d_t * avg + (1 - d_t) *
        w`` with ``d_t = min(d, (1 + t) / (10 + t))`` (t the updates so far, so
        the average forgets the random initial weights quickly).  The accuracies
        after each epoch are measured with the averaged parameters, and the model
        ends with them.  Typical values are 0.99 to 0.9999; None averages nothing.
        Batchnorm's running statistics are those of the trained weights.
        ``'lookahead'``: the CIFAR-10 speed records' version instead, which pulls
        the weights and the running statistics back to a slow average every five
        steps under a schedule (:class:`~skdeep.nn.callbacks.Lookahead`).
    augment : bool, default=False
        skdeep extension: each minibatch of images ``X_train`` (N, C, H, W) is
        replaced by randomly transformed copies: each image is flipped left-right
        as ``augment_flip`` says and shifted by up to ``augment_pad`` pixels in
        each direction, drawn uniformly, with ``augment_border`` filling in (a
        random crop of the image padded with ``augment_pad`` pixels on each
        side).  Draws come from ``random_state``.
    augment_pad : int or None, default=None
        skdeep extension: the largest shift of ``augment``; None is an eighth of
        the image's width, at least 1 (4 pixels on CIFAR-10's 32).
    augment_flip : {'random', 'alternating'} or None, default='random'
        skdeep extension: the flips of ``augment``.  ``'random'``: a coin per
        image in every minibatch (probability 1/2).  ``'alternating'``: a coin
        per image picks about half of them for the first epoch, and every
        later epoch flips exactly the images the previous one did not (see
        :class:`~skdeep.nn.callbacks.AlternatingFlipAndShift`).  None: no flips,
        for images whose mirror image is another class.
    augment_border : {'zeros', 'reflect'}, default='zeros'
        skdeep extension: what fills the pixels a shift of ``augment`` brings
        in: zeros, or the image reflected across its border (``np.pad`` in mode
        ``'reflect'``).
    callbacks : list of skdeep.nn.callbacks.Callback, default=()
        skdeep extension: objects called at fixed points of training (see
        :mod:`skdeep.nn.callbacks`), after the solver's own.  A callback can
        transform each minibatch, watch each step and epoch, and stop training
        after an epoch.

    Attributes
    ----------
    epoch : int
        Epochs completed.
    best_val_acc : float
        Best validation accuracy seen.
    best_val_loss : float
        Lowest validation loss seen (inf before any epoch with validation data).
    best_epoch : int
        The epoch (1-based) whose parameters ``best_params`` are, picked by
        ``monitor``; 0 before any epoch with validation data.
    best_params : dict of str to ndarray
        Copies of the parameters at epoch ``best_epoch`` (empty without
        validation data).
    loss_history : list of float
        Training loss of each iteration.
    train_acc_history : list of float
        Training accuracy after each epoch.
    val_acc_history : list of float
        Validation accuracy after each epoch.
    optim_configs : dict of str to dict
        Each parameter's update-rule config and state.
    history : list of dict
        One row per epoch: ``epoch`` (1-based), ``train_loss`` (mean of the
        epoch's minibatch losses), ``train_accuracy`` (as in
        ``train_acc_history``), ``val_loss`` (mean softmax cross-entropy of the
        test-mode scores on the validation data, or on ``num_val_samples`` of its
        rows, weighted by ``sample_weight_val``), ``val_accuracy`` (both NaN
        without validation data), ``learning_rate`` (the rate of the epoch's last
        step) and ``seconds`` (wall time of the epoch, evaluation included).
    iteration : int
        Update steps taken so far.
    batch_rows : ndarray of int
        The rows of ``X_train`` in the minibatch being trained, in order (set
        before ``on_batch_begin``).
    iterations_per_epoch : int
        Minibatches per epoch (set by ``train()``).
    num_iterations : int
        Steps of all ``num_epochs`` epochs (set by ``train()``).
    evaluation_params : dict of str to ndarray or None
        When a callback sets it (as ``weight_averaging`` does), the parameters
        each epoch's accuracies and losses are measured with, and kept as
        ``best_params``, instead of the model's; without validation data the
        model ends with them.
    interrupted : bool
        Whether the last ``train()`` was stopped by a ``KeyboardInterrupt``.
    """

    # skdeep's options and their defaults, read from Solver's keyword arguments
    _OPTIONS = {
        "update_rule": "sgd", "optim_config": {}, "lr_decay": 1.0, "batch_size": 100,
        "num_epochs": 10, "num_train_samples": 1000, "num_val_samples": None,
        "checkpoint_name": None, "print_every": 10, "verbose": True,
        "random_state": None, "early_stopping": False, "n_iter_no_change": 10,
        "monitor": "val_accuracy",
        "lr_schedule": "constant", "warmup_fraction": 0.0, "weight_averaging": None,
        "augment": False, "augment_pad": None, "augment_flip": "random",
        "augment_border": "zeros", "callbacks": (),
    }

    def __init__(self, model, data, **kwargs):
        self.model = model
        self._read_data(data)
        self._read_options(kwargs)
        self._resolve_update_rule()
        self._check_options()
        self._check_data()
        self._check_train_rows()
        if self.sample_weight is not None:
            self.sample_weight = self._normalized_weights(self.sample_weight)
        if self.early_stopping and not self._has_validation():
            raise ValueError("early_stopping needs validation data (X_val and y_val).")
        self._check_training_extras()
        self._check_callbacks()
        self._rng = as_rng(self.random_state)
        self._reset()

    def _read_data(self, data):
        """The arrays of the ``data`` dict as attributes, unchecked."""
        self.X_train = data["X_train"]
        self.y_train = data["y_train"]
        self.train_rows = data.get("train_rows")
        self.sample_weight = data.get("sample_weight")
        self.sample_weight_val = data.get("sample_weight_val")
        self.X_val = data.get("X_val")
        self.y_val = data.get("y_val")

    def _read_options(self, kwargs):
        """Every option as an attribute, its default when not given; unknown ones raise."""
        unknown = [name for name in kwargs if name not in self._OPTIONS]
        if unknown:
            raise ValueError(f"Unrecognized arguments {', '.join(map(repr, unknown))}.")
        for name, default in self._OPTIONS.items():
            # a copy, so that no two solvers share the default optim_config dict
            setattr(self, name, kwargs[name] if name in kwargs else copy.copy(default))

    def _resolve_update_rule(self):
        """``update_rule`` as a function, and whether it may update in place."""
        if isinstance(self.update_rule, str):
            if self.update_rule not in optim.UPDATE_RULES:
                raise ValueError(
                    f"Invalid update_rule {self.update_rule!r}; choose one of "
                    f"{list(optim.UPDATE_RULES)} or pass a function."
                )
            self._rule_name = self.update_rule
            self.update_rule = getattr(optim, self.update_rule)
        elif callable(self.update_rule):
            self._rule_name = getattr(self.update_rule, "__name__", None)
        else:
            raise ValueError(
                f"update_rule must be a name from skdeep.nn.optim or a function, got "
                f"{self.update_rule!r}."
            )
        # the rules of skdeep.nn.optim can write into the parameters themselves
        self._updates_in_place = self.update_rule in (
            getattr(optim, name) for name in optim.UPDATE_RULES)
        # skdeep's own models let the rule fold in their L2 penalty (see _penalized_step)
        self._penalized_rule = None
        if _loss_splits_off_penalty(self.model):
            self._penalized_rule = next((twin for rule, twin in
                                         optim._PENALIZED_RULES.items()
                                         if rule is self.update_rule), None)

    def _check_train_rows(self):
        """``train_rows`` as valid row indices of ``X_train``, and rows to train on."""
        if self.train_rows is not None:
            self.train_rows = check_array(self.train_rows, "train_rows", ndim=1)
            if len(self.train_rows) and (
                    self.train_rows.dtype.kind not in "iu"
                    or self.train_rows.min() < 0
                    or self.train_rows.max() >= len(self.X_train)):
                raise ValueError(
                    f"train_rows must hold indices of rows of X_train, in "
                    f"[0, {len(self.X_train)})."
                )
            self.train_rows = self.train_rows.astype(np.intp, copy=False)
        if self._num_train() == 0:
            raise ValueError("X_train has no samples to train on.")

    def _check_training_extras(self):
        check_choice(self.monitor, "monitor", tuple(_MONITORS))
        check_choice(self.lr_schedule, "lr_schedule", _LR_SCHEDULES)
        check_number(self.warmup_fraction, "warmup_fraction", low=0, high=1,
                     high_open=True)
        if self._has_schedule() and math.isnan(self._base_learning_rate()):
            raise ValueError(
                "lr_schedule and warmup_fraction need optim_config['learning_rate'] "
                "with an update_rule function, whose default learning rate is unknown."
            )
        if self.weight_averaging is not None and not (
                isinstance(self.weight_averaging, str)
                and self.weight_averaging == "lookahead"):
            if isinstance(self.weight_averaging, str):
                raise ValueError(f"weight_averaging must be a float in (0, 1), "
                                 f"'lookahead' or None, got {self.weight_averaging!r}.")
            check_number(self.weight_averaging, "weight_averaging", low=0, high=1,
                         low_open=True, high_open=True)
        check_choice(self.augment_flip, "augment_flip", (*AUGMENT_FLIPS, None))
        check_choice(self.augment_border, "augment_border", AUGMENT_BORDERS)
        if self.augment:
            if np.ndim(self.X_train) != 4:
                raise ValueError(
                    f"augment needs X_train of images (N, C, H, W), got shape "
                    f"{np.shape(self.X_train)}."
                )
            if self.augment_pad is None:
                self.augment_pad = max(1, self.X_train.shape[3] // 8)
            else:
                self.augment_pad = check_int(self.augment_pad, "augment_pad", low=0,
                                             allow_none=True)

    def _check_callbacks(self):
        if not (isinstance(self.callbacks, (list, tuple))
                and all(isinstance(cb, Callback) for cb in self.callbacks)):
            raise ValueError(
                f"callbacks must be a list of skdeep.nn.callbacks.Callback instances, "
                f"got {self.callbacks!r}."
            )
        self.callbacks = list(self.callbacks)

    def _normalized_weights(self, sample_weight):
        """``sample_weight`` rescaled to average one over the training rows."""
        weight = np.asarray(sample_weight, dtype=np.float64)
        if weight.shape != (len(self.X_train),):
            raise ValueError(
                f"sample_weight must have shape ({len(self.X_train)},), one weight per "
                f"row of X_train, got {weight.shape}."
            )
        train = weight if self.train_rows is None else weight[self.train_rows]
        if not (np.all(np.isfinite(train)) and np.all(train >= 0) and train.sum() > 0):
            raise ValueError(
                "sample_weight must be finite and non-negative, with at least one "
                "non-zero weight on the training rows."
            )
        return weight / train.mean()

    def _check_options(self):
        check_dict(self.optim_config, "optim_config")
        if "learning_rate" in self.optim_config:
            check_number(self.optim_config["learning_rate"],
                         "optim_config['learning_rate']", low=0)
        # a factor <= 0 would zero or flip the sign of the learning rate
        check_number(self.lr_decay, "lr_decay", low=0, low_open=True)
        self.batch_size = check_int(self.batch_size, "batch_size")
        self.num_epochs = check_int(self.num_epochs, "num_epochs")
        self.n_iter_no_change = check_int(self.n_iter_no_change, "n_iter_no_change")
        for name in ("num_train_samples", "num_val_samples"):
            setattr(self, name, check_int(getattr(self, name), name, allow_none=True))
        self.print_every = check_int(self.print_every, "print_every", low=0,
                                     allow_none=True)

    def _check_data(self):
        """Shapes and labels of the training and validation data."""
        num_classes = getattr(self.model, "num_classes", None)
        self.X_train = check_array(self.X_train, "X_train", min_ndim=1)
        if len(self.X_train) != len(self.y_train):
            raise ValueError(
                f"X_train has {len(self.X_train)} samples but y_train has "
                f"{len(self.y_train)}."
            )
        self.y_train = check_labels(self.y_train, len(self.X_train), num_classes,
                                    name="y_train")
        if self.X_val is not None and self.y_val is not None:
            self.X_val = check_array(self.X_val, "X_val", min_ndim=1)
            self.y_val = check_labels(self.y_val, len(self.X_val), num_classes,
                                      name="y_val")

    def _num_train(self):
        return len(self.X_train) if self.train_rows is None else len(self.train_rows)

    def _has_validation(self):
        return self.X_val is not None and self.y_val is not None and len(self.X_val) > 0

    def _reset(self):
        """Set up the bookkeeping; called by ``__init__``, not meant to be called again."""
        self.epoch = 0
        self.iteration = 0
        self.best_val_acc = 0
        self.best_val_loss = math.inf
        self.best_epoch = 0
        self.best_params = {}
        self._best_bn_stats = None
        self.loss_history = []
        self.train_acc_history = []
        self.val_acc_history = []
        self.history = []
        self.interrupted = False
        self.evaluation_params = None
        self.optim_configs = {p: dict(self.optim_config) for p in self.model.params}
        self._apply_lr_scales()
        self._divergence = DivergenceMonitor()
        self._builtin_callbacks = self._make_builtin_callbacks()
        self._training_state = None

    def _apply_lr_scales(self):
        """The learning-rate multipliers a model asks for (its ``lr_scales``, by
        parameter name), kept as ``lr_scale`` in those parameters' optim configs,
        which a learning-rate schedule multiplies its rate by."""
        base = self._base_learning_rate()
        for name, scale in getattr(self.model, "lr_scales", {}).items():
            self.optim_configs[name]["lr_scale"] = scale
            self.optim_configs[name]["learning_rate"] = base * scale

    def _make_builtin_callbacks(self):
        """The callbacks of the keyword options, in the order they must run."""
        callbacks = []
        if self._has_schedule():
            callbacks.append(LearningRateSchedule(
                self._base_learning_rate(), self.lr_decay, self.lr_schedule,
                self.warmup_fraction))
        if self.augment and self.augment_flip == "alternating":
            callbacks.append(AlternatingFlipAndShift(self.augment_pad,
                                                     self.augment_border))
        elif self.augment:
            callbacks.append(FlipAndShift(self.augment_pad, self.augment_border,
                                          flip=self.augment_flip is not None))
        if self.weight_averaging == "lookahead":
            callbacks.append(Lookahead())
        elif self.weight_averaging is not None:
            # first at the epoch's end: the others see the trained weights
            callbacks.append(WeightAveraging(self.weight_averaging))
        if self.verbose:
            callbacks.append(PrintProgress(self.print_every))
        if self.early_stopping:
            callbacks.append(StopOnPlateau(self.n_iter_no_change, self.monitor))
        if self.checkpoint_name is not None:
            # last: the state it saves has every other callback's epoch in it
            callbacks.append(EpochCheckpoint(self.checkpoint_name))
        return callbacks

    def _has_schedule(self):
        """Whether the learning rate changes at every step (a LearningRateSchedule)."""
        return self.lr_schedule != "constant" or self.warmup_fraction > 0

    def _base_learning_rate(self):
        """``optim_config``'s learning rate, else the update rule's default.

        The default is the rule's in :data:`skdeep.nn.optim.DEFAULT_LEARNING_RATES`;
        NaN for an update rule given as a function, whose default is unknown.
        """
        return self.optim_config.get(
            "learning_rate", optim.DEFAULT_LEARNING_RATES.get(self._rule_name, math.nan))

    def _learning_rate(self):
        """The current learning rate, for error messages and the history."""
        for config in self.optim_configs.values():
            if "learning_rate" in config:
                return config["learning_rate"]
        return self._base_learning_rate()

    def _step(self, X_batch, y_batch, weight_batch=None):
        """One gradient step on a minibatch."""
        kwargs = {} if weight_batch is None else {"sample_weight": weight_batch}
        if self._penalized_rule is None:
            self._plain_step(X_batch, y_batch, kwargs)
        else:
            self._penalized_step(X_batch, y_batch, kwargs)
        self.iteration += 1

    def _plain_step(self, X_batch, y_batch, kwargs):
        """The step of any model: its ``loss``, then the update rule on each parameter."""
        loss, grads = self.model.loss(X_batch, y_batch, **kwargs)
        self._record_loss(loss)
        params = self.model.params
        for p, w in params.items():
            config = self.optim_configs[p]
            if self._can_update_in_place(w):
                self.update_rule(w, grads[p], config, out=w)
            else:
                params[p], self.optim_configs[p] = self.update_rule(w, grads[p], config)

    def _penalized_step(self, X_batch, y_batch, kwargs):
        """The step of skdeep's own models, whose loss is a data loss plus the L2 penalty.

        The update rule's penalized twin adds the penalty's gradient ``reg * W`` as it
        updates each penalized weight and returns the ``sum(W**2)`` it read, so the
        weights are read once instead of three times; the loss recorded is the one
        ``model.loss`` returns, from the same sums.  A NaN or infinite data loss
        raises before the update, as the plain step's loss does; the rest of the
        divergence rule sees the loss after it.
        """
        # the update rules are done with the gradients before the next step
        loss, grads, penalized = self.model._data_loss(X_batch, y_batch,
                                                       reuse_grads=True, **kwargs)
        check_finite_loss(loss, self._learning_rate(), len(self.loss_history))
        reg = self.model.reg
        params = self.model.params
        square_sums = {}
        for p, w in params.items():
            out = w if self._can_update_in_place(w) else None
            params[p], self.optim_configs[p], square_sums[p] = self._penalized_rule(
                w, grads[p], self.optim_configs[p], out, reg if p in penalized else 0.0)
        if reg:
            loss = optim._with_l2_penalty(loss, reg, [square_sums[p] for p in penalized])
        self._record_loss(loss)

    def _can_update_in_place(self, w):
        """Whether the update rule may write the new weights into ``w`` itself."""
        return (self._updates_in_place and isinstance(w, np.ndarray)
                and w.dtype in (np.float32, np.float64)
                and w.flags.c_contiguous and w.flags.writeable)

    def _record_loss(self, loss):
        """Check the step's loss for divergence, then append it to ``loss_history``."""
        self._divergence.check(loss, self._learning_rate(), len(self.loss_history))
        self.loss_history.append(loss)

    def _bn_stats(self):
        """The model's batchnorm running statistics (the arrays themselves)."""
        return [{k: bn[k] for k in ("running_mean", "running_var") if k in bn}
                for bn in getattr(self.model, "bn_params", ())]

    def _snapshot(self):
        """Copies of the parameters and of any batchnorm running statistics."""
        self.best_params = {k: v.copy() for k, v in self.model.params.items()}
        self._best_bn_stats = copy.deepcopy(self._bn_stats())

    def final_weights(self):
        """The parameters and batchnorm statistics ``train()`` would end with now.

        With validation data, those of the best epoch so far (``best_params``);
        without, once an epoch has completed, ``evaluation_params`` when a
        callback sets them (the average of ``weight_averaging``), with the
        trained weights' batchnorm statistics; otherwise the trained weights.
        ``train()`` puts them in the model when it ends; a callback can read
        them at the end of an epoch, as the model ``train()`` would return if
        it stopped there.

        Returns
        -------
        params : dict of str to ndarray
            The arrays themselves, not copies: copy them before changing them.
        bn_stats : list of dict
            ``running_mean`` and ``running_var`` of each of the model's
            ``bn_params`` (an empty list without them), likewise not copied.
        """
        if self.best_params:
            return self.best_params, self._best_bn_stats
        params, bn_stats = self._training_state or (self.model.params, self._bn_stats())
        if self.epoch > 0 and self.evaluation_params is not None:
            return self.evaluation_params, bn_stats
        return params, bn_stats

    def _set_final_weights(self):
        """Put copies of :meth:`final_weights` in the model, unless it holds them."""
        params, bn_stats = self.final_weights()
        if params is not self.model.params:
            self.model.params = {k: v.copy() for k, v in params.items()}
            self._set_bn_stats(bn_stats)

    def _set_bn_stats(self, stats):
        """Copies of ``stats`` as the model's batchnorm running statistics."""
        for bn, saved in zip(getattr(self.model, "bn_params", ()), stats):
            bn.update({k: v.copy() for k, v in saved.items()})

    def check_accuracy(self, X, y, num_samples=None, batch_size=100, sample_weight=None):
        """Accuracy of the model on data, in test mode.

        Parameters
        ----------
        X : ndarray of shape (N, ...)
            Inputs.
        y : ndarray of shape (N,)
            Integer labels.
        num_samples : int, default=None
            When set and smaller than N, the accuracy is measured on that many
            samples drawn without replacement.
        batch_size : int, default=100
            Samples per forward pass, to bound memory.
        sample_weight : ndarray of shape (N,), default=None
            skdeep extension: weights of the samples in the accuracy.

        Returns
        -------
        acc : float
            (Weighted) fraction of correctly classified samples.
        """
        X = check_array(X, "X", min_ndim=1)
        y = check_labels(y, X.shape[0], name="y")
        num_samples = check_int(num_samples, "num_samples", allow_none=True)
        batch_size = check_int(batch_size, "batch_size")
        return _accuracy(*self._sampled_scores(X, y, num_samples, batch_size,
                                               sample_weight))

    def _sampled_scores(self, X, y, num_samples=None, batch_size=100,
                        sample_weight=None):
        """Test-mode scores of ``X``, or of ``num_samples`` of its rows drawn at
        random, with their labels and weights."""
        if num_samples is not None and X.shape[0] > num_samples:
            # sorted, so the gather below reads X in order
            idx = np.sort(self._rng.choice(X.shape[0], num_samples, replace=False))
            X, y = X[idx], y[idx]
            sample_weight = None if sample_weight is None else sample_weight[idx]
        scores = [self.model.loss(X[start:start + batch_size])
                  for start in range(0, X.shape[0], batch_size)]
        # no rows: no scores, and an accuracy of NaN as np.average gives
        return np.concatenate(scores) if scores else np.empty((0, 1)), y, sample_weight

    def _train_accuracy(self):
        if self.train_rows is None:
            return _accuracy(*self._sampled_scores(
                self.X_train, self.y_train, num_samples=self.num_train_samples,
                sample_weight=self.sample_weight))
        rows = self.train_rows
        if self.num_train_samples is not None and len(rows) > self.num_train_samples:
            rows = np.sort(self._rng.choice(rows, self.num_train_samples, replace=False))
        return _accuracy(*self._sampled_scores(
            self.X_train[rows], self.y_train[rows],
            sample_weight=None if self.sample_weight is None else self.sample_weight[rows]))

    def _validation_scores(self):
        """Validation accuracy and mean cross-entropy (NaN and NaN without validation)."""
        if not self._has_validation():
            return float("nan"), float("nan")
        scores, y, weight = self._sampled_scores(self.X_val, self.y_val,
                                                 num_samples=self.num_val_samples,
                                                 sample_weight=self.sample_weight_val)
        return _accuracy(scores, y, weight), _cross_entropy(scores, y, weight)

    def train(self):
        """Run the epochs from ``epoch`` to ``num_epochs`` (all of them, unless resumed).

        With validation data, the model ends with the parameters (and batchnorm
        running statistics) of the epoch with the best validation accuracy (the
        lowest validation loss with ``monitor='val_loss'``); ties go to the later
        epoch.  Without, it keeps the last epoch's (their average with
        ``weight_averaging``): see :meth:`final_weights`.

        A ``KeyboardInterrupt`` (Ctrl-C) stops training at once: the model ends as
        above with the epochs completed (or keeps its current parameters when none
        has), ``interrupted`` is set, a warning says so, and ``train()`` returns.

        Returns
        -------
        self : Solver
            With the histories filled in.

        Raises
        ------
        skdeep.exceptions.DivergenceError
            When the loss becomes NaN or infinite or explodes (the rule of
            :class:`~skdeep.exceptions.DivergenceMonitor`), naming the learning rate.
        """
        self._plan_iterations()
        self._callbacks = self._builtin_callbacks + self.callbacks
        self.interrupted = False
        self.evaluation_params = None
        self._training_state = None
        # a diverging run overflows long before it raises DivergenceError, which
        # says what happened; NumPy's overflow warnings on the way would only be noise.
        # One BLAS thread: results independent of the thread limits (see _threads)
        with np.errstate(over="ignore", invalid="ignore"), blas_single_thread():
            self._call("on_train_begin")
            try:
                self._run_epochs()
            except KeyboardInterrupt:
                self._note_interruption()
            finally:
                release_arena(self.model)
            # what training continues from, should state_dict() be asked for
            self._training_state = (self.model.params, self._bn_stats())
            self._set_final_weights()
            self._call("on_train_end")
        return self

    def _plan_iterations(self):
        """``iterations_per_epoch`` and ``num_iterations``, for the loop and callbacks."""
        self.iterations_per_epoch = math.ceil(
            self._num_train() / min(self.batch_size, self._num_train()))
        self.num_iterations = self.num_epochs * self.iterations_per_epoch

    def _note_interruption(self):
        self.interrupted = True
        if self.best_params:
            value = self.history[self.best_epoch - 1][self.monitor]
            watched = self.monitor.replace("val_", "validation ")
            kept = (f"the parameters of the best epoch so far (epoch {self.best_epoch}, "
                    f"{watched} {value:g})")
        elif self.epoch and self.evaluation_params is not None:
            kept = "the average of its weights"
        else:
            kept = "its current parameters"
        warnings.warn(
            f"training interrupted after {self.epoch} of {self.num_epochs} epochs "
            f"({self.iteration} steps); the model keeps {kept}.", UserWarning,
            stacklevel=3)

    def _call(self, hook, *args):
        """Call method ``hook`` of every callback; True when any returns True."""
        results = [getattr(callback, hook)(self, *args) for callback in self._callbacks]
        return any(bool(result) for result in results)

    def _call_batch_begin(self, X_batch, y_batch):
        """``on_batch_begin`` of every callback, each receiving the last one's batch."""
        for callback in self._callbacks:
            transformed = callback.on_batch_begin(self, X_batch, y_batch)
            if transformed is not None:
                X_batch = transformed
        return X_batch

    def _run_epochs(self):
        X_train, y_train, weight = self.X_train, self.y_train, self.sample_weight
        num_train = self._num_train()
        bounds = (np.arange(self.iterations_per_epoch + 1) * num_train
                  // self.iterations_per_epoch)
        # minibatches are gathered into one buffer, never copied out of X_train anew
        batch_buffer = np.empty((np.max(np.diff(bounds)),) + X_train.shape[1:],
                                dtype=X_train.dtype)
        for _ in range(self.epoch, self.num_epochs):
            self._call("on_epoch_begin")
            started = time.perf_counter()
            order = self._rng.permutation(num_train)
            if self.train_rows is not None:
                order = self.train_rows[order]
            first_loss = len(self.loss_history)
            for start, stop in zip(bounds[:-1], bounds[1:]):
                idx = order[start:stop]
                X_batch = np.take(X_train, idx, axis=0, out=batch_buffer[:len(idx)],
                                  mode="clip")
                self.batch_rows = idx
                X_batch = self._call_batch_begin(X_batch, y_train[idx])
                self._step(X_batch, y_train[idx], None if weight is None else weight[idx])
                self._call("on_batch_end", self.loss_history[-1])
            self.epoch += 1
            learning_rate = self._learning_rate()
            for config in self.optim_configs.values():
                if "learning_rate" in config:
                    config["learning_rate"] *= self.lr_decay
            record = self._evaluate_epoch(first_loss, learning_rate, started)
            if self._call("on_epoch_end", record):
                break

    def _evaluate_epoch(self, first_loss, learning_rate, started):
        """Accuracies and losses of the epoch just trained, kept if best; its record."""
        trained = self.model.params
        if self.evaluation_params is not None:
            self.model.params = self.evaluation_params
        try:
            train_acc = self._train_accuracy()
            val_acc, val_loss = self._validation_scores()
            if self._has_validation():
                self._keep_if_best(val_acc, val_loss)
        finally:
            self.model.params = trained
        self.train_acc_history.append(train_acc)
        if self._has_validation():
            self.val_acc_history.append(val_acc)
        self.history.append({
            "epoch": self.epoch,
            "train_loss": float(np.mean(self.loss_history[first_loss:])),
            "train_accuracy": train_acc, "val_loss": val_loss, "val_accuracy": val_acc,
            "learning_rate": learning_rate, "seconds": time.perf_counter() - started,
        })
        return self.history[-1]

    def _keep_if_best(self, val_acc, val_loss):
        """Snapshot the parameters evaluated if ``monitor`` ranks them best so far.

        Ties go to the later epoch; the first epoch is kept whatever its scores.
        """
        value = val_acc if self.monitor == "val_accuracy" else val_loss
        best = self.best_val_acc if self.monitor == "val_accuracy" else self.best_val_loss
        if _is_improvement(self.monitor, value, best, ties=True) or not self.best_params:
            self.best_epoch = self.epoch
            self._snapshot()
        self.best_val_acc = max(self.best_val_acc, val_acc)
        self.best_val_loss = min(self.best_val_loss, val_loss)

    def state_dict(self):
        """Everything ``train()`` needs to continue from here, bit for bit.

        Take it between epochs: in a callback's ``on_epoch_end`` or after
        ``train()`` returns (not after an interruption, which stops mid-epoch).
        A new Solver over the same model, data and options continues with
        :meth:`load_state_dict`.

        Returns
        -------
        state : dict
            Copies (nothing shared with the solver, so it can be pickled and
            the solver trained on): ``epoch``, ``iteration``, ``rng`` (the state
            of the random source), ``optim_configs`` (with the optimizer's
            moments), ``params`` and ``bn_stats`` (the weights and batchnorm
            running statistics training continues from, which after ``train()``
            need not be the model's), ``best_val_acc``, ``best_val_loss``,
            ``best_epoch``, ``best_params``, ``best_bn_stats``, the histories,
            the divergence monitor, ``callbacks`` (the ``state_dict()`` of each
            callback, built-in or given, that has that method, in order) and
            ``callback_kinds`` (their class names).
        """
        params, bn_stats = self._training_state or (self.model.params, self._bn_stats())
        stateful = self._stateful_callbacks()
        return copy.deepcopy({
            "epoch": self.epoch, "iteration": self.iteration,
            "rng": _rng_state(self._rng), "optim_configs": self.optim_configs,
            "params": params, "bn_stats": bn_stats,
            "best_val_acc": self.best_val_acc, "best_val_loss": self.best_val_loss,
            "best_epoch": self.best_epoch, "best_params": self.best_params,
            "best_bn_stats": self._best_bn_stats, "loss_history": self.loss_history,
            "train_acc_history": self.train_acc_history,
            "val_acc_history": self.val_acc_history, "history": self.history,
            "divergence": self._divergence,
            "callbacks": [cb.state_dict() for cb in stateful],
            "callback_kinds": [type(cb).__name__ for cb in stateful],
        })

    def load_state_dict(self, state):
        """Continue from ``state``, as :meth:`state_dict` returned it.

        The model's parameters and batchnorm running statistics are set from the
        state; ``train()`` then runs epochs ``state['epoch'] + 1`` to
        ``num_epochs``.

        Parameters
        ----------
        state : dict
            From :meth:`state_dict` of a Solver with the same model, data and
            options (and callbacks, for those that keep a state).

        Returns
        -------
        self : Solver
            Ready to ``train()``.

        Raises
        ------
        ValueError
            When ``state`` does not fit this solver's model or callbacks.
        """
        state = copy.deepcopy(state)
        self._check_state(state)
        for name in ("epoch", "iteration", "optim_configs", "best_val_acc",
                     "best_val_loss", "best_epoch", "best_params", "loss_history",
                     "train_acc_history", "val_acc_history", "history"):
            setattr(self, name, state[name])
        self._best_bn_stats = state["best_bn_stats"]
        self._divergence = state["divergence"]
        _set_rng_state(self._rng, state["rng"])
        self.model.params = state["params"]
        self._set_bn_stats(state["bn_stats"])
        for callback, saved in zip(self._stateful_callbacks(), state["callbacks"]):
            callback.load_state_dict(saved)
        self._training_state = None
        return self

    def _stateful_callbacks(self):
        """The callbacks, built-in and given, that have a state to save."""
        return [cb for cb in self._builtin_callbacks + self.callbacks
                if hasattr(cb, "state_dict")]

    def _check_state(self, state):
        """ValueError unless ``state`` fits this solver's model and callbacks."""
        if not isinstance(state, dict) or "optim_configs" not in state:
            raise ValueError("state must be a dict returned by Solver.state_dict().")
        if set(state["params"]) != set(self.model.params):
            raise ValueError(
                f"state holds parameters {sorted(state['params'])}, but the model has "
                f"{sorted(self.model.params)}."
            )
        kinds = [type(cb).__name__ for cb in self._stateful_callbacks()]
        saved = state["callback_kinds"]
        if saved != kinds:
            raise ValueError(
                f"state was saved with the callbacks {saved}, this solver has {kinds}; "
                f"create the solver with the same options and callbacks."
            )


def _rng_state(rng):
    """The state of a RandomState or a Generator."""
    if isinstance(rng, np.random.Generator):
        return rng.bit_generator.state
    return rng.get_state()


def _set_rng_state(rng, state):
    if isinstance(rng, np.random.Generator):
        rng.bit_generator.state = state
    else:
        rng.set_state(state)
