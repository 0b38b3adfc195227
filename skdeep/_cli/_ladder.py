"""The CS231n ladder: every skdeep model as a pipeline tuned by cross-validation.

Behind ``skdeep ladder`` (see :mod:`skdeep._cli._main`): the rungs of the CS231n
assignments, from k-nearest neighbours to a convolutional network, each a
scikit-learn pipeline with a parameter grid, tuned by ``GridSearchCV`` on the
training images, refit on all of them and scored on the held-out test images.
"""
import time
from typing import NamedTuple

import numpy as np

# Short CIFAR-10 class names, in label order, for tables and figures.
CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

PRESETS = ("fast", "thorough")


class Dataset(NamedTuple):
    """Images as rows, split into training and test parts."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple
    class_names: tuple


class Rung(NamedTuple):
    """One model of the ladder: what to tune and how."""

    key: str  # for --models
    name: str  # for the leaderboard
    kind: str  # 'knn', 'linear', 'features', 'network' or 'convnet': what to plot
    estimator: object
    grid: dict


class LadderError(Exception):
    """A problem the user can fix (missing data, a bad option): one line, no traceback."""


def load_digits_dataset(n_train=None, n_test=None, random_state=0):
    """scikit-learn's 8x8 digits: a stratified 75/25 split, optionally cut shorter."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state)
    X_train, y_train = X_train[:n_train], y_train[:n_train]
    X_test, y_test = X_test[:n_test], y_test[:n_test]
    return Dataset("digits", X_train, y_train, X_test, y_test, (8, 8, 1),
                   tuple(str(digit) for digit in range(10)))


def _holds_batches(directory):
    from ..datasets._cifar10 import _holds_cifar10

    return _holds_cifar10(directory)


def load_cifar10_dataset(data_home=None, n_train=5000, n_test=1000, download=False):
    """The first ``n_train`` training and ``n_test`` test images of CIFAR-10, as rows.

    ``data_home`` may be the ``cifar-10-batches-py`` directory itself or the
    data home holding it (default: ``$SKDEEP_DATA``, else ``~/skdeep_data``).
    Without the data there, :func:`skdeep.datasets.fetch_cifar10` downloads it
    when ``download`` is true; otherwise a :class:`LadderError` says how to get it.
    """
    from ..datasets import fetch_cifar10, load_cifar10
    from ..datasets._base import _data_home_path

    if data_home is not None and _holds_batches(data_home):
        X_train, y_train, X_test, y_test = load_cifar10(data_home)
    else:
        home = _data_home_path(data_home)
        if not download and not _holds_batches(f"{home}/cifar-10-batches-py"):
            raise LadderError(
                f"CIFAR-10 not found in {home}: run `skdeep fetch-cifar10"
                f"{'' if data_home is None else ' --data-home ' + str(data_home)}` "
                f"(a 170 MB download), pass --download, or point --data-home (or "
                f"SKDEEP_DATA) at a directory holding cifar-10-batches-py")
        bunch = fetch_cifar10(data_home, download_if_missing=True)
        X_train, y_train, X_test, y_test = (bunch.X_train, bunch.y_train,
                                            bunch.X_test, bunch.y_test)
    for name, n, available in (("--n-train", n_train, len(X_train)),
                               ("--n-test", n_test, len(X_test))):
        if n > available:
            raise LadderError(f"{name} {n} is more than the {available} images CIFAR-10 has")
    # rows of float32 pixels in [0, 255]: float32 is what the networks train in
    X_train = X_train[:n_train].reshape(n_train, -1).astype(np.float32)
    X_test = X_test[:n_test].reshape(n_test, -1).astype(np.float32)
    return Dataset("CIFAR-10", X_train, y_train[:n_train], X_test, y_test[:n_test],
                   (32, 32, 3), CIFAR10_CLASSES)


def convnet_class():
    """``skdeep.ConvNetClassifier``, or None in a version that lacks it."""
    try:
        from ..neural_network import ConvNetClassifier
    except ImportError:
        return None
    return ConvNetClassifier


