"""Callbacks that steer the training of skdeep's networks (needs scikit-learn >= 1.9).

They follow scikit-learn's ``FitCallback`` protocol (:mod:`sklearn.callback`) and
are set like scikit-learn's own, beside them::

    from sklearn.callback import ProgressBar
    from skdeep.callbacks import Checkpoint, EarlyStopping

    clf.set_callbacks(ProgressBar(), EarlyStopping(patience=3),
                      Checkpoint("clf.joblib", save="last"))

Each epoch of :class:`~skdeep.neural_network.MLPClassifier` and
:class:`~skdeep.neural_network.ConvNetClassifier` is one fit task; these callbacks
act at its end.  See the user guide's page "Watching and steering training".
"""
import copy
import math
import os
from numbers import Integral, Real

from sklearn.utils._param_validation import StrOptions, validate_params

from .nn.callbacks import _MONITORS, _is_improvement
from .utils._io import atomic_dump
from .utils._param_validation import NumberInterval

__all__ = ["Checkpoint", "EarlyStopping"]

# The history columns EarlyStopping can watch: those that pick the epoch kept,
# and the training loss
_EARLY_STOPPING_MONITORS = (*_MONITORS, "train_loss")

# The attributes of scikit-learn's callback machinery on an estimator during a
# fit: a checkpoint leaves them behind, since they belong to the running fit
# (and, inside a Pipeline or a search, to the meta-estimator's).
_CALLBACK_ATTRIBUTES = ("_skl_callbacks", "_skl_callbacks_to_teardown",
                        "_callback_fit_ctx", "_parent_callback_ctx")


def _is_epoch(context):
    """Whether ``context`` is one epoch of a fit, not the fit as a whole.

    scikit-learn's rule, as its ``ProgressBar`` reads a task tree: the fit is
    the estimator's root task, which has no parent or, inside a Pipeline or a
    search, was merged with a task of the meta-estimator.  ``max_subtasks ==
    0`` only says that a task has no subtasks, which is also true of a fit
    resumed from a checkpoint with no epoch left to run.
    """
    return context.parent is not None and context.source_estimator_name is None


class _EpochEndCallback:
    """A ``FitCallback`` that acts only in ``on_fit_task_end``.

    The hooks of the protocol it has no use for do nothing.
    """

    def setup(self, estimator, context):
        """Nothing to prepare (part of the ``FitCallback`` protocol).

        Parameters
        ----------
        estimator : estimator instance
            The estimator being fitted.
        context : sklearn.callback.CallbackContext
            The context of its fit.
        """

    def teardown(self, estimator, context):
        """Nothing to release (part of the ``FitCallback`` protocol).

        Parameters
        ----------
        estimator : estimator instance
            The estimator that was fitted.
        context : sklearn.callback.CallbackContext
            The context of its fit.
        """

    def on_fit_task_begin(self, estimator, context):
        """Nothing to do before a task (part of the ``FitCallback`` protocol).

        Parameters
        ----------
        estimator : estimator instance
            The estimator being fitted.
        context : sklearn.callback.CallbackContext
            The context of the task.
        """


class Checkpoint(_EpochEndCallback):
    """Save the estimator to a file during ``fit``, to use or to resume from.

    After each epoch (``save='last'``), or after each epoch that ``fit`` would
    keep if it ended there (``save='best'``: the epoch matches or beats every
    earlier one by the estimator's ``monitor``, the validation loss or
    accuracy), the
    estimator is written to ``path`` with :func:`joblib.dump` as it would be if
    ``fit`` stopped then: fitted with the parameters ``fit`` keeps (the best
    epoch's with validation data), its ``history_`` up to that epoch, and what
    it takes to finish the ``fit``.  When ``fit`` ends, the file holds the
    fitted estimator.  Writing is atomic: a crash while writing leaves the
    previous file whole.

    To resume an interrupted ``fit``, load the file and fit it again on the
    same data with ``warm_start=True``: ``fit`` then runs the remaining epochs
    up to ``num_epochs`` and, with the same data, parameters and an int
    ``random_state``, ends exactly as the uninterrupted ``fit`` would have.

    Parameters
    ----------
    path : str or path-like
        The file to write (replaced at each save).
    save : {'best', 'last'}, default='best'
        ``'best'`` saves after the epochs whose ``monitor`` column (the
        estimator's parameter: ``val_loss`` lower, ``val_accuracy`` higher)
        matches or beats every earlier epoch of the ``fit`` (every epoch
        without validation data); ``'last'`` after every epoch.

    See Also
    --------
    EarlyStopping : Stop when a validation score stops improving.

    Notes
    -----
    The file holds the estimator without its callbacks: set them again after
    loading to keep checkpointing.  scikit-learn hands an estimator's
    callbacks to its clones, so inside a search every fit would write the same
    file: set the checkpoint on the estimator you fit yourself.  Loading runs
    pickled code: load only files you trust.

    Examples
    --------
    >>> import joblib
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import MLPClassifier
    >>> from skdeep.callbacks import Checkpoint
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(num_epochs=3, random_state=0)
    >>> clf = clf.set_callbacks(Checkpoint("mlp.joblib"))  # doctest: +SKIP
    >>> clf.fit(X / 16, y)  # doctest: +SKIP
    >>> clf = joblib.load("mlp.joblib")  # doctest: +SKIP
    """

    @validate_params({"path": [str, os.PathLike],
                      "save": [StrOptions({"best", "last"})]},
                     prefer_skip_nested_validation=True)
    def __init__(self, path, save="best"):
        self.path = path
        self.save = save

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        """Write the estimator as fitted so far, when ``save`` asks for it.

        Parameters
        ----------
        estimator : estimator instance
            The estimator being fitted.
        context : sklearn.callback.CallbackContext
            The context of the task (an epoch, or the whole fit).
        fitted_estimator : estimator instance, default=None
            A copy of the estimator as if ``fit`` had stopped after the task.

        Returns
        -------
        stop : bool
            Always False: a checkpoint never stops training.
        """
        if fitted_estimator is None:
            return False
        if self.save == "best" and _is_epoch(context) and not _is_best(fitted_estimator):
            return False
        saved = copy.copy(fitted_estimator)
        for name in _CALLBACK_ATTRIBUTES:
            saved.__dict__.pop(name, None)
        atomic_dump(saved, self.path)
        return False


