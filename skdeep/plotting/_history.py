"""Training curves: loss per iteration, accuracies per epoch."""
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


def _runs(history, labels):
    """``([(label, curves)], several)``: the runs and whether several were given."""
    single = _curves(history)
    if single is not None:
        return [(None if labels is None else labels[0], single)], False
    if isinstance(history, Mapping):
        items = list(history.items())
    else:
        items = list(enumerate(history)) if isinstance(history, (list, tuple)) else []
    runs = []
    for i, (key, run) in enumerate(items):
        curves = _curves(run)
        if curves is None:
            break
        runs.append((str(key) if labels is None else labels[i], curves))
    if not runs or len(runs) != len(items):
        raise TypeError(
            "history must be a fitted skdeep network estimator, a "
            "skdeep.nn.solver.Solver, a dict with 'loss_history' and "
            "'train_acc_history' (and optionally 'val_acc_history'), or a dict or list "
            f"of those; got {type(history).__name__}."
        )
    return runs, True


def plot_history(history, *, labels=None, axes=None, title=None):
    """Plot the training loss per iteration and the accuracies per epoch.

    One run gives two panels: the loss, and the training and validation
    accuracies together.  Several runs (a dict or list of them) give three
    panels, loss, training accuracy and validation accuracy, with one line per
    run, to compare update rules, dropout or normalization settings.

    Parameters
    ----------
    history : estimator, Solver, dict, or dict or list of those
        A fitted :class:`~skdeep.neural_network.MLPClassifier` (or any estimator
        with ``loss_history_``, ``train_acc_history_`` and ``val_acc_history_``),
        a :class:`~skdeep.nn.solver.Solver` after ``train()``, or a dict with
        ``loss_history``, ``train_acc_history`` and optionally
        ``val_acc_history``.  A dict ``{label: run}`` or a list of runs plots
        several runs.
    labels : list of str, default=None
        Legend labels of the runs; by default the dict keys or list positions.
    axes : array-like of matplotlib Axes, default=None
        Where to draw: two axes for one run, three for several.  By default a new
        figure is made.
    title : str, default=None
        Figure title.

    Returns
    -------
    axes : ndarray of matplotlib Axes
        The axes drawn on.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import MLPClassifier
    >>> from skdeep.plotting import plot_history
    >>> X, y = load_digits(return_X_y=True)
    >>> runs = {rule: MLPClassifier(update_rule=rule, num_epochs=5,
    ...                             random_state=0).fit(X / 16, y)
    ...         for rule in ["sgd_momentum", "adam"]}
    >>> axes = plot_history(runs)  # doctest: +SKIP
    """
    runs, several = _runs(history, labels)
    n_panels = 3 if several else 2
    if axes is None:
        plt = _import_pyplot()
        fig, axes = plt.subplots(1, n_panels, figsize=(5 * n_panels, 4),
                                 layout="constrained")
    axes = np.asarray(axes, dtype=object).ravel()
    if len(axes) != n_panels:
        raise ValueError(
            f"axes must hold {n_panels} Axes for {'several runs' if several else 'one run'}, "
            f"got {len(axes)}."
        )

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
