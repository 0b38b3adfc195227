import pickle

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV

from skdeep import KNNClassifier
from skdeep.neighbors import pairwise_distances
from skdeep.neighbors._pairwise import k_nearest


def reference_distances(X, Y, metric):
    """Exact for integer data: the differences and sums are done on int64."""
    X = np.asarray(X)
    Y = np.asarray(Y)
    if X.dtype.kind in "iub":
        diff = X.astype(np.int64)[:, None, :] - Y.astype(np.int64)[None, :, :]
    else:
        diff = X.astype(np.float64)[:, None, :] - Y.astype(np.float64)[None, :, :]
    if metric == "l1":
        return np.abs(diff).sum(axis=-1).astype(np.float64)
    return np.sqrt((diff * diff).sum(axis=-1).astype(np.float64))


def reference_neighbors(X, Y, k, metric):
    """k nearest by (distance, index): a stable sort of exact distances."""
    D = reference_distances(X, Y, metric)
    ind = np.argsort(D, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(D, ind, axis=1), ind


METRICS = ["l2", "l1"]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n_features", [1, 7, 300])
def test_pairwise_uint8_is_exact(metric, n_features):
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(13, n_features)).astype(np.uint8)
    Y = rng.randint(0, 256, size=(29, n_features)).astype(np.uint8)
    D = pairwise_distances(X, Y, metric=metric)
    assert D.dtype == np.float64
    np.testing.assert_array_equal(D, reference_distances(X, Y, metric))


@pytest.mark.parametrize("metric", METRICS)
def test_pairwise_integer_valued_floats_are_exact(metric):
    rng = np.random.RandomState(1)
    X = rng.randint(0, 256, size=(11, 300)).astype(np.float64)
    Y = rng.randint(0, 256, size=(17, 300)).astype(np.float64)
    np.testing.assert_array_equal(pairwise_distances(X, Y, metric=metric),
                                  reference_distances(X.astype(int), Y.astype(int), metric))


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-6)])
def test_pairwise_floats_match_reference(metric, dtype, rtol):
    rng = np.random.RandomState(2)
    X = rng.randn(9, 517).astype(dtype)
    Y = rng.randn(21, 517).astype(dtype)
    D = pairwise_distances(X, Y, metric=metric)
    assert D.dtype == dtype
    np.testing.assert_allclose(D, reference_distances(X, Y, metric), rtol=rtol)


def test_pairwise_y_none_and_errors():
    X = np.arange(12.0).reshape(4, 3)
    D = pairwise_distances(X, metric="l1")
    np.testing.assert_array_equal(D, reference_distances(X, X, "l1"))
    assert np.all(np.diag(D) == 0)
    with pytest.raises(ValueError, match="metric must be one of"):
        pairwise_distances(X, X, metric="cosine")
    with pytest.raises(ValueError, match="same number"):
        pairwise_distances(X, X[:, :2])
    with pytest.raises(ValueError, match="NaN|infinity"):
        pairwise_distances(np.array([[np.nan, 0, 0]]), X)


def tied_data(rng, n_train=40, n_test=15, n_features=6):
    """Few distinct small-integer rows: duplicates and equal distances everywhere."""
    base = rng.randint(0, 3, size=(8, n_features))
    Y = base[rng.randint(0, len(base), size=n_train)]
    X = base[rng.randint(0, len(base), size=n_test)]
    return X, Y


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float64, np.float32])
@pytest.mark.parametrize("k", [1, 5, 23])
def test_k_nearest_ties_broken_by_index(metric, dtype, k):
    X, Y = tied_data(np.random.RandomState(3))
    X, Y = X.astype(dtype), Y.astype(dtype)
    ref_d, ref_i = reference_neighbors(X.astype(int), Y.astype(int), k, metric)
    d, i = k_nearest(X, Y, k, metric)
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_array_equal(d, ref_d.astype(d.dtype))


@pytest.mark.parametrize("metric", METRICS)
def test_k_nearest_blocked_equals_unblocked(metric):
    rng = np.random.RandomState(4)
    X = rng.randint(0, 256, size=(37, 50)).astype(np.uint8)
    Y = rng.randint(0, 256, size=(301, 50)).astype(np.uint8)
    ref_d, ref_i = reference_neighbors(X, Y, 7, metric)
    # A few kilobytes of working memory forces blocks of a handful of rows.
    d, i = k_nearest(X, Y, 7, metric, working_memory=0.004)
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_array_equal(d, ref_d)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_k_nearest_l2_random_floats(dtype):
    rng = np.random.RandomState(5)
    X = rng.randn(25, 700).astype(dtype)
    Y = rng.randn(400, 700).astype(dtype)
    ref_d, ref_i = reference_neighbors(X, Y, 10, "l2")
    d, i = k_nearest(X, Y, 10, "l2")
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_allclose(d, ref_d, rtol=1e-6 if dtype == np.float32 else 1e-13)


