"""The Solver: epochs, minibatches, histories, best-epoch restore, divergence."""
import pickle
import re

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skdeep.exceptions import DivergenceError
from skdeep.nn import optim
from skdeep.nn.models import FullyConnectedNet
from skdeep.nn.solver import Solver


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


@pytest.fixture(scope="module")
def cifar_rows(cifar10):
    """The first 1,050 CIFAR-10 training images as float64 rows minus their mean."""
    X, y, _, _ = cifar10
    X = X[:1050].reshape(1050, -1).astype(np.float64)
    X -= X.mean(axis=0)
    return X, y[:1050]


class RecordingModel:
    """A model whose loss is zero and which remembers every minibatch it saw."""

    def __init__(self):
        self.params = {"W": np.zeros(3, dtype=np.float32)}
        self.batches = []

    def loss(self, X, y=None):
        if y is None:
            return np.zeros((len(X), 2))
        self.batches.append((X.__array_interface__["data"][0], X[:, 0].copy(), y.copy()))
        return 0.0, {"W": np.ones(3, dtype=np.float32)}


@pytest.mark.parametrize("hidden_dims", [[100, 100], [100, 100, 100, 100]])
def test_three_and_five_layer_nets_overfit_50_samples(digits, hidden_dims):
    X, y = digits
    rows = np.random.RandomState(0).choice(len(X), 50, replace=False)
    model = FullyConnectedNet(hidden_dims, input_dim=64, weight_scale="he", random_state=0)
    solver = Solver(model, {"X_train": X[rows], "y_train": y[rows],
                            "X_val": X[:100], "y_val": y[:100]},
                    update_rule="sgd", optim_config={"learning_rate": 0.1},
                    batch_size=25, num_epochs=20, verbose=False, random_state=0)
    solver.train()
    assert max(solver.train_acc_history) == 1.0
    assert solver.check_accuracy(X[rows], y[rows]) == 1.0


@pytest.mark.parametrize("hidden_dims, weight_scale", [([100, 100], 1e-2),
                                                       ([100, 100, 100, 100], 5e-2)])
def test_three_and_five_layer_nets_overfit_50_cifar10_images(cifar_rows, hidden_dims,
                                                           weight_scale):
    # the CS231n setting: raw pixels minus the mean image, plain SGD at 1e-2
    X, y = cifar_rows
    model = FullyConnectedNet(hidden_dims, weight_scale=weight_scale, dtype=np.float64,
                              random_state=0)
    solver = Solver(model, {"X_train": X[:50], "y_train": y[:50],
                            "X_val": X[50:], "y_val": y[50:]},
                    update_rule="sgd", optim_config={"learning_rate": 1e-2},
                    batch_size=25, num_epochs=20, verbose=False, random_state=0)
    solver.train()
    assert max(solver.train_acc_history) == 1.0


def test_each_epoch_visits_every_sample_once_through_one_buffer():
    X = np.arange(23, dtype=np.float64).reshape(23, 1).repeat(2, axis=1)
    y = np.arange(23) % 2
    model = RecordingModel()
    solver = Solver(model, {"X_train": X, "y_train": y}, batch_size=5, num_epochs=3,
                    update_rule="sgd", verbose=False, random_state=0)
    solver.train()
    assert len(model.batches) == 3 * 5  # ceil(23 / 5) minibatches per epoch
    # as equal as possible: no leftover minibatch of a few samples
    assert sorted(len(b[1]) for b in model.batches[:5]) == [4, 4, 5, 5, 5]
    for epoch in range(3):
        seen = np.concatenate([b[1] for b in model.batches[5 * epoch:5 * epoch + 5]])
        np.testing.assert_array_equal(np.sort(seen), np.arange(23))
        labels = np.concatenate([b[2] for b in model.batches[5 * epoch:5 * epoch + 5]])
        np.testing.assert_array_equal(labels, seen.astype(int) % 2)
    # one buffer serves every minibatch: no per-step copies of the data
    assert len({b[0] for b in model.batches}) == 1
    np.testing.assert_array_equal(X[:, 0], np.arange(23))  # the data are untouched
    orders = [np.concatenate([b[1] for b in model.batches[5 * e:5 * e + 5]])
              for e in range(2)]
    assert not np.array_equal(orders[0], orders[1])  # reshuffled each epoch


