"""Pairwise distances and nearest neighbours: the thin layer over the distance kernels.

Exactness.  Rows whose values are all integers in [0, 255] (uint8 images, or raw
pixels stored as floats) go through integer kernels whose sums are exact.  Float
rows are summed in float64.  For L2 nearest neighbours a BLAS product
``|x|^2 + |y|^2 - 2 x.y`` only *screens* candidates: it is fast but loses digits
to cancellation, so the nearest candidates are recomputed directly, and a
rigorous bound on the screening error proves that no row outside the candidates
can be nearer (a query where the proof fails is redone directly against every
row).  Ties are broken by the smaller row index.

Memory.  Work is blocked over rows of both sets so that the temporary arrays stay
within ``working_memory`` megabytes (scikit-learn's setting by default), whatever
the sizes of the inputs: queries are converted a chunk at a time.
"""
from functools import partial
from typing import NamedTuple

import numpy as np
from sklearn import get_config

from .._kernels import _distances
from ..utils._dtypes import float_dtype
from ..utils._progress import Progress
from ..utils._validation import row_chunks
from ..utils._threads import kernel_threads, openmp_effective_n_threads

# Each metric: its largest term per feature on values in [0, 255], and its
# direct kernels on uint8 and on float rows.
_METRIC_KERNELS = {
    "l2": (255**2, _distances.sq_l2_block_u8, _distances.sq_l2_block_float),
    "l1": (255, _distances.l1_block_u8, _distances.l1_block_float),
}
METRICS = tuple(_METRIC_KERNELS)
_INT32_MAX = np.iinfo(np.int32).max
# Queries per kernel pass: more gains nothing, and progress comes in steps.
_MAX_QUERY_ROWS = 1024


def _working_memory(working_memory):
    """Megabytes for temporaries: the argument, else scikit-learn's setting."""
    return get_config()["working_memory"] if working_memory is None else working_memory


def _holds_uint8_values(A, working_memory=None):
    """Whether every value of A is an integer in [0, 255].

    Float rows are checked a chunk at a time (a rounded copy and three masks
    per value), within ``working_memory``.
    """
    if A.dtype == np.uint8:
        return True
    if A.size == 0:
        return False
    if A.dtype.kind in "iu":
        return bool(A.min() >= 0 and A.max() <= 255)
    if A.dtype.kind != "f":
        return False
    for rows in row_chunks(len(A), A.shape[1] * (A.itemsize + 3),
                           _working_memory(working_memory)):
        block = A[rows]
        if not (np.all(block >= 0) and np.all(block <= 255) and np.all(block == np.rint(block))):
            return False
    return True


def operand_kind(X, Y, metric, working_memory=None):
    """The one dtype the kernels compute ``X`` against ``Y`` in.

    ``'uint8'`` (the exact integer path) when both hold only integers in
    [0, 255] and the integer sums cannot overflow; else the float dtype
    skdeep computes these operands in everywhere,
    :func:`skdeep.utils._dtypes.float_dtype`.
    """
    # int32 sums of the per-feature terms stay exact up to this many features
    if (X.shape[1] <= (2**31 - 1) // _METRIC_KERNELS[metric][0]
            and _holds_uint8_values(X, working_memory)
            and _holds_uint8_values(Y, working_memory)):
        return "uint8"
    return float_dtype(X.dtype, Y.dtype)


def as_kind(A, kind):
    """``A`` (or a chunk of it) as the kernels' operand of ``kind``; no copy when it is."""
    return np.ascontiguousarray(A, dtype=np.uint8 if kind == "uint8" else kind)


def _kind_itemsize(kind):
    return 1 if kind == "uint8" else np.dtype(kind).itemsize


def _direct_kernel(metric, kind):
    _, uint8_kernel, float_kernel = _METRIC_KERNELS[metric]
    return uint8_kernel if kind == "uint8" else float_kernel


def _check_metric(metric):
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}.")


