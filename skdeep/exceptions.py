"""Exceptions raised by skdeep."""


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss.

    Raised instead of returning NaN or infinite weights.  The message names the
    learning rate, which is the usual culprit.
    """


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
    """
    if not (loss == loss and abs(loss) != float("inf")):
        raise DivergenceError(
            f"Training diverged: the loss became {loss} at iteration {iteration} "
            f"with learning_rate={learning_rate!r}. The learning rate is probably "
            f"too large for this data; try a smaller learning_rate (for example "
            f"{learning_rate / 10:g}) or standardize the features."
        )
