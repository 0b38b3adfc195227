"""Image features as scikit-learn transformers (the CS231n features exercise).

:class:`HOGTransformer` gives histograms of oriented gradients exactly as
``skimage.feature.hog`` defines them; :class:`HSVHistogramTransformer` gives
histograms of hue. Both take images as rows, flattened channels last.
"""
from ._transformers import HOGTransformer, HSVHistogramTransformer

__all__ = ["HOGTransformer", "HSVHistogramTransformer"]
