"""Training throughput of the record net beside a PyTorch CPU twin, and peak memory.

The record net is the one ``examples/plot_cifar10_convnet.py`` trained before it took
the ``cifar10-fast`` recipe (``RECORD_NET`` below; the images are the example's
per-channel standardized CIFAR-10 rows, from its ``load_data``): four 3x3
conv layers of 32, 64, 128 and 256 filters, each with spatial batchnorm, ReLU and a
2x2 max pool, then one affine layer to the 10 classes; He initialization, Adam at
2e-3 under a linear warm-up (a fifth of the steps) and linear decay, label smoothing
0.1, L2 5e-4 on the weights, minibatches of 128, every image flipped left-right with
probability 1/2 and shifted by up to 4 pixels (zeros filling in).

skdeep: ``ConvNetClassifier(**RECORD_NET, num_epochs=1).fit`` on the first
``--n-images`` training images (default 6,400: 50 steps).  PyTorch's twin: the same
layers, initialization, loss, optimizer and schedule, weight decay on the conv and
affine weights only, the same augmentation (vectorized), on all cores; like
skdeep's fit, it ends the epoch with the accuracy of 1,000 training images, in
batches of 100, in test mode (with the mirror images too, as ``test_flip``).  Printed: images per second of
each (``--n-images`` over the timed seconds) and the peak resident memory of each
contestant's own process, over its life and while it trains (the count restarted
when training starts: loading CIFAR-10 peaks higher than training a small
``--n-images``; the resident data and libraries are counted in both).

Each contestant runs in a fresh process of its own, the order alternating over
``--rounds`` rounds (default 3), each keeping its best (see ``_timing.contest``).

    python benchmarks/bench_record_net.py [CIFAR_DIR] [--n-images 6400] [--rounds 3]
                                          [--skip-torch]

Goals: skdeep's throughput at least 1.0x PyTorch's, and its peak memory
while training at most PyTorch's.  Timings vary with the machine's load: compare the ratios from
one run, on a quiet machine.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

# first, from benchmarks/ (the script's own directory): it may load torch (see there)
from _timing import (
    add_contest_arguments,
    contest,
    machine_line,
    peer_installed,
    print_contest_header,
    print_contestants,
    print_ratio,
    run_if_contestant,
    start_timed_work,
)

from skdeep import ConvNetClassifier
from skdeep.datasets import find_cifar10


# the example is the one definition of the data
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from plot_cifar10_convnet import load_data  # noqa: E402

# The VGG-style net the record example trained in wave 2, and the engine's yardstick
# since: everything below is a ConvNetClassifier parameter.
RECORD_NET = dict(
    num_filters=(32, 64, 128, 256),
    filter_size=3,
    pool_every=1,
    hidden_dim=(),
    normalization="batchnorm",
    augment=True,
    update_rule="adam",
    learning_rate=2e-3,
    lr_schedule="linear",
    warmup_fraction=0.2,
    label_smoothing=0.1,
    reg=5e-4,
    weight_scale="he",
    batch_size=128,
    test_flip=True,
    validation_fraction=0.0,
)

N_IMAGES = 6_400
N_CHECK = 1_000  # training images the Solver scores after each epoch,
CHECK_BATCH = 100  # in batches of this many
AUGMENT_PAD = 4  # an eighth of 32 pixels, ConvNetClassifier's shift
GOAL_THROUGHPUT = 1.0
NO_DATA = ("CIFAR-10 not found: pass its directory, or set SKDEEP_DATA to the "
           "directory holding cifar-10-batches-py.")


def load_images(args):
    """The example's standardized training rows, the first ``--n-images``."""
    X, y, *_, dataset = load_data(args.cifar_dir, args.n_images, N_CHECK)
    if dataset != "CIFAR-10":
        sys.exit(NO_DATA)
    return X, y


def run_skdeep(args):
    """The skdeep contestant: one epoch of ``fit``; a contest record."""
    X, y = load_images(args)
    clf = ConvNetClassifier(**RECORD_NET, num_epochs=1, random_state=0)
    rss_before = start_timed_work()
    start = time.perf_counter()
    clf.fit(X, y)
    return {"seconds": time.perf_counter() - start, "rss_before_mb": rss_before}


def torch_twin(torch):
    """The record net in PyTorch: ``{conv - batchnorm - relu - pool} x 4 - affine``."""
    layers, channels, side = [], 3, 32
    for filters in RECORD_NET["num_filters"]:
        layers += [torch.nn.Conv2d(channels, filters, 3, padding=1),
                   # skdeep's running averages keep 0.9 of the old value
                   torch.nn.BatchNorm2d(filters, eps=1e-5, momentum=0.1),
                   torch.nn.ReLU(), torch.nn.MaxPool2d(2)]
        channels, side = filters, side // 2
    layers += [torch.nn.Flatten(), torch.nn.Linear(channels * side * side, 10)]
    net = torch.nn.Sequential(*layers)
    weights = [m.weight for m in net if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        for w in weights:  # He: sqrt(2 / fan_in), as weight_scale='he'
            w.normal_(0.0, math.sqrt(2.0 / (w[0].numel())))
        for m in net:
            if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear)):
                m.bias.zero_()
    others = [p for p in net.parameters() if all(p is not w for w in weights)]
    return net, weights, others


