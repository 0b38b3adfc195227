"""Tests of skdeep.datasets: CIFAR-10 loading, the restricted unpickler, fetching.

Nothing here touches the internet: downloads are served from a local HTTP
server in a thread or from file:// URLs, and the archive is a few images in the
official layout.
"""
import builtins
import hashlib
import http.server
import io
import os
import pickle
import pickletools
import re
import struct
import subprocess
import sys
import tarfile
import threading

import numpy as np
import pytest
from sklearn.utils import Bunch

from skdeep.datasets import fetch_cifar10, find_cifar10, get_data_home, load_cifar10
from skdeep.datasets import _base, _cifar10
from skdeep.datasets._base import RemoteFileMetadata

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
           "horse", "ship", "truck"]
BATCH_FILES = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]


# --------------------------------------------------------------------------
# Writing batches in the exact formats of the two producers
# --------------------------------------------------------------------------

class _Py2Pickler(pickle._Pickler):
    """Writes strings the way Python 2 did (``str`` opcodes, not unicode or bytes).

    The official archive was pickled by Python 2 and numpy 1.x: its dict keys,
    file names, dtype codes and array buffers are Python 2 ``str`` objects
    (BINSTRING opcodes), which Python 3 reads back as ``str`` under
    ``encoding='latin1'``.
    """

    dispatch = pickle._Pickler.dispatch.copy()

    def _save_py2_str(self, obj):
        raw = obj.encode("latin1") if isinstance(obj, str) else obj
        if len(raw) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(raw)]) + raw)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(raw)) + raw)
        self.memoize(obj)

    dispatch[bytes] = _save_py2_str
    dispatch[str] = _save_py2_str


def _py2_dumps(obj):
    buf = io.BytesIO()
    _Py2Pickler(buf, protocol=2).dump(obj)
    # numpy 1.x named the reconstructor by its old module path.
    return buf.getvalue().replace(b"cnumpy._core.multiarray\n_reconstruct\n",
                                  b"cnumpy.core.multiarray\n_reconstruct\n")


