"""Every public estimator passes scikit-learn's own conformance checks."""
import inspect

from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skdeep


# Settings under which an estimator is checked instead of its defaults, each with
# its reason; the defaults are checked in the estimator's own test module.
CHECKED_SETTINGS = {
    # a net for the checks' tiny inputs (2 to 20 features, read as a strip of grey
    # pixels or a small square image): 1x1 filters and no pooling.  Their
    # features are unscaled (blobs spread by up to 20), which the ConvNet, unlike
    # the MLP, does not divide by their scale: 'he' weights start with scores in
    # the tens that 20 steps do not undo, the CS231n notebooks' small weights
    # start them near zero
    "ConvNetClassifier": {"num_filters": 4, "filter_size": 1, "pool_every": 2,
                          "hidden_dim": 8, "batch_size": 200, "num_epochs": 20,
                          "learning_rate": 1e-2, "weight_scale": 1e-2},
}


def public_estimators():
    """One instance of every estimator class skdeep exports."""
    classes = [getattr(skdeep, name) for name in skdeep.__all__]
    return [cls(**CHECKED_SETTINGS.get(cls.__name__, {})) for cls in classes
            if isinstance(cls, type) and issubclass(cls, BaseEstimator)]


def test_every_exported_estimator_is_checked():
    names = {type(est).__name__ for est in public_estimators()}
    assert {"ConvNetClassifier", "HOGTransformer", "HSVHistogramTransformer",
            "KNNClassifier", "LinearSVMClassifier", "MLPClassifier",
            "SoftmaxClassifier"} <= names


def test_init_parameters_are_keyword_only_after_the_first_few():
    # as scikit-learn declares them: the parameters a user passes first, by
    # position, and every other one by name
    positional = {
        "KNNClassifier": ["n_neighbors", "metric"],
        "LinearSVMClassifier": ["learning_rate", "reg"],
        "SoftmaxClassifier": ["learning_rate", "reg"],
        "MLPClassifier": ["hidden_layer_sizes"],
        "ConvNetClassifier": ["image_shape", "num_filters", "filter_size"],
        "HOGTransformer": ["image_shape"],
        "HSVHistogramTransformer": ["image_shape"],
    }
    found = {}
    for est in public_estimators():
        params = list(inspect.signature(type(est).__init__).parameters.values())[1:]
        kinds = {param.kind for param in params}
        assert kinds <= {inspect.Parameter.POSITIONAL_OR_KEYWORD,
                         inspect.Parameter.KEYWORD_ONLY}
        found[type(est).__name__] = [p.name for p in params
                                     if p.kind == p.POSITIONAL_OR_KEYWORD]
    assert found == positional


@parametrize_with_checks(public_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
