"""The parameter constraints of skdeep's estimators, beyond scikit-learn's own.

Every estimator declares its numeric parameters with :class:`NumberInterval`, so
that one rule decides what a number is: scikit-learn's ``Interval`` admits
``True`` and ``False`` as the numbers 1 and 0 (``bool`` is an ``Integral``), and
``reg=True`` or ``n_neighbors=True`` is a typo, not a value.
"""
import numpy as np
from sklearn.utils._param_validation import Interval, Options, StrOptions

from ._dtypes import FLOAT_DTYPES


class NumberInterval(Interval):
    """scikit-learn's ``Interval`` without bools.

    Parameters
    ----------
    type : {numbers.Integral, numbers.Real, "real_not_int"}
        The set of numbers the interval is taken in, as in ``Interval``.
    left : float or int or None
        The left bound; None means no bound.
    right : float, int or None
        The right bound; None means no bound.
    closed : {"left", "right", "both", "neither"}
        Which bounds belong to the interval.

    Examples
    --------
    >>> from numbers import Real
    >>> from skdeep.utils._param_validation import NumberInterval
    >>> reg = NumberInterval(Real, 0, None, closed="left")
    >>> reg.is_satisfied_by(1), reg.is_satisfied_by(True)
    (True, False)
    """

    def is_satisfied_by(self, val):
        """Whether ``val`` is a number (not a bool) inside the interval.

        Parameters
        ----------
        val : object
            The parameter value.

        Returns
        -------
        satisfied : bool
            True when ``val`` is a number of the interval's type, not a bool,
            within the bounds.
        """
        return not isinstance(val, (bool, np.bool_)) and super().is_satisfied_by(val)


def training_dtype_constraints():
    """The constraints of a ``dtype`` parameter: one of the dtypes computations run in.

    Returns
    -------
    constraints : list
        The name of a dtype of :data:`skdeep.utils._dtypes.FLOAT_DTYPES`
        (``'float32'``, ``'float64'``) or its NumPy type.
    """
    return [StrOptions({dtype.name for dtype in FLOAT_DTYPES}),
            Options(type, {dtype.type for dtype in FLOAT_DTYPES})]


def class_weight_constraints():
    """The constraints of a ``class_weight`` parameter, as ``SGDClassifier`` declares it.

    Returns
    -------
    constraints : list
        ``'balanced'``, a dict of class weights, or None; the weights are
        applied by :func:`skdeep.utils._validation.apply_class_weight`.
    """
    return [StrOptions({"balanced"}), dict, None]
