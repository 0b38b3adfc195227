"""Watching and steering the networks' training, on the estimators.

scikit-learn's callback API on MLPClassifier and ConvNetClassifier (one fit task
per epoch, propagation through Pipeline and GridSearchCV), ``history_``,
explicit validation data, skdeep.callbacks (Checkpoint, EarlyStopping), resuming
from a checkpoint after the process died, and Ctrl-C during fit.
"""
import subprocess
import sys
import textwrap
import warnings

import joblib
import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

import skdeep.utils._callbacks as callbacks_module
from skdeep.callbacks import Checkpoint, EarlyStopping, _is_epoch
from skdeep.neural_network import ConvNetClassifier, MLPClassifier

from _stopping import StopAfter, TaskEndCallback  # tests/, beside this file

sklearn_callback = pytest.importorskip("sklearn.callback")

# Small networks, so that the many fits of these tests stay cheap; the ConvNet
# options exercise every piece of Solver state a resume must restore (the step
# counter of the schedule, weight averaging, augmentation draws).
MLP_PARAMS = dict(hidden_layer_sizes=(32,), normalization="batchnorm",
                  dropout_keep_ratio=0.9, batch_size=64, lr_decay=0.9, num_epochs=5,
                  random_state=0)
CONVNET_PARAMS = dict(num_filters=4, filter_size=3, hidden_dim=16, batch_size=64,
                      lr_schedule="cosine", warmup_fraction=0.2, weight_averaging=0.9,
                      augment=True, normalization="batchnorm", num_epochs=4,
                      random_state=0)
NETWORKS = [(MLPClassifier, MLP_PARAMS), (ConvNetClassifier, CONVNET_PARAMS)]
NETWORK_IDS = ["mlp", "convnet"]


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16, y[:600]


def _params(estimator):
    return estimator.model_.params


def _assert_same_params(a, b):
    assert a.keys() == b.keys()
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)


def _without_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


# ---- scikit-learn's callback API ----------------------------------------------
def test_set_callbacks_needs_sklearn_1_9(monkeypatch, digits):
    X, y = digits
    reference = MLPClassifier(**MLP_PARAMS).fit(X, y)
    monkeypatch.setattr(callbacks_module, "SKLEARN_HAS_CALLBACKS", False)
    clf = MLPClassifier(**MLP_PARAMS)
    with pytest.raises(ImportError, match=r"set_callbacks needs scikit-learn >= 1\.9"):
        clf.set_callbacks(StopAfter(2))
    # everything else works, and trains as with the callback API
    clf.fit(X, y)
    _assert_same_params(_params(clf), _params(reference))
    assert len(clf.history_) == MLP_PARAMS["num_epochs"]


@pytest.mark.parametrize("Network, params", NETWORKS, ids=NETWORK_IDS)
def test_stopping_callback_ends_training_after_its_epoch(Network, params, digits):
    X, y = digits
    stop = StopAfter(2)
    clf = Network(**params).set_callbacks(stop).fit(X, y)
    assert clf.n_iter_ == 2 and len(clf.history_) == 2
    assert [row["epoch"] for row in clf.history_] == [1, 2]
    check_is_fitted(clf)
    # the estimator ends as the fitted_estimator its last epoch announced
    announced = stop.seen[-1]
    _assert_same_params(_params(clf), _params(announced))
    np.testing.assert_array_equal(clf.predict_proba(X), announced.predict_proba(X))
    assert announced.history_ == clf.history_


def test_callbacks_do_not_change_training(tmp_path, digits):
    X, y = digits
    plain = MLPClassifier(**MLP_PARAMS).fit(X, y)
    watched = MLPClassifier(**MLP_PARAMS).set_callbacks(
        StopAfter(99), Checkpoint(tmp_path / "clf.joblib", save="last"),
        sklearn_callback.ScoringMonitor(scoring="accuracy")).fit(X, y)
    _assert_same_params(_params(plain), _params(watched))
    assert _without_seconds(plain.history_) == _without_seconds(watched.history_)


@pytest.mark.parametrize("Network, params", NETWORKS, ids=NETWORK_IDS)
def test_scoring_monitor_scores_each_epoch(Network, params, digits):
    X, y = digits
    monitor = sklearn_callback.ScoringMonitor(scoring="accuracy")
    clf = Network(**params).set_callbacks(monitor).fit(X, y)
    rows = [row for row in monitor.get_logs().data if row["task_name"] == "epoch"]
    assert [row["task_id"] for row in rows] == list(range(params["num_epochs"]))
    # after the last epoch, the estimator scored is the one fit returns
    assert rows[-1]["accuracy"] == clf.score(X, y)


