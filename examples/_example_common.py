"""What the examples share: the network examples' command line and data, and figures.

Not an example itself: ``plot_update_rules.py``, ``plot_dropout.py`` and
``plot_normalization.py`` import it from their own directory; the kNN, linear and
features examples take :func:`save_figure` or ``CIFAR10_CLASSES`` from it.  The data
is CIFAR-10 when :func:`skdeep.datasets.find_cifar10` finds it (the directory given on
the command line, or ``$SKDEEP_DATA``), else scikit-learn's 8x8 digits, so every
example runs anywhere in minutes.
"""
import argparse
import os

import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skdeep.datasets import find_cifar10, load_cifar10

# Short CIFAR-10 class names, in label order, for figure titles.
CIFAR10_CLASSES = ["plane", "car", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck"]


def title_line(doc):
    """The title line of an example's docstring, or None where the docstring is gone
    (sphinx-gallery runs the examples without it)."""
    lines = (doc or "").strip().splitlines()
    return lines[0] if lines else None


def parse_args(doc, default_out):
    """The examples' command line: ``[CIFAR_DIR] [--out FIGURE]``."""
    parser = argparse.ArgumentParser(description=title_line(doc))
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (or its parent)")
    parser.add_argument("--out", default=default_out, help="figure file")
    return parser.parse_args()


def load_images(n_samples, cifar_dir=None):
    """Up to ``n_samples`` labelled rows, and the data set's name.

    CIFAR-10's first ``n_samples`` training images as rows of raw pixels minus
    their mean image (as the CS231n notebooks prepare them), else the digits
    standardized per feature.  Rows are float32.
    """
    path = find_cifar10(cifar_dir)
    if path is not None:
        X, y, _, _ = load_cifar10(path)
        X = X[:n_samples].reshape(n_samples, -1).astype(np.float32)
        X -= X.mean(axis=0)
        return X, y[:n_samples], "CIFAR-10"
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return X[:n_samples], y[:n_samples], "digits (CIFAR-10 not found)"


def solver_data(n_train, n_val, cifar_dir=None):
    """A Solver's ``data`` dict and the data set's name.

    The first ``n_train`` rows of :func:`load_images` train, up to ``n_val`` more
    validate.
    """
    X, y, dataset = load_images(n_train + n_val, cifar_dir)
    data = {"X_train": X[:n_train], "y_train": y[:n_train],
            "X_val": X[n_train:], "y_val": y[n_train:]}
    print(f"{dataset}: {len(data['X_train'])} training and {len(data['X_val'])} "
          f"validation images")
    return data, dataset


def pyplot():
    """matplotlib.pyplot, or None (with a note) when matplotlib is not installed."""
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed (pip install skdeep[plot]): no figure")
        return None
    return plt


def save_figure(fig, out):
    """Write ``fig`` to ``out`` and show it when a display is available."""
    import matplotlib

    # matplotlib appends .png to a name without a suffix; name the file it writes
    out = out if os.path.splitext(out)[1] else out + ".png"
    fig.savefig(out, dpi=120)
    print(f"figure written to {out}")
    if matplotlib.get_backend().lower() != "agg":
        import matplotlib.pyplot as plt

        plt.show()


def plot_runs(runs, title, out):
    """:func:`skdeep.plotting.plot_history` of several runs, written to ``out``."""
    if pyplot() is None:
        return
    from skdeep.plotting import plot_history

    axes = plot_history(runs, title=title)
    save_figure(axes[0].figure, out)
