"""Buffers reused across training steps: a model's step plan.

The layer API (``forward(x) -> out, cache``) returns fresh arrays, and a training
step that calls it allocates every activation, cache and gradient anew; glibc
hands the large ones back to the system and faults them in again at the next
step.  The models' training steps instead take their buffers from an
:class:`Arena` (as oneDNN's scratchpad does): one buffer per site of the step
(layer number and role), made on the first step of a batch shape and handed out
again on the next ones.  The private layer helpers in :mod:`skdeep.nn.layers`
take a ``buffers`` argument; :data:`FRESH` makes them allocate, as the public
layer functions do, so both run the same code.

A buffer belongs to its site for one step: the step's caches read it until the
backward pass is done, and the next step writes it again.  So nothing a step
returns to its caller may live in the arena unless the caller is done with it
before the next step (the Solver's update rules and their gradients): the
models hand gradients out in arena buffers only when asked to.

The arena is kept beside the model, not in it (a weak mapping of this module):
pickles, copies and clones of a model never carry it, and it goes away with
the model.
"""
import contextlib
import weakref

import numpy as np

# Buffers that the layer helpers use as scratch within one call and never return
# or cache: one of each per shape serves every layer, so the step's scratch stays
# in cache from one layer to the next.
SCRATCH = frozenset({"squares", "product", "uniform", "keep"})

# Batch shapes a site keeps buffers for: the full batches and the short last
# batch of an epoch take turns without reallocating, and no more accumulate.
_SHAPES_PER_SITE = 2

_arenas = weakref.WeakKeyDictionary()
_enabled = True


class _Fresh:
    """Buffers allocated on every call: the layer functions' own behaviour."""

    __slots__ = ()

    def empty(self, key, shape, dtype):
        """A new ``np.empty(shape, dtype)``; ``key`` is ignored."""
        return np.empty(shape, dtype=dtype)

    def like(self, key, prototype, dtype):
        """None, the ``out`` that lets a ufunc allocate its result: in the memory
        layout it picks from its inputs, which the reductions over the result
        follow, so the layer functions keep their bits for inputs of any layout."""
        return None

    def scope(self, prefix):
        return self


#: Buffers of the public layer functions: a fresh array each time.
FRESH = _Fresh()


class Arena:
    """Buffers by site, reused across steps while the shapes stay the same."""

    def __init__(self):
        self._sites = {}

    def empty(self, key, shape, dtype):
        """The buffer of site ``key`` for ``shape`` and ``dtype``, uninitialized.

        The same array on every call with the same arguments; a site keeps the
        buffers of its last :data:`_SHAPES_PER_SITE` shapes.
        """
        shape, dtype = tuple(shape), np.dtype(dtype)
        buffers = self._sites.setdefault(key, [])
        for i, buffer in enumerate(buffers):
            if buffer.shape == shape and buffer.dtype == dtype:
                if i:  # most recently used first
                    buffers.insert(0, buffers.pop(i))
                return buffer
        buffer = np.empty(shape, dtype=dtype)
        buffers.insert(0, buffer)
        del buffers[_SHAPES_PER_SITE:]
        return buffer

    def like(self, key, prototype, dtype):
        """:meth:`empty` of the shape of ``prototype`` (C-ordered: the models'
        maps are)."""
        return self.empty(key, prototype.shape, dtype)

    def scope(self, prefix):
        """The sites of this arena whose keys start with ``prefix``."""
        return _Scope(self, prefix)

    @property
    def nbytes(self):
        """Bytes held in all buffers."""
        return sum(b.nbytes for buffers in self._sites.values() for b in buffers)


class _Scope:
    """A part of an :class:`Arena`: keys are prefixed, so that a layer's
    helpers can name their buffers without knowing which layer they serve."""

    __slots__ = ("_arena", "_prefix")

    def __init__(self, arena, prefix):
        self._arena, self._prefix = arena, prefix

    def empty(self, key, shape, dtype):
        if key in SCRATCH:
            return self._arena.empty(("scratch", key), shape, dtype)
        return self._arena.empty((self._prefix, key), shape, dtype)

    def like(self, key, prototype, dtype):
        return self.empty(key, prototype.shape, dtype)

    def scope(self, prefix):
        return _Scope(self._arena, (self._prefix, prefix))


def arena_of(model):
    """The arena of ``model``'s training steps, or None when plans are off
    (:func:`disabled`) or the model cannot be weakly referenced: the model then
    runs on the layer functions."""
    if not _enabled:
        return None
    try:
        arena = _arenas.get(model)
        if arena is None:
            arena = _arenas[model] = Arena()
    except TypeError:  # unhashable or not weakly referenceable
        return None
    return arena


def release(model):
    """Drop ``model``'s arena, if any: the buffers serve training, and a trained
    model kept for predictions should not hold them."""
    try:
        _arenas.pop(model, None)
    except TypeError:  # never had one
        pass


@contextlib.contextmanager
def disabled():
    """Run the models' training steps on the public layer functions, which
    allocate every array: the reference the step plans are tested against."""
    global _enabled
    previous, _enabled = _enabled, False
    try:
        yield
    finally:
        _enabled = previous
