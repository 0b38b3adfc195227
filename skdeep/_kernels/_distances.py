"""Pairwise L1 and L2 distances and streaming k-smallest selection (Pythran kernel).

uint8 rows take an exact integer path (int32 sums: exact for up to 33,025 features
in L2 and 8,421,504 in L1, which the wrapper checks).  Float rows sum chunks of
``CHUNK`` values in their own precision with SIMD and add the chunk sums in
float64, so float32 results are as accurate as float64 sums rounded to float32.

Loops run over rows of X in parallel (OpenMP) against tiles of Y sized to stay in
the per-core cache; every kernel writes into a caller-provided output, so the
caller bounds the memory.  The 2-D arguments are exported ``order(C)``, as the
wrappers pass them: a plain ``[:,:]`` also compiles a variant for each combination of
transposed arguments, which made this the slowest kernel to build.
"""
import numpy as np

#pythran export l1_block_u8(uint8[:,:] order(C), uint8[:,:] order(C), int32[:,:] order(C))
#pythran export sq_l2_block_u8(uint8[:,:] order(C), uint8[:,:] order(C), int32[:,:] order(C))
#pythran export l1_block_float(float32[:,:] order(C), float32[:,:] order(C), float64[:,:] order(C))
#pythran export l1_block_float(float64[:,:] order(C), float64[:,:] order(C), float64[:,:] order(C))
#pythran export sq_l2_block_float(float32[:,:] order(C), float32[:,:] order(C), float64[:,:] order(C))
#pythran export sq_l2_block_float(float64[:,:] order(C), float64[:,:] order(C), float64[:,:] order(C))
#pythran export sq_l2_rows_u8(uint8[:,:] order(C), uint8[:,:] order(C), int64[:,:] order(C), float64[:,:] order(C))
#pythran export sq_l2_rows_float(float32[:,:] order(C), float32[:,:] order(C), int64[:,:] order(C), float64[:,:] order(C))
#pythran export sq_l2_rows_float(float64[:,:] order(C), float64[:,:] order(C), int64[:,:] order(C), float64[:,:] order(C))
#pythran export merge_k_smallest(int32[:,:] order(C), int, int32[:,:] order(C), int64[:,:] order(C))
#pythran export merge_k_smallest(float64[:,:] order(C), int, float64[:,:] order(C), int64[:,:] order(C))
#pythran export merge_k_smallest_gram(float32[:,:] order(C), float64[:], float64[:], int, float64[:,:] order(C), int64[:,:] order(C))
#pythran export merge_k_smallest_gram(float64[:,:] order(C), float64[:], float64[:], int, float64[:,:] order(C), int64[:,:] order(C))
#pythran export chunk_size()

# Floats are summed CHUNK at a time in the input precision, then in float64.
CHUNK = 256
# Bytes of Y rows per tile: about half of a 512 KB to 1 MB L2 cache.
TILE_BYTES = 262144


def chunk_size():
    """CHUNK, for error bounds computed outside (compiled modules export no constants)."""
    return CHUNK


def _tile_rows(d, itemsize):
    return max(1, TILE_BYTES // max(1, d * itemsize))


def _l1_pair_u8(x, y):
    s = np.int32(0)
    for k in range(x.shape[0]):
        s += abs(np.int32(x[k]) - np.int32(y[k]))
    return s


def _sq_l2_pair_u8(x, y):
    s = np.int32(0)
    for k in range(x.shape[0]):
        t = np.int32(x[k]) - np.int32(y[k])
        s += t * t
    return s


def _l1_pair_float(x, y):
    s = 0.
    for c in range(0, x.shape[0], CHUNK):
        s += float(np.sum(np.abs(x[c:c + CHUNK] - y[c:c + CHUNK])))
    return s


def _sq_l2_pair_float(x, y):
    s = 0.
    for c in range(0, x.shape[0], CHUNK):
        t = x[c:c + CHUNK] - y[c:c + CHUNK]
        s += float(np.sum(t * t))
    return s


def _block(X, Y, out, pair, itemsize):
    """out[i, j] = pair(X[i], Y[j]), rows of X in parallel against cache-sized tiles of Y."""
    n, d = X.shape
    m = Y.shape[0]
    tile = _tile_rows(d, itemsize)
    for j0 in range(0, m, tile):
        j1 = min(j0 + tile, m)
        #omp parallel for
        for i in range(n):
            xi = X[i]
            for j in range(j0, j1):
                out[i, j] = pair(xi, Y[j])


def _rows(X, Y, idx, out, pair):
    """out[i, t] = pair(X[i], Y[idx[i, t]]); inf where idx < 0."""
    n, c = idx.shape
    #omp parallel for
    for i in range(n):
        for t in range(c):
            j = idx[i, t]
            if j >= 0:
                out[i, t] = pair(X[i], Y[j])
            else:
                out[i, t] = np.inf


def l1_block_u8(X, Y, out):
    """out[i, j] = sum_k |X[i, k] - Y[j, k]|, exactly."""
    _block(X, Y, out, _l1_pair_u8, 1)


def sq_l2_block_u8(X, Y, out):
    """out[i, j] = sum_k (X[i, k] - Y[j, k])**2, exactly."""
    _block(X, Y, out, _sq_l2_pair_u8, 1)


def l1_block_float(X, Y, out):
    """out[i, j] = sum_k |X[i, k] - Y[j, k]|."""
    _block(X, Y, out, _l1_pair_float, X.itemsize)


def sq_l2_block_float(X, Y, out):
    """out[i, j] = sum_k (X[i, k] - Y[j, k])**2, computed directly (no Gram trick)."""
    _block(X, Y, out, _sq_l2_pair_float, X.itemsize)


def sq_l2_rows_u8(X, Y, idx, out):
    """out[i, t] = squared distance of X[i] and Y[idx[i, t]]; inf where idx < 0."""
    _rows(X, Y, idx, out, _sq_l2_pair_u8)


def sq_l2_rows_float(X, Y, idx, out):
    """out[i, t] = squared distance of X[i] and Y[idx[i, t]]; inf where idx < 0."""
    _rows(X, Y, idx, out, _sq_l2_pair_float)


def _insert(best_d, best_i, i, dist, j):
    # Rows of best_d are sorted; an equal distance goes after the ones already
    # there, whose indices are smaller, so ties are broken by the smaller index.
    p = best_d.shape[1] - 1
    while p > 0 and best_d[i, p - 1] > dist:
        best_d[i, p] = best_d[i, p - 1]
        best_i[i, p] = best_i[i, p - 1]
        p -= 1
    best_d[i, p] = dist
    best_i[i, p] = j


def merge_k_smallest(D, j0, best_d, best_i):
    """Merge the block D of distances to columns j0, j0 + 1, ... into best_d/best_i.

    best_d[i] holds the k smallest distances seen so far for row i, ascending, and
    best_i[i] their column indices; blocks must arrive in increasing j0 order.
    """
    n, m = D.shape
    k = best_d.shape[1]
    #omp parallel for
    for i in range(n):
        for j in range(m):
            dist = D[i, j]
            if dist < best_d[i, k - 1]:
                _insert(best_d, best_i, i, dist, j0 + j)


def merge_k_smallest_gram(G, xx, yy, j0, best_d, best_i):
    """Like merge_k_smallest for squared L2 distances xx[i] + yy[j] - 2 G[i, j]."""
    n, m = G.shape
    k = best_d.shape[1]
    #omp parallel for
    for i in range(n):
        for j in range(m):
            dist = xx[i] + yy[j] - 2. * float(G[i, j])
            if dist < best_d[i, k - 1]:
                _insert(best_d, best_i, i, dist, j0 + j)
