"""Convolution lowering (im2col / col2im) and max pooling (Pythran kernel).

A convolution becomes matrix products once every input window is laid out as a
column; the wrapper in ``skdeep.nn.layers`` does the products with NumPy's BLAS and
calls these kernels for the data movement around them, which is where NumPy's own
strided copies lose most of their time.

Layouts: images are (N, C, H, W), passed flattened to (N, C, H * W) with H and W;
the column matrices ``cols`` are per image,
(N, C * HH * WW, H_out * W_out): row ``(c * HH + i) * WW + j`` of image n holds input
pixel ``(c, y * stride + i - pad, x * stride + j - pad)`` in column ``y * W_out + x``
(zero where that pixel is padding).  A product with ``w.reshape(F, -1)`` then gives
each image's output already in (F, H_out, W_out) order.  ``im2col`` and ``col2im``
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
#pythran export max_pool_forward(float32[:,:,:,:], int, int, int, float32[:,:,:,:], int32[:,:,:,:])
#pythran export max_pool_forward(float64[:,:,:,:], int, int, int, float64[:,:,:,:], int32[:,:,:,:])
#pythran export max_pool_backward(float32[:,:] order(C), int32[:,:] order(C), float32[:,:] order(C))
#pythran export max_pool_backward(float64[:,:] order(C), int32[:,:] order(C), float64[:,:] order(C))


def _valid_range(offset, size, stride, n_out):
    """Output positions ``lo <= t < hi`` whose input ``t * stride + offset`` is in [0, size)."""
    lo = 0 if offset >= 0 else (-offset + stride - 1) // stride
    hi = (size - offset + stride - 1) // stride if size > offset else 0
    hi = min(hi, n_out)
    lo = min(lo, hi)
    return lo, hi


def _window_row(plane, H, W, i, j, stride, pad, H_out, W_out, row):
    """Row ``(i, j)`` of one channel's columns: the pixels of the flattened
    (H * W) plane seen through that filter tap, zero where they fall on the padding."""
    lo, hi = _valid_range(j - pad, W, stride, W_out)
    y_lo, y_hi = _valid_range(i - pad, H, stride, H_out)
    if lo == hi:
        y_lo = y_hi = 0
    row[:y_lo * W_out] = 0
    row[y_hi * W_out:] = 0
    if y_lo == y_hi:
        return
    if stride == 1 and W_out == W:
        # "same" padding: the tap's rows are the plane's pixels shifted by one
        # offset, one long vectorized copy; the few positions whose column falls on
        # the padding took pixels of the neighbouring image row and are cleared
        shift = (i - pad) * W + j - pad
        a = y_lo * W
        b = y_hi * W
        p0 = max(a, -shift)
        p1 = min(b, H * W - shift)
        row[a:p0] = 0
        row[p0:p1] = plane[p0 + shift:p1 + shift]
        row[p1:b] = 0
        for y in range(y_lo, y_hi):
            row[y * W:y * W + lo] = 0
            row[y * W + hi:(y + 1) * W] = 0
        return
    w_lo = lo * stride + j - pad
    for y in range(y_lo, y_hi):
        base = y * W_out
        src = (y * stride + i - pad) * W + w_lo
        row[base:base + lo] = 0
        if stride == 1:
            row[base + lo:base + hi] = plane[src:src + hi - lo]
        else:
            for t in range(lo, hi):
                row[base + t] = plane[src + (t - lo) * stride]
        row[base + hi:base + W_out] = 0


def im2col(x, H, W, HH, WW, stride, pad, cols):
    """Fill ``cols`` with the (zero-padded) window of every output position of x,
    given as (N, C, H * W)."""
    N, C = x.shape[0], x.shape[1]
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    for n in range(N):
        for c in range(C):
            for i in range(HH):
                for j in range(WW):
                    _window_row(x[n, c], H, W, i, j, stride, pad, H_out, W_out,
                                cols[n, (c * HH + i) * WW + j])


def _add_window_row(row, H, W, i, j, stride, pad, H_out, W_out, plane):
    """Add row ``(i, j)`` of one channel's column gradients back onto its pixels."""
    lo, hi = _valid_range(j - pad, W, stride, W_out)
    y_lo, y_hi = _valid_range(i - pad, H, stride, H_out)
    if lo == hi or y_lo == y_hi:
        return
    if stride == 1 and W_out == W:
        # the mirror of im2col's shifted copy: clear the gradients of positions on
        # the padding, which reach no pixel, then add the rows in one pass
        for y in range(y_lo, y_hi):
            row[y * W:y * W + lo] = 0
            row[y * W + hi:(y + 1) * W] = 0
        shift = (i - pad) * W + j - pad
        p0 = max(y_lo * W, -shift)
        p1 = min(y_hi * W, H * W - shift)
        plane[p0 + shift:p1 + shift] += row[p0:p1]
        return
    w_lo = lo * stride + j - pad
    for y in range(y_lo, y_hi):
        base = y * W_out
        dst = (y * stride + i - pad) * W + w_lo
        if stride == 1:
            plane[dst:dst + hi - lo] += row[base + lo:base + hi]
        else:
            for t in range(lo, hi):
                plane[dst + (t - lo) * stride] += row[base + t]


def col2im(cols, H, W, HH, WW, stride, pad, dx):
    """dx, given as (N, C, H * W), = the sum of every column of ``cols`` added back
    onto its window.  ``cols`` is scratch: its entries on the padding are zeroed."""
    N, C = dx.shape[0], dx.shape[1]
    H_out = (H + 2 * pad - HH) // stride + 1
    W_out = (W + 2 * pad - WW) // stride + 1
    for n in range(N):
        for c in range(C):
            plane = dx[n, c]
            plane[:] = 0
            for i in range(HH):
                for j in range(WW):
                    _add_window_row(cols[n, (c * HH + i) * WW + j], H, W, i, j, stride,
                                    pad, H_out, W_out, plane)


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
