"""scikit-learn's callback API on the linear classifiers: one fit task per block."""
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

import skdeep.utils._callbacks as callbacks_module
from skdeep.linear_model import LinearSVMClassifier, SoftmaxClassifier
from skdeep.linear_model._sgd import iterations_per_task

from _stopping import StopAfter  # tests/, beside this file

sklearn_callback = pytest.importorskip("sklearn.callback")

CLASSIFIERS = [LinearSVMClassifier, SoftmaxClassifier]
# 250 iterations: blocks of 100, 100 and 50
PARAMS = dict(num_iters=250, batch_size=50, random_state=0)


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def test_a_task_per_100_iterations_and_at_most_100_tasks():
    assert [iterations_per_task(n) for n in (1, 100, 250, 10_000, 10_001, 10**6)] == \
        [100, 100, 100, 100, 101, 10_000]


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_stopping_callback_ends_training_after_its_block(cls, digits):
    X, y = digits
    stop = StopAfter(2)
    clf = cls(**PARAMS).set_callbacks(stop).fit(X, y)
    check_is_fitted(clf)
    assert clf.n_iter_ == 200 and clf.loss_history_.shape == (200,)
    assert len(stop.seen) == 2
    # the blocks run exactly the steps of an uninterrupted fit
    full = cls(**PARAMS).fit(X, y)
    np.testing.assert_array_equal(clf.loss_history_, full.loss_history_[:200])
    # the estimator ends as the fitted_estimator its last block announced
    announced = stop.seen[-1]
    np.testing.assert_array_equal(clf.coef_, announced.coef_)
    np.testing.assert_array_equal(clf.intercept_, announced.intercept_)
    np.testing.assert_array_equal(clf.predict(X), announced.predict(X))
    assert announced.n_iter_ == 200
    # and the first block's copy is what it was then, not the later weights
    assert stop.seen[0].n_iter_ == 100
    assert not np.array_equal(stop.seen[0].coef_, clf.coef_)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_callbacks_do_not_change_training(cls, digits):
    X, y = digits
    plain = cls(**PARAMS).fit(X, y)
    watched = cls(**PARAMS).set_callbacks(
        sklearn_callback.ScoringMonitor(scoring="accuracy")).fit(X, y)
    np.testing.assert_array_equal(plain.coef_, watched.coef_)
    np.testing.assert_array_equal(plain.loss_history_, watched.loss_history_)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_scoring_monitor_scores_each_block(cls, digits):
    X, y = digits
    monitor = sklearn_callback.ScoringMonitor(scoring="accuracy")
    clf = cls(**PARAMS).set_callbacks(monitor).fit(X, y)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "iterations"]
    assert [row["task_id"] for row in rows] == [0, 1, 2]
    # after the last block, the estimator scored is the one fit returns
    assert rows[-1]["accuracy"] == clf.score(X, y)


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_progress_bar_and_scoring_monitor_in_a_grid_search(cls, digits, capsys):
    X, y = digits
    monitor = sklearn_callback.ScoringMonitor(scoring="accuracy")
    clf = cls(**PARAMS).set_callbacks(monitor)
    name = cls.__name__.lower()
    search = GridSearchCV(make_pipeline(StandardScaler(), clf),
                          {f"{name}__num_iters": [150, 250]}, cv=2)
    search.set_callbacks(sklearn_callback.ProgressBar(max_propagation_depth=None))
    search.fit(X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV - fit" in out
    assert f"{cls.__name__} - fit" in out
    # one score per block of each fit: 2 folds of each candidate (2 and 3
    # blocks), then the refit
    rows = [row for log in monitor.get_logs(select="all") for row in log.data
            if row["task_name"] == "iterations"]
    refit_blocks = -(-search.best_estimator_[-1].n_iter_ // 100)
    assert len(rows) == 2 * (2 + 3) + refit_blocks


@pytest.mark.parametrize("cls", CLASSIFIERS)
def test_set_callbacks_needs_sklearn_1_9(cls, digits, monkeypatch):
    X, y = digits
    reference = cls(**PARAMS).fit(X, y)
    monkeypatch.setattr(callbacks_module, "SKLEARN_HAS_CALLBACKS", False)
    clf = cls(**PARAMS)
    with pytest.raises(ImportError, match=r"set_callbacks needs scikit-learn >= 1\.9"):
        clf.set_callbacks(StopAfter(1))
    # everything else works, and trains as with the callback API
    np.testing.assert_array_equal(clf.fit(X, y).coef_, reference.coef_)
