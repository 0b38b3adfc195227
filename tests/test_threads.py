"""Threads: scikit-learn's convention for the kernels, and results that never depend on them."""
import numpy as np
import pytest
from joblib import Parallel, delayed, parallel_backend
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV, StratifiedKFold
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skdeep import (HOGTransformer, HSVHistogramTransformer, KNNClassifier,
                    LinearSVMClassifier, MLPClassifier, SoftmaxClassifier)
from skdeep.neighbors import pairwise_distances
from skdeep.utils._threads import (_thread_pools, blas_single_thread, kernel_threads,
                                   openmp_effective_n_threads)


def _openmp_limits():
    """Live limits of the OpenMP runtimes loaded with the kernels.

    Only those: a runtime another library loads later (PyTorch brings its own)
    is not the kernels', and skdeep leaves it alone.
    """
    return [lib.num_threads for lib in _thread_pools()["openmp"]]


def _blas_limits():
    return [lib.num_threads for lib in _thread_pools()["blas"]]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600], y[:600], X[600:900], y[600:900]


@pytest.fixture(scope="module")
def images():
    # random colour images, large enough for several HOG cells and hue bins
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, size=(40, 24 * 24 * 3), dtype=np.uint8)


# ---- the convention ----------------------------------------------------------
def test_effective_threads_follow_threadpool_limits():
    cores = openmp_effective_n_threads()
    assert cores >= 1
    with threadpool_limits(limits=1):
        assert openmp_effective_n_threads() == 1
        assert openmp_effective_n_threads(-1) == 1
        # an explicit count is the caller's choice, as in scikit-learn
        assert openmp_effective_n_threads(3) == 3
    assert openmp_effective_n_threads() == cores
    assert openmp_effective_n_threads(-cores - 5) == 1


@pytest.mark.parametrize("bad", [0, 1.5, "2", True])
def test_effective_threads_reject_bad_counts(bad):
    with pytest.raises(ValueError, match="n_threads"):
        openmp_effective_n_threads(bad)


def test_joblib_thread_workers_run_kernels_on_one_thread():
    counts = Parallel(n_jobs=2, backend="threading")(
        delayed(openmp_effective_n_threads)() for _ in range(4))
    assert counts == [1, 1, 1, 1]


