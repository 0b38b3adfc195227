"""Linear classifiers on CIFAR-10: skdeep's fit beside the CS231n notebooks' loop.

    python benchmarks/bench_linear.py [CIFAR_DIR] [--repeat N] [--contestant NAME]

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
   Each trainer runs in a fresh process of its own (both losses), the order
   alternating over ``--repeat`` rounds (default 3), and each keeps its best, so
   that a ratio compares runs made in the same minutes of a machine whose speed
   drifts, and no trainer's threads are alive while another runs (see
   ``_timing.contest`` and ``bench_convnet.py``).  The script prints the CPU and
   its vector extensions, the versions, every trainer's thread counts and peak
   resident memory.
2. The issue's pipelines, ``make_pipeline(StandardScaler(with_std=False),
   classifier)`` fed raw pixel rows (uint8), each timed as a trainer of its own
   (one process per loss): their fit (scaling included) beside the notebooks'
   preprocessing plus loop (goal <= 0.5), and their accuracy on the first 1,000
   test images (goal >= 0.36 for both).  One process per pipeline, and every
   process whose preprocessing time is reported first writes and frees as much
   memory as the preprocessing writes (``_timing.prefault``): on the project's
   2-core virtual machine (AMD EPYC) memory idle for a second is handed back to
   the hypervisor, and a process's first gigabytes then cost 5 to 8 s of system
   time each against about 0.1 s for memory just freed.  Without that, the same
   scaling took 4.7 to 15.3 s in fresh processes and the notebooks'
   preprocessing 3.3 to 11.8 s, depending only on how long the machine's memory
   had been idle.  The header prints both costs as this run found them.  The
   pipelines' floor is timed too, in a process of its own:
   ``StandardScaler(with_std=False)``'s ``fit_transform`` alone, which no
   classifier can take below.
"""
import argparse
import sys
import time

import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

# first, from benchmarks/ (the script's own directory): it may load torch (see there)
from _timing import (
    add_contest_arguments,
    contest,
    first_touch_line,
    machine_line,
    prefault,
    print_contest_header,
    print_contestants,
    run_if_contestant,
)

from skdeep.datasets import find_cifar10, load_cifar10
from skdeep.linear_model import (
    LinearSVMClassifier,
    SoftmaxClassifier,
    softmax_loss_vectorized,
    svm_loss_vectorized,
)

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


def load_rows(cifar_dir):
    """Raw training and test rows (uint8), their labels, and the path they came from."""
    path = find_cifar10(cifar_dir)
    if path is None:
        sys.exit("CIFAR-10 not found: pass its cifar-10-batches-py directory as "
                 "CIFAR_DIR or set SKDEEP_DATA (see DEVELOPERS.md).")
    X_train, y_train, X_test, y_test = load_cifar10(path)
    return (X_train[:NUM_TRAIN].reshape(NUM_TRAIN, -1), y_train[:NUM_TRAIN],
            X_test[:NUM_TEST].reshape(NUM_TEST, -1), y_test[:NUM_TEST], path)


def prefault_for(X_raw):
    """Prefault four float64 arrays of the size of ``X_raw`` (see ``_timing.prefault``).

    A margin over the most a preprocessing writes: ``StandardScaler`` writes three
    (its validated copies in ``fit`` and in ``transform``, and in ``fit`` the NaN
    mask made float64 to count each column's samples) besides boolean masks, the
    notebooks' two.  Prefaulting two was not always enough: the same scaling then
    took 2.04 s once in four fresh processes, against 0.88 to 0.93 s otherwise.
    """
    prefault(4 * X_raw.size * np.dtype(np.float64).itemsize)


def mean_removed(X_raw):
    """``X_raw`` as float64 with the mean image removed, and the mean image."""
    X64 = X_raw.astype(np.float64)
    mean_image = X64.mean(axis=0)
    X64 -= mean_image
    return X64, mean_image


