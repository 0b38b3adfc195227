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

from skdeep.nn.callbacks import (
    Callback,
    FlipAndShift,
    LearningRateSchedule,
    StopOnPlateau,
    WeightAveraging,
)
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


def test_the_options_are_shortcuts_for_the_built_in_callbacks(digits):
    X, y = digits
    data = {"X_train": X[:300].reshape(-1, 1, 8, 8), "y_train": y[:300],
            "X_val": X[300:400].reshape(-1, 1, 8, 8), "y_val": y[300:400]}
    common = dict(update_rule="adam", optim_config={"learning_rate": 5e-3},
                  lr_decay=0.9, num_epochs=6, batch_size=50, verbose=False,
                  random_state=0)
    runs = []
    for options in (
            dict(lr_schedule="linear", warmup_fraction=0.2, augment=True,
                 augment_pad=2, weight_averaging=0.9, early_stopping=True,
                 n_iter_no_change=2),
            dict(callbacks=[LearningRateSchedule(5e-3, 0.9, "linear", 0.2),
                            FlipAndShift(2), WeightAveraging(0.9), StopOnPlateau(2)])):
        model = FullyConnectedNet([20], input_dim=64, random_state=0)
        solver = Solver(model, data, **common, **options).train()
        runs.append((solver.loss_history, solver.val_acc_history, model.params))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    for name, value in runs[0][2].items():
        np.testing.assert_array_equal(value, runs[1][2][name])


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


# ---- interruption -------------------------------------------------------------
class InterruptAt(Callback):
    """Ctrl-C after step ``step``; keeps a copy of the parameters there."""

    def __init__(self, step):
        self.step = step
        self.params = None

    def on_batch_end(self, solver, loss):
        if solver.iteration == self.step:
            self.params = {k: v.copy() for k, v in solver.model.params.items()}
            raise KeyboardInterrupt


class EpochEndParams(Callback):
    """Copies of the parameters and running means at each epoch's end."""

    def __init__(self):
        self.params, self.running_means = [], []

    def on_epoch_end(self, solver, record):
        self.params.append({k: v.copy() for k, v in solver.model.params.items()})
        self.running_means.append(solver.model.bn_params[0]["running_mean"].copy())


def test_interruption_keeps_the_best_epoch_so_far(digits):
    X, y = digits
    # random validation labels, so the best epoch is not simply the last one
    data = {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:400],
            "y_val": np.random.RandomState(0).randint(10, size=100)}
    model = FullyConnectedNet([30], input_dim=64, weight_scale="he",
                              normalization="batchnorm", random_state=0)
    recorder = EpochEndParams()
    # six steps per epoch: step 27 is in the fifth epoch
    solver = Solver(model, data, update_rule="adam", num_epochs=10, batch_size=50,
                    verbose=False, random_state=0,
                    callbacks=[recorder, InterruptAt(27)])
    with pytest.warns(UserWarning, match="training interrupted after 4 of 10 epochs "
                                         r"\(27 steps\); the model keeps the "
                                         "parameters of the best epoch so far"):
        assert solver.train() is solver
    assert solver.interrupted and solver.epoch == 4 and len(solver.history) == 4
    history = solver.val_acc_history
    best = len(history) - 1 - int(np.argmax(history[::-1]))  # ties go to later epochs
    for name, value in model.params.items():
        np.testing.assert_array_equal(value, recorder.params[best][name])
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"],
                                  recorder.running_means[best])


def test_interruption_without_validation_keeps_the_last_or_averaged_weights(digits):
    X, y = digits
    data = {"X_train": X[:300], "y_train": y[:300]}

    class Steps(Callback):
        def __init__(self):
            self.params = []

        def on_batch_end(self, solver, loss):
            self.params.append(solver.model.params["W1"].astype(np.float64))

    for averaging in (None, 0.9):
        model = FullyConnectedNet([20], input_dim=64, random_state=0)
        steps, interrupt = Steps(), InterruptAt(9)
        solver = Solver(model, data, update_rule="adam", num_epochs=3, batch_size=50,
                        weight_averaging=averaging, verbose=False, random_state=0,
                        callbacks=[steps, interrupt])
        kept = "its current parameters" if averaging is None else "the average"
        with pytest.warns(UserWarning, match=f"the model keeps {kept}"):
            solver.train()
        if averaging is None:
            np.testing.assert_array_equal(model.params["W1"], interrupt.params["W1"])
        else:
            # the formula of weight_averaging, over the nine steps taken
            average = steps.params[0]
            for t, w in enumerate(steps.params[1:], start=1):
                decay = min(0.9, (1 + t) / (10 + t))
                average = decay * average + (1 - decay) * w
            np.testing.assert_allclose(model.params["W1"], average, rtol=1e-5)
            assert not np.allclose(model.params["W1"], interrupt.params["W1"], rtol=1e-3)


