"""Timing and reports shared by the benchmark scripts (imported from their directory).

Every script that times skdeep against a peer (PyTorch, scikit-learn, the CS231n
notebooks' loop) runs it as a contest (:func:`contest`): each contestant in a fresh
process of its own, the order alternating over at least three rounds, each keeping
its best time, with the CPU, its vector extensions, the libraries' versions, every
contestant's thread counts and peak resident memory printed beside the ratio.
"""
import json
import os
import platform
import resource
import subprocess
import sys
import time
from importlib import metadata



def _contestant_in_argv():
    """The ``--contestant`` value on this process's command line, or None."""
    for option, value in zip(sys.argv, sys.argv[1:]):
        if option == "--contestant":
            return value
    return None


# A PyTorch contestant loads torch before its script imports skdeep (the scripts
# import this module first).  skdeep's kernels and torch both link "libgomp.so.1",
# and the dynamic loader hands whichever loads second the OpenMP runtime of the
# first: imported after skdeep, torch would run on the system's libgomp and on the
# worker threads skdeep's kernels started, not on its own (see bench_convnet.py).
if _contestant_in_argv() == "PyTorch":
    import torch  # noqa: F401


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
    """Fit ``clf`` once; a contest record: the seconds ``fit`` took, the test accuracy,
    and the resident memory when the fit started (``rss_before_mb``)."""
    rss_before = start_timed_work()
    start = time.perf_counter()
    clf.fit(X, y)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "accuracy": float(clf.score(X_test, y_test)),
            "rss_before_mb": rss_before}


def peer_installed(module, label):
    """Whether ``module`` can be imported (without importing it); if not, say so."""
    from importlib.util import find_spec

    if find_spec(module) is None:
        print(f"{label} is not installed: skipping it")
        return False
    return True


def print_fit_table(records, width, n_images=None):
    """Best fit time (and images per second with ``n_images``) and test accuracy of each.

    ``records`` are :func:`contest`'s, with ``seconds`` the fit time and
    ``accuracy`` the test accuracy.
    """
    rate = f"{'images/s':>10}" if n_images else ""
    print(f"\n{'':{width}}{'fit time':>10}{rate}{'test acc':>10}")
    for name, record in records.items():
        rate = f"{n_images / record['seconds']:10.0f}" if n_images else ""
        print(f"{name:{width}}{record['seconds']:9.1f}s{rate}{record['accuracy']:10.3f}")


# ---------------------------------------------------------------------------------
# Contests: skdeep against a peer, each contestant in its own fresh process.
#
# A benchmark script is both the referee and the contestants: run plainly, it starts
# itself again once per contestant and round (``--contestant NAME --json``), reads
# the record each child prints, and reports.  Nothing of one contestant (its thread
# pools, spinning BLAS threads, allocator state) can be alive while another runs,
# since each child has exited before the next starts.  See bench_convnet.py for why.

CONTEST_MARK = "@@contest "
# The vector extensions that decide which kernels PyTorch's oneDNN and OpenBLAS pick.
VECTOR_EXTENSIONS = ("sse4_2", "avx", "avx2", "fma", "avx_vnni", "avx512f", "avx512bw",
                     "avx512vl", "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile",
                     "amx_bf16", "amx_int8")
KEY_EXTENSIONS = ("avx2", "avx512f", "avx512_bf16", "amx_tile")