@pytest.mark.parametrize("Network, params", NETWORKS, ids=NETWORK_IDS)
def test_callbacks_propagate_through_pipeline_and_grid_search(Network, params, digits,
                                                              capsys):
    pytest.importorskip("rich")
    X, y = digits
    monitor = sklearn_callback.ScoringMonitor(scoring="accuracy")
    network = Network(**{**params, "num_epochs": 2}).set_callbacks(monitor)
    name = Network.__name__.lower()
    search = GridSearchCV(make_pipeline(StandardScaler(), network),
                          {f"{name}__num_epochs": [1, 2]}, cv=2)
    search.set_callbacks(sklearn_callback.ProgressBar(max_propagation_depth=None))
    search.fit(X, y)
    out = capsys.readouterr().out
    assert "GridSearchCV - fit" in out
    assert f"{Network.__name__} - fit" in out
    # one score per epoch of each fit: 2 folds of each candidate, then the refit
    rows = [row for log in monitor.get_logs(select="all") for row in log.data
            if row["task_name"] == "epoch"]
    assert len(rows) == 2 * (1 + 2) + search.best_estimator_[-1].n_iter_


# ---- history_ -------------------------------------------------------------------
@pytest.mark.parametrize("Network, params", NETWORKS, ids=NETWORK_IDS)
def test_history_has_one_row_per_epoch(Network, params, digits):
    X, y = digits
    clf = Network(**params).fit(X, y)
    history = clf.history_
    assert len(history) == clf.n_iter_ == params["num_epochs"]
    for key in ("train_loss", "val_loss", "val_accuracy", "learning_rate", "seconds"):
        column = np.array([row[key] for row in history])
        assert np.all(np.isfinite(column)), key
    assert [row["val_accuracy"] for row in history] == clf.val_acc_history_
    # the training loss of an epoch is the mean of its minibatch losses
    steps = len(clf.loss_history_) // clf.n_iter_
    np.testing.assert_allclose([row["train_loss"] for row in history],
                               np.mean(np.reshape(clf.loss_history_, (-1, steps)), axis=1))


def test_history_continues_over_warm_start_and_partial_fit(digits):
    X, y = digits
    clf = MLPClassifier(**{**MLP_PARAMS, "num_epochs": 2, "warm_start": True})
    clf.fit(X, y)
    first = list(clf.history_)
    clf.fit(X, y)
    assert clf.history_[:2] == first
    clf.partial_fit(X, y)
    assert [row["epoch"] for row in clf.history_] == [1, 2, 3, 4, 5]
    assert clf.n_iter_ == 5
    # partial_fit holds nothing out
    assert np.isnan(clf.history_[-1]["val_loss"])
    assert np.isfinite(clf.history_[-1]["train_loss"])
    clf.set_params(warm_start=False).fit(X, y)
    assert len(clf.history_) == 2


def test_plot_history_draws_history_(digits):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    from skdeep.plotting import plot_history

    X, y = digits
    clf = MLPClassifier(**MLP_PARAMS).fit(X, y)
    loss_ax, accuracy_ax, rate_ax = plot_history(clf.history_, title="digits")
    column = {key: [row[key] for row in clf.history_] for key in clf.history_[0]}
    train, val = loss_ax.lines
    np.testing.assert_array_equal(train.get_ydata(), column["train_loss"])
    np.testing.assert_array_equal(val.get_ydata(), column["val_loss"])
    np.testing.assert_array_equal(val.get_xdata(), column["epoch"])
    np.testing.assert_array_equal(accuracy_ax.lines[1].get_ydata(), column["val_accuracy"])
    np.testing.assert_array_equal(rate_ax.lines[0].get_ydata(), column["learning_rate"])
    several = plot_history({"a": clf.history_, "b": clf.history_[:2]})
    assert [len(ax.lines) for ax in several] == [4, 4, 2]
    with pytest.raises(ValueError, match="axes must hold 3 Axes"):
        plot_history(clf.history_, axes=several[:2])


# ---- explicit validation data ----------------------------------------------------
def _kept_epoch(history, monitor):
    """Index of the row the networks keep: the best ``monitor``, the later of ties."""
    sign = 1 if monitor == "val_accuracy" else -1
    return max(range(len(history)), key=lambda i: (sign * history[i][monitor], i))


