"""The filters of a convolutional layer as one image grid."""
import math

import numpy as np

from . import _import_pyplot


def _first_layer_weights(filters):
    """The filters (F, C, HH, WW) that see the pixels, from an estimator, model or array.

    A whitened net's first layer is its frozen ``W0`` (``frozen_params``): its
    ``W1`` sees the whitened channels, whose mean over channels shows nothing.
    """
    model = getattr(filters, "model_", filters)
    params = getattr(model, "params", None)
    if params is not None:
        params = {**params, **(getattr(model, "frozen_params", None) or {})}
        weights = np.asarray(params["W0"] if "W0" in params else params["W1"])
    else:
        weights = np.asarray(filters)
    if weights.ndim != 4:
        raise ValueError(
            f"filters must be a fitted ConvNetClassifier, a ConvNet or an array of "
            f"shape (F, C, HH, WW); got an array of shape {weights.shape}."
        )
    return weights


def filter_grid(weights, padding=1):
    """Filters (F, C, HH, WW) tiled into one image, each stretched to [0, 1].

    Parameters
    ----------
    weights : ndarray of shape (F, C, HH, WW)
        The filters.
    padding : int, default=1
        Pixels of background between filters.

    Returns
    -------
    grid : ndarray of shape (rows * (HH + padding) - padding, cols * (WW + padding) -
        padding, 3 or 1)
        RGB when C is 3, else grey (the mean over the channels); the filters fill
        the grid row by row in a square-ish layout, the background is 0.
    """
    weights = np.asarray(weights, dtype=np.float64)
    n_filters, channels, height, width = weights.shape
    images = weights.transpose(0, 2, 3, 1)
    if channels != 3:
        images = images.mean(axis=3, keepdims=True)
    # each filter on its own scale, as the CS231n notebooks show them: what matters
    # is the pattern, and filters of very different norms would otherwise vanish
    low = images.min(axis=(1, 2, 3), keepdims=True)
    span = images.max(axis=(1, 2, 3), keepdims=True) - low
    images = np.where(span > 0, (images - low) / np.where(span > 0, span, 1), 0.5)
    cols = math.ceil(math.sqrt(n_filters))
    rows = math.ceil(n_filters / cols)
    grid = np.zeros((rows * (height + padding) - padding,
                     cols * (width + padding) - padding, images.shape[3]))
    for k, image in enumerate(images):
        r, c = divmod(k, cols)
        top, left = r * (height + padding), c * (width + padding)
        grid[top:top + height, left:left + width] = image
    return grid


def plot_conv_filters(filters, *, padding=1, ax=None, title=None):
    """Show the filters of a network's first conv layer as one grid of images.

    The CS231n notebooks' look at what a convnet learnt: trained first-layer
    filters of an image net are oriented edges and colour blobs, while random
    ones are noise.

    Parameters
    ----------
    filters : ConvNetClassifier, ConvNet or ndarray of shape (F, C, HH, WW)
        A fitted :class:`skdeep.ConvNetClassifier`, a model of
        :mod:`skdeep.nn.models` with ``params["W1"]`` of a conv layer, or the
        filters themselves.  Of a net with ``whitening``, the frozen whitening
        filters (``frozen_params["W0"]``) are shown: they are the layer that sees
        the pixels.
    padding : int, default=1
        Pixels of black between filters.
    ax : matplotlib Axes, default=None
        Where to draw; None makes a new figure.
    title : str, default=None
        Title of the axes; None says how many filters of which size are shown.

    Returns
    -------
    ax : matplotlib Axes
        The axes holding the grid, one image of every filter stretched to its
        own range; RGB filters (C = 3) in colour, others as the grey mean over
        their channels.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.plotting import plot_conv_filters
    >>> ax = plot_conv_filters(np.random.randn(32, 3, 7, 7))  # doctest: +SKIP
    """
    weights = _first_layer_weights(filters)
    padding = int(padding)
    if padding < 0:
        raise ValueError(f"padding must be a non-negative int, got {padding}.")
    grid = filter_grid(weights, padding)
    plt = _import_pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 5))
    if grid.shape[2] == 3:
        ax.imshow(grid, interpolation="nearest")
    else:
        ax.imshow(grid[:, :, 0], cmap="gray", interpolation="nearest", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([])
    n_filters, channels, height, width = weights.shape
    ax.set_title(title if title is not None else
                 f"{n_filters} filters of {height}x{width}x{channels}")
    return ax
