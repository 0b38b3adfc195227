"""The training loop of the linear classifiers: minibatch SGD with replacement.

The estimators validate and hand over; :func:`train_linear_sgd` holds the loop,
as scikit-learn's ``SGDClassifier.fit`` hands its loop to ``_plain_sgd``.  The math
of one step is :func:`skdeep.linear_model._losses.linear_loss` (the data loss and
its gradients) and the update is :func:`skdeep.nn.optim.sgd`'s fused kernel, in
place, which adds the L2 penalty's gradient and sums the squares of the weights
it reads in the same pass (as the networks' Solver does).
"""
import numpy as np

from .._kernels import _gather as _gather_kernel
from ..exceptions import DivergenceError
from ..nn.optim import _sgd_flat
from ..utils._divergence import DivergenceMonitor, _diverged
from ..utils._matmul import HelperThread, InlineExecutor
from ..utils._row_groups import are_whole_numbers, row_groups
from ..utils._threads import (
    blas_max_threads,
    blas_single_thread,
    kernel_threads,
    openmp_effective_n_threads,
)
from ._losses import linear_loss

# Row indices drawn per call of the random generator: many steps' worth, in a
# block of a few hundred kilobytes.
_ROWS_PER_DRAW = 2**15

# Iterations per fit task of scikit-learn's callbacks: 100 (the verbose
# period), or a hundredth of num_iters when that is more, so that a fit has at
# most 100 tasks and a ScoringMonitor scores it at most 100 times.
_TASK_ITERS = 100
_MAX_TASKS = 100

# Below this many batch values per step (batch_size x n_features) the helper
# thread's two hand-offs per step cost about what the gather and the half
# gradient it takes over save, so the helper only pays on larger batches.
_HELPER_MIN_BATCH_VALUES = 2**17


def _second_thread_allowed():
    """Whether fit may keep a second core busy.

    Follows skdeep's thread convention (:mod:`skdeep.utils._threads`) and the
    BLAS limit: inside ``GridSearchCV(n_jobs=...)`` workers, or under
    ``threadpoolctl.threadpool_limits(1)``, fit stays on one thread.
    """
    return openmp_effective_n_threads() >= 2 and blas_max_threads() >= 2


class _RowDraws:
    """Batch indices drawn with replacement, in proportion to the sample weights.

    Distinct unweighted rows: ``rng.randint(n_samples, size)``, the draws of
    the CS231n notebooks' ``np.random.choice(n_samples, size)``.  Otherwise the
    rows are merged into distinct (row, label) pairs of summed weight, in a
    canonical order (see :func:`skdeep.utils._row_groups.row_groups`), and
    each draw picks a pair with probability proportional to its weight: with
    integer weights,
    ``rng.randint(total weight)`` mapped through the cumulative weights, so
    that weighting a row by ``w`` and repeating it ``w`` times draw exactly
    the same batches, in any row order; with other weights, a uniform draw
    over ``[0, total)`` mapped the same way.  Rows of weight zero are never
    drawn.
    """

    def __init__(self, rng, X, y, sample_weight):
        self._rng = rng
        self._n_samples = len(X)
        self._rows = None
        groups = row_groups(X, y, sample_weight)
        if groups is not None:
            self._rows, weights = groups
            self._cumulative = np.cumsum(weights)
            self._integer = are_whole_numbers(weights)

    def __call__(self, size):
        """Row indices of shape ``size`` (an int or a tuple)."""
        if self._rows is None:
            return self._rng.randint(self._n_samples, size=size)
        total = self._cumulative[-1]
        if self._integer:
            points = self._rng.randint(int(total), size=size)
        else:
            points = self._rng.random_sample(size) * total
        groups = np.searchsorted(self._cumulative, points, side="right")
        # a point within rounding of the total must not fall past the last group
        np.minimum(groups, len(self._rows) - 1, out=groups)
        return self._rows[groups]


