"""ReLU, and ReLU fused with max pooling and batch normalization (Pythran kernel).

The layers after a convolution are memory-bound: each NumPy pass reads and writes
a map of the convolution's output size for a few operations per value.  These
kernels do them in one pass each, on every core, and keep no full-size map that
the next step does not need:

- ``relu`` and ``relu_backward``: the elementwise ReLU and its gradient on flat
  arrays, in chunks shared among threads (the gradient without a boolean
  temporary).
- ``normalize_relu_pool``: ``max_pool(relu((x - mean[c]) * scale[c] + beta[c]))``
  of each (n, c) plane, through a plane-sized buffer that stays in cache, so the
  full-size activation is never written to memory.  The plain ReLU and pool is
  the case mean 0, scale 1, beta 0, whose arithmetic is exact.
- ``relu_pool_backward``: the gradient of the ReLU and pool from the pooled
  gradient, in one write of each plane.
- ``normalize_relu_pool_backward``: the batchnorm, ReLU and pool gradient from the
  pooled gradient, without the full-size gradient of the pool's input.

Every loop is parallel over (n, c) planes, channels or fixed chunks, and every
value is computed by one iteration whose arithmetic does not depend on the
partition, so results are bit-identical for any number of threads.  Arrays are
C-contiguous; the wrappers in ``skdeep.nn.layers`` allocate them.
"""
import numpy as np

# Below this many elements a loop runs on one thread: starting a parallel region
# costs more than the work.
PARALLEL_MIN = 65536
# Elements per iteration of the flat elementwise loops: long enough for SIMD and
# to amortize the loop's scheduling, short enough to share among threads.
CHUNK = 16384

#pythran export relu(float32[:], float32[:])
#pythran export relu(float64[:], float64[:])
#pythran export relu_backward(float32[:], float32[:], float32[:])
#pythran export relu_backward(float64[:], float64[:], float64[:])
#pythran export normalize_relu_pool(float32[:,:,:,:] order(C), float32[:], float32[:], float32[:], int, int, int, float32[:,:,:,:] order(C), int32[:,:,:,:] order(C))
#pythran export normalize_relu_pool(float64[:,:,:,:] order(C), float64[:], float64[:], float64[:], int, int, int, float64[:,:,:,:] order(C), int32[:,:,:,:] order(C))
#pythran export relu_pool_backward(float32[:,:] order(C), float32[:,:] order(C), int32[:,:] order(C), float32[:,:] order(C))
#pythran export relu_pool_backward(float64[:,:] order(C), float64[:,:] order(C), int32[:,:] order(C), float64[:,:] order(C))
#pythran export normalize_relu_pool_backward(float32[:,:,:] order(C), float32[:,:,:] order(C), int32[:,:,:] order(C), float32[:,:,:] order(C), float32[:], float32[:], float32[:], float32[:,:,:] order(C), float64[:], float64[:])
#pythran export normalize_relu_pool_backward(float64[:,:,:] order(C), float64[:,:,:] order(C), int32[:,:,:] order(C), float64[:,:,:] order(C), float64[:], float64[:], float64[:], float64[:,:,:] order(C), float64[:], float64[:])


