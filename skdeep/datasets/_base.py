"""Data home and verified downloads shared by the dataset fetchers (private)."""
import hashlib
import http.client
import os
import sys
import tempfile
import time
import urllib.request
from collections import namedtuple

RemoteFileMetadata = namedtuple("RemoteFileMetadata", ["filename", "url", "size", "md5"])
RemoteFileMetadata.__doc__ = """A file to download and what it must look like once downloaded.

Parameters
----------
filename : str
    Name of the file in the data home.
url : str
    Where to download it from (``https://``, ``http://`` or ``file://``).
size : int
    Exact size in bytes.
md5 : str
    Hexadecimal MD5 digest of the whole file.
"""

_CHUNK_SIZE = 1 << 20
_TIMEOUT = 60  # seconds without data before a stalled download is given up
# Seconds between progress updates: a terminal line is rewritten in place, a
# log (not a terminal) gets a new line each time, so fewer of them.
_PROGRESS_INTERVAL = 0.5
_PROGRESS_INTERVAL_LOG = 5.0


def _data_home_path(data_home=None):
    """Resolve the data home like :func:`get_data_home`, without creating it."""
    if data_home is None:
        data_home = os.environ.get("SKDEEP_DATA") or os.path.join("~", "skdeep_data")
    return os.path.abspath(os.path.expanduser(os.fspath(data_home)))


def get_data_home(data_home=None):
    """Return the path of the skdeep data directory, creating it if needed.

    Datasets that skdeep downloads are kept there, so that each is downloaded
    only once.  The folder is, in order of precedence: the ``data_home``
    argument, the ``SKDEEP_DATA`` environment variable, or ``~/skdeep_data``.
    A leading ``~`` is expanded to the user's home folder.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The path to the data directory.  If None, ``SKDEEP_DATA`` or
        ``~/skdeep_data`` is used.

    Returns
    -------
    data_home : str
        The absolute path to the data directory.

    See Also
    --------
    sklearn.datasets.get_data_home : The equivalent in scikit-learn (``SCIKIT_LEARN_DATA``).

    Examples
    --------
    >>> import os, tempfile
    >>> from skdeep.datasets import get_data_home
    >>> home = get_data_home(os.path.join(tempfile.mkdtemp(), "skdeep_data"))
    >>> os.path.isdir(home)
    True
    """
    data_home = _data_home_path(data_home)
    os.makedirs(data_home, exist_ok=True)
    return data_home


def _format_bytes(n):
    return f"{n / 1e6:.1f} MB"


class _Progress:
    """Download progress on stderr, at most one update every ``interval`` seconds."""

    def __init__(self, total):
        self.total = total
        self.start = time.monotonic()
        self.last = -float("inf")
        self.shown = None
        # Rewriting one line with \r suits a terminal; in a log file or a CI
        # transcript it would become one long line, so write lines there.
        self.tty = getattr(sys.stderr, "isatty", lambda: False)()
        self.end = "\r" if self.tty else "\n"
        self.interval = _PROGRESS_INTERVAL if self.tty else _PROGRESS_INTERVAL_LOG

    def _write(self, done, end):
        self.shown = done
        elapsed = max(time.monotonic() - self.start, 1e-9)
        percent = 100 * done / self.total if self.total else 100.0
        line = (f"  {_format_bytes(done)} of {_format_bytes(self.total)} "
                f"({percent:3.0f}%), {_format_bytes(done / elapsed)}/s")
        # Padding wipes the tail of a longer line previously written in place.
        sys.stderr.write((line.ljust(60) if self.tty else line) + end)
        sys.stderr.flush()

    def update(self, done):
        now = time.monotonic()
        if now - self.last >= self.interval:
            self.last = now
            self._write(done, self.end)

    def finish(self, done):
        if done != self.shown:
            self._write(done, "\n")
        elif self.end != "\n":
            sys.stderr.write("\n")


