"""Update rules of skdeep.nn.optim, each one fused pass over flat arrays.

An update touches every parameter at every step, and is bound by memory: NumPy
spends a dozen passes and temporaries on Adam where these loops read and write
each element once.  Arrays are 1-D and contiguous (the wrapper passes flat views)
and are updated in place.  Scalars arrive in the dtype of the arrays, so float32
parameters are updated in float32 arithmetic, as deep learning frameworks do; the
wrapper precomputes them from the rule's settings.

Each rule also folds in the L2 penalty: with ``reg`` non-zero the gradient is
``dw + reg * w`` (the gradient of ``0.5 * reg * sum(w**2)`` added to the data
gradient) and the rule returns ``sum(w**2)`` of the weights it read, before the
update, at which the loss was computed; with ``reg`` zero it reads ``dw`` alone
and returns 0.  So one pass replaces the model's penalty pass and the update.

The arrays are cut into chunks of ``CHUNK`` elements, the unit of the parallel
loop (OpenMP, for arrays of ``PARALLEL_MIN`` elements or more).  Within a chunk
each rule is a few whole-row expressions, which Pythran vectorizes (SIMD) and
which find the chunk in cache after its first pass.  (Not a scalar loop over the
elements: inside a parallel loop Pythran indexes with wrap-around checks, and
the compiler leaves such a loop scalar, several times slower than these.)  Every element's arithmetic
is the same whatever the number of threads, and the sum of squares is the sum of
per-chunk sums added in chunk order: a partition fixed by the length, so the
results are bit-identical for any thread count.
Only ``skdeep.nn.optim`` calls these.
"""
import numpy as np

# 8192 elements of each of the four arrays of Adam take 128 KB in float32 and
# 256 KB in float64: the chunk stays in L2 across the rule's passes over it, and
# the passes are long enough for the hardware prefetchers (2048 was slower)
CHUNK = 8192
# Below this many elements a loop runs on one thread: starting a parallel region
# costs more than the work
PARALLEL_MIN = 65536

#pythran export sum_squares(float32[:])
#pythran export sum_squares(float64[:])
#pythran export sgd_update(float32[:], float32[:], float32, float32)
#pythran export sgd_update(float64[:], float64[:], float64, float64)
#pythran export momentum_update(float32[:], float32[:], float32[:], float32, float32, float32)
#pythran export momentum_update(float64[:], float64[:], float64[:], float64, float64, float64)
#pythran export nesterov_update(float32[:], float32[:], float32[:], float32, float32, float32)
#pythran export nesterov_update(float64[:], float64[:], float64[:], float64, float64, float64)
#pythran export rmsprop_update(float32[:], float32[:], float32[:], float32, float32, float32, float32, float32)
#pythran export rmsprop_update(float64[:], float64[:], float64[:], float64, float64, float64, float64, float64)
#pythran export adam_update(float32[:], float32[:], float32[:], float32[:], float32, float32, float32, float32, float32, float32, float32, float32)
#pythran export adam_update(float64[:], float64[:], float64[:], float64[:], float64, float64, float64, float64, float64, float64, float64, float64)


def _num_chunks(n):
    return (n + CHUNK - 1) // CHUNK


def _square_sum(x):
    """sum(x**2) of one chunk, in the dtype of x: the one reduction of every rule."""
    return np.sum(np.square(x))


def _in_order(partial):
    """The per-chunk sums added one after the other, in chunk order."""
    total = 0.
    for c in range(partial.shape[0]):
        total += partial[c]
    return total


def sum_squares(w):
    """sum(w**2), chunk by chunk as the rules take it (the model's own penalty)."""
    n = w.shape[0]
    partial = np.zeros(_num_chunks(n))
    parallel = n >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(partial.shape[0]):
        partial[c] = _square_sum(w[c * CHUNK:min(c * CHUNK + CHUNK, n)])
    return _in_order(partial)


def sgd_update(w, dw, learning_rate, reg):
    """g = dw + reg * w; w -= learning_rate * g; returns sum(w**2) before (0 if reg is 0)"""
    n = w.shape[0]
    partial = np.zeros(_num_chunks(n))
    parallel = n >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(partial.shape[0]):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        if reg != 0:
            partial[c] = _square_sum(w[lo:hi])
            w[lo:hi] -= learning_rate * (dw[lo:hi] + reg * w[lo:hi])
        else:
            w[lo:hi] -= learning_rate * dw[lo:hi]
    return _in_order(partial)


