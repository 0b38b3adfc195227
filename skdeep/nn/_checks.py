"""Argument checks of the network engine (private).

Every public function of :mod:`skdeep.nn` checks its arguments at entry with these
helpers, so that malformed input is refused with a message naming the argument
instead of broadcasting into a wrong result or failing deep inside NumPy; a
backward function checks its cache too.  The generic checks (arrays, shapes,
labels, numbers, dicts) live in :mod:`skdeep.utils._checks`, shared with the
linear models, and are re-exported here; the ones below are the engine's own:
the ``mode`` of a settings dict and the cache tuples of the backward passes.

Conventions: a wrong type or dtype raises :class:`TypeError`, a wrong value, rank
or shape raises :class:`ValueError`; every message starts with the argument's name.
"""
from ..utils._checks import (
    check_array,
    check_choice,
    check_dict,
    check_int,
    check_labels,
    check_number,
    check_shape,
)

__all__ = [
    "check_array", "check_shape", "check_labels", "check_dict", "check_mode",
    "check_number", "check_int", "check_cache", "check_choice", "MODES",
]

#: The modes of a settings dict (``bn_param['mode']``, ``dropout_param['mode']``).
MODES = ("train", "test")


def check_mode(param, name):
    """The ``'mode'`` of a settings dict, which must be ``'train'`` or ``'test'``.

    Parameters
    ----------
    param : dict
    name : str
        The dict's name, for the message.

    Returns
    -------
    mode : {'train', 'test'}

    Raises
    ------
    TypeError, ValueError
        When ``param`` is not a dict or its mode is missing or unknown.
    """
    check_dict(param, name, required=("mode",))
    return check_choice(param["mode"], f"{name}['mode']", MODES)


def _type_names(kind):
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = ["None" if k is type(None) else k.__name__ for k in kinds]
    return " or ".join(names)


def check_cache(cache, length, producer, name="cache", types=None):
    """Refuse a cache that is not the tuple ``producer`` returns in train mode.

    A backward function calls it first, so that a cache from another layer, from
    a test-mode forward pass or of the wrong shape of tuple is refused with a
    message naming the cache and its producer, not found out deep inside the
    backward pass.  It reads types and lengths only.

    Parameters
    ----------
    cache : object
        The ``cache`` argument of a backward function.
    length : int
        Number of entries of the cache tuple.
    producer : str
        The forward function that makes it, named in the message.
    name : str, default="cache"
        The cache's name, for the message (``"cache[1]"`` for a nested cache).
    types : sequence of (type, tuple of types or None), default=None
        The type of each entry, as ``isinstance`` takes it; None accepts anything.

    Raises
    ------
    ValueError
        When ``cache`` is None (a forward run in test mode keeps no cache), is
        not a tuple of ``length`` entries, or an entry is not of its type.
    """
    if cache is None:
        raise ValueError(
            f"{name} is None: {producer} keeps no cache in test mode; run it in "
            f"train mode to compute gradients."
        )
    if not isinstance(cache, tuple) or len(cache) != length:
        raise ValueError(
            f"{name} must be the tuple of {length} entries returned by {producer}, "
            f"got {type(cache).__name__}"
            f"{f' of {len(cache)} entries' if isinstance(cache, tuple) else ''}."
        )
    for i, (entry, kind) in enumerate(zip(cache, types or ())):
        if kind is not None and not isinstance(entry, kind):
            raise ValueError(
                f"{name} must be the tuple returned by {producer}, but its entry {i} "
                f"is {type(entry).__name__}, not {_type_names(kind)}."
            )
