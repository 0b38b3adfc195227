"""Convolution lowering (im2col / col2im), Winograd F(2x2, 3x3) transforms and
max pooling (Pythran kernel).

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
The Winograd kernels (see below) do the
same for 3x3 convolutions at stride 1 and pad 1 with 16 products per block.
``im2col``, ``col2im`` and the Winograd kernels
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
#pythran export winograd_input(float32[:,:,:], int, int, float32[:,:,:])
#pythran export winograd_input(float64[:,:,:], int, int, float64[:,:,:])
#pythran export winograd_output(float32[:,:,:], float32[:], int, int, float32[:,:,:])
#pythran export winograd_output(float64[:,:,:], float64[:], int, int, float64[:,:,:])
#pythran export winograd_output_grad(float32[:,:,:], int, int, float32[:,:,:])
#pythran export winograd_output_grad(float64[:,:,:], int, int, float64[:,:,:])
#pythran export winograd_input_pooled(float32[:,:,:], int32[:,:,:], int, int, float32[:,:,:])
#pythran export winograd_input_pooled(float64[:,:,:], int32[:,:,:], int, int, float64[:,:,:])
#pythran export winograd_output_grad_pooled(float32[:,:,:], int32[:,:,:], int, int, float32[:,:,:])
#pythran export winograd_output_grad_pooled(float64[:,:,:], int32[:,:,:], int, int, float64[:,:,:])
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


# Winograd F(2x2, 3x3) for 3x3 filters at stride 1 and pad 1 (Lavin and Gray,
# "Fast Algorithms for Convolutional Neural Networks", 2016): each 2x2 patch of the
# output comes from a 4x4 tile of the padded input, tiles overlapping by 2.  With
# the tile transformed as ``B^T d B`` and the filter as ``G g G^T``, the 36
# products of a tile's 2x2 outputs become 16 elementwise products, each summed over
# the channels: 16 matrix products (tiles, C) @ (C, F) done by the wrapper with
# BLAS, 2.25 times fewer multiplies than im2col's.  The transforms work on whole
# rows of channels (channels last), which vectorize whatever the image size: the
# kernels transpose each image on the way in and out.  ``v`` and ``m`` are
# (16, N * th * tw, channels), tile ``n * th * tw + ty * tw + tx`` of image n
# covering output rows 2 ty, 2 ty + 1 and columns 2 tx, 2 tx + 1, with
# ``th = (H + 1) // 2``, ``tw = (W + 1) // 2``.

def _channels_last(plane_rows, H, W, off, buf):
    """buf[y + off, t + off, c] = plane_rows[c, y * W + t]: one image, channels last."""
    for c in range(plane_rows.shape[0]):
        row = plane_rows[c]
        for y in range(H):
            for t in range(W):
                buf[y + off, t + off, c] = row[y * W + t]


def _input_tiles(p, v, t0, th, tw, e):
    """v[:, t0 + tile] = ``B^T d B`` of every 4x4 tile d of the zero-bordered,
    channels-last image p; e holds one tile's half-transformed rows."""
    for ty in range(th):
        for tx in range(tw):
            r = 2 * ty
            s = 2 * tx
            t = t0 + ty * tw + tx
            for j in range(4):
                e[0, j] = p[r, s + j] - p[r + 2, s + j]
                e[1, j] = p[r + 1, s + j] + p[r + 2, s + j]
                e[2, j] = p[r + 2, s + j] - p[r + 1, s + j]
                e[3, j] = p[r + 1, s + j] - p[r + 3, s + j]
            for i in range(4):
                v[4 * i, t] = e[i, 0] - e[i, 2]
                v[4 * i + 1, t] = e[i, 1] + e[i, 2]
                v[4 * i + 2, t] = e[i, 2] - e[i, 1]
                v[4 * i + 3, t] = e[i, 1] - e[i, 3]


def winograd_input(x, H, W, v):
    """v = the transform ``B^T d B`` of every 4x4 tile d of x, given as
    (N, C, H * W), padded by 1 (and by one more row or column of zeros when H or
    W is odd)."""
    N, C = x.shape[0], x.shape[1]
    th = (H + 1) // 2
    tw = (W + 1) // 2
    padded = np.zeros((2 * th + 2, 2 * tw + 2, C), x.dtype)
    e = np.empty((4, 4, C), x.dtype)
    for n in range(N):
        _channels_last(x[n], H, W, 1, padded)
        _input_tiles(padded, v, n * th * tw, th, tw, e)


def _output_tiles(m, t0, th, tw, bias, o, a):
    """o[y, x] = the 2x2 outputs ``A^T m A + bias`` of every tile of one image,
    channels last; o has an even number of rows and columns, a holds one tile's
    half-transformed rows."""
    for ty in range(th):
        for tx in range(tw):
            t = t0 + ty * tw + tx
            for j in range(4):
                a[0, j] = m[j, t] + m[4 + j, t] + m[8 + j, t]
                a[1, j] = m[4 + j, t] - m[8 + j, t] - m[12 + j, t]
            for i in range(2):
                o[2 * ty + i, 2 * tx] = a[i, 0] + a[i, 1] + a[i, 2] + bias
                o[2 * ty + i, 2 * tx + 1] = a[i, 1] - a[i, 2] - a[i, 3] + bias


