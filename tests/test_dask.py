"""skdeep on dask.distributed: tuning, inference and incremental training on a cluster.

The cluster is a scheduler and two single-threaded worker processes on the
loopback interface, started once for the module and always torn down.
"""
import os

import numpy as np
import pytest

pytest.importorskip("dask")
pytest.importorskip("distributed")

import dask  # noqa: E402
import dask.array as da  # noqa: E402
import joblib  # noqa: E402
from distributed import Client, LocalCluster  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skdeep import (HOGTransformer, KNNClassifier, LinearSVMClassifier,  # noqa: E402
                    MLPClassifier, SoftmaxClassifier)


@pytest.fixture(scope="module")
def client():
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           host="127.0.0.1", dashboard_address=None)
    try:
        with Client(cluster) as dask_client:
            yield dask_client
    finally:
        cluster.close()


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X, y, test_size=0.3, stratify=y, random_state=0)


def test_the_cluster_is_two_worker_processes_on_loopback(client):
    workers = client.scheduler_info()["workers"]
    assert len(workers) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in workers)
    pids = client.run(os.getpid)
    assert len(set(pids.values())) == 2 and os.getpid() not in pids.values()


def test_grid_search_on_the_cluster_equals_the_local_one(client, digits):
    X_train, _, y_train, _ = digits
    pipeline = make_pipeline(
        HOGTransformer(image_shape=(8, 8, 1), pixels_per_cell=(2, 2), cells_per_block=(2, 2)),
        StandardScaler(), LinearSVMClassifier(num_iters=100, random_state=0))
    grid = {"hogtransformer__orientations": [6, 9],
            "linearsvmclassifier__learning_rate": [1e-3, 1e-2]}
    cv = StratifiedKFold(2, shuffle=True, random_state=0)
    local = GridSearchCV(pipeline, grid, cv=cv, n_jobs=1).fit(X_train, y_train)
    with joblib.parallel_backend("dask"):
        remote = GridSearchCV(pipeline, grid, cv=cv, n_jobs=-1).fit(X_train, y_train)
    for key, values in local.cv_results_.items():
        if key.startswith(("split", "mean_test", "std_test", "rank_test", "param")):
            np.testing.assert_array_equal(remote.cv_results_[key], values, err_msg=key)
    assert remote.best_params_ == local.best_params_


def test_hog_over_a_chunked_dask_array_equals_in_memory(client, digits):
    X_train, X_test, _, _ = digits
    hog = HOGTransformer(image_shape=(8, 8, 1), pixels_per_cell=(2, 2),
                         cells_per_block=(2, 2)).fit(X_train)
    expected = hog.transform(X_test)
    images = da.from_array(X_test, chunks=(100, -1))
    features = images.map_blocks(hog.transform, dtype=np.float64,
                                 chunks=(images.chunks[0], (expected.shape[1],)))
    np.testing.assert_array_equal(features.compute(), expected)


@pytest.mark.parametrize("classifier", [
    KNNClassifier(n_neighbors=3),
    make_pipeline(StandardScaler(), LinearSVMClassifier(random_state=0)),
    make_pipeline(StandardScaler(), SoftmaxClassifier(random_state=0)),
    make_pipeline(StandardScaler(), MLPClassifier(num_epochs=3, random_state=0)),
], ids=["knn", "svm", "softmax", "mlp"])
def test_predict_over_a_chunked_dask_array_equals_in_memory(client, digits, classifier):
    X_train, X_test, y_train, _ = digits
    classifier.fit(X_train, y_train)
    images = da.from_array(X_test, chunks=(100, -1))
    labels = images.map_blocks(classifier.predict, dtype=y_train.dtype, drop_axis=1)
    np.testing.assert_array_equal(labels.compute(), classifier.predict(X_test))
    # the SVM has scores, not probabilities
    scores = getattr(classifier, "predict_proba", None) or classifier.decision_function
    per_class = images.map_blocks(scores, dtype=np.float64,
                                  chunks=(images.chunks[0], (10,)))
    np.testing.assert_array_equal(per_class.compute(), scores(X_test))


def test_dask_ml_parallel_post_fit_equals_in_memory(client, digits):
    wrappers = pytest.importorskip("dask_ml.wrappers")
    X_train, X_test, y_train, _ = digits
    images = da.from_array(X_test, chunks=(100, -1))
    knn = KNNClassifier(n_neighbors=3).fit(X_train, y_train)
    np.testing.assert_array_equal(
        wrappers.ParallelPostFit(knn).predict(images).compute(), knn.predict(X_test))
    hog = HOGTransformer(image_shape=(8, 8, 1), pixels_per_cell=(2, 2),
                         cells_per_block=(2, 2)).fit(X_train)
    np.testing.assert_array_equal(
        wrappers.ParallelPostFit(hog).transform(images).compute(), hog.transform(X_test))


def test_incremental_training_from_chunks_reaches_the_in_memory_accuracy(client, digits):
    X_train, X_test, y_train, y_test = digits
    # pixels are 0..16: dividing by 16 scales every chunk the same way, which a
    # scaler fitted on the whole array could not do chunk by chunk
    X_train, X_test = X_train / 16, X_test / 16
    epochs = 15
    in_memory = MLPClassifier(num_epochs=epochs, random_state=0).fit(X_train, y_train)
    target = in_memory.score(X_test, y_test)

    # the loop of docs/scaling.md: one partial_fit per chunk, chunks computed
    # on the cluster one at a time, several passes
    images = da.from_array(X_train, chunks=(320, -1))
    labels = da.from_array(y_train, chunks=320)
    classes = np.unique(y_train)
    incremental = MLPClassifier(random_state=0)
    for _ in range(epochs):
        for X_chunk, y_chunk in zip(images.to_delayed().ravel(), labels.to_delayed()):
            incremental.partial_fit(*dask.compute(X_chunk, y_chunk), classes=classes)
    # the in-memory fit keeps its best epoch on a held-out tenth; 0.02 is about
    # ten of the 540 test images
    assert incremental.score(X_test, y_test) >= target - 0.02
    # the comparison means something only if the in-memory net learnt the digits
    assert target > 0.9