def flip_and_shift(torch, x, generator):
    """Each image flipped with probability 1/2 and shifted by up to AUGMENT_PAD pixels."""
    n, c, h, w = x.shape
    flips = torch.rand(n, generator=generator) < 0.5
    x = torch.where(flips[:, None, None, None], x.flip(3), x)
    shifts = torch.randint(-AUGMENT_PAD, AUGMENT_PAD + 1, (n, 2), generator=generator)
    padded = torch.nn.functional.pad(x, (AUGMENT_PAD,) * 4)
    rows = torch.arange(h)[None, :] + AUGMENT_PAD - shifts[:, :1]
    cols = torch.arange(w)[None, :] + AUGMENT_PAD - shifts[:, 1:]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


def warmup_then_linear(steps, warmup_fraction):
    """The learning rate's factor at step ``t``, as ``lr_schedule='linear'``."""
    warmup = int(round(warmup_fraction * steps))
    return lambda t: (t + 1) / warmup if t < warmup else max(0.0, (steps - t) / (steps - warmup))


def train_twin(torch, net, weights, others, X, y):
    """One epoch of the twin, then the Solver's end-of-epoch check; the seconds taken."""
    batch = RECORD_NET["batch_size"]
    optimizer = torch.optim.Adam([{"params": weights, "weight_decay": RECORD_NET["reg"]},
                                  {"params": others, "weight_decay": 0.0}],
                                 lr=RECORD_NET["learning_rate"])
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_then_linear(
        math.ceil(len(X) / batch), RECORD_NET["warmup_fraction"]))
    generator = torch.Generator().manual_seed(0)
    start = time.perf_counter()
    net.train()
    for idx in torch.randperm(len(X), generator=generator).split(batch):
        scores = net(flip_and_shift(torch, X[idx], generator))
        loss = torch.nn.functional.cross_entropy(
            scores, y[idx], label_smoothing=RECORD_NET["label_smoothing"])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
    net.eval()
    with torch.no_grad():
        for check in X[:N_CHECK].split(CHECK_BATCH):
            scores = net(check) + (net(check.flip(3)) if RECORD_NET["test_flip"] else 0)
            scores.argmax(dim=1)
    return time.perf_counter() - start


def run_torch(args):
    """The PyTorch contestant: one epoch of the twin; a contest record."""
    import torch

    X, y = load_images(args)
    torch.manual_seed(0)
    torch.set_num_threads(os.cpu_count())
    net, weights, others = torch_twin(torch)
    # from here on, as skdeep's fit: the channels-first copy of the images counts
    rss_before = start_timed_work()
    images = torch.from_numpy(np.ascontiguousarray(
        X.reshape(len(X), 32, 32, 3).transpose(0, 3, 1, 2)))
    seconds = train_twin(torch, net, weights, others, images,
                         torch.from_numpy(y.astype(np.int64)))
    return {"seconds": seconds, "rss_before_mb": rss_before}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (or its parent)")
    parser.add_argument("--n-images", type=int, default=N_IMAGES,
                        help=f"training images, one epoch (default {N_IMAGES})")
    parser.add_argument("--skip-torch", action="store_true")
    add_contest_arguments(parser)
    args = parser.parse_args()
    if args.n_images < N_CHECK:
        parser.error(f"--n-images must be at least {N_CHECK}, got {args.n_images}.")
    run_if_contestant(args, {"skdeep": run_skdeep, "PyTorch": run_torch})

    if find_cifar10(args.cifar_dir) is None:
        sys.exit(NO_DATA)
    print(f"CIFAR-10: the record net (the VGG of wave 2's example), conv "
          f"{'-'.join(map(str, RECORD_NET['num_filters']))} with batchnorm, batch "
          f"{RECORD_NET['batch_size']}, Adam, flips and shifts; one epoch of "
          f"{args.n_images} images")
    print_contest_header(args.rounds)
    names = ["skdeep"]
    if not args.skip_torch and peer_installed("torch", "PyTorch"):
        names.append("PyTorch")
    records = contest(names, args.rounds)

    print(f"\n{'':10}{'fit time':>10}{'images/s':>10}{'peak MB':>10}{'training':>10}")
    for name, record in records.items():
        training = record.get("work_peak_mb", float("nan"))
        print(f"{name:10}{record['seconds']:9.1f}s{args.n_images / record['seconds']:10.0f}"
              f"{record['peak_rss_mb']:10.0f}{training:10.0f}")
    print("peak MB: the contestant's whole process; training: its peak while training "
          "(data and libraries resident)")
    if "PyTorch" in records:
        ours, peer = records["skdeep"], records["PyTorch"]
        print_ratio("skdeep / PyTorch throughput (images/s)", peer["seconds"],
                    ours["seconds"], GOAL_THROUGHPUT, unit="throughput")
        memory = "work_peak_mb" if "work_peak_mb" in ours else "peak_rss_mb"
        print_ratio("skdeep / PyTorch peak memory while training", ours[memory],
                    peer[memory], 1.0)
    print_contestants(records, width=10)
    print(machine_line("the end"))


if __name__ == "__main__":
    main()
