"""Argument checks shared by skdeep's modules (private): the one place they live.

They refuse malformed input with a message naming the argument instead of letting
it broadcast into a wrong result or fail deep inside NumPy, and are cheap on the
hot path: they read shapes, dtypes and (for labels) one minimum and maximum, and
never copy an array.  The checks particular to the network engine (settings modes,
caches) are in :mod:`skdeep.nn._checks`, which re-exports these.

Conventions: a wrong type or dtype raises :class:`TypeError`, a wrong value, rank
or shape raises :class:`ValueError`; every message starts with the argument's name.
"""
import math
import numbers

import numpy as np

__all__ = [
    "check_array", "check_shape", "check_labels", "check_dict", "check_choice",
    "check_number", "check_int",
]

# bool, unsigned and signed integers, floats: the dtypes a layer computes on;
# complex, object, string and datetime arrays are refused
_REAL_KINDS = "buif"


def _describe_shape(shape):
    return "(" + ", ".join("*" if s is None else str(s) for s in shape) + (
        ",)" if len(shape) == 1 else ")")


def check_array(x, name, *, ndim=None, min_ndim=None, floating=False, shape_doc=None):
    """Return ``x`` as an ndarray of real numbers, refusing a wrong rank or dtype.

    Parameters
    ----------
    x : array-like
        The argument; an ndarray is returned as is (never copied).
    name : str
        Its name, for the message.
    ndim : int, default=None
        The exact number of dimensions required.
    min_ndim : int, default=None
        The least number of dimensions required.
    floating : bool, default=False
        Require a floating dtype (for arrays written in place or whose precision
        matters, such as gradient-check inputs).
    shape_doc : str, default=None
        The documented shape, such as ``"(N, D)"``, quoted in the message.

    Returns
    -------
    x : ndarray

    Raises
    ------
    TypeError
        When ``x`` does not hold real numbers (or floats, with ``floating``).
    ValueError
        When its number of dimensions is wrong.
    """
    if not isinstance(x, np.ndarray):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be an array of numbers: {exc}") from None
    kinds = "f" if floating else _REAL_KINDS
    if x.dtype.kind not in kinds:
        what = "floating point numbers" if floating else "real numbers"
        raise TypeError(f"{name} must be an array of {what}, got dtype {x.dtype}.")
    doc = f" of shape {shape_doc}" if shape_doc else ""
    if ndim is not None and x.ndim != ndim:
        raise ValueError(
            f"{name} must be a {ndim}-D array{doc}, got an array of shape {x.shape}."
        )
    if min_ndim is not None and x.ndim < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimensions{doc}, got an array of "
            f"shape {x.shape}."
        )
    return x


def check_shape(x, name, shape, reason=""):
    """Refuse an array whose shape differs from ``shape``.

    Parameters
    ----------
    x : ndarray
        The argument, already through :func:`check_array`.
    name : str
        Its name, for the message.
    shape : tuple of int or None
        The required shape; None matches any size along that axis.
    reason : str, default=""
        Why, appended to the message (for example ``"to match x"``).

    Raises
    ------
    ValueError
        When the shapes differ.
    """
    if len(x.shape) != len(shape) or any(
            s is not None and s != t for s, t in zip(shape, x.shape)):
        reason = f" {reason}" if reason else ""
        raise ValueError(
            f"{name} must have shape {_describe_shape(shape)}{reason}, got shape "
            f"{x.shape}."
        )


def check_labels(y, n_samples, n_classes=None, name="y"):
    """Return ``y`` as a vector of ``n_samples`` integer labels in ``[0, n_classes)``.

    Parameters
    ----------
    y : array-like
        The labels; an ndarray is returned as is.
    n_samples : int
        Number of labels required (the rows of the scores or inputs).
    n_classes : int, default=None
        Labels must be below it; None checks only that they are non-negative.
    name : str, default="y"
        The argument's name, for the message.

    Returns
    -------
    y : ndarray of shape (n_samples,)

    Raises
    ------
    TypeError
        When the labels are not integers.
    ValueError
        When ``y`` is not 1-D, has the wrong length or a label out of range.
    """
    if not isinstance(y, np.ndarray):
        y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise TypeError(
            f"{name} must hold integer class labels in [0, n_classes), got dtype "
            f"{y.dtype}."
        )
    if y.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array of shape ({n_samples},), got an array of "
            f"shape {y.shape}."
        )
    if y.shape[0] != n_samples:
        raise ValueError(
            f"{name} has {y.shape[0]} labels but there are {n_samples} samples."
        )
    if n_samples:
        low, high = int(y.min()), int(y.max())
        if low < 0:
            raise ValueError(
                f"{name} holds the label {low}; labels must be in [0, n_classes) "
                f"(negative labels do not count from the end)."
            )
        if n_classes is not None and high >= n_classes:
            raise ValueError(
                f"{name} holds the label {high} but there are only {n_classes} "
                f"classes (columns of scores); labels must be in [0, {n_classes})."
            )
    return y


