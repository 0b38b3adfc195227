"""Numerical gradients, to check analytic backward passes against.

Use float64 arrays: centered differences with ``h=1e-5`` in float32 carry errors
around 1e-2, which hide real bugs.
"""
import numpy as np

from ._checks import check_array, check_int, check_number, check_shape
from ._random import as_rng, random_index


def _check_point(x, h):
    """``x`` is perturbed in place: an integer array would round ``x + h`` back to
    ``x`` and give a silent zero gradient, and a copy would not be seen by an ``f``
    that reads ``x`` through shared state."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy array (it is perturbed in place), got "
                        f"{type(x).__name__}.")
    check_array(x, "x", floating=True)
    if not x.flags.writeable:
        raise ValueError("x must be writeable: it is perturbed in place.")
    check_number(h, "h", low=0, low_open=True)


def _indices(x):
    """Every index of ``x``, in the order NumPy's iterator visits its memory."""
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        yield it.multi_index
        it.iternext()


def _around(f, x, ix, h, read=None):
    """``f(x)`` with ``x[ix]`` moved by ``+h``, then by ``-h``; ``x[ix]`` restored.

    ``read`` takes what ``f`` returns before ``x`` moves again (a copy, for an
    ``f`` that returns a view of shared state).
    """
    old = x[ix]
    try:
        x[ix] = old + h
        pos = f(x) if read is None else read(f(x))
        x[ix] = old - h
        neg = f(x) if read is None else read(f(x))
    finally:
        x[ix] = old
    return pos, neg


def _partial(f, x, ix, h):
    """Centered-difference derivative of the scalar ``f`` along ``x[ix]``."""
    fxph, fxmh = _around(f, x, ix, h)
    return (fxph - fxmh) / (2 * h)


def eval_numerical_gradient(f, x, verbose=True, h=1e-5):
    """Centered-difference gradient of a scalar function at ``x``.

    Each element of ``x`` is perturbed in place by ``+h`` and ``-h`` and then
    restored, so ``f`` may ignore its argument and read ``x`` through shared state
    (for example a model's ``params`` dict holding ``x``).

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar.
    x : ndarray of float
        Point at which to differentiate; modified during the call and restored.
    verbose : bool, default=True
        Print each index and its gradient.
    h : float, default=1e-5
        Step of the centered difference.

    Returns
    -------
    grad : ndarray of the shape of ``x``
        The numerical gradient.
    """
    _check_point(x, h)
    grad = np.zeros_like(x)
    for ix in _indices(x):
        grad[ix] = _partial(f, x, ix, h)
        if verbose:
            print(ix, grad[ix])
    return grad


def eval_numerical_gradient_array(f, x, df, h=1e-5):
    """Centered-difference gradient of an array-valued function, contracted with ``df``.

    Returns the gradient of ``sum(f(x) * df)`` with respect to ``x``, which is what a
    backward pass receiving the upstream gradient ``df`` must return.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns an array of the shape of ``df``.
    x : ndarray of float
        Point at which to differentiate; modified during the call and restored.
    df : ndarray
        Upstream gradient.
    h : float, default=1e-5
        Step of the centered difference.

    Returns
    -------
    grad : ndarray of the shape of ``x``
        Numerical gradient of ``sum(f(x) * df)`` with respect to ``x``.
    """
    _check_point(x, h)
    df = check_array(df, "df")
    grad = np.zeros_like(x)
    for ix in _indices(x):
        pos, neg = _around(f, x, ix, h, read=lambda value: np.array(value, copy=True))
        # a df of another shape would broadcast into a wrong gradient
        check_shape(df, "df", pos.shape, "(the shape of f(x))")
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
    return grad


def grad_check_sparse(f, x, analytic_grad, num_checks=10, h=1e-5, random_state=None):
    """Compare an analytic gradient with centered differences at random positions.

    Prints the numerical value, the analytic value and their relative error for
    each sampled position.

    Parameters
    ----------
    f : callable
        ``f(x)`` returns a scalar.
    x : ndarray of float
        Point at which to check; modified during the call and restored.
    analytic_grad : ndarray of the shape of ``x``
        The gradient to check.
    num_checks : int, default=10
        Number of random positions.
    h : float, default=1e-5
        Step of the centered difference.
    random_state : None, int, RandomState or Generator, default=None
        Chooses the positions: None draws them from NumPy's global random state,
        as the CS231n notebooks do (``np.random.seed`` repeats them), an int seeds
        a ``RandomState`` of its own, and a ``RandomState`` or ``Generator`` is
        drawn from as is.

    Returns
    -------
    rel_errors : ndarray of shape (num_checks,)
        The relative error at each position.
    """
    _check_point(x, h)
    analytic_grad = check_array(analytic_grad, "analytic_grad")
    check_shape(analytic_grad, "analytic_grad", x.shape, "(the shape of x)")
    num_checks = check_int(num_checks, "num_checks")
    rng = as_rng(random_state)
    errors = np.empty(num_checks)
    for i in range(num_checks):
        ix = random_index(rng, x.shape)
        grad_numerical = _partial(f, x, ix, h)
        grad_analytic = analytic_grad[ix]
        denom = abs(grad_numerical) + abs(grad_analytic)
        errors[i] = abs(grad_numerical - grad_analytic) / denom if denom > 0 else 0.0
        print(f"numerical: {grad_numerical:f} analytic: {grad_analytic:f}, "
              f"relative error: {errors[i]:e}")
    return errors


def rel_error(x, y):
    """Largest elementwise relative error, ``max(|x - y| / max(1e-8, |x| + |y|))``.

    Parameters
    ----------
    x : array-like
        One array, for example an analytic gradient.
    y : array-like of the shape of ``x``
        The other, for example a numerical gradient.

    Returns
    -------
    error : float
        The largest relative error over all elements.

    Raises
    ------
    ValueError
        When the shapes differ: broadcasting would compare the wrong elements.
    TypeError
        When an argument does not hold real numbers.
    """
    x = check_array(x, "x")
    y = check_array(y, "y")
    check_shape(y, "y", x.shape, "(the shape of x)")
    x = x.astype(np.float64, copy=False)
    y = y.astype(np.float64, copy=False)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))
