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

The Solver's keyword options create the built-in callbacks below, ahead of those
passed in ``callbacks``: ``lr_schedule``/``warmup_fraction`` a
:class:`LearningRateSchedule`, ``augment`` a :class:`FlipAndShift` (an
:class:`AlternatingFlipAndShift` with ``augment_flip='alternating'``),
``weight_averaging`` a :class:`WeightAveraging`, ``verbose`` a
:class:`PrintProgress`, ``early_stopping`` a :class:`StopOnPlateau` and
``checkpoint_name`` an :class:`EpochCheckpoint`.
"""
import math

import numpy as np

from ..utils._io import atomic_dump

__all__ = ["AlternatingFlipAndShift", "Callback", "EpochCheckpoint", "FlipAndShift",
           "LearningRateSchedule", "Lookahead", "PrintProgress", "StopOnPlateau",
           "WeightAveraging"]

_LR_SCHEDULES = ("constant", "cosine", "linear")

# The history columns that can pick the epoch kept and stop training, each with
# the value no epoch does worse than
_MONITORS = {"val_accuracy": 0.0, "val_loss": math.inf}


def _is_improvement(monitor, value, best, ties, min_delta=0.0):
    """Whether ``value`` of column ``monitor`` beats ``best`` by more than ``min_delta``.

    Higher is better for the accuracy, lower for the losses (every other
    column); an equal value counts if ``ties``.  Negating a loss is exact, so
    with ``min_delta=0`` this is ``value < best`` for a loss.
    """
    if value == best:
        return ties
    sign = 1 if monitor == "val_accuracy" else -1
    return sign * value > sign * best + min_delta


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

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # an override without a docstring shows the hook's own, as help() would
        for name, method in vars(cls).items():
            if (name.startswith("on_") and callable(method) and method.__doc__ is None
                    and hasattr(Callback, name)):
                method.__doc__ = getattr(Callback, name).__doc__

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
        """Called once, when ``train()`` ends, normally or interrupted (not on an error).

        Parameters
        ----------
        solver : Solver
            The solver that trained; the model holds its final parameters.
        """


class _ResumableState:
    """The ``state_dict``/``load_state_dict`` of a callback whose state is attributes.

    A subclass names them in ``_STATE``; the Solver saves a callback that has
    ``state_dict`` with its own state and restores it on a resume.
    """

    _STATE = ()

    def state_dict(self):
        """The attributes named by the class's ``_STATE``, for a resume.

        Returns
        -------
        state : dict
            Each attribute by name (as the class's description lists them).
        """
        return {name: getattr(self, name) for name in self._STATE}

    def load_state_dict(self, state):
        """Continue from ``state``, as :meth:`state_dict` returned it.

        Parameters
        ----------
        state : dict
            Each attribute named by the class's ``_STATE``, by name.
        """
        for name in self._STATE:
            setattr(self, name, state[name])


def _schedule_factor(step, num_steps, warmup_steps, schedule):
    """Multiplier of the learning rate at ``step`` (0-based) of ``num_steps``."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, num_steps - warmup_steps)
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    return 1 - progress


class LearningRateSchedule(Callback):
    """Sets the learning rate before every step: a warm-up, then constant or decaying.

    At step ``t`` (0-based) of the ``T = solver.num_iterations`` steps of
    training, in epoch ``e`` (0-based), the rate is ``learning_rate * lr_decay**e
    * f(t)``.  During the ``W = round(warmup_fraction * T)`` warm-up steps ``f``
    rises linearly, ``f(t) = (t + 1) / W``; afterwards it is 1 (``'constant'``),
    follows half a cosine from 1 down to 0 over the remaining steps
    (``'cosine'``) or a straight line (``'linear'``).  A linear warm-up followed
    by either decay is the "one-cycle" schedule of Smith & Topin (2019), without
    its momentum cycle.  A parameter whose optim config has an ``lr_scale``
    (the Solver puts the model's ``lr_scales`` there) gets the rate times it.

    Parameters
    ----------
    learning_rate : float
        The peak rate.
    lr_decay : float, default=1.0
        Factor per completed epoch, as the Solver's ``lr_decay``.
    schedule : {'constant', 'cosine', 'linear'}, default='cosine'
        The shape after the warm-up.
    warmup_fraction : float, default=0.0
        Share of the steps, in [0, 1), spent warming up.
    """

    def __init__(self, learning_rate, lr_decay=1.0, schedule="cosine",
                 warmup_fraction=0.0):
        self.learning_rate = learning_rate
        self.lr_decay = lr_decay
        self.schedule = schedule
        self.warmup_fraction = warmup_fraction

    def on_batch_begin(self, solver, X_batch, y_batch):
        num_steps = solver.num_iterations
        warmup_steps = int(round(self.warmup_fraction * num_steps))
        rate = (self.learning_rate * self.lr_decay ** solver.epoch
                * _schedule_factor(solver.iteration, num_steps, warmup_steps,
                                   self.schedule))
        for config in solver.optim_configs.values():
            config["learning_rate"] = rate * config.get("lr_scale", 1.0)


AUGMENT_FLIPS = ("random", "alternating")
AUGMENT_BORDERS = ("zeros", "reflect")


def _flip_and_shift(x, pad, rng, out, flips=None, border="zeros"):
    """Left-right flips and random shifts of images ``x`` (N, C, H, W), into ``out``.

    Image ``i`` is flipped where ``flips[i]`` is True (None: with probability
    1/2, a coin drawn from ``rng`` per image), then moved by ``(dy, dx)`` drawn
    uniformly from ``[-pad, pad]``: ``out[i, :, y, x]`` is pixel ``(y + dy, x +
    dx)`` of the (flipped) image, the pixels outside it being zeros
    (``border='zeros'``) or their mirror images across the border
    (``'reflect'``).  That is the ``H x W`` crop at offset ``(pad + dy, pad +
    dx)`` of the image padded by ``pad`` on each side, as ``np.pad`` pads in
    mode ``'constant'`` or ``'reflect'``.
    """
    n = len(x)
    if flips is None:
        flips = rng.random(n) < 0.5
    shifts = rng.choice(2 * pad + 1, size=(n, 2)) - pad
    if border == "reflect":
        return _reflected_crops(x, flips, shifts, pad, out)
    return _zero_filled_crops(x, flips, shifts, out)


def _zero_filled_crops(x, flips, shifts, out):
    """The crops of `_flip_and_shift` with zeros around, without a padded copy."""
    _, _, height, width = x.shape
    out.fill(0)
    for i in range(len(x)):
        dy, dx = shifts[i]
        source = x[i, :, :, ::-1] if flips[i] else x[i]
        y0, y1 = max(0, -dy), min(height, height - dy)
        x0, x1 = max(0, -dx), min(width, width - dx)
        out[i, :, y0:y1, x0:x1] = source[:, y0 + dy:y1 + dy, x0 + dx:x1 + dx]
    return out


def _reflected_crops(x, flips, shifts, pad, out):
    """The crops of `_flip_and_shift` with reflected borders."""
    _, _, height, width = x.shape
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="reflect")
    for i in range(len(x)):
        dy, dx = shifts[i]
        # the padding is symmetric: flipping the padded image pads the flipped one
        source = padded[i, :, :, ::-1] if flips[i] else padded[i]
        out[i] = source[:, pad + dy:pad + dy + height, pad + dx:pad + dx + width]
    return out


