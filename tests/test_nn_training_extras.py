"""Training extras of the engine: schedules, Nesterov, label smoothing, averaging, augmentation."""
import math

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

from skdeep.nn import optim
from skdeep.nn.callbacks import Callback, _flip_and_shift
from skdeep.nn.gradcheck import eval_numerical_gradient, rel_error
from skdeep.nn.layers import softmax_loss
from skdeep.nn.models import FullyConnectedNet
from skdeep.nn.solver import Solver


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits(return_X_y=True)
    return StandardScaler().fit_transform(X).astype(np.float32), y


class RecordingModel:
    """Zero loss; remembers the learning rate and the minibatch of every step."""

    def __init__(self, shape=(3,)):
        self.params = {"W": np.zeros(shape, dtype=np.float64)}
        self.batches = []

    def loss(self, X, y=None):
        if y is None:
            return np.zeros((len(X), 2))
        self.batches.append(np.array(X))
        return 0.0, {"W": np.zeros_like(self.params["W"])}


# ---- label smoothing ----------------------------------------------------------
def test_label_smoothing_is_cross_entropy_against_the_smoothed_target():
    rng = np.random.RandomState(0)
    x = rng.randn(6, 5)
    y = rng.randint(5, size=6)
    eps = 0.1
    # oracle: the explicit smoothed target and a direct log-softmax
    target = np.full((6, 5), eps / 5)
    target[np.arange(6), y] += 1 - eps
    log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    loss, dx = softmax_loss(x, y, label_smoothing=eps)
    assert loss == pytest.approx(-(target * log_p).sum() / 6, rel=1e-12)
    # PyTorch's gradient of the mean loss: (softmax(x) - target) / N
    np.testing.assert_allclose(dx, (np.exp(log_p) - target) / 6, rtol=1e-12, atol=1e-15)
    numerical = eval_numerical_gradient(
        lambda _: softmax_loss(x, y, label_smoothing=eps)[0], x, verbose=False)
    assert rel_error(dx, numerical) < 1e-7
    # no smoothing is exactly the plain loss, value and gradient
    plain = softmax_loss(x, y)
    assert softmax_loss(x, y, label_smoothing=0.0)[0] == plain[0]
    np.testing.assert_array_equal(softmax_loss(x, y, label_smoothing=0.0)[1], plain[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_label_smoothing_stays_finite_for_extreme_scores(dtype):
    # a probability of exp(-2000) is zero in floating point: the smoothed target's
    # weight on it would be log(0) without log-softmax; the exact loss is
    # 0.1 / 2 * 2000 = 100, the gradient 0.05 away from the label's prediction
    x = np.array([[1000.0, -1000.0]], dtype=dtype)
    loss, dx = softmax_loss(x, np.array([0]), label_smoothing=0.1)
    assert loss == pytest.approx(100.0, rel=1e-6)
    assert dx.dtype == dtype
    np.testing.assert_allclose(dx, [[0.05, -0.05]], rtol=1e-6)


# ---- Nesterov momentum --------------------------------------------------------
def test_nesterov_matches_the_lookahead_form():
    rng = np.random.RandomState(0)
    w, v = rng.randn(4, 5), rng.randn(4, 5)
    dw = rng.randn(4, 5)
    config = {"learning_rate": 0.1, "momentum": 0.9, "velocity": v.copy(),
              "nesterov": True}
    next_w, config = optim.sgd_momentum(w, dw, config)
    # the CS231n lecture form: v_prev = v; v = mu v - lr dw; w += -mu v_prev + (1 + mu) v
    v_new = 0.9 * v - 0.1 * dw
    assert rel_error(config["velocity"], v_new) < 1e-14
    assert rel_error(next_w, w - 0.9 * v + 1.9 * v_new) < 1e-13
    # in place gives the same
    w_in_place = w.copy()
    optim.sgd_momentum(w_in_place, dw, {"learning_rate": 0.1, "momentum": 0.9,
                                         "velocity": v.copy(), "nesterov": True},
                       out=w_in_place)
    np.testing.assert_allclose(w_in_place, next_w, rtol=1e-14)


# ---- learning-rate schedule ---------------------------------------------------
def _recorded_rates(schedule, warmup, num_epochs=2, n=40, batch_size=10, lr_decay=1.0):
    model = RecordingModel()
    rates = []
    real_rule = optim.sgd

    def rule(w, dw, config):
        rates.append(config["learning_rate"])
        return real_rule(w, dw, config)

    solver = Solver(model, {"X_train": np.zeros((n, 2)), "y_train": np.zeros(n, int)},
                    update_rule=rule, optim_config={"learning_rate": 0.5},
                    lr_schedule=schedule, warmup_fraction=warmup, lr_decay=lr_decay,
                    batch_size=batch_size, num_epochs=num_epochs, verbose=False,
                    random_state=0)
    solver.train()
    return np.array(rates)


def test_warmup_then_cosine_per_step():
    rates = _recorded_rates("cosine", 0.25)  # 8 steps, 2 of warm-up
    expected = [0.25, 0.5] + [0.25 * (1 + math.cos(math.pi * k / 6)) for k in range(6)]
    np.testing.assert_allclose(rates, expected, rtol=1e-12)
    assert rates.argmax() == 1


def test_linear_decay_and_constant_schedules():
    np.testing.assert_allclose(_recorded_rates("linear", 0.0),
                               0.5 * (1 - np.arange(8) / 8), rtol=1e-12)
    # lr_decay still applies per epoch on top of the schedule
    np.testing.assert_allclose(_recorded_rates("constant", 0.5, lr_decay=0.1),
                               [0.125, 0.25, 0.375, 0.5, 0.05, 0.05, 0.05, 0.05],
                               rtol=1e-12)


@pytest.mark.parametrize("option, value", [("lr_schedule", "step"),
                                           ("warmup_fraction", 1.0),
                                           ("weight_averaging", 1.0),
                                           ("augment_pad", -1)])
def test_bad_extra_options_are_named(option, value):
    model = RecordingModel()
    data = {"X_train": np.zeros((4, 1, 2, 2)), "y_train": np.zeros(4, int)}
    with pytest.raises(ValueError, match=option):
        Solver(model, data, augment=True, **{option: value})


def test_augment_needs_images():
    with pytest.raises(ValueError, match="augment needs X_train of images"):
        Solver(RecordingModel(), {"X_train": np.zeros((4, 3)), "y_train": np.zeros(4, int)},
               augment=True)


# ---- weight averaging ---------------------------------------------------------
def test_weight_averaging_follows_the_formula_and_ends_in_the_model():
    class DriftModel:
        """A gradient of -1 everywhere: sgd moves W up by the learning rate each step."""

        def __init__(self):
            self.params = {"W": np.zeros(2)}

        def loss(self, X, y=None):
            if y is None:
                return np.zeros((len(X), 2))
            return 0.0, {"W": -np.ones(2)}

    model = DriftModel()
    solver = Solver(model, {"X_train": np.zeros((30, 1)), "y_train": np.zeros(30, int)},
                    update_rule="sgd", optim_config={"learning_rate": 1.0},
                    weight_averaging=0.9, batch_size=10, num_epochs=2, verbose=False,
                    random_state=0)
    solver.train()
    # the weights after step k are k (k = 1..6); the average starts at step 1
    average = 1.0
    for t, w in enumerate(range(2, 7), start=1):
        decay = min(0.9, (1 + t) / (10 + t))
        average = decay * average + (1 - decay) * w
    np.testing.assert_allclose(model.params["W"], [average, average], rtol=1e-12)


def test_lookahead_pulls_weights_and_running_stats_back_to_the_scheduled_average():
    class DriftModel:
        """W moves up by 1 per sgd step; a running mean that counts the steps."""

        def __init__(self):
            self.params = {"W": np.zeros(2)}
            self.bn_params = [{"running_mean": np.zeros(1)}]

        def loss(self, X, y=None):
            if y is None:
                return np.zeros((len(X), 2))
            self.bn_params[0]["running_mean"] += 1
            return 0.0, {"W": -np.ones(2)}

    model = DriftModel()
    # 2 epochs of 10 steps: pulls after steps 5, 10, 15, and the final one after 20
    solver = Solver(model, {"X_train": np.zeros((100, 1)), "y_train": np.zeros(100, int)},
                    update_rule="sgd", optim_config={"learning_rate": 1.0},
                    weight_averaging="lookahead", batch_size=10, num_epochs=2,
                    verbose=False, random_state=0)
    solver.train()
    # the oracle, written out: w and the running mean move alike, by 1 per step
    w = average = None
    for step in range(1, 21):
        w = w + 1 if w is not None else 1.0
        if step == 20:
            w = average
        elif step % 5 == 0:
            decay = 0.95 ** 5 * (step / 20) ** 3
            average = w if average is None else decay * average + (1 - decay) * w
            w = average
    assert w != 20  # the pulls changed the trajectory
    np.testing.assert_allclose(model.params["W"], [w, w], rtol=1e-12)
    np.testing.assert_allclose(model.bn_params[0]["running_mean"], [w], rtol=1e-12)


def test_lookahead_is_refused_under_another_spelling():
    with pytest.raises(ValueError, match="weight_averaging must be a float in \\(0, 1\\), "
                                         "'lookahead' or None, got 'Lookahead'"):
        Solver(RecordingModel(), {"X_train": np.zeros((4, 3)), "y_train": np.zeros(4, int)},
               weight_averaging="Lookahead")


def test_weight_averaging_trains_digits(digits):
    X, y = digits
    results = {}
    for averaging in (None, 0.99):
        model = FullyConnectedNet([50], input_dim=64, weight_scale="he", random_state=0)
        solver = Solver(model, {"X_train": X[:1000], "y_train": y[:1000],
                                "X_val": X[1000:], "y_val": y[1000:]},
                        update_rule="adam", optim_config={"learning_rate": 1e-2},
                        weight_averaging=averaging, batch_size=50, num_epochs=5,
                        verbose=False, random_state=0)
        solver.train()
        results[averaging] = solver
    # the averaged model is a different model that also classifies well
    assert results[0.99].best_val_acc > 0.9
    assert not np.array_equal(results[0.99].best_params["W1"],
                              results[None].best_params["W1"])


# ---- augmentation -------------------------------------------------------------
@pytest.mark.parametrize("border, mode", [("zeros", "constant"), ("reflect", "reflect")])
def test_flip_and_shift_is_a_crop_of_the_padded_image(border, mode):
    rng = np.random.RandomState(0)
    x = rng.rand(64, 2, 5, 6)
    pad = 2
    out = _flip_and_shift(x, pad, np.random.RandomState(3), np.empty_like(x),
                          border=border)
    # replay the same draws, then crop the explicitly padded (and flipped) image
    replay = np.random.RandomState(3)
    flips = replay.random(64) < 0.5
    shifts = replay.choice(2 * pad + 1, size=(64, 2)) - pad
    for i in range(64):
        image = x[i, :, :, ::-1] if flips[i] else x[i]
        padded = np.pad(image, ((0, 0), (pad, pad), (pad, pad)), mode=mode)
        dy, dx = shifts[i]
        np.testing.assert_array_equal(out[i], padded[:, pad + dy:pad + dy + 5,
                                                     pad + dx:pad + dx + 6])
    assert 0 < flips.sum() < 64 and len({tuple(s) for s in shifts}) > 10


class SeenImages(Callback):
    """Records each trained image (after the built-in augmentation) with its row."""

    def __init__(self):
        self.seen = []

    def on_batch_begin(self, solver, X_batch, y_batch):
        for row, image in zip(solver.batch_rows, X_batch):
            self.seen.append((solver.epoch, int(row), image.copy()))


def _seen_images(X, seed=0, num_epochs=2, **options):
    seen = SeenImages()
    Solver(RecordingModel(), {"X_train": X, "y_train": np.zeros(len(X), int)},
           augment=True, batch_size=7, num_epochs=num_epochs, verbose=False,
           random_state=seed, callbacks=[seen], **options).train()
    return seen.seen


def test_reflected_shifts_are_crops_of_np_pad_reflect():
    X = np.random.RandomState(0).rand(30, 2, 5, 6) + 1  # no zero pixel
    pad = 2
    shifts = set()
    for _, row, image in _seen_images(X, num_epochs=3, augment_pad=pad,
                                      augment_border="reflect"):
        # oracle: every crop of np.pad's reflection of the image or its mirror
        matches = [(dy, dx) for view in (X[row], X[row][:, :, ::-1])
                   for padded in [np.pad(view, ((0, 0), (pad, pad), (pad, pad)),
                                         mode="reflect")]
                   for dy in range(-pad, pad + 1) for dx in range(-pad, pad + 1)
                   if np.array_equal(image, padded[:, pad + dy:pad + dy + 5,
                                                   pad + dx:pad + dx + 6])]
        assert matches, f"row {row} is no crop of its reflected padding"
        shifts.update(matches)
    # the largest shifts were drawn, in both directions of both axes
    assert {-pad, pad} <= {dy for dy, _ in shifts}
    assert {-pad, pad} <= {dx for _, dx in shifts}


def _flipped_by_epoch(X, seen, num_epochs):
    """(num_epochs, N) booleans: which images each epoch trained mirrored."""
    flipped = np.full((num_epochs, len(X)), -1)
    for epoch, row, image in seen:
        mirrored = np.array_equal(image, X[row][:, :, ::-1])
        assert mirrored or np.array_equal(image, X[row])
        assert flipped[epoch, row] == -1  # each image once per epoch
        flipped[epoch, row] = mirrored
    assert (flipped >= 0).all()
    return flipped.astype(bool)


def test_alternating_flips_flip_each_image_every_other_epoch():
    X = np.random.RandomState(0).rand(200, 1, 4, 5)  # no image is its own mirror
    epochs = 6

    def flips(seed, mode="alternating"):
        seen = _seen_images(X, seed, num_epochs=epochs, augment_pad=0,
                            augment_flip=mode)
        return _flipped_by_epoch(X, seen, epochs)

    flipped = flips(0)
    # the rule: epoch e flips the images epoch e - 1 did not
    for epoch in range(1, epochs):
        np.testing.assert_array_equal(flipped[epoch], ~flipped[epoch - 1])
    # the first epoch's coins: about half, within 4 standard deviations of 100
    assert abs(flipped[0].sum() - 100) < 4 * np.sqrt(200 * 0.25)
    np.testing.assert_array_equal(flips(0), flipped)
    assert not np.array_equal(flips(1), flipped)
    # independent coins flip some image in two epochs in a row; None flips none
    random = flips(0, "random")
    assert (random[1:] & random[:-1]).any()
    assert not flips(0, None).any()


@pytest.mark.parametrize("option, value", [("augment_flip", "sometimes"),
                                           ("augment_border", "wrap")])
def test_bad_augment_choices_are_named(option, value):
    data = {"X_train": np.zeros((4, 1, 2, 2)), "y_train": np.zeros(4, int)}
    with pytest.raises(ValueError, match=option):
        Solver(RecordingModel(), data, augment=True, **{option: value})


def test_solver_trains_on_augmented_copies_seeded_by_random_state():
    X = np.arange(10 * 1 * 4 * 4, dtype=np.float64).reshape(10, 1, 4, 4) + 1
    y = np.zeros(10, int)

    def batches(seed):
        model = RecordingModel()
        Solver(model, {"X_train": X, "y_train": y}, augment=True, augment_pad=1,
               batch_size=5, num_epochs=2, verbose=False, random_state=seed).train()
        return np.concatenate(model.batches)

    first, again, other = batches(0), batches(0), batches(1)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    # augmented images are shifted copies: some zeros appear, the values come from X
    assert (first == 0).any() and np.isin(first[first != 0], X).all()
    assert not np.isin(first.reshape(20, -1), X.reshape(10, -1)).all(axis=1).all()
