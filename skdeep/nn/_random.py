"""Random sources of the network engine (private)."""
import numbers

import numpy as np


def as_rng(random_state):
    """A random source with ``standard_normal``, ``permutation`` and ``choice``.

    ``None`` is NumPy's global random state, as the CS231n code uses it, so
    ``np.random.seed`` makes a run repeatable; an int seeds a new ``RandomState``;
    a ``RandomState`` or ``Generator`` is used as is.  skdeep's estimators always
    pass a ``Generator`` of their own, so they never touch the global state.
    """
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.RandomState(int(random_state))
    raise ValueError(
        f"random_state must be None, an int, a numpy.random.RandomState or a "
        f"numpy.random.Generator, got {random_state!r}."
    )
