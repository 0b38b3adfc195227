"""skdeep's parallel work, quiet and beside a process that keeps one core busy.

    python benchmarks/bench_parallel.py [CIFAR_DIR] [--n-cifar 5000] [--repeat 1]
                                        [--only digits|cifar|main]

Timed, each with ``n_jobs=1`` and ``n_jobs=2``, first on a quiet machine and then
while a busy-loop subprocess holds one core:

* the main job, ``skdeep ladder --n-jobs N`` (every model tuned on the digits);
* ``GridSearchCV`` over the MLP, the linear SVM, the softmax classifier and kNN,
  on scikit-learn's digits and on ``--n-cifar`` CIFAR-10 training images (the
  CIFAR rows are skipped when the data set is absent).

Before the timings a trivial ``n_jobs=2`` call starts joblib's worker processes
and imports skdeep in them: joblib keeps them for the next calls, so what is
timed is the search, not the start-up, which the script prints on its own.

Goals: ``n_jobs=2`` is never slower than ``n_jobs=1`` (ratio at most 1.0), and
with one core busy nothing takes more than 2.5x its quiet time.  On a machine
that other work also uses, the ratios are noisy; run it on a quiet one.
"""
import argparse
import contextlib
import io
import os
import subprocess
import sys
import time

import numpy as np
from joblib import Parallel, delayed
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skdeep import (KNNClassifier, LinearSVMClassifier, MLPClassifier, SoftmaxClassifier,
                    show_config)
from skdeep.datasets import find_cifar10, load_cifar10

from _timing import best_time  # benchmarks/, the script's own directory

GOAL_JOBS_RATIO = 1.0
GOAL_BUSY_RATIO = 2.5


def _searches(dataset):
    """(name, estimator, grid, cv folds) of the grid searches on one data set."""
    cifar = dataset == "CIFAR"
    linear = {"learning_rate": [1e-7, 1e-6] if cifar else [1e-3, 1e-2],
              "reg": [1e-5, 1e-2]}
    # CIFAR's raw pixels go to the linear models unscaled, as in the CS231n
    # notebooks; the digits' are standardized, as the main job does
    scale = [] if cifar else [StandardScaler()]
    return [
        ("MLP", make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(100,), num_epochs=5 if cifar else 20, random_state=0)),
         {"mlpclassifier__dropout_keep_ratio": [1.0, 0.5]}, 2),
        *[(name, make_pipeline(*scale, cls(num_iters=500, random_state=0)),
           {f"{cls.__name__.lower()}__{key}": values for key, values in linear.items()}, 2)
          for name, cls in [("linear SVM", LinearSVMClassifier),
                            ("softmax", SoftmaxClassifier)]],
        ("kNN", KNNClassifier(), {"n_neighbors": [1, 5], "metric": ["l2", "l1"]}, 2),
    ]


def _tasks(only, cifar_dir, n_cifar):
    """(name, run(n_jobs)) of everything timed."""
    tasks = []
    if only in (None, "main"):
        from skdeep._cli import main as skdeep_command

        def main_job(n_jobs):
            status = skdeep_command(["ladder", "--n-jobs", str(n_jobs), "--no-progress"],
                                    out=io.StringIO())
            if status:
                raise RuntimeError(f"skdeep ladder exited with status {status}")
        tasks.append(("main job (skdeep ladder, digits)", main_job))

    datasets = []
    if only in (None, "digits"):
        datasets.append(("digits", *load_digits(return_X_y=True)))
    if only in (None, "cifar"):
        path = find_cifar10(cifar_dir)
        if path is None:
            print("CIFAR-10 not found (pass its directory or set SKDEEP_DATA): "
                  "its rows are skipped\n")
        else:
            X, y, _, _ = load_cifar10(path)
            datasets.append(("CIFAR", X[:n_cifar].reshape(min(n_cifar, len(X)), -1),
                             y[:n_cifar]))
    for dataset, X, y in datasets:
        for name, estimator, grid, folds in _searches(dataset):
            cv = StratifiedKFold(folds, shuffle=True, random_state=0)

            def search(n_jobs, estimator=estimator, grid=grid, cv=cv, X=X, y=y):
                return GridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs).fit(X, y)
            label = f"{dataset} ({len(X)}) {name} grid"
            tasks.append((label, search))
    return tasks