def test_k_nearest_l2_survives_cancellation():
    # Rows far from the origin and close to each other: |x|^2 + |y|^2 - 2 x.y
    # cancels almost every digit, so screening alone picks wrong neighbours and
    # the exact recomputation has to take over.
    rng = np.random.RandomState(6)
    offset = 1e9
    Y = offset + rng.randint(0, 4, size=(200, 30)).astype(np.float64)
    X = offset + rng.randint(0, 4, size=(20, 30)).astype(np.float64)
    gram = (X * X).sum(1)[:, None] + (Y * Y).sum(1)[None, :] - 2 * X @ Y.T
    ref_d, ref_i = reference_neighbors(X - offset, Y - offset, 3, "l2")
    assert not np.array_equal(np.argsort(gram, axis=1, kind="stable")[:, :3], ref_i)
    d, i = k_nearest(X, Y, 3, "l2")
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_array_equal(d, ref_d)


def test_knn_vote_tie_goes_to_smallest_label():
    X = np.array([[0.0], [2.0], [-2.0], [10.0]])
    y = np.array(["zebra", "apple", "zebra", "apple"])
    clf = KNNClassifier(n_neighbors=2).fit(X, y)
    # Neighbours of 1.0 are 0.0 ('zebra') and 2.0 ('apple'): one vote each.
    assert clf.predict([[1.0]])[0] == "apple"
    np.testing.assert_array_equal(clf.predict_proba([[1.0]]), [[0.5, 0.5]])
    clf3 = KNNClassifier(n_neighbors=3).fit(X, y)
    assert clf3.predict([[1.0]])[0] == "zebra"  # 0.0 and -2.0 beat 2.0


def test_knn_matches_sklearn_on_digits():
    from sklearn.neighbors import KNeighborsClassifier

    X, y = load_digits(return_X_y=True)
    for metric, sk_metric in [("l2", "euclidean"), ("l1", "manhattan")]:
        ours = KNNClassifier(n_neighbors=5, metric=metric).fit(X[:1200], y[:1200])
        theirs = KNeighborsClassifier(5, algorithm="brute", metric=sk_metric).fit(X[:1200], y[:1200])
        d, i = ours.kneighbors(X[1200:])
        sk_d, _ = theirs.kneighbors(X[1200:])
        np.testing.assert_allclose(d, sk_d, rtol=1e-12, atol=1e-12)
        ref_d, ref_i = reference_neighbors(X[1200:].astype(int), X[:1200].astype(int), 5, metric)
        np.testing.assert_array_equal(i, ref_i)
        # Predictions may differ only where sklearn broke a distance tie otherwise.
        agree = ours.predict(X[1200:]) == theirs.predict(X[1200:])
        assert agree.mean() > 0.98
        assert ours.score(X[1200:], y[1200:]) > 0.95


def test_knn_l2_norms_kept_from_fit_match_the_queries_dtype_and_metric_changes():
    # fit keeps the training rows' squared norms for L2 screening; they must
    # hold whatever dtype the queries bring, and after set_params(metric=...)
    rng = np.random.RandomState(3)
    X = rng.normal(size=(300, 40))
    Q = rng.normal(size=(25, 40)).astype(np.float32)
    y = rng.randint(0, 3, size=300)
    clf = KNNClassifier(n_neighbors=6).fit(X, y)
    d, i = clf.kneighbors(Q)
    ref_d, ref_i = reference_neighbors(Q, X, 6, "l2")
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_allclose(d, ref_d, rtol=1e-13)

    pixels = rng.randint(0, 256, size=(200, 30)).astype(np.float64)
    l1_fitted = KNNClassifier(n_neighbors=4, metric="l1").fit(pixels, y[:200])
    l1_fitted.set_params(metric="l2")
    queries = rng.randint(0, 256, size=(20, 30)).astype(np.uint8)
    ref_d, ref_i = reference_neighbors(queries, pixels.astype(np.uint8), 4, "l2")
    d, i = l1_fitted.kneighbors(queries)
    np.testing.assert_array_equal(i, ref_i)
    np.testing.assert_array_equal(d, ref_d)


def test_kneighbors_without_queries_excludes_each_row():
    X = np.array([[0.0], [0.0], [1.0], [5.0]])
    clf = KNNClassifier(n_neighbors=2).fit(X, [0, 0, 1, 1])
    d, i = clf.kneighbors()
    for row in range(len(X)):
        assert row not in i[row]
    np.testing.assert_array_equal(i[0], [1, 2])  # its duplicate first
    np.testing.assert_array_equal(i[1], [0, 2])
    np.testing.assert_array_equal(d[3], [4.0, 5.0])
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        KNNClassifier(n_neighbors=4).fit(X, [0, 0, 1, 1]).kneighbors()