def images_to_rows(images):
    """Channel-major rows, as the batch files store (n, 32, 32, 3) images."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), 3072)


def write_batch(path, rows, labels, style="py3", label="batch"):
    """Write one batch: ``py3`` like make_cifar10.py, ``py2`` like the official
    archive (with filenames), ``bytes-keys`` a Python 3 pickle with bytes keys."""
    labels = [int(v) for v in labels]  # Python ints, as both producers write
    if style == "py3":
        batch = {"batch_label": label, "labels": labels, "data": rows}
        with open(path, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    elif style == "bytes-keys":
        batch = {b"batch_label": label.encode(), b"labels": labels, b"data": rows,
                 b"filenames": [f"img_{i}.png".encode() for i in range(len(rows))]}
        with open(path, "wb") as f:
            pickle.dump(batch, f, protocol=2)
    else:
        batch = {b"batch_label": label.encode(), b"labels": labels, b"data": rows,
                 b"filenames": [f"img_{i}.png".encode() for i in range(len(rows))]}
        with open(path, "wb") as f:
            f.write(_py2_dumps(batch))


def write_meta(path, style="py3"):
    if style == "py2":
        meta = {b"label_names": [c.encode() for c in CLASSES],
                b"num_cases_per_batch": 10000, b"num_vis": 3072}
        with open(path, "wb") as f:
            f.write(_py2_dumps(meta))
    else:
        meta = {"label_names": CLASSES, "num_cases_per_batch": 10000, "num_vis": 3072}
        with open(path, "wb") as f:
            pickle.dump(meta, f, protocol=2)


def make_cifar_dir(directory, n_per_batch=(3, 2, 4, 3, 2), n_test=3, style="py3", seed=0):
    """A tiny cifar-10-batches-py directory; returns the images and labels it holds."""
    rng = np.random.RandomState(seed)
    os.makedirs(directory, exist_ok=True)
    expected = {}
    for name, n in zip(BATCH_FILES, list(n_per_batch) + [n_test]):
        images = rng.randint(0, 256, size=(n, 32, 32, 3)).astype(np.uint8)
        labels = rng.randint(0, 10, size=n)
        write_batch(os.path.join(directory, name), images_to_rows(images), labels, style)
        expected[name] = (images, labels)
    write_meta(os.path.join(directory, "batches.meta"), style)
    train = [expected[name] for name in BATCH_FILES[:5]]
    return (np.concatenate([im for im, _ in train]), np.concatenate([y for _, y in train]),
            expected["test_batch"][0], expected["test_batch"][1])


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """An empty data home that SKDEEP_DATA points to."""
    home = tmp_path / "home"
    monkeypatch.setenv("SKDEEP_DATA", str(home))
    return home


# --------------------------------------------------------------------------
# load_cifar10
# --------------------------------------------------------------------------

@pytest.mark.parametrize("style", ["py3", "py2", "bytes-keys"])
# Unequal batches, the first smaller than the rest: the loader sizes its output
# from the first batch and must grow it correctly.
@pytest.mark.parametrize("n_per_batch", [(3, 2, 4, 3, 2), (1, 4, 4, 0, 5)])
def test_load_cifar10_shapes_dtypes_values(tmp_path, style, n_per_batch):
    directory = tmp_path / "cifar-10-batches-py"
    X_train, y_train, X_test, y_test = make_cifar_dir(directory, n_per_batch, style=style)

    got = load_cifar10(directory)

    n_train = sum(n_per_batch)
    assert [a.shape for a in got] == [(n_train, 32, 32, 3), (n_train,), (3, 32, 32, 3), (3,)]
    assert [a.dtype for a in got] == [np.uint8, np.int64, np.uint8, np.int64]
    assert got[0].flags.c_contiguous and got[2].flags.c_contiguous
    np.testing.assert_array_equal(got[0], X_train)
    np.testing.assert_array_equal(got[1], y_train)
    np.testing.assert_array_equal(got[2], X_test)
    np.testing.assert_array_equal(got[3], y_test)


def test_py2_batches_really_use_python2_strings(tmp_path):
    # Guards the test above: the "py2" files must hold Python 2 str opcodes and
    # the numpy 1.x module path, and no bytes-via-_codecs or unicode opcodes.
    path = tmp_path / "batch"
    write_batch(path, np.zeros((2, 3072), np.uint8), [0, 1], style="py2")
    raw = path.read_bytes()
    opcodes = {op.name for op, _, _ in pickletools.genops(raw)}
    assert {"SHORT_BINSTRING", "BINSTRING"} <= opcodes
    assert not opcodes & {"BINUNICODE", "SHORT_BINUNICODE", "BINBYTES", "SHORT_BINBYTES"}
    assert b"numpy.core.multiarray" in raw and b"_codecs" not in raw


def test_load_cifar10_channel_major_to_channels_last(tmp_path):
    # One image whose three planes hold known, distinct patterns: a loader that
    # reshapes the row straight to (32, 32, 3) or swaps height and width fails.
    plane = np.arange(1024).reshape(32, 32)
    planes = [plane % 200, 200 + plane % 50, (plane // 32) * 7 % 256]
    row = np.concatenate([p.ravel() for p in planes]).astype(np.uint8)[None, :]
    directory = tmp_path / "d"
    directory.mkdir()
    for name in BATCH_FILES:
        write_batch(directory / name, row, [7])
    write_meta(directory / "batches.meta")

    X_train, y_train, X_test, _ = load_cifar10(str(directory))

    img = X_test[0]
    assert tuple(img[0, 0]) == (0, 200, 0)
    assert tuple(img[0, 5]) == (5, 205, 0)            # along the width
    assert tuple(img[1, 0]) == (32, 200 + 32 % 50, 7)  # along the height
    assert tuple(img[31, 31]) == (1023 % 200, 200 + 1023 % 50, 31 * 7)
    np.testing.assert_array_equal(img[..., 0], plane % 200)
    np.testing.assert_array_equal(img[..., 2], (plane // 32) * 7 % 256)
    assert X_train.shape == (5, 32, 32, 3) and (y_train == 7).all()


def test_load_cifar10_missing_directory(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(FileNotFoundError) as info:
        load_cifar10(missing)
    message = str(info.value)
    assert str(missing) in message
    assert "fetch_cifar10()" in message and "make_cifar10.py" in message


def test_load_cifar10_missing_batch_names_it(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    make_cifar_dir(directory)
    (directory / "data_batch_4").unlink()
    with pytest.raises(FileNotFoundError, match="lacks data_batch_4"):
        load_cifar10(directory)


def test_load_cifar10_parent_directory_points_to_child(tmp_path):
    make_cifar_dir(tmp_path / "cifar-10-batches-py")
    with pytest.raises(FileNotFoundError, match="pass that directory instead") as info:
        load_cifar10(tmp_path)
    assert str(tmp_path / "cifar-10-batches-py") in str(info.value)


def _rows(n):
    return np.zeros((n, 3072), np.uint8)


@pytest.mark.parametrize("batch, match", [
    (["not", "a", "dict"], "holds a list, not a dict"),
    ({"data": _rows(2)}, r"lacks \['labels'\]"),
    ({"data": _rows(2), "fine_labels": [0, 1]}, "CIFAR-100"),
    ({"data": _rows(2).astype(np.float64), "labels": [0, 1]}, "dtype float64"),
    ({"data": np.zeros((2, 1024), np.uint8), "labels": [0, 1]}, r"shape \(2, 1024\)"),
    ({"data": [[0] * 3072], "labels": [0]}, "got a list"),
    ({"data": _rows(2), "labels": [0, 1, 2]}, "one int per image"),
    ({"data": _rows(2), "labels": ["cat", "dog"]}, "one int per image"),
    ({"data": _rows(2), "labels": [0, 10]}, r"0\.\.9, got values from 0 to 10"),
    ({"data": _rows(2), "labels": [-1, 3]}, "from -1 to 3"),
    ({"data": _rows(2), "labels": "01"}, "must be a list of ints"),
])
def test_load_cifar10_refuses_wrong_structure(tmp_path, batch, match):
    directory = tmp_path / "cifar-10-batches-py"
    make_cifar_dir(directory)
    target = directory / "data_batch_2"
    with open(target, "wb") as f:
        pickle.dump(batch, f, protocol=2)
    with pytest.raises(ValueError, match=match) as info:
        load_cifar10(directory)
    assert str(target) in str(info.value)


def test_load_cifar10_truncated_batch(tmp_path):
    directory = tmp_path / "cifar-10-batches-py"
    make_cifar_dir(directory)
    target = directory / "test_batch"
    target.write_bytes(target.read_bytes()[:5000])
    with pytest.raises(pickle.UnpicklingError, match="truncated or corrupt") as info:
        load_cifar10(directory)
    assert str(target) in str(info.value)


# --------------------------------------------------------------------------
# The restricted unpickler
# --------------------------------------------------------------------------

class _Payload:
    """Unpickling this calls ``func(*args)``: what a tampered batch would do."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payloads(marker):
    create = f"open({str(marker)!r}, 'w').close()"
    cases = {
        "subprocess.call": _Payload(subprocess.call, [sys.executable, "-c", create]),
        "builtins.exec": _Payload(builtins.exec, create),
        "builtins.eval": _Payload(builtins.eval, create),
    }
    if os.name == "posix":
        cases["os.system"] = _Payload(os.system, f"touch '{marker}'")
    return cases


