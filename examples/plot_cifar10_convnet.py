"""
A CIFAR-10 record on two CPU cores: the ``cifar10-fast`` recipe.
=================================================================

:meth:`skdeep.ConvNetClassifier.from_recipe` ``("cifar10-fast")`` is the net and the
training recipe of the public CIFAR-10 speed records (airbench, after Page's "How to
train your ResNet"), narrowed to fit two CPU cores: a frozen 2x2 "whitening"
convolution computed from the training images' patches, three blocks of
``conv - pool - batchnorm - relu - conv - batchnorm - relu`` (identity-initialized
first channels, batchnorm scales frozen at 1 and shifts trained at a larger learning
rate, fast running statistics), Nesterov SGD over large batches under a warm-up and a
linear decay, label smoothing, alternating flips and reflected 2-pixel shifts, and
flipped and shifted test-time views.  Every trick is a :class:`skdeep.ConvNetClassifier`
parameter; ``docs/neural_network.md`` measures what each one is worth.  The script
prints the fit time, the images per second, the accuracy on the 10,000 test images
with and without the test-time views, and the CPU, and draws the loss and accuracy
curves, the first learned layer's filters (:func:`skdeep.plotting.plot_conv_filters`)
and the confusion matrix.

    python examples/plot_cifar10_convnet.py [CIFAR_DIR] [--epochs N]
        [--budget-minutes M] [--n-train N] [--n-test N] [--out cifar10_convnet.png]

By default it trains the recipe's ``num_epochs``, the count that fits in 20 minutes
on two cores of the machines we measured;
``--budget-minutes`` times one epoch on 2,000 images first and trains as many epochs
as fit in the budget instead (at least one); ``--n-train`` and ``--n-test`` use the
first N training or test images only, for a quick look.  Without CIFAR-10 (the
directory given, or ``$SKDEEP_DATA``) it runs a small net on scikit-learn's 8x8
digits in well under a minute: the recipe's three pooling blocks need larger images.
"""
import argparse
import os
import platform
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.metrics import confusion_matrix
from sklearn.model_selection import train_test_split

from skdeep import ConvNetClassifier
from skdeep.datasets import find_cifar10, load_cifar10

from _example_common import CIFAR10_CLASSES, pyplot, save_figure, title_line

# The recipe, by name: ConvNetClassifier.from_recipe(CIFAR_RECIPE) (see RECIPES).
CIFAR_RECIPE = "cifar10-fast"
# A smaller net of the same kind for the 8x8 digits, whose mirror images are
# other digits: no flips.
DIGITS_NET = dict(
    num_filters=(16, 32),
    filter_size=3,
    pool_every=1,
    hidden_dim=(),
    normalization="batchnorm",
    update_rule="sgd_momentum",
    nesterov=True,
    learning_rate=0.05,
    lr_schedule="linear",
    warmup_fraction=0.2,
    label_smoothing=0.1,
    reg=5e-4,
    batch_size=64,
    validation_fraction=0.0,
)


