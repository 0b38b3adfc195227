"""KNNClassifier beside scikit-learn's brute-force KNeighborsClassifier on CIFAR-10.

    python benchmarks/bench_knn.py [CIFAR_DIR] [--repeat 3] [--rounds 3]

The seeds' setup: the first 5,000 training and 500 test images as rows of 3,072
raw pixel values, as float64 (how the CS231n loader returns them) and as uint8
(how skdeep.datasets.load_cifar10 does).  For k in {1, 10} and metric in
{L2, L1} it prints both predict times from the same run, their ratio, both
accuracies, and the agreement of the predictions, checking that every
disagreement is an exact tie (equal distances at the k-th neighbour, or equal
votes) that the two libraries break differently.  Each library runs every case in
a fresh process of its own (see ``_timing.contest`` and, for why,
``bench_convnet.py``), ``--repeat`` times there, the order of the two alternating
over ``--rounds`` rounds (default 3); the best of all its runs counts.  The CPU
line, the versions, the thread counts and peak memory of each are printed.

Goals: L2 at most 0.8x scikit-learn's time, L1 at most 0.1x.
"""
import argparse
import sys

import numpy as np
from sklearn.neighbors import KNeighborsClassifier

# first, from benchmarks/ (the script's own directory): it may load torch (see there)
from _timing import (
    add_contest_arguments,
    best_time,
    contest,
    machine_line,
    print_contest_header,
    print_contestants,
    run_if_contestant,
)

from skdeep import KNNClassifier, show_config
from skdeep.datasets import find_cifar10, load_cifar10
from skdeep.neighbors import pairwise_distances

GOALS = {"l2": 0.8, "l1": 0.1}
SKLEARN_METRIC = {"l2": "euclidean", "l1": "manhattan"}


def explained_by_ties(X_test, X_train, y_train, k, metric, rows, classes):
    """Whether each disagreeing query has an exact tie that decides its label."""
    if len(rows) == 0:
        return np.array([], dtype=bool)
    D = pairwise_distances(X_test[rows], X_train, metric=metric)
    explained = []
    for r, dists in enumerate(D):
        order = np.argsort(dists, kind="stable")
        boundary_tie = k < len(dists) and dists[order[k - 1]] == dists[order[k]]
        votes = np.bincount(np.searchsorted(classes, y_train[order[:k]]), minlength=len(classes))
        vote_tie = np.sum(votes == votes.max()) > 1
        explained.append(boundary_tie or vote_tie)
    return np.array(explained)


def load_rows(cifar_dir):
    """The seeds' subset as uint8 rows: 5,000 training and 500 test images."""
    path = find_cifar10(cifar_dir)
    if path is None:
        sys.exit("CIFAR-10 not found: pass its directory or set SKDEEP_DATA "
                 "(python ../shared/data/make_cifar10.py DIR writes it)")
    X_train, y_train, X_test, y_test = load_cifar10(path)
    return (X_train[:5000].reshape(5000, -1), y_train[:5000],
            X_test[:500].reshape(500, -1), y_test[:500])


def cases():
    """``(rows dtype, metric, k)`` of every case, in the table's order."""
    return [(dtype, metric, k) for dtype in (np.float64, np.uint8)
            for metric in ("l2", "l1") for k in (1, 10)]


def case_name(dtype, metric, k):
    return f"{np.dtype(dtype).name} {metric} {k}"


def contestant(make):
    """A contest runner: ``make(metric, k)``'s predict time and predictions, every case."""
    def run(args):
        X_train, y_train, X_test, _ = load_rows(args.cifar_dir)
        seconds, predictions = {}, {}
        for dtype, metric, k in cases():
            Xtr, Xte = X_train.astype(dtype), X_test.astype(dtype)
            clf = make(metric, k).fit(Xtr, y_train)
            name = case_name(dtype, metric, k)
            seconds[name], pred = best_time(lambda: clf.predict(Xte), args.repeat)
            predictions[name] = pred.tolist()
        return {"seconds": seconds, "predictions": predictions}
    return run


RUNNERS = {
    "skdeep": contestant(lambda metric, k: KNNClassifier(n_neighbors=k, metric=metric)),
    "scikit-learn": contestant(lambda metric, k: KNeighborsClassifier(
        n_neighbors=k, algorithm="brute", metric=SKLEARN_METRIC[metric], n_jobs=-1)),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (default: find it in $SKDEEP_DATA)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="timed runs in each process, best kept")
    add_contest_arguments(parser)
    args = parser.parse_args(argv)
    run_if_contestant(args, RUNNERS)
    X_train, y_train, X_test, y_test = load_rows(args.cifar_dir)
    show_config()
    print(f"\nCIFAR-10 subset: {X_train.shape[0]} train x {X_test.shape[0]} test x "
          f"{X_train.shape[1]} features; predict time, best of {args.repeat} in each of "
          f"{args.rounds} process(es) per library\n")
    print_contest_header(args.rounds)
    records = contest(list(RUNNERS), args.rounds, argv=argv)
    met_all = print_table(records, X_train, y_train, X_test, y_test)
    print_contestants(records)
    print(machine_line("the end"))
    return 0 if met_all else 1


def print_table(records, X_train, y_train, X_test, y_test):
    """One line per case; whether every goal is met."""
    header = (f"{'rows':<8}{'metric':<7}{'k':>3}{'skdeep s':>10}{'sklearn s':>11}{'ratio':>8}"
              f"{'goal':>7}{'acc skdeep':>12}{'acc sklearn':>13}{'agree':>7}{'ties?':>7}")
    print("\n" + header)
    print("-" * len(header))
    met_all = True
    for dtype, metric, k in cases():
        name = case_name(dtype, metric, k)
        t_ours, t_theirs = (records[c]["seconds"][name] for c in RUNNERS)
        pred_ours, pred_theirs = (np.array(records[c]["predictions"][name]) for c in RUNNERS)
        differ = np.flatnonzero(pred_ours != pred_theirs)
        ties_ok = explained_by_ties(X_test.astype(dtype), X_train.astype(dtype), y_train, k,
                                    metric, differ, np.unique(y_train)).all()
        ratio = t_ours / t_theirs
        met = ratio <= GOALS[metric] and ties_ok
        met_all &= met
        print(f"{np.dtype(dtype).name:<8}{metric:<7}{k:>3}{t_ours:>10.3f}{t_theirs:>11.3f}"
              f"{ratio:>7.2f}x{'<=' + str(GOALS[metric]):>7}"
              f"{np.mean(pred_ours == y_test):>12.3f}{np.mean(pred_theirs == y_test):>13.3f}"
              f"{1 - len(differ) / len(X_test):>7.3f}{'yes' if ties_ok else 'NO':>7}"
              f"{'' if met else '  <- goal missed'}")
    print("\nties?: every differing prediction is explained by an exact tie")
    print("all goals met" if met_all else "SOME GOALS MISSED")
    return met_all


if __name__ == "__main__":
    sys.exit(main())