def _channels_first(o, H, W, plane_rows):
    """plane_rows[c, y * W + t] = o[y, t, c]: back from channels last."""
    for c in range(plane_rows.shape[0]):
        row = plane_rows[c]
        for y in range(H):
            for t in range(W):
                row[y * W + t] = o[y, t, c]


def winograd_output(m, bias, H, W, out):
    """out, (N, F, H * W), = the inverse transform ``A^T m A`` of every tile's
    products, plus bias (F,); the row or column of a tile past an odd H or W is
    dropped."""
    N, F = out.shape[0], out.shape[1]
    th = (H + 1) // 2
    tw = (W + 1) // 2
    o = np.empty((2 * th, 2 * tw, F), out.dtype)
    a = np.empty((2, 4, F), out.dtype)
    for n in range(N):
        _output_tiles(m, n * th * tw, th, tw, bias, o, a)
        _channels_first(o, H, W, out[n])


def _output_grad_tiles(g, d, t0, th, tw, r):
    """d[:, t0 + tile] = ``A dy A^T`` of every 2x2 tile dy of the zero-bordered,
    channels-last gradient g; r holds one tile's half-transformed rows."""
    for ty in range(th):
        for tx in range(tw):
            t = t0 + ty * tw + tx
            y = 2 * ty
            s = 2 * tx
            for i in range(2):
                r[i, 0] = g[y + i, s]
                r[i, 1] = g[y + i, s] + g[y + i, s + 1]
                r[i, 2] = g[y + i, s] - g[y + i, s + 1]
                r[i, 3] = -g[y + i, s + 1]
            for j in range(4):
                d[j, t] = r[0, j]
                d[4 + j, t] = r[0, j] + r[1, j]
                d[8 + j, t] = r[0, j] - r[1, j]
                d[12 + j, t] = -r[1, j]


def winograd_output_grad(dout, H, W, d):
    """d, (16, N * th * tw, F), = ``A dy A^T`` of every 2x2 tile dy of dout
    (N, F, H * W), the gradient of :func:`winograd_output`'s products (zeros stand
    for the outputs past an odd H or W).  With it the filters' gradient is 16
    products ``v[k].T @ d[k]`` summed over the tiles, v the transformed input."""
    N, F = dout.shape[0], dout.shape[1]
    th = (H + 1) // 2
    tw = (W + 1) // 2
    g = np.zeros((2 * th, 2 * tw, F), dout.dtype)
    r = np.empty((2, 4, F), dout.dtype)
    for n in range(N):
        _channels_last(dout[n], H, W, 0, g)
        _output_grad_tiles(g, d, n * th * tw, th, tw, r)


# The two kernels below are winograd_input and winograd_output_grad of the gradient
# of a max pool after the convolution, read from the pooled gradient (N, C, Q) and
# the windows' maxima (argmax, the index y * W + t of each window's maximum in its
# plane), so that the full-size gradient (zero but at the maxima) is never written
# to memory: each image's is scattered into a cleared buffer in cache.

def _scatter_channels_last(pooled_rows, argmax_rows, W, off, buf):
    """buf[y + off, t + off, c] += pooled_rows[c, q], y * W + t = argmax_rows[c, q]:
    one image's pool gradient, channels last, into a buffer the caller cleared."""
    for c in range(pooled_rows.shape[0]):
        for q in range(pooled_rows.shape[1]):
            i = argmax_rows[c, q]
            buf[i // W + off, i % W + off, c] += pooled_rows[c, q]


def winograd_input_pooled(dpooled, argmax, H, W, v):
    """:func:`winograd_input` of the (H, W) gradient of a max pool, given as its
    pooled gradient and argmax, both (N, C, Q)."""
    N, C = dpooled.shape[0], dpooled.shape[1]
    th = (H + 1) // 2
    tw = (W + 1) // 2
    padded = np.zeros((2 * th + 2, 2 * tw + 2, C), dpooled.dtype)
    e = np.empty((4, 4, C), dpooled.dtype)
    for n in range(N):
        if n:
            padded[:] = 0
        _scatter_channels_last(dpooled[n], argmax[n], W, 1, padded)
        _input_tiles(padded, v, n * th * tw, th, tw, e)


def winograd_output_grad_pooled(dpooled, argmax, H, W, d):
    """:func:`winograd_output_grad` of the (H, W) gradient of a max pool, given as
    its pooled gradient and argmax, both (N, F, Q)."""
    N, F = dpooled.shape[0], dpooled.shape[1]
    th = (H + 1) // 2
    tw = (W + 1) // 2
    g = np.zeros((2 * th, 2 * tw, F), dpooled.dtype)
    r = np.empty((2, 4, F), dpooled.dtype)
    for n in range(N):
        if n:
            g[:] = 0
        _scatter_channels_last(dpooled[n], argmax[n], W, 0, g)
        _output_grad_tiles(g, d, n * th * tw, th, tw, r)


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
