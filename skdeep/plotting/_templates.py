"""Class templates: the weights of a linear classifier seen as images."""
import numpy as np
from sklearn.utils.validation import check_is_fitted

from ..utils._images import check_image_shape
from . import _import_pyplot


def _weights_and_names(templates):
    """``(weights, class_names)`` from an estimator, a pipeline or an array."""
    if hasattr(templates, "steps"):  # a Pipeline: its last step holds the weights
        templates = templates.steps[-1][1]
    if hasattr(templates, "fit"):
        check_is_fitted(templates)
        if not hasattr(templates, "coef_"):
            raise TypeError(
                f"{type(templates).__name__} has no coef_ attribute: "
                f"plot_class_templates needs a linear classifier or its weights."
            )
        return np.asarray(templates.coef_), getattr(templates, "classes_", None)
    return np.asarray(templates), None


def plot_class_templates(templates, image_shape=None, class_names=None, n_cols=None,
                         figsize=None):
    """Show the weights of each class as an image, the class's "template".

    A linear classifier scores an image by its dot product with one weight vector
    per class, so each weight vector, unflattened, is the picture the class
    responds to most.  All templates share one colour scale (the smallest weight
    is black, the largest white), so they can be compared with one another.

    Parameters
    ----------
    templates : estimator, Pipeline or array-like of shape (n_classes, n_features)
        A fitted linear classifier with ``coef_`` of shape (n_classes, n_features)
        such as :class:`skdeep.LinearSVMClassifier`, a pipeline ending in one, or
        the weights themselves, one row per class.  Each row is an image flattened
        in channels-last order, like the rows of ``X``.
    image_shape : tuple (H, W, C) or (H, W), default=None
        Shape of one image.  None infers it: square colour images when
        ``n_features / 3`` is a perfect square, else square grey ones when
        ``n_features`` is (for example 3072 -> (32, 32, 3), 64 -> (8, 8, 1)).
    class_names : sequence of str, default=None
        Titles, one per class.  None uses the estimator's ``classes_``, or the
        row numbers for a bare array.
    n_cols : int, default=None
        Templates per row of the figure; None puts up to 10 on a row.
    figsize : tuple of float, default=None
        Figure size in inches; None gives about 1.3 inches per template.

    Returns
    -------
    fig : matplotlib.figure.Figure
        The figure, one axes per class.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep.linear_model import SoftmaxClassifier
    >>> from skdeep.plotting import plot_class_templates
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = SoftmaxClassifier(learning_rate=1e-3, random_state=0).fit(X, y)
    >>> fig = plot_class_templates(clf)  # ten 8x8 grey templates  # doctest: +SKIP
    """
    weights, names = _weights_and_names(templates)
    if weights.ndim == 1:
        weights = weights[np.newaxis, :]
    if weights.ndim != 2 or weights.shape[0] == 0:
        raise ValueError(
            f"templates must hold one row of weights per class, shape "
            f"(n_classes, n_features); got shape {weights.shape}."
        )
    if not np.all(np.isfinite(weights)):
        raise ValueError("templates contain NaN or infinite weights.")
    n_classes, n_features = weights.shape
    height, width, channels = check_image_shape(image_shape, n_features)
    if class_names is None:
        class_names = names if names is not None else range(n_classes)
    class_names = [str(name) for name in class_names]
    if len(class_names) != n_classes:
        raise ValueError(
            f"class_names has {len(class_names)} names for {n_classes} templates."
        )
    if n_cols is None:
        n_cols = min(n_classes, 10)
    n_cols = int(n_cols)
    if n_cols < 1:
        raise ValueError(f"n_cols must be a positive int, got {n_cols}.")
    n_rows = -(-n_classes // n_cols)

    low, high = weights.min(), weights.max()
    # One scale for all classes, as in CS231n; constant weights map to mid-grey.
    span = high - low if high > low else 1.0
    images = ((weights - low) / span).reshape(n_classes, height, width, channels)
    if high == low:
        images[...] = 0.5

    plt = _import_pyplot()
    if figsize is None:
        figsize = (1.3 * n_cols, 1.45 * n_rows)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=figsize, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n_classes:
            continue
        if channels == 1:
            ax.imshow(images[i, :, :, 0], cmap="gray", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
        elif channels == 3:
            ax.imshow(images[i], interpolation="nearest")
        else:
            # no colour rendering for other channel counts: show their mean
            ax.imshow(images[i].mean(axis=2), cmap="gray", vmin=0.0, vmax=1.0,
                      interpolation="nearest")
        ax.set_title(class_names[i], fontsize=9)
    fig.tight_layout()
    return fig
