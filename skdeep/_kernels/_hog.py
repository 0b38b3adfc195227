"""Histograms of oriented gradients, batched over images (Pythran kernel).

The definition is scikit-image's ``skimage.feature.hog`` (0.26) to the bit where
it matters: centred differences with zero borders, for colour the channel of the
largest ``hypot`` (the first on ties), cell sums accumulated in float32 and
divided by the cell's pixel count in float32, orientation bins
``180 / n * i <= angle < 180 / n * (i + 1)`` on ``rad2deg(arctan2(g_row, g_col)) % 180``,
and block normalisation in float64.

uint8 images without transform_sqrt (the common case, CIFAR-10 as loaded) take
``hog_u8_table``: their gradients are integers in [-255, 255], so the caller
tabulates NumPy's ``hypot`` and scikit-image's bin for every gradient once, and
the per-pixel work is two lookups, bit for bit scikit-image's values.

Other input (floats, or transform_sqrt) takes ``hog_u8`` / ``hog_float``, which
avoid transcendental calls per channel without changing a single bin:

* Channels are compared by ``g_row**2 + g_col**2``; only near-ties (relative
  difference below ``TIE``) ask ``hypot``, which is not correctly rounded, so
  sums of squares that are equal can give different ``hypot``.
* Bins come from the signs of cross products with the bin boundaries; only
  gradients within ``NEAR`` (relative) of a boundary compute the angle exactly as
  scikit-image does.  Directions along the axes and diagonals, where integer
  gradients land exactly on boundaries, take their bins from ``special``, which
  the caller computes with NumPy's own ``arctan2``.

Every image is independent: the batch loops run over images in parallel (OpenMP).

The 2-D arrays are exported ``order(C)``: the callers pass C-ordered arrays, and
every fresh install compiles the module, where each 2-D argument without it
doubles the C++ to compile (a variant for transposed arrays), whose template
instantiation is most of the compiler's time.
"""
import math

import numpy as np

#pythran export hog_u8_table(uint8[:,:,:,:], float64[:,:] order(C), int8[:,:] order(C), int, int, int, int, int, str, float64[:,:] order(C))
#pythran export hog_u8(uint8[:,:,:,:], float64[:], int, int, int, int, str, float64[:], float64[:], float64[:], int64[:], float64[:,:] order(C))
#pythran export hog_float(float64[:,:,:,:], bool, int, int, int, int, str, float64[:], float64[:], float64[:], int64[:], float64[:,:] order(C))

# Block normalisation: scikit-image's methods and epsilon.
L1 = 0
L1_SQRT = 1
L2 = 2
L2_HYS = 3
EPS = 1e-5

# numpy.rad2deg multiplies by this constant.
RAD2DEG = 180.0 / 3.141592653589793
# A gradient whose angle is this close (sine of the difference) to a boundary
# gets its angle computed exactly; rounding in either computation is ~1e-15.
NEAR = 1e-10
# Relative gap between sums of squares below which two channels are compared by
# hypot, whose error (under 1 ulp) could otherwise reorder them.
TIE = 1e-13


def _norm_code(block_norm):
    if block_norm == "L1":
        return L1
    if block_norm == "L1-sqrt":
        return L1_SQRT
    if block_norm == "L2":
        return L2
    return L2_HYS


def _hypot_wins(dr, dc, gr, gc):
    """Whether hypot(dr, dc) > hypot(gr, gc), as NumPy's argmax would see it."""
    adr = abs(dr)
    adc = abs(dc)
    agr = abs(gr)
    agc = abs(gc)
    if (adr == agr and adc == agc) or (adr == agc and adc == agr):
        return False
    return np.hypot(dr, dc) > np.hypot(gr, gc)


