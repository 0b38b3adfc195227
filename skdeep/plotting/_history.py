"""Training curves: losses, accuracies and learning rate per epoch, or loss per iteration."""
from collections.abc import Mapping

import numpy as np

from . import _import_pyplot

# where each curve lives on the objects plot_history accepts
_FIELDS = {
    "loss": ("loss_history_", "loss_history"),
    "train": ("train_acc_history_", "train_acc_history"),
    "val": ("val_acc_history_", "val_acc_history"),
}


def _curves(run):
    """The three curves of one run, or None when ``run`` does not look like one."""
    curves = {}
    for key, names in _FIELDS.items():
        for name in names:
            if isinstance(run, Mapping) and name in run:
                curves[key] = np.asarray(run[name], dtype=float)
                break
            if not isinstance(run, Mapping) and hasattr(run, name):
                curves[key] = np.asarray(getattr(run, name), dtype=float)
                break
    if "loss" not in curves or "train" not in curves:
        return None
    curves.setdefault("val", np.empty(0))
    return curves


# the columns of an epoch record (``history_``) that plot_history draws
_EPOCH_COLUMNS = ("train_loss", "val_loss", "train_accuracy", "val_accuracy",
                  "learning_rate")


def _epoch_columns(run):
    """The columns of a list of epoch records, or None when ``run`` is not one."""
    if not (isinstance(run, (list, tuple)) and run and all(
            isinstance(row, Mapping) and "train_loss" in row for row in run)):
        return None
    columns = {name: np.array([row.get(name, np.nan) for row in run], dtype=float)
               for name in _EPOCH_COLUMNS}
    columns["epoch"] = np.array([row.get("epoch", i) for i, row in enumerate(run, 1)])
    return columns


def _labelled_runs(history, labels, read):
    """``(runs, several)``: ``[(label, read(run))]`` for one run or a dict or list of them.

    ``read`` turns one run into what is drawn, or gives None when it is not one;
    ``runs`` is None when ``history`` is neither a run nor a collection of them.
    """
    single = read(history)
    if single is not None:
        return [(None if labels is None else labels[0], single)], False
    if isinstance(history, Mapping):
        items = list(history.items())
    elif isinstance(history, (list, tuple)):
        items = list(enumerate(history))
    else:
        return None, True
    runs = [(str(key) if labels is None else labels[i], read(run))
            for i, (key, run) in enumerate(items)]
    if not runs or any(value is None for _, value in runs):
        return None, True
    return runs, True


def _plot_epochs(runs, axes):
    """Loss, accuracy and learning rate per epoch, one colour per run, on 3 axes."""
    from matplotlib.ticker import MaxNLocator

    several = len(runs) > 1
    for i, (label, columns) in enumerate(runs):
        color = f"C{i}"
        prefix = f"{label} " if several else ""
        for ax, metric in ((axes[0], "loss"), (axes[1], "accuracy")):
            for split, style in (("train", "--"), ("val", "-o")):
                values = columns[f"{split}_{metric}"]
                if not np.all(np.isnan(values)):
                    name = "validation" if split == "val" else "training"
                    ax.plot(columns["epoch"], values, style, color=color, markersize=3,
                            label=f"{prefix}{name}")
        axes[2].plot(columns["epoch"], columns["learning_rate"], "-", color=color,
                     label=label)
    for ax, name in zip(axes, ("Loss", "Accuracy", "Learning rate")):
        ax.set_xlabel("Epoch")
        ax.set_ylabel(name)
        ax.set_title(name)
        # epochs are whole: no tick at 1.5
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    # a constant rate would otherwise be drawn against an offset axis (+3e-3)
    axes[2].ticklabel_format(axis="y", style="sci", scilimits=(-3, 3), useOffset=False)
    axes[0].legend()
    axes[1].legend()
    if several:
        axes[2].legend()


def _runs(history, labels):
    """``([(label, curves)], several)``: the runs and whether several were given."""
    runs, several = _labelled_runs(history, labels, _curves)
    if runs is None:
        raise TypeError(
            "history must be epoch records (a network's history_), a fitted skdeep "
            "network estimator, a skdeep.nn.solver.Solver, a dict with 'loss_history' and "
            "'train_acc_history' (and optionally 'val_acc_history'), or a dict or list "
            f"of those; got {type(history).__name__}."
        )
    return runs, several


