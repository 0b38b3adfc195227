"""The floating dtype a computation runs in (private): the one rule skdeep follows.

float32 stays float32 and float64 stays float64; anything else (booleans,
integers, float16, long double) is computed in float64.  The compiled kernels and
the BLAS products exist in those two precisions only, and float32 is the one
reduced precision worth its rounding: it halves memory traffic, as deep learning
frameworks use it.  Every site that picks a computing dtype (the layers, the
update rules, the networks' ``dtype``) asks :func:`float_dtype`, so the same
inputs give the same dtype everywhere.
"""
import numpy as np

__all__ = ["FLOAT_DTYPES", "float_dtype"]

#: The dtypes computations run in.
FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def float_dtype(*arrays_or_dtypes):
    """The dtype to compute in for these operands: float32 or float64.

    Parameters
    ----------
    *arrays_or_dtypes : ndarray or dtype
        The operands (or their dtypes), as :func:`numpy.result_type` takes them.

    Returns
    -------
    dtype : numpy.dtype
        Their common dtype when it is float32 or float64, else float64.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.utils._dtypes import float_dtype
    >>> float_dtype(np.float32), float_dtype(np.float16), float_dtype(np.uint8)
    (dtype('float32'), dtype('float64'), dtype('float64'))
    """
    dtype = np.result_type(*arrays_or_dtypes)
    return dtype if dtype in FLOAT_DTYPES else np.dtype(np.float64)
