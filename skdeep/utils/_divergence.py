"""The rule that decides when training diverged (private; public in skdeep.exceptions).

Every training loop (the linear classifiers' and the networks' Solver) watches its
loss with :class:`DivergenceMonitor`, and raises
:class:`skdeep.exceptions.DivergenceError` when it says so.
"""
import math
from collections import deque

from ..exceptions import DivergenceError


def _diverged(what, iteration, learning_rate):
    advice = ""
    if isinstance(learning_rate, (int, float)) and learning_rate > 0:
        advice = f" (for example {learning_rate / 10:g})"
    return DivergenceError(
        f"Training diverged: {what} at iteration {iteration} with "
        f"learning_rate={learning_rate!r}. The learning rate is probably too large "
        f"for this data; try a smaller learning_rate{advice} or standardize the "
        f"features."
    )


def check_finite_loss(loss, learning_rate, iteration):
    """Raise :class:`DivergenceError` when ``loss`` is NaN or infinite.

    Parameters
    ----------
    loss : float
        The training loss just computed.
    learning_rate : float
        The learning rate in use, named in the message.
    iteration : int
        The 0-based iteration (or step) that produced ``loss``.

    Raises
    ------
    DivergenceError
        When ``loss`` is not finite.
    """
    if not math.isfinite(loss):
        raise _diverged(f"the loss became {loss}", iteration, learning_rate)


class DivergenceMonitor:
    """Watches the training loss, step by step, and raises when training diverges.

    The rule: training has diverged when a loss is NaN or infinite, or when the
    mean of the last ``window`` losses exceeds ``factor`` times the reference
    ``max(first loss, floor)``.  The first loss is the loss of the starting
    weights, before any update.

    Why this rule: a learning rate that is too large makes the loss grow
    geometrically, by many orders of magnitude within a few dozen steps, while it
    often stays finite for hundreds of steps (a network at ``learning_rate=1e6``
    on the digits ends at a loss of about 1e15, not NaN).  Ordinary minibatch
    training is noisy, but its losses stay within a small multiple of the first
    one: on the digits, the linear classifiers and ``MLPClassifier`` at typical
    and ten times typical learning rates stay below about 11 times their first
    loss, and still below 2,000 times it at learning rates a thousand times
    typical that reach full training accuracy.  ``factor=1e4`` leaves that
    margin, and every diverging run measured exceeds it by four orders of
    magnitude more.  Averaging over ``window`` steps keeps a single unlucky
    minibatch from raising; the ``floor`` keeps a warm start from an already
    small loss (say 0.01) from raising on ordinary noise.

    Parameters
    ----------
    factor : float, default=1e4
        How many times the reference loss the windowed mean may reach.
    window : int, default=10
        Number of most recent losses averaged.
    floor : float, default=1.0
        Least reference loss.

    Examples
    --------
    >>> from skdeep.exceptions import DivergenceMonitor
    >>> monitor = DivergenceMonitor()
    >>> for i, loss in enumerate([2.3, 2.1, 1.9]):
    ...     monitor.check(loss, learning_rate=1e-3, iteration=i)
    """

    def __init__(self, factor=1e4, window=10, floor=1.0):
        self.factor = factor
        self.window = window
        self.floor = floor
        self.reference = None
        self._recent = deque(maxlen=window)

    def check(self, loss, learning_rate, iteration):
        """Record ``loss`` and raise :class:`DivergenceError` if training diverged.

        Parameters
        ----------
        loss : float
            The training loss just computed.
        learning_rate : float
            The learning rate in use, named in the message.
        iteration : int
            The 0-based iteration (or step) that produced ``loss``.

        Raises
        ------
        DivergenceError
            When ``loss`` is not finite or the rule above says training diverged.
        """
        check_finite_loss(loss, learning_rate, iteration)
        loss = float(loss)
        if self.reference is None:
            self.reference = max(loss, self.floor)
        self._recent.append(loss)
        mean = sum(self._recent) / len(self._recent)
        if mean > self.factor * self.reference:
            raise _diverged(
                f"the mean loss of the last {len(self._recent)} iterations, "
                f"{mean:.3g}, exceeds {self.factor:g} times the starting loss "
                f"{self.reference:.3g}", iteration, learning_rate)
