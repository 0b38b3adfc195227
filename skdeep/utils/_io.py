"""Writing files so that a crash never leaves a partial one (private)."""
import os
import pickle
import secrets


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
    path = os.path.abspath(os.fspath(path))
    # not tempfile.mkstemp, whose files are private to their owner: the file
    # gets the permissions any new file would ("x": never an existing one)
    temporary = os.path.join(os.path.dirname(path),
                             f".{os.path.basename(path)}.{secrets.token_hex(8)}.tmp")
    f = open(temporary, "xb")
    try:
        with f:
            pickle.dump(obj, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        # BaseException too: a KeyboardInterrupt mid-write must not leave the
        # temporary file behind either
        os.unlink(temporary)
        raise