def test_histories_lr_decay_and_updates(digits):
    X, y = digits
    model = RecordingModel()
    solver = Solver(model, {"X_train": X[:100], "y_train": y[:100], "X_val": X[100:150],
                            "y_val": y[100:150]},
                    update_rule="sgd", optim_config={"learning_rate": 0.5},
                    lr_decay=0.5, batch_size=30, num_epochs=3, verbose=False)
    solver.train()
    assert len(solver.loss_history) == 3 * 4
    assert len(solver.train_acc_history) == len(solver.val_acc_history) == 3
    assert solver.optim_configs["W"]["learning_rate"] == 0.5 * 0.5**3
    # sgd steps of 0.5, 0.25 and 0.125 with a gradient of one, four times each
    np.testing.assert_allclose(model.params["W"], -4 * (0.5 + 0.25 + 0.125))
    assert solver.epoch == 3


def test_train_restores_the_best_validation_epoch(tmp_path, digits):
    X, y = digits
    rng = np.random.RandomState(0)
    # random validation labels make the validation accuracy wander, so the best
    # epoch is not the last one
    data = {"X_train": X[:300], "y_train": y[:300], "X_val": X[300:400],
            "y_val": rng.randint(10, size=100)}
    model = FullyConnectedNet([30], input_dim=64, weight_scale="he",
                              normalization="batchnorm", random_state=0)
    solver = Solver(model, data, update_rule="adam", num_epochs=8, batch_size=50,
                    verbose=False, random_state=0,
                    checkpoint_name=str(tmp_path / "ckpt"))
    solver.train()
    history = solver.val_acc_history
    best = len(history) - 1 - int(np.argmax(history[::-1]))  # ties go to later epochs
    assert best != len(history) - 1
    assert solver.best_val_acc == max(history)
    with open(tmp_path / f"ckpt_epoch_{best + 1}.pkl", "rb") as f:
        best_model = pickle.load(f)["model"]
    with open(tmp_path / f"ckpt_epoch_{len(history)}.pkl", "rb") as f:
        last_model = pickle.load(f)["model"]
    for name, value in model.params.items():
        np.testing.assert_array_equal(value, best_model.params[name])
    assert not np.array_equal(model.params["W1"], last_model.params["W1"])
    # batchnorm's running statistics come back with the parameters
    np.testing.assert_array_equal(model.bn_params[0]["running_mean"],
                                  best_model.bn_params[0]["running_mean"])
    assert solver.check_accuracy(data["X_val"], data["y_val"]) == solver.best_val_acc


def test_without_validation_the_last_epoch_is_kept(digits):
    X, y = digits
    model = FullyConnectedNet([20], input_dim=64, random_state=0)
    solver = Solver(model, {"X_train": X[:200], "y_train": y[:200]}, update_rule="adam",
                    num_epochs=2, verbose=False, random_state=0)
    solver.train()
    assert solver.val_acc_history == [] and len(solver.train_acc_history) == 2
    assert not solver.best_params


def test_random_state_makes_training_repeatable(digits):
    X, y = digits
    runs = []
    for _ in range(2):
        model = FullyConnectedNet([20], input_dim=64, dropout_keep_ratio=0.5,
                                  random_state=1)
        solver = Solver(model, {"X_train": X[:300], "y_train": y[:300]},
                        update_rule="adam", num_epochs=2, batch_size=32, verbose=False,
                        random_state=np.random.default_rng(5))
        solver.train()
        runs.append((solver.loss_history, model.params["W1"]))
    assert runs[0][0] == runs[1][0]
    np.testing.assert_array_equal(runs[0][1], runs[1][1])


def test_verbose_prints_iterations_and_epochs(capsys, digits):
    X, y = digits
    model = FullyConnectedNet([20], input_dim=64, random_state=0)
    Solver(model, {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:300],
                   "y_val": y[200:300]},
           update_rule="adam", num_epochs=2, batch_size=50, print_every=3,
           random_state=0).train()
    lines = capsys.readouterr().out.splitlines()
    assert re.fullmatch(r"\(Iteration 3 / 8\) loss: \d+\.\d{6}", lines[0])
    epoch_lines = [line for line in lines if line.startswith("(Epoch")]
    assert len(epoch_lines) == 2
    assert re.fullmatch(r"\(Epoch 2 / 2\) train acc: [01]\.\d{6}; val_acc: [01]\.\d{6}; "
                        r"loss: \d+\.\d{6}", epoch_lines[1])


