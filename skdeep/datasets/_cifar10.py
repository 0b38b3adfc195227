"""CIFAR-10: read the python batches, download and cache the official archive."""
import os
import pathlib
import shutil
import sys
import tarfile
import tempfile
import warnings

import numpy as np
from sklearn.utils import Bunch

from ._base import RemoteFileMetadata, _data_home_path, _fetch_remote, _is_verified
from ._base import get_data_home
from ._safe_pickle import load_pickle

# The one description of the official archive.  Tests point it at a local
# archive by monkeypatching this name, so read it at call time, never bind it
# as a default argument.
CIFAR10_ARCHIVE = RemoteFileMetadata(
    filename="cifar-10-python.tar.gz",
    url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
    size=170_498_071,
    md5="c58f30108f718f92721af3b95e74349a",
)
CIFAR10_DIRNAME = "cifar-10-batches-py"

_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_TEST_BATCH = "test_batch"
_META = "batches.meta"
_REQUIRED_FILES = _TRAIN_BATCHES + (_TEST_BATCH, _META)

_N_CLASSES = 10
_IMAGE_SHAPE = (32, 32, 3)
_ROW_LENGTH = 32 * 32 * 3

_HOW_TO_GET = (
    "Get CIFAR-10 with skdeep.datasets.fetch_cifar10(), which downloads the official "
    "archive (170 MB) once into the data home (the SKDEEP_DATA environment variable, "
    "else ~/skdeep_data), or build the same layout with `python make_cifar10.py DIR` "
    "and pass DIR."
)

DESCR = """\
.. _cifar10_dataset:

CIFAR-10 dataset
----------------

60,000 colour images of 32 x 32 pixels in 10 classes, 6,000 per class:
50,000 training images (five batches of 10,000) and 10,000 test images.
The classes are mutually exclusive: airplane, automobile, bird, cat, deer,
dog, frog, horse, ship, truck.

**Data Set Characteristics:**

:Number of Instances: 50,000 training, 10,000 test
:Number of Attributes: 3,072 (32 x 32 pixels x 3 colour channels)
:Attribute Information: pixel intensities, integers 0 to 255
:Classes: 10
:Source: https://www.cs.toronto.edu/~kriz/cifar.html

``X_train`` and ``X_test`` are uint8 arrays of shape (n_samples, 32, 32, 3),
channels last (height, width, red/green/blue); the batch files store each
image channel-major (1,024 red, then green, then blue values) and the loader
transposes them.  ``y_train`` and ``y_test`` are int64 class indices into
``target_names``.  skdeep's image estimators take rows, which are
``X.reshape(len(X), -1)``.

.. rubric:: References

- Alex Krizhevsky. Learning Multiple Layers of Features from Tiny Images.
  Technical report, University of Toronto, 2009.
"""


def _holds_cifar10(directory):
    """Whether ``directory`` has every file of the ``cifar-10-batches-py`` layout."""
    return all(os.path.isfile(os.path.join(directory, name)) for name in _REQUIRED_FILES)


def _str_keys(obj, path, what):
    # Python 2 str keys load as str under latin1, but a batch re-pickled by
    # Python 3 with bytes keys loads with bytes keys; accept both.
    if not isinstance(obj, dict):
        raise ValueError(
            f"{path} is not a CIFAR-10 {what}: it holds a {type(obj).__name__}, "
            f"not a dict."
        )
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in obj.items()}


def _read_batch(path):
    """Channel-major rows (n, 3072) uint8 and labels (n,) int64 of one batch file."""
    batch = _str_keys(load_pickle(path), path, "batch")
    missing = [key for key in ("data", "labels") if key not in batch]
    if missing:
        hint = (" (it has 'fine_labels', like a CIFAR-100 batch; this loader reads "
                "CIFAR-10)" if "fine_labels" in batch else "")
        raise ValueError(
            f"{path} is not a CIFAR-10 batch: it lacks {missing}; it has "
            f"{sorted(map(str, batch))}{hint}."
        )
    data = batch["data"]
    if not (isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 2
            and data.shape[1] == _ROW_LENGTH):
        described = (f"an array of shape {data.shape} and dtype {data.dtype}"
                     if isinstance(data, np.ndarray) else f"a {type(data).__name__}")
        raise ValueError(
            f"{path} is not a CIFAR-10 batch: 'data' must be a uint8 array of shape "
            f"(n_images, {_ROW_LENGTH}), got {described}."
        )
    raw_labels = batch["labels"]
    if not isinstance(raw_labels, (list, tuple, np.ndarray)):
        raise ValueError(
            f"{path} is not a CIFAR-10 batch: 'labels' must be a list of ints, got "
            f"a {type(raw_labels).__name__}."
        )
    labels = np.asarray(raw_labels)
    if labels.shape != (len(data),) or (labels.size and labels.dtype.kind not in "iu"):
        raise ValueError(
            f"{path} is not a CIFAR-10 batch: 'labels' must hold one int per image "
            f"({len(data)} images), got shape {labels.shape} and dtype {labels.dtype}."
        )
    if labels.size and (labels.min() < 0 or labels.max() >= _N_CLASSES):
        raise ValueError(
            f"{path} is not a CIFAR-10 batch: labels must lie in 0..{_N_CLASSES - 1}, "
            f"got values from {labels.min()} to {labels.max()}."
        )
    return data, labels.astype(np.int64)


