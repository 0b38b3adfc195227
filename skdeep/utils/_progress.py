"""Progress lines of the transformers and the neighbour search over many rows.

What ``HOGTransformer``, ``HSVHistogramTransformer`` and ``KNNClassifier`` print
when ``verbose``, in one format.  Training prints other lines: the networks'
through :class:`skdeep.nn.solver.Solver`, the linear classifiers' through their
SGD loop in ``skdeep/linear_model/_sgd.py``.
"""
import sys
import threading
import time


class Progress:
    """Print about ten lines over a long run of ``total`` items when ``verbose``.

    Lines read ``[name] what done/total unit (seconds s)``.  Safe to update from
    several threads (joblib jobs over chunks).

    Parameters
    ----------
    total : int
        Number of items.
    verbose : int
        Nothing is printed when 0.
    name : str
        The estimator's name.
    what : str
        What is computed, for example ``"HOG of"``.
    unit : str
        What the items are, for example ``"images"``.
    min_items : int, default=0
        Print nothing when ``total`` is at most this (short work needs no progress).
    """

    def __init__(self, total, verbose, name, what, unit, min_items=0):
        self._total = total
        self._show = bool(verbose) and total > min_items
        self._name = name
        self._what = what
        self._unit = unit
        self._done = 0
        self._lock = threading.Lock()
        self._start = time.perf_counter()

    def update(self, n_items):
        """Record ``n_items`` more done; print when a tenth of the total is crossed."""
        if not self._show:
            return
        with self._lock:
            before = self._done
            self._done += n_items
            after = self._done
            if after == self._total or after * 10 // self._total > before * 10 // self._total:
                print(f"[{self._name}] {self._what} {after}/{self._total} {self._unit} "
                      f"({time.perf_counter() - self._start:.1f} s)",
                      file=sys.stdout, flush=True)
