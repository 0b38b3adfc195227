"""skdeep: the CS231n image-classification stack as scikit-learn estimators.

k-nearest neighbours, multiclass linear SVM and softmax classifiers, fully connected
and convolutional networks, HOG and colour-histogram features, each a scikit-learn
estimator, with hot loops compiled by Pythran.

Estimators are imported on first use, so ``import skdeep`` stays cheap.
"""
import importlib

__version__ = "0.1.0"

# public name -> submodule that defines it
_LAZY = {
    "ConvNetClassifier": "neural_network",
    "HOGTransformer": "features",
    "HSVHistogramTransformer": "features",
    "KNNClassifier": "neighbors",
    "LinearSVMClassifier": "linear_model",
    "MLPClassifier": "neural_network",
    "SoftmaxClassifier": "linear_model",
    "show_config": "_config",
}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name):
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
