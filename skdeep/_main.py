"""The main job: every skdeep classifier tuned and compared on the embedded digits.

Run it as ``skdeep-digits`` (installed with the package) or ``python -m skdeep``.
Each model is tuned by 5-fold GridSearchCV on 75% of scikit-learn's 8x8 digits,
refit on all of that split, and scored on the held-out 25%.
"""
import argparse
import sys
import time


def models():
    """(name, estimator, parameter grid) for every model the job compares."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from skdeep import (HOGTransformer, KNNClassifier, LinearSVMClassifier,
                        MLPClassifier, SoftmaxClassifier)

    # SGD defaults assume standardized features, as scikit-learn's SGD ones do;
    # kNN compares raw pixels
    linear_grid = {"learning_rate": [1e-3, 1e-2], "reg": [1e-5, 1e-2]}
    mlp = make_pipeline(StandardScaler(), MLPClassifier(num_epochs=50, random_state=0))
    return [
        ("kNN (L2)", KNNClassifier(metric="l2"), {"n_neighbors": [1, 3, 5, 8]}),
        ("kNN (L1)", KNNClassifier(metric="l1"), {"n_neighbors": [1, 3, 5, 8]}),
        *[(name, make_pipeline(StandardScaler(), cls(random_state=0)),
           {f"{cls.__name__.lower()}__{key}": values
            for key, values in linear_grid.items()})
          for name, cls in [("linear SVM", LinearSVMClassifier),
                            ("softmax", SoftmaxClassifier)]],
        ("MLP (Adam)", mlp, {"mlpclassifier__dropout_keep_ratio": [1.0, 0.5]}),
        # 8x8 digits are too small for CIFAR's 8x8 cells: 2x2 cells, 2x2 blocks
        ("HOG + linear SVM",
         make_pipeline(HOGTransformer(pixels_per_cell=(2, 2), cells_per_block=(2, 2)),
                       StandardScaler(), LinearSVMClassifier(random_state=0)),
         {"hogtransformer__orientations": [6, 9],
          "linearsvmclassifier__learning_rate": [1e-3, 1e-2]}),
    ]


def _short(params):
    return ", ".join(f"{key.rsplit('__', 1)[-1]}={value}" for key, value in params.items())


def run(n_jobs=None, random_state=0, file=None):
    """Tune, refit and score every model; print one table row per model.

    Parameters
    ----------
    n_jobs : int, default=None
        Parallel GridSearchCV workers.
    random_state : int, default=0
        Seed of the train/test split and of the models.
    file : file-like, default=None
        Where to print; ``sys.stdout`` when None.

    Returns
    -------
    results : list of dict
        One per model: ``name``, ``best_params``, ``cv_mean``, ``cv_std``,
        ``test_accuracy``, ``seconds``.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, train_test_split

    file = sys.stdout if file is None else file
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.25, stratify=y, random_state=random_state)
    print(f"digits: {len(X_train)} training and {len(X_test)} test images of 8x8 pixels; "
          f"5-fold grid search on the training part", file=file)
    header = f"{'model':<22}{'best parameters':<34}{'CV accuracy':>16}{'test':>8}{'time':>8}"
    print(header, file=file)
    print("-" * len(header), file=file)
    cv = StratifiedKFold(5, shuffle=True, random_state=random_state)
    results = []
    for name, estimator, grid in models():
        start = time.perf_counter()
        search = GridSearchCV(estimator, grid, cv=cv, n_jobs=n_jobs).fit(X_train, y_train)
        best = search.best_index_
        row = {
            "name": name,
            "best_params": search.best_params_,
            "cv_mean": search.cv_results_["mean_test_score"][best],
            "cv_std": search.cv_results_["std_test_score"][best],
            "test_accuracy": search.score(X_test, y_test),
            "seconds": time.perf_counter() - start,
        }
        results.append(row)
        cv_text = f"{row['cv_mean']:.3f} ± {row['cv_std']:.3f}"
        print(f"{name:<22}{_short(row['best_params']):<34}{cv_text:>16}"
              f"{row['test_accuracy']:>8.3f}{row['seconds']:>7.1f}s", file=file)
    return results


def main(argv=None):
    """Command-line entry point of ``skdeep-digits``."""
    parser = argparse.ArgumentParser(
        prog="skdeep-digits",
        description="Tune and compare every skdeep classifier on scikit-learn's digits.")
    parser.add_argument("--n-jobs", type=int, default=None,
                        help="parallel GridSearchCV workers (default: 1)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    args = parser.parse_args(argv)
    import skdeep

    skdeep.show_config()
    print()
    run(n_jobs=args.n_jobs, random_state=args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
