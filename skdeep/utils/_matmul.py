"""Matrix products that use every core and still give the same bits on any number.

OpenBLAS's results change in their last bits with its thread count, so the
training loops run BLAS on one thread (:func:`skdeep.utils._threads.blas_single_thread`).
Large products would then use one core of many.  :func:`matmul` gets the cores
back without giving up reproducibility: it cuts a large product into a few blocks
whose number and bounds depend only on the operands' shapes, computes each block
with single-threaded BLAS, and shares the blocks among threads (NumPy releases
the GIL inside BLAS).  Each block is the same computation whichever thread runs it
and however many threads there are, so the result is bit-identical for any thread
limit, while the wall time falls with the cores.  :func:`matmuls` does the same
for several independent products at once (a layer's two gradients), in one
hand-off.

The blocks are few and large: at most one per core (``_MAX_BLOCKS``, the cores
rounded down to a power of two, so that the blocks share evenly among the
threads; a constant of the machine, never the thread limit).  A block of a few
dozen rows is a poor product, and OpenBLAS loses more to it than the threads win
back.

:func:`run_blocks` hands blocks to threads.  It wakes a few long-lived helper
threads and works on the blocks itself; every thread takes the next block not yet
taken.  A hand-off is a queue put per helper and a lock released at the end,
several times cheaper than a ``ThreadPoolExecutor`` future per block.  And when
another process holds a core, a helper that is not scheduled in time takes no
block: the calling thread does them all, instead of waiting for the helper as it
would for a future (or for BLAS's own threads, which spin and wait at every
product).

The threads skdeep starts itself all live here: the helpers of
:func:`run_blocks` and :class:`HelperThread`, the one extra thread of the linear
trainer, with :class:`InlineExecutor`, which runs the same calls on the calling
thread.
"""
import contextvars
import itertools
import os
import queue
import threading

import numpy as np

from ._threads import blas_single_thread, openmp_effective_n_threads

# Products below this many multiply-adds are not worth a hand-off to the helpers.
_PARALLEL_MIN_WORK = 1 << 23
# Each block gets at least this many multiply-adds and at least _MIN_BLOCK rows
# (or columns), so that the blocks stay efficient BLAS calls.
_BLOCK_WORK = 1 << 22
_MIN_BLOCK = 32
# One block per core (a power of two, at least two): a machine's constant, never
# the thread limit, so the bits stay the same whatever the limit.
_MAX_BLOCKS = max(2, 1 << ((os.cpu_count() or 1).bit_length() - 1))

_helpers = []
_helpers_lock = threading.Lock()


def _forget_helpers_after_fork():
    global _helpers_lock
    # the helper threads do not exist in a forked child
    _helpers.clear()
    _helpers_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_helpers_after_fork)