@pytest.mark.parametrize("monitor", ["val_loss", "val_accuracy"])
def test_validation_data_replaces_the_held_out_split(monitor, digits):
    X, y = digits
    X_train, y_train, X_val, y_val = X[:400], y[:400], X[400:], y[400:]
    weight_val = np.linspace(0.5, 2, len(y_val))
    params = {**MLP_PARAMS, "dtype": "float64", "normalization": None,
              "dropout_keep_ratio": 1.0, "monitor": monitor}
    clf = MLPClassifier(**params).fit(X_train, y_train, X_val=X_val, y_val=y_val,
                                      sample_weight_val=weight_val)
    # every row trains: validation_fraction is ignored
    steps_per_epoch = -(-len(y_train) // params["batch_size"])
    assert len(clf.loss_history_) == params["num_epochs"] * steps_per_epoch
    # the model kept is the best epoch's on X_val, and its scores are X_val's
    best = _kept_epoch(clf.history_, monitor)
    assert clf.score(X_val, y_val, sample_weight=weight_val) == pytest.approx(
        clf.history_[best]["val_accuracy"], abs=1e-12)
    assert clf.history_[best]["val_loss"] == pytest.approx(
        log_loss(y_val, clf.predict_proba(X_val), sample_weight=weight_val), rel=1e-9)


def test_validation_data_is_checked(digits):
    X, y = digits
    clf = MLPClassifier(**MLP_PARAMS)
    with pytest.raises(ValueError, match="X_val is provided, but y_val was not"):
        clf.fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="y_val is provided, but X_val was not"):
        clf.fit(X, y, y_val=y)
    with pytest.raises(ValueError, match="sample_weight_val is provided"):
        clf.fit(X, y, sample_weight_val=np.ones(len(y)))
    with pytest.raises(ValueError, match="X has 10 features, but MLPClassifier is "
                                         "expecting 64 features"):
        clf.fit(X, y, X_val=X[:, :10], y_val=y)
    with pytest.raises(ValueError, match=r"y_val contains labels \[10\]"):
        clf.fit(X, y, X_val=X[:5], y_val=[0, 1, 2, 3, 10])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        clf.fit(X, y, X_val=X[:5], y_val=y[:4])
    # early stopping with validation data but no held-out share
    clf.set_params(validation_fraction=0.0, early_stopping=True, n_iter_no_change=1)
    clf.fit(X, y, X_val=X[:100], y_val=y[:100])
    with pytest.raises(ValueError, match="validation_fraction > 0 or pass X_val"):
        clf.fit(X, y)


# ---- skdeep.callbacks ------------------------------------------------------------
def test_early_stopping_stops_after_patience(digits):
    X, y = digits
    # a large learning rate on few samples: the validation loss soon rises
    clf = MLPClassifier(**{**MLP_PARAMS, "learning_rate": 0.05, "num_epochs": 40})
    clf.set_callbacks(EarlyStopping(monitor="val_loss", patience=3)).fit(X, y)
    losses = [row["val_loss"] for row in clf.history_]
    best = int(np.argmin(losses))
    # it stopped at the first epoch three epochs after the best, not before
    assert clf.n_iter_ == best + 1 + 3 < 40
    for epoch in range(1, clf.n_iter_):
        assert epoch - 1 - int(np.argmin(losses[:epoch])) < 3


def test_early_stopping_needs_validation_data(digits):
    X, y = digits
    clf = MLPClassifier(**{**MLP_PARAMS, "validation_fraction": 0.0})
    clf.set_callbacks(EarlyStopping())
    with pytest.raises(ValueError, match="EarlyStopping.*needs validation data"):
        clf.fit(X, y)
    clf.set_callbacks(EarlyStopping(monitor="train_loss", patience=1)).fit(X, y)
    assert clf.n_iter_ >= 2


class RecordFile(TaskEndCallback):
    """A FitCallback that reads, after each epoch, the n_iter_ of a checkpoint file."""

    def __init__(self, path):
        self.path = path
        self.seen = []

    def on_fit_task_end(self, estimator, context):
        if _is_epoch(context) and self.path.exists():
            self.seen.append(joblib.load(self.path).n_iter_)


@pytest.mark.parametrize("save, monitor", [("best", "val_loss"),
                                           ("best", "val_accuracy"),
                                           ("last", "val_loss")])
