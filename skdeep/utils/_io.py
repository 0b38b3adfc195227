"""Writing files so that a crash never leaves a partial one (private)."""
import os
import pickle
import tempfile


def atomic_dump(obj, path):
    """Pickle ``obj`` to ``path`` atomically.

    The pickle goes to a temporary file in the directory of ``path``, is flushed
    and synced to disk, and only then renamed over ``path`` (``os.replace``, atomic
    on POSIX and Windows within one file system).  A crash or an exception while
    writing leaves ``path`` as it was, the previous checkpoint intact, and no
    temporary file behind.

    Parameters
    ----------
    obj : object
        Anything picklable.
    path : str or path-like
        The file to write; its directory must exist.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(prefix=os.path.basename(path) + ".",
                                     suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        # BaseException too: a KeyboardInterrupt mid-write must not leave the
        # temporary file behind either
        os.unlink(temporary)
        raise