def check_dict(param, name, required=()):
    """Refuse a settings argument that is not a dict or lacks a required key.

    Parameters
    ----------
    param : object
        The argument (``bn_param``, ``dropout_param``, ``config``...).
    name : str
        Its name, for the message.
    required : sequence of str, default=()
        Keys that must be present.

    Raises
    ------
    TypeError
        When ``param`` is not a dict.
    ValueError
        When a required key is missing.
    """
    if not isinstance(param, dict):
        raise TypeError(f"{name} must be a dict, got {type(param).__name__}.")
    for key in required:
        if key not in param:
            raise ValueError(f"{name} must have the key {key!r}.")


def check_choice(value, name, choices):
    """Refuse a value (a string such as a mode or a rule name) not in ``choices``.

    Parameters
    ----------
    value : object
    name : str
        Its name, for the message.
    choices : sequence

    Returns
    -------
    value : object

    Raises
    ------
    ValueError
        When ``value`` is not one of ``choices``.
    """
    try:
        ok = value in choices
    except TypeError:  # unhashable value against a set or dict
        ok = False
    if not ok:
        names = [repr(c) for c in choices]
        listed = (names[0] if len(names) == 1
                  else f"{', '.join(names[:-1])} or {names[-1]}")
        one_of = "one of " if len(names) > 2 else ""
        raise ValueError(f"{name} must be {one_of}{listed}, got {value!r}.")
    return value


def check_number(value, name, *, low=None, high=None, low_open=False, high_open=False):
    """Return ``value`` as a float after checking it is a finite real in range.

    Parameters
    ----------
    value : object
    name : str
        Its name, for the message.
    low, high : float, default=None
        Bounds; None for none.
    low_open, high_open : bool, default=False
        Whether the bound itself is excluded.

    Returns
    -------
    value : float

    Raises
    ------
    TypeError
        When ``value`` is not a real number (bools are refused).
    ValueError
        When it is not finite or out of range.
    """
    if (not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_))):
        raise TypeError(f"{name} must be a real number, got {value!r}.")
    value = float(value)
    low_ok = low is None or (value > low if low_open else value >= low)
    high_ok = high is None or (value < high if high_open else value <= high)
    if not (math.isfinite(value) and low_ok and high_ok):
        if low is not None and high is not None:
            what = (f" in {'(' if low_open else '['}{low:g}, {high:g}"
                    f"{')' if high_open else ']'}")
        elif low is not None:
            what = f" {'>' if low_open else '>='} {low:g}"
        elif high is not None:
            what = f" {'<' if high_open else '<='} {high:g}"
        else:
            what = ""
        raise ValueError(f"{name} must be a finite number{what}, got {value!r}.")
    return value


def check_int(value, name, *, low=1, allow_none=False):
    """Return ``value`` as an int after checking it is an integer ``>= low``.

    Parameters
    ----------
    value : object
    name : str
        Its name, for the message.
    low : int, default=1
        The least value accepted.
    allow_none : bool, default=False
        Whether None is accepted (and returned).

    Returns
    -------
    value : int or None

    Raises
    ------
    TypeError
        When ``value`` is not an integer (bools are refused).
    ValueError
        When it is below ``low``.
    """
    if value is None and allow_none:
        return None
    if not isinstance(value, numbers.Integral) or isinstance(value, (bool, np.bool_)):
        none = " or None" if allow_none else ""
        raise TypeError(f"{name} must be an int{none}, got {value!r}.")
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    return int(value)