class FlipAndShift(Callback):
    """Trains on randomly flipped and shifted copies of each minibatch of images.

    Each image (N, C, H, W) is flipped left-right with probability 1/2 (a coin
    per image and minibatch; no flips with ``flip=False``) and shifted by up
    to ``pad`` pixels in each direction, drawn uniformly: a random crop of the
    image padded with ``pad`` pixels on each side, zeros or the image's mirror
    across its border (``np.pad`` in mode ``'reflect'``).  The draws come from
    the solver's random source, so ``random_state`` repeats them.

    Parameters
    ----------
    pad : int
        The largest shift, in pixels.
    border : {'zeros', 'reflect'}, default='zeros'
        What fills the pixels a shift brings in: zeros, or the pixels across
        the border (the row or column next to the border is not repeated).
    flip : bool, default=True
        Whether to flip images at random.

    See Also
    --------
    AlternatingFlipAndShift : Each image flipped every other epoch.
    """

    def __init__(self, pad, border="zeros", flip=True):
        self.pad = pad
        self.border = border
        self.flip = flip
        self._out = None

    def _flips(self, solver, n):
        """Which of the ``n`` images of the minibatch to flip; None draws coins."""
        return None if self.flip else np.zeros(n, dtype=bool)

    def on_batch_begin(self, solver, X_batch, y_batch):
        # one buffer for every minibatch, as the solver's own
        if self._out is None or self._out.shape[1:] != X_batch.shape[1:] or (
                len(self._out) < len(X_batch) or self._out.dtype != X_batch.dtype):
            rows = max(len(X_batch), min(solver.batch_size, len(solver.X_train)))
            self._out = np.empty((rows,) + X_batch.shape[1:], dtype=X_batch.dtype)
        return _flip_and_shift(X_batch, self.pad, solver._rng, self._out[:len(X_batch)],
                               self._flips(solver, len(X_batch)), self.border)


