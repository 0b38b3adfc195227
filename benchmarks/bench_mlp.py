"""MLPClassifier beside scikit-learn's MLPClassifier and a PyTorch CPU twin.

The CS231n notebooks' fully connected setting: CIFAR-10, raw pixels with the mean image removed, net
3072-200-200-200-200-10, Adam at 1e-3, L2 1e-3, minibatches of 256, 10 epochs on
49,000 training images.  skdeep gets the 50,000 training images with
``validation_fraction=0.02``, so it trains on 49,000 and picks its best epoch on the
other 1,000; the peers train on the first 49,000.  Only ``fit`` is timed, each with
its library's default threads.  Each of the three runs in a fresh process of its
own, the order alternating over ``--rounds`` rounds (default 3), each keeping its
best; the script prints the CPU and its vector extensions, the versions, every
contestant's thread counts and peak resident memory (see ``_timing.contest`` and,
for why, ``bench_convnet.py``).  Accuracies are on the first 1,000 test images.

Then skdeep alone: with batchnorm and dropout (keep 0.8); with its default
initialization and held-out share (``weight_scale='he'``, ``validation_fraction=0.1``;
the defaults' own setting, goal 0.50), on the same pixels and on
standardized ones; and a comparison of the two batchnorm backward passes.  These run
in this process after the contest, whose children have all exited.

    python benchmarks/bench_mlp.py [CIFAR_DIR] [--epochs 10] [--skip-sklearn] [--skip-torch]
                                   [--skip-batchnorm] [--skip-defaults] [--rounds 3]

CIFAR_DIR is a ``cifar-10-batches-py`` directory or one containing it; by default
``skdeep.datasets.find_cifar10`` looks in the data home.  Timings vary with the
machine's load: compare ratios from one run, on a quiet machine.
"""
import argparse
import sys
import timeit
import warnings

import numpy as np

# first, from benchmarks/ (the script's own directory): it may load torch (see there)
from _timing import (
    add_contest_arguments,
    contest,
    machine_line,
    peer_installed,
    print_contest_header,
    print_contestants,
    print_fit_table,
    print_ratio,
    run_if_contestant,
    start_timed_work,
    timed_fit,
    train_torch,
)

from skdeep.datasets import find_cifar10, load_cifar10
from skdeep.neural_network import MLPClassifier
from skdeep.nn.layers import batchnorm_backward, batchnorm_backward_alt, batchnorm_forward

HIDDEN = (200, 200, 200, 200)
LEARNING_RATE = 1e-3
REG = 1e-3
LR_DECAY = 0.95
BATCH_SIZE = 256
WEIGHT_SCALE = 1e-2
N_TRAIN = 49_000
N_TEST = 1_000
GOALS = {"scikit-learn": 1.0, "PyTorch": 1.0}
NO_DATA = ("CIFAR-10 not found: pass its directory, or set SKDEEP_DATA to the "
           "directory holding cifar-10-batches-py.")


def load_data(path):
    cifar_dir = find_cifar10(path)
    if cifar_dir is None:
        sys.exit(NO_DATA)
    X_train, y_train, X_test, y_test = load_cifar10(cifar_dir)
    X_train = X_train.reshape(len(X_train), -1).astype(np.float32)
    X_test = X_test[:N_TEST].reshape(N_TEST, -1).astype(np.float32)
    mean_image = X_train.mean(axis=0)
    X_train -= mean_image
    X_test -= mean_image
    return X_train, y_train, X_test, y_test[:N_TEST]


def run_skdeep(X, y, X_test, y_test, epochs, **extra):
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, update_rule="adam",
                        learning_rate=LEARNING_RATE, lr_decay=LR_DECAY, reg=REG,
                        weight_scale=WEIGHT_SCALE, batch_size=BATCH_SIZE,
                        num_epochs=epochs, validation_fraction=1 - N_TRAIN / len(X),
                        random_state=0, **extra)
    return timed_fit(clf, X, y, X_test, y_test)


def run_skdeep_defaults(X, y, X_test, y_test, epochs):
    """The issue's settings, everything else (initialization, split) left at default."""
    clf = MLPClassifier(hidden_layer_sizes=HIDDEN, update_rule="adam",
                        learning_rate=LEARNING_RATE, lr_decay=LR_DECAY, reg=REG,
                        batch_size=BATCH_SIZE, num_epochs=epochs, random_state=0)
    record = timed_fit(clf, X, y, X_test, y_test)
    return record["seconds"], record["accuracy"], clf.input_scale_