def momentum_update(w, dw, velocity, learning_rate, momentum, reg):
    """g = dw + reg * w; velocity = momentum * velocity - learning_rate * g;
    w += velocity; returns sum(w**2) before (0 if reg is 0)"""
    n = w.shape[0]
    partial = np.zeros(_num_chunks(n))
    parallel = n >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(partial.shape[0]):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        if reg != 0:
            partial[c] = _square_sum(w[lo:hi])
            velocity[lo:hi] = (momentum * velocity[lo:hi]
                               - learning_rate * (dw[lo:hi] + reg * w[lo:hi]))
        else:
            velocity[lo:hi] = momentum * velocity[lo:hi] - learning_rate * dw[lo:hi]
        w[lo:hi] += velocity[lo:hi]
    return _in_order(partial)


def nesterov_update(w, dw, velocity, learning_rate, momentum, reg):
    """g = dw + reg * w; velocity = momentum * velocity - learning_rate * g;
    w = w - learning_rate * g + momentum * velocity; returns sum(w**2) before
    (0 if reg is 0)"""
    n = w.shape[0]
    partial = np.zeros(_num_chunks(n))
    parallel = n >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(partial.shape[0]):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        if reg != 0:
            partial[c] = _square_sum(w[lo:hi])
            velocity[lo:hi] = (momentum * velocity[lo:hi]
                               - learning_rate * (dw[lo:hi] + reg * w[lo:hi]))
            w[lo:hi] = (w[lo:hi] - learning_rate * (dw[lo:hi] + reg * w[lo:hi])
                        + momentum * velocity[lo:hi])
        else:
            velocity[lo:hi] = momentum * velocity[lo:hi] - learning_rate * dw[lo:hi]
            w[lo:hi] = (w[lo:hi] - learning_rate * dw[lo:hi]
                        + momentum * velocity[lo:hi])
    return _in_order(partial)


def rmsprop_update(w, dw, cache, learning_rate, decay_rate, one_minus_decay, epsilon,
                   reg):
    """g = dw + reg * w; cache = decay * cache + (1 - decay) * g**2;
    w -= lr * g / (sqrt(cache) + eps); returns sum(w**2) before (0 if reg is 0)"""
    n = w.shape[0]
    partial = np.zeros(_num_chunks(n))
    parallel = n >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(partial.shape[0]):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        if reg != 0:
            partial[c] = _square_sum(w[lo:hi])
            cache[lo:hi] = (decay_rate * cache[lo:hi]
                            + one_minus_decay * np.square(dw[lo:hi] + reg * w[lo:hi]))
            w[lo:hi] -= (learning_rate * (dw[lo:hi] + reg * w[lo:hi])
                         / (np.sqrt(cache[lo:hi]) + epsilon))
        else:
            cache[lo:hi] = (decay_rate * cache[lo:hi]
                            + one_minus_decay * np.square(dw[lo:hi]))
            w[lo:hi] -= learning_rate * dw[lo:hi] / (np.sqrt(cache[lo:hi]) + epsilon)
    return _in_order(partial)


def adam_update(w, dw, m, v, beta1, one_minus_beta1, beta2, one_minus_beta2,
                step_size, v_correction, epsilon, reg):
    """Adam with bias correction folded into the scalars.

    g = dw + reg * w; m = beta1 * m + (1 - beta1) * g; v = beta2 * v + (1 -
    beta2) * g**2; w -= step_size * m / (sqrt(v * v_correction) + eps), where
    step_size = lr / (1 - beta1**t) and v_correction = 1 / (1 - beta2**t).
    Returns sum(w**2) before the update (0 if reg is 0).
    """
    n = w.shape[0]
    partial = np.zeros(_num_chunks(n))
    parallel = n >= PARALLEL_MIN
    #omp parallel for if(parallel)
    for c in range(partial.shape[0]):
        lo = c * CHUNK
        hi = min(lo + CHUNK, n)
        if reg != 0:
            partial[c] = _square_sum(w[lo:hi])
            m[lo:hi] = beta1 * m[lo:hi] + one_minus_beta1 * (dw[lo:hi] + reg * w[lo:hi])
            v[lo:hi] = (beta2 * v[lo:hi]
                        + one_minus_beta2 * np.square(dw[lo:hi] + reg * w[lo:hi]))
        else:
            m[lo:hi] = beta1 * m[lo:hi] + one_minus_beta1 * dw[lo:hi]
            v[lo:hi] = beta2 * v[lo:hi] + one_minus_beta2 * np.square(dw[lo:hi])
        w[lo:hi] -= step_size * m[lo:hi] / (np.sqrt(v[lo:hi] * v_correction) + epsilon)
    return _in_order(partial)
