"""Linear classifiers on CIFAR-10: skdeep's fit beside the CS231n notebooks' loop.

    python benchmarks/bench_linear.py [CIFAR_DIR] [--repeat N]

CIFAR_DIR is an extracted ``cifar-10-batches-py`` directory; without it the usual
places are searched (``SKDEEP_DATA``, see ``skdeep.datasets.find_cifar10``).

1. Fit time, 1,500 SGD steps of 200 rows on the first 49,000 training images (3,072
   raw pixel values each, mean image removed), for the SVM (lr 1e-7, reg 2.5e4) and
   softmax (lr 2.5e-7, reg 8e3) settings.  The CS231n notebooks' way: float64 data
   with a column of ones appended, ``np.random.choice`` batches, the vectorized loss
   (skdeep's ``*_loss_vectorized``, so only the training loop differs) and plain
   SGD.  It runs twice: with BLAS threads as configured (how the notebooks' code runs)
   and limited to one thread (as skdeep's ``fit`` runs BLAS), which separates the
   threading effect from the rest.  skdeep: ``fit`` on the same rows in float64
   and in float32, training in float32 (the default ``dtype``: float64 rows are
   converted a batch at a time), and in float64 (``dtype='float64'``), whose
   accuracy shows what float32 training costs.  Ratios are skdeep time / the
   notebooks' time; the goal is <= 0.5 for the default.
   Each time is the best of ``--repeat`` rounds (default 3); a round runs every
   configuration of a loss once, in turn, so that a ratio compares runs made in
   the same minutes of a machine whose speed drifts.
2. Accuracy on the first 1,000 test images of the issue's pipelines,
   ``make_pipeline(StandardScaler(with_std=False), classifier)`` fed raw pixel
   rows (goal >= 0.36 for both).
"""
import argparse
import sys
import time

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skdeep.datasets import find_cifar10, load_cifar10
from skdeep.linear_model import (
    LinearSVMClassifier,
    SoftmaxClassifier,
    softmax_loss_vectorized,
    svm_loss_vectorized,
)

from _timing import best_times_interleaved  # benchmarks/, the script's own directory

NUM_TRAIN, NUM_TEST = 49_000, 1_000
NUM_ITERS, BATCH_SIZE = 1500, 200
SETTINGS = [
    ("svm", LinearSVMClassifier, svm_loss_vectorized, 1e-7, 2.5e4),
    ("softmax", SoftmaxClassifier, softmax_loss_vectorized, 2.5e-7, 8e3),
]