def test_early_stopping(digits):
    X, y = digits
    model = FullyConnectedNet([20], input_dim=64, random_state=0)
    data = {"X_train": X[:200], "y_train": y[:200], "X_val": X[200:210],
            "y_val": np.zeros(10, dtype=int)}
    solver = Solver(model, data, update_rule="adam", num_epochs=50, verbose=False,
                    early_stopping=True, n_iter_no_change=3, random_state=0)
    solver.train()
    assert solver.epoch < 50
    best_epoch = int(np.argmax(solver.val_acc_history)) + 1
    assert solver.epoch <= best_epoch + 3


def test_divergence_names_the_learning_rate(digits):
    X, y = digits
    model = FullyConnectedNet([50, 50], input_dim=64, weight_scale=10.0, random_state=0)
    solver = Solver(model, {"X_train": X * 1e3, "y_train": y}, update_rule="sgd",
                    optim_config={"learning_rate": 1e8}, num_epochs=2, verbose=False,
                    random_state=0)
    with pytest.raises(DivergenceError, match=r"learning_rate=100000000\.0"):
        solver.train()


def test_learning_rates_default_to_the_update_rules(digits):
    """The schedule and the history start from the rule's own default rate."""
    X, y = digits
    data = {"X_train": X[:40], "y_train": y[:40]}
    options = dict(num_epochs=1, batch_size=20, verbose=False)
    for rule, rate in optim.DEFAULT_LEARNING_RATES.items():
        model = FullyConnectedNet([5], input_dim=64, random_state=0)
        # one warm-up step of two: both steps at the full rate
        solver = Solver(model, data, update_rule=rule, warmup_fraction=0.5,
                        **options).train()
        assert solver.history[0]["learning_rate"] == rate

    def halve(w, dw, config=None):
        return w / 2, config

    model = FullyConnectedNet([5], input_dim=64, random_state=0)
    # a function's default rate is unknown: NaN in the history, and no schedule
    # can start from it (it used to start from 1e-2)
    solver = Solver(model, data, update_rule=halve, **options).train()
    assert np.isnan(solver.history[0]["learning_rate"])
    with pytest.raises(ValueError, match=r"need optim_config\['learning_rate'\]"):
        Solver(model, data, update_rule=halve, lr_schedule="cosine", **options)
    solver = Solver(model, data, update_rule=halve, lr_schedule="linear",
                    optim_config={"learning_rate": 0.5}, **options).train()
    assert solver.history[0]["learning_rate"] == 0.5 * (1 - 1 / 2)


def test_custom_update_rule_and_bad_options(digits):
    X, y = digits

    def halve(w, dw, config=None):
        return w / 2, config

    model = FullyConnectedNet([5], input_dim=64, random_state=0)
    before = model.params["W1"].copy()
    Solver(model, {"X_train": X[:20], "y_train": y[:20]}, update_rule=halve,
           num_epochs=1, batch_size=20, verbose=False).train()
    np.testing.assert_array_equal(model.params["W1"], before / 2)
    with pytest.raises(ValueError, match="Invalid update_rule 'adagrad'"):
        Solver(model, {"X_train": X, "y_train": y}, update_rule="adagrad")
    with pytest.raises(ValueError, match="Unrecognized arguments 'epochs'"):
        Solver(model, {"X_train": X, "y_train": y}, epochs=3)
    with pytest.raises(ValueError, match="early_stopping needs validation data"):
        Solver(model, {"X_train": X, "y_train": y}, early_stopping=True)
    with pytest.raises(ValueError, match="y_train has 10"):
        Solver(model, {"X_train": X, "y_train": y[:10]})


def test_train_rows_select_the_training_rows_without_copying_them():
    X = np.arange(30, dtype=np.float64).reshape(30, 1).repeat(2, axis=1)
    y = np.arange(30) % 2
    rows = np.arange(0, 30, 3)
    model = RecordingModel()
    solver = Solver(model, {"X_train": X, "y_train": y, "train_rows": rows},
                    batch_size=4, num_epochs=2, update_rule="sgd", verbose=False,
                    random_state=0)
    solver.train()
    seen = np.concatenate([b[1] for b in model.batches])
    np.testing.assert_array_equal(np.sort(seen), np.sort(np.tile(rows, 2)))
    assert len(solver.loss_history) == 2 * 3  # ceil(10 / 4) per epoch