@pytest.mark.parametrize("payload_name",
                         ["os.system", "subprocess.call", "builtins.exec", "builtins.eval"])
@pytest.mark.parametrize("where", ["batch_label", "data"])
def test_tampered_batch_is_refused_and_runs_nothing(tmp_path, payload_name, where):
    marker = tmp_path / "pwned"
    payloads = _payloads(marker)
    if payload_name not in payloads:
        pytest.skip(f"{payload_name} payload needs a POSIX shell")
    directory = tmp_path / "cifar-10-batches-py"
    make_cifar_dir(directory)
    target = directory / "data_batch_3"
    batch = {"batch_label": "training batch 3 of 5", "labels": [0, 1], "data": _rows(2)}
    batch[where] = payloads[payload_name]
    with open(target, "wb") as f:
        pickle.dump(batch, f, protocol=2)

    with pytest.raises(pickle.UnpicklingError) as info:
        load_cifar10(directory)

    message = str(info.value)
    assert str(target) in message and "Refusing to load" in message
    # The module part varies (protocol 2 writes Python 2 names such as
    # __builtin__ or commands); the refused function is named either way.
    assert f".{payload_name.split('.')[1]}'" in message, message
    assert not marker.exists()

    # The control: an ordinary unpickler does run the payload, so the absence
    # of the marker above is the restricted unpickler's doing.
    with open(target, "rb") as f:
        pickle.load(f, encoding="latin1")
    assert marker.exists()