def cs231n_train(loss_fn, X, y, learning_rate, reg, num_iters, batch_size):
    """The CS231n notebooks' ``LinearClassifier.train``, but for the loss argument."""
    num_train, dim = X.shape
    num_classes = np.max(y) + 1
    W = 0.001 * np.random.randn(dim, num_classes)
    loss_history = []
    for it in range(num_iters):
        batch_indices = np.random.choice(num_train, batch_size)
        X_batch = X[batch_indices]
        y_batch = y[batch_indices]
        loss, grad = loss_fn(W, X_batch, y_batch, reg)
        loss_history.append(loss)
        W -= learning_rate * grad
    return W, loss_history


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="extracted cifar-10-batches-py directory")
    parser.add_argument("--repeat", type=int, default=3,
                        help="rounds of timed runs, each configuration once per round; "
                             "the best counts (default 3)")
    args = parser.parse_args(argv)
    path = find_cifar10(args.cifar_dir)
    if path is None:
        sys.exit("CIFAR-10 not found: pass its cifar-10-batches-py directory as "
                 "CIFAR_DIR or set SKDEEP_DATA (see DEVELOPERS.md).")

    X_train, y_train, X_test, y_test = load_cifar10(path)
    X_raw = X_train[:NUM_TRAIN].reshape(NUM_TRAIN, -1)
    y = y_train[:NUM_TRAIN]
    X_test_raw = X_test[:NUM_TEST].reshape(NUM_TEST, -1)
    y_test = y_test[:NUM_TEST]
    del X_train, y_train, X_test
    print(f"CIFAR-10 from {path}: {X_raw.shape[0]} x {X_raw.shape[1]} training rows, "
          f"{NUM_ITERS} steps of {BATCH_SIZE}, best of {args.repeat} interleaved round(s)")

    start = time.perf_counter()
    X64 = X_raw.astype(np.float64)
    mean_image = X64.mean(axis=0)
    X64 -= mean_image
    X_aug = np.hstack([X64, np.ones((NUM_TRAIN, 1))])
    cs231n_prep = time.perf_counter() - start
    X32 = X64.astype(np.float32)
    X_test_aug = np.hstack([X_test_raw - mean_image, np.ones((NUM_TEST, 1))])
    print(f"CS231n notebooks' preprocessing (float64, mean image removed, bias column): "
          f"{cs231n_prep:.2f} s, not counted below\n")

    print(f"{'loss':8} {'trainer':34} {'fit s':>8} {'ratio':>7} {'ratio 1T':>9} "
          f"{'test acc':>9}")
    skdeep_runs = [("skdeep fit, float64 rows", X64, "float32"),
                   ("skdeep fit, float32 rows", X32, "float32"),
                   ("skdeep fit, float64, dtype=float64", X64, "float64")]
    for name, cls, loss_fn, learning_rate, reg in SETTINGS:
        def cs231n_run():
            np.random.seed(0)
            return cs231n_train(loss_fn, X_aug, y, learning_rate, reg, NUM_ITERS,
                               BATCH_SIZE)[0]

        def cs231n_run_1t():
            with threadpool_limits(limits=1, user_api="blas"):
                return cs231n_run()

        def skdeep_run(X, dtype):
            clf = cls(learning_rate=learning_rate, reg=reg, num_iters=NUM_ITERS,
                      batch_size=BATCH_SIZE, random_state=0, dtype=dtype)
            return lambda: clf.fit(X, y)

        runs = {"cs231n": cs231n_run, "cs231n 1T": cs231n_run_1t}
        runs.update((label, skdeep_run(X, dtype)) for label, X, dtype in skdeep_runs)
        timed = best_times_interleaved(runs, args.repeat)
        t_cs231n, W = timed["cs231n"]
        t_cs231n_1t = timed["cs231n 1T"][0]
        acc = np.mean(np.argmax(X_test_aug @ W, axis=1) == y_test)
        print(f"{name:8} {'CS231n notebooks, float64':34} {t_cs231n:8.2f} {1:7.2f} "
              f"{'':>9} {acc:9.3f}")
        print(f"{name:8} {'CS231n notebooks, 1 BLAS thread':34} {t_cs231n_1t:8.2f} "
              f"{t_cs231n_1t / t_cs231n:7.2f} {1:9.2f}")
        for label, X, _ in skdeep_runs:
            t, clf = timed[label]
            acc = clf.score((X_test_raw - mean_image).astype(X.dtype), y_test)
            print(f"{name:8} {label:34} {t:8.2f} {t / t_cs231n:7.2f} "
                  f"{t / t_cs231n_1t:9.2f} {acc:9.3f}")
    print("ratio: skdeep (or the notebooks, 1 thread) time / the notebooks' time with "
          "default BLAS threads; ratio 1T: / their time with one BLAS thread.  "
          "Goal <= 0.5.\n")

    del X_aug, X64, X32
    print("The issue's pipelines on raw pixel rows (StandardScaler makes them float64):")
    for name, cls, _, learning_rate, reg in SETTINGS:
        pipe = make_pipeline(
            StandardScaler(with_std=False),
            cls(learning_rate=learning_rate, reg=reg, num_iters=NUM_ITERS,
                batch_size=BATCH_SIZE),
        )
        start = time.perf_counter()
        pipe.fit(X_raw, y)
        t = time.perf_counter() - start
        acc = pipe.score(X_test_raw, y_test)
        verdict = "ok" if acc >= 0.36 else "BELOW 0.36"
        print(f"  {cls.__name__}(learning_rate={learning_rate:g}, reg={reg:g}): "
              f"test accuracy {acc:.3f} ({verdict}), pipeline fit {t:.2f} s")


if __name__ == "__main__":
    main()
