"""Nearest neighbours: :class:`KNNClassifier` and exact pairwise distances."""
from ._classification import KNNClassifier
from ._pairwise import pairwise_distances

__all__ = ["KNNClassifier", "pairwise_distances"]
