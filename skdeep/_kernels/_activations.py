"""ReLU, and ReLU fused with max pooling and batch normalization (Pythran kernel).

The layers after a convolution are memory-bound: each NumPy pass reads and writes
a map of the convolution's output size for a few operations per value.  These
kernels do them in one pass each, on every core, and keep no full-size map that
the next step does not need:

- ``relu`` and ``relu_backward``: the elementwise ReLU and its gradient on flat
  arrays, in chunks shared among threads (the gradient without a boolean
  temporary).
- ``normalize_relu_pool``: ``max_pool(relu((x - mean[c]) * scale[c] + beta[c]))``
  of each (n, c) plane, each value normalized as the pool reads it, so the
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


def _relu_of_max(best, arg, origin, op, ap, r, t):
    """Write the ReLU of a window's maximum: a maximum <= 0 means the ReLU's output
    is zero all over the window, whose first maximum is then its first position."""
    if best <= 0:
        op[r, t] = 0
        ap[r, t] = origin
    else:  # positive or NaN
        op[r, t] = best
        ap[r, t] = arg


def _pool_2x2(xp, m, s, b, op, ap):
    """The 2x2 window of stride 2 on one plane ``xp``, unrolled over row views (as
    ``_conv``'s), each value normalized on the way: the compiler keeps the running
    maximum in registers."""
    W = xp.shape[1]
    for r in range(op.shape[0]):
        r0 = xp[2 * r]
        r1 = xp[2 * r + 1]
        for t in range(op.shape[1]):
            best = (r0[2 * t] - m) * s + b
            arg = 0
            v = (r0[2 * t + 1] - m) * s + b
            if v > best or (v != v and best == best):
                best = v
                arg = 1
            v = (r1[2 * t] - m) * s + b
            if v > best or (v != v and best == best):
                best = v
                arg = W
            v = (r1[2 * t + 1] - m) * s + b
            if v > best or (v != v and best == best):
                best = v
                arg = W + 1
            origin = 2 * r * W + 2 * t
            _relu_of_max(best, origin + arg, origin, op, ap, r, t)


def _pool_window(xp, m, s, b, HH, WW, stride, op, ap):
    """Any window on one plane ``xp``, as ``_conv.max_pool_forward``'s loop."""
    W = xp.shape[1]
    for r in range(op.shape[0]):
        for t in range(op.shape[1]):
            h0 = r * stride
            w0 = t * stride
            best = (xp[h0, w0] - m) * s + b
            arg = h0 * W + w0
            for i in range(HH):
                for j in range(WW):
                    v = (xp[h0 + i, w0 + j] - m) * s + b
                    if v > best or (v != v and best == best):
                        best = v
                        arg = (h0 + i) * W + w0 + j
            _relu_of_max(best, arg, h0 * W + w0, op, ap, r, t)


def normalize_relu_pool(x, mean, scale, beta, HH, WW, stride, out, argmax):
    """out, argmax = max pool of relu((x - mean[c]) * scale[c] + beta[c]), x (N, C,
    H, W): the maximum of each window and the index ``h * W + w`` of its first
    maximum in the (H, W) plane (ties and NaN as in ``np.argmax``), the same
    windows and positions as the ReLU's output pooled by ``_conv.max_pool_forward``.

    The ReLU commutes with the maximum, so it is applied to each window's
    maximum, not to every value.
    """
    N, C, H, W = x.shape
    two_by_two = HH == 2 and WW == 2 and stride == 2
    parallel = x.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for nc in range(N * C):
        n = nc // C
        c = nc % C
        if two_by_two:
            _pool_2x2(x[n, c], mean[c], scale[c], beta[c], out[n, c], argmax[n, c])
        else:
            _pool_window(x[n, c], mean[c], scale[c], beta[c], HH, WW, stride, out[n, c],
                         argmax[n, c])


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
            dp = dout[n, c]
            op = out[n, c]
            ap = argmax[n, c]
            xp = x[n, c]
            for q in range(Q):
                g = dp[q] * (op[q] > 0)
                total += g
                total_x += g * (xp[ap[q]] - m)
        dbeta[c] = total
        dgamma[c] = total_x * inv_std[c]
        # the two coefficients in the dtype of x, as the NumPy formula has them
        coef = np.empty(2, x.dtype)
        coef[0] = s * (total / count)
        coef[1] = s * (total_x * inv_std[c] * inv_std[c] / count)
        a = coef[0]
        b = coef[1]
        for n in range(N):
            dp = dout[n, c]
            op = out[n, c]
            ap = argmax[n, c]
            xp = x[n, c]
            dxp = dx[n, c]
            dxp[:] = -a - (xp - m) * b
            for q in range(Q):
                i = ap[q]
                dxp[i] = s * (dp[q] * (op[q] > 0)) - a - (xp[i] - m) * b
