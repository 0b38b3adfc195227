"""
Batch and layer normalization: robustness to weight scale and to batch size.
============================================================================

Two CS231n experiments on 1,000 training images, validated on 1,000 others:

1. Eight-layer networks (seven hidden layers of 50 units) with and without
   batchnorm, for 20 initial weight scales from 1e-4 to 1.  Without normalization
   only a narrow band of scales trains: smaller ones make the signal vanish layer
   after layer, larger ones make it explode (the final loss grows by orders of
   magnitude; a run whose loss overflows stops with
   :class:`skdeep.exceptions.DivergenceError` and is drawn as a gap).  Batchnorm
   trains at almost every scale.
2. Six-layer networks (five hidden layers of 100 units) trained with minibatches of
   5, 10 and 50, with batchnorm and with layernorm, beside a baseline without
   normalization.  Batchnorm's batch statistics are noisy on small minibatches and
   it suffers; layernorm's statistics are per sample, so it does not care.

    python examples/plot_normalization.py [CIFAR_DIR] [--out normalization.png]

Networks are :class:`skdeep.nn.models.FullyConnectedNet` trained by
:class:`skdeep.nn.solver.Solver` with Adam for 10 epochs.  Runs on CIFAR-10 when it
is found (the directory given, or ``$SKDEEP_DATA``), else on scikit-learn's digits.
A few minutes.
"""
import numpy as np

from skdeep.exceptions import DivergenceError
from skdeep.nn.models import FullyConnectedNet
from skdeep.nn.solver import Solver

from _example_common import parse_args, pyplot, save_figure, solver_data

N_TRAIN, N_VAL = 1000, 1000
WEIGHT_SCALES = np.logspace(-4, 0, num=20)
BATCH_SIZES = (5, 10, 50)


def train(data, hidden_dims, normalization, weight_scale, batch_size, learning_rate):
    """A trained Solver, or None when the training diverged."""
    model = FullyConnectedNet(hidden_dims, input_dim=data["X_train"].shape[1],
                              num_classes=10, normalization=normalization,
                              weight_scale=weight_scale, random_state=0)
    solver = Solver(model, data, update_rule="adam",
                    optim_config={"learning_rate": learning_rate},
                    batch_size=batch_size, num_epochs=10, num_train_samples=None,
                    print_every=0, verbose=False, random_state=0)
    try:
        solver.train()
    except DivergenceError:
        return None
    return solver


def weight_scale_sweep(data):
    """Best training and validation accuracies and final loss per scale, with and without batchnorm."""
    results = {}
    for normalization in (None, "batchnorm"):
        label = normalization or "no normalization"
        rows = []
        for weight_scale in WEIGHT_SCALES:
            solver = train(data, [50] * 7, normalization, weight_scale,
                           batch_size=50, learning_rate=1e-3)
            if solver is None:
                rows.append((np.nan, np.nan, np.nan))
            else:
                rows.append((max(solver.train_acc_history), solver.best_val_acc,
                             solver.loss_history[-1]))
            print(f"{label:>16}, weight scale {weight_scale:8.2e}: best train acc "
                  f"{rows[-1][0]:.3f}, best val acc {rows[-1][1]:.3f}, final loss "
                  f"{rows[-1][2]:.3f}")
        results[label] = np.array(rows)
    return results


def batch_size_runs(data, normalization, weight_scale):
    """Solvers trained at each batch size with ``normalization``, and a baseline."""
    solvers = {"baseline, batch 10": train(data, [100] * 5, None, weight_scale, 10,
                                           10**-3.5)}
    for batch_size in BATCH_SIZES:
        solvers[f"{normalization}, batch {batch_size}"] = train(
            data, [100] * 5, normalization, weight_scale, batch_size, 10**-3.5)
    for label, solver in solvers.items():
        print(f"{label:>20}: best val acc "
              f"{'diverged' if solver is None else f'{solver.best_val_acc:.3f}'}")
    return {label: solver for label, solver in solvers.items() if solver is not None}


def main():
    args = parse_args(__doc__, "normalization.png")
    data, dataset = solver_data(N_TRAIN, N_VAL, args.cifar_dir)
    sweep = weight_scale_sweep(data)
    # CS231n's scale for raw pixels; He's for standardized digits
    weight_scale = 2e-2 if dataset == "CIFAR-10" else "he"
    by_batch_size = {norm: batch_size_runs(data, norm, weight_scale)
                     for norm in ("batchnorm", "layernorm")}

    plt = pyplot()
    if plt is None:
        return
    from skdeep.plotting import plot_history

    fig, axes = plt.subplots(3, 3, figsize=(15, 12), layout="constrained")
    for ax, column, name in zip(axes[0], range(3), ("Best training accuracy",
                                                     "Best validation accuracy",
                                                     "Final training loss")):
        for label, rows in sweep.items():
            ax.semilogx(WEIGHT_SCALES, rows[:, column], "-o", markersize=3, label=label)
        if column == 2:
            ax.set_yscale("log")
        ax.set_xlabel("Weight initialization scale")
        ax.set_title(f"{name}, 8 layers")
        ax.legend()
    for row, (normalization, solvers) in zip(axes[1:], by_batch_size.items()):
        plot_history(solvers, axes=row)
        row[0].set_title(f"Training loss, {normalization} by batch size")
    fig.suptitle(f"Normalization on {N_TRAIN} images of {dataset}")
    save_figure(fig, args.out)


if __name__ == "__main__":
    main()
