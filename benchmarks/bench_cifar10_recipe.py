"""skdeep's "cifar10-fast" recipe beside its PyTorch CPU twin: accuracy within one fit budget.

skdeep: ``ConvNetClassifier.from_recipe("cifar10-fast", num_epochs=E)``.  PyTorch: a
twin of exactly that net and training recipe, built from the values of
``skdeep.neural_network._convnet.RECIPES["cifar10-fast"]`` (and the classifier's
defaults for what the recipe leaves out), on all cores.  Both train on the 50,000
CIFAR-10 training images as ``examples/plot_cifar10_convnet.py``'s ``load_data``
gives them (rows of float32 pixels, standardized per channel with the training
set's mean and deviation) and are scored on the 10,000 test images, with the
recipe's test-time views and without any.

Each contestant runs in a fresh process of its own (``_timing.contest``).  With
``--budget-minutes M`` (default 20) it first fits one epoch on the first
``--probe-images`` images (default 4,096), reads the time of an epoch of the
whole set off it (times ``n / probe``), and trains as many whole epochs as fit in
M minutes (at least one), as ``examples/plot_cifar10_convnet.py``'s
``epochs_in_budget`` does; ``--epochs N`` fixes the count for both instead.
Printed for each: epochs, fit time, images/s (epochs x training images over the
fit time), the last epoch's mean training loss, test accuracy with and without
the recipe's views, the peak memory, the CPU line and the thread counts.  The fit
time is ``fit``'s for skdeep (validation, the channels-first copy, the whitening
layer, every epoch and its 1,000-image training-accuracy check); the twin's timed
fit does the same work (the channels-first tensor from the rows, the whitening
layer, every epoch and the same check).  Scoring is not timed.  With ``--rounds
R`` (default 1; each run is a whole budget) the order alternates and each
contestant reports its round with the shortest time per epoch (every figure of
the line from that one round); the round lines printed during the contest are
seconds per epoch.

    python benchmarks/bench_cifar10_recipe.py [CIFAR_DIR] [--budget-minutes 20]
        [--epochs N] [--rounds 1] [--n-train N] [--n-test N] [--seed 0]
        [--skip-torch] [--check]

``--n-train``/``--n-test`` take the first N images only, for a quick look
(``--epochs 1 --n-train 2000 --n-test 1000``).  ``--verbose 1`` prints each
epoch's line, seen only with ``--contestant NAME`` (a contest keeps the
children's output).  ``--check`` runs no contest: it copies the weights, running
statistics and whitening filters of a skdeep model of the recipe (after one
epoch on 1,024 images) into the twin and compares, in one process, on a batch of
256 images: the class scores in test mode (float32; with the flip+shift views in
float64 and float32), one training-mode pass in float64 (loss with its L2
penalty, every gradient, the running statistics: the definitions) and in
float32 (loss, running statistics), two optimizer steps at different learning
rates from the same gradients, the learning-rate schedule's factors, the
augmentation's crops for given flips and shifts, and the whitening filters
computed from the same images; it exits with status 1 when any differs beyond
rounding.  It also prints each side's float32 gradients' error against the
float64 gradient: on that batch the first two conv layers' float32 gradients
are off by up to about 1e-2 of their largest entry in the twin, 3e-4 in skdeep.
The twin's whitening layer computed in float64 brings that to 2e-5, though its
float32 output is as accurate as skdeep's (8e-7 of each channel's largest
value): the gradient there is discontinuous in its input at float32 rounding,
likely where a 2x2 max pool sees near-equal values (flat image regions).

What the twin does, skdeep's definition throughout
--------------------------------------------------
(skdeep's sources: ``skdeep/neural_network/_convnet.py``, ``skdeep/nn/models.py``,
``_whitening.py``, ``_views.py``, ``callbacks.py``, ``solver.py``, ``optim.py``.)

- Input: images (N, 3, 32, 32), the rows (channels last) reshaped and transposed.
- Whitening layer (``whitening``): a frozen 2x2 convolution with zero bias, from
  ``min(5000, n)`` training images drawn at random: the covariance (divided by
  the count, mean removed, float64) of all their 2x2 patches at stride 1,
  flattened in (C, 2, 2) order; its eigenvectors in decreasing order of
  eigenvalue, each signed so that its largest entry in absolute value is
  positive and divided by ``sqrt(max(eigenvalue, 0) + whitening_eps)``: 12
  channels.  The images are first padded by one
  reflected row at the bottom and one column at the right (``np.pad``'s and
  PyTorch's ``'reflect'``), so the output stays 32x32.  Never trained, no L2.
- Conv layers: stride 1, zero padding ``(k - 1) // 2``, with a bias (trained, no
  L2; batchnorm makes its gradient vanish, as in skdeep).  A 2x2 max pool of
  stride 2 follows layers 1, 1 + p, 1 + 2p, ... with ``pool_after='first'``
  (``pool_every`` p = 2: layers 1, 3, 5), layers p, 2p, ... with ``'last'``.  A
  pooled layer is conv - pool - batchnorm - ReLU with ``pool_before_norm`` (else
  conv - batchnorm - ReLU - pool), the others conv - batchnorm - ReLU (GELU,
  exact, with ``activation='gelu'``).  The recipe's net: 32x32 -> conv 32, pool
  -> 16x16 -> conv 32 -> conv 64, pool -> 8x8 -> conv 64 -> conv 64, pool -> 4x4
  -> conv 64, then the classifier: one affine layer, the (64, 4, 4) maps
  flattened in (C, H, W) order, to the 10 classes (no hidden layer, no final
  pooling, no logit scaling).
- Initialization (``weight_scale='he'``): every conv and the affine weight
  ``N(0, 2 / fan_in)`` (fan-in ``C * k * k`` for a conv, the 1,024 inputs for the
  affine layer; a float ``weight_scale`` is the standard deviation), biases and
  betas zero; ``dirac_init`` then makes each conv layer's first ``min(F, C)``
  filters the identity on their input channels (one at the centre of channel j
  for filter j, zeros elsewhere).
- Batchnorm: batch statistics in training, the variance biased (over N, H, W),
  eps 1e-5; the scale frozen at one with ``freeze_norm_scale`` (no weight, never
  trained); the running statistics start at ZERO (mean and variance, as CS231n's
  ``bn_param``; PyTorch's start at 0 and 1) and move as ``running =
  bn_momentum * running + (1 - bn_momentum) * batch``, the BIASED batch
  variance (PyTorch's ``BatchNorm2d`` uses ``momentum = 1 - bn_momentum`` and the
  unbiased variance).  The twin therefore calls ``torch.native_batch_norm``
  without running statistics (PyTorch's own kernel and backward) and updates its
  own running buffers from the mean and ``1 / invstd**2 - eps`` it returns.
- Loss: the mean over the minibatch of the cross-entropy with label smoothing
  (target ``1 - s`` on the label plus ``s / 10`` on every class: PyTorch's
  ``label_smoothing``), plus ``0.5 * reg * sum(W**2)`` over the conv and affine
  weights only (not the whitening filters, biases or betas).  Its gradient
  ``reg * W`` is added to those weights' gradients in the update, as skdeep's
  fused step does.
- Update (``update_rule='sgd_momentum'``, momentum 0.9, skdeep's default), per
  parameter with ``g = dW (+ reg * W)`` and ``lr`` the step's rate:
  ``v = 0.9 * v - lr * g``, then ``W = W - lr * g + 0.9 * v`` with ``nesterov``
  (else ``W = W + v``); ``v`` starts at zero.  This is the CS231n formulation,
  whose velocity holds rate-scaled steps.  ``torch.optim.SGD(nesterov=True)``
  keeps ``b = 0.9 * b + g`` and steps ``W -= lr * (g + 0.9 * b)``: the same
  only at a constant rate; under the schedule below the two differ, so the twin
  steps with a few lines of torch of its own (no ``torch.optim``).
- Learning rate (``lr_schedule``, ``warmup_fraction``): at step t (0-based) of
  ``T = epochs * ceil(n / batch_size)``, with ``W = int(round(warmup_fraction *
  T))``: ``lr * (t + 1) / W`` while ``t < W``, then ``lr * (1 - (t - W) /
  max(1, T - W))`` (``'linear'``; ``'cosine'`` half a cosine; ``'constant'`` 1),
  times ``lr_decay ** epoch``; the batchnorm shifts (betas) step at
  ``norm_shift_lr_scale`` times that rate.
- Minibatches: each epoch a fresh random permutation of the n images cut into
  ``ceil(n / batch_size)`` minibatches whose sizes differ by at most one
  (``bounds = arange(k + 1) * n // k``): 98 minibatches of 510 or 511 images for
  50,000 at 512; none is dropped or padded.
- Augmentation (``augment``): each image of a minibatch flipped left-right as
  ``augment_flip`` says, then shifted by ``(dy, dx)``, each drawn uniformly from
  ``[-augment_pad, augment_pad]`` per image and minibatch: output pixel (y, x)
  is the (flipped) image's pixel (y + dy, x + dx), with the image reflected
  across its border where that falls outside (``'reflect'``, the border row not
  repeated) or zeros.  ``'alternating'`` flips: one coin per training image when
  training starts picks the images flipped in the first epoch; epoch e flips
  those coins XOR (e odd).  ``'random'``: a coin per image and minibatch.
  Drawn from a ``torch.Generator`` (skdeep draws from NumPy's: same
  distributions, other numbers).
- Weight averaging (``weight_averaging`` d, when set): after every step ``avg =
  d_t * avg + (1 - d_t) * w`` over the trained parameters (weights, biases,
  betas), ``d_t = min(d, (1 + t) / (10 + t))``, t the updates averaged so far;
  the per-epoch check and the final net use the average, with the running
  statistics of the trained weights.
- After each epoch, as skdeep's Solver: the accuracy of 1,000 training images
  drawn at random, unaugmented, in test mode, in batches of 100.  No validation
  split (``validation_fraction=0``): the net ends with the last epoch's weights.
- Prediction: test mode, in float32 (skdeep predicts in float64; PyTorch's
  float64 convolutions on the CPU are many times slower than its float32 ones,
  and ``--check`` compares the twin's float32 scores with skdeep's float64
  ones), in batches of 500.  ``test_time_views='flip+shift'``: the mean of the
  scores (logits) of the image and its mirror (1/4 each) and of the image moved
  one pixel down and right and one pixel up and left (reflected borders), and
  their mirrors (1/8 each); ``'flip'``: image and mirror, 1/2 each.  "plain":
  the image alone.

The recipe's other settings are checked against what the twin assumes
(``TWIN_ASSUMES``), and an option the twin does not know stops the script when
the recipe sets it (a new classifier option left at its default is taken to
leave training unchanged): a change of the recipe must be followed here.
Timings vary with the machine's load: run the contest on a quiet machine and
quote the CPU line with it.
"""
import argparse
import copy
import math
import os
import sys
import time