def _block_bounds(length, work):
    """Bounds of the blocks along an axis of `length`: a function of the shapes only.

    A power of two of blocks, so that two or four threads get equal shares.
    """
    n_blocks = int(min(_MAX_BLOCKS, work // _BLOCK_WORK, length // _MIN_BLOCK))
    if n_blocks < 2:
        return None
    n_blocks = 1 << (n_blocks.bit_length() - 1)
    edges = [length * i // n_blocks for i in range(n_blocks + 1)]
    return list(zip(edges[:-1], edges[1:]))


def _product_blocks(a, b, out):
    """``(a_block, b_block, out_block)`` views whose products make ``a @ b`` in `out`.

    One block, the whole product, below ``_PARALLEL_MIN_WORK``; otherwise
    blocks of rows (or of columns, when the product is wider than tall).
    """
    m, k = a.shape
    n = b.shape[1]
    work = m * k * n
    split_rows = m >= n
    bounds = (_block_bounds(m if split_rows else n, work)
              if work >= _PARALLEL_MIN_WORK else None)
    if bounds is None:
        return [(a, b, out)]
    if split_rows:
        return [(a[lo:hi], b, out[lo:hi]) for lo, hi in bounds]
    return [(a, b[:, lo:hi], out[:, lo:hi]) for lo, hi in bounds]


def matmuls(pairs, outs=None):
    """``[a @ b for a, b in pairs]`` for 2-D arrays, all in one hand-off to the threads.

    Parameters
    ----------
    pairs : list of (ndarray of shape (M, K), ndarray of shape (K, N))
        Independent products.
    outs : list of ndarray, default=None
        Where to write each product (of shape (M, N) and the dtype of ``a @
        b``); allocated when None.

    Returns
    -------
    outs : list of ndarray of shape (M, N)
        The products, each with the bits :func:`matmul` gives it: each is cut
        into blocks by its own shapes alone, whatever it is computed beside.
    """
    if outs is None:
        outs = [np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
                for a, b in pairs]
    blocks = []
    for (a, b), out in zip(pairs, outs):
        blocks.extend(_product_blocks(a, b, out))
    work = sum(a.shape[0] * a.shape[1] * b.shape[1] for a, b, _ in blocks)
    if len(blocks) == 1 or work < _PARALLEL_MIN_WORK:
        for a, b, out in blocks:
            np.matmul(a, b, out=out)
    else:
        run_blocks(lambda lo, hi: np.matmul(*blocks[lo][:2], out=blocks[lo][2]),
                   [(i, i + 1) for i in range(len(blocks))])
    return outs


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
        thread); large ones are computed in a few blocks, each with
        single-threaded BLAS, on up to
        :func:`~skdeep.utils._threads.openmp_effective_n_threads` threads.  Under
        those loops' limit the bits depend only on the operands, not on the
        number of threads.
    """
    if out is None:
        out = np.empty((a.shape[0], b.shape[1]), dtype=np.result_type(a, b))
    blocks = _product_blocks(a, b, out)
    if len(blocks) == 1:
        return np.matmul(a, b, out=out)
    run_blocks(lambda lo, hi: np.matmul(*blocks[lo][:2], out=blocks[lo][2]),
               [(i, i + 1) for i in range(len(blocks))])
    return out


class _Blocks:
    """The blocks of one :func:`run_blocks` call, taken one at a time by any thread."""

    __slots__ = ("_function", "_bounds", "results", "errors", "_taken", "_finished",
                 "done")

    def __init__(self, function, bounds):
        self._function, self._bounds = function, bounds
        self.results = [None] * len(bounds)
        self.errors = [None] * len(bounds)
        # next() on a count is one C call, atomic under the GIL
        self._taken = itertools.count()
        self._finished = itertools.count(1)
        self.done = threading.Lock()
        self.done.acquire()

    def work(self):
        """Run blocks not yet taken, until none is left; the last one releases ``done``."""
        n = len(self._bounds)
        while (i := next(self._taken)) < n:
            try:
                self.results[i] = self._function(*self._bounds[i])
            except BaseException as exc:  # re-raised in the calling thread
                self.errors[i] = exc
            if next(self._finished) == n:
                self.done.release()


def _serve(calls):
    while True:
        blocks, context = calls.get()
        context.run(blocks.work)


def _helper_queues(n_helpers):
    """The queues of `n_helpers` long-lived helper threads, started on first use."""
    with _helpers_lock:
        while len(_helpers) < n_helpers:
            calls = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(calls,), daemon=True,
                             name=f"skdeep-blocks-{len(_helpers)}").start()
            _helpers.append(calls)
        return _helpers[:n_helpers]


def run_blocks(function, bounds):
    """``[function(lo, hi) for lo, hi in bounds]``, the blocks shared among threads.

    The calling thread and up to
    :func:`~skdeep.utils._threads.openmp_effective_n_threads` ``- 1`` helper
    threads each take the next block not yet taken, with single-threaded BLAS
    (NumPy's products and skdeep's compiled kernels release the GIL), in the
    calling thread's context (its ``np.errstate`` holds).  When the blocks write
    disjoint outputs and their bounds depend only on the shapes, the results do
    not depend on the number of threads, nor on which thread ran which block.

    Parameters
    ----------
    function : callable
        Called as ``function(lo, hi)`` once per block.
    bounds : list of (int, int)
        The blocks.

    Returns
    -------
    results : list
        The return values, in the order of `bounds`.  An exception of a block is
        raised here (the first block's, when several fail).
    """
    n_threads = min(openmp_effective_n_threads(), len(bounds))
    with blas_single_thread():
        # no blocks (an empty batch) must not wait for a last block to finish
        if n_threads <= 1:
            return [function(lo, hi) for lo, hi in bounds]
        blocks = _Blocks(function, bounds)
        for calls in _helper_queues(n_threads - 1):
            # a context can be entered by one thread at a time: one copy each
            calls.put((blocks, contextvars.copy_context()))
        blocks.work()
        with blocks.done:
            pass
    for error in blocks.errors:
        if error is not None:
            raise error
    return blocks.results


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