def test_interruption_in_the_first_epoch_leaves_the_current_parameters(digits):
    model = FullyConnectedNet([20], input_dim=64, random_state=0)
    interrupt = InterruptAt(3)
    solver = Solver(model, _data(digits), update_rule="adam", num_epochs=3,
                    batch_size=50, weight_averaging=0.9, verbose=False,
                    random_state=0, callbacks=[interrupt])
    with pytest.warns(UserWarning, match="keeps its current parameters"):
        solver.train()
    assert solver.interrupted and solver.epoch == 0 and solver.history == []
    for name, value in model.params.items():
        np.testing.assert_array_equal(value, interrupt.params[name])


# ---- resume -------------------------------------------------------------------
class StopAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, solver, record):
        return record["epoch"] == self.epoch


def _resumable_fit(digits, num_epochs=5, **extra):
    """Model, data and options exercising every piece of state a resume needs."""
    X, y = digits
    images = X.reshape(-1, 1, 8, 8)
    data = {"X_train": images[:400], "y_train": y[:400], "X_val": images[400:500],
            "y_val": y[400:500]}
    model = FullyConnectedNet([30, 20], input_dim=64, weight_scale="he",
                              normalization="batchnorm", dropout_keep_ratio=0.8,
                              random_state=0)
    options = dict(update_rule="adam", optim_config={"learning_rate": 5e-3},
                   lr_decay=0.9, weight_averaging=0.95, augment=True, augment_pad=1,
                   lr_schedule="cosine", warmup_fraction=0.1, early_stopping=True,
                   n_iter_no_change=4, batch_size=64, num_epochs=num_epochs,
                   num_train_samples=150, num_val_samples=80, verbose=False,
                   random_state=3, **extra)
    return model, data, options


def _without_seconds(history):
    return [{k: v for k, v in row.items() if k != "seconds"} for row in history]


# the alternating flips' coins are state too: drawn anew, they would flip others
@pytest.mark.parametrize("extra", [{}, dict(augment_flip="alternating",
                                            augment_border="reflect")])
def test_a_resumed_fit_equals_the_uninterrupted_one_bit_for_bit(digits, tmp_path, extra):
    model, data, options = _resumable_fit(digits, **extra)
    straight = Solver(model, data, **options).train()

    first_model, data, options = _resumable_fit(digits, **extra)
    first = Solver(first_model, data, callbacks=[StopAt(2)], **options).train()
    assert first.epoch == 2
    atomic_dump((first_model, first.state_dict()), tmp_path / "resume.pkl")
    with open(tmp_path / "resume.pkl", "rb") as f:
        resumed_model, state = pickle.load(f)
    resumed = Solver(resumed_model, data, callbacks=[StopAt(2)], **options)
    resumed.load_state_dict(state).train()

    assert resumed.epoch == straight.epoch == 5
    for name, value in model.params.items():
        np.testing.assert_array_equal(resumed_model.params[name], value)
        np.testing.assert_array_equal(resumed.best_params[name],
                                      straight.best_params[name])
        for key in ("m", "v"):
            np.testing.assert_array_equal(resumed.optim_configs[name][key],
                                          straight.optim_configs[name][key])
    for resumed_bn, straight_bn in zip(resumed_model.bn_params, model.bn_params):
        np.testing.assert_array_equal(resumed_bn["running_mean"],
                                      straight_bn["running_mean"])
        np.testing.assert_array_equal(resumed_bn["running_var"],
                                      straight_bn["running_var"])
    assert resumed.loss_history == straight.loss_history
    assert resumed.train_acc_history == straight.train_acc_history
    assert resumed.val_acc_history == straight.val_acc_history
    assert _without_seconds(resumed.history) == _without_seconds(straight.history)
    assert resumed.iteration == straight.iteration