class AlternatingFlipAndShift(_ResumableState, FlipAndShift):
    """Shifts as :class:`FlipAndShift`, and flips that alternate per image.

    The "alternating flip" of the airbench CIFAR-10 speed records: when
    training begins, a coin per row of ``X_train`` (drawn from the solver's
    random source) picks the images flipped in the first epoch, about half of
    them; every later epoch flips exactly the images the previous one did not.
    Each image is thus seen flipped every other epoch, in both views equally
    often, where independent coins would show some images the same view
    several epochs in a row.  The coins belong to one ``train()`` (and its
    resumes): a new solver draws new ones.

    Parameters
    ----------
    pad : int
        The largest shift, in pixels.
    border : {'zeros', 'reflect'}, default='zeros'
        What fills the pixels a shift brings in, as in :class:`FlipAndShift`.

    Notes
    -----
    Its state for a resume (:meth:`state_dict`) is ``first_flips``, the
    boolean array of shape (len(X_train),) of the rows flipped in the first
    epoch (None before training), from which every epoch's flips follow.
    """

    _STATE = ("first_flips",)

    def __init__(self, pad, border="zeros"):
        super().__init__(pad, border=border)
        self.first_flips = None

    def on_train_begin(self, solver):
        # a resumed training continues with the coins it was saved with
        if self.first_flips is None:
            self.first_flips = solver._rng.random(len(solver.X_train)) < 0.5

    def _flips(self, solver, n):
        # solver.epoch counts the completed epochs: odd ones flip the complement
        return self.first_flips[solver.batch_rows] ^ bool(solver.epoch % 2)


