"""skdeep under every joblib backend: same results as serial, and never a hang.

Each computation runs inside ``joblib.parallel_backend(name)`` for the threading,
loky and multiprocessing backends and for dask on a real ``LocalCluster``, in the
main thread (joblib's multiprocessing backend runs serially below any other
thread) under a deadline: SIGALRM raises in the main thread when the work has
not finished, so a hang fails the test instead of stalling the run.
"""
import signal
from contextlib import contextmanager

import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_backend
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from skdeep import HOGTransformer, HSVHistogramTransformer, KNNClassifier
from skdeep.neighbors import pairwise_distances

# Every computation here takes about a second serially; a worker pool's start
# (loky, multiprocessing) takes a few more on a busy machine.
DEADLINE_SECONDS = 60

BACKENDS = ["threading", "loky", "multiprocessing", "dask"]

pytestmark = pytest.mark.skipif(not hasattr(signal, "setitimer"),
                                reason="the deadline needs SIGALRM (POSIX)")


@contextmanager
def _deadline(seconds, what):
    """Raise a test failure in the main thread if the block runs longer than `seconds`."""
    def expire(signum, frame):
        pytest.fail(f"{what} did not finish within {seconds} s (a hang)", pytrace=False)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture(scope="module")
def dask_client():
    """One scheduler and two single-threaded worker processes on loopback, for the module."""
    pytest.importorskip("distributed")
    from distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        with Client(cluster) as client:
            yield client
    finally:
        cluster.close()


@pytest.fixture(params=BACKENDS)
def backend(request):
    """Run the test's work in ``in_backend(function, *args)``: under the backend, on a deadline."""
    name = request.param
    if name == "dask":
        request.getfixturevalue("dask_client")
        pytest.importorskip("joblib._dask")

    def in_backend(function, *args):
        # n_jobs=2 for the pools; dask's default, every worker of the cluster, is 2 too
        options = {} if name == "dask" else {"n_jobs": 2}
        with _deadline(DEADLINE_SECONDS, f"{function.__name__} under {name!r}"):
            with parallel_backend(name, **options):
                return function(*args)

    return in_backend


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:300], y[:300], X[300:400]


@pytest.fixture(scope="module")
def images():
    # colour images with several HOG blocks and every hue bin populated
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(40, 12 * 12 * 3), dtype=np.uint8)


def _neighbours_and_labels(knn, X):
    dist, ind = knn.kneighbors(X)
    return dist, ind, knn.predict(X)


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_knn_predict_equals_serial(backend, digits, metric):
    X, y, X_test = digits
    knn = KNNClassifier(n_neighbors=3, metric=metric).fit(X, y)
    expected = _neighbours_and_labels(knn, X_test)
    got = backend(_neighbours_and_labels, knn, X_test)
    for one, other in zip(got, expected):
        np.testing.assert_array_equal(one, other)


@pytest.mark.parametrize("metric", ["l2", "l1"])
def test_pairwise_distances_equal_serial(backend, digits, metric):
    X, _, X_test = digits
    expected = pairwise_distances(X_test, X, metric)
    np.testing.assert_array_equal(backend(pairwise_distances, X_test, X, metric), expected)


def _transform_in_chunks(transformer, X):
    """The rows transformed in four chunks by the active backend's workers."""
    chunks = Parallel()(delayed(transformer.transform)(part)
                        for part in np.array_split(X, 4))
    return np.vstack(chunks)


@pytest.mark.parametrize("transformer", [
    HOGTransformer(image_shape=(12, 12, 3), pixels_per_cell=(4, 4), cells_per_block=(2, 2)),
    HSVHistogramTransformer(image_shape=(12, 12, 3), nbin=6),
], ids=["hog", "hue"])
def test_feature_transformers_equal_serial(backend, images, transformer):
    transformer.fit(images)
    expected = transformer.transform(images)
    np.testing.assert_array_equal(backend(transformer.transform, images), expected)
    np.testing.assert_array_equal(backend(_transform_in_chunks, transformer, images), expected)


def _knn_search(X, y):
    grid = {"n_neighbors": [1, 3], "metric": ["l1", "l2"]}
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    return GridSearchCV(KNNClassifier(), grid, cv=cv, n_jobs=-1).fit(X, y)


def test_grid_search_over_knn_equals_serial(backend, digits):
    X, y, _ = digits
    with parallel_backend("sequential"):
        expected = _knn_search(X, y).cv_results_
    got = backend(_knn_search, X, y).cv_results_
    for key, values in expected.items():
        if key.startswith(("split", "mean_test", "std_test", "rank_test", "param")):
            np.testing.assert_array_equal(got[key], values, err_msg=key)
