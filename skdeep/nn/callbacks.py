"""Callbacks of the Solver: small objects called at fixed points of training.

The :class:`~skdeep.nn.solver.Solver` runs the loop of the CS231n reference
implementation and, at each point below, calls the method of that name on each of
its callbacks, in order::

    on_train_begin(solver)
    for each epoch:
        on_epoch_begin(solver)
        for each minibatch:
            X_batch = on_batch_begin(solver, X_batch, y_batch) or X_batch
            (one update step)
            on_batch_end(solver, loss)
        (the accuracies and losses of the epoch, appended to solver.history)
        stop = on_epoch_end(solver, record)
    on_train_end(solver)

Training stops after an epoch when any ``on_epoch_end`` returns True (all of them
are still called for that epoch).
"""

__all__ = ["Callback"]


class Callback:
    """Base class of the Solver's callbacks; every method does nothing by default.

    Derive from it and override the methods you need.  The ``solver`` argument is
    the :class:`~skdeep.nn.solver.Solver` that trains, with its model, data,
    options and bookkeeping (``epoch``, ``iteration``, ``history``...).

    Examples
    --------
    >>> from skdeep.nn.callbacks import Callback
    >>> class StopAtHalfAccuracy(Callback):
    ...     def on_epoch_end(self, solver, record):
    ...         return record["train_accuracy"] >= 0.5
    """

    def on_train_begin(self, solver):
        """Called once, when ``train()`` starts.

        Parameters
        ----------
        solver : Solver
            The solver that trains.
        """

    def on_epoch_begin(self, solver):
        """Called at the start of each epoch.

        Parameters
        ----------
        solver : Solver
            The solver that trains; ``solver.epoch`` is the number of epochs
            completed so far.
        """

    def on_batch_begin(self, solver, X_batch, y_batch):
        """Called before each update step, with the step's minibatch.

        Parameters
        ----------
        solver : Solver
            The solver that trains.
        X_batch : ndarray of shape (batch_size, ...)
            The minibatch's inputs, in a buffer the solver reuses: to transform
            them, write the result elsewhere (or into ``X_batch`` itself) and
            return it.
        y_batch : ndarray of shape (batch_size,)
            The minibatch's labels.

        Returns
        -------
        X_batch : ndarray of shape (batch_size, ...) or None
            The inputs the step trains on; None leaves them unchanged.
        """

    def on_batch_end(self, solver, loss):
        """Called after each update step.

        Parameters
        ----------
        solver : Solver
            The solver that trains; ``solver.iteration`` counts the steps taken.
        loss : float
            The minibatch's training loss (computed before the update).
        """

    def on_epoch_end(self, solver, record):
        """Called at the end of each epoch, after the epoch's evaluation.

        Parameters
        ----------
        solver : Solver
            The solver that trains; ``solver.epoch`` counts the completed epochs.
        record : dict
            The row just appended to ``solver.history``: ``epoch``,
            ``train_loss``, ``train_accuracy``, ``val_loss``, ``val_accuracy``,
            ``learning_rate``, ``seconds``.

        Returns
        -------
        stop : bool or None
            True stops training after this epoch.
        """

    def on_train_end(self, solver):
        """Called once, when ``train()`` ends (normally or interrupted).

        Parameters
        ----------
        solver : Solver
            The solver that trained; the model holds its final parameters.
        """
