"""Convolution lowering (im2col / col2im) and max pooling (Pythran kernel).

A convolution becomes matrix products once every input window is laid out as a
column; the wrapper in ``skdeep.nn.layers`` does the products with NumPy's BLAS and
calls these kernels for the data movement around them, which is where NumPy's own
strided copies lose most of their time.

Layouts: images are (N, C, H, W), passed flattened to (N, C, H * W) with H and W;
the columns ``cols`` of a block of N images are (C * HH * WW, N, H_out * W_out):
``cols[(c * HH + i) * WW + j, n, y * W_out + x]`` holds input pixel
``(c, y * stride + i - pad, x * stride + j - pad)`` of image n (zero where that
pixel is padding).  The wrapper's forward pass multiplies ``w.reshape(F, -1)``
with each image's (C * HH * WW, H_out * W_out) slice; its backward pass takes the
block as one (C * HH * WW, N * H_out * W_out) matrix, which keeps BLAS efficient
when the images are small (a 4x4 image's product is only 16 columns wide).
``im2col`` and ``col2im``
run on the calling thread: the wrapper hands them blocks of a few images from a
pool of threads (the compiled functions release the GIL), so that each block's
columns stay in cache between the kernel and the products.  The pooling kernels
are parallel over (n, c) image planes under OpenMP, each iteration writing its own
plane.  Arrays are C-contiguous; the wrapper allocates them.
"""
import numpy as np

# Below this many elements a loop runs on one thread: starting a parallel region
# costs more than the work, and far more on a busy machine, where it waits until
# every thread of the team gets a core.
PARALLEL_MIN = 65536

#pythran export im2col(float32[:,:,:], int, int, int, int, int, int, float32[:,:,:])
#pythran export im2col(float64[:,:,:], int, int, int, int, int, int, float64[:,:,:])
#pythran export col2im(float32[:,:,:], int, int, int, int, int, int, float32[:,:,:])
#pythran export col2im(float64[:,:,:], int, int, int, int, int, int, float64[:,:,:])
#pythran export channel_moments(float32[:,:,:], float64[:], float64[:])
#pythran export channel_moments(float64[:,:,:], float64[:], float64[:])
#pythran export normalize_relu(float32[:,:,:], float32[:], float32[:], float32[:], float32[:,:,:])
#pythran export normalize_relu(float64[:,:,:], float64[:], float64[:], float64[:], float64[:,:,:])
#pythran export normalize_relu_backward(float32[:,:,:], float32[:,:,:], float32[:], float32[:], float32[:], float32[:], float32[:,:,:], float64[:], float64[:])
#pythran export normalize_relu_backward(float64[:,:,:], float64[:,:,:], float64[:], float64[:], float64[:], float64[:], float64[:,:,:], float64[:], float64[:])
#pythran export max_pool_forward(float32[:,:,:,:], int, int, int, float32[:,:,:,:], int32[:,:,:,:])
#pythran export max_pool_forward(float64[:,:,:,:], int, int, int, float64[:,:,:,:], int32[:,:,:,:])
#pythran export max_pool_backward(float32[:,:] order(C), int32[:,:] order(C), float32[:,:] order(C))
#pythran export max_pool_backward(float64[:,:] order(C), int32[:,:] order(C), float64[:,:] order(C))


def _pad_plane(plane, W, pad, padded):
    """Copy one (H * W) plane into the middle of ``padded``, whose border stays zero."""
    for y in range(padded.shape[0] - 2 * pad):
        for t in range(W):
            padded[y + pad, t + pad] = plane[y * W + t]


def im2col(x, H, W, HH, WW, stride, pad, cols):
    """Fill ``cols`` with the (zero-padded) window of every output position of x,
    given as (N, C, H * W).

    Each plane is first copied into a zero-bordered buffer, so that every tap's
    row is a plain strided copy with no bounds to test: the rows of small images
    are only a few pixels long, and per-row bookkeeping would cost more than the
    copy.  At stride 1 rows of 8 or more are copied as slices, which vectorize;
    shorter ones element by element, which costs less than a slice's setup.
    """
    N, C = x.shape[0], x.shape[1]
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    padded = np.zeros((H + 2 * pad, W + 2 * pad), x.dtype)
    for n in range(N):
        for c in range(C):
            _pad_plane(x[n, c], W, pad, padded)
            for i in range(HH):
                for j in range(WW):
                    k = (c * HH + i) * WW + j
                    if stride == 1 and W_out >= 8:
                        for y in range(H_out):
                            cols[k, n, y * W_out:(y + 1) * W_out] = padded[
                                y + i, j:j + W_out]
                    else:
                        for y in range(H_out):
                            for t in range(W_out):
                                cols[k, n, y * W_out + t] = padded[y * stride + i,
                                                                   t * stride + j]


def col2im(cols, H, W, HH, WW, stride, pad, dx):
    """dx, given as (N, C, H * W), = the sum of every column of ``cols`` added back
    onto its window, accumulated in a zero-bordered buffer as :func:`im2col` reads
    one; what lands on the border is padding and is dropped."""
    N, C = dx.shape[0], dx.shape[1]
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    padded = np.zeros((H + 2 * pad, W + 2 * pad), dx.dtype)
    for n in range(N):
        for c in range(C):
            padded[:] = 0
            for i in range(HH):
                for j in range(WW):
                    k = (c * HH + i) * WW + j
                    if stride == 1 and W_out >= 8:
                        for y in range(H_out):
                            padded[y + i, j:j + W_out] += cols[
                                k, n, y * W_out:(y + 1) * W_out]
                    else:
                        for y in range(H_out):
                            for t in range(W_out):
                                padded[y * stride + i, t * stride + j] += cols[
                                    k, n, y * W_out + t]
            plane = dx[n, c]
            for y in range(H):
                for t in range(W):
                    plane[y * W + t] = padded[y + pad, t + pad]


