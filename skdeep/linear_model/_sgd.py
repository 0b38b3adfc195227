"""Minibatch SGD of the linear classifiers (private).

Each step costs two products of the batch (``batch_size x D``) with a ``D x C``
matrix, ``C`` small, plus gathering the batch rows; everything else is tiny.  Those
three are split into a few fixed row chunks run on threads of our own, while BLAS
itself is kept to one thread:

- OpenBLAS threads busy-wait for work.  On an idle two-core machine they made the
  seeds' steps about 1.4 times faster, but with one core busy elsewhere 3 to 20
  times slower.  Our threads block instead of spinning, so a busy machine costs
  them a share of the cores, not a collapse.
- The chunks depend on the problem size only, never on the number of threads, so
  results are the same on every machine; ``np.take`` and BLAS release the GIL.
- The batch rows are gathered by the thread that will use them, right after the
  backward product of the previous step, into one preallocated buffer.
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from threadpoolctl import threadpool_info, threadpool_limits

from ..exceptions import check_finite_loss
from ._losses import add_penalty_gradient, penalized_score_loss

# Below these sizes a chunk is not worth handing to a thread.
_MIN_CHUNK_ROWS = 64
_MIN_CHUNK_VALUES = 1 << 15
_MAX_CHUNKS = 4


def row_chunks(batch_size, n_features):
    """Split the batch rows into 1, 2 or 4 near-equal slices, by problem size only."""
    n_chunks = 1
    while n_chunks * 2 <= _MAX_CHUNKS:
        rows = batch_size // (n_chunks * 2)
        if rows < _MIN_CHUNK_ROWS or rows * n_features < _MIN_CHUNK_VALUES:
            break
        n_chunks *= 2
    bounds = [batch_size * k // n_chunks for k in range(n_chunks + 1)]
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


def available_threads():
    """Threads BLAS is allowed now (environment, threadpoolctl, joblib workers)."""
    counts = [info["num_threads"] for info in threadpool_info()
              if info["user_api"] == "blas"]
    return max(1, min(counts)) if counts else max(1, os.cpu_count() or 1)


def _ignore_overflow():
    # a diverging run overflows in the products; fit raises DivergenceError instead
    np.seterr(over="ignore", invalid="ignore")


class _ChunkRunner:
    """Run ``fn(k, *args)`` for every chunk ``k``, on ``n_threads`` threads."""

    def __init__(self, n_chunks, n_threads):
        self.n_chunks = n_chunks
        self.n_threads = max(1, min(n_threads, n_chunks))
        self._pool = None
        if self.n_threads > 1:
            self._pool = ThreadPoolExecutor(self.n_threads - 1,
                                            initializer=_ignore_overflow)

    def map(self, fn, *args):
        if self._pool is None:
            for k in range(self.n_chunks):
                fn(k, *args)
            return
        futures = [self._pool.submit(fn, k, *args)
                   for k in range(self.n_chunks) if k % self.n_threads]
        try:
            for k in range(0, self.n_chunks, self.n_threads):
                fn(k, *args)
        finally:
            # never leave a chunk writing into the buffers after we move on
            for future in futures:
                future.result()

    def close(self):
        if self._pool is not None:
            self._pool.shutdown()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()


def sgd(score_loss, X, y, W, b, *, learning_rate, reg, num_iters, batch_size,
        rng, verbose=0, learning_rate_param=None):
    """Train ``W`` and ``b`` in place by minibatch SGD; return the loss history.

    The seeds' loop: at each step draw ``batch_size`` indices with replacement
    (``rng.randint``, what ``np.random.choice`` draws), compute the loss of the
    scores ``X[idx] @ W + b`` with the L2 penalty on ``W`` and ``b``, check it is
    finite, step both by ``-learning_rate`` times their gradient.

    Parameters
    ----------
    score_loss : callable
        ``(scores, y) -> (mean data loss, dscores)``.
    X : ndarray of shape (n_samples, D), C-contiguous
    y : ndarray of shape (n_samples,) of int
        Class indices.
    W : ndarray of shape (D, C), dtype of X
    b : ndarray of shape (C,), dtype of X
    learning_rate, reg : float
    num_iters, batch_size : int
    rng : numpy.random.RandomState
    verbose : int
        Print the loss every 100 iterations when nonzero.
    learning_rate_param : object, optional
        The learning rate as the user gave it, for the divergence message.

    Returns
    -------
    loss_history : ndarray of shape (num_iters,)
    """
    if learning_rate_param is None:
        learning_rate_param = learning_rate
    n_samples, n_features = X.shape
    chunks = row_chunks(batch_size, n_features)
    X_batch = np.empty((batch_size, n_features), dtype=X.dtype)
    y_batch = np.empty(batch_size, dtype=y.dtype)
    scores = np.empty((batch_size, W.shape[1]), dtype=X.dtype)
    dW_parts = np.empty((len(chunks),) + W.shape, dtype=X.dtype)
    loss_history = np.empty(num_iters)

    def gather(k, batch_idx):
        rows = chunks[k]
        # mode="clip": the default "raise" copies through a temporary buffer;
        # the indices are in range by construction.
        np.take(X, batch_idx[rows], axis=0, out=X_batch[rows], mode="clip")
        np.take(y, batch_idx[rows], out=y_batch[rows], mode="clip")

    def forward(k):
        rows = chunks[k]
        np.matmul(X_batch[rows], W, out=scores[rows])

    def backward_then_gather(k, dscores, next_idx):
        rows = chunks[k]
        np.matmul(X_batch[rows].T, dscores[rows], out=dW_parts[k])
        if next_idx is not None:
            gather(k, next_idx)

    n_threads = available_threads()
    with threadpool_limits(limits=1, user_api="blas"), \
            _ChunkRunner(len(chunks), n_threads) as runner, \
            np.errstate(over="ignore", invalid="ignore"):
        runner.map(gather, rng.randint(n_samples, size=batch_size))
        for it in range(num_iters):
            runner.map(forward)
            scores += b
            loss, dscores = penalized_score_loss(score_loss, scores, y_batch, reg,
                                                 (W, b))
            check_finite_loss(loss, learning_rate_param, it)
            loss_history[it] = loss
            if verbose and it % 100 == 0:
                print("iteration %d / %d: loss %f" % (it, num_iters, loss))
            next_idx = (rng.randint(n_samples, size=batch_size)
                        if it + 1 < num_iters else None)
            runner.map(backward_then_gather, dscores, next_idx)
            dW = dW_parts[0]
            for part in dW_parts[1:]:
                dW += part
            add_penalty_gradient(dW, W, reg)
            db = add_penalty_gradient(dscores.sum(axis=0), b, reg)
            dW *= learning_rate
            W -= dW
            db *= learning_rate
            b -= db
    return loss_history