def _read_label_names(path):
    meta = _str_keys(load_pickle(path), path, "batches.meta file")
    names = meta.get("label_names")
    if not (isinstance(names, list) and len(names) == _N_CLASSES
            and all(isinstance(n, (str, bytes)) for n in names)):
        raise ValueError(
            f"{path} is not a CIFAR-10 batches.meta file: 'label_names' must be a "
            f"list of {_N_CLASSES} strings, got {names!r:.200}."
        )
    return [n.decode("latin1") if isinstance(n, bytes) else n for n in names]


def _read_batches(directory, names):
    """Images (n, 32, 32, 3) and labels of the batches ``names``, concatenated."""
    images, labels, filled = None, [], 0
    for name in names:
        rows, y = _read_batch(os.path.join(directory, name))
        if images is None:
            # Size the output from the first batch (all batches are equal in the
            # official layout) so each batch is transposed straight into place
            # instead of holding every batch and a concatenated copy at once.
            images = np.empty((len(rows) * len(names),) + _IMAGE_SHAPE, np.uint8)
        if filled + len(rows) > len(images):
            grown = np.empty((filled + len(rows) * (len(names) - len(labels)),)
                             + _IMAGE_SHAPE, np.uint8)
            grown[:filled] = images[:filled]
            images = grown
        images[filled:filled + len(rows)] = rows.reshape(
            len(rows), 3, 32, 32).transpose(0, 2, 3, 1)
        filled += len(rows)
        labels.append(y)
    if filled < len(images):
        images = images[:filled].copy()
    return images, np.concatenate(labels)


def load_cifar10(path):
    """Load CIFAR-10 from an extracted ``cifar-10-batches-py`` directory.

    Reads the five training batches and the test batch of the python version of
    CIFAR-10 (the official ``cifar-10-python.tar.gz``, extracted, or the output
    of ``make_cifar10.py``).  The batch files are pickles; they are read with an
    unpickler that admits only the types a CIFAR-10 batch holds, so a tampered
    file is refused before any of its code runs.

    Parameters
    ----------
    path : str or path-like
        The ``cifar-10-batches-py`` directory, the one holding ``data_batch_1``
        to ``data_batch_5`` and ``test_batch``.

    Returns
    -------
    X_train : ndarray of shape (50000, 32, 32, 3), dtype uint8
        Training images, channels last (height, width, RGB).
    y_train : ndarray of shape (50000,), dtype int64
        Training labels, class indices 0 to 9.
    X_test : ndarray of shape (10000, 32, 32, 3), dtype uint8
        Test images, channels last.
    y_test : ndarray of shape (10000,), dtype int64
        Test labels, class indices 0 to 9.

    Raises
    ------
    FileNotFoundError
        When ``path`` is not a directory or lacks a batch file.
    pickle.UnpicklingError
        When a batch file refers to anything a CIFAR-10 batch never holds (a
        tampered file), or is truncated or corrupt.
    ValueError
        When a batch file is a valid pickle but not a CIFAR-10 batch (wrong
        keys, image size, dtype or labels).

    See Also
    --------
    fetch_cifar10 : Download CIFAR-10 once and load it as a Bunch.
    find_cifar10 : Locate a ``cifar-10-batches-py`` directory.

    Notes
    -----
    Rows for skdeep's image estimators are ``X_train.reshape(len(X_train), -1)``,
    flattened in (height, width, channel) order.

    Examples
    --------
    >>> from skdeep.datasets import load_cifar10
    >>> X_train, y_train, X_test, y_test = load_cifar10(
    ...     "cifar-10-batches-py")  # doctest: +SKIP
    >>> X_train.shape, X_train.dtype, y_train.dtype  # doctest: +SKIP
    ((50000, 32, 32, 3), dtype('uint8'), dtype('int64'))
    """
    directory = os.fspath(path)
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"CIFAR-10 directory {directory!r} does not exist or is not a "
            f"directory. {_HOW_TO_GET}"
        )
    needed = _TRAIN_BATCHES + (_TEST_BATCH,)
    missing = [name for name in needed if not os.path.isfile(os.path.join(directory, name))]
    if missing:
        nested = os.path.join(directory, CIFAR10_DIRNAME)
        hint = (f" It contains {nested!r}; pass that directory instead."
                if os.path.isdir(nested) else f" {_HOW_TO_GET}")
        raise FileNotFoundError(
            f"{directory!r} is not a cifar-10-batches-py directory: it lacks "
            f"{', '.join(missing)}.{hint}"
        )
    X_train, y_train = _read_batches(directory, _TRAIN_BATCHES)
    X_test, y_test = _read_batches(directory, (_TEST_BATCH,))
    return X_train, y_train, X_test, y_test