def channel_moments(x, mean, var):
    """mean[c] and the biased var[c] of x (N, C, P) over n and p, in two passes (the
    mean, then the squared deviations from it, so that a channel's large offset
    does not cancel its variance away), each row's sum accumulated in float64."""
    N, C, P = x.shape
    count = N * P
    parallel = x.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(C):
        total = 0.
        for n in range(N):
            total += np.sum(x[n, c])
        mu = total / count
        squares = 0.
        for n in range(N):
            squares += np.sum(np.square(x[n, c] - mu))
        mean[c] = mu
        var[c] = squares / count


# The functions below work on whole rows of P values: Pythran vectorizes (SIMD) row
# expressions, not scalar loops with a select on the sign.

def normalize_relu(x, mean, scale, beta, out):
    """out = relu((x - mean[c]) * scale[c] + beta[c]) for x (N, C, P); NaN stays
    NaN, as with ``np.maximum``."""
    N, C, P = x.shape
    parallel = x.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for nc in range(N * C):
        n = nc // C
        c = nc % C
        y = (x[n, c] - mean[c]) * scale[c] + beta[c]
        out[n, c] = np.where(y <= 0, 0, y)


def normalize_relu_backward(dout, x, mean, inv_std, gamma, beta, dx, dgamma, dbeta):
    """Gradients of :func:`normalize_relu` under batch statistics (mean and inv_std
    of each channel over n and p): the ReLU passes dout where its input is
    positive, recomputed from x as the forward pass computed it (cheaper than
    reading its output back from memory), then the
    closed-form batchnorm gradient ``dx = gamma * inv_std * (dy - mean(dy) - xhat *
    mean(dy * xhat))``.  A first pass takes its two sums, dbeta and dgamma /
    inv_std, each row's sum accumulated in float64."""
    N, C, P = x.shape
    count = N * P
    parallel = x.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(C):
        m = mean[c]
        s = gamma[c] * inv_std[c]
        total = 0.
        total_x = 0.
        for n in range(N):
            dy = dout[n, c] * ((x[n, c] - m) * s + beta[c] > 0)
            total += np.sum(dy)
            total_x += np.sum(dy * (x[n, c] - m))
        dbeta[c] = total
        dgamma[c] = total_x * inv_std[c]
        a = s * (total / count)
        b = s * (total_x * inv_std[c] * inv_std[c] / count)
        for n in range(N):
            dx[n, c] = (s * (dout[n, c] * ((x[n, c] - m) * s + beta[c] > 0)) - a
                        - (x[n, c] - m) * b)


def _max_pool_2x2_plane(xp, op, ap):
    """The 2x2 window of stride 2 on one plane, unrolled over row views: the
    compiler then keeps the running maximum in registers without branches, many
    times faster than the general loop."""
    W = xp.shape[1]
    for y in range(op.shape[0]):
        r0 = xp[2 * y]
        r1 = xp[2 * y + 1]
        for t in range(op.shape[1]):
            best = r0[2 * t]
            arg = 0
            v = r0[2 * t + 1]
            if v > best or (v != v and best == best):
                best = v
                arg = 1
            v = r1[2 * t]
            if v > best or (v != v and best == best):
                best = v
                arg = W
            v = r1[2 * t + 1]
            if v > best or (v != v and best == best):
                best = v
                arg = W + 1
            op[y, t] = best
            ap[y, t] = 2 * y * W + 2 * t + arg


def _max_pool_plane(x, n, c, HH, WW, stride, out, argmax):
    W = x.shape[3]
    for y in range(out.shape[2]):
        for t in range(out.shape[3]):
            h0 = y * stride
            w0 = t * stride
            best = x[n, c, h0, w0]
            arg = h0 * W + w0
            for i in range(HH):
                for j in range(WW):
                    v = x[n, c, h0 + i, w0 + j]
                    if v > best or (v != v and best == best):
                        best = v
                        arg = (h0 + i) * W + w0 + j
            out[n, c, y, t] = best
            argmax[n, c, y, t] = arg


def max_pool_forward(x, HH, WW, stride, out, argmax):
    """out = the maximum of each window; argmax = where it is, as the index
    ``h * W + w`` in its (H, W) plane.

    Ties and NaN go as in ``np.argmax``: the first maximum in row-major order
    within the window, or the first NaN.
    """
    N, C, H, W = x.shape
    two_by_two = HH == 2 and WW == 2 and stride == 2
    parallel = x.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for nc in range(N * C):
        n = nc // C
        c = nc % C
        if two_by_two:
            _max_pool_2x2_plane(x[n, c], out[n, c], argmax[n, c])
        else:
            _max_pool_plane(x, n, c, HH, WW, stride, out, argmax)


def max_pool_backward(dout, argmax, dx):
    """dx[p, argmax[p, q]] += dout[p, q]: each window's gradient to its maximum.

    Arrays are flattened to one row per (n, c) plane: dout and argmax
    (N * C, H_out * W_out), dx (N * C, H * W).  Clearing a plane then writing
    one value per window is several times faster than writing every element of
    every window.
    """
    parallel = dx.size >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for p in range(dx.shape[0]):
        dx[p] = 0
        for q in range(dout.shape[1]):
            dx[p, argmax[p, q]] += dout[p, q]
