"""scikit-learn FitCallbacks for the tests: one that stops a fit after its n-th task.

A task is an epoch of a network or a block of iterations of a linear classifier.
"""
from skdeep.callbacks import _is_epoch


class TaskEndCallback:
    """A FitCallback that acts only in ``on_fit_task_end``, which subclasses write."""

    def setup(self, estimator, context):
        pass

    def teardown(self, estimator, context):
        pass

    def on_fit_task_begin(self, estimator, context):
        pass


class StopAfter(TaskEndCallback):
    """Stops training after task ``task`` (1-based) of the fit it is set on.

    It keeps the ``fitted_estimator`` of each task it sees, to compare.
    """

    def __init__(self, task):
        self.task = task
        self.seen = []

    def on_fit_task_end(self, estimator, context, *, fitted_estimator=None):
        if not _is_epoch(context):  # the fit as a whole
            return False
        self.seen.append(fitted_estimator)
        return context.task_id + 1 == self.task
