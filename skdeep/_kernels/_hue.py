"""Histograms of hue, batched over images (Pythran kernel).

Hue is computed with exactly the float64 operations of
``matplotlib.colors.rgb_to_hsv``: ``delta = max - min``; grey pixels
(``delta == 0``) have hue 0; where channels tie for the maximum, blue beats green
beats red (matplotlib assigns the three cases in that order, the last wins); then
``(h / 6) % 1`` with NumPy's floored remainder.  Bins are those of ``np.histogram``
over the given edges.  Every image is independent: the loops over images run in
parallel (OpenMP).
"""
import math

import numpy as np

#pythran export hue_histograms_u8(uint8[:,:,:], float64[:], float64[:,:])
#pythran export hue_histograms_float(float64[:,:,:], float64[:], float64[:,:])


def _hue(red, green, blue):
    top = max(red, green, blue)
    delta = top - min(red, green, blue)
    h = 0.
    if delta > 0.:
        if blue == top:
            h = 4. + (red - green) / delta
        elif green == top:
            h = 2. + (blue - red) / delta
        else:
            h = (green - blue) / delta
    # NumPy's remainder: fmod moved into the divisor's sign, +0 for 0
    h = math.fmod(h / 6.0, 1.0)
    if h < 0.:
        h += 1.0
    elif h == 0.:
        h = 0.
    return h


def _bin(h, edges):
    """np.histogram's bin of h: the estimate floor(h * n), corrected by the edges."""
    n = edges.shape[0] - 1
    i = min(int(h * n), n - 1)
    if h < edges[i]:
        i -= 1
    elif i != n - 1 and h >= edges[i + 1]:
        i += 1
    return i


def _hue_histograms(images, edges, out, scale):
    """Hue histograms of RGB pixels (n, n_pixels, 3), each value divided by ``scale``."""
    n_images, n_pixels, channels = images.shape
    nbin = edges.shape[0] - 1
    #omp parallel for
    for k in range(n_images):
        counts = np.zeros(nbin)
        for p in range(n_pixels):
            h = _hue(images[k, p, 0] / scale, images[k, p, 1] / scale,
                     images[k, p, 2] / scale)
            counts[_bin(h, edges)] += 1.
        for b in range(nbin):
            out[k, b] = counts[b] / n_pixels


def hue_histograms_u8(images, edges, out):
    """Hue histograms of uint8 RGB pixels (n, n_pixels, 3) into out (n, nbin).

    Pixel values are divided by 255 first, as ``rgb_to_hsv(image / 255)``;
    ``edges`` is ``np.linspace(0, 1, nbin + 1)``; out holds the fraction of
    each image's pixels in each bin.
    """
    _hue_histograms(images, edges, out, 255.)


def hue_histograms_float(images, edges, out):
    """Hue histograms of float64 RGB pixels (n, n_pixels, 3), taken as given."""
    # a division by one is exact: the pixels are taken as they are
    _hue_histograms(images, edges, out, 1.)