def relu(x, out):
    """out = relu(x) of flat arrays (out may be x); NaN stays NaN, as with
    ``np.maximum``."""
    n = x.shape[0]
    parallel = n >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for k in range((n + CHUNK - 1) // CHUNK):
        lo = k * CHUNK
        hi = min(lo + CHUNK, n)
        y = x[lo:hi]
        out[lo:hi] = np.where(y <= 0, 0, y)


def relu_backward(dout, out, dx):
    """dx = dout * (out > 0) of flat arrays, the product of ``relu_backward``'s
    NumPy formula (a NaN in dout stays NaN where the mask is 0)."""
    n = dout.shape[0]
    parallel = n >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for k in range((n + CHUNK - 1) // CHUNK):
        lo = k * CHUNK
        hi = min(lo + CHUNK, n)
        dx[lo:hi] = dout[lo:hi] * (out[lo:hi] > 0)


def _pool_2x2(y, op, ap):
    """The 2x2 window of stride 2 on one plane ``y``: the maximum (a NaN if any)
    and the index ``h * W + w`` of the first value equal to it in row-major order
    (the first NaN), as row expressions on the four strided views of a row pair,
    which compile without branches."""
    W = y.shape[1]
    W_out = op.shape[1]
    base = 2 * np.arange(W_out)
    for r in range(op.shape[0]):
        a = y[2 * r, 0:2 * W_out:2]
        b = y[2 * r, 1:2 * W_out:2]
        c = y[2 * r + 1, 0:2 * W_out:2]
        d = y[2 * r + 1, 1:2 * W_out:2]
        m = op[r]
        # compiled np.maximum is the SIMD max, which drops a NaN; the sum keeps it
        m[:] = np.where((a != a) | (b != b) | (c != c) | (d != d), a + b + c + d,
                        np.maximum(np.maximum(a, b), np.maximum(c, d)))
        ap[r] = 2 * r * W + base + np.where(
            (a == m) | (a != a), 0, np.where(
                (b == m) | (b != b), 1, np.where((c == m) | (c != c), W, W + 1)))


def _pool_window(y, HH, WW, stride, op, ap):
    """Any window on one plane ``y``, as ``_conv.max_pool_forward``'s loop."""
    W = y.shape[1]
    for r in range(op.shape[0]):
        for t in range(op.shape[1]):
            h0 = r * stride
            w0 = t * stride
            best = y[h0, w0]
            arg = h0 * W + w0
            for i in range(HH):
                for j in range(WW):
                    v = y[h0 + i, w0 + j]
                    if v > best or (v != v and best == best):
                        best = v
                        arg = (h0 + i) * W + w0 + j
            op[r, t] = best
            ap[r, t] = arg


def normalize_relu_pool(x, mean, scale, beta, HH, WW, stride, out, argmax):
    """out, argmax = max pool of relu((x - mean[c]) * scale[c] + beta[c]), x (N, C,
    H, W): the maximum of each window and the index ``h * W + w`` of its first
    maximum in the (H, W) plane (ties and NaN as in ``np.argmax``), the same
    windows and positions as the ReLU's output pooled by ``_conv.max_pool_forward``.
    """
    N, C, H, W = x.shape
    two_by_two = HH == 2 and WW == 2 and stride == 2
    parallel = x.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for nc in range(N * C):
        n = nc // C
        c = nc % C
        t = (x[n, c] - mean[c]) * scale[c] + beta[c]
        # an array, not a lazy expression: the pool reads each value several times
        y = np.empty((H, W), x.dtype)
        y[:] = np.where(t <= 0, 0, t)
        if two_by_two:
            _pool_2x2(y, out[n, c], argmax[n, c])
        else:
            _pool_window(y, HH, WW, stride, out[n, c], argmax[n, c])


def relu_pool_backward(dout, out, argmax, dx):
    """dx[p] = the sum over q of dout[p, q] * (out[p, q] > 0) at argmax[p, q]:
    the pool's gradient times the ReLU's mask, which at a window's maximum is
    ``out > 0`` of the pooled output.  Arrays are one row per (n, c) plane."""
    parallel = dx.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for p in range(dx.shape[0]):
        dx[p] = 0
        for q in range(dout.shape[1]):
            dx[p, argmax[p, q]] += dout[p, q] * (out[p, q] > 0)


def normalize_relu_pool_backward(dout, out, argmax, x, mean, inv_std, gamma, dx,
                                 dgamma, dbeta):
    """Gradients of :func:`normalize_relu_pool` under batch statistics, for windows
    that do not overlap, from the pooled gradient dout (N, C, Q) and the pooled
    output (N, C, Q); x and dx are (N, C, P).

    The gradient dy of the normalized map is dout * (out > 0) at each window's
    maximum and 0 elsewhere, so the two sums of the closed-form batchnorm gradient
    ``dx = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat))`` (dbeta and
    dgamma / inv_std, accumulated in float64) read only the pooled arrays and x at
    the maxima; then dx is its dy = 0 formula on each plane, overwritten at the
    maxima.
    """
    N, C, P = x.shape
    Q = dout.shape[2]
    count = N * P
    parallel = x.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(C):
        m = mean[c]
        s = gamma[c] * inv_std[c]
        total = 0.
        total_x = 0.
        for n in range(N):
            for q in range(Q):
                g = dout[n, c, q] * (out[n, c, q] > 0)
                total += g
                total_x += g * (x[n, c, argmax[n, c, q]] - m)
        dbeta[c] = total
        dgamma[c] = total_x * inv_std[c]
        # the two coefficients in the dtype of x, as the NumPy formula has them
        coef = np.empty(2, x.dtype)
        coef[0] = s * (total / count)
        coef[1] = s * (total_x * inv_std[c] * inv_std[c] / count)
        a = coef[0]
        b = coef[1]
        for n in range(N):
            dx[n, c] = -a - (x[n, c] - m) * b
            for q in range(Q):
                i = argmax[n, c, q]
                dx[n, c, i] = s * (dout[n, c, q] * (out[n, c, q] > 0)) - a - (
                    x[n, c, i] - m) * b
