"""scikit-learn's callback API (``sklearn.callback``) for skdeep's iterative estimators.

scikit-learn 1.9 added callbacks: ``est.set_callbacks(ProgressBar())``, and
``FitCallback`` objects whose ``on_fit_task_begin``/``on_fit_task_end`` hooks run
around each task of a fit (``on_fit_task_end`` returning True stops the loop),
propagated by ``Pipeline`` and the searches to the estimators inside them.  This
module is all an estimator needs to take part, and works (as a no-op) with an
older scikit-learn:

- :class:`CallbackSupport`: the mixin to inherit, first among the bases.  It
  brings ``set_callbacks``, which raises with an older scikit-learn.
- :class:`FitTasks`: the task tree of one call to ``fit``: built once the data
  is validated, ``begin_subtask``/``end_subtask`` around each epoch or block
  of iterations (``end_subtask`` returns the stop flag), ``end`` when the
  estimator is fitted.  ``fit`` must be decorated with scikit-learn's
  ``_fit_context``, which tears the callbacks down however ``fit`` exits.
- :func:`solver_bridge`: the :class:`skdeep.nn.solver.Solver` callback that
  makes each epoch of a Solver one subtask of a :class:`FitTasks`.

A linear classifier's ``fit`` reads::

    tasks = FitTasks(self, max_subtasks=n_blocks, X=X, y=y, sample_weight=sw)
    for block in range(n_blocks):
        tasks.begin_subtask("iterations")
        ...  # train one block
        if tasks.end_subtask(lambda: {"coef_": ..., "intercept_": ...}):
            break
    ...  # set the fitted attributes
    tasks.end()
"""
import sklearn

from ..nn.callbacks import Callback

try:
    from sklearn.callback import CallbackSupportMixin as _SklearnCallbackSupport
    # Read at call time, so that tests can pretend it is False.
    SKLEARN_HAS_CALLBACKS = True
except ImportError:  # scikit-learn < 1.9
    SKLEARN_HAS_CALLBACKS = False

    class _SklearnCallbackSupport:
        pass

# The first scikit-learn with sklearn.callback.
SKLEARN_CALLBACKS_VERSION = "1.9"


class CallbackSupport(_SklearnCallbackSupport):
    """Mixin giving an estimator scikit-learn's ``set_callbacks`` (scikit-learn >= 1.9).

    Inherit it before scikit-learn's mixins.  With an older scikit-learn the
    estimator works as before and ``set_callbacks`` raises an ImportError.
    """

    def set_callbacks(self, *callbacks):
        """Set the callbacks called during ``fit`` (needs scikit-learn >= 1.9).

        Each epoch (networks) or block of iterations (linear classifiers) is one
        fit task: :class:`sklearn.callback.ProgressBar` shows a bar of them,
        :class:`sklearn.callback.ScoringMonitor` scores the estimator after each,
        and a callback whose ``on_fit_task_end`` returns True ends the training
        after that task, leaving a fitted estimator.

        Parameters
        ----------
        *callbacks : callback instances
            Objects following scikit-learn's ``FitCallback`` protocol, such as
            those of :mod:`sklearn.callback` and :mod:`skdeep.callbacks`; they
            replace those set before, and no callback at all removes them.

        Returns
        -------
        self : object
            The estimator.

        Raises
        ------
        ImportError
            With scikit-learn older than 1.9, which has no callback API.
        TypeError
            When a callback does not follow the ``FitCallback`` protocol.
        """
        if not SKLEARN_HAS_CALLBACKS:
            raise ImportError(
                f"{type(self).__name__}.set_callbacks needs scikit-learn >= "
                f"{SKLEARN_CALLBACKS_VERSION} (sklearn.callback); scikit-learn "
                f"{sklearn.__version__} is installed. Upgrade it with "
                f"`pip install -U scikit-learn`."
            )
        return super().set_callbacks(*callbacks)