def _file_md5(path):
    md5 = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK_SIZE), b""):
            md5.update(chunk)
    return md5.hexdigest()


def _is_verified(path, remote):
    """Whether ``path`` is a file with the size and MD5 of ``remote``."""
    return (os.path.isfile(path) and os.path.getsize(path) == remote.size
            and _file_md5(path) == remote.md5)


def _fetch_remote(remote, dirname):
    """Download ``remote`` into ``dirname`` and return its path once verified.

    The bytes go to a hidden temporary file in ``dirname``; it is renamed to
    ``remote.filename`` only after its size and MD5 match, so an interrupted,
    truncated or corrupt download never takes the final name.  The temporary
    file is removed whatever happens.

    Parameters
    ----------
    remote : RemoteFileMetadata
        What to download and how to recognise it.
    dirname : str
        Existing directory to download into.

    Returns
    -------
    path : str
        ``os.path.join(dirname, remote.filename)``.

    Raises
    ------
    OSError
        When the download fails, or its size or MD5 differ from ``remote``'s.
    """
    target = os.path.join(dirname, remote.filename)
    sys.stderr.write(
        f"Downloading {remote.url} ({_format_bytes(remote.size)}) to {target}\n"
    )
    fd, partial = tempfile.mkstemp(dir=dirname, prefix=f".{remote.filename}.",
                                   suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            received, digest = _download(remote, out, target)
        if received != remote.size:
            raise _VerificationError(
                f"the transfer stopped after {received:,} of {remote.size:,} bytes"
            )
        if digest != remote.md5:
            raise _VerificationError(
                f"its MD5 is {digest}, expected {remote.md5}: the file is corrupt"
            )
        os.replace(partial, target)
    except _VerificationError as exc:
        raise OSError(
            f"Downloading {remote.url} failed: {exc}. Nothing was saved in "
            f"{dirname}; try again later."
        ) from None
    finally:
        # After os.replace the temporary name no longer exists; before it (any
        # error, KeyboardInterrupt included) the partial file must not linger.
        try:
            os.remove(partial)
        except FileNotFoundError:
            pass
    return target


def _download(remote, out, target):
    """Write the bytes of ``remote.url`` to the open file ``out``.

    Returns the number of bytes received and their MD5 (hex).  Raises
    `_VerificationError` as soon as the size is known to be wrong, and turns
    network errors into an OSError that says what to do (``target`` is where
    the user may save the file by hand).
    """
    try:
        with urllib.request.urlopen(remote.url, timeout=_TIMEOUT) as response:
            return _copy_response(response, out, remote.size)
    except (OSError, http.client.HTTPException) as exc:
        if isinstance(exc, _VerificationError):
            raise
        raise OSError(
            f"Downloading {remote.url} failed ({type(exc).__name__}: {exc}). "
            f"Check the network connection and try again, or download the "
            f"file yourself and save it as {target} (its size and MD5 are "
            f"checked before use)."
        ) from exc


def _copy_response(response, out, size):
    """Copy ``response``'s body to ``out``, expecting ``size`` bytes, with progress.

    Returns the number of bytes received and their MD5 (hex); a body announced
    or found longer than ``size`` raises `_VerificationError` before it is written.
    """
    announced = response.headers.get("Content-Length")
    if announced is not None and announced.isdigit() and int(announced) != size:
        raise _VerificationError(
            f"the server announces {int(announced):,} bytes where {size:,} were expected"
        )
    md5 = hashlib.md5(usedforsecurity=False)
    received = 0
    progress = _Progress(size)
    while True:
        chunk = response.read(_CHUNK_SIZE)
        if not chunk:
            break
        received += len(chunk)
        if received > size:
            raise _VerificationError(
                f"the server sent more than the expected {size:,} bytes"
            )
        out.write(chunk)
        md5.update(chunk)
        progress.update(received)
    progress.finish(received)
    return received, md5.hexdigest()


class _VerificationError(OSError):
    """A download whose size or checksum is wrong."""