class WeightAveraging(_ResumableState, Callback):
    """Keeps an exponential moving average of the parameters; evaluates and ends with it.

    After every step, ``avg = d_t * avg + (1 - d_t) * w`` with ``d_t = min(decay,
    (1 + t) / (10 + t))``, t the updates averaged so far, so that the average
    forgets the random initial weights quickly.  The average is the solver's
    ``evaluation_params``: each epoch is evaluated (and the best epoch kept)
    with it, while training goes on from the trained weights.  Without
    validation data the model ends with the average, as with any
    ``evaluation_params`` (see :meth:`~skdeep.nn.solver.Solver.final_weights`).
    Batchnorm's running statistics stay those of the trained weights.

    Parameters
    ----------
    decay : float
        ``d``, in (0, 1); typical values are 0.99 to 0.9999.

    Notes
    -----
    Its state for a resume (:meth:`state_dict`) is ``average`` (dict of str
    to ndarray, or None) and ``num_averaged``, the count of updates in it.
    """

    _STATE = ("average", "num_averaged")

    def __init__(self, decay):
        self.decay = decay
        self.average = None
        self.num_averaged = 0

    def on_train_begin(self, solver):
        # a resumed training evaluates (and, with no epoch left, ends) with the
        # average it was saved with, before any step of its own
        solver.evaluation_params = self.average

    def on_batch_end(self, solver, loss):
        params = solver.model.params
        if self.average is None:
            self.average = {k: v.copy() for k, v in params.items()}
        decay = min(self.decay, (1 + self.num_averaged) / (10 + self.num_averaged))
        self.num_averaged += 1
        for name, w in params.items():
            average = self.average[name]
            average *= decay
            average += (1 - decay) * w
        solver.evaluation_params = self.average


class Lookahead(_ResumableState, Callback):
    """Lookahead of the CIFAR-10 records: weights pulled back to a slow average every k steps.

    Every ``every`` steps (counting from the first), ``avg = d_t * avg + (1 -
    d_t) * w`` and then ``w = avg``, for every parameter and every running
    statistic of the normalization layers, with ``d_t = decay * (t / T) ** 3``
    (t the steps done, T = ``solver.num_iterations``): early in training the
    average follows the weights, late it damps the last steps' noise.  After
    the last step the weights become the average as it stood at the last pull
    (``d = 1``), before the last epoch is evaluated.  This is the
    version of weight averaging the CIFAR-10 speed records use (airbench:
    ``every=5``, ``decay=0.95 ** 5``); unlike :class:`WeightAveraging` the
    model trains on from the averaged weights and the running statistics are
    averaged with them.

    Parameters
    ----------
    decay : float, default=0.95 ** 5
        The largest ``d_t``, in (0, 1), reached at the last step.
    every : int, default=5
        Steps between pulls.

    Notes
    -----
    Its state for a resume (:meth:`state_dict`) is ``average`` (dict of str
    to ndarray, or None), the average of the parameters and of the running
    statistics, the latter keyed ``"<i>:running_mean"``/``"<i>:running_var"``.
    """

    _STATE = ("average",)

    def __init__(self, decay=0.95 ** 5, every=5):
        self.decay = decay
        self.every = every
        self.average = None

    @staticmethod
    def _tensors(solver):
        """The arrays averaged, by name: the parameters, then the running statistics."""
        tensors = dict(solver.model.params)
        for i, bn_param in enumerate(getattr(solver.model, "bn_params", ())):
            for key in ("running_mean", "running_var"):
                if key in bn_param:
                    tensors[f"{i}:{key}"] = bn_param[key]
        return tensors

    def _pull(self, solver, decay):
        tensors = self._tensors(solver)
        if self.average is None or self.average.keys() != tensors.keys():
            self.average = {k: np.array(v, copy=True) for k, v in tensors.items()}
        for name, w in tensors.items():
            average = self.average[name]
            average *= decay
            average += (1 - decay) * w
            w[...] = average

    def on_batch_end(self, solver, loss):
        # the last step's pull comes before the last epoch is evaluated
        if solver.iteration >= solver.num_iterations and self.average is not None:
            self._pull(solver, 1.0)
        elif solver.iteration % self.every == 0:
            progress = min(1.0, solver.iteration / max(1, solver.num_iterations))
            self._pull(solver, self.decay * progress ** 3)