def test_a_resumed_fit_with_no_epoch_left_ends_with_the_weights_average(digits):
    """Without validation data the model ends with the average, resumed or not."""
    X, y = digits
    data = {"X_train": X[:300], "y_train": y[:300]}
    options = dict(update_rule="adam", weight_averaging=0.9, num_epochs=3,
                   batch_size=50, verbose=False, random_state=0)
    model = FullyConnectedNet([20], input_dim=64, random_state=0)
    straight = Solver(model, data, **options).train()
    state = straight.state_dict()  # as after the last epoch's checkpoint

    resumed_model = FullyConnectedNet([20], input_dim=64, random_state=1)
    resumed = Solver(resumed_model, data, **options).load_state_dict(state).train()
    assert resumed.epoch == 3 and len(resumed.history) == 3
    for name, value in model.params.items():
        np.testing.assert_array_equal(resumed_model.params[name], value)
        np.testing.assert_array_equal(resumed.final_weights()[0][name], value)
    # which is the average, not the weights training would go on from
    assert not np.array_equal(resumed_model.params["W1"], state["params"]["W1"])


def test_state_dict_is_a_copy_and_refuses_other_solvers(digits):
    model, data, options = _resumable_fit(digits, num_epochs=1)
    solver = Solver(model, data, **options).train()
    state = solver.state_dict()
    state["params"]["W1"][:] = 0  # changing the state leaves the solver alone
    assert solver.state_dict()["params"]["W1"].any()
    other = FullyConnectedNet([30], input_dim=64, random_state=0)
    with pytest.raises(ValueError, match="state holds parameters"):
        Solver(other, data, **options).load_state_dict(solver.state_dict())
    options["weight_averaging"] = None
    with pytest.raises(ValueError, match=r"callbacks \['WeightAveraging', "
                                         r"'StopOnPlateau'\], this solver has "
                                         r"\['StopOnPlateau'\]"):
        Solver(model, data, **options).load_state_dict(solver.state_dict())


# ---- checkpoints --------------------------------------------------------------
def test_a_failing_checkpoint_write_leaves_the_previous_checkpoint(digits, tmp_path,
                                                                   monkeypatch):
    real_dump = pickle.dump

    class FailingDump(Callback):
        """pickle.dump fails (disk full) from the second epoch's checkpoint on."""

        def on_epoch_end(self, solver, record):
            if record["epoch"] == 1:
                def broken(obj, f, *args, **kwargs):
                    f.write(b"half a checkpoint")
                    raise OSError("disk full")

                monkeypatch.setattr(pickle, "dump", broken)

    model = FullyConnectedNet([10], input_dim=64, random_state=0)
    solver = Solver(model, _data(digits), update_rule="adam", num_epochs=3,
                    verbose=False, random_state=0,
                    checkpoint_name=str(tmp_path / "ckpt"), callbacks=[FailingDump()])
    with pytest.raises(OSError, match="disk full"):
        solver.train()
    monkeypatch.setattr(pickle, "dump", real_dump)
    # the first epoch's checkpoint is whole, and nothing else was left behind
    assert os.listdir(tmp_path) == ["ckpt_epoch_1.pkl"]
    with open(tmp_path / "ckpt_epoch_1.pkl", "rb") as f:
        checkpoint = pickle.load(f)
    assert checkpoint["epoch"] == 1 and len(checkpoint["history"]) == 1
    assert checkpoint["solver_state"]["epoch"] == 1
    assert set(checkpoint["model"].params) == set(model.params)


def test_a_checkpoint_resumes_the_fit(digits, tmp_path):
    model, data, options = _resumable_fit(digits, num_epochs=3)
    straight = Solver(model, data, **options).train()
    first_model, data, options = _resumable_fit(digits, num_epochs=3)
    Solver(first_model, data, checkpoint_name=str(tmp_path / "ckpt"), **options).train()
    with open(tmp_path / "ckpt_epoch_1.pkl", "rb") as f:
        checkpoint = pickle.load(f)
    resumed = Solver(checkpoint["model"], data, checkpoint_name=str(tmp_path / "again"),
                     **options)
    resumed.load_state_dict(checkpoint["solver_state"]).train()
    assert resumed.loss_history == straight.loss_history
    for name, value in model.params.items():
        np.testing.assert_array_equal(checkpoint["model"].params[name], value)
