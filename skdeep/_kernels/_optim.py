"""Update rules of skdeep.nn.optim, each one fused pass over flat arrays.

An update touches every parameter at every step; NumPy spends a dozen passes and
temporaries on Adam where this loop reads and writes each element once.  Arrays are
1-D and contiguous (the wrapper passes flat views) and are updated in place.
Scalars arrive in the dtype of the arrays, so float32 parameters are updated in
float32 arithmetic, as deep learning frameworks do; the wrapper precomputes them
from the rule's settings.
Only ``skdeep.nn.optim`` calls these.
"""
import numpy as np

#pythran export sgd_update(float32[:], float32[:], float32)
#pythran export sgd_update(float64[:], float64[:], float64)
#pythran export momentum_update(float32[:], float32[:], float32[:], float32, float32)
#pythran export momentum_update(float64[:], float64[:], float64[:], float64, float64)
#pythran export rmsprop_update(float32[:], float32[:], float32[:], float32, float32, float32, float32)
#pythran export rmsprop_update(float64[:], float64[:], float64[:], float64, float64, float64, float64)
#pythran export adam_update(float32[:], float32[:], float32[:], float32[:], float32, float32, float32, float32, float32, float32, float32)
#pythran export adam_update(float64[:], float64[:], float64[:], float64[:], float64, float64, float64, float64, float64, float64, float64)


def sgd_update(w, dw, learning_rate):
    """w -= learning_rate * dw"""
    for i in range(w.shape[0]):
        w[i] -= learning_rate * dw[i]


def momentum_update(w, dw, velocity, learning_rate, momentum):
    """velocity = momentum * velocity - learning_rate * dw; w += velocity"""
    for i in range(w.shape[0]):
        vi = momentum * velocity[i] - learning_rate * dw[i]
        velocity[i] = vi
        w[i] += vi


def rmsprop_update(w, dw, cache, learning_rate, decay_rate, one_minus_decay, epsilon):
    """cache = decay * cache + (1 - decay) * dw**2; w -= lr * dw / (sqrt(cache) + eps)"""
    for i in range(w.shape[0]):
        g = dw[i]
        ci = decay_rate * cache[i] + one_minus_decay * (g * g)
        cache[i] = ci
        w[i] -= learning_rate * g / (np.sqrt(ci) + epsilon)


def adam_update(w, dw, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2,
                step_size, v_correction, epsilon):
    """Adam with bias correction folded into the scalars.

    m = beta1 * m + (1 - beta1) * dw; v = beta2 * v + (1 - beta2) * dw**2;
    w -= step_size * m / (sqrt(v * v_correction) + eps), where
    step_size = lr / (1 - beta1**t) and v_correction = 1 / (1 - beta2**t).
    """
    for i in range(w.shape[0]):
        g = dw[i]
        mi = beta1 * m[i] + one_minus_beta1 * g
        vi = beta2 * v[i] + one_minus_beta2 * (g * g)
        m[i] = mi
        v[i] = vi
        w[i] -= step_size * mi / (np.sqrt(vi * v_correction) + epsilon)
