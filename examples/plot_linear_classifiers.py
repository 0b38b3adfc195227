"""
Linear SVM and softmax classifiers on CIFAR-10
==============================================

The CS231n linear-classifier workflow with scikit-learn tools:

1. hold out a validation split (CIFAR-10: the first 49,000 training images train,
   the next 1,000 validate, as in the assignment);
2. search learning rate x regularization strength with ``GridSearchCV`` on that
   single split (``PredefinedSplit``), for the multiclass SVM and for softmax;
3. plot training and validation accuracy of every setting over log learning rate
   and log regularization, the loss curve of the best model, and the learned
   weights of each class as a 32x32 colour image (its "template").

Rows of raw pixel values go in, with the mean image removed by
``StandardScaler(with_std=False)``, which is why the learning rates are tiny.
The data are cast to float32 first: skdeep then trains in float32, which is
faster and as accurate here.

    python examples/plot_linear_classifiers.py [CIFAR_DIR] [--out linear_classifiers]

Without CIFAR-10 (no directory given and none in $SKDEEP_DATA, see
``skdeep.datasets.find_cifar10``) it uses scikit-learn's 8x8 digits, whose templates
are grey.  It takes a few minutes on CIFAR-10 and needs matplotlib.  The figures are
written to ``OUT_search_svm.png``, ``OUT_search_softmax.png``, ``OUT_loss.png``,
``OUT_templates_svm.png`` and ``OUT_templates_softmax.png``.
"""
import argparse

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep.datasets import find_cifar10, load_cifar10
from skdeep.linear_model import LinearSVMClassifier, SoftmaxClassifier
from skdeep.plotting import plot_class_templates

from _example_common import CIFAR10_CLASSES, title_line  # examples/, the script's own directory


def load_data(path=None):
    """Train, validation and test rows, class names and the grids to search."""
    path = find_cifar10(path)
    if path is not None:
        X_train, y_train, X_test, y_test = load_cifar10(path)
        X_train = X_train.reshape(len(X_train), -1).astype(np.float32)
        X_test = X_test.reshape(len(X_test), -1).astype(np.float32)
        data = dict(
            name=f"CIFAR-10 ({path})",
            X_train=X_train[:49000], y_train=y_train[:49000],
            X_val=X_train[49000:50000], y_val=y_train[49000:50000],
            X_test=X_test[:1000], y_test=y_test[:1000],
            class_names=CIFAR10_CLASSES,
        )
        grids = {
            LinearSVMClassifier: dict(learning_rate=[5e-8, 1e-7, 5e-7],
                                      reg=[5e3, 2.5e4, 5e4]),
            SoftmaxClassifier: dict(learning_rate=[1e-7, 2.5e-7, 5e-7],
                                    reg=[2e3, 8e3, 2.5e4]),
        }
        return data, grids
    print("CIFAR-10 not found: using scikit-learn's digits (8x8 grey images).")
    X, y = load_digits(return_X_y=True)
    X = X.astype(np.float32)
    data = dict(
        name="digits",
        X_train=X[:1000], y_train=y[:1000],
        X_val=X[1000:1297], y_val=y[1000:1297],
        X_test=X[1297:], y_test=y[1297:],
        class_names=[str(c) for c in range(10)],
    )
    grids = {
        LinearSVMClassifier: dict(learning_rate=[1e-4, 1e-3, 1e-2],
                                  reg=[1e-3, 1e-1, 1e1]),
        SoftmaxClassifier: dict(learning_rate=[1e-4, 1e-3, 1e-2],
                                reg=[1e-3, 1e-1, 1e1]),
    }
    return data, grids


def run_search(cls, grid, data):
    """Grid search on the one train/validation split; refit on train + validation."""
    X = np.concatenate([data["X_train"], data["X_val"]])
    y = np.concatenate([data["y_train"], data["y_val"]])
    # -1: always in the training part; 0: the single validation fold
    fold = np.r_[np.full(len(data["X_train"]), -1), np.zeros(len(data["X_val"]))]
    step = cls.__name__.lower()
    pipe = make_pipeline(StandardScaler(with_std=False),
                         cls(num_iters=1500, batch_size=200, random_state=0))
    search = GridSearchCV(
        pipe, {f"{step}__{name}": values for name, values in grid.items()},
        cv=PredefinedSplit(fold), return_train_score=True,
    )
    search.fit(X, y)
    results = search.cv_results_
    for params, train_acc, val_acc in zip(results["params"],
                                          results["mean_train_score"],
                                          results["mean_test_score"]):
        lr, reg = params[f"{step}__learning_rate"], params[f"{step}__reg"]
        print(f"  lr {lr:.1e} reg {reg:.1e}: train accuracy {train_acc:.3f} "
              f"val accuracy {val_acc:.3f}")
    best = search.best_params_
    print(f"  best: lr {best[f'{step}__learning_rate']:.1e} "
          f"reg {best[f'{step}__reg']:.1e}, validation accuracy "
          f"{search.best_score_:.3f}, test accuracy "
          f"{search.score(data['X_test'], data['y_test']):.3f}")
    return search


def plot_search(search, title):
    """CS231n's scatter: accuracy coloured over log learning rate x log reg."""
    step = search.best_estimator_.steps[-1][0]
    results = search.cv_results_
    log_lr = np.log10(np.array(results[f"param_{step}__learning_rate"], dtype=float))
    log_reg = np.log10(np.array(results[f"param_{step}__reg"], dtype=float))
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, label in [(axes[0], "mean_train_score", "training accuracy"),
                           (axes[1], "mean_test_score", "validation accuracy")]:
        points = ax.scatter(log_lr, log_reg, c=results[key], s=300, marker="s",
                            cmap="viridis")
        fig.colorbar(points, ax=ax)
        ax.set_xlabel("log10 learning rate")
        ax.set_ylabel("log10 regularization strength")
        ax.set_title(f"{title}: {label}")
    fig.tight_layout()
    return fig


SHORT_NAMES = {LinearSVMClassifier: "svm", SoftmaxClassifier: "softmax"}


def main():
    parser = argparse.ArgumentParser(description=title_line(__doc__))
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="extracted cifar-10-batches-py directory")
    parser.add_argument("--out", default="linear_classifiers",
                        help="prefix of the PNG files written (default: %(default)s)")
    args = parser.parse_args()
    data, grids = load_data(args.cifar_dir)
    print(f"data: {data['name']}, {len(data['X_train'])} train / "
          f"{len(data['X_val'])} validation / {len(data['X_test'])} test rows")

    figures = {}
    fig_loss, ax_loss = plt.subplots(figsize=(7, 4))
    for cls, grid in grids.items():
        short = SHORT_NAMES[cls]
        print(cls.__name__)
        search = run_search(cls, grid, data)
        figures[f"search_{short}"] = plot_search(search, cls.__name__)
        best = search.best_estimator_[-1]
        ax_loss.plot(best.loss_history_, label=cls.__name__, linewidth=0.8)
        fig = plot_class_templates(best, class_names=data["class_names"])
        fig.suptitle(f"{cls.__name__} class templates")
        fig.tight_layout()
        figures[f"templates_{short}"] = fig
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("minibatch loss")
    ax_loss.set_yscale("log")
    ax_loss.set_title("Loss of the best models (refit on train + validation)")
    ax_loss.legend()
    fig_loss.tight_layout()
    figures["loss"] = fig_loss
    for suffix, fig in figures.items():
        fig.savefig(f"{args.out}_{suffix}.png", dpi=100)
    print(f"figures written to {args.out}_*.png")
    if matplotlib.get_backend().lower() != "agg":
        plt.show()


if __name__ == "__main__":
    main()