def test_checkpoint_saves_best_or_last(save, monitor, tmp_path, digits):
    X, y = digits
    path = tmp_path / "clf.joblib"
    record = RecordFile(path)
    clf = MLPClassifier(**{**MLP_PARAMS, "num_epochs": 8, "learning_rate": 0.1,
                           "monitor": monitor})
    clf.set_callbacks(Checkpoint(path, save=save), record).fit(X, y)
    if save == "last":
        expected = list(range(1, 9))
    else:  # after each epoch, the latest epoch at least as good as all before it
        expected = [_kept_epoch(clf.history_[:epoch], monitor) + 1
                    for epoch in range(1, 9)]
        assert expected != list(range(1, 9)), "the test needs an epoch that is not best"
    assert record.seen == expected
    # when fit ends, the file holds the fitted estimator
    saved = joblib.load(path)
    np.testing.assert_array_equal(saved.predict_proba(X), clf.predict_proba(X))
    assert saved.history_ == clf.history_
    assert not hasattr(saved, "_resume_state")
    assert not hasattr(saved, "_skl_callbacks")


class _Died(Exception):
    """The process dying, in-process: raised by :class:`DieAfter`."""


class DieAfter(StopAfter):
    """A FitCallback that raises :class:`_Died` after epoch ``task`` (1-based)."""

    def on_fit_task_end(self, estimator, context):
        if _is_epoch(context) and context.task_id + 1 == self.task:
            raise _Died


def test_checkpoint_of_a_fit_resumed_with_no_epoch_left(tmp_path, digits):
    """The task of a fit that has no epoch to run is still the fit's, not an epoch's."""
    X, y = digits
    last, best = tmp_path / "last.joblib", tmp_path / "best.joblib"
    clf = MLPClassifier(**{**MLP_PARAMS, "num_epochs": 8, "learning_rate": 0.1})
    clf.set_callbacks(Checkpoint(last, save="last"), DieAfter(8))
    with pytest.raises(_Died):
        clf.fit(X, y)
    resumed = joblib.load(last)
    assert _kept_epoch(resumed.history_, "val_loss") < 7, (
        "the test needs a last epoch that is not the best")
    resumed.set_callbacks(Checkpoint(best, save="best"))
    resumed.set_params(warm_start=True).fit(X, y)
    assert resumed.n_iter_ == 8
    # when fit ends, the file holds the fitted estimator, as after any fit;
    # save='best' judged the fit's task as an epoch and wrote nothing
    saved = joblib.load(best)
    np.testing.assert_array_equal(saved.predict_proba(X), resumed.predict_proba(X))
    assert not hasattr(saved, "_resume_state")


def test_checkpoint_parameters_are_checked():
    with pytest.raises(ValueError, match="save"):
        Checkpoint("x.joblib", save="first")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)
    # a bool is a typo, not a number, as for the estimators' parameters
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=True)
    with pytest.raises(ValueError, match="min_delta"):
        EarlyStopping(min_delta=False)


def _run_script(script, tmp_path):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


_SCRIPT_HEAD = """
    import os, signal, sys, warnings
    import joblib
    from sklearn.datasets import load_digits
    from skdeep.callbacks import Checkpoint, _is_epoch
    from skdeep.neural_network import {network}

    class AtEpoch:
        def __init__(self, epoch, action):
            self.epoch, self.action = epoch, action
        def setup(self, estimator, context):
            pass
        def teardown(self, estimator, context):
            pass
        def on_fit_task_begin(self, estimator, context):
            pass
        def on_fit_task_end(self, estimator, context):
            if _is_epoch(context) and context.task_id + 1 == self.epoch:
                self.action()

    X, y = load_digits(return_X_y=True)
    X, y = X[:600] / 16, y[:600]
    clf = {network}(**{params!r})
"""


