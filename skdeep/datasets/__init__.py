"""Datasets: CIFAR-10 from its python batches, downloaded once and cached.

:func:`load_cifar10` reads an extracted ``cifar-10-batches-py`` directory;
:func:`fetch_cifar10` downloads, verifies and caches the official archive in
the data home (:func:`get_data_home`) and returns a scikit-learn ``Bunch``;
:func:`find_cifar10` says whether a copy is at hand, so that examples can fall
back to scikit-learn's embedded digits when it is not.
"""
from ._base import get_data_home
from ._cifar10 import fetch_cifar10, find_cifar10, load_cifar10

__all__ = ["fetch_cifar10", "find_cifar10", "get_data_home", "load_cifar10"]
