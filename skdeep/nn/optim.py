"""First-order update rules for training networks.

Every rule has the signature ``rule(w, dw, config=None, out=None) -> (next_w, config)``:

- ``w``: current weights; ``dw``: gradient of the loss with respect to ``w``.
- ``config``: a dict of settings (learning rate, decay rates...) and of the rule's
  state (velocity, moment estimates...).  The dict passed in is the one updated and
  returned; missing keys get their defaults, and state arrays start as zeros.
- ``out`` (skdeep extension): where to write ``next_w``.  By default ``next_w`` is a
  new array and the state arrays in ``config`` are replaced by new ones, so nothing
  the caller holds is modified.  With ``out=w`` the weights and the state arrays are
  updated in place, which is what :class:`~skdeep.nn.solver.Solver` does to train
  without allocating.

The arithmetic runs in compiled fused loops (``skdeep._kernels._optim``) in the
floating dtype of ``w``, on every core: float32 weights are updated in float32, as
deep learning frameworks do, and the results do not depend on the thread count.

Each rule has a private twin (``_PENALIZED_RULES[rule]``) that also takes an L2
strength ``reg``: it adds ``reg * w`` to the gradient in the same pass and returns
``sum(w**2)`` of the weights it read, so that the Solver can train skdeep's own
models without a separate pass for the penalty (:func:`_with_l2_penalty` adds it
to the loss, for the models and the Solver alike).
"""
import numpy as np

from .._kernels import _optim as _kernel
from ..utils._dtypes import FLOAT_DTYPES, float_dtype
from ..utils._threads import kernel_threads
from ._checks import check_array, check_dict, check_int, check_number

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam", "UPDATE_RULES",
           "DEFAULT_LEARNING_RATES"]

#: The learning rate each update rule uses when its ``config`` has none (the
#: CS231n defaults), by rule name: the one place these numbers are written.
DEFAULT_LEARNING_RATES = {"sgd": 1e-2, "sgd_momentum": 1e-2, "rmsprop": 1e-2,
                          "adam": 1e-3}

#: Names of the update rules, for ``Solver(update_rule=...)``.
UPDATE_RULES = tuple(DEFAULT_LEARNING_RATES)


def _config(config, defaults):
    """``config`` (a new dict when None) with ``defaults`` filled in and checked.

    ``defaults`` maps each setting to ``(default, bounds)``, ``bounds`` being the
    keyword arguments of :func:`~skdeep.nn._checks.check_number` for it.
    """
    if config is None:
        config = {}
    check_dict(config, "config")
    for key, (default, bounds) in defaults.items():
        check_number(config.setdefault(key, default), f"config[{key!r}]", **bounds)
    return config


_LEARNING_RATE = {"low": 0}
# decay rates of exponential averages live in [0, 1): at 1 the average never moves,
# and Adam's bias correction 1 / (1 - beta**t) divides by zero
_DECAY = {"low": 0, "high": 1, "high_open": True}
# epsilon keeps a zero gradient from giving 0 / 0
_EPSILON = {"low": 0, "low_open": True}


def _default_rate(rule):
    """``(default, bounds)`` of the learning rate of ``rule``, for :func:`_config`."""
    return DEFAULT_LEARNING_RATES[rule], _LEARNING_RATE


def _next_weights(w, dw, out):
    """The array to update (a copy of ``w`` or ``out``) and ``dw`` matching it, flat."""
    w = check_array(w, "w")
    if out is None:
        next_w = np.array(w, dtype=float_dtype(w), order="C", copy=True)
    else:
        if not (isinstance(out, np.ndarray) and out.dtype in FLOAT_DTYPES
                and out.flags.c_contiguous and out.flags.writeable
                and out.shape == w.shape):
            raise ValueError(
                "out must be a writeable C-contiguous float32 or float64 array of the "
                f"shape of w {w.shape}."
            )
        if out is not w:
            np.copyto(out, w)
        next_w = out
    dw = check_array(dw, "dw")
    if dw.shape != w.shape:
        raise ValueError(f"dw has shape {dw.shape} but w has shape {w.shape}.")
    dw = np.ascontiguousarray(dw, dtype=next_w.dtype)
    return next_w, next_w.reshape(-1), dw.reshape(-1)


def _state(config, key, next_w, in_place):
    """State array ``config[key]`` in the dtype and shape of ``next_w``, flat.

    Reused as is when updating in place and it already fits; otherwise a new array
    (zeros when missing) replaces it in ``config``.
    """
    value = config.get(key)
    if value is None:
        state = np.zeros_like(next_w)
    elif (in_place and isinstance(value, np.ndarray) and value.dtype == next_w.dtype
          and value.flags.c_contiguous and value.flags.writeable
          and value.shape == next_w.shape):
        state = value
    else:
        value = check_array(value, f"config[{key!r}]")
        if value.shape != next_w.shape and value.ndim:
            raise ValueError(f"config[{key!r}] has shape {value.shape} but w has shape "
                             f"{next_w.shape}.")
        state = np.array(np.broadcast_to(value, next_w.shape), dtype=next_w.dtype,
                         order="C", copy=True)
    config[key] = state
    return state.reshape(-1)