def run_sklearn(X, y, X_test, y_test, epochs):
    """scikit-learn's MLPClassifier with the same layers and gradient; a contest record."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    # scikit-learn's penalty is 0.5 * alpha * ||W||^2 over the batch *sum* of losses,
    # so alpha = reg * batch_size gives the same gradient; Adam has no decay there
    clf = SklearnMLP(hidden_layer_sizes=HIDDEN, solver="adam",
                     learning_rate_init=LEARNING_RATE, alpha=REG * BATCH_SIZE,
                     batch_size=BATCH_SIZE, max_iter=epochs, shuffle=True, tol=0.0,
                     n_iter_no_change=epochs + 1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return timed_fit(clf, X[:N_TRAIN], y[:N_TRAIN], X_test, y_test)


def run_torch(X, y, X_test, y_test, epochs):
    """A PyTorch twin trained as skdeep's Solver trains; a contest record."""
    import torch

    rss_before = start_timed_work()
    torch.manual_seed(0)
    sizes = (X.shape[1], *HIDDEN, 10)
    layers = []
    for i in range(len(sizes) - 1):
        layers.append(torch.nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(torch.nn.ReLU())
    net = torch.nn.Sequential(*layers)
    weights = [p for name, p in net.named_parameters() if name.endswith("weight")]
    biases = [p for name, p in net.named_parameters() if name.endswith("bias")]
    seconds = train_torch(net, weights, biases, torch.from_numpy(X[:N_TRAIN]),
                          torch.from_numpy(y[:N_TRAIN].astype(np.int64)),
                          learning_rate=LEARNING_RATE, reg=REG, batch_size=BATCH_SIZE,
                          epochs=epochs, lr_decay=LR_DECAY)
    with torch.no_grad():
        pred = net(torch.from_numpy(X_test)).argmax(dim=1).numpy()
    return {"seconds": seconds, "accuracy": float(np.mean(pred == y_test)),
            "rss_before_mb": rss_before}


def contestant(run):
    """A contest runner: load the data, then ``run`` on it with ``--epochs``."""
    return lambda args: run(*load_data(args.cifar_dir), args.epochs)


def compare_batchnorm_backwards():
    rng = np.random.default_rng(0)
    print("\nbatchnorm backward, stage by stage vs closed form (float32):")
    for n, d in ((256, 200), (1024, 1024)):
        x = rng.standard_normal((n, d), dtype=np.float32)
        gamma = rng.standard_normal(d, dtype=np.float32)
        beta = rng.standard_normal(d, dtype=np.float32)
        dout = rng.standard_normal((n, d), dtype=np.float32)
        _, cache = batchnorm_forward(x, gamma, beta, {"mode": "train"})
        staged = min(timeit.repeat(lambda: batchnorm_backward(dout, cache),
                                   number=20, repeat=5)) / 20
        closed = min(timeit.repeat(lambda: batchnorm_backward_alt(dout, cache),
                                   number=20, repeat=5)) / 20
        print(f"  ({n:4d}, {d:4d}): batchnorm_backward {staged * 1e3:7.3f} ms, "
              f"batchnorm_backward_alt {closed * 1e3:7.3f} ms, "
              f"{staged / closed:.2f}x faster")


def run_skdeep_alone(args):
    """skdeep's accuracy runs: batchnorm and dropout, and the default initialization."""
    X, y, X_test, y_test = load_data(args.cifar_dir)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (or its parent)")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--skip-sklearn", action="store_true")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-batchnorm", action="store_true",
                        help="skip the batchnorm + dropout accuracy run")
    parser.add_argument("--skip-defaults", action="store_true",
                        help="skip the two runs with the default initialization")
    add_contest_arguments(parser)
    args = parser.parse_args()
    run_if_contestant(args, {"skdeep": contestant(run_skdeep),
                             "scikit-learn": contestant(run_sklearn),
                             "PyTorch": contestant(run_torch)})

    if find_cifar10(args.cifar_dir) is None:
        sys.exit(NO_DATA)
    print(f"CIFAR-10: {N_TRAIN} training rows of 3072 pixels (mean image removed), net "
          f"3072-{'-'.join(map(str, HIDDEN))}-10, Adam {LEARNING_RATE:g}, reg {REG:g}, "
          f"batch {BATCH_SIZE}, {args.epochs} epochs")
    print_contest_header(args.rounds)
    names = ["skdeep"]
    if not args.skip_sklearn:
        names.append("scikit-learn")
    if not args.skip_torch and peer_installed("torch", "PyTorch"):
        names.append("PyTorch")
    records = contest(names, args.rounds)

    print_fit_table(records, width=14)
    for name, goal in GOALS.items():
        if name in records:
            print_ratio(f"skdeep / {name} fit time", records["skdeep"]["seconds"],
                        records[name]["seconds"], goal)
    print_contestants(records)

    if not (args.skip_batchnorm and args.skip_defaults):
        run_skdeep_alone(args)
    compare_batchnorm_backwards()
    print("\n" + machine_line("the end"))


if __name__ == "__main__":
    main()