def test_kneighbors_options_and_errors():
    X, y = load_digits(return_X_y=True)
    clf = KNNClassifier(n_neighbors=3).fit(X[:100], y[:100])
    ind = clf.kneighbors(X[100:110], n_neighbors=4, return_distance=False)
    assert ind.shape == (10, 4)
    with pytest.raises(ValueError, match="n_neighbors <= n_samples_fit"):
        clf.kneighbors(X[:3], n_neighbors=101)
    with pytest.raises(ValueError, match=r"'n_neighbors' parameter of KNNClassifier must "
                       r"be an int in the range \[1, inf\)"):
        KNNClassifier(n_neighbors=0).fit(X, y)
    with pytest.raises(ValueError, match="'metric' parameter of KNNClassifier must be a str among"):
        KNNClassifier(metric="l3").fit(X, y)
    with pytest.raises(ValueError, match="'n_jobs' parameter of KNNClassifier"):
        KNNClassifier(n_jobs=0).fit(X, y)
    # a bool is a typo, not a number (bool is an Integral)
    for name in ("n_neighbors", "n_jobs", "working_memory"):
        with pytest.raises(ValueError, match=f"'{name}' parameter of KNNClassifier must "
                           f".* Got True instead"):
            KNNClassifier(**{name: True}).fit(X, y)
    with pytest.raises(ValueError, match="features"):
        clf.predict(X[:3, :10])


def test_n_jobs_and_pickle_keep_results():
    X, y = load_digits(return_X_y=True)
    clf = KNNClassifier(n_neighbors=4, metric="l1").fit(X[:500], y[:500])
    expected = clf.kneighbors(X[500:600])
    single = KNNClassifier(n_neighbors=4, metric="l1", n_jobs=1).fit(X[:500], y[:500])
    for got, want in zip(single.kneighbors(X[500:600]), expected):
        np.testing.assert_array_equal(got, want)
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X[500:600]), clf.predict(X[500:600]))


def test_grid_search_in_parallel_picks_a_k():
    X, y = load_digits(return_X_y=True)
    search = GridSearchCV(KNNClassifier(), {"n_neighbors": [1, 3, 50]}, cv=3, n_jobs=2)
    search.fit(X[:600], y[:600])
    assert search.best_params_["n_neighbors"] in (1, 3)
    assert search.cv_results_["mean_test_score"][2] < search.best_score_


def test_cifar10_subset_accuracy(cifar10):
    X_train, y_train, X_test, y_test = cifar10
    X_train = X_train[:5000].reshape(5000, -1)
    X_test = X_test[:500].reshape(500, -1)
    clf = KNNClassifier(n_neighbors=1).fit(X_train, y_train[:5000])
    assert 0.25 <= clf.score(X_test, y_test[:500]) <= 0.31


@pytest.mark.parametrize("metric", ["l2", "l1"])
@pytest.mark.parametrize("query_dtype", [np.uint8, np.float64])
def test_search_memory_is_bounded_by_working_memory(metric, query_dtype):
    import tracemalloc

    import sklearn

    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(1000, 192)).astype(np.uint8)
    y = rng.randint(0, 3, size=1000)
    # float64 queries holding pixel values take the exact uint8 path: they used to
    # be copied whole to uint8, and their norms taken in fixed 4,096-row blocks
    queries = rng.randint(0, 256, size=(2000, 192)).astype(query_dtype)
    clf = KNNClassifier(n_neighbors=3, metric=metric).fit(X, y)
    expected = clf.kneighbors(queries)
    working_memory = 1  # MiB
    results = 2 * queries.shape[0] * 3 * 8  # distances and indices
    with sklearn.config_context(working_memory=working_memory):
        tracemalloc.start()
        try:
            got = clf.kneighbors(queries)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert peak <= working_memory * 2**20 + results + 2**16
    np.testing.assert_array_equal(got[1], expected[1])
    np.testing.assert_array_equal(got[0], expected[0])