def find_cifar10(path=None):
    """Locate an extracted CIFAR-10 (``cifar-10-batches-py``) directory.

    Looks at ``path`` first: it may be the ``cifar-10-batches-py`` directory
    itself (any name, as long as it holds the batch files) or a directory that
    contains one.  Otherwise, or when ``path`` holds neither, looks for
    ``cifar-10-batches-py`` in the data home (see :func:`get_data_home`).
    Nothing is created or downloaded.

    Parameters
    ----------
    path : str or path-like, default=None
        Where to look first.

    Returns
    -------
    path : str or None
        The directory holding ``data_batch_1`` to ``data_batch_5``,
        ``test_batch`` and ``batches.meta``, ready for :func:`load_cifar10`;
        None if neither place has one.

    Warns
    -----
    UserWarning
        When ``path`` is given but holds no CIFAR-10, before the data home is
        tried: a mistyped path should not go unnoticed.

    See Also
    --------
    load_cifar10 : Load the directory this returns.
    fetch_cifar10 : Download CIFAR-10 into the data home.

    Examples
    --------
    Use CIFAR-10 when it is available, scikit-learn's digits otherwise:

    >>> from sklearn.datasets import load_digits
    >>> from skdeep.datasets import find_cifar10, load_cifar10
    >>> path = find_cifar10()
    >>> if path is None:
    ...     X, y = load_digits(return_X_y=True)
    ... else:
    ...     X_train, y_train, X_test, y_test = load_cifar10(path)
    """
    if path is not None:
        given = os.fspath(path)
        for candidate in (given, os.path.join(given, CIFAR10_DIRNAME)):
            if _holds_cifar10(candidate):
                return candidate
        home = _data_home_path()
        warnings.warn(
            f"{given!r} holds no CIFAR-10 (neither the cifar-10-batches-py files nor "
            f"a cifar-10-batches-py directory); looking in the data home {home!r} "
            f"instead.",
            UserWarning,
            stacklevel=2,
        )
    candidate = os.path.join(_data_home_path(), CIFAR10_DIRNAME)
    return candidate if _holds_cifar10(candidate) else None


def _archive_members(tar, archive_path):
    """The regular files directly under ``cifar-10-batches-py/`` in ``tar``.

    Anything else outside that directory is skipped; a name that is absolute or
    climbs out with ``..`` means a malicious archive and is refused outright.
    """
    members = []
    for member in tar.getmembers():
        name = member.name.replace("\\", "/")
        parts = pathlib.PurePosixPath(name).parts
        if name.startswith("/") or ".." in parts or (parts and ":" in parts[0]):
            raise OSError(
                f"Refusing to extract {archive_path}: its member {member.name!r} "
                f"would be written outside the extraction directory."
            )
        if (len(parts) == 2 and parts[0] == CIFAR10_DIRNAME and member.isfile()):
            members.append(member)
    return members


