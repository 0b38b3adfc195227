"""Read CIFAR-10 batch pickles without letting them run code (private).

A pickle is a small program: its ``GLOBAL``/``STACK_GLOBAL`` opcodes import any
callable and ``REDUCE`` calls it, so ``pickle.load`` on a tampered batch can run
``os.system``.  Every global goes through ``Unpickler.find_class``; the
unpickler below answers it from a fixed table of the few callables a CIFAR batch
needs and refuses anything else, so no other callable is ever reached.
"""
import _codecs
import pickle

import numpy as np

# numpy's array reconstructor, taken from numpy itself rather than imported by
# module path: the path moved from numpy.core to numpy._core in numpy 2.0.
_reconstruct = np.empty(0).__reduce__()[0]

_LATIN1_NAMES = frozenset({"latin1", "latin-1", "latin_1", "iso-8859-1", "iso8859-1"})


class _RefusedPickle(pickle.UnpicklingError):
    """The file asked for something a CIFAR-10 batch never holds."""


def _latin1_encode(text, encoding="utf-8", errors="strict"):
    """``_codecs.encode`` restricted to what protocol-2 pickles of ``bytes`` use.

    Python 3 pickles ``b"..."`` at protocols 0-2 as
    ``_codecs.encode("...", "latin1")``.  Other codecs are refused: a codec name
    makes ``codecs`` import ``encodings.<name>``, and codecs such as ``zlib`` or
    ``base64`` turn a few bytes of pickle into arbitrary amounts of work.
    """
    if not (isinstance(text, str) and isinstance(encoding, str)
            and encoding.lower() in _LATIN1_NAMES):
        raise _RefusedPickle(
            f"it calls _codecs.encode(<{type(text).__name__}>, {encoding!r}), but a "
            f"CIFAR-10 batch only ever encodes text as latin1"
        )
    return _codecs.encode(text, "latin1", errors)


def _empty_bytes():
    """``bytes()``, the way protocol-2 pickles write ``b""`` (an empty array's buffer)."""
    return b""


# (module, name) -> object.  The reconstructor appears under both module paths:
# numpy 2.x writes numpy._core.multiarray, while numpy 1.x, which wrote the
# official archive (under Python 2), wrote numpy.core.multiarray.
_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): _latin1_encode,
    # Python 3 writes builtins.bytes as __builtin__.bytes at protocol 2.
    ("__builtin__", "bytes"): _empty_bytes,
    ("builtins", "bytes"): _empty_bytes,
}


class CIFARUnpickler(pickle.Unpickler):
    """Unpickler that admits only the globals a CIFAR-10 batch holds.

    Parameters
    ----------
    file : binary file object
        The open batch file.
    """

    def __init__(self, file):
        # latin1 is what the Python 2 batches need: their str objects (dict
        # keys, filenames, the array buffer) become str here, and numpy turns a
        # latin1 str buffer back into the original bytes.
        super().__init__(file, encoding="latin1")

    def find_class(self, module, name):
        """Return the allowed global ``module.name`` or refuse the file.

        Raises
        ------
        pickle.UnpicklingError
            When ``module.name`` is not one of the few globals a CIFAR-10 batch
            contains.  Nothing from the file has been called at that point.
        """
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            raise _RefusedPickle(
                f"it references the global '{module}.{name}', which a CIFAR-10 "
                f"batch never contains (a batch holds only dicts, lists, strings, "
                f"ints and numpy uint8 arrays)"
            ) from None

    def persistent_load(self, pid):
        raise _RefusedPickle("it contains a persistent id, which a CIFAR-10 batch never does")


def load_pickle(path):
    """Unpickle the CIFAR-10 batch or meta file ``path`` with :class:`CIFARUnpickler`.

    Parameters
    ----------
    path : str or path-like
        The file to read.

    Returns
    -------
    obj : object
        The unpickled object (normally a dict); its structure is not checked here.

    Raises
    ------
    pickle.UnpicklingError
        When the file refers to a global outside the allow list, or is not a
        readable pickle at all (truncated, corrupt).
    """
    path = str(path)
    with open(path, "rb") as f:
        try:
            return CIFARUnpickler(f).load()
        except _RefusedPickle as exc:
            raise _RefusedPickle(
                f"Refusing to load {path}: {exc}. The file may have been tampered "
                f"with; the refused call was not made. Delete it and get the data again."
            ) from None
        except MemoryError:
            raise
        except Exception as exc:
            # A truncated or corrupt file surfaces as EOFError, ValueError,
            # TypeError, ... from pickle or from numpy's __setstate__; say which
            # file it is, which none of them do.
            raise pickle.UnpicklingError(
                f"Cannot read {path} as a CIFAR-10 batch ({type(exc).__name__}: "
                f"{exc}). The file is truncated or corrupt; get the data again."
            ) from exc