def test_codecs_encode_only_latin1(tmp_path):
    import _codecs

    directory = tmp_path / "cifar-10-batches-py"
    make_cifar_dir(directory)
    with open(directory / "data_batch_1", "wb") as f:
        pickle.dump({"batch_label": _Payload(_codecs.encode, "abc", "rot13"),
                     "labels": [0], "data": _rows(1)}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="'rot13'"):
        load_cifar10(directory)


def test_bytes_constructor_only_makes_empty_bytes(tmp_path):
    # bytes() is admitted for the empty buffer protocol 2 writes; with an
    # argument it would allocate whatever the file asks for.
    directory = tmp_path / "cifar-10-batches-py"
    make_cifar_dir(directory)
    with open(directory / "data_batch_5", "wb") as f:
        pickle.dump({"batch_label": _Payload(bytes, 10**12), "labels": [0],
                     "data": _rows(1)}, f, protocol=2)
    with pytest.raises(pickle.UnpicklingError, match="data_batch_5"):
        load_cifar10(directory)


def test_protocol5_numpy_pickle_is_refused(tmp_path):
    # Pickles newer than a CIFAR batch reach for other numpy globals; those are
    # outside the allow list, whatever they would do.
    directory = tmp_path / "cifar-10-batches-py"
    make_cifar_dir(directory)
    with open(directory / "test_batch", "wb") as f:
        pickle.dump({"labels": [0], "data": _rows(1)}, f, protocol=5)
    with pytest.raises(pickle.UnpicklingError, match="numpy._core.numeric._frombuffer"):
        load_cifar10(directory)


# --------------------------------------------------------------------------
# find_cifar10 and get_data_home
# --------------------------------------------------------------------------

def test_find_cifar10_path_is_or_contains_the_directory(tmp_path, data_home):
    named_otherwise = tmp_path / "my_cifar"
    make_cifar_dir(named_otherwise)
    assert find_cifar10(named_otherwise) == str(named_otherwise)

    parent = tmp_path / "parent"
    make_cifar_dir(parent / "cifar-10-batches-py")
    assert find_cifar10(str(parent)) == str(parent / "cifar-10-batches-py")


def test_find_cifar10_falls_back_to_data_home_with_a_warning(tmp_path, data_home):
    make_cifar_dir(data_home / "cifar-10-batches-py")
    assert find_cifar10() == str(data_home / "cifar-10-batches-py")
    with pytest.warns(UserWarning, match="holds no CIFAR-10"):
        found = find_cifar10(tmp_path / "typo")
    assert found == str(data_home / "cifar-10-batches-py")


def test_find_cifar10_none_when_absent_or_incomplete(tmp_path, data_home):
    assert find_cifar10() is None
    assert not data_home.exists()  # looking must not create the data home

    make_cifar_dir(data_home / "cifar-10-batches-py")
    (data_home / "cifar-10-batches-py" / "batches.meta").unlink()
    assert find_cifar10() is None
    with pytest.warns(UserWarning):
        assert find_cifar10(data_home / "cifar-10-batches-py") is None


def test_get_data_home_precedence(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "user"))
    monkeypatch.delenv("SKDEEP_DATA", raising=False)
    default = get_data_home()
    assert default == str(tmp_path / "user" / "skdeep_data")
    assert os.path.isdir(default)

    monkeypatch.setenv("SKDEEP_DATA", str(tmp_path / "env"))
    assert get_data_home() == str(tmp_path / "env")
    assert get_data_home(tmp_path / "arg") == str(tmp_path / "arg")
    assert get_data_home("~/elsewhere") == str(tmp_path / "user" / "elsewhere")
    assert os.path.isdir(tmp_path / "arg")


