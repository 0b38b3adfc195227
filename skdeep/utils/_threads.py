"""Threads of skdeep's compiled kernels and BLAS products: one place, one convention.

OpenMP kernels follow scikit-learn's convention for compiled parallel code (its
KMeans and HistGradientBoosting, through ``sklearn.utils._openmp_helpers``): they
use every core by default and obey ``OMP_NUM_THREADS`` and
``threadpoolctl.threadpool_limits``.  Inside joblib's process workers joblib
itself lowers the OpenMP and BLAS limits to ``cores // n_jobs``; inside joblib's
*thread* workers (and dask's, which nanny processes already limit to one) the
kernels run on one thread, because the workers already occupy the cores.  So
workers x threads never exceeds the cores.  In a process forked from one that
loaded them (joblib's ``"multiprocessing"`` backend on Linux) the kernels run on
one thread too: GNU OpenMP's thread pool does not survive ``fork``, and a
parallel region in the child would wait forever for the parent's threads.

BLAS is another matter: OpenBLAS's products change in their last bits with its
number of threads (its single-threaded small-matrix path and its partitioning
differ), and its idle threads busy-wait, which on a machine where another
process holds a core turns many small products into many scheduler waits.  The
training loops and the predictions of the linear and network estimators
therefore run their products on one BLAS thread (:func:`blas_single_thread`):
results are bit-identical whatever the thread limits, and a busy core costs no
more than its share.  The networks get the cores back through
:func:`skdeep.utils._matmul.matmul` and :func:`~skdeep.utils._matmul.run_blocks`:
a large product in a few blocks fixed by the shapes, shared between the calling
thread and helper threads that block rather than spin.  On idle cores that is
about as fast as OpenBLAS's own threads (the blocks are nearly as efficient as
the whole product), so the bit-identity across thread counts costs little; with
other processes on the cores, two OpenBLAS threads made the networks' largest
products two to four times slower than one thread.
"""
import functools
import os
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_libraries = None
# Whether this process is a fork of one where the kernels' OpenMP runtime may
# have started its threads (see the module docstring).
_forked = False


def _after_fork_in_child():
    global _forked, _lock
    _forked = True
    # the parent's lock may have been held by one of its other threads
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


def _thread_pools():
    """``{"openmp": [...], "blas": [...]}``: threadpoolctl's controllers of the runtimes.

    Found once, after the kernels' OpenMP runtime is loaded: building a
    ``ThreadpoolController`` scans every loaded library, while the controllers
    it holds read and set the limits live, for a few microseconds.
    """
    global _libraries
    if _libraries is None:
        with _lock:
            if _libraries is None:
                from threadpoolctl import ThreadpoolController

                from .._kernels import _distances  # noqa: F401  loads the OpenMP runtime

                controller = ThreadpoolController()
                _libraries = {api: controller.select(user_api=api).lib_controllers
                              for api in ("openmp", "blas")}
    return _libraries


@contextmanager
def _limit(libraries, n_threads):
    """Set each library's limit to n_threads; restore the previous ones on exit."""
    previous = [lib.num_threads for lib in libraries]
    changed = [(lib, before) for lib, before in zip(libraries, previous)
               if before != n_threads]
    for lib, _ in changed:
        lib.set_num_threads(n_threads)
    try:
        yield
    finally:
        for lib, before in changed:
            lib.set_num_threads(before)


def _max_threads(api):
    """The lowest live limit of the ``api`` runtimes in this thread; the cores without one."""
    libraries = _thread_pools()[api]
    if not libraries:
        return os.cpu_count() or 1
    return max(1, min(lib.num_threads for lib in libraries))


def _openmp_max_threads():
    """``omp_get_max_threads()`` of the kernels' runtime in this thread; the cores without one."""
    return _max_threads("openmp")


def blas_max_threads():
    """The BLAS libraries' current thread limit (the lowest); the cores without one."""
    return _max_threads("blas")


def _in_joblib_thread_worker():
    """Whether this is a worker thread of a running joblib parallel call."""
    if threading.current_thread() is threading.main_thread():
        return False
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    return getattr(backend, "nesting_level", 0) > 0


def openmp_effective_n_threads(n_threads=None):
    """Number of OpenMP threads a compiled kernel called from this thread should use.

    Parameters
    ----------
    n_threads : int, default=None
        None means the OpenMP limit of this thread: every core, unless
        ``OMP_NUM_THREADS``, ``threadpoolctl.threadpool_limits`` or joblib lowers
        it, and one inside a joblib worker thread.  A negative value counts back
        from that limit as in scikit-learn (-1 is the limit, -2 one fewer).  A
        positive value is used as it is.  Whatever the value, a process forked
        from one that loaded the kernels gets one thread.

    Returns
    -------
    n_threads : int
        At least 1.

    Raises
    ------
    ValueError
        If ``n_threads`` is 0 or not an integer.
    """
    import numbers

    if n_threads is not None and (not isinstance(n_threads, numbers.Integral)
                                  or isinstance(n_threads, bool) or n_threads == 0):
        raise ValueError(f"n_threads must be None or a non-zero integer, got {n_threads!r}.")
    if _forked:
        return 1
    if n_threads is not None and n_threads > 0:
        return int(n_threads)
    limit = 1 if _in_joblib_thread_worker() else _openmp_max_threads()
    if n_threads is None:
        return limit
    return max(1, limit + int(n_threads) + 1)


def kernel_threads(n_threads=None):
    """Context in which the OpenMP kernels called from this thread use ``n_threads``.

    Every kernel wrapper calls its kernels inside it.  OpenMP's thread count is
    per calling thread, so this changes nothing for other threads.

    Parameters
    ----------
    n_threads : int, default=None
        As in :func:`openmp_effective_n_threads`.

    Returns
    -------
    context : context manager
        Restores the previous limit on exit.
    """
    return _limit(_thread_pools()["openmp"], openmp_effective_n_threads(n_threads))


def _run_within(context, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        with context():
            return function(*args, **kwargs)
    return wrapper


def with_kernel_threads(function):
    """Decorator: `function` runs in ``kernel_threads()``, for wrappers with no ``n_jobs``."""
    return _run_within(kernel_threads, function)


def blas_single_thread():
    """Context in which BLAS products run on one thread.

    For products whose results must not depend on the thread limits (training
    and prediction of the linear and network estimators): OpenBLAS's results
    change in the last bits with its number of threads.

    Returns
    -------
    context : context manager
        Restores the previous BLAS limits on exit.
    """
    return _limit(_thread_pools()["blas"], 1)


def with_blas_single_thread(function):
    """Decorator: `function` runs in ``blas_single_thread()``."""
    return _run_within(blas_single_thread, function)