@pytest.mark.parametrize("Network, params, epoch", [
    (MLPClassifier, MLP_PARAMS, 2),
    (ConvNetClassifier, CONVNET_PARAMS, 2),
    # after the last epoch, before fit returned; no validation data, so the
    # network ends with the weights' running average
    (ConvNetClassifier, {**CONVNET_PARAMS, "validation_fraction": 0.0}, 4),
    # the alternating flips' coins are in the checkpoint, resumed after an odd epoch
    (ConvNetClassifier, {**CONVNET_PARAMS, "augment_flip": "alternating",
                         "augment_border": "reflect", "augment_pad": 2}, 1),
], ids=["mlp", "convnet", "convnet-averaged-last-epoch", "convnet-alternating-flips"])
def test_resume_after_the_process_died_equals_an_uninterrupted_fit(Network, params, epoch,
                                                                   tmp_path, digits):
    X, y = digits
    # the process dies right after the checkpoint of the epoch
    script = _SCRIPT_HEAD.format(network=Network.__name__, params=params) + f"""
    clf.set_callbacks(Checkpoint("clf.joblib", save="last"),
                      AtEpoch({epoch}, lambda: os._exit(3)))
    clf.fit(X, y)
    """
    result = _run_script(script, tmp_path)
    assert result.returncode == 3, result.stderr
    resumed = joblib.load(tmp_path / "clf.joblib")
    # the file is a fitted estimator: the one fit returns when stopped there
    stopped = Network(**params).set_callbacks(StopAfter(epoch)).fit(X, y)
    assert resumed.n_iter_ == epoch
    _assert_same_params(_params(resumed), _params(stopped))

    resumed.set_params(warm_start=True).fit(X, y)
    uninterrupted = Network(**params).fit(X, y)
    assert resumed.n_iter_ == uninterrupted.n_iter_ == params["num_epochs"]
    _assert_same_params(_params(resumed), _params(uninterrupted))
    # (assert_equal: NaN equals NaN, as in the validation columns without validation)
    np.testing.assert_equal(_without_seconds(resumed.history_),
                            _without_seconds(uninterrupted.history_))
    assert resumed.loss_history_ == uninterrupted.loss_history_
    assert resumed.val_acc_history_ == uninterrupted.val_acc_history_
    assert resumed.best_val_acc_ == uninterrupted.best_val_acc_
    np.testing.assert_array_equal(resumed.predict_proba(X),
                                  uninterrupted.predict_proba(X))
    # the fit is finished: a further warm start trains num_epochs more epochs
    resumed.fit(X, y)
    assert resumed.n_iter_ == 2 * params["num_epochs"]


def test_sigint_leaves_a_fitted_estimator(tmp_path, digits):
    X, y = digits
    params = {**MLP_PARAMS, "num_epochs": 50}
    script = _SCRIPT_HEAD.format(network="MLPClassifier", params=params) + """
    # Python's own handler, should this run in a background job that ignores SIGINT
    signal.signal(signal.SIGINT, signal.default_int_handler)
    clf.set_callbacks(AtEpoch(2, lambda: os.kill(os.getpid(), signal.SIGINT)))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    print("WARNINGS:", [str(w.message) for w in caught])
    joblib.dump(clf.set_callbacks(), "clf.joblib")  # the callback holds a lambda
    """
    result = _run_script(script, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "interrupted" in result.stdout
    clf = joblib.load(tmp_path / "clf.joblib")
    check_is_fitted(clf)
    assert clf.n_iter_ == len(clf.history_) == 2
    # the best of the two epochs, as a fit stopped there keeps
    stopped = MLPClassifier(**params).set_callbacks(StopAfter(2)).fit(X, y)
    _assert_same_params(_params(clf), _params(stopped))
    np.testing.assert_array_equal(clf.predict(X), stopped.predict(X))


# ---- ConvNetClassifier's solver options ------------------------------------------
def test_convnet_solver_options_leave_the_model_alone(digits):
    X, y = digits
    clf = ConvNetClassifier(**{**CONVNET_PARAMS, "num_epochs": 1}).fit(X, y)
    clf.set_params(label_smoothing=0.2, test_flip=True)
    clf._solver_options(incremental=False)
    assert clf.model_.label_smoothing == 0.0 and clf.model_.test_flip is False
    # the next training applies them
    clf.set_params(warm_start=True).fit(X, y)
    assert clf.model_.label_smoothing == 0.2 and clf.model_.test_flip is True


def test_checkpointed_estimator_pickles_without_callbacks(tmp_path, digits):
    """A checkpoint inside a pipeline holds no trace of the meta-estimator's fit."""
    X, y = digits
    path = tmp_path / "clf.joblib"
    network = MLPClassifier(**MLP_PARAMS).set_callbacks(Checkpoint(path, save="last"),
                                                        StopAfter(2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make_pipeline(StandardScaler(), network).fit(X, y)
    saved = joblib.load(path)
    for name in ("_skl_callbacks", "_callback_fit_ctx", "_parent_callback_ctx"):
        assert not hasattr(saved, name)
    assert saved.n_iter_ == 2