class FitTasks:
    """The callback tasks of one ``fit``: a root task and its sequential subtasks.

    Creating it starts the root task (``on_fit_task_begin``); each
    ``begin_subtask``/``end_subtask`` pair is one subtask; ``end`` ends the root
    task once the estimator is fitted.  Without scikit-learn's callback API every
    method does nothing and ``end_subtask`` returns False.

    Parameters
    ----------
    estimator : CallbackSupport
        The estimator being fitted.
    max_subtasks : int or None
        Most subtasks the fit will run (epochs, blocks); None when unknown.
        0 when there are none (a fit resumed from a checkpoint written after
        its last epoch): the root is then a leaf as well, as scikit-learn's
        contexts allow, and callbacks still tell it from a subtask by its place
        in the task tree, not by ``max_subtasks``.
    X, y : array-like
        The training data given to the callbacks (``ScoringMonitor`` scores on
        them): the validated ``X`` and ``y`` as the user gave them.
    sample_weight : ndarray or None, default=None
        Passed to the callbacks as ``metadata={"sample_weight": ...}``.
    """

    def __init__(self, estimator, *, max_subtasks, X, y, sample_weight=None):
        self._estimator = estimator
        self._kwargs = {"X": X, "y": y, "metadata": (
            None if sample_weight is None else {"sample_weight": sample_weight})}
        self._root = self._subtask = None
        if SKLEARN_HAS_CALLBACKS:
            self._root = estimator._init_callback_context(max_subtasks=max_subtasks)
            self._root.call_on_fit_task_begin(estimator=estimator, **self._kwargs)

    def begin_subtask(self, task_name, reconstruction_attributes=None):
        """Start the next subtask, named ``task_name`` ("epoch", "iterations"...).

        Parameters
        ----------
        task_name : str
            Name of the subtask, shown by ``ProgressBar``.
        reconstruction_attributes : dict or callable, default=None
            The fitted attributes that make a copy of the estimator predict as
            if ``fit`` stopped before this subtask (a callable returning them is
            called only when a callback asks for ``fitted_estimator``).
        """
        if self._root is not None:
            self._subtask = self._root.subcontext(task_name=task_name)
            self._subtask.call_on_fit_task_begin(
                estimator=self._estimator,
                reconstruction_attributes=reconstruction_attributes, **self._kwargs)

    def end_subtask(self, reconstruction_attributes=None):
        """End the current subtask; whether a callback asks to stop after it.

        Parameters
        ----------
        reconstruction_attributes : dict or callable, default=None
            As for :meth:`begin_subtask`, as if ``fit`` stopped after this subtask.

        Returns
        -------
        stop : bool
            True when a callback's ``on_fit_task_end`` returned True.
        """
        if self._subtask is None:
            return False
        subtask, self._subtask = self._subtask, None
        return subtask.call_on_fit_task_end(
            estimator=self._estimator,
            reconstruction_attributes=reconstruction_attributes, **self._kwargs)

    def end(self):
        """End the root task: the estimator is fitted (call once, last in ``fit``)."""
        if self._root is not None:
            self._root.call_on_fit_task_end(estimator=self._estimator,
                                            reconstruction_attributes={},
                                            **self._kwargs)


def solver_bridge(tasks, reconstruction_attributes):
    """A Solver callback making each epoch one subtask of ``tasks``.

    Parameters
    ----------
    tasks : FitTasks
        The tasks of the running ``fit``.
    reconstruction_attributes : callable
        ``reconstruction_attributes(solver)``: the fitted attributes of the
        estimator as if ``fit`` stopped now (called only when a callback asks
        for ``fitted_estimator``).

    Returns
    -------
    bridge : skdeep.nn.callbacks.Callback
        To pass in the Solver's ``callbacks``, after those that update the
        estimator; its ``on_epoch_end`` returns the scikit-learn callbacks' stop
        flag.
    """
    return _SolverBridge(tasks, reconstruction_attributes)


class _SolverBridge(Callback):
    """The Solver callback of :func:`solver_bridge`."""

    def __init__(self, tasks, reconstruction_attributes):
        self.tasks = tasks
        self.reconstruction_attributes = reconstruction_attributes

    def on_epoch_begin(self, solver):
        self.tasks.begin_subtask("epoch")

    def on_epoch_end(self, solver, record):
        return self.tasks.end_subtask(lambda: self.reconstruction_attributes(solver))
