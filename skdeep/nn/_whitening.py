"""The frozen first layer of the airbench CIFAR-10 speed records (private).

A 2x2 convolution whose filters are the principal directions of the training
images' 2x2 patches, each divided by the square root of its variance: the layer
decorrelates neighbouring pixels and channels before any training, and is never
trained.  airbench uses each filter twice, with both signs, because a GELU
follows the layer there; here the next conv layer reads the layer's output
directly, where a negated copy would add nothing that layer's weights cannot
express, and would double its cost (on 10,000 CIFAR-10 images for 8 epochs,
seed 0, the cifar10-fast recipe reached 0.7207 with 12 filters, 0.722 with the 24
of both signs; a ReLU after the 24 lowered it to 0.706).
"""
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ._checks import check_array, check_int, check_number

#: Height and width of the whitening filters.
PATCH_SIZE = 2

# images whose patches are flattened at a time: bounds the float64 copy
_CHUNK_IMAGES = 256


def patch_moments(images):
    """Mean and covariance (divided by the count) of the 2x2 patches of ``images``.

    Patches are taken at stride 1 without padding, flattened in ``(C, 2, 2)``
    order, in float64; the sums run over fixed chunks of images, so the result
    depends on the images alone.
    """
    _, channels, _, _ = images.shape
    dim = channels * PATCH_SIZE * PATCH_SIZE
    total = np.zeros(dim)
    products = np.zeros((dim, dim))
    count = 0
    for start in range(0, len(images), _CHUNK_IMAGES):
        chunk = np.asarray(images[start:start + _CHUNK_IMAGES], dtype=np.float64)
        windows = sliding_window_view(chunk, (PATCH_SIZE, PATCH_SIZE), axis=(2, 3))
        patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, dim)
        total += patches.sum(axis=0)
        products += patches.T @ patches
        count += len(patches)
    mean = total / count
    return mean, products / count - np.outer(mean, mean)


def whitening_filters(images, num_filters=None, eps=5e-4):
    """The whitening convolution's filters, computed from a sample of images.

    Parameters
    ----------
    images : ndarray of shape (N, C, H, W)
        The images, H and W at least 2.
    num_filters : int, default=None
        The number k of eigenvectors kept, those of the largest eigenvalues;
        None keeps all ``C * 4``.
    eps : float, default=5e-4
        Added to each eigenvalue before the square root (airbench's value, for
        images standardized per channel).

    Returns
    -------
    filters : ndarray of shape (k, C, 2, 2), float64
        Filter j is eigenvector j of the patch covariance (in decreasing order
        of eigenvalue) divided by ``sqrt(eigenvalue + eps)``, its sign chosen
        so that its largest entry in absolute value is positive.
    """
    images = check_array(images, "images", ndim=4, shape_doc="(N, C, H, W)")
    _, channels, height, width = images.shape
    if len(images) == 0 or min(height, width) < PATCH_SIZE:
        raise ValueError(f"images must hold at least one image of at least 2x2 pixels, "
                         f"got shape {images.shape}.")
    dim = channels * PATCH_SIZE * PATCH_SIZE
    k = dim if num_filters is None else check_int(num_filters, "num_filters")
    if k > dim:
        raise ValueError(f"num_filters must be at most C * 4 = {dim}, got {k}.")
    check_number(eps, "eps", low=0, low_open=True)
    _, covariance = patch_moments(images)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    # eigh sorts increasingly; rounding can leave a zero variance slightly negative
    eigenvalues = np.maximum(eigenvalues[::-1][:k], 0.0)
    vectors = eigenvectors[:, ::-1][:, :k].T
    largest = np.argmax(np.abs(vectors), axis=1)
    vectors = vectors * np.sign(vectors[np.arange(k), largest])[:, None]
    return (vectors / np.sqrt(eigenvalues + eps)[:, None]).reshape(
        k, channels, PATCH_SIZE, PATCH_SIZE)


def pad_for_whitening(images):
    """``images`` with one more row and column, the second-to-last ones reflected.

    So that the 2x2 convolution without padding keeps the height and width, and
    the pools after it see the even sizes they need.
    """
    return np.pad(images, ((0, 0), (0, 0), (0, PATCH_SIZE - 1), (0, PATCH_SIZE - 1)),
                  mode="reflect")