import numpy as np

# first, from benchmarks/ (the script's own directory): it may load torch (see there)
from _timing import (
    add_contest_arguments,
    contest,
    cpu_line,
    machine_line,
    peak_rss_mb,
    peer_installed,
    print_contest_header,
    print_contestants,
    run_if_contestant,
    start_timed_work,
)

if "--check" in sys.argv:  # torch before skdeep, for the reason _timing gives
    import torch  # noqa: F401

from skdeep import ConvNetClassifier
from skdeep.datasets import find_cifar10
from skdeep.neural_network._convnet import _WHITENING_IMAGES, RECIPES

# the example is the one definition of the data as skdeep gets it
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from plot_cifar10_convnet import load_data  # noqa: E402

RECIPE_NAME = "cifar10-fast"
BUDGET_MINUTES = 20.0
PROBE_IMAGES = 4096
N_CHECK = 1_000  # training images the Solver scores after each epoch,
CHECK_BATCH = 100  # in batches of this many
PREDICT_BATCH = 500
BN_EPS = 1e-5  # skdeep's batchnorm eps (bn_param's default)
MOMENTUM = 0.9  # skdeep.nn.optim.sgd_momentum's default, which the classifier keeps
NO_DATA = ("CIFAR-10 not found: pass its directory, or set SKDEEP_DATA to the "
           "directory holding cifar-10-batches-py.")

