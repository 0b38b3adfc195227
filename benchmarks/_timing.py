"""Timing and reports shared by the benchmark scripts (imported from their directory)."""
import os
import time


def best_time(fn, repeat):
    """Run ``fn()`` ``repeat`` times; return the shortest time and the last result.

    Parameters
    ----------
    fn : callable
        What to time, called without arguments.
    repeat : int
        Number of runs; the best counts, since on a shared machine the others are
        slowed by whatever else runs.

    Returns
    -------
    seconds : float
    result : object
        What the last call returned.
    """
    return best_times_interleaved({"": fn}, repeat)[""]


def best_times_interleaved(fns, repeat):
    """Run every function of ``fns`` once per round, ``repeat`` rounds; best time of each.

    Interleaving gives each function a run in each stretch of the machine's
    varying speed, so that ratios between them compare like with like; timing one
    function ``repeat`` times and then the next compares different minutes.

    Parameters
    ----------
    fns : dict of callable
        What to time, by name, each called without arguments.
    repeat : int
        Number of rounds.

    Returns
    -------
    dict
        ``{name: (shortest seconds, what the last call returned)}``.
    """
    times = {name: [] for name in fns}
    results = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            results[name] = fn()
            times[name].append(time.perf_counter() - start)
    return {name: (min(times[name]), results[name]) for name in fns}


def machine_line(when):
    """``"N CPUs, load average L at WHEN"``: how busy the machine was, for the record."""
    return f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at {when}"


def verdict(value, goal):
    """``"meets"`` when ``value`` is at most ``goal`` (a time ratio), else ``"misses"``."""
    return "meets" if value <= goal else "misses"


def train_torch(net, weights, biases, X, y, *, learning_rate, reg, batch_size, epochs,
                lr_decay=1.0):
    """Train a PyTorch twin the way skdeep's Solver trains: Adam, L2 on the weights only
    (the gradient of skdeep's ``0.5 * reg * ||W||**2``), a fresh order each epoch, the
    learning rate times ``lr_decay`` after each epoch.  Returns the seconds taken."""
    import torch

    optimizer = torch.optim.Adam([{"params": weights, "weight_decay": reg},
                                  {"params": biases, "weight_decay": 0.0}],
                                 lr=learning_rate)
    scheduler = torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma=lr_decay)
    generator = torch.Generator().manual_seed(0)
    n = len(X)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            loss = torch.nn.functional.cross_entropy(net(X[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
    return time.perf_counter() - start


def timed_fit(clf, X, y, X_test, y_test):
    """Fit ``clf`` once; return the seconds ``fit`` took and the test accuracy."""
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    return seconds, clf.score(X_test, y_test)


class FitReport:
    """Fit times and test accuracies of named trainers, printed as they arrive.

    ``record`` prints one line per trainer; ``table`` prints them all at the end,
    ``ratio`` one trainer's time over a peer's against a goal.
    """

    def __init__(self):
        self.results = {}

    def record(self, name, result):
        """Keep ``result``, ``(seconds, test accuracy)``, under ``name`` and print it."""
        self.results[name] = result
        print(f"  {name}: fit {result[0]:.1f}s, test acc {result[1]:.3f}", flush=True)

    def record_torch(self, run_torch, *args, threads=None):
        """Record ``run_torch(*args)`` as "PyTorch", or say why not when it is absent."""
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: skipping its twin")
            return
        threads = torch.get_num_threads() if threads is None else threads
        print(f"PyTorch {torch.__version__}, {threads} threads")
        self.record("PyTorch", run_torch(*args))

    def table(self, width, n_images=None):
        """All results, names ``width`` wide; with ``n_images``, images per second too."""
        rate = f"{'images/s':>10}" if n_images else ""
        print(f"\n{'':{width}}{'fit time':>10}{rate}{'test acc':>10}")
        for name, (seconds, acc) in self.results.items():
            rate = f"{n_images / seconds:10.0f}" if n_images else ""
            print(f"{name:{width}}{seconds:9.1f}s{rate}{acc:10.3f}")

    def ratio(self, ours, peer, goal):
        """Print ``ours``' fit time over ``peer``'s and whether it meets ``goal``."""
        ratio = self.results[ours][0] / self.results[peer][0]
        print(f"{ours} / {peer} fit time: {ratio:.2f}x ({verdict(ratio, goal)} the "
              f"goal of {goal:.2f}x)")
