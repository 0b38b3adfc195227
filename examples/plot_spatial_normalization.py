"""
Spatial batchnorm and group norm in a convnet, across batch sizes.
==================================================================

The convolutional sequel of ``plot_normalization.py``, as the CS231n notebooks
pose it: a small convnet (two 3x3 conv layers of 16 and 32 filters, each followed
by a 2x2 max pool, and a hidden layer of 64) learns 2,000 images without
normalization, with spatial batchnorm and with spatial group norm (4 groups), at
minibatches of 4, 16 and 64.  Batchnorm normalizes each channel over the
minibatch, so its statistics are noisy on small minibatches, and at test time it
uses running averages that differ from what it trained with; group norm
normalizes each image over groups of channels and behaves the same at any batch
size.

    python examples/plot_spatial_normalization.py [CIFAR_DIR] [--out spatial_norm.png]

Networks are :class:`skdeep.ConvNetClassifier` trained with Adam for 5 epochs; 500
more images validate.  Runs on CIFAR-10 when it is found (the directory given, or
``$SKDEEP_DATA``), else on scikit-learn's digits.  A few minutes.
"""
from skdeep import ConvNetClassifier

from _example_common import load_images, parse_args, pyplot, save_figure

N_TRAIN, N_VAL = 2000, 500
BATCH_SIZES = (4, 16, 64)
NORMALIZATIONS = (None, "batchnorm", "groupnorm")


def main():
    args = parse_args(__doc__, "spatial_norm.png")
    X, y, dataset = load_images(N_TRAIN + N_VAL, args.cifar_dir)
    print(f"{dataset}: {min(len(X), N_TRAIN + N_VAL)} images, a fifth to validate")
    runs = {}
    for normalization in NORMALIZATIONS:
        label = normalization or "no normalization"
        runs[label] = {}
        for batch_size in BATCH_SIZES:
            clf = ConvNetClassifier(num_filters=(16, 32), filter_size=3, hidden_dim=64,
                                    normalization=normalization, num_groups=4,
                                    learning_rate=1e-3, batch_size=batch_size,
                                    num_epochs=5, validation_fraction=0.2,
                                    random_state=0)
            clf.fit(X, y)
            runs[label][f"batch {batch_size}"] = clf
            print(f"{label:>16}, batch {batch_size:2d}: best validation accuracy "
                  f"{clf.best_val_acc_:.3f}")

    plt = pyplot()
    if plt is None:
        return
    from skdeep.plotting import plot_history

    fig, axes = plt.subplots(len(runs), 3, figsize=(15, 4 * len(runs)),
                             layout="constrained")
    for row, (label, by_batch) in zip(axes, runs.items()):
        plot_history(by_batch, axes=row)
        for ax in row:
            ax.set_title(f"{ax.get_title()}, {label}")
    fig.suptitle(f"Spatial normalization by batch size, small convnet on {dataset}")
    save_figure(fig, args.out)


if __name__ == "__main__":
    main()