def _panels(axes, n_panels, what):
    """``axes`` as a flat array of ``n_panels`` Axes, a new figure's by default."""
    if axes is None:
        plt = _import_pyplot()
        _, axes = plt.subplots(1, n_panels, figsize=(5 * n_panels, 4),
                               layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) != n_panels:
        raise ValueError(f"axes must hold {n_panels} Axes for {what}, got {len(axes)}.")
    return axes


def plot_history(history, *, labels=None, axes=None, title=None):
    """Plot training curves: per epoch from ``history_``, or per iteration.

    Given epoch records, a fitted network's ``history_`` (or a Solver's
    ``history``), draws three panels: the training and validation losses,
    the training and validation accuracies, and the learning rate, each per
    epoch (validation curves only where there was validation data).  A dict
    ``{label: history_}`` or a list of them draws several runs, one colour
    per run.

    Given a fitted estimator, a Solver or a dict of its histories, draws the
    training loss per iteration and the accuracies per epoch: two panels for
    one run, three (loss, training accuracy, validation accuracy) for several.

    Parameters
    ----------
    history : list of dict, estimator, Solver, dict, or dict or list of those
        Epoch records: a list of dicts with ``train_loss`` and optionally
        ``val_loss``, ``train_accuracy``, ``val_accuracy``, ``learning_rate``
        and ``epoch``, as ``history_`` of
        :class:`~skdeep.neural_network.MLPClassifier` and
        :class:`~skdeep.neural_network.ConvNetClassifier`.  Or a fitted
        network (any estimator with ``loss_history_``, ``train_acc_history_``
        and ``val_acc_history_``), a :class:`~skdeep.nn.solver.Solver` after
        ``train()``, or a dict with ``loss_history``, ``train_acc_history`` and
        optionally ``val_acc_history``.  A dict ``{label: run}`` or a list of
        runs plots several runs.
    labels : list of str, default=None
        Legend labels of the runs; by default the dict keys or list positions.
    axes : array-like of matplotlib Axes, default=None
        Where to draw: three axes for epoch records; two for one run of
        iteration losses, three for several.  By default a new figure is made.
    title : str, default=None
        Figure title.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        The axes drawn on.

    Raises
    ------
    TypeError
        When ``history`` is none of the above.
    ValueError
        When ``axes`` does not hold as many axes as the plot has panels.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import MLPClassifier
    >>> from skdeep.plotting import plot_history
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPClassifier(num_epochs=5, random_state=0).fit(X / 16, y)
    >>> axes = plot_history(clf.history_)  # doctest: +SKIP
    >>> runs = {rule: MLPClassifier(update_rule=rule, num_epochs=5,
    ...                             random_state=0).fit(X / 16, y)
    ...         for rule in ["sgd_momentum", "adam"]}
    >>> axes = plot_history(runs)  # doctest: +SKIP
    """
    epoch_runs, _ = _labelled_runs(history, labels, _epoch_columns)
    if epoch_runs is not None:
        axes = _panels(axes, 3, "epoch records")
        _plot_epochs(epoch_runs, axes)
        if title is not None:
            axes[0].figure.suptitle(title)
        return axes
    runs, several = _runs(history, labels)
    n_panels = 3 if several else 2
    axes = _panels(axes, n_panels, "several runs" if several else "one run")

    loss_ax = axes[0]
    for label, curves in runs:
        loss_ax.plot(np.arange(1, len(curves["loss"]) + 1), curves["loss"],
                     linewidth=0.8, label=label)
    loss_ax.set_xlabel("Iteration")
    loss_ax.set_ylabel("Training loss")
    loss_ax.set_title("Training loss")

    if several:
        for ax, key, name in ((axes[1], "train", "Training accuracy"),
                              (axes[2], "val", "Validation accuracy")):
            for label, curves in runs:
                epochs = np.arange(1, len(curves[key]) + 1)
                ax.plot(epochs, curves[key], "-o", markersize=3, label=label)
            ax.set_xlabel("Epoch")
            ax.set_ylabel("Accuracy")
            ax.set_title(name)
        for ax in axes:
            ax.legend()
    else:
        _, curves = runs[0]
        acc_ax = axes[1]
        for key, name in (("train", "train"), ("val", "validation")):
            if len(curves[key]):
                epochs = np.arange(1, len(curves[key]) + 1)
                acc_ax.plot(epochs, curves[key], "-o", markersize=3, label=name)
        acc_ax.set_xlabel("Epoch")
        acc_ax.set_ylabel("Accuracy")
        acc_ax.set_title("Accuracy")
        acc_ax.legend()
    if title is not None:
        axes[0].figure.suptitle(title)
    return axes