class PrintProgress(Callback):
    """Prints the CS231n progress lines.

    ``(Iteration t / T) loss: ...`` every ``print_every`` steps and, after each
    epoch, ``(Epoch e / E) train acc: ...; val_acc: ...; loss: ...`` with the
    epoch's mean training loss (``val_acc`` only with validation data).

    Parameters
    ----------
    print_every : int or None, default=10
        Steps between iteration lines; 0 or None prints epoch lines only.
    """

    def __init__(self, print_every=10):
        self.print_every = print_every

    def on_batch_end(self, solver, loss):
        if self.print_every and solver.iteration % self.print_every == 0:
            print(f"(Iteration {solver.iteration} / {solver.num_iterations}) "
                  f"loss: {loss:f}")

    def on_epoch_end(self, solver, record):
        line = (f"(Epoch {record['epoch']} / {solver.num_epochs}) "
                f"train acc: {record['train_accuracy']:f}")
        if not math.isnan(record["val_accuracy"]):
            line += f"; val_acc: {record['val_accuracy']:f}"
        print(f"{line}; loss: {record['train_loss']:f}")


class StopOnPlateau(_ResumableState, Callback):
    """Stops training when the validation accuracy (or loss) has stopped improving.

    Training stops after the epoch that makes ``patience`` epochs in a row
    without a value of ``monitor`` better than the best so far (above it for
    the accuracy, below it for the loss).

    Parameters
    ----------
    patience : int, default=10
        Epochs without improvement tolerated.
    monitor : {'val_accuracy', 'val_loss'}, default='val_accuracy'
        The column of the epoch's record to watch.

    Notes
    -----
    Its state for a resume (:meth:`state_dict`) is ``best``, the best value
    of ``monitor`` so far, and ``epochs_without_improvement``.
    """

    _STATE = ("best", "epochs_without_improvement")

    def __init__(self, patience=10, monitor="val_accuracy"):
        self.patience = patience
        self.monitor = monitor
        self.best = _MONITORS[monitor]
        self.epochs_without_improvement = 0

    def on_epoch_end(self, solver, record):
        if _is_improvement(self.monitor, record[self.monitor], self.best, ties=False):
            self.best = record[self.monitor]
            self.epochs_without_improvement = 0
        else:
            self.epochs_without_improvement += 1
        if self.epochs_without_improvement < self.patience:
            return False
        if solver.verbose:
            watched = "accuracy" if self.monitor == "val_accuracy" else "loss"
            print(f"Validation {watched} did not improve for {self.patience} epochs; "
                  f"stopping.")
        return True


class EpochCheckpoint(Callback):
    """Pickles the model, the histories and the solver's state after each epoch.

    The file ``f"{name}_epoch_{epoch}.pkl"`` holds a dict with the keys of the
    CS231n reference implementation's checkpoints (``model``, ``update_rule``,
    ``lr_decay``, ``optim_config``, ``batch_size``, ``num_train_samples``,
    ``num_val_samples``, ``epoch``, ``loss_history``, ``train_acc_history``,
    ``val_acc_history``), plus ``history`` and ``solver_state`` (the solver's
    :meth:`~skdeep.nn.solver.Solver.state_dict`, to resume from).  Each file is
    written atomically: a crash while writing leaves no partial file.

    Parameters
    ----------
    name : str
        Path prefix of the files.
    """

    def __init__(self, name):
        self.name = name

    def on_epoch_end(self, solver, record):
        checkpoint = {
            "model": solver.model, "update_rule": solver.update_rule,
            "lr_decay": solver.lr_decay, "optim_config": solver.optim_config,
            "batch_size": solver.batch_size,
            "num_train_samples": solver.num_train_samples,
            "num_val_samples": solver.num_val_samples, "epoch": solver.epoch,
            "loss_history": solver.loss_history,
            "train_acc_history": solver.train_acc_history,
            "val_acc_history": solver.val_acc_history, "history": solver.history,
            "solver_state": solver.state_dict(),
        }
        filename = f"{self.name}_epoch_{solver.epoch}.pkl"
        if solver.verbose:
            print(f'Saving checkpoint to "{filename}"')
        atomic_dump(checkpoint, filename)