# Settings the twin builds from, whatever their value (within the domains below).
TWIN_READS = {
    "num_filters", "filter_size", "pool_every", "pool_after", "activation",
    "whitening", "whitening_eps", "dirac_init", "freeze_norm_scale",
    "norm_shift_lr_scale", "bn_momentum", "pool_before_norm", "augment",
    "augment_pad", "augment_flip", "augment_border", "learning_rate", "lr_decay",
    "lr_schedule", "warmup_fraction", "nesterov", "label_smoothing",
    "weight_averaging", "test_flip", "test_time_views", "reg", "weight_scale",
    "batch_size",
}
# Settings whose value the twin assumes: any other stops the script.
TWIN_ASSUMES = dict(image_shape=None, hidden_dim=(), normalization="batchnorm",
                    update_rule="sgd_momentum", dropout_keep_ratio=1.0,
                    validation_fraction=0.0, early_stopping=False, warm_start=False,
                    class_weight=None, dtype="float32")
# Settings without effect here: no validation data, batchnorm only, the epochs set by
# the budget or --epochs for both contestants, the seed by --seed.
TWIN_IGNORES = {"num_groups", "monitor", "n_iter_no_change", "num_epochs", "random_state",
                "verbose"}
TWIN_DOMAINS = dict(activation=("relu", "gelu"), pool_after=("first", "last"),
                    augment_flip=("random", "alternating", None),
                    augment_border=("zeros", "reflect"),
                    lr_schedule=("constant", "linear", "cosine"),
                    test_time_views=(None, "flip", "flip+shift"))


def recipe_settings():
    """The classifier's every setting under the recipe, checked against the twin.

    Exits with a message naming what the twin does not implement.
    """
    recipe = RECIPES[RECIPE_NAME]
    settings = ConvNetClassifier(**recipe).get_params()
    problems = []
    # a classifier option the twin does not know is refused when the recipe sets
    # it; at its default it is taken to leave training as it was
    unknown = [name for name in set(settings) - TWIN_READS - set(TWIN_ASSUMES) - TWIN_IGNORES
               if name in recipe]
    if unknown:
        problems.append(f"options the twin does not implement: {sorted(unknown)}")
    for name, assumed in TWIN_ASSUMES.items():
        value = settings.get(name)
        if name == "hidden_dim":
            value = tuple(int(h) for h in np.atleast_1d(value) if h)
        if value != assumed:
            problems.append(f"{name}={settings.get(name)!r} (the twin assumes {assumed!r})")
    for name, domain in TWIN_DOMAINS.items():
        if settings[name] not in domain:
            problems.append(f"{name}={settings[name]!r} (the twin handles {domain})")
    if not (settings["weight_scale"] == "he" or isinstance(settings["weight_scale"], float)):
        problems.append(f"weight_scale={settings['weight_scale']!r}")
    if any(k % 2 == 0 for k in np.atleast_1d(settings["filter_size"])):
        problems.append(f"filter_size={settings['filter_size']!r} (odd sizes only)")
    if problems:
        sys.exit(f"RECIPES[{RECIPE_NAME!r}] sets what the PyTorch twin does not follow: "
                 + "; ".join(problems) + ". Update the twin in " + __file__ + ".")
    return settings


def load_images(args, n_train=None, n_test=None):
    """The example's standardized training and test rows."""
    n_train = args.n_train if n_train is None else n_train
    n_test = args.n_test if n_test is None else n_test
    X, y, X_test, y_test, _, _, dataset = load_data(args.cifar_dir, n_train, n_test)
    if dataset != "CIFAR-10":
        sys.exit(NO_DATA)
    return X, y, X_test, y_test


