"""Neural network classifiers: fully connected and convolutional networks as estimators.

The networks themselves, their layers, update rules and training loop live in
:mod:`skdeep.nn`; the estimators here add scikit-learn's validation, label handling
and model selection on top.
"""
from ._convnet import ConvNetClassifier
from ._mlp import MLPClassifier

__all__ = ["ConvNetClassifier", "MLPClassifier"]
