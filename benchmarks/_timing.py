"""Timing shared by the benchmark scripts (imported from their own directory)."""
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
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result