def _exact_bin(gr, gc, bounds):
    """The bin of scikit-image's angle ``rad2deg(arctan2(gr, gc)) % 180``, or -1."""
    deg = np.arctan2(gr, gc) * RAD2DEG
    # NumPy's floating remainder: fmod, moved into the divisor's sign, +0 for 0.
    angle = math.fmod(deg, 180.)
    if angle != 0.:
        if angle < 0.:
            angle += 180.
    else:
        angle = 0.
    n = bounds.shape[0] - 1
    for i in range(n):
        if bounds[i] <= angle and angle < bounds[i + 1]:
            return i
    return -1


def _orientation_bin(gr, gc, bounds, cosb, sinb, special):
    """Orientation bin of a non-zero gradient (g_row, g_col), -1 for none."""
    if gr == 0.:
        # atan2 tells +0 from -0 rows: the sign can decide between 0 and 180 degrees
        negative_zero = math.copysign(1., gr) < 0.
        if gc > 0.:
            return special[2] if negative_zero else special[0]
        return special[3] if negative_zero else special[1]
    if gc == 0.:
        return special[4] if gr > 0. else special[5]
    agr = abs(gr)
    agc = abs(gc)
    if agr == agc:
        if gr > 0.:
            return special[6] if gc > 0. else special[7]
        return special[8] if gc > 0. else special[9]
    # Orientations are taken modulo 180 degrees: fold into the upper half plane,
    # where an angle is at or past a boundary iff the cross product is >= 0.
    fr = gr
    fc = gc
    if gr < 0.:
        fr = -gr
        fc = -gc
    tol = NEAR * (agr + agc)
    past = 0
    near = False
    for i in range(bounds.shape[0]):
        cross = cosb[i] * fr - sinb[i] * fc
        if cross >= 0.:
            past += 1
        if abs(cross) <= tol:
            near = True
    if near:
        return _exact_bin(gr, gc, bounds)
    return past - 1


def _cell_histograms(img, cell_rows, cell_cols, bounds, cosb, sinb, special, hist):
    """Fill hist (n_cells_row, n_cells_col, n_bins), float32, with magnitude sums."""
    height, width, channels = img.shape
    n_cells_row, n_cells_col, n_bins = hist.shape
    hist[:] = 0.
    for r in range(n_cells_row * cell_rows):
        inner_r = 0 < r and r < height - 1
        cell_r = r // cell_rows
        for c in range(n_cells_col * cell_cols):
            inner_c = 0 < c and c < width - 1
            best = -1.
            gr = 0.
            gc = 0.
            for ch in range(channels):
                dr = img[r + 1, c, ch] - img[r - 1, c, ch] if inner_r else 0.
                dc = img[r, c + 1, ch] - img[r, c - 1, ch] if inner_c else 0.
                s = dr * dr + dc * dc
                if s > best * (1. + TIE) or (
                        s >= best * (1. - TIE) and _hypot_wins(dr, dc, gr, gc)):
                    best = s
                    gr = dr
                    gc = dc
            if best > 0.:
                b = _orientation_bin(gr, gc, bounds, cosb, sinb, special)
                if b >= 0:
                    cell_c = c // cell_cols
                    # scikit-image sums in a C float: a float64 add rounded to float32
                    hist[cell_r, cell_c, b] = (float(hist[cell_r, cell_c, b])
                                              + np.hypot(gr, gc))