def sgd(w, dw, config=None, out=None):
    """Vanilla stochastic gradient descent: ``next_w = w - learning_rate * dw``.

    Parameters
    ----------
    w : ndarray
        Current weights.
    dw : ndarray of the shape of ``w``
        Gradient of the loss with respect to ``w``.
    config : dict, default=None
        ``learning_rate`` (default 1e-2).
    out : ndarray, default=None
        Where to write ``next_w``; pass ``w`` to update in place.

    Returns
    -------
    next_w : ndarray of the shape of ``w``
        The updated weights.
    config : dict
        The dict passed in (a new one when None), with defaults filled in.
    """
    next_w, config, _ = _sgd(w, dw, config, out)
    return next_w, config


def _sgd(w, dw, config=None, out=None, reg=0.0):
    """:func:`sgd` on ``dw + reg * w``; also returns sum(w**2) (0 when reg is 0)."""
    config = _config(config, {"learning_rate": _default_rate("sgd")})
    next_w, w_flat, dw_flat = _next_weights(w, dw, out)
    with kernel_threads():
        square_sum = _sgd_flat(w_flat, dw_flat, config["learning_rate"], reg)
    return next_w, config, square_sum


def _sgd_flat(w, dw, learning_rate, reg):
    """:func:`_sgd`'s fused step on ``w`` in place, none of its checks; ``sum(w**2)``
    before the step.

    For a loop whose steps are too short to repeat those checks at each one (the
    linear classifiers' SGD: a fraction of a millisecond): ``w`` and ``dw`` are
    flat C-contiguous arrays of one float dtype, checked once by the caller, which
    runs the loop inside :func:`~skdeep.utils._threads.kernel_threads`.
    """
    scalar = w.dtype.type
    return _kernel.sgd_update(w, dw, scalar(learning_rate), scalar(reg))


def sgd_momentum(w, dw, config=None, out=None):
    """Stochastic gradient descent with momentum, optionally Nesterov's.

    ``v = momentum * v - learning_rate * dw``, then ``next_w = w + v``; with
    ``nesterov`` (skdeep extension), ``next_w = w + momentum * v - learning_rate *
    dw``, the step taken from the point the momentum is about to carry ``w`` to
    (the form of Sutskever et al., 2013, in which PyTorch's ``nesterov=True`` is
    written too).

    Parameters
    ----------
    w : ndarray
        Current weights.
    dw : ndarray of the shape of ``w``
        Gradient of the loss with respect to ``w``.
    config : dict, default=None
        ``learning_rate`` (default 1e-2), ``momentum`` (default 0.9), ``nesterov``
        (default False) and the state ``velocity`` (zeros).
    out : ndarray, default=None
        Where to write ``next_w``; pass ``w`` to update in place.

    Returns
    -------
    next_w : ndarray of the shape of ``w``
        The updated weights.
    config : dict
        The dict passed in, with the new ``velocity``.
    """
    next_w, config, _ = _sgd_momentum(w, dw, config, out)
    return next_w, config


def _sgd_momentum(w, dw, config=None, out=None, reg=0.0):
    """:func:`sgd_momentum` on ``dw + reg * w``; also returns sum(w**2) (0 when reg is 0)."""
    config = _config(config, {"learning_rate": _default_rate("sgd_momentum"),
                              "momentum": (0.9, _DECAY)})
    config.setdefault("nesterov", False)
    next_w, w_flat, dw_flat = _next_weights(w, dw, out)
    velocity = _state(config, "velocity", next_w, out is not None)
    scalar = next_w.dtype.type
    update = _kernel.nesterov_update if config["nesterov"] else _kernel.momentum_update
    with kernel_threads():
        square_sum = update(w_flat, dw_flat, velocity, scalar(config["learning_rate"]),
                            scalar(config["momentum"]), scalar(reg))
    return next_w, config, square_sum


def rmsprop(w, dw, config=None, out=None):
    """RMSProp: steps scaled by a moving average of squared gradients.

    ``cache = decay_rate * cache + (1 - decay_rate) * dw**2``, then
    ``next_w = w - learning_rate * dw / (sqrt(cache) + epsilon)``.

    Parameters
    ----------
    w : ndarray
        Current weights.
    dw : ndarray of the shape of ``w``
        Gradient of the loss with respect to ``w``.
    config : dict, default=None
        ``learning_rate`` (default 1e-2), ``decay_rate`` (default 0.99),
        ``epsilon`` (default 1e-8) and the state ``cache`` (zeros).
    out : ndarray, default=None
        Where to write ``next_w``; pass ``w`` to update in place.

    Returns
    -------
    next_w : ndarray of the shape of ``w``
        The updated weights.
    config : dict
        The dict passed in, with the new ``cache``.
    """
    next_w, config, _ = _rmsprop(w, dw, config, out)
    return next_w, config