def _is_best(fitted):
    """Whether the last epoch of ``fitted`` is the one its fit keeps, by ``monitor``."""
    history = getattr(fitted, "history_", None)
    if not history:
        return True
    monitor = fitted.monitor
    value = history[-1][monitor]
    best = fitted.best_val_loss_ if monitor == "val_loss" else fitted.best_val_acc_
    # the Solver keeps the later of equally good epochs, and so does the file
    return math.isnan(value) or _is_improvement(monitor, value, best, ties=True)


class EarlyStopping(_EpochEndCallback):
    """Stop ``fit`` when a score of the epochs has stopped improving.

    After each epoch, reads the ``monitor`` column of the estimator's
    ``history_`` (every epoch since the network was initialized, warm starts
    and resumed fits included), and stops training once the last ``patience``
    epochs have not improved on the best earlier value by more than
    ``min_delta`` (lower is better for the losses, higher for the accuracy).
    The estimator then keeps the parameters ``fit`` keeps when it ends: those
    of the epoch with the best value of the estimator's own ``monitor``
    parameter (the lowest validation loss by default), which names the
    columns as this ``monitor`` does; set both alike to stop on the score
    that picks the epoch.

    Unlike the estimators' ``early_stopping=True`` (their ``monitor``
    column, no tolerance), it takes a ``min_delta`` and can watch the
    training loss.

    Parameters
    ----------
    monitor : {'val_loss', 'val_accuracy', 'train_loss'}, default='val_loss'
        The column of ``history_`` to watch; the default is the estimators'
        default ``monitor``.  The validation columns need
        validation data (``validation_fraction > 0`` or ``X_val``).
    patience : int, default=5
        Epochs without improvement before stopping.
    min_delta : float, default=0.0
        The least change that counts as an improvement.

    See Also
    --------
    Checkpoint : Save the estimator during ``fit``.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import MLPClassifier
    >>> from skdeep.callbacks import EarlyStopping
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(num_epochs=50, random_state=0)
    >>> clf = clf.set_callbacks(EarlyStopping(patience=2))  # doctest: +SKIP
    >>> clf.fit(X / 16, y).n_iter_ < 50  # doctest: +SKIP
    True
    """

    @validate_params({"monitor": [StrOptions(set(_EARLY_STOPPING_MONITORS))],
                      "patience": [NumberInterval(Integral, 1, None, closed="left")],
                      "min_delta": [NumberInterval(Real, 0, None, closed="left")]},
                     prefer_skip_nested_validation=True)
    def __init__(self, monitor="val_loss", patience=5, min_delta=0.0):
        self.monitor = monitor
        self.patience = patience
        self.min_delta = min_delta

    def on_fit_task_end(self, estimator, context):
        """Whether the monitored score has not improved for ``patience`` epochs.

        Parameters
        ----------
        estimator : estimator instance
            The estimator being fitted, with ``history_`` up to this epoch.
        context : sklearn.callback.CallbackContext
            The context of the task; only epochs are judged, not the whole fit.

        Returns
        -------
        stop : bool
            True to end training after this epoch.

        Raises
        ------
        ValueError
            When the monitored column is NaN: validation scores without
            validation data.
        """
        if not _is_epoch(context) or not getattr(estimator, "history_", None):
            return False
        if math.isnan(estimator.history_[-1][self.monitor]):
            raise ValueError(
                f"EarlyStopping(monitor={self.monitor!r}) needs validation data: set "
                f"validation_fraction > 0 or pass X_val and y_val to fit."
            )
        # epochs of partial_fit have no validation scores
        values = [row[self.monitor] for row in estimator.history_
                  if not math.isnan(row[self.monitor])]
        best_epoch, best = 0, values[0]
        for epoch, value in enumerate(values[1:], start=1):
            if _is_improvement(self.monitor, value, best, ties=False,
                               min_delta=self.min_delta):
                best_epoch, best = epoch, value
        return len(values) - 1 - best_epoch >= self.patience