def _normalized_blocks(hist, cell_rows, cell_cols, block_rows, block_cols, code, out):
    """Write the normalised blocks of the cell histograms into out, flattened
    as (block_row, block_col, cell_row, cell_col, bin)."""
    n_cells_row, n_cells_col, n_bins = hist.shape
    # scikit-image divides the float32 sum by the pixel count in float32
    count = np.float32(cell_rows * cell_cols)
    cells = np.empty((n_cells_row, n_cells_col, n_bins))
    for i in range(n_cells_row):
        for j in range(n_cells_col):
            for o in range(n_bins):
                # rounding the quotient to float32 makes any evaluation precision
                # give the float32 quotient (double rounding is innocuous here)
                cells[i, j, o] = np.float32(hist[i, j, o] / count)
    block_size = block_rows * block_cols * n_bins
    p = 0
    for br in range(n_cells_row - block_rows + 1):
        for bc in range(n_cells_col - block_cols + 1):
            total = 0.
            for i in range(block_rows):
                for j in range(block_cols):
                    for o in range(n_bins):
                        v = cells[br + i, bc + j, o]
                        if code == L1 or code == L1_SQRT:
                            total += abs(v)
                        else:
                            total += v * v
            if code == L1 or code == L1_SQRT:
                denom = total + EPS
            else:
                denom = np.sqrt(total + EPS * EPS)
            q = p
            for i in range(block_rows):
                for j in range(block_cols):
                    for o in range(n_bins):
                        v = cells[br + i, bc + j, o] / denom
                        if code == L1_SQRT:
                            v = np.sqrt(v)
                        elif code == L2_HYS:
                            v = min(v, 0.2)
                        out[q] = v
                        q += 1
            if code == L2_HYS:
                total = 0.
                for q in range(p, p + block_size):
                    total += out[q] * out[q]
                denom = np.sqrt(total + EPS * EPS)
                for q in range(p, p + block_size):
                    out[q] = out[q] / denom
            p += block_size