# --------------------------------------------------------------------------
# fetch_cifar10 (local server and file:// URLs only)
# --------------------------------------------------------------------------

@pytest.fixture
def archive(tmp_path):
    """A small archive in the official layout, its record, and its contents."""
    source = tmp_path / "source"
    arrays = make_cifar_dir(source / "cifar-10-batches-py", style="py2", seed=1)
    (source / "cifar-10-batches-py" / "readme.html").write_text("<html></html>")
    path = tmp_path / "served" / "cifar-10-python.tar.gz"
    path.parent.mkdir()
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    payload = path.read_bytes()
    record = RemoteFileMetadata(filename="cifar-10-python.tar.gz", url=path.as_uri(),
                                size=len(payload), md5=hashlib.md5(payload).hexdigest())
    return Bunch(path=path, payload=payload, record=record, arrays=arrays)


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        server = self.server
        server.requests += 1
        if self.path != "/cifar-10-python.tar.gz":
            self.send_error(404)
            return
        self.send_response(200)
        if server.send_length:
            self.send_header("Content-Length", str(len(server.payload)))
        self.end_headers()
        # With truncate_at the connection closes early, as a dropped
        # transfer does (HTTP/1.0: closing the socket ends the response).
        self.wfile.write(server.payload[:server.truncate_at])

    def log_message(self, *args):
        pass


@pytest.fixture
def server(archive, monkeypatch):
    """HTTP server in a thread serving the archive; counts requests."""
    for var in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy",
                "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("no_proxy", "*")
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.payload, httpd.requests = archive.payload, 0
    httpd.truncate_at, httpd.send_length = None, True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}/cifar-10-python.tar.gz"
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join()


def _point_at(monkeypatch, record, **changes):
    monkeypatch.setattr(_cifar10, "CIFAR10_ARCHIVE", record._replace(**changes))


def _check_bunch(bunch, arrays):
    assert isinstance(bunch, Bunch)
    for key, expected in zip(["X_train", "y_train", "X_test", "y_test"], arrays):
        np.testing.assert_array_equal(bunch[key], expected)
    assert bunch.X_train.dtype == np.uint8 and bunch.y_train.dtype == np.int64
    assert list(bunch.target_names) == CLASSES
    assert "CIFAR-10" in bunch.DESCR


def test_fetch_cifar10_over_http_downloads_once(archive, server, data_home, monkeypatch,
                                                capsys):
    _point_at(monkeypatch, archive.record, url=server.url)

    bunch = fetch_cifar10()

    _check_bunch(bunch, archive.arrays)
    assert server.requests == 1
    # The cache is the extracted directory alone: no archive, temp file or
    # extraction scratch left behind.
    assert sorted(os.listdir(data_home)) == ["cifar-10-batches-py"]
    assert sorted(os.listdir(data_home / "cifar-10-batches-py")) == sorted(
        BATCH_FILES + ["batches.meta", "readme.html"])
    err = capsys.readouterr().err
    assert f"Downloading {server.url}" in err and "(100%)" in err

    again = fetch_cifar10()
    assert server.requests == 1
    _check_bunch(again, archive.arrays)
    assert capsys.readouterr().err == ""


def test_fetch_cifar10_file_url_and_data_home_argument(archive, tmp_path, data_home,
                                                       monkeypatch):
    _point_at(monkeypatch, archive.record)  # its url is a file:// URL
    elsewhere = tmp_path / "explicit"

    bunch = fetch_cifar10(data_home=elsewhere)

    _check_bunch(bunch, archive.arrays)
    assert os.listdir(elsewhere) == ["cifar-10-batches-py"]
    assert not data_home.exists()  # the argument beats SKDEEP_DATA