def test_joblib_process_workers_share_the_cores():
    # joblib gives each of n_jobs process workers cores // n_jobs threads,
    # unless OMP_NUM_THREADS is already set, which the workers inherit
    import os

    expected = int(os.environ.get("OMP_NUM_THREADS", max(1, (os.cpu_count() or 1) // 2)))
    counts = Parallel(n_jobs=2, backend="loky")(
        delayed(openmp_effective_n_threads)() for _ in range(2))
    assert counts == [expected, expected]


def test_forked_workers_run_kernels_on_one_thread():
    # GNU OpenMP's threads do not survive fork: a parallel region in a forked
    # worker (joblib's "multiprocessing" backend) would wait for them forever
    import multiprocessing

    if "fork" not in multiprocessing.get_all_start_methods():
        pytest.skip("no fork on this platform")
    with multiprocessing.get_context("fork").Pool(1) as pool:
        assert pool.apply_async(openmp_effective_n_threads).get(timeout=60) == 1
        assert pool.apply_async(openmp_effective_n_threads, (2,)).get(timeout=60) == 1


class _RecordingKernels:
    """Stands for a kernel module: records the calling thread's OpenMP limits at each call."""

    def __init__(self, module, seen):
        self._module, self._seen = module, seen

    def __getattr__(self, name):
        function = getattr(self._module, name)

        def call(*args):
            self._seen.extend(_openmp_limits())
            return function(*args)
        return call


def _transform_from_a_wide_limit(transformer, images):
    # the worker thread's own limit is 2, so a kernel on one thread shows the
    # convention at work, not a limit it happened to find
    with kernel_threads(2):
        return transformer.transform(images)


@pytest.mark.parametrize("transformer, kernels", [
    (HOGTransformer(image_shape=(24, 24, 3), pixels_per_cell=(4, 4), cells_per_block=(2, 2)),
     "_hog"),
    (HSVHistogramTransformer(image_shape=(24, 24, 3)), "_hue"),
], ids=["hog", "hue"])
def test_feature_kernels_run_on_one_thread_in_joblib_thread_workers(
        images, transformer, kernels, monkeypatch):
    from skdeep.features import _extract

    if not _openmp_limits():
        pytest.skip("no OpenMP runtime loaded (kernels not compiled with OpenMP)")
    expected = transformer.fit(images).transform(images)
    seen = []
    monkeypatch.setattr(_extract, kernels, _RecordingKernels(getattr(_extract, kernels), seen))
    results = Parallel(n_jobs=2, backend="threading")(
        delayed(_transform_from_a_wide_limit)(transformer, images) for _ in range(2))
    assert seen and set(seen) == {1}
    for result in results:
        np.testing.assert_array_equal(result, expected)


def test_kernel_threads_sets_and_restores_this_threads_limit():
    before = _openmp_limits()
    if not before:
        pytest.skip("no OpenMP runtime loaded (kernels not compiled with OpenMP)")
    with kernel_threads(1):
        assert set(_openmp_limits()) == {1}
    assert _openmp_limits() == before


def test_blas_single_thread_sets_and_restores_the_blas_limit():
    before = _blas_limits()
    with blas_single_thread():
        assert set(_blas_limits()) <= {1}
    assert _blas_limits() == before


# ---- results do not depend on threads ----------------------------------------
def _fitted_outputs(estimator, X, y, X_test):
    """Everything an estimator computes, as arrays, for a bitwise comparison."""
    fitted = estimator.fit(X, y)
    if hasattr(fitted, "transform"):
        return [fitted.transform(X_test)]
    outputs = [fitted.predict(X_test)]
    for method in ("predict_proba", "decision_function"):
        if hasattr(fitted, method):
            outputs.append(getattr(fitted, method)(X_test))
    for attribute in ("coef_", "intercept_", "loss_history_"):
        if hasattr(fitted, attribute):
            outputs.append(np.asarray(getattr(fitted, attribute)))
    return outputs


def _estimators():
    return [
        KNNClassifier(n_neighbors=3, metric="l2"),
        KNNClassifier(n_neighbors=3, metric="l1"),
        make_pipeline(StandardScaler(), LinearSVMClassifier(num_iters=200, random_state=0)),
        make_pipeline(StandardScaler(), SoftmaxClassifier(num_iters=200, random_state=0)),
        # float32 training: the dtype whose BLAS products change with the threads
        make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(50,), num_epochs=3, random_state=0, dtype=np.float32)),
        make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(50, 30), normalization="batchnorm",
            dropout_keep_ratio=0.8, num_epochs=3, random_state=0)),
    ]


@pytest.mark.parametrize("index", range(len(_estimators())))
def test_estimators_are_bit_identical_for_any_thread_count(digits, index):
    X, y, X_test, _ = digits
    results = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            results.append(_fitted_outputs(_estimators()[index], X, y, X_test))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("estimator", [
    SoftmaxClassifier(num_iters=5, learning_rate=1e-4, batch_size=100, random_state=0),
    MLPClassifier(hidden_layer_sizes=(40,), num_epochs=1, batch_size=100, random_state=0),
])
def test_wide_float32_products_are_bit_identical_for_any_thread_count(estimator):
    # CIFAR-like rows: the shapes where OpenBLAS's float32 products change
    # with its thread count
    rng = np.random.default_rng(0)
    X = rng.standard_normal((600, 3072)).astype(np.float32)
    y = rng.integers(0, 10, len(X))
    results = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            results.append(_fitted_outputs(estimator, X[:400], y[:400], X[400:]))
    for one, two in zip(*results):
        np.testing.assert_array_equal(one, two)


