"""
Choosing k for k-nearest neighbours by cross-validation.
========================================================

    python examples/plot_knn_cross_validation.py [CIFAR_DIR] [--out knn_cross_validation.png]

The seeds' kNN exercise: 5-fold GridSearchCV over the number of neighbours on 5,000
CIFAR-10 training images (rows of raw pixels), a plot of the mean validation
accuracy with its standard deviation against k, then the best k refit on all 5,000
images and scored on 500 test images (about 0.28 or better).  Without CIFAR-10 (no
directory given and none in $SKDEEP_DATA) it runs on scikit-learn's 8x8 digits.
"""
import argparse

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from skdeep import KNNClassifier
from skdeep.datasets import find_cifar10, load_cifar10

from _example_common import save_figure, title_line  # examples/, the script's own directory

K_CHOICES = [1, 3, 5, 8, 10, 12, 15, 20, 50, 100]


def load_data(cifar_dir):
    path = find_cifar10(cifar_dir)
    if path is not None:
        X_train, y_train, X_test, y_test = load_cifar10(path)
        return ("CIFAR-10", X_train[:5000].reshape(5000, -1), y_train[:5000],
                X_test[:500].reshape(500, -1), y_test[:500])
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    return "digits (CIFAR-10 not found)", X[:1300], y[:1300], X[1300:], y[1300:]


def main():
    parser = argparse.ArgumentParser(description=title_line(__doc__))
    parser.add_argument("cifar_dir", nargs="?", default=None)
    parser.add_argument("--out", default="knn_cross_validation.png", help="figure file")
    args = parser.parse_args()
    name, X_train, y_train, X_test, y_test = load_data(args.cifar_dir)
    print(f"{name}: {X_train.shape[0]} training rows, {X_test.shape[0]} test rows")

    # Contiguous folds, as the seeds split with np.array_split.
    search = GridSearchCV(KNNClassifier(), {"n_neighbors": K_CHOICES}, cv=KFold(5))
    search.fit(X_train, y_train)
    means = search.cv_results_["mean_test_score"]
    stds = search.cv_results_["std_test_score"]
    for k, mean, std in zip(K_CHOICES, means, stds):
        print(f"k = {k:>3}: accuracy {mean:.3f} +- {std:.3f}")

    best_k = search.best_params_["n_neighbors"]
    test_accuracy = search.score(X_test, y_test)
    print(f"best k = {best_k}: test accuracy {test_accuracy:.3f}")

    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    folds = np.stack([search.cv_results_[f"split{i}_test_score"] for i in range(5)])
    for k, scores in zip(K_CHOICES, folds.T):
        ax.scatter([k] * len(scores), scores, color="0.6", s=12)
    ax.errorbar(K_CHOICES, means, yerr=stds, marker="o", capsize=3, label="mean +- std")
    ax.set_xscale("log")
    ax.set_xticks(K_CHOICES, [str(k) for k in K_CHOICES])
    ax.set_xlabel("k (number of neighbours)")
    ax.set_ylabel("cross-validated accuracy")
    ax.set_title(f"kNN on {name}: best k = {best_k}, test accuracy {test_accuracy:.3f}")
    ax.legend()
    fig.tight_layout()
    save_figure(fig, args.out)


if __name__ == "__main__":
    main()
