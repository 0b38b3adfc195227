"""The Solver's callbacks: hook points, the per-epoch history, atomic files."""
import math
import os
import pickle

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.datasets import load_digits
from sklearn.metrics import log_loss
from sklearn.preprocessing import StandardScaler

from skdeep.nn.callbacks import Callback
from skdeep.nn.models import FullyConnectedNet
from skdeep.nn.solver import Solver
from skdeep.utils._io import atomic_dump


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


def _data(digits, n_train=200, n_val=100):
    X, y = digits
    return {"X_train": X[:n_train], "y_train": y[:n_train],
            "X_val": X[n_train:n_train + n_val], "y_val": y[n_train:n_train + n_val]}


class Recorder(Callback):
    """Logs every call as (hook, epoch, iteration)."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, solver):
        self.calls.append(("train_begin", solver.epoch, solver.iteration))

    def on_epoch_begin(self, solver):
        self.calls.append(("epoch_begin", solver.epoch, solver.iteration))

    def on_batch_begin(self, solver, X_batch, y_batch):
        self.calls.append(("batch_begin", solver.epoch, solver.iteration))

    def on_batch_end(self, solver, loss):
        assert loss == solver.loss_history[-1]
        self.calls.append(("batch_end", solver.epoch, solver.iteration))

    def on_epoch_end(self, solver, record):
        assert record is solver.history[-1]
        self.calls.append(("epoch_end", solver.epoch, solver.iteration))

    def on_train_end(self, solver):
        self.calls.append(("train_end", solver.epoch, solver.iteration))


def test_hooks_are_called_at_their_points_in_order(digits):
    recorder = Recorder()
    model = FullyConnectedNet([10], input_dim=64, random_state=0)
    # 200 rows in minibatches of 100: two steps per epoch
    Solver(model, _data(digits), update_rule="adam", num_epochs=2, batch_size=100,
           verbose=False, random_state=0, callbacks=[recorder]).train()
    epoch = [("batch_begin", 0, 0), ("batch_end", 0, 1),
             ("batch_begin", 0, 1), ("batch_end", 0, 2)]
    expected = ([("train_begin", 0, 0), ("epoch_begin", 0, 0)] + epoch
                + [("epoch_end", 1, 2), ("epoch_begin", 1, 2)]
                + [(hook, 1, it + 2) for hook, _, it in epoch]
                + [("epoch_end", 2, 4), ("train_end", 2, 4)])
    assert recorder.calls == expected


def test_on_batch_begin_replaces_the_minibatch(digits):
    class Zeros(Callback):
        def on_batch_begin(self, solver, X_batch, y_batch):
            return np.zeros_like(X_batch)

    class Seen(Callback):
        def __init__(self):
            self.batches = []

        def on_batch_begin(self, solver, X_batch, y_batch):
            self.batches.append(X_batch.copy())

    seen = Seen()
    model = FullyConnectedNet([10], input_dim=64, random_state=0)
    Solver(model, _data(digits), num_epochs=1, batch_size=50, verbose=False,
           random_state=0, callbacks=[Zeros(), seen]).train()
    # the later callback receives the earlier one's batch
    assert len(seen.batches) == 4 and not any(b.any() for b in seen.batches)


def test_a_callback_stops_training_at_the_epoch_it_says(digits):
    class StopAtTwo(Callback):
        def on_epoch_end(self, solver, record):
            return record["epoch"] == 2

    recorder = Recorder()
    model = FullyConnectedNet([10], input_dim=64, random_state=0)
    solver = Solver(model, _data(digits), num_epochs=10, verbose=False,
                    random_state=0, callbacks=[StopAtTwo(), recorder])
    solver.train()
    assert solver.epoch == 2 and len(solver.history) == 2
    # every callback still sees the epoch that stops, then the end of training
    assert [c[0] for c in recorder.calls[-2:]] == ["epoch_end", "train_end"]


def test_history_records_each_epoch(digits):
    X, y = digits
    data = _data(digits)
    data["sample_weight_val"] = np.linspace(0.5, 2.0, 100)

    class Oracle(Callback):
        """The validation loss and accuracy of the model as it stands at epoch end."""

        def __init__(self):
            self.rows = []

        def on_epoch_end(self, solver, record):
            scores = solver.model.loss(data["X_val"]).astype(np.float64)
            weight = data["sample_weight_val"]
            self.rows.append((
                log_loss(data["y_val"], softmax(scores, axis=1), sample_weight=weight,
                         labels=np.arange(10)),
                np.average(scores.argmax(axis=1) == data["y_val"], weights=weight)))

    oracle = Oracle()
    model = FullyConnectedNet([20], input_dim=64, random_state=0)
    solver = Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 0.1},
                    lr_decay=0.5, num_epochs=3, batch_size=50, verbose=False,
                    random_state=0, callbacks=[oracle])
    solver.train()
    assert [r["epoch"] for r in solver.history] == [1, 2, 3]
    for e, (record, (val_loss, val_acc)) in enumerate(zip(solver.history, oracle.rows)):
        assert set(record) == {"epoch", "train_loss", "train_accuracy", "val_loss",
                               "val_accuracy", "learning_rate", "seconds"}
        # four minibatches of 50 per epoch
        assert record["train_loss"] == pytest.approx(
            np.mean(solver.loss_history[4 * e:4 * e + 4]), rel=1e-12)
        assert record["train_accuracy"] == solver.train_acc_history[e]
        assert record["val_accuracy"] == solver.val_acc_history[e] == pytest.approx(val_acc)
        assert record["val_loss"] == pytest.approx(val_loss, rel=1e-6)
        # the rate the epoch trained with: lr_decay applies after it
        assert record["learning_rate"] == pytest.approx(0.1 * 0.5**e, rel=1e-12)
        assert 0 < record["seconds"] < 60


def test_history_without_validation_has_nan_validation_scores(digits):
    X, y = digits
    model = FullyConnectedNet([10], input_dim=64, random_state=0)
    solver = Solver(model, {"X_train": X[:100], "y_train": y[:100]}, num_epochs=2,
                    verbose=False, random_state=0)
    solver.train()
    assert len(solver.history) == 2
    assert all(math.isnan(r["val_loss"]) and math.isnan(r["val_accuracy"])
               for r in solver.history)
    assert all(math.isfinite(r["train_loss"]) for r in solver.history)


@pytest.mark.parametrize("callbacks", [Callback(), [object()], None, [Recorder, 1]])
def test_bad_callbacks_are_named(digits, callbacks):
    model = FullyConnectedNet([10], input_dim=64, random_state=0)
    with pytest.raises(ValueError, match="callbacks must be a list of"):
        Solver(model, _data(digits), callbacks=callbacks)


# ---- atomic files -------------------------------------------------------------
def test_atomic_dump_writes_a_pickle_and_leaves_nothing_else(tmp_path):
    path = tmp_path / "state.pkl"
    atomic_dump({"a": np.arange(3)}, path)
    atomic_dump({"a": np.arange(4)}, str(path))  # replaces the previous file
    with open(path, "rb") as f:
        np.testing.assert_array_equal(pickle.load(f)["a"], np.arange(4))
    assert os.listdir(tmp_path) == ["state.pkl"]


def test_atomic_dump_failing_mid_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "state.pkl"
    atomic_dump("previous", path)

    def broken_dump(obj, f, *args, **kwargs):
        f.write(b"half a pickle")
        raise OSError("disk full")

    monkeypatch.setattr(pickle, "dump", broken_dump)
    with pytest.raises(OSError, match="disk full"):
        atomic_dump("next", path)
    monkeypatch.undo()
    with open(path, "rb") as f:
        assert pickle.load(f) == "previous"
    assert os.listdir(tmp_path) == ["state.pkl"]