# ---- monitor: the column that picks the epoch kept ------------------------------
def _scores_with_margins(margins, y):
    """Two-class scores in which row i's label leads by ``margins[i]`` (< 0: wrong)."""
    scores = np.zeros((len(y), 2))
    scores[np.arange(len(y)), y] = np.asarray(margins) / 2
    scores[np.arange(len(y)), 1 - y] = -np.asarray(margins) / 2
    return scores


class ScriptedModel:
    """A model whose test-mode scores after epoch e are ``scores[e - 1]``.

    Its one parameter counts the steps down (zero loss, gradient one, plain SGD
    at learning rate 1): with one step per epoch, ``w == -e`` after epoch e, so
    the parameters kept name the epoch they come from.
    """

    def __init__(self, scores):
        self.scores = scores
        self.params = {"w": np.zeros(1)}

    def loss(self, X, y=None):
        if y is None:
            return self.scores[int(-self.params["w"][0]) - 1][:len(X)]
        return 0.0, {"w": np.ones(1)}


def _scripted_solver(margins, **options):
    """A Solver of four rows, one step per epoch; epoch e scores ``margins[e - 1]``."""
    y = np.array([0, 1, 0, 1])
    model = ScriptedModel([_scores_with_margins(m, y) for m in margins])
    data = {"X_train": np.zeros((4, 1)), "y_train": y, "X_val": np.zeros((4, 1)),
            "y_val": y}
    return Solver(model, data, update_rule="sgd", optim_config={"learning_rate": 1.0},
                  batch_size=4, num_epochs=len(margins), verbose=False,
                  random_state=0, **options)


# epoch 1: every row right, barely (accuracy 1, loss log(1 + e^-0.1) = 0.64);
# epochs 2 and 4: one row wrong, the others right with confidence (accuracy 0.75,
# loss 0.25, the lowest, tied); epoch 3: accuracy 0.75, loss 0.56
_MARGINS = [[0.1] * 4, [5, 5, 5, -0.5], [1, 1, 1, -1], [5, 5, 5, -0.5]]


@pytest.mark.parametrize("monitor, kept", [("val_accuracy", 1), ("val_loss", 4)])
def test_monitor_picks_the_epoch_kept(monitor, kept):
    solver = _scripted_solver(_MARGINS, monitor=monitor).train()
    losses = [row["val_loss"] for row in solver.history]
    accuracies = [row["val_accuracy"] for row in solver.history]
    assert accuracies == [1.0, 0.75, 0.75, 0.75]
    assert losses[1] == losses[3] == min(losses) and losses[2] < losses[0]
    # the best of the column, the later of ties
    column = accuracies if monitor == "val_accuracy" else [-v for v in losses]
    assert kept == len(column) - int(np.argmax(column[::-1]))
    assert solver.best_epoch == kept
    assert solver.model.params["w"][0] == -kept
    assert solver.final_weights()[0]["w"][0] == -kept
    # best_val_acc is the best accuracy seen, whatever picks the epoch
    assert solver.best_val_acc == max(accuracies)
    assert solver.best_val_loss == min(losses)


def test_early_stopping_watches_the_monitor():
    # the loss stops improving after epoch 2 while the accuracy rises to epoch 4
    margins = [[0.1, 0.1, -0.1, -0.1], [5, 5, -0.2, -0.2], [1, 1, 1, -3],
               [0.5] * 4, [0.5] * 4, [0.5] * 4]
    by_loss = _scripted_solver(margins, monitor="val_loss", early_stopping=True,
                               n_iter_no_change=2).train()
    losses = [row["val_loss"] for row in by_loss.history]
    assert losses[1] < losses[0] and min(losses[2:]) > losses[1]
    assert by_loss.epoch == 4 and by_loss.best_epoch == 2
    by_accuracy = _scripted_solver(margins, early_stopping=True,
                                   n_iter_no_change=2).train()
    assert [row["val_accuracy"] for row in by_accuracy.history] == [
        0.5, 0.5, 0.75, 1.0, 1.0, 1.0]
    assert by_accuracy.epoch == 6 and by_accuracy.best_epoch == 6


def test_monitor_is_checked():
    with pytest.raises(ValueError, match="monitor"):
        _scripted_solver(_MARGINS, monitor="accuracy")