def _settings(dataset, preset):
    """The numbers that differ between data sets and presets."""
    colour = dataset.image_shape[2] == 3
    thorough = preset == "thorough"
    return {
        "cv": 5 if thorough else 3,
        # standardized inputs: scores grow with the number of features, so the
        # 3,072 CIFAR pixels want smaller steps than the 64 digit pixels
        "linear_lr": ([1e-5, 3e-5, 1e-4, 3e-4] if thorough else [3e-5, 3e-4]) if colour
        else ([1e-3, 3e-3, 1e-2] if thorough else [1e-3, 1e-2]),
        "linear_reg": [1e-4, 1e-2, 1e-1] if thorough else [1e-4, 1e-1],
        # the digits' 1,347 training rows are 220 epochs of 1,500 batches of 200
        "linear_iters": 1500 if colour or thorough else 500,
        "k": [1, 3, 5, 8, 10, 20] if thorough else [1, 5, 10],
        "mlp_epochs": (30 if colour else 40) if thorough else (15 if colour else 20),
        "mlp_lr": [3e-4, 1e-3, 3e-3] if thorough else [1e-3],
        "mlp_hidden": 200 if colour else 100,
        "keep": [1.0, 0.75, 0.5] if thorough else [1.0, 0.5],
        "hog_cell": (4, 4) if colour else (2, 2),
        "conv_epochs": (10 if colour else 30) if thorough else (4 if colour else 15),
        "conv_filters": 32 if colour else 16,
        "conv_filter_size": 5 if colour else 3,
        "conv_lr": [3e-4, 1e-3] if thorough else [1e-3],
    }


def build_ladder(dataset, preset="fast", random_state=0):
    """The rungs for ``dataset`` and ``preset``, from kNN to the convnet.

    The ConvNet rung is there only when :func:`convnet_class` finds the class.
    """
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.preprocessing import StandardScaler

    from .. import (HOGTransformer, HSVHistogramTransformer, KNNClassifier,
                   LinearSVMClassifier, MLPClassifier, SoftmaxClassifier)

    s = _settings(dataset, preset)
    shape = dataset.image_shape
    colour = shape[2] == 3
    linear_grid = {"learning_rate": s["linear_lr"], "reg": s["linear_reg"]}
    linear = dict(num_iters=s["linear_iters"], random_state=random_state)

    def grid(step, params):
        return {f"{step}__{key}": values for key, values in params.items()}

    hog = HOGTransformer(image_shape=shape, pixels_per_cell=s["hog_cell"],
                         cells_per_block=(2, 2))
    # a hue histogram of grey images is constant: colour images only
    features = (make_union(hog, HSVHistogramTransformer(image_shape=shape))
                if colour else hog)
    features_name = "HOG+HSV" if colour else "HOG"
    mlp = dict(hidden_layer_sizes=(s["mlp_hidden"],), num_epochs=s["mlp_epochs"],
               random_state=random_state)

    rungs = [
        # kNN compares raw pixels, as in the CS231n notebooks
        Rung("knn-l2", "kNN (L2)", "knn", KNNClassifier(metric="l2"),
             {"n_neighbors": s["k"]}),
        Rung("knn-l1", "kNN (L1)", "knn", KNNClassifier(metric="l1"),
             {"n_neighbors": s["k"]}),
        # SGD's defaults assume standardized features, as scikit-learn's SGD does
        Rung("svm", "linear SVM", "linear",
             make_pipeline(StandardScaler(), LinearSVMClassifier(**linear)),
             grid("linearsvmclassifier", linear_grid)),
        Rung("softmax", "softmax", "linear",
             make_pipeline(StandardScaler(), SoftmaxClassifier(**linear)),
             grid("softmaxclassifier", linear_grid)),
        Rung("features-svm", f"{features_name} + linear SVM", "features",
             make_pipeline(features, StandardScaler(),
                           LinearSVMClassifier(**linear)),
             grid("linearsvmclassifier", linear_grid)),
        Rung("features-mlp", f"{features_name} + MLP", "network",
             make_pipeline(features, StandardScaler(), MLPClassifier(**mlp)),
             grid("mlpclassifier", {"learning_rate": s["mlp_lr"]})),
        Rung("mlp", "MLP (batchnorm, dropout)", "network",
             make_pipeline(StandardScaler(),
                           MLPClassifier(normalization="batchnorm", **mlp)),
             grid("mlpclassifier", {"dropout_keep_ratio": s["keep"]})),
    ]
    ConvNet = convnet_class()
    if ConvNet is not None:
        convnet = ConvNet(image_shape=shape, num_filters=s["conv_filters"],
                          filter_size=s["conv_filter_size"], hidden_dim=100,
                          num_epochs=s["conv_epochs"], random_state=random_state)
        rungs.append(Rung("convnet", "ConvNet", "convnet",
                          make_pipeline(StandardScaler(), convnet),
                          grid("convnetclassifier", {"learning_rate": s["conv_lr"]})))
    return rungs