def epochs_in_budget(fit_one_epoch, X, y, args):
    """Whole epochs of ``len(X)`` images that fit in ``--budget-minutes``, from the
    time of one epoch on the first ``--probe-images``; and that epoch estimate."""
    n = min(args.probe_images, len(X))
    start = time.perf_counter()
    fit_one_epoch(X[:n], y[:n])
    per_epoch = (time.perf_counter() - start) * len(X) / n
    return max(1, int(args.budget_minutes * 60 // per_epoch)), per_epoch


def contest_record(fit_seconds, epochs, n_train, estimate, rss_before, fit_peak,
                   **scores):
    """The record a contestant prints: ``seconds`` per epoch (the contest's key)."""
    return {"seconds": fit_seconds / epochs, "fit_seconds": fit_seconds, "epochs": epochs,
            "images_per_s": epochs * n_train / fit_seconds, "epoch_estimate_s": estimate,
            "rss_before_mb": rss_before, "fit_peak_mb": fit_peak, **scores}


# ---- skdeep ------------------------------------------------------------------------

def run_skdeep(args):
    """The skdeep contestant: ``from_recipe`` fitted within the budget; a record."""
    X, y, X_test, y_test = load_images(args)

    def fit(X_fit, y_fit, epochs=1):
        return ConvNetClassifier.from_recipe(RECIPE_NAME, num_epochs=epochs,
                                             random_state=args.seed).fit(X_fit, y_fit)

    epochs, estimate = args.epochs, None
    if epochs is None:
        epochs, estimate = epochs_in_budget(fit, X, y, args)
    clf = ConvNetClassifier.from_recipe(RECIPE_NAME, num_epochs=epochs,
                                        random_state=args.seed, verbose=args.verbose)
    rss_before = start_timed_work()
    start = time.perf_counter()
    clf.fit(X, y)
    fit_seconds = time.perf_counter() - start
    fit_peak = peak_rss_mb()  # before scoring, which has peaks of its own
    start = time.perf_counter()
    views = float(clf.score(X_test, y_test))
    clf.set_params(test_time_views=None, test_flip=False)
    plain = float(clf.score(X_test, y_test))
    return contest_record(fit_seconds, epochs, len(X), estimate, rss_before, fit_peak,
                          accuracy_views=views, accuracy_plain=plain,
                          train_loss=clf.history_[-1]["train_loss"],
                          score_seconds=time.perf_counter() - start)


# ---- the PyTorch twin --------------------------------------------------------------

def whitening_filters(torch, images, eps):
    """The frozen 2x2 filters from ``images`` (N, C, H, W), skdeep's definition
    (see the module docstring): (C * 4, C, 2, 2), float64."""
    channels = images.shape[1]
    dim = channels * 4
    total = torch.zeros(dim, dtype=torch.float64)
    products = torch.zeros(dim, dim, dtype=torch.float64)
    count = 0
    for chunk in images.split(256):  # bounds the float64 patches in memory
        patches = torch.nn.functional.unfold(chunk.double(), 2)  # (n, C*2*2, L)
        patches = patches.transpose(1, 2).reshape(-1, dim)
        total += patches.sum(0)
        products += patches.T @ patches
        count += len(patches)
    mean = total / count
    eigenvalues, eigenvectors = torch.linalg.eigh(products / count - torch.outer(mean, mean))
    eigenvalues = eigenvalues.flip(0).clamp(min=0.0)
    vectors = eigenvectors.flip(1).T
    largest = vectors.abs().argmax(1)
    vectors = vectors * torch.sign(vectors[torch.arange(dim), largest])[:, None]
    return (vectors / torch.sqrt(eigenvalues + eps)[:, None]).reshape(dim, channels, 2, 2)


def pooled_layers(settings):
    """Whether a max pool follows each conv layer (skdeep's ``pool_every``, ``pool_after``)."""
    offset = 1 if settings["pool_after"] == "first" else 0
    return [(i - offset) % settings["pool_every"] == 0
            for i in range(1, len(np.atleast_1d(settings["num_filters"])) + 1)]


def make_twin_net(torch, settings, whitening=None, size=32, channels=3, n_classes=10):
    """The twin network (a ``torch.nn.Module``), initialized as skdeep initializes."""
    nn, F = torch.nn, torch.nn.functional
    filters = [int(f) for f in np.atleast_1d(settings["num_filters"])]
    sizes = np.broadcast_to(settings["filter_size"], len(filters)).tolist()

    class TwinNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.pools = pooled_layers(settings)
            self.pool_first = settings["pool_before_norm"]
            self.gelu = settings["activation"] == "gelu"
            self.bn_momentum = settings["bn_momentum"]
            self.register_buffer("W0", None if whitening is None else whitening.float())
            previous, side = (channels if whitening is None else len(whitening)), size
            self.convs = nn.ModuleList()
            self.betas, self.gammas = nn.ParameterList(), nn.ParameterList()
            for i, (f, k) in enumerate(zip(filters, sizes)):
                self.convs.append(nn.Conv2d(previous, f, k, padding=(k - 1) // 2))
                self.betas.append(nn.Parameter(torch.zeros(f)))
                if not settings["freeze_norm_scale"]:
                    self.gammas.append(nn.Parameter(torch.ones(f)))
                # skdeep's running statistics start at zero, both of them
                self.register_buffer(f"running_mean{i}", torch.zeros(f))
                self.register_buffer(f"running_var{i}", torch.zeros(f))
                previous, side = f, side // 2 if self.pools[i] else side
            self.fc = nn.Linear(previous * side * side, n_classes)

        def norm(self, x, i):
            gamma = self.gammas[i] if len(self.gammas) else None
            mean, var = getattr(self, f"running_mean{i}"), getattr(self, f"running_var{i}")
            if not self.training:
                return F.batch_norm(x, mean, var, gamma, self.betas[i], False, 0.0, BN_EPS)
            out, batch_mean, invstd = torch.native_batch_norm(
                x, gamma, self.betas[i], None, None, True, 0.0, BN_EPS)
            with torch.no_grad():  # skdeep's update: the biased variance, its momentum
                m = self.bn_momentum
                mean.mul_(m).add_(batch_mean, alpha=1 - m)
                var.mul_(m).add_(invstd.pow(-2) - BN_EPS, alpha=1 - m)
            return out

        def forward(self, x):
            if self.W0 is not None:
                x = F.conv2d(F.pad(x, (0, 1, 0, 1), mode="reflect"), self.W0.to(x.dtype))
            for i, conv in enumerate(self.convs):
                x = conv(x)
                if self.pools[i] and self.pool_first:
                    x = F.max_pool2d(x, 2)
                x = self.norm(x, i)
                x = F.gelu(x) if self.gelu else F.relu(x)
                if self.pools[i] and not self.pool_first:
                    x = F.max_pool2d(x, 2)
            return self.fc(x.flatten(1))

    net = TwinNet()
    init_twin_weights(torch, net, settings)
    return net


def init_twin_weights(torch, net, settings):
    """He (or ``weight_scale``) normal weights, zero biases, then dirac filters."""
    with torch.no_grad():
        for layer in [*net.convs, net.fc]:
            w = layer.weight
            scale = settings["weight_scale"]
            w.normal_(0.0, math.sqrt(2.0 / w[0].numel()) if scale == "he" else scale)
            layer.bias.zero_()
        if settings["dirac_init"]:
            for conv in net.convs:
                w = conv.weight
                n = min(w.shape[0], w.shape[1])
                w[:n] = 0
                w[torch.arange(n), torch.arange(n), w.shape[2] // 2, w.shape[3] // 2] = 1


class TwinOptimizer:
    """skdeep's SGD with momentum (CS231n's velocity form, see the module docstring),
    L2 folded into the penalized weights' gradients, a learning-rate scale per
    parameter."""

    def __init__(self, torch, net, settings):
        self.torch = torch
        self.reg = settings["reg"]
        self.nesterov = settings["nesterov"]
        penalized = {id(layer.weight) for layer in [*net.convs, net.fc]}
        shifts = {id(p) for p in net.betas}
        self.groups = [(p, torch.zeros_like(p), id(p) in penalized,
                        settings["norm_shift_lr_scale"] if id(p) in shifts else 1.0)
                       for p in net.parameters()]

    def penalty(self):
        """``0.5 * reg * sum(W**2)`` over the penalized weights, for the loss shown."""
        return 0.5 * self.reg * sum(float(p.detach().square().sum())
                                    for p, _, penalized, _ in self.groups if penalized)

    def step(self, rate):
        """One update of every parameter from its ``.grad`` at ``rate``."""
        with self.torch.no_grad():
            for p, velocity, penalized, scale in self.groups:
                lr = rate * scale
                g = p.grad.add(p, alpha=self.reg) if penalized and self.reg else p.grad
                velocity.mul_(MOMENTUM).sub_(g, alpha=lr)
                if self.nesterov:
                    p.sub_(g, alpha=lr).add_(velocity, alpha=MOMENTUM)
                else:
                    p.add_(velocity)
                p.grad = None


def schedule_factor(step, num_steps, warmup_steps, schedule):
    """The learning rate's factor at ``step`` (0-based), skdeep's schedule."""
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    if schedule == "constant":
        return 1.0
    progress = (step - warmup_steps) / max(1, num_steps - warmup_steps)
    return 0.5 * (1 + math.cos(math.pi * progress)) if schedule == "cosine" else 1 - progress


def flip_and_shift(torch, x, flips, shifts, pad, border):
    """Images ``x`` flipped where ``flips``, then shifted by ``shifts[i] = (dy, dx)``:
    output pixel (y, x) is pixel (y + dy, x + dx), reflected or zero outside."""
    x = torch.where(flips[:, None, None, None], x.flip(3), x)
    if pad == 0:
        return x
    n, c, h, w = x.shape
    padded = torch.nn.functional.pad(x, (pad,) * 4,
                                     mode="reflect" if border == "reflect" else "constant")
    rows = torch.arange(h)[None, :] + pad + shifts[:, :1]
    cols = torch.arange(w)[None, :] + pad + shifts[:, 1:]
    return padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None],
                  rows[:, None, :, None], cols[:, None, None, :]]


class WeightAverage:
    """skdeep's ``WeightAveraging``: an exponential average of the parameters, which
    starts as a copy of them after the first update."""

    def __init__(self, net, decay):
        self.params = list(net.parameters())
        self.average = None
        self.decay, self.count = decay, 0

    def update(self):
        if self.average is None:
            self.average = [p.detach().clone() for p in self.params]
        d = min(self.decay, (1 + self.count) / (10 + self.count))
        self.count += 1
        for avg, p in zip(self.average, self.params):
            avg.mul_(d).add_(p.detach(), alpha=1 - d)

    def swap(self):
        """Exchange the trained and the averaged values (call twice to undo)."""
        for avg, p in zip(self.average, self.params):
            trained = p.detach().clone()
            p.data.copy_(avg)
            avg.copy_(trained)


def as_images(torch, X):
    """Rows (channels last) as a float32 tensor (N, 3, 32, 32)."""
    return torch.from_numpy(np.ascontiguousarray(
        X.reshape(len(X), 32, 32, 3).transpose(0, 3, 1, 2), dtype=np.float32))


def view_scores(torch, net, x, views):
    """Test-mode scores of images ``x`` averaged over ``views`` (skdeep's weights)."""
    if views is None:
        return net(x)
    pair = lambda v: 0.5 * (net(v) + net(v.flip(3)))  # noqa: E731
    scores = pair(x)
    if views == "flip":
        return scores
    h, w = x.shape[2:]
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), mode="reflect")
    shifted = pair(padded[:, :, :h, :w]) + pair(padded[:, :, 2:, 2:])
    return 0.5 * scores + 0.25 * shifted


def twin_accuracy(torch, net, x, y, views, batch):
    """Fraction of ``x`` whose highest score (test mode, ``views``) is at ``y``."""
    net.eval()
    with torch.no_grad():
        right = sum(int((view_scores(torch, net, xb, views).argmax(1) == yb).sum())
                    for xb, yb in zip(x.split(batch), y.split(batch)))
    return right / len(x)


class TwinAugment:
    """The minibatches' flips and shifts (see the module docstring)."""

    def __init__(self, torch, settings, n, width, generator):
        self.torch, self.generator = torch, generator
        self.on, self.flip, self.border = (settings["augment"], settings["augment_flip"],
                                           settings["augment_border"])
        pad = settings["augment_pad"]
        self.pad = max(1, width // 8) if pad is None else pad
        self.first_flips = (torch.rand(n, generator=generator) < 0.5
                            if self.on and self.flip == "alternating" else None)

    def __call__(self, x, idx, epoch):
        if not self.on:
            return x
        torch, n = self.torch, len(idx)
        if self.flip == "alternating":
            flips = self.first_flips[idx] ^ bool(epoch % 2)
        elif self.flip == "random":
            flips = torch.rand(n, generator=self.generator) < 0.5
        else:
            flips = torch.zeros(n, dtype=torch.bool)
        shifts = torch.randint(-self.pad, self.pad + 1, (n, 2), generator=self.generator)
        return flip_and_shift(torch, x, flips, shifts, self.pad, self.border)


def new_twin(torch, X, settings, generator):
    """The twin for images ``X``: its whitening layer from a sample of them."""
    whitening = None
    if settings["whitening"]:
        sample = torch.randperm(len(X), generator=generator)[:_WHITENING_IMAGES]
        whitening = whitening_filters(torch, X[sample.sort().values],
                                      settings["whitening_eps"])
    return make_twin_net(torch, settings, whitening)


def fit_twin(torch, X_rows, y_rows, settings, epochs, seed, verbose=0):
    """Train the twin on rows ``X_rows`` for ``epochs``, as skdeep's ``fit`` would;
    the net and its last epoch's mean training loss (with the L2 penalty)."""
    generator = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    X, y = as_images(torch, X_rows), torch.from_numpy(y_rows.astype(np.int64))
    n = len(X)
    net = new_twin(torch, X, settings, generator)
    optimizer = TwinOptimizer(torch, net, settings)
    average = (None if settings["weight_averaging"] is None
               else WeightAverage(net, settings["weight_averaging"]))
    augment = TwinAugment(torch, settings, n, X.shape[3], generator)
    steps_per_epoch = math.ceil(n / min(settings["batch_size"], n))
    bounds = np.arange(steps_per_epoch + 1) * n // steps_per_epoch
    num_steps = epochs * steps_per_epoch
    warmup = int(round(settings["warmup_fraction"] * num_steps))
    for epoch in range(epochs):
        net.train()
        order, losses = torch.randperm(n, generator=generator), []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            idx, step = order[start:stop], len(losses) + epoch * steps_per_epoch
            rate = (settings["learning_rate"] * settings["lr_decay"] ** epoch
                    * schedule_factor(step, num_steps, warmup, settings["lr_schedule"]))
            loss = torch.nn.functional.cross_entropy(
                net(augment(X[idx], idx, epoch)), y[idx],
                label_smoothing=settings["label_smoothing"])
            loss.backward()
            losses.append(float(loss.detach()) + optimizer.penalty())
            if not math.isfinite(losses[-1]):
                raise FloatingPointError(f"the twin diverged at step {step} (rate {rate:g})")
            optimizer.step(rate)
            if average is not None:
                average.update()
        train_acc = epoch_check(torch, net, X, y, settings, average, generator,
                                last=epoch + 1 == epochs)
        if verbose:
            print(f"(Epoch {epoch + 1} / {epochs}) train acc: {train_acc:f}; "
                  f"loss: {np.mean(losses):f}", flush=True)
    return net, float(np.mean(losses))


def epoch_check(torch, net, X, y, settings, average, generator, last):
    """The Solver's end-of-epoch accuracy of ``N_CHECK`` training images, with the
    averaged weights if any (which the net keeps after the ``last`` epoch)."""
    if average is not None:
        average.swap()
    check = torch.randperm(len(X), generator=generator)[:N_CHECK].sort().values
    accuracy = twin_accuracy(torch, net, X[check], y[check],
                             "flip" if settings["test_flip"] else None, CHECK_BATCH)
    if average is not None and not last:
        average.swap()  # training goes on from the trained weights
    return accuracy


def run_torch(args):
    """The PyTorch contestant: the twin trained within the budget; a record."""
    import torch

    settings = recipe_settings()
    if "OMP_NUM_THREADS" not in os.environ:
        torch.set_num_threads(os.cpu_count())
    X, y, X_test, y_test = load_images(args)

    def fit(X_fit, y_fit, epochs=1):
        return fit_twin(torch, X_fit, y_fit, settings, epochs, args.seed)

    epochs, estimate = args.epochs, None
    if epochs is None:
        epochs, estimate = epochs_in_budget(fit, X, y, args)
    rss_before = start_timed_work()
    start = time.perf_counter()
    net, train_loss = fit_twin(torch, X, y, settings, epochs, args.seed, args.verbose)
    fit_seconds = time.perf_counter() - start
    fit_peak = peak_rss_mb()
    start = time.perf_counter()
    images, labels = as_images(torch, X_test), torch.from_numpy(y_test.astype(np.int64))
    views = settings["test_time_views"] or ("flip" if settings["test_flip"] else None)
    accuracy_views = twin_accuracy(torch, net, images, labels, views, PREDICT_BATCH)
    accuracy_plain = twin_accuracy(torch, net, images, labels, None, PREDICT_BATCH)
    return contest_record(fit_seconds, epochs, len(X), estimate, rss_before, fit_peak,
                          accuracy_views=accuracy_views, accuracy_plain=accuracy_plain,
                          train_loss=train_loss, score_seconds=time.perf_counter() - start)

# ---- --check: the twin against skdeep's own model ------------------------------------

CHECK_IMAGES = 1024  # skdeep's model for the check: one epoch (two steps) on these
CHECK_BATCH_IMAGES = 256  # the batch the passes are compared on


def twin_from_model(torch, model, settings):
    """A twin holding the parameters, running statistics and whitening filters of
    skdeep's ``model``; and ``(name, twin tensor, skdeep array -> tensor)`` per
    parameter of ``model.params``."""
    W0 = model.frozen_params.get("W0")
    net = make_twin_net(torch, settings,
                        None if W0 is None else torch.from_numpy(W0.astype(np.float64)))
    pairs = []
    L = model.num_layers
    for i, conv in enumerate(net.convs, start=1):
        pairs += [(f"W{i}", conv.weight), (f"b{i}", conv.bias), (f"beta{i}", net.betas[i - 1])]
        if len(net.gammas):
            pairs.append((f"gamma{i}", net.gammas[i - 1]))
    pairs += [(f"W{L}", net.fc.weight), (f"b{L}", net.fc.bias)]
    to_twin = {f"W{L}": lambda a: torch.from_numpy(np.ascontiguousarray(a.T))}
    pairs = [(name, t, to_twin.get(name, torch.from_numpy)) for name, t in pairs]
    if {name for name, _, _ in pairs} != set(model.params):
        raise AssertionError(f"the twin's parameters {[n for n, _, _ in pairs]} are not "
                             f"skdeep's {sorted(model.params)}")
    with torch.no_grad():
        for name, tensor, convert in pairs:
            tensor.copy_(convert(model.params[name]))
        for i, bn in enumerate(model.bn_params):
            getattr(net, f"running_mean{i}").copy_(torch.from_numpy(bn["running_mean"]))
            getattr(net, f"running_var{i}").copy_(torch.from_numpy(bn["running_var"]))
    return net, pairs


def relative_error(ours, theirs, scale=None):
    """``max |ours - theirs|`` over ``max |ours|`` (or over ``scale``)."""
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    scale = np.max(np.abs(ours)) if scale is None else scale
    return float(np.max(np.abs(ours - theirs)) / max(scale, 1e-300))


def check_scores(torch, model, settings, images):
    """Test-mode scores: float32, and float64 with the flip+shift views."""
    net, _ = twin_from_model(torch, model, settings)
    x = torch.from_numpy(images)
    model = copy.deepcopy(model)
    model.test_time_views, model.test_flip = None, False
    net.eval()
    with torch.no_grad():
        rows = [("scores, test mode, float32", relative_error(
            model.loss(images), net(x).numpy()), 1e-4)]
        model64 = model.astype(np.float64)
        model64.test_time_views = "flip+shift"
        views = view_scores(torch, copy.deepcopy(net).double(), x.double(), "flip+shift")
        rows.append(("scores, flip+shift views, float64", relative_error(
            model64.loss(images.astype(np.float64)), views.numpy()), 1e-10))
        rows.append(("scores, flip+shift views, float32", relative_error(
            model64.loss(images.astype(np.float64)),
            view_scores(torch, net, x, "flip+shift").numpy()), 1e-4))
    return rows


def training_pass(torch, model, settings, images, labels, dtype):
    """One training-mode pass of skdeep's ``model`` and of its twin, in ``dtype``:
    for each, the loss with its L2 penalty, the gradients by skdeep's names (the
    twin's with ``reg * W`` added, as its update adds it) and the running
    statistics after the pass."""
    net, pairs = twin_from_model(torch, model, settings)
    model = copy.deepcopy(model).astype(dtype)
    loss, grads = model.loss(images.astype(dtype), labels)
    stats = [bn[k] for bn in model.bn_params for k in ("running_mean", "running_var")]
    net = net.to(torch.float64 if dtype == np.float64 else torch.float32).train()
    twin_loss = torch.nn.functional.cross_entropy(
        net(torch.from_numpy(images.astype(dtype))), torch.from_numpy(labels.astype(np.int64)),
        label_smoothing=settings["label_smoothing"])
    twin_loss.backward()
    optimizer = TwinOptimizer(torch, net, settings)
    penalized = {id(p) for p, _, is_penalized, _ in optimizer.groups if is_penalized}
    twin_grads = {}
    for name, tensor, convert in pairs:
        g = tensor.grad + (settings["reg"] * tensor.detach() if id(tensor) in penalized else 0)
        # back to skdeep's layout (the affine weight is transposed)
        twin_grads[name] = g.numpy().T if name == f"W{model.num_layers}" else g.numpy()
    twin_stats = [getattr(net, f"{k}{i}").numpy() for i in range(len(model.bn_params))
                  for k in ("running_mean", "running_var")]
    return ((loss, grads, stats),
            (float(twin_loss.detach()) + optimizer.penalty(), twin_grads, twin_stats))


def check_passes(torch, model, settings, images, labels):
    """One training-mode pass in float64 (loss, gradients, running statistics:
    the definitions) and in float32 (loss and running statistics; the gradients'
    float32 errors against the float64 gradients are shown, both sides')."""
    rows, notes = [], []
    (loss, grads, stats), (twin_loss, twin_grads, twin_stats) = training_pass(
        torch, model, settings, images, labels, np.float64)
    largest = max(np.max(np.abs(g)) for g in grads.values())
    rows.append(("training loss + L2, float64", relative_error(loss, twin_loss), 1e-12))
    for name in grads:
        # conv biases before batchnorm: gradients of rounding noise only, so measured
        # against a thousandth of the largest gradient
        scale = max(np.max(np.abs(grads[name])), 1e-3 * largest)
        rows.append((f"gradient {name}, float64", relative_error(
            grads[name], twin_grads[name], scale), 1e-9))
    rows.append(("running statistics after it, float64", max(
        relative_error(a, b) for a, b in zip(stats, twin_stats)), 1e-12))
    (loss32, grads32, stats32), (twin_loss32, twin_grads32, twin_stats32) = training_pass(
        torch, model, settings, images, labels, np.float32)
    rows.append(("training loss + L2, float32", relative_error(loss32, twin_loss32), 1e-5))
    rows.append(("running statistics after it, float32", max(
        relative_error(a, b) for a, b in zip(stats32, twin_stats32)), 1e-5))
    for name in grads:
        if not name.startswith("b") or name.startswith("beta"):
            notes.append(f"{name} {relative_error(grads[name], grads32[name]):.1e} "
                         f"{relative_error(grads[name], twin_grads32[name]):.1e}")
    return rows, grads32, notes


def check_steps(torch, model, settings, grads):
    """Two updates (rates 0.05, then 0.02) from skdeep's gradients, skdeep's rule
    (as its Solver calls it) against the twin's; rows as in :func:`check_passes`."""
    from skdeep.nn import optim

    net, pairs = twin_from_model(torch, model, settings)
    optimizer = TwinOptimizer(torch, net, settings)
    params = {k: v.copy() for k, v in model.params.items()}
    configs = {k: {"learning_rate": settings["learning_rate"],
                   "nesterov": settings["nesterov"]} for k in params}
    for name, scale in model.lr_scales.items():  # as the Solver does
        configs[name]["lr_scale"] = scale
    rule = optim._PENALIZED_RULES[optim.sgd_momentum]
    penalized = {f"W{i}" for i in range(1, model.num_layers + 1)}
    for rate in (0.05, 0.02):
        for name, w in params.items():
            configs[name]["learning_rate"] = rate * configs[name].get("lr_scale", 1.0)
            rule(w, grads[name], configs[name], w,
                 model.reg if name in penalized else 0.0)
        for name, tensor, convert in pairs:
            tensor.grad = convert(grads[name]).clone()
        optimizer.step(rate)
    return [(f"after two steps {name}", relative_error(
        convert(params[name]).numpy(), tensor.detach().numpy()), 1e-5)
        for name, tensor, convert in pairs]


def check_pieces(torch, settings, images):
    """The schedule, the augmentation's crops and the whitening filters."""
    from skdeep.nn.callbacks import _reflected_crops, _schedule_factor, _zero_filled_crops

    rows = []
    worst = 0.0
    for num_steps in (7, 98, 98 * 13):
        warmup = int(round(settings["warmup_fraction"] * num_steps))
        for schedule in ("constant", "linear", "cosine"):
            worst = max(worst, max(abs(schedule_factor(t, num_steps, warmup, schedule)
                                       - _schedule_factor(t, num_steps, warmup, schedule))
                                   for t in range(num_steps)))
    rows.append(("learning-rate schedule factors", worst, 0.0))
    rng = np.random.default_rng(0)
    pad = settings["augment_pad"] or 4
    flips = rng.random(len(images)) < 0.5
    shifts = rng.integers(-pad, pad + 1, size=(len(images), 2))
    for border, crops in (("reflect", _reflected_crops), ("zeros", _zero_filled_crops)):
        args = (images, flips, shifts, pad) if border == "reflect" else (images, flips, shifts)
        ours = crops(*args, out=np.empty_like(images))
        twin = flip_and_shift(torch, torch.from_numpy(images), torch.from_numpy(flips),
                              torch.from_numpy(shifts), pad, border).numpy()
        rows.append((f"flips and shifts, {border} border", relative_error(ours, twin), 0.0))
    return rows


def run_check(args):
    """``--check``: the comparisons of the module docstring; the exit status."""
    import torch

    settings = recipe_settings()
    X, y, _, _ = load_images(args, n_train=CHECK_IMAGES, n_test=1)
    clf = ConvNetClassifier.from_recipe(RECIPE_NAME, num_epochs=1, random_state=args.seed)
    clf.fit(X, y)
    model = clf.model_
    images = as_images(torch, X[:CHECK_BATCH_IMAGES]).numpy()
    labels = np.searchsorted(clf.classes_, y[:CHECK_BATCH_IMAGES])
    rows = check_scores(torch, model, settings, images)
    passes, grads, notes = check_passes(torch, model, settings, images, labels)
    rows += passes + check_steps(torch, model, settings, grads)
    rows += check_pieces(torch, settings, images)
    if "W0" in model.frozen_params:  # skdeep took all the images (fewer than its sample)
        twin = whitening_filters(torch, as_images(torch, X), settings["whitening_eps"])
        rows.append(("whitening filters", relative_error(
            model.frozen_params["W0"], twin.float().numpy()), 1e-5))
    print(f"The PyTorch twin against skdeep's model of RECIPES[{RECIPE_NAME!r}] after one "
          f"epoch on {CHECK_IMAGES} CIFAR-10 images (its weights, running statistics "
          f"and whitening filters copied), on a batch of {CHECK_BATCH_IMAGES}; error: "
          f"max |difference| / max |skdeep's value|")
    failed = 0
    for what, error, tolerance in rows:
        ok = error <= tolerance
        failed += not ok
        print(f"  {what:40} {error:10.2e}  {'ok' if ok else 'DIFFERS'} (tolerance "
              f"{tolerance:g})")
    print(f"{len(rows) - failed} of {len(rows)} comparisons within tolerance")
    print("float32 gradients' error against the float64 gradient of the same weights "
          "(max |difference| / max |float64 gradient|), skdeep's then the twin's: "
          + ", ".join(notes))
    return 1 if failed else 0


# ---- the referee -------------------------------------------------------------------

def print_results(records, n_train, n_test, views):
    """The contest's table and the contestants' threads and memory."""
    print(f"\n{'':10}{'epochs':>7}{'fit time':>11}{'images/s':>10}{'last loss':>10}"
          f"{'acc ' + str(views):>18}{'acc plain':>11}{'peak MB':>9}{'training':>9}")
    for name, r in records.items():
        print(f"{name:10}{r['epochs']:7d}{r['fit_seconds'] / 60:7.1f} min"
              f"{r['images_per_s']:10.0f}{r['train_loss']:10.4f}{r['accuracy_views']:18.4f}"
              f"{r['accuracy_plain']:11.4f}{r['peak_rss_mb']:9.0f}{r['fit_peak_mb']:9.0f}")
        if r["epoch_estimate_s"] is not None:
            print(f"{'':10}(one epoch estimated at {r['epoch_estimate_s']:.0f} s from the "
                  f"probe; scoring took {r['score_seconds']:.0f} s, not timed)")
    print(f"{n_train} training images, accuracy on {n_test} test images; images/s: "
          f"epochs x training images / fit time; last loss: the last epoch's mean "
          f"training loss (label-smoothed, with the L2 penalty); peak MB: the "
          f"contestant's whole process (data, probe and scoring included); training: "
          f"its peak from the start to the end of the timed fit (data and libraries "
          f"resident)")
    print_contestants(records, width=10)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (or its parent)")
    parser.add_argument("--budget-minutes", type=float, default=BUDGET_MINUTES,
                        help=f"fit budget of each contestant (default {BUDGET_MINUTES:g})")
    parser.add_argument("--epochs", type=int, default=None,
                        help="train this many epochs (both), instead of a budget")
    parser.add_argument("--probe-images", type=int, default=PROBE_IMAGES,
                        help=f"images of the one-epoch probe of the budget "
                             f"(default {PROBE_IMAGES})")
    parser.add_argument("--n-train", type=int, default=None,
                        help="train on the first N training images only")
    parser.add_argument("--n-test", type=int, default=None,
                        help="score the first N test images only")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--verbose", type=int, default=0, help="1: a line per epoch")
    parser.add_argument("--skip-torch", action="store_true")
    parser.add_argument("--skip-skdeep", action="store_true",
                        help="the twin alone (skdeep's figure from the example's run)")
    parser.add_argument("--check", action="store_true",
                        help="compare the twin with skdeep's model, then exit")
    add_contest_arguments(parser, rounds=1)
    args = parser.parse_args()
    if args.epochs is not None and args.epochs < 1:
        parser.error(f"--epochs must be at least 1, got {args.epochs}.")
    if args.budget_minutes <= 0 or args.probe_images < 1:
        parser.error("--budget-minutes and --probe-images must be positive.")
    for name in ("n_train", "n_test"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1.")
    if args.n_train is not None and args.n_train < N_CHECK:
        parser.error(f"--n-train must be at least {N_CHECK} (the per-epoch check).")
    return args


def main():
    args = parse_args()
    settings = recipe_settings()
    if args.check:
        sys.exit(run_check(args))
    run_if_contestant(args, {"skdeep": run_skdeep, "PyTorch": run_torch})
    if find_cifar10(args.cifar_dir) is None:
        sys.exit(NO_DATA)
    budget = (f"{args.epochs} epoch(s) each" if args.epochs is not None else
              f"as many epochs as fit in {args.budget_minutes:g} minutes of fit each")
    print(f"CIFAR-10: ConvNetClassifier.from_recipe({RECIPE_NAME!r}) beside its PyTorch "
          f"twin, conv {'-'.join(map(str, np.atleast_1d(settings['num_filters'])))}, "
          f"batch {settings['batch_size']}, {budget}")
    print_contest_header(args.rounds)
    print("(round lines: seconds per epoch)")
    names = [] if args.skip_skdeep else ["skdeep"]
    if not args.skip_torch and peer_installed("torch", "PyTorch"):
        names.append("PyTorch")
    if not names:
        sys.exit("--skip-skdeep and --skip-torch (or no torch) leave no contestant.")
    records = contest(names, args.rounds)
    first = records[names[0]]
    n_train = first["images_per_s"] * first["fit_seconds"] / first["epochs"]
    print_results(records, round(n_train), args.n_test or 10_000,
                  settings["test_time_views"] or ("flip" if settings["test_flip"] else None))
    print(cpu_line())
    print(machine_line("the end"))


if __name__ == "__main__":
    main()
