"""MLPClassifier beside scikit-learn's MLPClassifier and a PyTorch CPU twin.

The setting of issue 4: CIFAR-10, raw pixels with the mean image removed, net
3072-200-200-200-200-10, Adam at 1e-3, L2 1e-3, minibatches of 256, 10 epochs on
49,000 training images.  skdeep gets the 50,000 training images with
``validation_fraction=0.02``, so it trains on 49,000 and picks its best epoch on the
other 1,000; the peers train on the first 49,000.  Only ``fit`` is timed, and all
three run in this one process, one after the other, each with its library's default
threads.  Accuracies are on the first 1,000 test images.

Then skdeep alone: with batchnorm and dropout (keep 0.8); with its default
initialization and held-out share (``weight_scale='he'``, ``validation_fraction=0.1``;
the setting of issue 12's "defaults that train", goal 0.50), on the same pixels and on
standardized ones; and a comparison of the two batchnorm backward passes.

    python benchmarks/bench_mlp.py [CIFAR_DIR] [--epochs 10] [--skip-sklearn] [--skip-torch]
                                   [--skip-batchnorm] [--skip-defaults]

CIFAR_DIR is a ``cifar-10-batches-py`` directory or one containing it; by default
``skdeep.datasets.find_cifar10`` looks in the data home.  Timings vary with the
machine's load: compare ratios from one run, on a quiet machine.
"""
import argparse
import sys
import time
import timeit
import warnings

import numpy as np

from skdeep.datasets import find_cifar10, load_cifar10
from skdeep.neural_network import MLPClassifier
from skdeep.nn.layers import batchnorm_backward, batchnorm_backward_alt, batchnorm_forward

# benchmarks/, the script's own directory
from _timing import FitReport, machine_line, timed_fit, train_torch

HIDDEN = (200, 200, 200, 200)
LEARNING_RATE = 1e-3
REG = 1e-3
LR_DECAY = 0.95
BATCH_SIZE = 256
WEIGHT_SCALE = 1e-2
N_TRAIN = 49_000
N_TEST = 1_000
GOALS = {"scikit-learn": 1.0, "PyTorch": 1.25}


def load_data(path):
    cifar_dir = find_cifar10(path)
    if cifar_dir is None:
        sys.exit("CIFAR-10 not found: pass its directory, or set SKDEEP_DATA to the "
                 "directory holding cifar-10-batches-py.")
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
    return (*timed_fit(clf, X, y, X_test, y_test), clf.input_scale_)


def run_sklearn(X, y, X_test, y_test, epochs):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier as SklearnMLP

    # scikit-learn's penalty is 0.5 * alpha * ||W||^2 over the batch *sum* of losses,
    # so alpha = reg * batch_size gives the same gradient; Adam has no decay there
    clf = SklearnMLP(hidden_layer_sizes=HIDDEN, solver="adam",
                     learning_rate_init=LEARNING_RATE, alpha=REG * BATCH_SIZE,
                     batch_size=BATCH_SIZE, max_iter=epochs, shuffle=True, tol=0.0,
                     n_iter_no_change=epochs + 1, random_state=0)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X[:N_TRAIN], y[:N_TRAIN])
    seconds = time.perf_counter() - start
    return seconds, clf.score(X_test, y_test)


def run_torch(X, y, X_test, y_test, epochs):
    import torch

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
    return seconds, float(np.mean(pred == y_test))


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
    args = parser.parse_args()

    X, y, X_test, y_test = load_data(args.cifar_dir)
    print(f"CIFAR-10: {N_TRAIN} training rows of {X.shape[1]} pixels (mean image "
          f"removed), net {X.shape[1]}-{'-'.join(map(str, HIDDEN))}-10, Adam "
          f"{LEARNING_RATE:g}, reg {REG:g}, batch {BATCH_SIZE}, {args.epochs} epochs")
    print(machine_line("start"))

    report = FitReport()
    report.record("skdeep", run_skdeep(X, y, X_test, y_test, args.epochs))
    if not args.skip_sklearn:
        report.record("scikit-learn", run_sklearn(X, y, X_test, y_test, args.epochs))
    if not args.skip_torch:
        report.record_torch(run_torch, X, y, X_test, y_test, args.epochs)

    report.table(width=14)
    for name, goal in GOALS.items():
        if name in report.results:
            report.ratio("skdeep", name, goal)

    if not args.skip_batchnorm:
        seconds, acc = run_skdeep(X, y, X_test, y_test, args.epochs,
                                  normalization="batchnorm", dropout_keep_ratio=0.8)
        print(f"\nskdeep with batchnorm and dropout keep 0.8: {seconds:.1f}s, "
              f"test acc {acc:.3f} (goal 0.55)")
    if not args.skip_defaults:
        print("\nskdeep with the default weight_scale='he' and validation_fraction=0.1:")
        seconds, acc, scale = run_skdeep_defaults(X, y, X_test, y_test, args.epochs)
        print(f"  raw pixels, mean image removed: {seconds:.1f}s, test acc {acc:.3f} "
              f"(goal 0.50), input_scale_ {scale:.2f}")
        std = X.std(axis=0)
        seconds, acc, scale = run_skdeep_defaults(X / std, y, X_test / std, y_test,
                                                  args.epochs)
        print(f"  standardized pixels:            {seconds:.1f}s, test acc {acc:.3f} "
              f"(goal 0.50), input_scale_ {scale:.2f}")
    compare_batchnorm_backwards()
    print("\n" + machine_line("the end"))


if __name__ == "__main__":
    main()
