"""The CS231n ladder: every skdeep model as a pipeline tuned by cross-validation.

Behind ``skdeep ladder`` (see :mod:`skdeep._cli._main`): the rungs of the CS231n
assignments, from k-nearest neighbours to a convolutional network, each a
scikit-learn pipeline with a parameter grid, tuned by ``GridSearchCV`` on the
training images, refit on all of them and scored on the held-out test images.
"""
import copy
import time
from typing import NamedTuple

import numpy as np

# Short CIFAR-10 class names, in label order, for tables and figures.
CIFAR10_CLASSES = ("plane", "car", "bird", "cat", "deer",
                   "dog", "frog", "horse", "ship", "truck")

PRESETS = ("fast", "thorough")

# the rungs of build_ladder, in order, as --models names them
RUNG_KEYS = ("knn-l2", "knn-l1", "svm", "softmax", "features-svm", "features-mlp", "mlp",
             "convnet")


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


# The settings of the rungs, one row per setting, one column per kind of image and
# preset.  Grey images are the digits' 64 pixels, colour ones CIFAR-10's 3,072.
_SETTINGS_COLUMNS = (("grey", "fast"), ("grey", "thorough"),
                     ("colour", "fast"), ("colour", "thorough"))
_SETTINGS = {
    # name: (grey fast, grey thorough, colour fast, colour thorough)
    # folds of every grid search
    "cv": (3, 5, 3, 5),
    # kNN: the number of neighbours
    "k": ([1, 5, 10], [1, 3, 5, 8, 10, 20], [1, 5, 10], [1, 3, 5, 8, 10, 20]),
    # linear SVM and softmax, on standardized inputs: scores grow with the number
    # of features, so the CIFAR pixels want smaller steps than the digit pixels
    "linear_lr": ([1e-3, 1e-2], [1e-3, 3e-3, 1e-2], [3e-5, 3e-4], [1e-5, 3e-5, 1e-4, 3e-4]),
    "linear_reg": ([1e-4, 1e-1], [1e-4, 1e-2, 1e-1], [1e-4, 1e-1], [1e-4, 1e-2, 1e-1]),
    # 1,500 batches of 200 are 220 passes over the digits' 1,347 training rows:
    # the fast preset stops at 500
    "linear_iters": (500, 1500, 1500, 1500),
    # HOG features, for the features rungs
    "hog_cell": ((2, 2), (2, 2), (4, 4), (4, 4)),
    # MLPs, on features or pixels
    "mlp_hidden": (100, 100, 200, 200),
    "mlp_epochs": (20, 40, 15, 30),
    "mlp_lr": ([1e-3], [3e-4, 1e-3, 3e-3], [1e-3], [3e-4, 1e-3, 3e-3]),
    "keep": ([1.0, 0.5], [1.0, 0.75, 0.5], [1.0, 0.5], [1.0, 0.75, 0.5]),
    # the ConvNet: a small net under Adam for the digits (whose mirror images are
    # other digits), the cifar10-fast recipe for colour images, in minibatches of
    # 128 there: the recipe's 512 leave a few steps per epoch of a ladder's images
    "conv_recipe": (None, None, "cifar10-fast", "cifar10-fast"),
    "conv_filters": (16, 16, None, None),
    "conv_filter_size": (3, 3, None, None),
    "conv_batch": (50, 50, 128, 128),
    "conv_epochs": (15, 30, 4, 10),
    "conv_lr": ([1e-3], [3e-4, 1e-3], [0.05], [0.025, 0.05, 0.1]),
}


def settings(dataset, preset):
    """The column of the settings table for ``dataset``'s kind of image and ``preset``.

    A dict of setting name to value, copied, so that a caller may change it.
    """
    if preset not in PRESETS:
        raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
    images = "colour" if dataset.image_shape[2] == 3 else "grey"
    column = _SETTINGS_COLUMNS.index((images, preset))
    return {name: copy.deepcopy(row[column]) for name, row in _SETTINGS.items()}


def _features(image_shape, hog_cell):
    """The features rungs' transformer and its name in the leaderboard."""
    from sklearn.pipeline import make_union

    from .. import HOGTransformer, HSVHistogramTransformer

    hog = HOGTransformer(image_shape=image_shape, pixels_per_cell=hog_cell,
                         cells_per_block=(2, 2))
    # a hue histogram of grey images is constant: colour images only
    if image_shape[2] != 3:
        return hog, "HOG"
    return make_union(hog, HSVHistogramTransformer(image_shape=image_shape)), "HOG+HSV"