def _map_row_chunks(function, n_rows, n_jobs):
    """``function(start, stop, n_threads, jobs)`` over chunks of rows, in ``jobs`` threads.

    n_jobs has scikit-learn's meaning: None is 1 outside a
    ``parallel_backend`` context and the context's n_jobs inside one, counted
    by ``effective_n_jobs`` as scikit-learn's forests count theirs.  The jobs
    are threads of this process whatever the backend (``require="sharedmem"``,
    as scikit-learn's pairwise distances force): each writes its rows of
    arrays the caller holds, and the kernels release the GIL, so worker
    processes could only add copies of the rows to search.  The kernels'
    OpenMP threads are shared out among the jobs, so jobs x threads stays
    within the cores.  Rows are independent, so the chunks change no result;
    each job is to keep its temporaries within ``1 / jobs`` of the working
    memory.
    """
    from joblib import Parallel, delayed, effective_n_jobs

    jobs = max(1, min(effective_n_jobs(n_jobs), n_rows))
    if jobs == 1:
        function(0, n_rows, None, 1)
        return
    threads = max(1, openmp_effective_n_threads() // jobs)
    bounds = np.linspace(0, n_rows, jobs + 1).astype(int)
    Parallel(n_jobs=jobs, require="sharedmem")(
        delayed(function)(start, stop, threads, jobs)
        for start, stop in zip(bounds[:-1], bounds[1:]))


def _fill_distances(out, X, Yk, metric, kind, memory, first, last, n_threads, jobs):
    """Write the distances of rows ``first:last`` of X to every row of Yk into ``out``."""
    kernel = _direct_kernel(metric, kind)
    block_dtype = np.int32 if kind == "uint8" else np.float64
    # per row of X: its converted copy and its row of the distance block
    row_bytes = X.shape[1] * _kind_itemsize(kind) + len(Yk) * np.dtype(block_dtype).itemsize
    with kernel_threads(n_threads):
        for rows in row_chunks(last - first, row_bytes, memory / jobs):
            start, stop = first + rows.start, first + rows.stop
            block = np.empty((stop - start, len(Yk)), dtype=block_dtype)
            kernel(as_kind(X[start:stop], kind), Yk, block)
            if metric == "l2":
                out[start:stop] = np.sqrt(block, dtype=np.float64)
            else:
                out[start:stop] = block


def pairwise_distances(X, Y=None, metric="l2", *, working_memory=None, n_jobs=None):
    """Compute the distance between every row of X and every row of Y.

    Each distance is computed directly from the two rows: exactly for rows of
    integers in [0, 255] (uint8 images), with float64 sums for floats.

    Parameters
    ----------
    X : array-like of shape (n_samples_X, n_features)
        Rows to measure from.
    Y : array-like of shape (n_samples_Y, n_features), default=None
        ``None`` means ``Y = X``.
    metric : {'l2', 'l1'}, default='l2'
        Euclidean or Manhattan distance.
    working_memory : float, default=None
        Megabytes (MiB) of temporary arrays beyond the result and a converted
        copy of ``Y``; scikit-learn's ``working_memory`` when None.
    n_jobs : int, default=None
        joblib jobs, each computing a chunk of the rows of X: None means 1
        unless in a ``joblib.parallel_backend`` context, -1 every core.  The
        jobs are threads of this process whatever the backend.  The kernels
        use every core either way (OpenMP, see
        ``threadpoolctl.threadpool_limits`` to limit them), shared out among
        the jobs.

    Returns
    -------
    distances : ndarray of shape (n_samples_X, n_samples_Y)
        In the dtype skdeep computes the two inputs in: float32 when one is
        float32 and the other needs no more (float32, float16, bool or
        integers of 16 bits or fewer), float64 otherwise.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.neighbors import pairwise_distances
    >>> pairwise_distances(np.array([[0, 0]]), np.array([[3, 4], [1, 1]]), metric="l2")
    array([[5.        , 1.41421356]])
    """
    from sklearn.utils.validation import check_array

    _check_metric(metric)
    X = check_array(X, dtype="numeric")
    Y = X if Y is None else check_array(Y, dtype="numeric")
    if X.shape[1] != Y.shape[1]:
        raise ValueError(
            f"X has {X.shape[1]} features per row but Y has {Y.shape[1]}; "
            f"distances need the same number."
        )
    out_dtype = float_dtype(X.dtype, Y.dtype)
    memory = _working_memory(working_memory)
    kind = operand_kind(X, Y, metric, memory)
    Yk = as_kind(Y, kind)
    out = np.empty((len(X), len(Yk)), dtype=out_dtype)
    _map_row_chunks(partial(_fill_distances, out, X, Yk, metric, kind, memory),
                    len(X), n_jobs)
    return out


def _k_smallest_direct(Xk, Yk, k, metric, kind, working_memory):
    """(values, indices) of the k smallest direct distances of each row of Xk."""
    n, d = Xk.shape
    m = len(Yk)
    block_dtype = np.int32 if kind == "uint8" else np.float64
    itemsize = np.dtype(block_dtype).itemsize
    kernel = _direct_kernel(metric, kind)
    # One query block against train blocks: the distance block dominates memory,
    # a column of the block per train row.
    rows = min(n, _MAX_QUERY_ROWS)
    train_blocks = list(row_chunks(m, rows * itemsize, working_memory))
    sentinel = _INT32_MAX if kind == "uint8" else np.inf
    best_d = np.full((n, k), sentinel, dtype=block_dtype)
    best_i = np.full((n, k), -1, dtype=np.int64)
    buffer = np.empty(rows * train_blocks[0].stop, dtype=block_dtype)
    for i0 in range(0, n, rows):
        i1 = min(i0 + rows, n)
        bd, bi = best_d[i0:i1], best_i[i0:i1]
        for cols in train_blocks:
            D = buffer[: (i1 - i0) * (cols.stop - cols.start)].reshape(i1 - i0, -1)
            kernel(Xk[i0:i1], Yk[cols], D)
            _distances.merge_k_smallest(D, cols.start, bd, bi)
    return best_d.astype(np.float64), best_i


def _screening_tolerance(kind, n_features):
    """Factor c with |screened - direct| <= c * (|x|^2 + |y|^2) + tiny absolute term.

    The Gram product in precision u errs by at most (d + 2) u sum|x_k y_k| <=
    (d + 2) u (|x|^2 + |y|^2) / 2 in any summation order; the direct float sums
    err by at most about (CHUNK + d u64-terms) u; doubling and padding both keeps
    the bound rigorous with room to spare.
    """
    work = np.float32 if kind in ("uint8", np.float32) else np.float64
    u = np.finfo(work).eps / 2
    factor = 2.0 * 1.05 * (n_features + _distances.chunk_size() + 8) * u
    absolute = 8.0 * (n_features + 8) * np.finfo(work).smallest_subnormal
    return work, factor, absolute


def _sq_norms(A, working_memory=None):
    """Squared norms of the rows of A, summed in float64.

    The same for A and for any lossless conversion of it that `as_kind`
    makes, so a caller may compute them once for rows it searches many times.
    The float64 copy is made a chunk of rows at a time, within
    ``working_memory``.
    """
    out = np.empty(len(A))
    for rows in row_chunks(len(A), 8 * A.shape[1], _working_memory(working_memory)):
        block = A[rows].astype(np.float64)
        out[rows] = np.einsum("ij,ij->i", block, block)
    return out


def _k_smallest_l2(Xk, Yk, k, kind, working_memory, yy=None):
    """k smallest squared L2 distances: Gram screening, direct recomputation, proof."""
    n, d = Xk.shape
    m = len(Yk)
    work, factor, absolute = _screening_tolerance(kind, d)
    n_candidates = min(m, max(2 * k, k + 16))
    xx = _sq_norms(Xk, working_memory)
    if yy is None:
        yy = _sq_norms(Yk, working_memory)
    itemsize = np.dtype(work).itemsize
    rows = min(n, _MAX_QUERY_ROWS)
    # Beside the converted query block, per train row: its converted copy (d
    # values) and its column of the Gram block.
    query_block_mib = rows * d * itemsize / 2**20
    train_blocks = list(row_chunks(m, itemsize * (d + rows), working_memory - query_block_mib))
    best_d = np.full((n, n_candidates), np.inf)
    best_i = np.full((n, n_candidates), -1, dtype=np.int64)
    gram = np.empty(rows * train_blocks[0].stop, dtype=work)
    for i0 in range(0, n, rows):
        i1 = min(i0 + rows, n)
        Xw = np.asarray(Xk[i0:i1], dtype=work)
        for cols in train_blocks:
            Yw = np.asarray(Yk[cols], dtype=work)
            G = gram[: (i1 - i0) * (cols.stop - cols.start)].reshape(i1 - i0, -1)
            np.matmul(Xw, Yw.T, out=G)
            _distances.merge_k_smallest_gram(G, xx[i0:i1], yy[cols], cols.start,
                                             best_d[i0:i1], best_i[i0:i1])

    exact = np.empty_like(best_d)
    if kind == "uint8":
        _distances.sq_l2_rows_u8(Xk, Yk, best_i, exact)
    else:
        _distances.sq_l2_rows_float(Xk, Yk, best_i, exact)
    order = np.lexsort((best_i, exact), axis=-1)[:, :k]
    dist = np.take_along_axis(exact, order, axis=1)
    ind = np.take_along_axis(best_i, order, axis=1)

    # Every row left out has screened distance >= best_d[:, -1], so its direct
    # distance is >= best_d[:, -1] - tol; if that exceeds the k-th found, none
    # of them can be among the k nearest.
    tol = factor * (xx + yy.max()) + absolute
    unproven = ~(dist[:, -1] < best_d[:, -1] - tol)
    if n_candidates == m:
        unproven[:] = False
    if unproven.any():
        redo_d, redo_i = _k_smallest_direct(Xk[unproven], Yk, k, "l2", kind, working_memory)
        dist[unproven] = redo_d
        ind[unproven] = redo_i
    return dist, ind


class _Search(NamedTuple):
    """What every chunk of a neighbour search shares: the queries and the rows to search."""

    X: np.ndarray
    Yk: np.ndarray
    k: int
    metric: str
    kind: object
    Y_sq_norms: object
    memory: float
    progress: Progress


def _fill_neighbours(dist, ind, search, first, last, n_threads, jobs):
    """Write the neighbours of queries ``first:last`` of ``search.X`` into dist and ind."""
    X, Yk, k, metric, kind = search.X, search.Yk, search.k, search.metric, search.kind
    # Half the budget holds a chunk of converted queries, half the kernels' blocks.
    budget = search.memory / jobs / 2
    row_bytes = X.shape[1] * (_kind_itemsize(kind) + 8)
    with kernel_threads(n_threads):
        for rows in row_chunks(last - first, row_bytes, budget, _MAX_QUERY_ROWS):
            chunk = slice(first + rows.start, first + rows.stop)
            Xk = as_kind(X[chunk], kind)
            if metric == "l1":
                d, i = _k_smallest_direct(Xk, Yk, k, metric, kind, budget)
            else:
                d, i = _k_smallest_l2(Xk, Yk, k, kind, budget, search.Y_sq_norms)
                np.sqrt(d, out=d)
            dist[chunk], ind[chunk] = d, i
            search.progress.update(rows.stop - rows.start)


def k_nearest(X, Y, k, metric="l2", *, working_memory=None, n_jobs=None, Y_sq_norms=None,
              verbose=0, name="KNNClassifier"):
    """Distances and indices of the k rows of Y nearest to each row of X.

    Parameters
    ----------
    X : ndarray of shape (n_queries, n_features)
        Validated numeric queries.
    Y : ndarray of shape (n_samples, n_features)
        Validated numeric rows to search.
    k : int
        Number of neighbours, at most ``n_samples``.
    metric : {'l2', 'l1'}, default='l2'
    working_memory : float, default=None
        Megabytes (MiB) of temporary arrays, beyond the results and a converted
        copy of ``Y`` when its dtype differs from the kernels'; scikit-learn's
        ``working_memory`` when None.
    n_jobs : int, default=None
        joblib jobs over chunks of the rows of X, as in `pairwise_distances`.
    Y_sq_norms : ndarray of shape (n_samples,), default=None
        ``_sq_norms(Y)``, for rows searched repeatedly (L2 only); computed
        here when None.
    verbose : int, default=0
        Print progress about ten times over a long search.
    name : str, default="KNNClassifier"
        Who is searching, for the progress lines.

    Returns
    -------
    distances : ndarray of shape (n_queries, k)
        Ascending in each row; in the dtype of
        :func:`skdeep.utils._dtypes.float_dtype` of the two inputs.
    indices : ndarray of int64 of shape (n_queries, k)
        Row indices into Y; equal distances are ordered by index.
    """
    _check_metric(metric)
    out_dtype = float_dtype(X.dtype, Y.dtype)
    memory = _working_memory(working_memory)
    kind = operand_kind(X, Y, metric, memory)
    Yk = as_kind(Y, kind)
    if metric == "l2" and Y_sq_norms is None:
        Y_sq_norms = _sq_norms(Yk, memory)
    dist = np.empty((len(X), k), dtype=out_dtype)
    ind = np.empty((len(X), k), dtype=np.int64)
    progress = Progress(len(X), verbose, name, "neighbours of", "queries",
                        min_items=_MAX_QUERY_ROWS)
    search = _Search(X, Yk, k, metric, kind, Y_sq_norms, memory, progress)
    _map_row_chunks(partial(_fill_neighbours, dist, ind, search), len(X), n_jobs)
    return dist, ind