def cs231n_prep(X_raw):
    """The notebooks' preprocessing: float64, mean image removed, a column of ones."""
    X64, mean_image = mean_removed(X_raw)
    return mean_image, np.hstack([X64, np.ones((len(X64), 1))])


def run_cs231n(args, blas_threads=None):
    """The notebooks' loop on both losses (and its preprocessing); a contest record."""
    X_raw, y, X_test_raw, y_test, _ = load_rows(args.cifar_dir)
    if blas_threads is None:  # the run whose preprocessing time is reported
        prefault_for(X_raw)
    start = time.perf_counter()
    mean_image, X_aug = cs231n_prep(X_raw)
    seconds, accuracy = {"prep": time.perf_counter() - start}, {}
    X_test_aug = np.hstack([X_test_raw - mean_image, np.ones((NUM_TEST, 1))])
    for name, _, loss_fn, learning_rate, reg in SETTINGS:
        np.random.seed(0)
        with threadpool_limits(limits=blas_threads, user_api="blas"):
            start = time.perf_counter()
            W = cs231n_train(loss_fn, X_aug, y, learning_rate, reg, NUM_ITERS, BATCH_SIZE)[0]
            seconds[name] = time.perf_counter() - start
        accuracy[name] = float(np.mean(np.argmax(X_test_aug @ W, axis=1) == y_test))
    return {"seconds": seconds, "accuracy": accuracy}


def run_skdeep(args, rows, dtype):
    """skdeep's ``fit`` on the mean-removed ``rows`` dtype, both losses; a contest record."""
    X_raw, y, X_test_raw, y_test, _ = load_rows(args.cifar_dir)
    X64, mean_image = mean_removed(X_raw)
    X = X64.astype(rows, copy=False)
    del X64
    X_test = (X_test_raw - mean_image).astype(rows)
    seconds, accuracy = {}, {}
    for name, cls, _, learning_rate, reg in SETTINGS:
        clf = cls(learning_rate=learning_rate, reg=reg, num_iters=NUM_ITERS,
                  batch_size=BATCH_SIZE, random_state=0, dtype=dtype)
        start = time.perf_counter()
        clf.fit(X, y)
        seconds[name] = time.perf_counter() - start
        accuracy[name] = float(clf.score(X_test, y_test))
    return {"seconds": seconds, "accuracy": accuracy}


def run_pipeline(args, loss):
    """The issue's pipeline of ``loss`` fitted on raw rows, scaling included; a
    contest record."""
    X_raw, y, X_test_raw, y_test, _ = load_rows(args.cifar_dir)
    (name, cls, _, learning_rate, reg), = [s for s in SETTINGS if s[0] == loss]
    pipe = make_pipeline(StandardScaler(with_std=False),
                         cls(learning_rate=learning_rate, reg=reg, num_iters=NUM_ITERS,
                             batch_size=BATCH_SIZE, random_state=0))
    prefault_for(X_raw)
    start = time.perf_counter()
    pipe.fit(X_raw, y)
    seconds = time.perf_counter() - start
    return {"seconds": {name: seconds},
            "accuracy": {name: float(pipe.score(X_test_raw, y_test))}}


def run_scaler(args):
    """The pipelines' scaling alone (their floor), on raw rows; a contest record."""
    X_raw = load_rows(args.cifar_dir)[0]
    prefault_for(X_raw)
    start = time.perf_counter()
    StandardScaler(with_std=False).fit_transform(X_raw)
    return {"seconds": {"scaling": time.perf_counter() - start}}


# trainer name: (runner, label in the table); the notebooks' own first
TRAINERS = {
    "cs231n": (run_cs231n, "CS231n notebooks, float64"),
    "cs231n-1T": (lambda args: run_cs231n(args, blas_threads=1),
                  "CS231n notebooks, 1 BLAS thread"),
    "skdeep-f64-rows": (lambda args: run_skdeep(args, np.float64, "float32"),
                        "skdeep fit, float64 rows"),
    "skdeep-f32-rows": (lambda args: run_skdeep(args, np.float32, "float32"),
                        "skdeep fit, float32 rows"),
    "skdeep-f64": (lambda args: run_skdeep(args, np.float64, "float64"),
                   "skdeep fit, float64, dtype=float64"),
    # one process per pipeline (see the docstring); default arguments bind the loss
    **{f"pipeline-{name}": (lambda args, name=name: run_pipeline(args, name),
                            f"skdeep {name} pipeline on raw rows")
       for name, *_ in SETTINGS},
    "scaler": (run_scaler, "StandardScaler alone, the pipelines' floor"),
}


