"""Image features as scikit-learn transformers: HOG and hue histograms."""
import warnings
from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import InvalidParameterError, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._images import as_pixel_values, fit_image_shape
from ..utils._param_validation import NumberInterval
from ._extract import BLOCK_NORMS, hog_rows, hue_histogram_rows

_IMAGE_SHAPE_DOC = """image_shape : tuple (H, W, C) or (H, W), default=None
        How each row of ``X`` unflattens, channels last (``images.reshape(n, -1)``
        for images of shape (n, H, W, C)). ``None`` infers it at ``fit``:
        square colour images (H, H, 3) when ``n_features / 3`` is a perfect
        square, else square grey images (H, H, 1) when ``n_features`` is one,
        else (with a warning) one row of grey pixels (1, n_features, 1)."""


_POSITIVE_INT = NumberInterval(Integral, 1, None, closed="left")


class _ImageFeatures(TransformerMixin, BaseEstimator):
    """What both image transformers share: input checks, names and tags.

    Subclasses set ``_feature_prefix`` and ``_non_negative`` (whether negative
    pixel values are refused, and why), and define ``_n_features_out`` and
    ``_fit_shape`` (the checks and fitted attributes that depend on the image
    shape).
    """

    _feature_prefix = ""

    _parameter_constraints: dict = {
        "image_shape": [None, tuple, list],
        "verbose": ["verbose"],
    }

    def _non_negative(self):
        """Why negative pixel values are refused, or None when they are fine."""
        return None

    def _validate(self, X, reset):
        if not reset:
            check_is_fitted(self)
        X = validate_data(self, X, reset=reset, dtype="numeric")
        return as_pixel_values(X, type(self).__name__, self._non_negative())

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters against the image shape of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images as rows, flattened channels last.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted transformer.
        """
        X = self._validate(X, reset=True)
        shape = fit_image_shape(self.image_shape, X.shape[1], type(self).__name__)
        self._fit_shape(shape)
        self.image_shape_ = shape
        return self

    def get_feature_names_out(self, input_features=None):
        """Get the names of the output features: a prefix and the feature's number.

        Parameters
        ----------
        input_features : None
            Ignored; the features do not map to input columns.

        Returns
        -------
        names : ndarray of str
            ``hog0, hog1, ...`` or ``hue0, hue1, ...``.
        """
        check_is_fitted(self)
        return np.asarray([f"{self._feature_prefix}{i}"
                           for i in range(self._n_features_out())], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # features are float64 whatever the input dtype
        tags.transformer_tags.preserves_dtype = []
        return tags


def _as_pair(estimator, name):
    """The parameter ``name`` as a pair of positive ints (an int means both)."""
    value = getattr(estimator, name)
    pair = (value, value) if isinstance(value, Integral) else tuple(value)
    if len(pair) != 2 or not all(_POSITIVE_INT.is_satisfied_by(v) for v in pair):
        raise InvalidParameterError(
            f"The {name!r} parameter of {type(estimator).__name__} must be an int in "
            f"the range [1, inf) or a pair of them. Got {value!r} instead.")
    return int(pair[0]), int(pair[1])


class HOGTransformer(_ImageFeatures):
    """Histograms of oriented gradients of images given as rows.

    The features are those of scikit-image's ``skimage.feature.hog`` with the
    same parameters (``feature_vector=True``; for colour images
    ``channel_axis=-1``, where each pixel takes the gradient of its channel
    with the largest gradient magnitude), computed by a compiled kernel over
    all images in parallel. uint8 input without ``transform_sqrt`` is
    bit-for-bit scikit-image's; any input agrees to rounding (tested to 1e-6).

    Parameters
    ----------
    {image_shape}
    orientations : int, default=9
        Number of orientation bins over [0, 180) degrees.
    pixels_per_cell : int or tuple (rows, cols) of int, default=(8, 8)
        Size of a cell in pixels. Pixels beyond the last whole cell are ignored.
        Images holding no whole block give no features (``fit`` warns), where
        ``skimage.feature.hog`` raises.
    cells_per_block : int or tuple (rows, cols) of int, default=(3, 3)
        Size of a normalization block in cells; blocks slide by one cell.
    block_norm : {{'L1', 'L1-sqrt', 'L2', 'L2-Hys'}}, default='L2-Hys'
        Block normalization, with scikit-image's ``eps=1e-5``; 'L2-Hys' clips
        the L2-normalized block at 0.2 and normalizes again.
    transform_sqrt : bool, default=False
        Take the square root of every pixel value first (power-law
        compression); the input must then be non-negative.
    verbose : int, default=0
        Print progress on batches larger than one kernel call.

    Attributes
    ----------
    n_features_in_ : int
        Number of values per input row.
    image_shape_ : tuple (H, W, C)
        The image shape used, given or inferred.
    n_features_out_ : int
        Number of HOG features per image.

    See Also
    --------
    HSVHistogramTransformer : Colour features, to concatenate with these in a
        ``FeatureUnion``.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep import HOGTransformer
    >>> images = np.random.RandomState(0).randint(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    >>> hog = HOGTransformer(cells_per_block=(2, 2)).fit(images.reshape(4, -1))
    >>> hog.transform(images.reshape(4, -1)).shape
    (4, 324)
    """

    def __init__(self, image_shape=None, *, orientations=9, pixels_per_cell=(8, 8),
                 cells_per_block=(3, 3), block_norm="L2-Hys", transform_sqrt=False,
                 verbose=0):
        self.image_shape = image_shape
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.transform_sqrt = transform_sqrt
        self.verbose = verbose

    _parameter_constraints: dict = {
        **_ImageFeatures._parameter_constraints,
        "orientations": [_POSITIVE_INT],
        "pixels_per_cell": [_POSITIVE_INT, tuple, list],
        "cells_per_block": [_POSITIVE_INT, tuple, list],
        "block_norm": [StrOptions(set(BLOCK_NORMS))],
        "transform_sqrt": ["boolean"],
    }

    _feature_prefix = "hog"

    def _non_negative(self):
        if self.transform_sqrt:
            return "transform_sqrt=True takes the square root of every pixel value"
        return None

    def _n_features_out(self):
        return self.n_features_out_

    def _fit_shape(self, shape):
        cell = _as_pair(self, "pixels_per_cell")
        block = _as_pair(self, "cells_per_block")
        n_blocks = [n // c - b + 1 for n, c, b in zip(shape, cell, block)]
        if min(n_blocks) < 1:
            warnings.warn(
                f"HOGTransformer: images of shape {shape} hold no whole "
                f"block of {block} cells of {cell} pixels (that needs "
                f"{block[0] * cell[0]} rows and {block[1] * cell[1]} columns), so "
                f"there are no HOG features.", UserWarning)
            n_blocks = [0, 0]
        self.n_features_out_ = (n_blocks[0] * n_blocks[1] * block[0] * block[1]
                                * self.orientations)

    def transform(self, X):
        """HOG features of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Images as rows, flattened channels last, of the shape seen in ``fit``.

        Returns
        -------
        features : ndarray of shape (n_samples, ``n_features_out_``), float64
            For each image, its normalized blocks flattened as
            (block_row, block_col, cell_row, cell_col, orientation), as
            ``skimage.feature.hog(..., feature_vector=True)`` returns them.
        """
        X = self._validate(X, reset=False)
        cell = _as_pair(self, "pixels_per_cell")
        block = _as_pair(self, "cells_per_block")
        if self.n_features_out_ == 0:
            return np.empty((X.shape[0], 0))
        return hog_rows(X, self.image_shape_, int(self.orientations), cell, block,
                        self.block_norm, bool(self.transform_sqrt),
                        verbose=self.verbose, name=type(self).__name__)


class HSVHistogramTransformer(_ImageFeatures):
    """Histogram of hue: the fraction of each image's pixels in each hue bin.

    Hue is that of the standard RGB to HSV conversion as
    ``matplotlib.colors.rgb_to_hsv`` computes it, in [0, 1); grey pixels
    (max == min) have hue 0. The ``nbin`` bins are the equal-width bins of
    ``np.histogram(hue, bins=np.linspace(0, 1, nbin + 1))``, including its edge
    convention (a value on an edge goes to the bin it starts), and each row of
    the output sums to 1. Exact: uint8 images give exactly the counts of
    ``rgb_to_hsv(image / 255)``.

    Parameters
    ----------
    {image_shape}
        The images are RGB (C = 3) or grey (C = 1, all hue 0, as grey RGB
        pixels have).
    nbin : int, default=10
        Number of hue bins.
    verbose : int, default=0
        Print progress on large batches.

    Attributes
    ----------
    n_features_in_ : int
        Number of values per input row.
    image_shape_ : tuple (H, W, C)
        The image shape used, given or inferred.

    See Also
    --------
    HOGTransformer : Gradient features, to concatenate with these in a
        ``FeatureUnion``.

    Notes
    -----
    uint8 pixels are divided by 255, the scale ``rgb_to_hsv`` expects; other
    input is used as given, in any non-negative scale (hue does not depend on
    it, but rounding at bin edges can differ from the same image in [0, 1]).

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep import HSVHistogramTransformer
    >>> red_and_blue = np.array([[255, 0, 0, 255, 0, 0, 0, 0, 255, 0, 0, 255]], dtype=np.uint8)
    >>> HSVHistogramTransformer(image_shape=(2, 2, 3), nbin=3).fit_transform(red_and_blue)
    array([[0.5, 0. , 0.5]])
    """

    def __init__(self, image_shape=None, *, nbin=10, verbose=0):
        self.image_shape = image_shape
        self.nbin = nbin
        self.verbose = verbose

    _parameter_constraints: dict = {
        **_ImageFeatures._parameter_constraints,
        "nbin": [_POSITIVE_INT],
    }

    _feature_prefix = "hue"

    def _non_negative(self):
        return "pixel values must be non-negative"

    def _n_features_out(self):
        return self.nbin

    def _fit_shape(self, shape):
        if shape[2] not in (1, 3):
            raise ValueError(
                f"HSVHistogramTransformer needs RGB (3 channels) or grey (1 channel) "
                f"images; image_shape is {shape}.")

    def transform(self, X):
        """Hue histogram of each image.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            RGB images as rows, flattened channels last.

        Returns
        -------
        features : ndarray of shape (n_samples, nbin), float64
            Fraction of each image's pixels in each hue bin.
        """
        X = self._validate(X, reset=False)
        return hue_histogram_rows(X, self.image_shape_, int(self.nbin),
                                  verbose=self.verbose, name=type(self).__name__)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        return tags


# Docstrings are None under python -OO.
for _cls in (HOGTransformer, HSVHistogramTransformer):
    if _cls.__doc__:
        _cls.__doc__ = _cls.__doc__.format(image_shape=_IMAGE_SHAPE_DOC)
