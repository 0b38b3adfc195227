"""class_weight on every classifier that trains by iterations, as SGDClassifier's."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import make_blobs
from sklearn.preprocessing import StandardScaler
from sklearn.utils.class_weight import compute_sample_weight

from skdeep import ConvNetClassifier, LinearSVMClassifier, MLPClassifier, SoftmaxClassifier

# small settings that train in well under a second on 4 features (a 2x2 image)
ESTIMATORS = [
    LinearSVMClassifier(num_iters=50, batch_size=20, random_state=0),
    SoftmaxClassifier(num_iters=50, batch_size=20, random_state=0),
    MLPClassifier((8,), num_epochs=2, batch_size=20, random_state=0),
    ConvNetClassifier(num_filters=2, filter_size=1, pool_every=2, hidden_dim=4,
                      num_epochs=2, batch_size=20, random_state=0),
]
IDS = [type(est).__name__ for est in ESTIMATORS]


@pytest.fixture(scope="module")
def imbalanced():
    X, y = make_blobs(n_samples=300, centers=3, n_features=4, cluster_std=3,
                      random_state=0)
    # 100, 40 and 15 samples: weights that are not whole numbers under 'balanced'
    keep = np.concatenate([np.flatnonzero(y == 0)[:100], np.flatnonzero(y == 1)[:40],
                           np.flatnonzero(y == 2)[:15]])
    labels = np.array(["ant", "bee", "cat"])
    return StandardScaler().fit_transform(X[keep]), labels[y[keep]]


def fitted_parameters(est):
    """Every trained array of the estimator, by name."""
    if hasattr(est, "model_"):
        return dict(est.model_.params)
    return {"coef_": est.coef_, "intercept_": est.intercept_,
            "loss_history_": est.loss_history_}


def assert_same_training(a, b):
    params_a, params_b = fitted_parameters(a), fitted_parameters(b)
    assert params_a.keys() == params_b.keys()
    for name in params_a:
        np.testing.assert_array_equal(params_a[name], params_b[name], err_msg=name)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_balanced_trains_exactly_as_the_matching_sample_weight(estimator, imbalanced):
    X, y = imbalanced
    balanced = clone(estimator).set_params(class_weight="balanced").fit(X, y)
    weighted = clone(estimator).fit(X, y, sample_weight=compute_sample_weight("balanced", y))
    assert_same_training(balanced, weighted)
    # and the weights do change the training
    plain = fitted_parameters(clone(estimator).fit(X, y))
    name = next(iter(plain))
    assert not np.array_equal(plain[name], fitted_parameters(balanced)[name])


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_dict_multiplies_sample_weight(estimator, imbalanced):
    X, y = imbalanced
    sample_weight = np.random.RandomState(0).uniform(0.5, 2, size=len(y))
    by_class = clone(estimator).set_params(class_weight={"bee": 3.0, "cat": 0.5})
    by_class.fit(X, y, sample_weight=sample_weight)
    # a class the dict leaves out weighs 1
    product = sample_weight * np.select([y == "bee", y == "cat"], [3.0, 0.5], 1.0)
    by_row = clone(estimator).fit(X, y, sample_weight=product)
    assert_same_training(by_class, by_row)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
@pytest.mark.parametrize("class_weight, match", [
    ({"ant": 1.0, "dog": 2.0}, r"class_weight has labels \['dog'\] that are not classes "
                               r"of y; the classes are \['ant', 'bee', 'cat'\]"),
    ({"bee": -1.0}, "non-negative number; got -1.0 for label 'bee'"),
    ({"bee": "heavy"}, "non-negative number; got 'heavy' for label 'bee'"),
])
def test_bad_dict_is_refused_clearly(estimator, imbalanced, class_weight, match):
    X, y = imbalanced
    with pytest.raises(ValueError, match=match):
        clone(estimator).set_params(class_weight=class_weight).fit(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_bad_class_weight_type_is_named(estimator, imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match="class_weight"):
        clone(estimator).set_params(class_weight="equal").fit(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=IDS)
def test_weights_that_leave_one_class_are_refused(estimator, imbalanced):
    X, y = imbalanced
    with pytest.raises(ValueError, match="at least 2 classes"):
        clone(estimator).set_params(class_weight={"bee": 0, "cat": 0}).fit(X, y)


@pytest.mark.parametrize("estimator", ESTIMATORS[2:], ids=IDS[2:])
def test_partial_fit_takes_a_dict_of_declared_classes_but_not_balanced(estimator,
                                                                        imbalanced):
    X, y = imbalanced
    first = y != "cat"
    classes = np.unique(y)
    # 'cat' is declared, absent from this call: a dict may weigh it
    by_class = clone(estimator).set_params(class_weight={"bee": 3.0, "cat": 2.0})
    by_class.partial_fit(X[first], y[first], classes=classes)
    by_row = clone(estimator).partial_fit(X[first], y[first], classes=classes,
                                          sample_weight=np.where(y[first] == "bee", 3.0, 1.0))
    assert_same_training(by_class, by_row)
    with pytest.raises(ValueError, match="'balanced' is not supported by partial_fit"):
        clone(estimator).set_params(class_weight="balanced").partial_fit(
            X, y, classes=classes)
