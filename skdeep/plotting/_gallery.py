"""Galleries of images as rows: a few examples per group, one group per row."""
import numpy as np

from ..utils._images import check_image_shape, rows_to_images
from . import _import_pyplot


def _displayable(images):
    """uint8 images as they are; anything else stretched to [0, 1] per image."""
    if images.dtype == np.uint8:
        return images
    images = images.astype(np.float64)
    axes = tuple(range(1, images.ndim))
    low = images.min(axis=axes, keepdims=True)
    span = images.max(axis=axes, keepdims=True) - low
    # a constant image has nothing to stretch: show it mid-grey
    return np.where(span > 0, (images - low) / np.where(span > 0, span, 1), 0.5)


def plot_image_gallery(X, groups, image_shape=None, group_names=None, n_per_group=8,
                       figsize=None):
    """Show up to ``n_per_group`` images of each group, one group per row.

    The CS231n way to look at a classifier's mistakes: pass the misclassified
    test images and their predicted labels as ``groups`` to see, for each
    class, what was mistaken for it.

    Parameters
    ----------
    X : array-like of shape (n_images, n_features)
        Images as rows, flattened channels last. uint8 images are shown as they
        are; other dtypes are stretched to the full grey or colour range image
        by image.
    groups : array-like of shape (n_images,)
        The group of each image, for example its predicted class. Groups are
        shown in sorted order, images within a group in their order in ``X``.
    image_shape : tuple (H, W, C) or (H, W), default=None
        Shape of one image. None infers it: square colour images when
        ``n_features / 3`` is a perfect square, else square grey ones when
        ``n_features`` is (3072 -> (32, 32, 3), 64 -> (8, 8, 1)).
    group_names : mapping or sequence of str, default=None
        Row titles: a mapping from group to name, or a sequence indexed by the
        group (for integer class labels, the class names). None uses the group
        values.
    n_per_group : int, default=8
        Images shown per group, the first ones of each group.
    figsize : tuple of float, default=None
        Figure size in inches; None gives about 1.1 inches per image.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, one row of axes per group; a group's row names it and its
        number of images.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep.plotting import plot_image_gallery
    >>> X, y = load_digits(return_X_y=True)
    >>> fig = plot_image_gallery(X[:100], y[:100], n_per_group=5)  # doctest: +SKIP
    """
    X = np.asarray(X)
    groups = np.asarray(groups)
    if X.ndim != 2:
        raise ValueError(f"X must be 2-D, images as rows; got shape {X.shape}.")
    if groups.shape != (X.shape[0],):
        raise ValueError(
            f"groups must have one entry per image: X has {X.shape[0]} images, "
            f"groups has shape {groups.shape}.")
    if X.shape[0] == 0:
        raise ValueError("X holds no images to show.")
    if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
        raise ValueError("X must hold finite numbers.")
    n_per_group = int(n_per_group)
    if n_per_group < 1:
        raise ValueError(f"n_per_group must be a positive int, got {n_per_group}.")
    shape = check_image_shape(image_shape, X.shape[1])
    images = _displayable(rows_to_images(X, shape))
    grey_max = 255 if images.dtype == np.uint8 else 1
    names = np.unique(groups)

    def title(group):
        if group_names is None:
            return str(group)
        if hasattr(group_names, "keys"):
            return str(group_names.get(group, group))
        return str(group_names[group])

    plt = _import_pyplot()
    if figsize is None:
        figsize = (1.1 * n_per_group + 1.2, 1.1 * len(names))
    fig, axes = plt.subplots(len(names), n_per_group, figsize=figsize, squeeze=False)
    for row, group in zip(axes, names):
        members = np.flatnonzero(groups == group)
        for ax, index in zip(row, list(members[:n_per_group]) + [None] * n_per_group):
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(False)
            if index is None:
                continue
            image = images[index]
            if shape[2] == 3:
                ax.imshow(image, interpolation="nearest")
            else:
                # grey, or a channel count with no colour rendering: the mean
                ax.imshow(image.mean(axis=2), cmap="gray", interpolation="nearest",
                          vmin=0, vmax=grey_max)
        row[0].set_ylabel(f"{title(group)}\n({len(members)})", rotation=0,
                          ha="right", va="center", fontsize=9)
    fig.tight_layout()
    return fig
