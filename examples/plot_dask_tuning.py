"""
Tuning the features pipeline on a local dask cluster
====================================================

The grid search of the features example (HOG and hue-histogram features,
standardized, into a linear SVM; its learning rate and regularization tuned by
3-fold cross-validation) run twice: in this process with ``n_jobs=1``, and on a
``dask.distributed`` cluster through joblib's ``"dask"`` backend, with one
single-threaded worker process per core on this machine.  The script prints the
cluster's dashboard address (open it while the search runs to watch the tasks),
both times, and checks that the two searches scored every candidate identically.

    python examples/plot_dask_tuning.py [CIFAR_DIR] [--n-images 5000] [--out dask_tuning]

It uses the first ``--n-images`` CIFAR-10 training images, or scikit-learn's 8x8
digits when CIFAR-10 is not found (no directory given and none in $SKDEEP_DATA).
Needs the ``dask`` extra (``pip install "skdeep[dask]"``) and matplotlib for the
figure: the two times and each candidate's cross-validated accuracy.  On a
cluster of several machines, replace the ``LocalCluster`` by
``Client("tcp://SCHEDULER:8786")`` (see docs/scaling.md).
"""
import argparse
import os
import time

import joblib
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

from skdeep import HOGTransformer, HSVHistogramTransformer, LinearSVMClassifier
from skdeep.datasets import find_cifar10, load_cifar10

from _example_common import pyplot, save_figure, title_line  # examples/, the script's own directory


def load_data(n_images, cifar_dir=None):
    """uint8 image rows, labels, the data set's name and a HOG cell size for it."""
    path = find_cifar10(cifar_dir)
    if path is not None:
        X, y, _, _ = load_cifar10(path)
        n = min(n_images, len(X))
        return X[:n].reshape(n, -1), y[:n], f"CIFAR-10, {n} images", (8, 8)
    X, y = load_digits(return_X_y=True)
    X = (X * 16).clip(0, 255).astype(np.uint8)
    return X[:n_images], y[:n_images], "digits (CIFAR-10 not found)", (2, 2)


def search(pixels_per_cell):
    pipeline = make_pipeline(
        make_union(HOGTransformer(pixels_per_cell=pixels_per_cell, cells_per_block=(2, 2)),
                   HSVHistogramTransformer(nbin=10)),
        StandardScaler(),
        LinearSVMClassifier(num_iters=1000, random_state=0))
    grid = {"linearsvmclassifier__learning_rate": [1e-3, 1e-2],
            "linearsvmclassifier__reg": [1e-4, 1e-2, 1e-1]}
    return GridSearchCV(pipeline, grid, cv=StratifiedKFold(3, shuffle=True, random_state=0),
                        n_jobs=-1)


def main():
    parser = argparse.ArgumentParser(description=title_line(__doc__))
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (or its parent)")
    parser.add_argument("--n-images", type=int, default=5000,
                        help="images searched over (default: 5000)")
    parser.add_argument("--out", default="dask_tuning", help="figure file")
    args = parser.parse_args()
    from dask.distributed import Client, LocalCluster

    X, y, dataset, cell = load_data(args.n_images, args.cifar_dir)
    print(f"data: {dataset}")

    start = time.perf_counter()
    local = search(cell).set_params(n_jobs=1).fit(X, y)
    local_seconds = time.perf_counter() - start
    print(f"GridSearchCV(n_jobs=1) in this process: {local_seconds:.1f} s")

    n_workers = os.cpu_count() or 1
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1") as cluster, Client(cluster) as client:
        print(f"dask cluster: {n_workers} worker processes; dashboard at "
              f"{client.dashboard_link}")
        start = time.perf_counter()
        with joblib.parallel_backend("dask"):
            remote = search(cell).fit(X, y)
        dask_seconds = time.perf_counter() - start
    print(f"GridSearchCV on the dask cluster: {dask_seconds:.1f} s "
          f"(speed-up over n_jobs=1: {local_seconds / dask_seconds:.2f})")

    local_scores = local.cv_results_["mean_test_score"]
    remote_scores = remote.cv_results_["mean_test_score"]
    same = np.array_equal(local_scores, remote_scores)
    print(f"identical cross-validated scores: {same}; best {remote.best_params_} "
          f"({remote.best_score_:.3f})")

    plt = pyplot()
    if plt is None:
        return
    fig, (ax_time, ax_score) = plt.subplots(1, 2, figsize=(10, 4),
                                            gridspec_kw={"width_ratios": [1, 2]})
    ax_time.bar(["n_jobs=1", f"dask, {n_workers} workers"], [local_seconds, dask_seconds],
                color=["0.6", "tab:blue"])
    ax_time.set_ylabel("grid search time (s)")
    labels = [f"lr {p['linearsvmclassifier__learning_rate']:.0e}\n"
              f"reg {p['linearsvmclassifier__reg']:.0e}" for p in remote.cv_results_["params"]]
    ax_score.bar(labels, remote_scores, yerr=remote.cv_results_["std_test_score"],
                 color="tab:blue")
    ax_score.set_ylabel("3-fold CV accuracy")
    ax_score.tick_params(axis="x", labelsize=8)
    fig.suptitle(f"Features pipeline grid search, {dataset}")
    fig.tight_layout()
    save_figure(fig, args.out)


if __name__ == "__main__":
    main()