def _import_skdeep():
    """Import skdeep in a worker and pay each estimator's first-use costs there.

    A first fit loads lazily imported modules and builds the thread controller;
    those one-off costs belong to the start-up, not to the first timed search.
    """
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((40, 16)), np.arange(40) % 2
    for estimator in (KNNClassifier(), LinearSVMClassifier(num_iters=2),
                      SoftmaxClassifier(num_iters=2), MLPClassifier(num_epochs=1)):
        estimator.fit(X, y).score(X, y)
    return os.getpid()


def _start_workers():
    start = time.perf_counter()
    Parallel(n_jobs=2)(delayed(_import_skdeep)() for _ in range(4))
    return time.perf_counter() - start


@contextlib.contextmanager
def _busy_core():
    """A subprocess spinning on one core for the duration."""
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)  # let it get scheduled before anything is timed
        yield
    finally:
        spinner.kill()
        spinner.wait()


def _time_all(tasks, repeat):
    times = {}
    for name, task in tasks:
        for n_jobs in (1, 2):
            seconds, _ = best_time(lambda: task(n_jobs), repeat)
            times[name, n_jobs] = seconds
            print(f"  {name:<34} n_jobs={n_jobs}: {seconds:7.2f} s", flush=True)
    return times


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (default: find it in $SKDEEP_DATA)")
    parser.add_argument("--n-cifar", type=int, default=5000,
                        help="CIFAR-10 training images searched over (default: 5000)")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs, best kept")
    parser.add_argument("--only", choices=["digits", "cifar", "main"], default=None,
                        help="time only these rows")
    args = parser.parse_args(argv)
    show_config()
    print(f"\n{os.cpu_count()} CPUs; best of {args.repeat} run(s) per time\n")
    tasks = _tasks(args.only, args.cifar_dir, args.n_cifar)
    print(f"joblib workers started and every estimator fitted once in them: {_start_workers():.2f} s "
          f"(once per session, not in the times below)\n")

    print("quiet:")
    quiet = _time_all(tasks, args.repeat)
    print("\none core kept busy by another process:")
    with _busy_core():
        _start_workers()
        busy = _time_all(tasks, args.repeat)

    header = (f"\n{'':<34}{'quiet':>20}{'one core busy':>20}{'n_jobs=2/1':>14}"
              f"{'busy/quiet':>12}\n{'':<34}{'n_jobs=1':>10}{'n_jobs=2':>10}"
              f"{'n_jobs=1':>10}{'n_jobs=2':>10}{'worst':>14}{'worst':>12}")
    print(header)
    worst_jobs, worst_busy = (0.0, ""), (0.0, "")
    for name, _ in tasks:
        q1, q2, b1, b2 = (quiet[name, 1], quiet[name, 2], busy[name, 1], busy[name, 2])
        jobs_ratio = max(q2 / q1, b2 / b1)
        busy_ratio = max(b1 / q1, b2 / q2)
        worst_jobs = max(worst_jobs, (jobs_ratio, name))
        worst_busy = max(worst_busy, (busy_ratio, name))
        print(f"{name:<34}{q1:>9.2f}s{q2:>9.2f}s{b1:>9.2f}s{b2:>9.2f}s"
              f"{jobs_ratio:>14.2f}{busy_ratio:>12.2f}")
    print()
    for what, (ratio, name), goal in [
            ("n_jobs=2 / n_jobs=1", worst_jobs, GOAL_JOBS_RATIO),
            ("one core busy / quiet", worst_busy, GOAL_BUSY_RATIO)]:
        verdict = "met" if ratio <= goal else "NOT met"
        print(f"goal {what} <= {goal}: {verdict} (worst {ratio:.2f}, {name})")


if __name__ == "__main__":
    main()