def _extract(archive_path, data_home):
    """Extract the batches of ``archive_path`` to ``data_home/cifar-10-batches-py``.

    Extraction happens in a temporary directory next to the target and is
    moved into place only once complete, so an interrupted extraction never
    looks like a usable cache.
    """
    target = os.path.join(data_home, CIFAR10_DIRNAME)
    sys.stderr.write(f"Extracting {archive_path} to {target}\n")
    scratch = tempfile.mkdtemp(dir=data_home, prefix=".cifar-10-extract-")
    try:
        with tarfile.open(archive_path, "r:gz") as tar:
            members = _archive_members(tar, archive_path)
            if hasattr(tarfile, "data_filter"):
                tar.extractall(scratch, members=members, filter="data")
            else:  # Python without PEP 706 filters; members are vetted above
                tar.extractall(scratch, members=members)
        extracted = os.path.join(scratch, CIFAR10_DIRNAME)
        if not _holds_cifar10(extracted):
            absent = [n for n in _REQUIRED_FILES
                      if not os.path.isfile(os.path.join(extracted, n))]
            raise OSError(
                f"{archive_path} is not the CIFAR-10 python archive: it lacks "
                f"{CIFAR10_DIRNAME}/{{{', '.join(absent)}}}."
            )
        try:
            os.rename(extracted, target)
        except OSError:
            if not os.path.isdir(target):
                raise
            # An incomplete directory of that name is already there (or a
            # concurrent fetch just finished).  Replace file by file, the files
            # it lacks last, so it becomes complete only when every file is new.
            names = sorted(os.listdir(extracted),
                           key=lambda n: not os.path.exists(os.path.join(target, n)))
            for name in names:
                os.replace(os.path.join(extracted, name), os.path.join(target, name))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def fetch_cifar10(data_home=None, download_if_missing=True):
    """Load CIFAR-10, downloading the official archive once if needed.

    The first call downloads ``cifar-10-python.tar.gz`` (170 MB) from
    https://www.cs.toronto.edu/~kriz/cifar.html into the data home, showing
    progress on stderr.  The download is written to a temporary file and kept
    only when its size and MD5 match the official archive; it is then
    extracted (only its ``cifar-10-batches-py`` files, never outside the data
    home) and removed.  Later calls read the extracted
    ``cifar-10-batches-py`` directory without touching the network.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Where to keep the data.  If None, the ``SKDEEP_DATA`` environment
        variable, else ``~/skdeep_data`` (see :func:`get_data_home`).
    download_if_missing : bool, default=True
        If False, raise an ``OSError`` instead of downloading when the data is
        not in the data home.

    Returns
    -------
    data : :class:`~sklearn.utils.Bunch`
        Dictionary-like object with the following attributes.

        X_train : ndarray of shape (50000, 32, 32, 3), dtype uint8
            Training images, channels last.
        y_train : ndarray of shape (50000,), dtype int64
            Training labels, indices into ``target_names``.
        X_test : ndarray of shape (10000, 32, 32, 3), dtype uint8
            Test images, channels last.
        y_test : ndarray of shape (10000,), dtype int64
            Test labels.
        target_names : ndarray of shape (10,), dtype str
            Class names, from ``batches.meta``.
        DESCR : str
            Description of the dataset.

    Raises
    ------
    OSError
        When the data is missing and ``download_if_missing`` is False, or the
        download fails or does not verify (nothing is cached then).
    pickle.UnpicklingError, ValueError
        When a cached batch file is tampered with or corrupt, as in
        :func:`load_cifar10`.

    See Also
    --------
    load_cifar10 : Load a ``cifar-10-batches-py`` directory as arrays.
    find_cifar10 : Locate one without downloading.

    Examples
    --------
    >>> from skdeep.datasets import fetch_cifar10
    >>> cifar = fetch_cifar10()  # doctest: +SKIP
    >>> cifar.X_train.shape, cifar.target_names[cifar.y_train[:3]]  # doctest: +SKIP
    ((50000, 32, 32, 3), array(['frog', 'truck', 'truck'], dtype='<U10'))
    """
    data_home = get_data_home(data_home)
    directory = os.path.join(data_home, CIFAR10_DIRNAME)
    if not _holds_cifar10(directory):
        if not download_if_missing:
            raise OSError(
                f"Data not found and `download_if_missing` is False: {data_home!r} "
                f"holds no complete {CIFAR10_DIRNAME} directory. {_HOW_TO_GET}"
            )
        archive = CIFAR10_ARCHIVE
        archive_path = os.path.join(data_home, archive.filename)
        # An archive left by an earlier run that died before extracting is
        # reused, but only if it verifies.
        if not _is_verified(archive_path, archive):
            _fetch_remote(archive, data_home)
        _extract(archive_path, data_home)
        # The extracted batches are the cache; the archive would double the
        # disk space for nothing.
        os.remove(archive_path)
    X_train, y_train, X_test, y_test = load_cifar10(directory)
    return Bunch(
        X_train=X_train,
        y_train=y_train,
        X_test=X_test,
        y_test=y_test,
        target_names=np.array(_read_label_names(os.path.join(directory, _META))),
        DESCR=DESCR,
    )