@pytest.mark.parametrize("fault, match", [
    ("md5", "its MD5 is"),
    ("size", "announces"),
    ("truncated", "stopped after"),
    ("truncated-no-length", "stopped after"),
    ("longer-no-length", "more than the expected"),
    ("missing", "HTTP Error 404"),
])
def test_fetch_cifar10_bad_download_caches_nothing(archive, server, data_home, monkeypatch,
                                                   fault, match):
    changes = {"url": server.url}
    if fault == "md5":
        changes["md5"] = "0" * 32
    elif fault == "size":
        changes["size"] = archive.record.size + 1
    elif fault.startswith("truncated"):
        server.truncate_at = archive.record.size // 2
        server.send_length = fault == "truncated"
    elif fault == "longer-no-length":
        server.send_length = False
        changes["size"] = archive.record.size - 1
    elif fault == "missing":
        changes["url"] = server.url.replace(".tar.gz", ".tgz")
    _point_at(monkeypatch, archive.record, **changes)

    with pytest.raises(OSError, match=match) as info:
        fetch_cifar10()

    assert server.url.split("/")[2] in str(info.value)  # names the source
    assert server.requests == 1
    assert os.listdir(data_home) == []  # no archive, no temp file, no directory
    assert find_cifar10() is None


@pytest.mark.parametrize("changes", [{"md5": "f" * 32}, {"size": 123}])
def test_fetch_cifar10_bad_file_url_caches_nothing(archive, data_home, monkeypatch, changes):
    _point_at(monkeypatch, archive.record, **changes)
    with pytest.raises(OSError, match="Nothing was saved"):
        fetch_cifar10()
    assert os.listdir(data_home) == []


def test_fetch_cifar10_download_if_missing_false(archive, server, data_home, monkeypatch):
    _point_at(monkeypatch, archive.record, url=server.url)
    with pytest.raises(OSError, match="download_if_missing` is False"):
        fetch_cifar10(download_if_missing=False)
    assert server.requests == 0
    assert not (data_home / "cifar-10-batches-py").exists()


def test_fetch_cifar10_uses_existing_directory_without_network(tmp_path, data_home,
                                                              monkeypatch):
    arrays = make_cifar_dir(data_home / "cifar-10-batches-py")
    _point_at(monkeypatch, _cifar10.CIFAR10_ARCHIVE,
              url=(tmp_path / "no-such-archive").as_uri())
    _check_bunch(fetch_cifar10(download_if_missing=False), arrays)
    _check_bunch(fetch_cifar10(), arrays)


def test_fetch_cifar10_reuses_verified_leftover_archive(archive, data_home, tmp_path,
                                                       monkeypatch):
    # A run that died after downloading but before extracting left the archive.
    data_home.mkdir()
    (data_home / "cifar-10-python.tar.gz").write_bytes(archive.payload)
    _point_at(monkeypatch, archive.record, url=(tmp_path / "offline").as_uri())
    _check_bunch(fetch_cifar10(), archive.arrays)
    assert os.listdir(data_home) == ["cifar-10-batches-py"]


def test_fetch_cifar10_completes_an_incomplete_directory(archive, data_home, monkeypatch):
    stale = data_home / "cifar-10-batches-py"
    stale.mkdir(parents=True)
    (stale / "data_batch_1").write_bytes(b"stale")
    _point_at(monkeypatch, archive.record)
    _check_bunch(fetch_cifar10(), archive.arrays)


def test_fetch_cifar10_progress_is_throttled(archive, server, data_home, monkeypatch,
                                             capsys):
    monkeypatch.setattr(_base, "_CHUNK_SIZE", 512)
    _point_at(monkeypatch, archive.record, url=server.url)
    fetch_cifar10()
    lines = [line for line in capsys.readouterr().err.splitlines() if " of " in line]
    n_chunks = -(-archive.record.size // 512)
    assert n_chunks > 20
    assert 1 <= len(lines) < n_chunks / 4
    assert lines[-1].startswith(f"  {archive.record.size / 1e6:.1f} MB of")
    assert "(100%)" in lines[-1]


def _archive_with(tmp_path, extra):
    """The official layout plus the (name, TarInfo kwargs, data) members in ``extra``."""
    source = tmp_path / "src" / "cifar-10-batches-py"
    arrays = make_cifar_dir(source)
    path = tmp_path / "crafted.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-py")
        for name, kwargs, data in extra:
            info = tarfile.TarInfo(name)
            for key, value in kwargs.items():
                setattr(info, key, value)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    payload = path.read_bytes()
    record = RemoteFileMetadata("cifar-10-python.tar.gz", path.as_uri(), len(payload),
                                hashlib.md5(payload).hexdigest())
    return record, arrays


