"""Exceptions raised by skdeep, and the rule that decides when training diverged.

The rule (:class:`DivergenceMonitor`, :func:`check_finite_loss`) lives with the
training code in ``skdeep.utils._divergence`` and is public here.
"""
import importlib

__all__ = ["DivergenceError", "DivergenceMonitor", "check_finite_loss"]


class DivergenceError(FloatingPointError):
    """Training diverged: the loss became non-finite or exploded.

    Raised instead of returning NaN, infinite or meaningless weights.  The message
    names the learning rate, which is the usual culprit.  See
    :class:`DivergenceMonitor` for the rule.
    """


# public here, defined beside the training loops; imported on first use, since
# that module imports DivergenceError from this one
_RULE = ("DivergenceMonitor", "check_finite_loss")


def __getattr__(name):
    if name in _RULE:
        value = getattr(importlib.import_module("skdeep.utils._divergence"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_RULE))