def parse_args():
    parser = argparse.ArgumentParser(description=title_line(__doc__))
    parser.add_argument("cifar_dir", nargs="?", default=None,
                        help="cifar-10-batches-py directory (or its parent)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="passes over the training images (default: the recipe's)")
    parser.add_argument("--budget-minutes", type=float, default=None,
                        help="train as many epochs as fit in this many minutes")
    parser.add_argument("--n-train", type=int, default=None,
                        help="train on the first N training images only")
    parser.add_argument("--n-test", type=int, default=None,
                        help="measure the accuracy on the first N test images only")
    parser.add_argument("--out", default="cifar10_convnet.png", help="figure file")
    return parser.parse_args()


def load_data(cifar_dir, n_train, n_test):
    """Training and test rows, class names, the net's parameters and the data's name."""
    path = find_cifar10(cifar_dir)
    if path is None:
        X, y = load_digits(return_X_y=True)
        X_train, X_test, y_train, y_test = train_test_split(
            X / 16, y, test_size=0.25, random_state=0)
        return (X_train[:n_train], y_train[:n_train], X_test[:n_test],
                y_test[:n_test], [str(d) for d in range(10)], DIGITS_NET,
                "digits (CIFAR-10 not found)")
    X_train, y_train, X_test, y_test = load_cifar10(path)
    X_train = X_train[:n_train].reshape(len(X_train[:n_train]), -1).astype(np.float32)
    X_test = X_test[:n_test].reshape(len(X_test[:n_test]), -1).astype(np.float32)
    # per-channel standardization, the usual input of batchnorm nets
    pixels = X_train.reshape(-1, 3)
    mean, std = pixels.mean(axis=0), pixels.std(axis=0)
    X_train = ((X_train.reshape(-1, 3) - mean) / std).reshape(X_train.shape)
    X_test = ((X_test.reshape(-1, 3) - mean) / std).reshape(X_test.shape)
    return (X_train, y_train[:n_train], X_test, y_test[:n_test], CIFAR10_CLASSES,
            CIFAR_RECIPE, "CIFAR-10")


def make_net(net, **params):
    """The classifier of ``net``: a recipe's name, or ConvNetClassifier's parameters."""
    if isinstance(net, str):
        return ConvNetClassifier.from_recipe(net, **params)
    return ConvNetClassifier(**net, **params)


def cpu_model():
    """The processor's model name, as /proc/cpuinfo gives it (else the platform's)."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} CPUs"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"


def epochs_in_budget(net, X, y, minutes):
    """Epochs of ``len(X)`` images that fit in ``minutes``, timed on 2,000 images."""
    n = min(2000, len(X))
    start = time.perf_counter()
    make_net(net, num_epochs=1, random_state=0).fit(X[:n], y[:n])
    per_epoch = (time.perf_counter() - start) * len(X) / n
    epochs = max(1, int(minutes * 60 // per_epoch))
    print(f"one epoch takes about {per_epoch / 60:.1f} min: {epochs} epochs fit in "
          f"{minutes:g} min")
    return epochs


def main():
    args = parse_args()
    X_train, y_train, X_test, y_test, names, net, dataset = load_data(
        args.cifar_dir, args.n_train, args.n_test)
    epochs = args.epochs or make_net(net).num_epochs
    if args.budget_minutes is not None:
        epochs = epochs_in_budget(net, X_train, y_train, args.budget_minutes)
    print(f"{dataset}: {len(X_train)} training and {len(X_test)} test images, "
          f"{epochs} epochs")

    clf = make_net(net, num_epochs=epochs, random_state=0, verbose=1)
    start = time.perf_counter()
    clf.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    y_pred = clf.predict(X_test)
    accuracy = float(np.mean(y_pred == y_test))
    print(f"fit time {fit_seconds / 60:.1f} min ({fit_seconds:.0f} s, "
          f"{len(X_train) * epochs / fit_seconds:.0f} images/s)")
    views = clf.test_time_views
    if views is not None:
        plain = float(np.mean(clf.set_params(test_time_views=None).predict(X_test) == y_test))
        clf.set_params(test_time_views=views)
        print(f"test accuracy {accuracy:.4f} with the {views} views, {plain:.4f} "
              f"without, on {len(X_test)} images")
    else:
        print(f"test accuracy {accuracy:.4f} on {len(X_test)} images")
    print(f"CPU: {cpu_model()}")

    plt = pyplot()
    if plt is None:
        return
    from skdeep.plotting import plot_conv_filters

    fig, axes = plt.subplots(2, 2, figsize=(12, 10), layout="constrained")
    loss_ax, acc_ax, filter_ax, cm_ax = axes.ravel()
    losses = np.asarray(clf.loss_history_)
    per_epoch = len(losses) // epochs
    loss_ax.plot(np.arange(len(losses)) / per_epoch, losses, lw=0.5, alpha=0.5)
    window = max(1, per_epoch // 10)
    loss_ax.plot((np.arange(len(losses) - window + 1) + window / 2) / per_epoch,
                 np.convolve(losses, np.ones(window) / window, mode="valid"))
    loss_ax.set(xlabel="epoch", ylabel="training loss (label-smoothed)",
                title="Training loss per minibatch")
    acc_ax.plot(np.arange(1, epochs + 1), clf.train_acc_history_, "o-",
                label="training (1,000 images, no augmentation)")
    acc_ax.axhline(accuracy, color="C1", ls="--", label=f"test, final: {accuracy:.3f}")
    acc_ax.set(xlabel="epoch", ylabel="accuracy", title="Accuracy")
    acc_ax.legend()
    plot_conv_filters(clf, ax=filter_ax)
    cm = confusion_matrix(y_test, y_pred)
    cm_ax.imshow(cm, cmap="Blues")
    cm_ax.set_xticks(range(len(names)), names, rotation=45)
    cm_ax.set_yticks(range(len(names)), names)
    for (i, j), count in np.ndenumerate(cm):
        cm_ax.text(j, i, count, ha="center", va="center", fontsize=7,
                   color="white" if count > cm.max() / 2 else "black")
    cm_ax.set(xlabel="predicted", ylabel="true", title="Confusion matrix (test)")
    fig.suptitle(f"ConvNetClassifier on {dataset}: test accuracy "
                 f"{accuracy:.3f} after {fit_seconds / 60:.1f} min of fit")
    save_figure(fig, args.out)


if __name__ == "__main__":
    main()