@pytest.mark.parametrize("name", ["../escaped", "cifar-10-batches-py/../../escaped",
                                  "{tmp_path}/escaped"])
def test_fetch_cifar10_refuses_path_traversal(tmp_path, data_home, monkeypatch, name):
    record, _ = _archive_with(tmp_path, [(name.format(tmp_path=tmp_path), {}, b"owned")])
    _point_at(monkeypatch, record)
    with pytest.raises(OSError, match="outside the extraction directory"):
        fetch_cifar10()
    assert not (tmp_path / "escaped").exists()
    assert not (data_home / "cifar-10-batches-py").exists()
    assert [n for n in os.listdir(data_home) if n.startswith(".")] == []


def test_fetch_cifar10_extracts_only_the_batch_directory(tmp_path, data_home, monkeypatch):
    record, arrays = _archive_with(tmp_path, [
        ("other/notes.txt", {}, b"not ours"),
        ("cifar-10-batches-py/sub/nested", {}, b"too deep"),
        ("cifar-10-batches-py/link", {"type": tarfile.SYMTYPE, "linkname": "/etc/passwd"},
         b""),
    ])
    _point_at(monkeypatch, record)
    _check_bunch(fetch_cifar10(), arrays)
    assert os.listdir(data_home) == ["cifar-10-batches-py"]
    assert sorted(os.listdir(data_home / "cifar-10-batches-py")) == sorted(
        BATCH_FILES + ["batches.meta"])


def test_fetch_cifar10_symlinked_batch_is_not_followed(tmp_path, data_home, monkeypatch):
    source = tmp_path / "src" / "cifar-10-batches-py"
    make_cifar_dir(source)
    (source / "data_batch_1").unlink()
    path = tmp_path / "crafted.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(source, arcname="cifar-10-batches-py")
        link = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    payload = path.read_bytes()
    _point_at(monkeypatch, RemoteFileMetadata("cifar-10-python.tar.gz", path.as_uri(),
                                              len(payload), hashlib.md5(payload).hexdigest()))
    with pytest.raises(OSError, match=re.escape("lacks cifar-10-batches-py/{data_batch_1}")):
        fetch_cifar10()
    assert not (data_home / "cifar-10-batches-py").exists()


def test_official_archive_record():
    record = _cifar10.CIFAR10_ARCHIVE
    assert record.url == "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
    assert record.size == 170_498_071
    assert record.md5 == "c58f30108f718f92721af3b95e74349a"


# --------------------------------------------------------------------------
# The real data, when present
# --------------------------------------------------------------------------

def test_real_cifar10():
    path = find_cifar10()
    if path is None:
        pytest.skip("CIFAR-10 not found in the data home (set SKDEEP_DATA to the "
                    "directory holding cifar-10-batches-py)")
    X_train, y_train, X_test, y_test = load_cifar10(path)
    assert X_train.shape == (50000, 32, 32, 3) and X_test.shape == (10000, 32, 32, 3)
    assert X_train.dtype == np.uint8 and y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(y_train, minlength=10), [5000] * 10)
    np.testing.assert_array_equal(np.bincount(y_test, minlength=10), [1000] * 10)
    # Natural images: the full range of values, and neighbouring pixels of the
    # same channel far more alike than pixels of different images would be
    # (a wrong reshape interleaves channels and breaks this).
    assert X_train.min() == 0 and X_train.max() == 255
    sample = X_test[:500].astype(np.int16)
    along_width = np.abs(np.diff(sample, axis=2)).mean()
    across_images = np.abs(sample[1:] - sample[:-1]).mean()
    assert along_width < across_images / 2
