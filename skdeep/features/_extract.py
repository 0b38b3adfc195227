"""Thin wrappers over the feature kernels: tables, batching, progress."""
import functools

import numpy as np

from .._kernels import _hog, _hue
from ..utils._threads import with_kernel_threads
from ..utils._progress import Progress
from ..utils._validation import row_chunks

BLOCK_NORMS = ("L1", "L1-sqrt", "L2", "L2-Hys")

# The ten gradient directions whose angle an integer gradient can hit exactly on a
# bin boundary (axes and diagonals), with both signs of a zero row gradient, in
# the order the kernel reads them: (g_row, g_col).
_SPECIAL_ROWS = np.array([0., 0., -0., -0., 1., -1., 1., 1., -1., -1.])
_SPECIAL_COLS = np.array([1., -1., 1., -1., 0., 0., 1., -1., 1., -1.])

# Pixel values per kernel call at most, so that progress comes in steps.
_BATCH_VALUES = 1 << 21


def orientation_tables(orientations):
    """Bin boundaries and the bins of the special directions for ``orientations``.

    Returns ``(bounds, cos, sin, special)``: the ``orientations + 1`` boundaries
    in degrees exactly as scikit-image computes them (``180 / n * i`` in float64),
    their cosines and sines, and for each direction of ``_SPECIAL_ROWS`` /
    ``_SPECIAL_COLS`` the bin scikit-image gives it (-1 for none), from NumPy's
    own ``arctan2`` so that the two agree to the last bit.
    """
    per180 = 180. / orientations
    bounds = np.array([per180 * i for i in range(orientations + 1)])
    radians = np.deg2rad(bounds)
    angles = np.rad2deg(np.arctan2(_SPECIAL_ROWS, _SPECIAL_COLS)) % 180
    special = np.full(len(angles), -1, dtype=np.int64)
    for k, angle in enumerate(angles):
        for i in range(orientations):
            if bounds[i] <= angle < bounds[i + 1]:
                special[k] = i
                break
    return bounds, np.cos(radians), np.sin(radians), special


@functools.lru_cache(maxsize=8)
def integer_gradient_tables(orientations):
    """Per-gradient tables for uint8 images, whose gradients are integers.

    Returns ``(magnitude, bins)``: ``magnitude[|g_row|, |g_col|]`` is
    ``np.hypot`` (symmetric in order and sign, which the tests check), and
    ``bins[g_row + 255, g_col + 255]`` is the bin scikit-image gives that
    gradient, -1 for none, from the same NumPy expressions scikit-image uses.
    Both are read-only: they are cached across calls.
    """
    values = np.arange(256, dtype=np.float64)
    magnitude = np.hypot(values[:, None], values[None, :])
    signed = np.arange(-255, 256, dtype=np.float64)
    angle = np.rad2deg(np.arctan2(signed[:, None], signed[None, :])) % 180
    bounds = orientation_tables(orientations)[0]
    bins = np.full(angle.shape, -1, dtype=np.int8)
    for i in range(orientations):
        bins[(bounds[i] <= angle) & (angle < bounds[i + 1])] = i
    magnitude.flags.writeable = False
    bins.flags.writeable = False
    return magnitude, bins


def _batches(n_samples, n_features, verbose, what, name):
    """Yield (start, stop) of the batches, printing progress when verbose.

    A batch's float64 copy stays within scikit-learn's ``working_memory``, and
    within ``_BATCH_VALUES`` values, which paces the progress lines.
    """
    max_rows = max(1, _BATCH_VALUES // max(1, n_features))
    progress = Progress(n_samples, verbose, name, f"{what} of", "images",
                        min_items=max_rows)
    for batch in row_chunks(n_samples, 8 * n_features, max_n_rows=max_rows):
        yield batch.start, batch.stop
        progress.update(batch.stop - batch.start)


@with_kernel_threads
def hog_rows(X, image_shape, orientations, cell, block, block_norm, transform_sqrt,
             verbose=0, name="HOGTransformer"):
    """HOG features of each row of ``X`` (rows of channels-last images).

    ``cell`` and ``block`` are (rows, cols) pairs that fit the image (see
    ``HOGTransformer``).  uint8 rows go to the kernel as they are; anything
    else is converted to float64 a batch at a time.
    """
    height, width, channels = image_shape
    n_cells_row, n_cells_col = height // cell[0], width // cell[1]
    n_features_out = ((n_cells_row - block[0] + 1) * (n_cells_col - block[1] + 1)
                      * block[0] * block[1] * orientations)
    bounds, cosb, sinb, special = orientation_tables(orientations)
    norm = str(block_norm)
    n_samples = X.shape[0]
    out = np.empty((n_samples, n_features_out))
    # int8 bins hold up to 127 orientations; more is no use but still allowed
    use_tables = X.dtype == np.uint8 and not transform_sqrt and orientations <= 127
    if use_tables:
        magnitude, bins = integer_gradient_tables(orientations)
    lut = np.arange(256, dtype=np.float64)
    if transform_sqrt:
        lut = np.sqrt(lut)
    for start, stop in _batches(n_samples, X.shape[1], verbose, "HOG", name):
        rows = X[start:stop]
        if use_tables:
            images = np.ascontiguousarray(rows).reshape((stop - start,) + image_shape)
            _hog.hog_u8_table(images, magnitude, bins, orientations, cell[0], cell[1],
                              block[0], block[1], norm, out[start:stop])
        elif rows.dtype == np.uint8:
            images = np.ascontiguousarray(rows).reshape((stop - start,) + image_shape)
            _hog.hog_u8(images, lut, cell[0], cell[1], block[0], block[1], norm,
                        bounds, cosb, sinb, special, out[start:stop])
        else:
            images = np.ascontiguousarray(rows, dtype=np.float64)
            images = images.reshape((stop - start,) + image_shape)
            _hog.hog_float(images, bool(transform_sqrt), cell[0], cell[1], block[0],
                           block[1], norm, bounds, cosb, sinb, special,
                           out[start:stop])
    return out


@with_kernel_threads
def hue_histogram_rows(X, image_shape, nbin, verbose=0,
                       name="HSVHistogramTransformer"):
    """Fraction of each image's pixels in each of ``nbin`` hue bins.

    Rows of ``X`` are channels-last RGB (or grey) images of ``image_shape``.
    uint8 rows are divided by 255 first, so the hue is exactly that of
    ``matplotlib.colors.rgb_to_hsv(image / 255)``; other rows are used as given.
    The bins are ``np.histogram``'s over ``np.linspace(0, 1, nbin + 1)``.
    """
    height, width, channels = image_shape
    n_pixels = height * width
    n_samples = X.shape[0]
    out = np.empty((n_samples, nbin))
    edges = np.linspace(0, 1, nbin + 1)
    if channels == 1:
        # grey pixels are R = G = B: hue 0, the first bin
        out[:] = 0.
        out[:, 0] = 1.
        return out
    for start, stop in _batches(n_samples, X.shape[1], verbose, "hue histograms",
                                name):
        rows = X[start:stop]
        if rows.dtype == np.uint8:
            pixels = np.ascontiguousarray(rows).reshape(stop - start, n_pixels, 3)
            _hue.hue_histograms_u8(pixels, edges, out[start:stop])
        else:
            pixels = np.ascontiguousarray(rows, dtype=np.float64)
            pixels = pixels.reshape(stop - start, n_pixels, 3)
            _hue.hue_histograms_float(pixels, edges, out[start:stop])
    return out
