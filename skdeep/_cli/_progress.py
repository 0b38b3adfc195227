"""Progress of the ladder on one terminal line: model, grid point, fold, time left.

tqdm draws the line when it is installed; otherwise a plain line is rewritten in
place.  Either way the line is cleared when a model ends, so that the
leaderboard rows printed between models stay clean.
"""
import sys
import time


def _tqdm():
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm


class Progress:
    """Tell which model is being tuned, at which grid point and fold, and how long is left.

    Parameters
    ----------
    n_models : int
        Number of models in the run, for the ``[i/n]`` prefix.
    stream : file-like, default=None
        Where to draw; ``sys.stderr`` when None.
    enabled : bool, default=None
        Whether to draw at all; None draws only when ``stream`` is a terminal,
        so logs and pipes get the leaderboard alone.
    """

    def __init__(self, n_models, stream=None, enabled=None):
        self.stream = sys.stderr if stream is None else stream
        if enabled is None:
            enabled = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.enabled = enabled
        self.n_models = n_models
        self.model_index = 0
        self._bar = None
        self._width = 0

    def start_model(self, name, n_candidates, n_splits):
        """Begin a model: ``n_candidates`` grid points of ``n_splits`` folds, then a refit."""
        self.model_index += 1
        self.name = name
        self.n_candidates, self.n_splits = n_candidates, n_splits
        # every (grid point, fold) fit, then the refit on all the training data
        self.total = n_candidates * n_splits + 1
        self.done = 0
        self.started = time.perf_counter()
        if not self.enabled:
            return
        tqdm = _tqdm()
        if tqdm is not None:
            self._bar = tqdm(total=self.total, desc=f"[{self.model_index}/{self.n_models}] "
                             f"{name}", file=self.stream, leave=False, unit="fit")
        self._show()

    def _where(self):
        if self.done < self.total - 1:
            candidate, fold = divmod(self.done, self.n_splits)
            return (f"grid point {candidate + 1}/{self.n_candidates}, "
                    f"fold {fold + 1}/{self.n_splits}")
        return "refit on all training images"

    def _show(self):
        if self._bar is not None:
            self._bar.set_postfix_str(self._where())
            return
        text = f"[{self.model_index}/{self.n_models}] {self.name}: {self._where()}"
        if self.done:
            # the refit sees more data than a fold's fit: count it as one more fit
            per_fit = (time.perf_counter() - self.started) / self.done
            text += f", about {per_fit * (self.total - self.done):.0f} s left"
        self._write(text)

    def _write(self, text):
        padding = " " * max(0, self._width - len(text))
        self.stream.write("\r" + text + padding)
        self.stream.flush()
        self._width = len(text)

    def advance(self):
        """One fit (and its scoring) is done."""
        self.done += 1
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(1)
        self._show()

    def end_model(self):
        """The model is done: clear the line."""
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        else:
            self._write("")
            self.stream.write("\r")
            self.stream.flush()
            self._width = 0