@pytest.mark.parametrize("transformer", [
    HOGTransformer(image_shape=(24, 24, 3), pixels_per_cell=(4, 4), cells_per_block=(2, 2)),
    HSVHistogramTransformer(image_shape=(24, 24, 3)),
])
def test_transformers_are_bit_identical_for_any_thread_count(images, transformer):
    results = []
    for threads in (1, 2):
        with threadpool_limits(limits=threads):
            results.append(transformer.fit(images).transform(images))
    np.testing.assert_array_equal(*results)


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("dtype", [np.uint8, np.float32, np.float64])
def test_knn_results_do_not_depend_on_n_jobs(digits, metric, dtype):
    X, y, X_test, _ = digits
    X, X_test = X.astype(dtype), X_test.astype(dtype)
    reference = KNNClassifier(n_neighbors=4, metric=metric).fit(X, y)
    dist, ind = reference.kneighbors(X_test)
    proba = reference.predict_proba(X_test)
    for n_jobs in (2, 3, -1):
        knn = KNNClassifier(n_neighbors=4, metric=metric, n_jobs=n_jobs).fit(X, y)
        dist_n, ind_n = knn.kneighbors(X_test)
        np.testing.assert_array_equal(dist_n, dist)
        np.testing.assert_array_equal(ind_n, ind)
        np.testing.assert_array_equal(knn.predict_proba(X_test), proba)
    # the training rows, each excluding itself, chunked the same way
    knn = KNNClassifier(n_neighbors=4, metric=metric, n_jobs=2).fit(X, y)
    np.testing.assert_array_equal(knn.kneighbors()[1], reference.kneighbors()[1])
    np.testing.assert_array_equal(pairwise_distances(X_test, X, metric, n_jobs=2),
                                  pairwise_distances(X_test, X, metric))


def test_knn_n_jobs_none_follows_the_parallel_backend(digits):
    X, y, X_test, _ = digits
    knn = KNNClassifier(n_neighbors=3).fit(X, y)
    expected = knn.kneighbors(X_test)[1]
    with parallel_backend("threading", n_jobs=2):
        np.testing.assert_array_equal(knn.kneighbors(X_test)[1], expected)


def test_knn_pairwise_distances_bound_memory_per_job(digits):
    # a tiny working memory forces one-row blocks in each job: same distances
    X, _, X_test, _ = digits
    np.testing.assert_array_equal(
        pairwise_distances(X_test, X, "l2", working_memory=1e-3, n_jobs=2),
        pairwise_distances(X_test, X, "l2"))


def test_grid_search_scores_are_identical_for_any_n_jobs(digits):
    X, y, _, _ = digits
    grids = [
        (KNNClassifier(), {"n_neighbors": [1, 3], "metric": ["l1", "l2"]}),
        (make_pipeline(StandardScaler(), SoftmaxClassifier(num_iters=100, random_state=0)),
         {"softmaxclassifier__reg": [1e-5, 1e-2]}),
        (make_pipeline(StandardScaler(), MLPClassifier(
            hidden_layer_sizes=(30,), num_epochs=2, random_state=0, dtype=np.float32)),
         {"mlpclassifier__dropout_keep_ratio": [1.0, 0.5]}),
    ]
    cv = StratifiedKFold(3, shuffle=True, random_state=0)
    for estimator, grid in grids:
        results = [GridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs).fit(X, y).cv_results_
                   for n_jobs in (1, 2)]
        for key in results[0]:
            if key.startswith(("split", "mean_test", "std_test", "rank_test")):
                np.testing.assert_array_equal(results[0][key], results[1][key], err_msg=key)


@pytest.mark.parametrize("user_value", [None, "active"])
def test_kernels_let_openmp_threads_sleep_unless_the_user_chose(user_value):
    # the policy is read when the OpenMP runtime loads, so only a fresh process
    # shows what the kernels' first import sets
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if user_value is not None:
        env["OMP_WAIT_POLICY"] = user_value
    code = ("import os; from skdeep._kernels import _optim; "
            "print(os.environ['OMP_WAIT_POLICY'])")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == (user_value or "passive")
