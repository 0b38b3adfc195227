"""ConvNetClassifier's three-layer net beside a PyTorch CPU twin, one epoch of CIFAR-10.

The setting of the CS231n notebooks: conv (32 filters of 7x7) - relu - 2x2 max pool
- affine (500) - relu - affine - softmax, weights drawn with standard deviation
1e-3, L2 1e-3, Adam at 1e-3, minibatches of 50, one epoch on the first 49,000
training images with the mean image removed; accuracy on the first 1,000 test
images (goal 0.45; the notebook reaches about 0.49 on its validation set).

PyTorch's twin has the same layers, initial scale, loss, optimizer, batch and
threads (all cores).  Only ``fit`` is timed (for skdeep that includes turning the
rows into channels-first images); both run in this one process, one after the
other.  Goal: skdeep's fit takes at most 1.4x PyTorch's time.

    python benchmarks/bench_convnet.py [CIFAR_DIR] [--n-train 49000] [--epochs 1]
                                       [--skip-torch]

CIFAR_DIR is a ``cifar-10-batches-py`` directory or one containing it; by default
``skdeep.datasets.find_cifar10`` looks in ``$SKDEEP_DATA`` and the data home.
``--n-train`` runs a smaller version while developing.  Timings vary with the
machine's load: compare the ratio from one run, on a quiet machine.
"""
import argparse
import os
import sys
import time

import numpy as np

from skdeep.datasets import find_cifar10, load_cifar10
from skdeep.neural_network import ConvNetClassifier

from _timing import FitReport, machine_line, train_torch  # benchmarks/, the script's own directory

NUM_FILTERS = 32
FILTER_SIZE = 7
HIDDEN = 500
WEIGHT_SCALE = 1e-3
REG = 1e-3
LEARNING_RATE = 1e-3
BATCH_SIZE = 50
N_TRAIN = 49_000
N_TEST = 1_000
GOAL_RATIO = 1.4
GOAL_ACCURACY = 0.45


def load_data(path, n_train):
    cifar_dir = find_cifar10(path)
    if cifar_dir is None:
        sys.exit("CIFAR-10 not found: pass its directory, or set SKDEEP_DATA to the "
                 "directory holding cifar-10-batches-py.")
    X_train, y_train, X_test, y_test = load_cifar10(cifar_dir)
    X_train = X_train[:n_train].reshape(n_train, -1).astype(np.float32)
    X_test = X_test[:N_TEST].reshape(N_TEST, -1).astype(np.float32)
    mean_image = X_train.mean(axis=0)
    X_train -= mean_image
    X_test -= mean_image
    return X_train, y_train[:n_train], X_test, y_test[:N_TEST]


def run_skdeep(X, y, X_test, y_test, epochs):
    clf = ConvNetClassifier(num_filters=NUM_FILTERS, filter_size=FILTER_SIZE,
                            hidden_dim=HIDDEN, weight_scale=WEIGHT_SCALE, reg=REG,
                            update_rule="adam", learning_rate=LEARNING_RATE,
                            batch_size=BATCH_SIZE, num_epochs=epochs,
                            validation_fraction=0.0, random_state=0)
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    return seconds, clf.score(X_test, y_test)


def channels_first(X):
    return np.ascontiguousarray(X.reshape(len(X), 32, 32, 3).transpose(0, 3, 1, 2))


def run_torch(X, y, X_test, y_test, epochs):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    conv = torch.nn.Conv2d(3, NUM_FILTERS, FILTER_SIZE, padding=(FILTER_SIZE - 1) // 2)
    hidden = torch.nn.Linear(NUM_FILTERS * 16 * 16, HIDDEN)
    out = torch.nn.Linear(HIDDEN, 10)
    net = torch.nn.Sequential(conv, torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                              torch.nn.Flatten(), hidden, torch.nn.ReLU(), out)
    with torch.no_grad():
        for layer in (conv, hidden, out):
            layer.weight.normal_(0.0, WEIGHT_SCALE)
            layer.bias.zero_()
    seconds = train_torch(net, [layer.weight for layer in (conv, hidden, out)],
                          [layer.bias for layer in (conv, hidden, out)],
                          torch.from_numpy(channels_first(X)),
                          torch.from_numpy(y.astype(np.int64)),
                          learning_rate=LEARNING_RATE, reg=REG, batch_size=BATCH_SIZE,
                          epochs=epochs)
    with torch.no_grad():
        pred = net(torch.from_numpy(channels_first(X_test))).argmax(dim=1).numpy()
    return seconds, float(np.mean(pred == y_test))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (or its parent)")
    parser.add_argument("--n-train", type=int, default=N_TRAIN,
                        help="training images (49,000 for the goal)")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args()

    X, y, X_test, y_test = load_data(args.cifar_dir, args.n_train)
    print(f"CIFAR-10: {len(X)} training images (mean image removed), conv "
          f"{NUM_FILTERS}x{FILTER_SIZE}x{FILTER_SIZE} - pool - {HIDDEN} - 10, Adam "
          f"{LEARNING_RATE:g}, reg {REG:g}, batch {BATCH_SIZE}, {args.epochs} epoch(s)")
    print(machine_line("start"))

    report = FitReport()
    report.record("skdeep", run_skdeep(X, y, X_test, y_test, args.epochs))
    if not args.skip_torch:
        report.record_torch(run_torch, X, y, X_test, y_test, args.epochs,
                            threads=os.cpu_count())

    report.table(width=10, n_images=len(X) * args.epochs)
    acc = report.results["skdeep"][1]
    full = len(X) == N_TRAIN and args.epochs == 1
    print(f"skdeep test accuracy {acc:.3f} "
          + (f"({'meets' if acc >= GOAL_ACCURACY else 'misses'} the goal of "
             f"{GOAL_ACCURACY})" if full else "(the goal is for the full run)"))
    if "PyTorch" in report.results:
        report.ratio("skdeep", "PyTorch", GOAL_RATIO)
    print(machine_line("the end"))


if __name__ == "__main__":
    main()