def _batch_rows(draw, num_iters, batch_size):
    """The row indices of each step's batch, one array per step, in order.

    Drawn for many steps at once: NumPy's generators give the same stream
    whether ``k * n`` values are drawn in one call or in ``k`` calls of ``n``,
    and a call per step costs more than the rest of the step's bookkeeping.
    Never more than ``num_iters`` batches are drawn, so a ``RandomState``
    passed in is left as a draw per step would leave it.
    """
    steps_per_draw = max(1, _ROWS_PER_DRAW // batch_size)
    for start in range(0, num_iters, steps_per_draw):
        yield from draw((min(steps_per_draw, num_iters - start), batch_size))


def _gather(X, rows, out):
    """Rows ``rows`` of ``X`` into ``out``, converting to ``out``'s dtype.

    ``X`` is C-contiguous float32 or float64 and ``out`` a C-contiguous
    ``(len(rows), X.shape[1])`` float32 or float64 buffer; the row
    indices are in range by construction (they come from `_RowDraws`).
    """
    if X.dtype == out.dtype == np.float64:
        # mode="clip" because the default "raise" buffers `out`
        np.take(X, rows, axis=0, out=out, mode="clip")
    else:
        # one pass that reads each value once and writes it converted, where
        # NumPy would index into a temporary of X's dtype and convert that
        _gather_kernel.gather_rows(X, rows.astype(np.int64, copy=False), out)


def _initial_weights(rng, n_features, n_classes, dtype):
    """``(W, b)`` as the CS231n notebooks draw them, with the bias split off.

    Their model is one (D + 1, C) matrix over X with a column of ones appended;
    drawing it whole keeps their random stream (initialization, then batches),
    and its last row is the bias.  Appending the column would copy X.
    """
    W_full = 0.001 * rng.randn(n_features + 1, n_classes)
    # W is the (D, C) view of a C-contiguous (C, D) array: the layout of coef_,
    # and the one linear_loss computes dW in fastest
    W = np.ascontiguousarray(W_full[:n_features].T, dtype=dtype).T
    b = W_full[n_features].astype(dtype)
    return W, b


def iterations_per_task(num_iters):
    """Iterations in each fit task of a fit of ``num_iters`` (the last may have fewer).

    Parameters
    ----------
    num_iters : int
        The SGD steps of the fit.

    Returns
    -------
    n : int
        ``max(100, ceil(num_iters / 100))``: a task per 100 iterations, at
        most 100 tasks.
    """
    return max(_TASK_ITERS, -(-num_iters // _MAX_TASKS))


class _NoTasks:
    """The ``tasks`` of a fit nobody watches: one block, nothing called."""

    def __init__(self, num_iters):
        self.size = max(1, num_iters)

    def begin(self):
        pass

    def end(self, W, b, loss_history):
        return False


def _check_rows_fit_dtype(X, dtype):
    """Refuse float64 rows beyond the range of float32 training, once it diverged.

    Converted a batch at a time, such values become infinities and training
    diverges, for a reason the learning rate has nothing to do with; checked
    only then, as a check up front would read all of ``X`` on every fit.
    """
    if X.dtype.itemsize > dtype.itemsize:
        largest = np.finfo(dtype).max
        if max(X.max(), -X.min()) > largest:
            raise ValueError(
                f"X holds values beyond the range of {dtype.name} (+-{largest:.4g}), "
                f"the dtype training computes in; use dtype='float64' or rescale "
                f"the features."
            )


def _check_weights_finite(W, b, learning_rate, iteration):
    """Raise the monitor's :class:`DivergenceError` when the last update overflowed.

    The monitor saw every loss, but the update after the last one is seen
    by no loss.
    """
    if not (np.isfinite(W).all() and np.isfinite(b).all()):
        raise _diverged("the weights became non-finite", iteration, learning_rate)


def train_linear_sgd(score_loss, X, y, n_classes, *, learning_rate, reg, num_iters,
                     batch_size, rng, dtype, sample_weight=None, verbose=0,
                     tasks=None):
    """Minibatch SGD on the linear scores ``X @ W + b`` under ``score_loss``.

    Each of the ``num_iters`` steps draws ``batch_size`` rows with replacement
    (see :class:`_RowDraws` for the weighted draws), computes the mean loss and
    its gradients on them and moves ``W`` and ``b`` by ``-learning_rate`` times
    the gradients with :func:`skdeep.nn.optim.sgd`.

    Two batch buffers: the next batch is gathered while this step's products
    run.  With a second core and large batches, a helper thread does that
    gather (a memory-bound random read of the training rows) and half of the
    weight gradient; the products stay single-threaded BLAS.  Otherwise the
    same work runs in the same order on this thread, so results never depend
    on the threads.

    Parameters
    ----------
    score_loss : callable
        ``(scores, y) -> (mean loss, dscores)``.
    X : ndarray of shape (n_samples, n_features)
        Training rows, C-contiguous float32 or float64; rows are converted to
        ``dtype`` a batch at a time, so ``X`` is never copied whole.
    y : ndarray of int of shape (n_samples,)
        Labels in ``[0, n_classes)``.
    n_classes : int
    learning_rate, reg : float
    num_iters, batch_size : int
    rng : numpy.random.RandomState
    dtype : numpy.dtype
        The training dtype, float32 or float64.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative weights with a positive sum.
    verbose : int
        Print the loss every 100 iterations when nonzero.
    tasks : object, default=None
        Training in blocks of ``tasks.size`` iterations (the last may be
        shorter): ``tasks.begin()`` before each block, ``tasks.end(W, b,
        loss_history)`` after it with the weights and losses so far, and a
        true return value stops training there.  The blocks change nothing in
        the steps.  None: no calls.

    Returns
    -------
    W : ndarray of shape (n_features, n_classes)
    b : ndarray of shape (n_classes,)
    loss_history : ndarray of shape (n_iter,)
        One loss per step run: ``num_iters``, or fewer when ``tasks`` stopped
        training.

    Raises
    ------
    skdeep.exceptions.DivergenceError
        When the loss or the weights become NaN or infinite.
    ValueError
        When training diverged because ``X`` holds values beyond the range of
        ``dtype``.
    """
    W, b = _initial_weights(rng, X.shape[1], n_classes, dtype)
    use_helper = (batch_size * X.shape[1] >= _HELPER_MIN_BATCH_VALUES
                  and _second_thread_allowed())
    try:
        # The products are (batch_size x D) by (D x C) with C small: BLAS's
        # own threads barely help them on an idle machine and, busy-waiting,
        # slow them many times over on a busy one or inside parallel grid
        # searches.  Overflow is left to the divergence checks, on both threads.
        with blas_single_thread(), kernel_threads(), np.errstate(
            over="ignore", invalid="ignore"
        ), HelperThread() if use_helper else InlineExecutor() as helper:
            loss_history = _sgd_steps(
                score_loss, X, y, W, b, _RowDraws(rng, X, y, sample_weight), helper,
                learning_rate=learning_rate, reg=reg, num_iters=num_iters,
                batch_size=batch_size, verbose=verbose,
                tasks=_NoTasks(num_iters) if tasks is None else tasks,
            )
        _check_weights_finite(W, b, learning_rate, len(loss_history) - 1)
    except DivergenceError:
        _check_rows_fit_dtype(X, dtype)
        raise
    return W, b, loss_history


def _sgd_steps(score_loss, X, y, W, b, draw, helper, *, learning_rate, reg,
               num_iters, batch_size, verbose, tasks):
    """The steps of :func:`train_linear_sgd`, updating ``W`` and ``b`` in place.

    Returns the loss of each step run (fewer than ``num_iters`` when ``tasks``
    stopped training).
    """
    X_batches = (np.empty((batch_size, X.shape[1]), dtype=W.dtype),
                 np.empty((batch_size, X.shape[1]), dtype=W.dtype))
    y_batch = np.empty(batch_size, dtype=y.dtype)
    scores = np.empty((batch_size, W.shape[1]), dtype=W.dtype)
    dW = np.empty_like(W)  # the layout of W
    # flat views of W and dW (transposes of C-contiguous arrays), for the update
    W_flat, dW_flat = W.T.reshape(-1), dW.T.reshape(-1)
    loss_history = np.empty(num_iters)
    divergence = DivergenceMonitor()
    # Drawing ahead keeps the CS231n notebooks' random stream, as nothing else
    # draws.
    batches = _batch_rows(draw, num_iters, batch_size)
    batch_idx = next(batches)
    _gather(X, batch_idx, X_batches[0])
    for it in range(num_iters):
        if it % tasks.size == 0:
            tasks.begin()
        X_batch = X_batches[it % 2]
        np.take(y, batch_idx, out=y_batch, mode="clip")
        next_batch = None
        if it + 1 < num_iters:
            batch_idx = next(batches)
            next_batch = helper.submit(_gather, X, batch_idx, X_batches[(it + 1) % 2])
        data_loss, _, db = linear_loss(score_loss, W, X_batch, y_batch, b=b,
                                       scores_out=scores, dW_out=dW, helper=helper)
        # reg * sum(W**2) (bias included) has gradient 2 * reg * W: the update
        # adds it and returns the squares of the weights the scores used
        square_sum = (_sgd_flat(W_flat, dW_flat, learning_rate, 2 * reg)
                      + _sgd_flat(b, db, learning_rate, 2 * reg))
        loss = data_loss + reg * square_sum
        divergence.check(loss, learning_rate, it)
        loss_history[it] = loss
        if verbose and it % 100 == 0:
            print("iteration %d / %d: loss %f" % (it, num_iters, loss))
        if next_batch is not None:
            next_batch.result()
        if ((it + 1) % tasks.size == 0 or it + 1 == num_iters) and tasks.end(
                W, b, loss_history[:it + 1]):
            return loss_history[:it + 1]
    return loss_history
