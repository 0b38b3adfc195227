"""
Update rules: SGD, momentum, RMSProp, Adam.
===========================================

A six-layer network (five hidden layers of 100 units) learns 4,000 images with each
update rule of :mod:`skdeep.nn.optim`, as in the CS231n assignment, and
:func:`skdeep.plotting.plot_history` draws the training loss and the training and
validation accuracies.  Plain SGD crawls; momentum speeds it up; RMSProp and Adam,
which scale each parameter's step by the size of its recent gradients, reach a low
loss within a few epochs.

    python examples/plot_update_rules.py [CIFAR_DIR] [--out update_rules.png]

Runs on CIFAR-10 when it is found (the directory given, or ``$SKDEEP_DATA``), else on
scikit-learn's digits.  A few minutes on a laptop.
"""
from skdeep.neural_network import MLPClassifier

from _example_common import load_images, parse_args, plot_runs


def main():
    args = parse_args(__doc__, "update_rules.png")
    # 4,000 images to learn and 1,000 to validate on (all 1,797 digits otherwise)
    X, y, dataset = load_images(5000, args.cifar_dir)
    if dataset == "CIFAR-10":
        # raw pixels are large, so small initial weights keep the scores moderate
        weight_scale, num_epochs = 5e-2, 5
        learning_rates = {"sgd": 5e-3, "sgd_momentum": 5e-3, "rmsprop": 1e-4,
                          "adam": 1e-3}
    else:
        weight_scale, num_epochs = "he", 10
        learning_rates = {"sgd": 1e-2, "sgd_momentum": 1e-2, "rmsprop": 1e-3,
                          "adam": 1e-3}

    runs = {}
    for update_rule, learning_rate in learning_rates.items():
        print(f"{dataset}, {update_rule}, learning rate {learning_rate:g}:")
        runs[update_rule] = MLPClassifier(
            hidden_layer_sizes=(100,) * 5,
            update_rule=update_rule,
            learning_rate=learning_rate,
            weight_scale=weight_scale,
            batch_size=100,
            num_epochs=num_epochs,
            validation_fraction=0.2,
            random_state=0,
            verbose=1,
        ).fit(X, y)
    for update_rule, clf in runs.items():
        print(f"{update_rule:>12}: best validation accuracy {clf.best_val_acc_:.3f}")

    plot_runs(runs, f"Update rules, six-layer network on {dataset}", args.out)


if __name__ == "__main__":
    main()
