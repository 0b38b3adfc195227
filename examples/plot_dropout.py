"""
Dropout as a regularizer: keep ratio 1 against 0.25 on 500 training images.
===========================================================================

The CS231n dropout experiment: a network with one hidden layer of 500 units learns
only 500 images, once without dropout (keep ratio 1) and once keeping a quarter of
the hidden units at each step (keep ratio 0.25), and is validated on 1,000 other
images after each epoch.  On CIFAR-10, without dropout the network soon fits its
500 images perfectly while validation accuracy stalls (about 0.28); with dropout
the training accuracy rises more slowly and validation accuracy ends higher
(about 0.32).  The digits are too easy for 500 images to overfit much, and there
dropout only slows training down.

    python examples/plot_dropout.py [CIFAR_DIR] [--out dropout.png]

The network is :class:`skdeep.nn.models.FullyConnectedNet` trained by
:class:`skdeep.nn.solver.Solver` (what :class:`skdeep.MLPClassifier` wraps), with
Adam at 5e-4, minibatches of 100, for 25 epochs.  Runs on CIFAR-10 when it is found
(the directory given, or ``$SKDEEP_DATA``), else on scikit-learn's digits.  About a
minute.
"""
from skdeep.nn.models import FullyConnectedNet
from skdeep.nn.solver import Solver

from _example_common import parse_args, plot_runs, solver_data

N_TRAIN, N_VAL = 500, 1000
KEEP_RATIOS = (1, 0.25)


def main():
    args = parse_args(__doc__, "dropout.png")
    data, dataset = solver_data(N_TRAIN, N_VAL, args.cifar_dir)

    # CS231n's scale for raw pixels; He's for standardized digits
    weight_scale = 5e-2 if dataset == "CIFAR-10" else "he"
    solvers = {}
    for keep in KEEP_RATIOS:
        model = FullyConnectedNet([500], input_dim=data["X_train"].shape[1], num_classes=10,
                                  dropout_keep_ratio=keep, weight_scale=weight_scale,
                                  random_state=0)
        solver = Solver(model, data, update_rule="adam",
                        optim_config={"learning_rate": 5e-4}, batch_size=100,
                        num_epochs=25, num_train_samples=None, print_every=0,
                        verbose=False, random_state=0)
        solver.train()
        solvers[f"keep ratio {keep}"] = solver
        print(f"keep ratio {keep:>4}: final training accuracy "
              f"{solver.train_acc_history[-1]:.3f}, best validation accuracy "
              f"{solver.best_val_acc:.3f}")

    plot_runs(solvers, f"Dropout, {N_TRAIN} training images of {dataset}", args.out)


if __name__ == "__main__":
    main()
