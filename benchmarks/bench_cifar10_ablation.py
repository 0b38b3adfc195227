"""Leave-one-out ablation of the ``cifar10-fast`` recipe: test accuracy of each change.

Each row is ``ConvNetClassifier.from_recipe("cifar10-fast", num_epochs=EPOCHS,
random_state=SEED, **row)`` fitted on the first ``--n-train`` images of the CIFAR-10
training set (the standardized rows of ``examples/plot_cifar10_convnet.py``) and scored
on the test images without views, with the flip, and with the flip and shift views
(the same fit, ``test_time_views`` set after it).  One JSON line per row is printed
and, with ``--out``, appended to a file, so that a long ablation can be resumed row by
row.  docs/neural_network.md's tables were made with ``--n-train 10000 --epochs 8
--seed 0``: at the recipe of ``eceffa1``, and again at the current preset (its first
ablation at ``--base learning_rate=0.1``, the recipe of the time with 24 whitening
channels).

    python benchmarks/bench_cifar10_ablation.py [CIFAR_DIR] [--n-train 10000]
        [--epochs 8] [--seed 0] [--base NAME=VALUE ...] [--out rows.jsonl]
        [--rows ROW ...]

Accuracy only: the fit time printed with each row is the machine's, loaded or not.
Without ``--rows`` every row runs (about 2.5 minutes each on two quiet cores).
"""
import argparse
import ast
import json
import os
import sys
import time

import numpy as np

from skdeep import ConvNetClassifier

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from plot_cifar10_convnet import load_data  # noqa: E402

# Each row: what it changes from the recipe.
ROWS = {
    "recipe": {},
    "no-whitening": dict(whitening=False),
    "no-dirac": dict(dirac_init=False),
    "scale-trained": dict(freeze_norm_scale=False),
    "shift-lr-1": dict(norm_shift_lr_scale=1.0),
    "shift-lr-64": dict(norm_shift_lr_scale=64.0),
    "bn-momentum-0.9": dict(bn_momentum=0.9),
    "norm-before-pool": dict(pool_before_norm=False),
    "smoothing-0": dict(label_smoothing=0.0),
    "smoothing-0.1": dict(label_smoothing=0.1),
    "random-flip": dict(augment_flip="random"),
    "zero-pad-4": dict(augment_pad=4, augment_border="zeros"),
    "no-augment": dict(augment=False),
    "lookahead": dict(weight_averaging="lookahead"),
    "ema-0.99": dict(weight_averaging=0.99),
    "gelu": dict(activation="gelu"),
    "adam": dict(update_rule="adam", nesterov=False, learning_rate=2e-3,
                 norm_shift_lr_scale=1.0),
    "batch-128": dict(batch_size=128, learning_rate=0.05),
    "lr-0.05": dict(learning_rate=0.05),
    "lr-0.1": dict(learning_rate=0.1),
    "lr-0.2": dict(learning_rate=0.2),
    "lr-0.3": dict(learning_rate=0.3),
    "lr-0.4": dict(learning_rate=0.4),
    "reg-1e-3": dict(reg=1e-3),
    "widths-48-96-96": dict(num_filters=(48, 48, 96, 96, 96, 96)),
}
VIEWS = (None, "flip", "flip+shift")


def parse_base(items):
    """``NAME=VALUE`` pairs (VALUE a Python literal) as a dict of parameters."""
    base = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--base takes NAME=VALUE, got {item!r}")
        base[name] = ast.literal_eval(value)
    return base


def run_row(name, base, args, data):
    """Fit the row once; its record: the accuracies under each view and the fit time."""
    X, y, X_test, y_test = data
    clf = ConvNetClassifier.from_recipe("cifar10-fast", num_epochs=args.epochs,
                                        random_state=args.seed, **{**base, **ROWS[name]})
    start = time.perf_counter()
    clf.fit(X, y)
    record = dict(name=name, params=ROWS[name], base=base, n_train=len(X),
                  epochs=args.epochs, seed=args.seed,
                  fit_s=round(time.perf_counter() - start, 1), load=os.getloadavg()[0])
    for views in VIEWS:
        clf.set_params(test_time_views=views)
        record[str(views)] = float(np.mean(clf.predict(X_test) == y_test))
    return record


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cifar_dir", nargs="?", default=None)
    parser.add_argument("--rows", nargs="+", default=None,
                        help=f"rows to run (default all): {', '.join(ROWS)}")
    parser.add_argument("--n-train", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--base", nargs="*", default=[], help="NAME=VALUE recipe overrides")
    parser.add_argument("--out", default=None, help="JSON lines file to append to")
    args = parser.parse_args()
    unknown = [r for r in args.rows or () if r not in ROWS]
    if unknown:
        parser.error(f"unknown rows {unknown}; the rows are {list(ROWS)}")
    base = parse_base(args.base)
    X, y, X_test, y_test, *_, dataset = load_data(args.cifar_dir, args.n_train, None)
    if dataset != "CIFAR-10":
        sys.exit("CIFAR-10 not found: pass its directory, or set SKDEEP_DATA.")
    for name in args.rows or ROWS:
        record = run_row(name, base, args, (X, y, X_test, y_test))
        print(json.dumps(record), flush=True)
        if args.out:
            with open(args.out, "a") as f:
                f.write(json.dumps(record) + "\n")


if __name__ == "__main__":
    main()