def print_table(records):
    """Times, ratios and test accuracies of every trainer for each loss."""
    print(f"\n{'loss':8} {'trainer':34} {'fit s':>8} {'ratio':>7} {'ratio 1T':>9} "
          f"{'test acc':>9}")
    for name, *_ in SETTINGS:
        base = records["cs231n"]["seconds"][name]
        base_1t = records["cs231n-1T"]["seconds"][name]
        for trainer, (_, label) in TRAINERS.items():
            if trainer.startswith("pipeline") or trainer == "scaler":
                continue
            t = records[trainer]["seconds"][name]
            ratio_1t = "" if trainer == "cs231n" else f"{t / base_1t:9.2f}"
            print(f"{name:8} {label:34} {t:8.2f} {t / base:7.2f} {ratio_1t:>9} "
                  f"{records[trainer]['accuracy'][name]:9.3f}")
    print("ratio: skdeep (or the notebooks, 1 thread) time / the notebooks' time with "
          "default BLAS threads; ratio 1T: / their time with one BLAS thread.  "
          "Goal <= 0.5.")


def print_pipelines(records):
    """The pipelines' fit beside the notebooks' preprocessing and loop, and accuracy."""
    prep = records["cs231n"]["seconds"]["prep"]
    print(f"\nThe issue's pipelines on raw pixel rows (StandardScaler makes them float64), "
          f"fit time beside the notebooks' preprocessing ({prep:.2f} s) plus loop:")
    for name, cls, _, learning_rate, reg in SETTINGS:
        t = records[f"pipeline-{name}"]["seconds"][name]
        ratio = t / (prep + records["cs231n"]["seconds"][name])
        acc = records[f"pipeline-{name}"]["accuracy"][name]
        print(f"  {cls.__name__}(learning_rate={learning_rate:g}, reg={reg:g}): "
              f"pipeline fit {t:.2f} s, {ratio:.2f}x ({'meets' if ratio <= 0.5 else 'misses'}"
              f" the goal of <= 0.5x), test accuracy {acc:.3f} "
              f"({'ok' if acc >= 0.36 else 'BELOW 0.36'})")
    scaling = records["scaler"]["seconds"]["scaling"]
    floors = ", ".join(f"{scaling / (prep + records['cs231n']['seconds'][name]):.2f}x "
                       f"for {name}" for name, *_ in SETTINGS)
    print(f"  StandardScaler(with_std=False).fit_transform alone takes {scaling:.2f} s "
          f"(the notebooks' preprocessing {prep:.2f} s): with no time at all in the "
          f"classifier, a pipeline would stand at {floors}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="extracted cifar-10-batches-py directory")
    add_contest_arguments(parser, flags=("--repeat", "--rounds"))
    args = parser.parse_args(argv)
    run_if_contestant(args, {name: runner for name, (runner, _) in TRAINERS.items()})

    path = find_cifar10(args.cifar_dir)
    if path is None:
        load_rows(args.cifar_dir)  # exits, saying where to put the data
    print(f"CIFAR-10 from {path}: {NUM_TRAIN} x 3072 training rows, {NUM_ITERS} steps "
          f"of {BATCH_SIZE}; the notebooks' preprocessing is not counted in the table")
    print_contest_header(args.rounds)
    print(first_touch_line())
    records = contest(list(TRAINERS), args.rounds, argv=argv)
    print_table(records)
    print_pipelines(records)
    print_contestants(records, width=16)
    print(machine_line("the end"))


if __name__ == "__main__":
    main()
