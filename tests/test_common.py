"""Every public estimator passes scikit-learn's own conformance checks."""
from sklearn.base import BaseEstimator
from sklearn.utils.estimator_checks import parametrize_with_checks

import skdeep


def public_estimators():
    """One default instance of every estimator class skdeep exports."""
    classes = [getattr(skdeep, name) for name in skdeep.__all__]
    return [cls() for cls in classes if isinstance(cls, type) and issubclass(cls, BaseEstimator)]


def test_every_exported_estimator_is_checked():
    names = {type(est).__name__ for est in public_estimators()}
    assert {"HOGTransformer", "HSVHistogramTransformer", "KNNClassifier",
            "LinearSVMClassifier", "MLPClassifier", "SoftmaxClassifier"} <= names


@parametrize_with_checks(public_estimators())
def test_sklearn_compatible_estimator(estimator, check):
    check(estimator)
