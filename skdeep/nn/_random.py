"""Random sources of the network engine (private): the one way they are resolved."""
import numbers

import numpy as np


def as_rng(random_state, name="random_state"):
    """A random source with ``standard_normal``, ``permutation`` and ``choice``.

    ``None`` is NumPy's global random state, as the CS231n code uses it, so
    ``np.random.seed`` makes a run repeatable; an int seeds a new ``RandomState``;
    a ``RandomState`` or ``Generator`` is used as is.  The engine resolves every
    random source through it: the models' initial weights, the dropout masks
    (``dropout_param['seed']`` and ``['rng']``), the Solver's batches and the
    positions :func:`~skdeep.nn.gradcheck.grad_check_sparse` samples.  ``name``
    is the argument named in the error.

    skdeep's estimators resolve their ``random_state`` as scikit-learn's do
    (``sklearn.utils.check_random_state``): with an int or a ``RandomState`` they
    never touch NumPy's global state, and with ``None`` they draw from it (the
    networks draw one seed for their own Generators, the linear classifiers their
    batches), which advances it and makes ``np.random.seed`` repeat their fits.
    """
    if random_state is None:
        return np.random.mtrand._rand
    if isinstance(random_state, (np.random.RandomState, np.random.Generator)):
        return random_state
    if isinstance(random_state, numbers.Integral) and not isinstance(random_state, bool):
        return np.random.RandomState(int(random_state))
    raise ValueError(
        f"{name} must be None, an int, a numpy.random.RandomState or a "
        f"numpy.random.Generator, got {random_state!r}."
    )


def random_index(rng, shape):
    """A uniformly drawn position in an array of ``shape``, from a source of
    :func:`as_rng` (a ``Generator`` draws integers with ``integers``, a
    ``RandomState`` with ``randint``)."""
    draw = rng.integers if isinstance(rng, np.random.Generator) else rng.randint
    return tuple(int(draw(size)) for size in shape)