def cpu_line():
    """``"CPU: MODEL, N CPUs; vector extensions: ... (none of: ...)"`` from /proc/cpuinfo."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if not key.strip():  # the first CPU's block ends
                    break
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    model = fields.get("model name", platform.processor() or "unknown")
    if "cpu family" in fields:  # a hypervisor may hide the model's name, not these
        model += f" (family {fields['cpu family']}, model {fields.get('model', '?')})"
    flags = set(fields.get("flags", "").split())
    present = [x for x in VECTOR_EXTENSIONS if x in flags]
    absent = [x for x in KEY_EXTENSIONS if x not in flags]
    return (f"CPU: {model}, {os.cpu_count()} CPUs; vector extensions: "
            f"{' '.join(present) or 'unknown'}" + (f" (none of: {', '.join(absent)})"
                                                    if absent and flags else ""))


def versions_line():
    """Versions of Python and of the libraries the contestants run on."""
    names = ("numpy", "torch", "scikit-learn", "threadpoolctl", "skdeep")
    parts = [f"Python {platform.python_version()}"]
    for name in names:
        try:
            parts.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{name} absent")
    return ", ".join(parts)


def thread_counts():
    """Threads this process's libraries would run with now, by library (a child's view).

    PyTorch's intra-op threads (only if the contestant imported it), every BLAS and
    OpenMP runtime threadpoolctl sees (numpy's OpenBLAS, PyTorch's own libgomp,
    skdeep's kernels' libgomp), and the threads skdeep's kernels and its block
    products take (only if the contestant imported skdeep).
    """
    from threadpoolctl import threadpool_info

    counts = {}
    if "torch" in sys.modules:
        counts["torch"] = sys.modules["torch"].get_num_threads()
    for lib in threadpool_info():
        library = os.path.basename(lib["filepath"])
        counts[f"{lib['internal_api']} ({library})"] = lib["num_threads"]
    if "skdeep" in sys.modules:
        try:
            from skdeep.utils._threads import openmp_effective_n_threads
            counts["skdeep kernels"] = openmp_effective_n_threads()
        except ImportError:  # a private name: say so rather than fail the benchmark
            counts["skdeep kernels"] = "unknown"
    return counts


def peak_rss_mb():
    """Peak resident memory of this process in MB (Linux's ru_maxrss is in KiB): since
    it started, or since :func:`start_timed_work` where the kernel let it restart."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# The peak before start_timed_work restarted the count; None while it has not.
_peak_before_timed_work = None


def start_timed_work():
    """Call right before the timed work; the resident memory then, in MB.

    Notes the peak so far (loading the data, importing the libraries), then
    restarts the kernel's peak count (``/proc/self/clear_refs``, Linux 4.0+), so
    that the record's ``work_peak_mb`` is the peak during the timed work and its
    ``peak_rss_mb`` still the whole process's.
    """
    global _peak_before_timed_work
    peak = peak_rss_mb()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        _peak_before_timed_work = peak
    except OSError:  # not Linux, or too old: only the whole process's peak is known
        pass
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return float("nan")


def _touch_new_memory(nbytes):
    """Seconds to allocate and write ``nbytes`` of memory the process has not used."""
    import numpy as np  # not at the top: see the scripts' import order

    start = time.perf_counter()
    block = np.ones(nbytes // 8)  # writes every page
    seconds = time.perf_counter() - start
    del block
    return seconds


def prefault(nbytes):
    """Write ``nbytes`` of new memory and free it; call right before timed work that
    allocates about as much.

    On a virtual machine whose balloon driver reports free memory to the
    hypervisor (Linux's free page reporting, as on the project's 2-core machine),
    memory that has been free for a second or more is handed back to the host, and
    writing it again costs the host's backing of every page: 5 to 8 s of system
    time per GB there, against 0.1 s per GB for memory freed a moment ago
    (:func:`first_touch_line` measures both).  Which of the two a contestant's
    allocations meet depends on how long the machine's memory has been idle, so
    preprocessing timed in a fresh process took from 3 to 15 s for the same work.
    Memory freed just now is still backed: the timed work's allocations reuse it
    and cost what they cost on a machine without that reporting, the same for
    every contestant that calls this.
    """
    _touch_new_memory(nbytes)


def first_touch_line(nbytes=2**30):
    """``"first touch of 1.0 GB: A s new, B s just freed"``, measured in this process
    (see :func:`prefault`)."""
    cold = _touch_new_memory(nbytes)
    warm = _touch_new_memory(nbytes)
    return (f"first touch of {nbytes / 2**30:.1f} GB: {cold:.2f} s new to this process, "
            f"{warm:.2f} s just freed (contestants that time allocations prefault)")


def _memory_fields():
    """``peak_rss_mb`` of the whole process and, if counted apart, ``work_peak_mb``."""
    peak = peak_rss_mb()
    if _peak_before_timed_work is None:
        return {"peak_rss_mb": peak}
    return {"peak_rss_mb": max(peak, _peak_before_timed_work), "work_peak_mb": peak}


def add_contest_arguments(parser, rounds=3, flags=("--rounds",)):
    """Add the rounds option (``flags``, into ``args.rounds``), and the child's
    ``--contestant NAME`` and ``--json``, to ``parser``."""
    parser.add_argument(*flags, dest="rounds", type=int, default=rounds,
                        help=f"rounds, each contestant once per round in a fresh process, "
                             f"the order alternating; the best counts (default {rounds})")
    parser.add_argument("--contestant", default=None,
                        help="run only this contestant, once, in this process")
    parser.add_argument("--json", action="store_true",
                        help="with --contestant: print the record as JSON (for the referee)")


def run_if_contestant(args, runners):
    """In a child (``args.contestant`` set), run that contestant, print its record, exit.

    Parameters
    ----------
    args : argparse.Namespace
        The script's options, with ``contestant`` and ``json`` of
        :func:`add_contest_arguments`.
    runners : dict of callable
        ``{name: runner}``; ``runner(args)`` returns a dict whose ``"seconds"`` is a
        time or a dict of named times, anything else JSON-able besides.

    Returns
    -------
    None
        Only when ``args.contestant`` is None: the caller is the referee.
    """
    if args.contestant is None:
        return
    if args.contestant not in runners:
        sys.exit(f"--contestant must be one of {sorted(runners)}, got {args.contestant!r}.")
    record = runners[args.contestant](args)
    record.update(threads=thread_counts(), os_threads=len(os.listdir("/proc/self/task")),
                  **_memory_fields())
    if args.json:
        print(CONTEST_MARK + json.dumps(record), flush=True)
    else:
        print(json.dumps(record, indent=1))
    sys.exit(0)


def run_contestant(name, script=None, argv=None):
    """Run ``script argv --contestant name --json`` (by default this script with its own
    options) in a fresh process, to its end; the record it printed."""
    script = os.path.abspath(script or sys.argv[0])
    argv = list(sys.argv[1:] if argv is None else argv)
    command = [sys.executable, script, *argv, "--contestant", name, "--json"]
    done = subprocess.run(command, capture_output=True, text=True)
    marked = [line for line in done.stdout.splitlines() if line.startswith(CONTEST_MARK)]
    if done.returncode != 0 or not marked:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        sys.exit(f"contestant {name!r} failed (exit status {done.returncode}).")
    return json.loads(marked[-1][len(CONTEST_MARK):])


def _best(records):
    """One record of ``records`` with each time the best of all and the largest peak memory."""
    def total(r):
        s = r["seconds"]
        return sum(s.values()) if isinstance(s, dict) else s

    best = dict(min(records, key=total))
    if isinstance(best["seconds"], dict):
        best["seconds"] = {k: min(r["seconds"][k] for r in records) for k in best["seconds"]}
    else:
        best["seconds"] = min(r["seconds"] for r in records)
    for field in ("peak_rss_mb", "work_peak_mb"):
        if field in best:
            best[field] = max(r[field] for r in records)
    best["rounds"] = len(records)
    return best


def contest(names, rounds, script=None, argv=None):
    """Run each contestant ``rounds`` times, each run a fresh process; the best of each.

    Round ``r`` runs ``names`` in order when ``r`` is even and in reverse when odd
    (A B, B A, A B, ...), so that each contestant meets each stretch of the
    machine's drifting speed as often as the others.  Each child process exits
    before the next starts: no contestant's threads are alive while another runs.

    Parameters
    ----------
    names : list of str
        Contestants, names of the script's runners (see :func:`run_if_contestant`).
    rounds : int
        Rounds; each contestant keeps its best time (per named time).
    script, argv : str and list of str, default=None
        The script to start and its options; by default this script and its own.

    Returns
    -------
    dict
        ``{name: record}``: the record of the child with the best time, its times
        replaced by the best of every round's, ``peak_rss_mb`` the largest seen.
    """
    if rounds < 1:
        sys.exit(f"the number of rounds must be at least 1, got {rounds}.")
    if rounds < 3:
        print(f"only {rounds} round(s): fine while developing, not for a figure of record")
    runs = {name: [] for name in names}
    for r in range(rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            record = run_contestant(name, script, argv)
            runs[name].append(record)
            seconds = record["seconds"]
            seconds = sum(seconds.values()) if isinstance(seconds, dict) else seconds
            print(f"  round {r + 1}/{rounds}: {name} {seconds:.2f} s, load average "
                  f"{os.getloadavg()[0]:.2f}", flush=True)
    return {name: _best(records) for name, records in runs.items()}


def print_contest_header(rounds):
    """The machine, the libraries and the method, before the contest starts."""
    print(cpu_line())
    print(versions_line())
    print(f"{rounds} round(s), order alternating (A B, B A, ...), each contestant in a "
          f"fresh process of its own; best time of each; {machine_line('start')}",
          flush=True)


def print_contestants(records, width=14):
    """Each contestant's thread counts and peak resident memory."""
    print("\nthreads (as each contestant's process saw them) and resident memory:")
    for name, record in records.items():
        threads = ", ".join(f"{k} {v}" for k, v in record["threads"].items())
        timed = ""
        if "work_peak_mb" in record:
            timed = f", {record['work_peak_mb']:.0f} MB during the timed work"
        if "rss_before_mb" in record:
            timed += f" (from {record['rss_before_mb']:.0f} MB at its start)"
        print(f"  {name:{width}} peak {record['peak_rss_mb']:.0f} MB{timed}; threads: "
              f"{threads}; {record['os_threads']} threads alive at its end")


def print_ratio(label, ours, peer, goal, unit="time"):
    """``label: ours / peer = R x`` and whether it meets ``goal`` (at most, for a time)."""
    ratio = ours / peer
    met = ratio <= goal if unit == "time" else ratio >= goal
    print(f"{label}: {ratio:.2f}x ({'meets' if met else 'misses'} the goal of "
          f"{'<=' if unit == 'time' else '>='} {goal:.2f}x)")
    return met