def _step_grid(step, params):
    """``params`` of a pipeline's ``step``, as ``GridSearchCV`` names them."""
    return {f"{step}__{key}": values for key, values in params.items()}


def build_ladder(dataset, preset="fast", random_state=0):
    """The rungs for ``dataset`` and ``preset``, from kNN to the convnet, keyed as RUNG_KEYS."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from .. import (ConvNetClassifier, KNNClassifier, LinearSVMClassifier, MLPClassifier,
                    SoftmaxClassifier)

    s = settings(dataset, preset)
    shape = dataset.image_shape
    linear_grid = {"learning_rate": s["linear_lr"], "reg": s["linear_reg"]}
    linear = dict(num_iters=s["linear_iters"], random_state=random_state)
    features, features_name = _features(shape, s["hog_cell"])
    mlp = dict(hidden_layer_sizes=(s["mlp_hidden"],), num_epochs=s["mlp_epochs"],
               random_state=random_state)
    convnet_params = dict(image_shape=shape, batch_size=s["conv_batch"],
                          num_epochs=s["conv_epochs"], random_state=random_state)
    if s["conv_recipe"] is not None:
        convnet = ConvNetClassifier.from_recipe(s["conv_recipe"], **convnet_params)
        convnet_name = f"ConvNet ({s['conv_recipe']} recipe)"
    else:
        convnet = ConvNetClassifier(num_filters=s["conv_filters"], hidden_dim=100,
                                    filter_size=s["conv_filter_size"], **convnet_params)
        convnet_name = "ConvNet"

    return [
        # kNN compares raw pixels, as in the CS231n notebooks
        Rung("knn-l2", "kNN (L2)", "knn", KNNClassifier(metric="l2"),
             {"n_neighbors": s["k"]}),
        Rung("knn-l1", "kNN (L1)", "knn", KNNClassifier(metric="l1"),
             {"n_neighbors": s["k"]}),
        # SGD's defaults assume standardized features, as scikit-learn's SGD does
        Rung("svm", "linear SVM", "linear",
             make_pipeline(StandardScaler(), LinearSVMClassifier(**linear)),
             _step_grid("linearsvmclassifier", linear_grid)),
        Rung("softmax", "softmax", "linear",
             make_pipeline(StandardScaler(), SoftmaxClassifier(**linear)),
             _step_grid("softmaxclassifier", linear_grid)),
        Rung("features-svm", f"{features_name} + linear SVM", "features",
             make_pipeline(features, StandardScaler(),
                           LinearSVMClassifier(**linear)),
             _step_grid("linearsvmclassifier", linear_grid)),
        Rung("features-mlp", f"{features_name} + MLP", "network",
             make_pipeline(features, StandardScaler(), MLPClassifier(**mlp)),
             _step_grid("mlpclassifier", {"learning_rate": s["mlp_lr"]})),
        Rung("mlp", "MLP (batchnorm, dropout)", "network",
             make_pipeline(StandardScaler(),
                           MLPClassifier(normalization="batchnorm", **mlp)),
             _step_grid("mlpclassifier", {"dropout_keep_ratio": s["keep"]})),
        Rung("convnet", convnet_name, "convnet", make_pipeline(StandardScaler(), convnet),
             _step_grid("convnetclassifier", {"learning_rate": s["conv_lr"]})),
    ]


def select_rungs(rungs, keys):
    """The rungs named in ``keys``, some of RUNG_KEYS (all for None), in ladder order."""
    if keys is None:
        return rungs
    return [rung for rung in rungs if rung.key in keys]


def check_folds(dataset, n_folds):
    """Raise LadderError unless every class has ``n_folds`` training images or more."""
    min_count = int(min(np.unique(dataset.y_train, return_counts=True)[1]))
    if min_count < n_folds:
        raise LadderError(
            f"{n_folds}-fold cross-validation needs at least {n_folds} training images "
            f"of every class; the rarest has {min_count}: raise --n-train")


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


def leaderboard_row(result):
    """The cells of ``result``'s leaderboard row, as strings under LEADERBOARD_COLUMNS."""
    return (result["name"], short_params(result["best_params"]),
            f"{result['cv_mean']:.3f} ± {result['cv_std']:.3f}",
            f"{result['test_accuracy']:.3f}",
            f"{result['fit_seconds']:.1f}s", f"{result['seconds']:.1f}s")


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
