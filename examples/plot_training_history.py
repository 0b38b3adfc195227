"""
Watching and steering training: history, early stopping and a checkpoint.
=========================================================================

A fully connected network learns 1,200 of scikit-learn's 8x8 digits and is
validated, after each epoch, on the other 597 (given to ``fit`` as ``X_val`` and
``y_val``, instead of a held-out share of the training rows).  Two callbacks of
:mod:`skdeep.callbacks` steer the run: :class:`~skdeep.callbacks.EarlyStopping`
ends it once the validation loss has not improved for five epochs, and
:class:`~skdeep.callbacks.Checkpoint` keeps the best epoch's network in a file,
written atomically, from which it is loaded again at the end.
:func:`skdeep.plotting.plot_history` then draws the network's ``history_``:
training and validation loss, accuracies and learning rate, per epoch.

    python examples/plot_training_history.py [--out training_history.png]

Set ``sklearn.callback.ProgressBar()`` beside the two callbacks for a bar of the
epochs (it needs ``rich``).  A few seconds.
"""
import argparse
import os
import tempfile

import joblib
from sklearn.datasets import load_digits

from skdeep import MLPClassifier
from skdeep.callbacks import Checkpoint, EarlyStopping

from _example_common import pyplot, save_figure, title_line


def main():
    parser = argparse.ArgumentParser(description=title_line(__doc__))
    parser.add_argument("--out", default="training_history.png", help="figure file")
    args = parser.parse_args()

    X, y = load_digits(return_X_y=True)
    X = X / 16
    X_train, y_train, X_val, y_val = X[:1200], y[:1200], X[1200:], y[1200:]

    with tempfile.TemporaryDirectory() as scratch:
        path = os.path.join(scratch, "mlp.joblib")
        clf = MLPClassifier(hidden_layer_sizes=(128,), learning_rate=3e-3, lr_decay=0.95,
                            batch_size=100, num_epochs=100, random_state=0)
        clf.set_callbacks(EarlyStopping(monitor="val_loss", patience=5),
                          Checkpoint(path, save="best"))
        clf.fit(X_train, y_train, X_val=X_val, y_val=y_val)
        saved = joblib.load(path)

    # the epoch fit keeps (monitor='val_loss'): the lowest validation loss, the
    # later of equal ones
    best = min(clf.history_, key=lambda row: (row["val_loss"], -row["epoch"]))
    print(f"stopped after {clf.n_iter_} of {clf.num_epochs} epochs; lowest validation "
          f"loss {best['val_loss']:.4f} at epoch {best['epoch']} (validation accuracy "
          f"{best['val_accuracy']:.3f})")
    # once fit has ended, the file holds the fitted network: that epoch's
    print(f"network in the checkpoint file: validation loss {saved.best_val_loss_:.4f}, "
          f"accuracy {saved.score(X_val, y_val):.3f}")

    if pyplot() is None:
        return
    from skdeep.plotting import plot_history

    axes = plot_history(clf.history_, title="MLPClassifier on the digits")
    save_figure(axes[0].figure, args.out)


if __name__ == "__main__":
    main()
