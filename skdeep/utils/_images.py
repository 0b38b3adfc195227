"""Images as rows: the flattening convention of every image estimator."""
import math

import numpy as np


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


def rows_to_images(X, image_shape):
    """View the rows of ``X`` as images of shape ``(n_samples, H, W, C)``."""
    return X.reshape((X.shape[0],) + tuple(image_shape))
