"""Images as rows: the flattening convention of every image estimator."""
import math
import warnings

import numpy as np

from ._dtypes import float_dtype


def infer_image_shape(n_features):
    """Image shape ``(H, W, C)`` of square images flattened to ``n_features`` values.

    The rule: colour (``C = 3``) when ``n_features / 3`` is a perfect square, else
    grey (``C = 1``) when ``n_features`` is one.  The two cannot both hold, so the
    rule is never ambiguous; any other length is an error and needs an explicit
    ``image_shape``.
    """
    for channels in (3, 1):
        if n_features % channels == 0:
            side = math.isqrt(n_features // channels)
            if side > 0 and side * side * channels == n_features:
                return (side, side, channels)
    raise ValueError(
        f"Cannot infer image_shape from {n_features} features: they are not a "
        f"square RGB image (H * H * 3) nor a square grey one (H * H). Pass "
        f"image_shape=(H, W, C) explicitly."
    )


def check_image_shape(image_shape, n_features):
    """Validate ``image_shape`` against ``n_features`` and return it as ``(H, W, C)``.

    ``None`` infers the shape with :func:`infer_image_shape`; a pair ``(H, W)``
    means one channel.
    """
    if image_shape is None:
        return infer_image_shape(n_features)
    try:
        shape = tuple(int(s) for s in image_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"image_shape must be None or a tuple (H, W, C) of positive ints, "
            f"got {image_shape!r}."
        ) from None
    if len(shape) == 2:
        shape = shape + (1,)
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"image_shape must be None or a tuple (H, W, C) of positive ints, "
            f"got {image_shape!r}."
        )
    if int(np.prod(shape)) != n_features:
        raise ValueError(
            f"image_shape={shape} holds {int(np.prod(shape))} values per image, but X "
            f"has {n_features} features per row."
        )
    return shape


def fit_image_shape(image_shape, n_features, name):
    """The image shape a transformer fits: given, inferred, or a one-row grey strip.

    ``image_shape`` is checked with :func:`check_image_shape`; ``None`` infers
    it with :func:`infer_image_shape`, and a length that is no square image is
    read, with a warning, as one row of ``n_features`` grey pixels.  The strip
    keeps every length usable (scikit-learn's own checks fit on a handful of
    features); the warning says it is almost surely not what was meant.

    Parameters
    ----------
    image_shape : tuple or None
        The estimator's ``image_shape`` parameter.
    n_features : int
        Values per row of ``X``.
    name : str
        The estimator's name, for the warning.

    Returns
    -------
    image_shape : tuple (H, W, C)
    """
    if image_shape is not None:
        return check_image_shape(image_shape, n_features)
    try:
        return infer_image_shape(n_features)
    except ValueError:
        warnings.warn(
            f"{name}: {n_features} features are not a square RGB or grey image, "
            f"so each row is read as one row of {n_features} grey pixels; pass "
            f"image_shape=(H, W, C) if that is not what you mean.", UserWarning)
        return (1, n_features, 1)


# Integers up to this magnitude convert to float64 exactly.
_EXACT_FLOAT64_INT = 2**53


def as_pixel_values(X, name, negative_reason=None):
    """Validated numeric rows ``X`` as uint8, float32 or float64 pixel values, exactly.

    The dtype rule of the image estimators: uint8 is used as is; integers of
    any other dtype holding only values in [0, 255] become uint8 (the same
    numbers, so the same results as the uint8 image); other integers become
    float64 (exact up to 2**53 in magnitude, refused beyond); floats are
    computed in :func:`skdeep.utils._dtypes.float_dtype`, skdeep's one
    promotion rule (float32 and float64 as they are, float16 in float64,
    exactly); booleans and wider floats are refused.  Nothing is truncated or
    wrapped around.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Rows of pixel values, numeric (already through ``validate_data``).
    name : str
        The estimator's name, for the messages.
    negative_reason : str or None
        Why negative values are refused, or None when they are fine.

    Returns
    -------
    X : ndarray of shape (n_samples, n_features)
        uint8, float32 or float64.

    Raises
    ------
    ValueError
        For boolean or extended-precision input, integers beyond 2**53 in
        magnitude, and negative values when ``negative_reason`` is given.
    """
    kind = X.dtype.kind
    if kind == "b":
        raise ValueError(
            f"{name} got boolean X, which holds no pixel values; pass "
            f"X.astype(np.uint8) * 255 (or another numeric scale) instead.")
    if kind == "f" and X.dtype.itemsize > 8:
        raise ValueError(
            f"{name} cannot convert X of dtype {X.dtype} exactly to float64; "
            f"convert it to float64 (or float32) first if the rounding is acceptable.")
    low, high = (X.min(), X.max()) if X.size and X.dtype != np.uint8 else (0, 0)
    if negative_reason and low < 0:
        # scikit-learn's wording for positive-only estimators
        raise ValueError(f"Negative values in data passed to {name}: {negative_reason}.")
    if X.dtype == np.uint8:
        return X
    if kind == "f":
        return X.astype(float_dtype(X.dtype), copy=False)
    if 0 <= low and high <= 255:
        return X.astype(np.uint8)
    if max(-int(low), int(high)) > _EXACT_FLOAT64_INT:
        raise ValueError(
            f"{name}: X of dtype {X.dtype} holds values up to {max(-int(low), int(high))} "
            f"in magnitude, beyond 2**53, which float64 cannot hold exactly; "
            f"rescale the pixel values first.")
    return X.astype(np.float64)


def rows_to_images(X, image_shape):
    """View the rows of ``X`` as images of shape ``(n_samples, H, W, C)``."""
    return X.reshape((X.shape[0],) + tuple(image_shape))