def test_working_memory_parameter_overrides_the_setting():
    import sklearn

    rng = np.random.RandomState(1)
    X = rng.rand(300, 100)
    clf = KNNClassifier(n_neighbors=2, working_memory=0.05).fit(X, rng.randint(0, 2, 300))
    with sklearn.config_context(working_memory=1024):
        calls = []
        from skdeep.neighbors import _pairwise

        original = _pairwise._k_smallest_l2

        def spy(Xk, *args, **kwargs):
            calls.append(len(Xk))
            return original(Xk, *args, **kwargs)

        _pairwise._k_smallest_l2 = spy
        try:
            clf.kneighbors(X[:200])
        finally:
            _pairwise._k_smallest_l2 = original
    # 0.05 MiB holds fewer than 200 converted query rows of 100 float64 values
    assert len(calls) > 1 and sum(calls) == 200


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
def test_search_takes_its_train_blocks_from_row_chunks(metric, dtype, monkeypatch):
    # row_chunks is the one rule bounding the memory of row-by-row work: the
    # search's blocks of train rows come from it as well, and blocks of a
    # single row change no result
    from skdeep.neighbors import _pairwise
    from skdeep.utils._validation import row_chunks

    rng = np.random.RandomState(3)
    # the float rows hold fractions, so they take the float path
    scale = 1 if dtype == np.uint8 else 0.37
    X = (scale * rng.randint(0, 256, size=(7, 5))).astype(dtype)
    Y = (scale * rng.randint(0, 256, size=(23, 5))).astype(dtype)
    Y_sq_norms = _pairwise._sq_norms(Y)
    expected = k_nearest(X, Y, 3, metric, Y_sq_norms=Y_sq_norms)
    chunked = []

    def single_rows(n_rows, bytes_per_row, working_memory=None, max_n_rows=None):
        chunked.append(n_rows)
        return row_chunks(n_rows, bytes_per_row, working_memory, max_n_rows=1)

    monkeypatch.setattr(_pairwise, "row_chunks", single_rows)
    got = k_nearest(X, Y, 3, metric, Y_sq_norms=Y_sq_norms)
    assert len(Y) in chunked
    np.testing.assert_array_equal(got[0], expected[0])
    np.testing.assert_array_equal(got[1], expected[1])


DTYPES = [np.bool_, np.uint8, np.int8, np.int16, np.int32, np.float16, np.float32,
          np.float64]


@pytest.mark.parametrize("x_dtype", DTYPES)
@pytest.mark.parametrize("y_dtype", DTYPES)
def test_distances_follow_the_one_float_promotion_rule(x_dtype, y_dtype):
    # skdeep.utils._dtypes.float_dtype decides the computing dtype everywhere
    # (layers, update rules, networks): the distances' dtype and the kernels'
    # float operands follow it too
    from skdeep.neighbors._pairwise import operand_kind
    from skdeep.utils._dtypes import float_dtype

    rng = np.random.RandomState(4)
    # 0 and 1 fit every dtype; a -1 among the signed values keeps them off
    # the exact uint8 path
    X = rng.randint(0, 2, size=(6, 4)).astype(x_dtype)
    Y = rng.randint(0, 2, size=(9, 4)).astype(y_dtype)
    if np.issubdtype(y_dtype, np.signedinteger) or np.issubdtype(y_dtype, np.floating):
        Y[0, 0] = -1
    expected = float_dtype(x_dtype, y_dtype)
    assert pairwise_distances(X, Y).dtype == expected
    assert k_nearest(X, Y, 2)[0].dtype == expected
    kind = operand_kind(X, Y, "l2")
    assert kind == "uint8" or kind == expected


def test_knn_distances_dtype_does_not_depend_on_the_values():
    # float32 rows of whole pixel values are stored as uint8 for the exact
    # path; their distances are float32 as those of any float32 rows
    rng = np.random.RandomState(5)
    pixels = rng.randint(0, 256, size=(30, 12)).astype(np.float32)
    y = rng.randint(0, 2, size=30)
    for X in (pixels, pixels + np.float32(0.5)):
        dist, _ = KNNClassifier(n_neighbors=3).fit(X, y).kneighbors(X[:5])
        assert dist.dtype == np.float32


def test_verbose_prints_progress_of_a_long_prediction(capsys):
    rng = np.random.RandomState(2)
    X = rng.randint(0, 256, size=(200, 48)).astype(np.uint8)
    y = rng.randint(0, 2, size=200)
    queries = rng.randint(0, 256, size=(3000, 48)).astype(np.uint8)
    quiet = KNNClassifier(n_neighbors=1).fit(X, y).predict(queries)
    assert capsys.readouterr().out == ""
    loud = KNNClassifier(n_neighbors=1, verbose=1).fit(X, y).predict(queries)
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1].startswith("[KNNClassifier] neighbours of 3000/3000 queries")
    assert 2 <= len(lines) <= 11
    np.testing.assert_array_equal(loud, quiet)


def test_kneighbors_error_shows_numpy_integers_as_numbers():
    X, y = load_digits(return_X_y=True)
    clf = KNNClassifier(n_neighbors=3).fit(X[:50], y[:50])
    with pytest.raises(ValueError, match=r"positive integer, got 0\.$"):
        clf.kneighbors(X[:2], n_neighbors=np.int64(0))
