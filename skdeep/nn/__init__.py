"""The engine under skdeep's networks: layers, update rules, models and a solver.

The layer-level API follows the CS231n conventions (see ``layers``): every forward
function returns ``(out, cache)`` and every backward function takes ``(dout, cache)``.
"""
