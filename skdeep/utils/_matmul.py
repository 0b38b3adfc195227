"""Matrix products that use every core and still give the same bits on any number.

OpenBLAS's results change in their last bits with its thread count, so the
training loops run BLAS on one thread (:func:`skdeep.utils._threads.blas_single_thread`).
Large products would then use one core of many.  :func:`matmul` gets the cores
back without giving up reproducibility: it cuts a large product into blocks whose
number and bounds depend only on the operands' shapes, computes each block with
single-threaded BLAS, and hands the blocks to a pool of threads (NumPy releases
the GIL inside BLAS).  Each block is the same computation whichever thread runs it
and however many threads there are, so the result is bit-identical for any thread
limit, while the wall time falls with the cores.

The threads skdeep starts itself all live here: the pool of :func:`run_blocks`
and :class:`HelperThread`, the one extra thread of the linear trainer, with
:class:`InlineExecutor`, which runs the same calls on the calling thread.
"""
import contextvars
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ._threads import blas_single_thread, openmp_effective_n_threads

# Products below this many multiply-adds are not worth a hand-off to the pool.
_PARALLEL_MIN_WORK = 1 << 23
# Each block gets at least this many multiply-adds and at least _MIN_BLOCK rows
# (or columns), so that the blocks stay efficient BLAS calls.
_BLOCK_WORK = 1 << 22
_MIN_BLOCK = 32
_MAX_BLOCKS = 16

_pool = None
_pool_lock = threading.Lock()


def _executor():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                _pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1,
                                           thread_name_prefix="skdeep-matmul")
    return _pool


def _block_bounds(length, work):
    """Bounds of the blocks along an axis of `length`: a function of the shapes only."""
    n_blocks = int(min(_MAX_BLOCKS, work // _BLOCK_WORK, length // _MIN_BLOCK))
    if n_blocks < 2:
        return None
    edges = np.linspace(0, length, n_blocks + 1).astype(np.intp)
    return list(zip(edges[:-1], edges[1:]))


def matmul(a, b, out=None):
    """``a @ b`` for 2-D arrays, on every core, with results independent of the threads.

    Parameters
    ----------
    a : ndarray of shape (M, K)
    b : ndarray of shape (K, N)
    out : ndarray of shape (M, N), default=None
        Where to write the product; allocated when None.

    Returns
    -------
    out : ndarray of shape (M, N)
        The product.  Small products are one ``np.matmul`` call under the BLAS
        limits in force (the training loops and predictions hold BLAS at one
        thread); large ones are computed in blocks, each with single-threaded
        BLAS, on up to :func:`~skdeep.utils._threads.openmp_effective_n_threads`
        threads.  Under those loops' limit the bits depend only on the operands,
        not on the number of threads.
    """
    m, k = a.shape
    n = b.shape[1]
    work = m * k * n
    split_rows = m >= n
    bounds = (_block_bounds(m if split_rows else n, work)
              if work >= _PARALLEL_MIN_WORK else None)
    if bounds is None:
        return np.matmul(a, b, out=out)
    if out is None:
        out = np.empty((m, n), dtype=np.result_type(a, b))

    def block(lo, hi):
        if split_rows:
            np.matmul(a[lo:hi], b, out=out[lo:hi])
        else:
            np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])

    run_blocks(block, bounds)
    return out


def run_blocks(function, bounds):
    """``[function(lo, hi) for lo, hi in bounds]``, the blocks shared among threads.

    Each call runs with single-threaded BLAS, on up to
    :func:`~skdeep.utils._threads.openmp_effective_n_threads` threads of a pool
    (NumPy's products and skdeep's compiled kernels release the GIL).  When the
    blocks write disjoint outputs and their bounds depend only on the shapes, the
    results do not depend on the number of threads.

    Parameters
    ----------
    function : callable
        Called as ``function(lo, hi)`` once per block.
    bounds : list of (int, int)
        The blocks.

    Returns
    -------
    results : list
        The return values, in the order of `bounds`.
    """
    n_threads = openmp_effective_n_threads()
    with blas_single_thread():
        if n_threads == 1 or len(bounds) == 1:
            return [function(lo, hi) for lo, hi in bounds]
        futures = [_executor().submit(function, lo, hi) for lo, hi in bounds]
        return [future.result() for future in futures]


class InlineExecutor:
    """An executor that runs each task at once on the calling thread.

    The stand-in for :class:`HelperThread` when a second thread is not
    allowed: the same calls, in the same order, so results do not depend on
    which of the two runs them.
    """

    class _Done:
        def __init__(self, value):
            self._value = value

        def result(self):
            return self._value

    def submit(self, fn, *args, **kwargs):
        """Run ``fn(*args, **kwargs)`` now; its result, as a done future."""
        return self._Done(fn(*args, **kwargs))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class _Call:
    """A call handed to :class:`HelperThread`; ``result()`` waits for it."""

    __slots__ = ("_fn", "_args", "_kwargs", "_done", "_value", "_error")

    def __init__(self, fn, args, kwargs):
        self._fn, self._args, self._kwargs = fn, args, kwargs
        self._value = self._error = None
        self._done = threading.Lock()
        self._done.acquire()

    def run(self):
        try:
            self._value = self._fn(*self._args, **self._kwargs)
        except BaseException as exc:  # re-raised in the thread that waits
            self._error = exc
        finally:
            self._done.release()

    def result(self):
        with self._done:
            pass
        if self._error is not None:
            raise self._error
        return self._value


class HelperThread:
    """One more thread that runs the calls submitted to it, in order.

    The part of ``concurrent.futures.Executor`` the linear trainer uses
    (``submit``, ``result`` and the context manager, which waits for the calls
    left), with each hand-off a queue put and a lock release.  A step hands
    over two calls and waits for both; ``ThreadPoolExecutor``'s futures,
    condition variables and work-item bookkeeping cost several times as much
    per hand-off, which shows on steps as short as the linear classifiers'.
    The calls run under the context of the thread that created it, so its
    ``np.errstate`` holds there too.
    """

    def __init__(self):
        self._calls = queue.SimpleQueue()
        context = contextvars.copy_context()
        self._thread = threading.Thread(target=context.run, args=(self._serve,),
                                        daemon=True, name="skdeep-sgd-helper")
        self._thread.start()

    def _serve(self):
        while (call := self._calls.get()) is not None:
            call.run()

    def submit(self, fn, *args, **kwargs):
        """Queue ``fn(*args, **kwargs)``; an object whose ``result()`` waits for it."""
        call = _Call(fn, args, kwargs)
        self._calls.put(call)
        return call

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._calls.put(None)
        self._thread.join()
        return False
