"""
Image features, a linear SVM and an MLP on CIFAR-10, as one pipeline
=====================================================================

The CS231n features exercise with scikit-learn tools:

1. features: histograms of oriented gradients (:class:`skdeep.HOGTransformer`,
   colour, 4x4-pixel cells in 2x2-cell blocks, L2-Hys) beside a histogram of hue
   (:class:`skdeep.HSVHistogramTransformer`, 10 bins), joined by ``make_union``
   and standardized;
2. a multiclass linear SVM on them, its learning rate and regularization
   strength tuned by ``GridSearchCV`` on the assignment's single split
   (``PredefinedSplit``: the first 49,000 training images train, the next 1,000
   validate), then retrained on the 49,000 with the best setting;
3. the same features into a one-hidden-layer :class:`skdeep.MLPClassifier`
   trained on the 50,000 images, of which it holds out 1,000 (a stratified 2%)
   to pick the epoch with the lowest validation loss;
4. both scored on the first 1,000 test images, and a gallery of the test images
   each model misclassified, one row per predicted class.

The pipeline caches its fitted feature steps (``memory=``), so the grid search
computes the features of each split once, not once per candidate.

    python examples/plot_features_pipeline.py [CIFAR_DIR] [--out features_pipeline]

Without CIFAR-10 (no directory given and none in $SKDEEP_DATA) it uses
scikit-learn's 8x8 digits, whose hue histograms are constant (grey images).  It
takes a few minutes on CIFAR-10 and needs matplotlib.  The figures are written to
``OUT_misclassified_svm.png`` and ``OUT_misclassified_mlp.png``.
"""
import argparse
import tempfile

import matplotlib
import numpy as np
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, PredefinedSplit
from sklearn.pipeline import Pipeline, make_union
from sklearn.preprocessing import StandardScaler

from skdeep import (HOGTransformer, HSVHistogramTransformer, LinearSVMClassifier,
                    MLPClassifier)
from skdeep.datasets import find_cifar10, load_cifar10
from skdeep.plotting import plot_image_gallery

from _example_common import CIFAR10_CLASSES, title_line  # examples/, the script's own directory


def load_data(path=None):
    """Train (first rows) + validation (last rows), test, names, HOG cell size."""
    path = find_cifar10(path)
    if path is not None:
        X_train, y_train, X_test, y_test = load_cifar10(path)
        return dict(
            name=f"CIFAR-10 ({path})",
            X=X_train[:50000].reshape(50000, -1), y=y_train[:50000], n_val=1000,
            X_test=X_test[:1000].reshape(1000, -1), y_test=y_test[:1000],
            class_names=CIFAR10_CLASSES, pixels_per_cell=(4, 4),
        )
    print("CIFAR-10 not found: using scikit-learn's digits (8x8 grey images).")
    digits = load_digits()
    X = (digits.data * 16).clip(0, 255).astype(np.uint8)
    return dict(
        name="digits", X=X[:1297], y=digits.target[:1297], n_val=297,
        X_test=X[1297:], y_test=digits.target[1297:],
        class_names=[str(c) for c in range(10)], pixels_per_cell=(2, 2),
    )


def features(data, verbose=0):
    return make_union(
        HOGTransformer(orientations=9, pixels_per_cell=data["pixels_per_cell"],
                       cells_per_block=(2, 2), block_norm="L2-Hys", verbose=verbose),
        HSVHistogramTransformer(nbin=10, verbose=verbose),
    )


def tune_svm(data, cachedir):
    """Grid search on the one train/validation split; retrain on the train rows."""
    pipe = Pipeline([
        ("features", features(data, verbose=1)),
        ("scale", StandardScaler()),
        ("svm", LinearSVMClassifier(num_iters=2000, batch_size=200, random_state=0)),
    ], memory=cachedir)
    n_train = len(data["X"]) - data["n_val"]
    fold = np.r_[np.full(n_train, -1), np.zeros(data["n_val"], dtype=int)]
    search = GridSearchCV(
        pipe,
        {"svm__learning_rate": [1e-3, 3e-3, 1e-2], "svm__reg": [1e-4, 1e-3, 1e-2]},
        cv=PredefinedSplit(fold), refit=False,
    )
    search.fit(data["X"], data["y"])
    for params, score in zip(search.cv_results_["params"],
                             search.cv_results_["mean_test_score"]):
        print(f"  lr {params['svm__learning_rate']:.0e}  reg {params['svm__reg']:.0e}"
              f"  validation accuracy {score:.3f}")
    print(f"  best: {search.best_params_}")
    # the assignment trains on the 49,000 only; the cached features are reused
    best = clone(pipe).set_params(**search.best_params_)
    return best.fit(data["X"][:n_train], data["y"][:n_train])


def train_mlp(data, cachedir):
    pipe = Pipeline([
        ("features", features(data)),
        ("scale", StandardScaler()),
        ("mlp", MLPClassifier(hidden_layer_sizes=(500,), learning_rate=1e-3,
                              reg=1e-3, num_epochs=15, batch_size=200,
                              validation_fraction=data["n_val"] / len(data["X"]),
                              random_state=0, verbose=1)),
    ], memory=cachedir)
    return pipe.fit(data["X"], data["y"])


def main():
    parser = argparse.ArgumentParser(description=title_line(__doc__))
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (default: $SKDEEP_DATA)")
    parser.add_argument("--out", default="features_pipeline",
                        help="prefix of the figure files")
    args = parser.parse_args()
    matplotlib.use("Agg")
    data = load_data(args.cifar_dir)
    print(f"data: {data['name']}")
    with tempfile.TemporaryDirectory() as cachedir:
        print("linear SVM on HOG + hue histogram features")
        svm = tune_svm(data, cachedir)
        print("MLP on the same features")
        mlp = train_mlp(data, cachedir)
    for name, model in [("svm", svm), ("mlp", mlp)]:
        predicted = model.predict(data["X_test"])
        wrong = predicted != data["y_test"]
        print(f"{name} test accuracy: {np.mean(~wrong):.3f}")
        fig = plot_image_gallery(data["X_test"][wrong], predicted[wrong],
                                 group_names=data["class_names"], n_per_group=8)
        fig.suptitle(f"Test images the {name.upper()} misclassified, by predicted class",
                     y=1.0)
        fig.savefig(f"{args.out}_misclassified_{name}.png", dpi=100, bbox_inches="tight")


if __name__ == "__main__":
    main()