def select_rungs(rungs, keys):
    """The rungs named in ``keys`` (all of them for None), in ladder order."""
    if keys is None:
        return rungs
    known = [rung.key for rung in rungs]
    unknown = [key for key in keys if key not in known]
    if unknown:
        raise LadderError(f"unknown model {unknown[0]!r} in --models; choose from "
                          f"{', '.join(known)}")
    return [rung for rung in rungs if rung.key in keys]


class _ProgressScorer:
    """Accuracy, as the estimator's ``score``, that reports each scored fit.

    ``GridSearchCV`` fits and scores candidate by candidate, fold by fold, so the
    number of calls so far says which grid point and fold runs next.  In worker
    processes (``n_jobs > 1``) the reports are lost, which costs only the display.
    """

    def __init__(self, progress):
        self.progress = progress

    def __call__(self, estimator, X, y):
        score = estimator.score(X, y)
        self.progress.advance()
        return score


def run_rung(rung, dataset, cv, progress, n_jobs=None):
    """Tune ``rung`` by cross-validation, refit it, score it on the test images.

    Returns a dict: ``name``, ``key``, ``kind``, ``best_params``, ``cv_mean``,
    ``cv_std``, ``test_accuracy``, ``fit_seconds`` (the refit), ``seconds``
    (tuning, refit and scoring), ``estimator`` (the refit pipeline) and
    ``y_pred`` (its predictions on the test images).
    """
    from sklearn.model_selection import GridSearchCV, ParameterGrid

    n_candidates = len(ParameterGrid(rung.grid))
    progress.start_model(rung.name, n_candidates, cv.get_n_splits())
    start = time.perf_counter()
    search = GridSearchCV(rung.estimator, rung.grid, cv=cv, n_jobs=n_jobs,
                          scoring=_ProgressScorer(progress), error_score="raise")
    search.fit(dataset.X_train, dataset.y_train)
    best = search.best_index_
    y_pred = search.predict(dataset.X_test)
    progress.end_model()
    return {
        "name": rung.name,
        "key": rung.key,
        "kind": rung.kind,
        "best_params": search.best_params_,
        "cv_mean": search.cv_results_["mean_test_score"][best],
        "cv_std": search.cv_results_["std_test_score"][best],
        "test_accuracy": float(np.mean(y_pred == dataset.y_test)),
        "fit_seconds": search.refit_time_,
        "seconds": time.perf_counter() - start,
        "estimator": search.best_estimator_,
        "y_pred": y_pred,
    }


def short_params(params):
    """``{'a__b__lr': 0.1}`` as ``'lr=0.1'``: parameter names without their step."""
    return ", ".join(f"{key.rsplit('__', 1)[-1]}={value:g}" if isinstance(value, float)
                     else f"{key.rsplit('__', 1)[-1]}={value}"
                     for key, value in params.items())


LEADERBOARD_COLUMNS = ("model", "best parameters", "CV accuracy", "test", "fit", "total")


def leaderboard_rows(results):
    """The leaderboard as rows of strings, in ladder order."""
    return [(row["name"], short_params(row["best_params"]),
             f"{row['cv_mean']:.3f} ± {row['cv_std']:.3f}",
             f"{row['test_accuracy']:.3f}",
             f"{row['fit_seconds']:.1f}s", f"{row['seconds']:.1f}s")
            for row in results]


# column widths of the plain-text leaderboard; a longer cell pushes its row along
_WIDTHS = (26, 34, 15, 7, 8, 8)


def format_row(cells):
    """One leaderboard line of fixed-width columns; ``None`` gives the rule under the header."""
    if cells is None:
        return "-" * (sum(_WIDTHS) + 2 * (len(_WIDTHS) - 1))
    # text columns left-aligned, numbers right-aligned
    return "  ".join(cell.ljust(width) if i < 2 else cell.rjust(width)
                     for i, (cell, width) in enumerate(zip(cells, _WIDTHS))).rstrip()


def best_result(results):
    """The result with the best cross-validated accuracy: chosen without the test set."""
    return max(results, key=lambda row: row["cv_mean"])