def _rmsprop(w, dw, config=None, out=None, reg=0.0):
    """:func:`rmsprop` on ``dw + reg * w``; also returns sum(w**2) (0 when reg is 0)."""
    config = _config(config, {"learning_rate": _default_rate("rmsprop"),
                              "decay_rate": (0.99, _DECAY),
                              "epsilon": (1e-8, _EPSILON)})
    next_w, w_flat, dw_flat = _next_weights(w, dw, out)
    cache = _state(config, "cache", next_w, out is not None)
    scalar = next_w.dtype.type
    decay = config["decay_rate"]
    with kernel_threads():
        square_sum = _kernel.rmsprop_update(
            w_flat, dw_flat, cache, scalar(config["learning_rate"]), scalar(decay),
            scalar(1 - decay), scalar(config["epsilon"]), scalar(reg))
    return next_w, config, square_sum


def adam(w, dw, config=None, out=None):
    """Adam: bias-corrected moving averages of the gradient and its square.

    The step count ``t`` is incremented first; then
    ``m = beta1 * m + (1 - beta1) * dw``, ``v = beta2 * v + (1 - beta2) * dw**2``,
    ``m_hat = m / (1 - beta1**t)``, ``v_hat = v / (1 - beta2**t)`` and
    ``next_w = w - learning_rate * m_hat / (sqrt(v_hat) + epsilon)``.

    Parameters
    ----------
    w : ndarray
        Current weights.
    dw : ndarray of the shape of ``w``
        Gradient of the loss with respect to ``w``.
    config : dict, default=None
        ``learning_rate`` (default 1e-3), ``beta1`` (0.9), ``beta2`` (0.999),
        ``epsilon`` (1e-8) and the state ``m``, ``v`` (zeros) and ``t`` (0).
    out : ndarray, default=None
        Where to write ``next_w``; pass ``w`` to update in place.

    Returns
    -------
    next_w : ndarray of the shape of ``w``
        The updated weights.
    config : dict
        The dict passed in, with the new ``m``, ``v`` and ``t``.
    """
    next_w, config, _ = _adam(w, dw, config, out)
    return next_w, config


def _adam(w, dw, config=None, out=None, reg=0.0):
    """:func:`adam` on ``dw + reg * w``; also returns sum(w**2) (0 when reg is 0)."""
    config = _config(config, {"learning_rate": _default_rate("adam"),
                              "beta1": (0.9, _DECAY), "beta2": (0.999, _DECAY),
                              "epsilon": (1e-8, _EPSILON)})
    config["t"] = check_int(config.get("t", 0), "config['t']", low=0) + 1
    next_w, w_flat, dw_flat = _next_weights(w, dw, out)
    in_place = out is not None
    m = _state(config, "m", next_w, in_place)
    v = _state(config, "v", next_w, in_place)
    t, beta1, beta2 = config["t"], config["beta1"], config["beta2"]
    scalar = next_w.dtype.type
    # m_hat = m / (1 - beta1**t) folds into the step size; v_hat's factor stays
    # inside the square root, where epsilon is added to it
    with kernel_threads():
        square_sum = _kernel.adam_update(
            w_flat, dw_flat, m, v,
            scalar(beta1), scalar(1 - beta1), scalar(beta2), scalar(1 - beta2),
            scalar(config["learning_rate"] / (1 - beta1**t)),
            scalar(1 / (1 - beta2**t)),
            scalar(config["epsilon"]), scalar(reg),
        )
    return next_w, config, square_sum


#: The private twin of each public rule, which folds in the L2 penalty (see the
#: module docstring): ``twin(w, dw, config, out, reg) -> (next_w, config, sum(w**2))``.
_PENALIZED_RULES = {sgd: _sgd, sgd_momentum: _sgd_momentum, rmsprop: _rmsprop,
                    adam: _adam}


def _sum_of_squares(w):
    """``sum(w**2)`` as a float, chunk by chunk as the penalized rules sum it, so that
    a model's penalty and the Solver's fused step agree to the last bit."""
    w = np.ascontiguousarray(w, dtype=float_dtype(w)).reshape(-1)
    with kernel_threads():
        return _kernel.sum_squares(w)


def _with_l2_penalty(loss, reg, square_sums):
    """``loss + 0.5 * reg * s`` for each ``s`` of ``square_sums`` (the ``sum(W**2)`` of
    each penalized weight, in order): the L2 penalty's one formula, which the models'
    ``loss`` and the Solver's fused step both use."""
    for square_sum in square_sums:
        loss += 0.5 * reg * square_sum
    return loss