def _hog_image(img, cell_rows, cell_cols, block_rows, block_cols, norm,
               bounds, cosb, sinb, special, out):
    height, width, channels = img.shape
    code = _norm_code(norm)
    hist = np.empty((height // cell_rows, width // cell_cols, bounds.shape[0] - 1),
                    dtype=np.float32)
    _cell_histograms(img, cell_rows, cell_cols, bounds, cosb, sinb, special, hist)
    _normalized_blocks(hist, cell_rows, cell_cols, block_rows, block_cols, code, out)


def _cell_histograms_table(flat, height, width, channels, magnitude, bins,
                           cell_rows, cell_cols, pix, drow, dcol, ssq, hist):
    """Fill hist (n_cells_row, n_cells_col, n_bins), float32, for one image.

    flat is the image (height, width, channels) flattened, row-major; pix, drow,
    dcol and ssq are int32 work arrays of its size.  magnitude[|g_row|, |g_col|]
    is NumPy's hypot and bins[g_row + 255, g_col + 255] scikit-image's bin (-1 for
    none), both tabulated by the caller, so channel choice, magnitudes and bins
    are scikit-image's to the bit with no per-pixel transcendental call.
    Channels are compared by the integer g_row**2 + g_col**2: distinct sums are
    far more than an ulp apart in hypot, so only equal sums need the table (hypot
    of equal sums can differ in the last bit).

    The differences are whole-array expressions on the flat image (rows are
    contiguous: the row difference is a shift by two rows, the column one by two
    pixels), which vectorise; the borders, where scikit-image's gradient is
    zero, are cleared afterwards instead of tested per pixel.
    """
    n_cells_row, n_cells_col, n_bins = hist.shape
    size = height * width * channels
    row = width * channels
    pix[:] = flat
    drow[:] = 0
    dcol[:] = 0
    if height > 2:
        drow[row:size - row] = pix[2 * row:] - pix[:size - 2 * row]
    if width > 2:
        dcol[channels:size - channels] = pix[2 * channels:] - pix[:size - 2 * channels]
        # the shift wraps across rows at the first and last columns: clear them
        for r in range(height):
            q = r * row
            for ch in range(channels):
                dcol[q + ch] = 0
                dcol[q + row - channels + ch] = 0
    ssq[:] = drow * drow + dcol * dcol
    hist[:] = 0.
    for r in range(n_cells_row * cell_rows):
        cell_r = r // cell_rows
        # cell by cell along the row: no division per pixel, and each cell still
        # sums its pixels in row-major order, as scikit-image does
        for cell_c in range(n_cells_col):
            p = (r * width + cell_c * cell_cols) * channels
            for c in range(cell_cols):
                best = ssq[p]
                q = p
                for ch in range(1, channels):
                    s = ssq[p + ch]
                    # strictly greater: NumPy's argmax keeps the first maximum.
                    # Equal non-zero sums are rare, and settled by hypot.
                    if s == best and s > 0:
                        if (magnitude[abs(drow[p + ch]), abs(dcol[p + ch])]
                                > magnitude[abs(drow[q]), abs(dcol[q])]):
                            q = p + ch
                    q = p + ch if s > best else q
                    best = s if s > best else best
                if best > 0:
                    gr = drow[q]
                    gc = dcol[q]
                    b = bins[gr + 255, gc + 255]
                    if b >= 0:
                        # scikit-image sums in a C float: a float64 add rounded to float32
                        hist[cell_r, cell_c, b] = (float(hist[cell_r, cell_c, b])
                                                  + magnitude[abs(gr), abs(gc)])
                p += channels


def hog_u8_table(images, magnitude, bins, n_bins, cell_rows, cell_cols, block_rows,
                 block_cols, norm, out):
    """HOG of uint8 images (n, H, W, C) into out (n, n_features), by table lookup.

    The gradients of uint8 images are integers in [-255, 255], so magnitude
    (256, 256) and bins (511, 511) tabulate everything scikit-image computes per
    pixel (see _cell_histograms_table); the other arguments are as for hog_u8.
    """
    n_images, height, width, channels = images.shape
    code = _norm_code(norm)
    size = height * width * channels
    flat = images.reshape((n_images, size))
    # chunks of images share their work arrays: few allocations, and OpenMP
    # still has many more chunks than threads to balance
    chunk = 64
    n_chunks = (n_images + chunk - 1) // chunk
    #omp parallel for
    for t in range(n_chunks):
        pix = np.empty(size, dtype=np.int32)
        drow = np.empty(size, dtype=np.int32)
        dcol = np.empty(size, dtype=np.int32)
        ssq = np.empty(size, dtype=np.int32)
        hist = np.empty((height // cell_rows, width // cell_cols, n_bins),
                        dtype=np.float32)
        for k in range(t * chunk, min(n_images, (t + 1) * chunk)):
            _cell_histograms_table(flat[k], height, width, channels, magnitude, bins,
                                   cell_rows, cell_cols, pix, drow, dcol, ssq, hist)
            _normalized_blocks(hist, cell_rows, cell_cols, block_rows, block_cols,
                               code, out[k])


def hog_u8(images, lut, cell_rows, cell_cols, block_rows, block_cols, norm,
           bounds, cosb, sinb, special, out):
    """HOG of uint8 images (n, H, W, C) into out (n, n_features).

    lut maps each pixel value to the float the gradients see: the value itself,
    or its square root for transform_sqrt.  The other arguments: cell size in
    pixels, block size in cells, norm ('L1', 'L1-sqrt', 'L2' or 'L2-Hys'; any
    other string means 'L2-Hys', so the caller validates it), the n + 1 bin
    boundaries in degrees with their cosines and sines, and the bins of the ten
    special directions (see skdeep.features._extract).
    """
    n_images, height, width, channels = images.shape
    #omp parallel for
    for k in range(n_images):
        img = images[k]
        buf = np.empty((height, width, channels))
        for r in range(height):
            for c in range(width):
                for ch in range(channels):
                    buf[r, c, ch] = lut[img[r, c, ch]]
        _hog_image(buf, cell_rows, cell_cols, block_rows, block_cols, norm,
                   bounds, cosb, sinb, special, out[k])


def hog_float(images, transform_sqrt, cell_rows, cell_cols, block_rows, block_cols,
              norm, bounds, cosb, sinb, special, out):
    """HOG of float64 images (n, H, W, C) into out (n, n_features); see hog_u8."""
    n_images, height, width, channels = images.shape
    #omp parallel for
    for k in range(n_images):
        if transform_sqrt:
            buf = np.empty((height, width, channels))
            buf[:] = np.sqrt(images[k])
            _hog_image(buf, cell_rows, cell_cols, block_rows, block_cols, norm,
                       bounds, cosb, sinb, special, out[k])
        else:
            _hog_image(images[k], cell_rows, cell_cols, block_rows, block_cols,
                       norm, bounds, cosb, sinb, special, out[k])
