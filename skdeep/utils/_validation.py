"""Label encoding, class weights and row chunking shared by the estimators."""
from numbers import Real

import numpy as np
from sklearn.utils import compute_class_weight, gen_batches
from sklearn.utils._chunking import get_chunk_n_rows
from sklearn.utils.multiclass import check_classification_targets


def check_at_least_two_classes(estimator, classes):
    """Raise scikit-learn's error unless ``classes`` holds two classes or more.

    Parameters
    ----------
    estimator : estimator instance
        Named in the message.
    classes : ndarray of shape (n_classes,)
        The classes found in (or declared for) the training labels.
    """
    if len(classes) < 2:
        found = repr(classes[0].item() if hasattr(classes[0], "item") else classes[0])
        raise ValueError(
            f"{type(estimator).__name__} needs samples of at least 2 classes in the "
            f"data, but the data contains only one class: {found}."
        )


def _check_uniform_label_types(y):
    """Refuse labels mixing strings and numbers, which cannot be sorted.

    NumPy (and scikit-learn's own checks, which sort) would fail with
    ``'<' not supported between instances of 'int' and 'str'``.
    """
    is_str = np.fromiter((isinstance(label, str) for label in y), dtype=bool, count=len(y))
    if is_str.any() and not is_str.all():
        examples = [y[np.argmax(is_str)], y[np.argmin(is_str)]]
        raise ValueError(
            f"Mix of label input types (string and number) in y, for example "
            f"{examples[0]!r} and {examples[1]!r}: labels must be all strings or "
            f"all numbers.")


def encode_labels(estimator, y, min_classes=2):
    """Classes and integer-encoded labels of ``y``, with scikit-learn's checks.

    Refuses continuous targets and labels mixing strings and numbers (with
    scikit-learn's own messages, rather than NumPy's ``'<' not supported``), and
    fewer than ``min_classes`` classes.

    Parameters
    ----------
    estimator : estimator instance
        Named in the messages.
    y : ndarray of shape (n_samples,)
        Validated labels, of any type.
    min_classes : {1, 2}, default=2
        2 refuses data of one class (a classifier that must separate
        classes); 1 accepts it (nearest neighbours, which only vote).

    Returns
    -------
    classes : ndarray of shape (n_classes,)
        Sorted distinct labels.
    y_encoded : ndarray of int of shape (n_samples,)
        Index of each label in ``classes``.
    """
    if y.dtype == object:
        _check_uniform_label_types(y)
    check_classification_targets(y)
    classes, y_encoded = np.unique(y, return_inverse=True)
    if min_classes == 2:
        check_at_least_two_classes(estimator, classes)
    return classes, y_encoded.reshape(-1)


def _check_class_weight_dict(class_weight, classes):
    """Refuse a ``class_weight`` dict with unknown labels or weights that are no weights."""
    known = set(classes.tolist())
    unknown = [label for label in class_weight if label not in known]
    if unknown:
        raise ValueError(
            f"class_weight has labels {unknown!r} that are not classes of y; the "
            f"classes are {classes.tolist()!r}."
        )
    for label, weight in class_weight.items():
        if (not isinstance(weight, Real) or isinstance(weight, (bool, np.bool_))
                or not 0 <= weight < np.inf):
            raise ValueError(
                f"class_weight must map each label to a non-negative number; got "
                f"{weight!r} for label {label!r}."
            )


def apply_class_weight(estimator, y, sample_weight, classes=None, incremental=False):
    """``sample_weight`` times the weight of each sample's class, as ``SGDClassifier``.

    ``estimator.class_weight`` is None (weights unchanged), ``'balanced'``
    (class ``c`` weighs ``n_samples / (n_classes * count(c))``, counted in
    ``y``, so the result is ``compute_sample_weight('balanced', y)`` when
    ``sample_weight`` is None) or a dict ``{label: weight}`` (absent classes
    weigh 1).

    Parameters
    ----------
    estimator : estimator instance
        Its ``class_weight`` is applied; it is named in the messages.
    y : ndarray of shape (n_samples,)
        Validated labels, of any type.
    sample_weight : ndarray of shape (n_samples,) or None
        Validated non-negative weights; None means ones.
    classes : array-like of shape (n_classes,), default=None
        With ``incremental``, the classes declared to ``partial_fit``, which a
        dict's labels may name although ``y`` lacks them; ``classes_`` of a
        fitted estimator when None.  Otherwise the classes are those of ``y``.
    incremental : bool, default=False
        Whether the weights are for ``partial_fit``, where ``'balanced'`` is
        refused: one call's counts are not the data's.

    Returns
    -------
    sample_weight : ndarray of shape (n_samples,) or None
        None only when both ``class_weight`` and ``sample_weight`` are None.

    Raises
    ------
    ValueError
        When a dict names a label that is not a class, or maps one to a
        negative or non-numeric weight; when ``'balanced'`` is asked of
        ``partial_fit``; when no sample keeps a positive weight.
    """
    class_weight = estimator.class_weight
    if class_weight is None:
        return sample_weight
    if incremental and isinstance(class_weight, str):
        raise ValueError(
            f"class_weight={class_weight!r} is not supported by partial_fit: one "
            f"call's class counts are not the data's. Compute the weights on the "
            f"whole training target with sklearn.utils.compute_class_weight("
            f"{class_weight!r}, classes=classes, y=y) and pass them as a dict."
        )
    y_classes, y_encoded = encode_labels(estimator, y, min_classes=1)
    if isinstance(class_weight, str):
        weights = compute_class_weight(class_weight, classes=y_classes, y=y)
    else:
        if incremental and classes is None:
            classes = getattr(estimator, "classes_", None)
        _check_class_weight_dict(
            class_weight, y_classes if classes is None else np.asarray(classes))
        weights = np.array([float(class_weight.get(c, 1.0)) for c in y_classes])
    weights = weights[y_encoded]
    if sample_weight is not None:
        weights *= sample_weight
    if not weights.any():
        raise ValueError(
            f"class_weight={class_weight!r} leaves every sample a weight of zero"
            + ("" if sample_weight is None else " (with sample_weight)") + "."
        )
    return weights


def row_chunks(n_rows, bytes_per_row, working_memory=None, max_n_rows=None):
    """Slices over ``n_rows`` rows whose temporaries fit in ``working_memory``.

    The one way skdeep bounds the memory of row-by-row work: scikit-learn's
    ``get_chunk_n_rows`` and ``gen_batches``, so ``working_memory`` defaults to
    ``sklearn.get_config()["working_memory"]`` (and ``sklearn.config_context``
    changes it).

    Parameters
    ----------
    n_rows : int
        Number of rows to cover.
    bytes_per_row : int
        Temporary bytes one row of a chunk needs.
    working_memory : float, default=None
        Megabytes (MiB) the temporaries of one chunk may take; scikit-learn's
        setting when None.  A chunk holds at least one row.
    max_n_rows : int, default=None
        Upper bound on the rows of a chunk.

    Returns
    -------
    chunks : generator of slice
        Consecutive slices covering ``range(n_rows)``.
    """
    chunk = get_chunk_n_rows(row_bytes=max(1, int(bytes_per_row)), max_n_rows=max_n_rows,
                             working_memory=working_memory)
    return gen_batches(n_rows, max(1, chunk))
