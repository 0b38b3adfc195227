"""HOGTransformer and HSVHistogramTransformer against their oracles.

scikit-image's ``hog`` and matplotlib's ``rgb_to_hsv`` are test oracles only; the
tests that need them skip cleanly without them.
"""
import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline, make_union
from sklearn.preprocessing import StandardScaler

from skdeep import HOGTransformer, HSVHistogramTransformer
from skdeep.features._extract import integer_gradient_tables

BLOCK_NORMS = ["L1", "L1-sqrt", "L2", "L2-Hys"]


def digits_images():
    """The digits as uint8 grey images (n, 8, 8, 1), values 0..255 like a photo."""
    images = load_digits().images[:60] * 16
    return np.minimum(images, 255).astype(np.uint8)[..., None]


def skimage_crops():
    """Real photographs: colour crops of the astronaut, grey crops of the camera man."""
    data = pytest.importorskip("skimage.data")
    astronaut = data.astronaut()
    camera = data.camera()
    colour = np.stack([astronaut[60:108, 150:190], astronaut[300:348, 250:290]])
    grey = np.stack([camera[100:148, 200:240], camera[300:348, 350:390]])[..., None]
    return colour, grey


def reference_hog(images, **params):
    """scikit-image's hog of each image (n, H, W, C), channel_axis=-1 for colour."""
    feature = pytest.importorskip("skimage.feature")
    colour = images.shape[-1] > 1
    return np.array([
        feature.hog(image if colour else image[..., 0],
                    channel_axis=-1 if colour else None, **params)
        for image in images])


def assert_hog_matches(images, dtype=np.uint8, **params):
    images = images.astype(dtype)
    X = images.reshape(len(images), -1)
    hog = HOGTransformer(image_shape=images.shape[1:], **params)
    got = hog.fit_transform(X)
    expected = reference_hog(images, **params)
    assert got.dtype == np.float64 and got.shape == expected.shape
    assert np.abs(expected).max() > 0.1  # the images have structure to compare
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6)


@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
@pytest.mark.parametrize("transform_sqrt", [False, True])
@pytest.mark.parametrize("cells", [((8, 8), (3, 3)), ((6, 4), (2, 3)), ((5, 5), (1, 1))])
def test_hog_matches_skimage_on_photographs(block_norm, transform_sqrt, cells):
    colour, grey = skimage_crops()
    pixels_per_cell, cells_per_block = cells
    for images in (colour, grey):
        for dtype in (np.uint8, np.float64):
            assert_hog_matches(images, dtype, orientations=9,
                               pixels_per_cell=pixels_per_cell,
                               cells_per_block=cells_per_block,
                               block_norm=block_norm, transform_sqrt=transform_sqrt)


@pytest.mark.parametrize("orientations", [4, 7, 12])
def test_hog_matches_skimage_for_other_orientation_counts(orientations):
    # 7 bins put boundaries at inexact multiples of 180 / 7
    colour, grey = skimage_crops()
    for images in (colour, grey):
        assert_hog_matches(images, orientations=orientations, pixels_per_cell=(4, 4),
                           cells_per_block=(2, 2))


@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
def test_hog_matches_skimage_on_digits(block_norm):
    for transform_sqrt in (False, True):
        assert_hog_matches(digits_images(), pixels_per_cell=(2, 2), cells_per_block=(2, 2),
                           block_norm=block_norm, transform_sqrt=transform_sqrt)
        assert_hog_matches(digits_images(), np.float32, pixels_per_cell=(3, 2),
                           cells_per_block=(1, 2), block_norm=block_norm,
                           transform_sqrt=transform_sqrt)


@pytest.mark.parametrize("block_norm", BLOCK_NORMS)
def test_hog_matches_skimage_on_cifar(block_norm, cifar10):
    images = cifar10[0][:64]
    for transform_sqrt in (False, True):
        assert_hog_matches(images, block_norm=block_norm, transform_sqrt=transform_sqrt,
                           pixels_per_cell=(8, 8), cells_per_block=(2, 2))
        assert_hog_matches(images[..., 1:2], np.float64, block_norm=block_norm,
                           transform_sqrt=transform_sqrt, pixels_per_cell=(4, 4),
                           cells_per_block=(3, 3))


def test_hog_uint8_is_bit_exact_on_cifar(cifar10):
    # the integer-gradient tables reproduce scikit-image's arithmetic, so only
    # summation order in the block norms can differ
    images = cifar10[0][:200]
    got = HOGTransformer(cells_per_block=(2, 2)).fit_transform(images.reshape(200, -1))
    expected = reference_hog(images, pixels_per_cell=(8, 8), cells_per_block=(2, 2))
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


def test_hog_on_random_floats_with_ties_and_negative_zeros():
    rng = np.random.RandomState(0)
    images = rng.rand(6, 20, 24, 3)
    # equal channels force ties in the channel choice; exact steps put gradients
    # on the axes and diagonals, on bin boundaries
    images[0, ..., 1] = images[0, ..., 0]
    images[1] = np.round(images[1] * 4) / 4
    images[2] = -images[2]
    assert_hog_matches(images, np.float64, pixels_per_cell=(4, 4), cells_per_block=(2, 2))


def test_magnitude_table_matches_hypot_with_signs_and_order():
    magnitude, bins = integer_gradient_tables(9)
    signed = np.arange(-255, 256, dtype=np.float64)
    rows, cols = np.meshgrid(signed, signed, indexing="ij")
    expected = np.hypot(cols, rows)  # scikit-image's argument order
    np.testing.assert_array_equal(magnitude[np.abs(rows).astype(int), np.abs(cols).astype(int)],
                                  expected)
    assert bins.min() == 0 and bins.max() == 8


def test_pure_python_kernels_agree_with_compiled():
    from _kernel_harness import kernel_pair

    from skdeep.features._extract import orientation_tables

    compiled_hog, pure_hog = kernel_pair("_hog")
    compiled_hue, pure_hue = kernel_pair("_hue")
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, size=(2, 12, 10, 3)).astype(np.uint8)
    magnitude, bins = integer_gradient_tables(9)
    bounds, cosb, sinb, special = orientation_tables(9)
    lut = np.sqrt(np.arange(256.))
    outputs = []
    for module in (compiled_hog, pure_hog):
        a = np.empty((2, 2 * 1 * 2 * 2 * 9))  # 3x2 cells of 4x4
        module.hog_u8_table(images, magnitude, bins, 9, 4, 4, 2, 2, "L2-Hys", a)
        b = np.empty((2, 3 * 2 * 9))  # 3x2 cells of 4x5, 1x1 blocks
        module.hog_u8(images, lut, 4, 5, 1, 1, "L1-sqrt", bounds, cosb, sinb, special, b)
        c = np.empty((2, 3 * 2 * 9))  # one block of 3x2 cells
        module.hog_float(images / 7., True, 4, 5, 3, 2, "L2", bounds, cosb, sinb,
                         special, c)
        outputs.append((a, b, c))
    for got, expected in zip(outputs[1], outputs[0]):
        assert np.abs(expected).max() > 0
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)
    edges = np.linspace(0, 1, 11)
    pixels = images.reshape(2, -1, 3)
    hue_outputs = []
    for module in (compiled_hue, pure_hue):
        a = np.empty((2, 10))
        module.hue_histograms_u8(pixels, edges, a)
        b = np.empty((2, 10))
        module.hue_histograms_float(pixels / 3., edges, b)
        hue_outputs.append((a, b))
    for got, expected in zip(hue_outputs[1], hue_outputs[0]):
        np.testing.assert_array_equal(got, expected)


# HSV histograms


def reference_hue_histogram(images, nbin):
    """matplotlib's hue (of image / 255 for uint8) binned by np.histogram."""
    colors = pytest.importorskip("matplotlib.colors")
    edges = np.linspace(0, 1, nbin + 1)
    out = []
    for image in images:
        scaled = image / 255 if image.dtype == np.uint8 else image.astype(np.float64)
        hue = colors.rgb_to_hsv(scaled)[..., 0]
        counts, _ = np.histogram(hue, bins=edges)
        out.append(counts / hue.size)
    return np.array(out)


@pytest.mark.parametrize("nbin", [1, 3, 10, 12, 36])
def test_hue_histogram_exact_on_photographs(nbin):
    colour, _ = skimage_crops()
    X = colour.reshape(len(colour), -1)
    got = HSVHistogramTransformer(image_shape=colour.shape[1:], nbin=nbin).fit_transform(X)
    np.testing.assert_array_equal(got, reference_hue_histogram(colour, nbin))
    np.testing.assert_allclose(got.sum(axis=1), 1)


def test_hue_histogram_exact_on_cifar_and_edge_cases(cifar10):
    images = cifar10[0][:200]
    got = HSVHistogramTransformer(nbin=10).fit_transform(images.reshape(200, -1))
    np.testing.assert_array_equal(got, reference_hue_histogram(images, 10))


def test_hue_histogram_edges_ties_and_grey():
    # every uint8 colour with few levels: grey pixels, ties for the maximum and
    # hues exactly on bin edges (multiples of 1/6 and 1/12)
    levels = np.array([0, 51, 102, 153, 204, 255], dtype=np.uint8)
    pixels = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), -1)
    images = pixels.reshape(1, 6, 36, 3)
    for nbin in (6, 12, 7):
        got = HSVHistogramTransformer(image_shape=(6, 36, 3), nbin=nbin).fit_transform(
            images.reshape(1, -1))
        np.testing.assert_array_equal(got, reference_hue_histogram(images, nbin))
    floats = pixels.reshape(1, 6, 36, 3) / 255.
    got = HSVHistogramTransformer(image_shape=(6, 36, 3), nbin=12).fit_transform(
        floats.reshape(1, -1))
    np.testing.assert_array_equal(got, reference_hue_histogram(floats, 12))


def test_hue_histogram_of_grey_images_is_all_in_the_first_bin():
    X = digits_images().reshape(60, -1)
    got = HSVHistogramTransformer(nbin=4).fit_transform(X)
    np.testing.assert_array_equal(got, np.tile([1., 0., 0., 0.], (60, 1)))


# estimator behaviour


def test_image_shape_inference_and_feature_names(cifar10_or_none):
    images = (np.zeros((4, 32, 32, 3), np.uint8) if cifar10_or_none is None
              else cifar10_or_none[0][:4])
    X = images.reshape(4, -1)
    hog = HOGTransformer(cells_per_block=(2, 2)).fit(X)
    assert hog.image_shape_ == (32, 32, 3) and hog.n_features_out_ == 324
    assert list(hog.get_feature_names_out()[:2]) == ["hog0", "hog1"]
    hog = HOGTransformer(pixels_per_cell=2).fit(digits_images().reshape(60, -1))
    assert hog.image_shape_ == (8, 8, 1)
    hsv = HSVHistogramTransformer(nbin=5).fit(X)
    assert list(hsv.get_feature_names_out()) == [f"hue{i}" for i in range(5)]
    with pytest.warns(UserWarning, match="one row of 10 grey pixels"):
        assert HSVHistogramTransformer().fit(np.ones((3, 10))).image_shape_ == (1, 10, 1)


@pytest.mark.parametrize("params, match", [
    (dict(image_shape=(8, 8, 2)), "holds 128 values per image"),
    (dict(image_shape=(8, -8)), "positive ints"),
    (dict(image_shape="8x8"), "'image_shape' parameter of HOGTransformer must be None, an instance of 'tuple'"),
    (dict(block_norm="L3"), "'block_norm' parameter of HOGTransformer must be a str among"),
    (dict(orientations=0), r"'orientations' parameter of HOGTransformer must be an int in the range \[1, inf\)"),
    (dict(pixels_per_cell=(2, 0)), "'pixels_per_cell' parameter of HOGTransformer must be an int .* or a pair"),
    (dict(cells_per_block=(1, 2, 3)), "'cells_per_block' parameter of HOGTransformer must be an int .* or a pair"),
    # a bool is a typo, not a number (bool is an Integral)
    (dict(orientations=True), "'orientations' parameter of HOGTransformer must be an int .* Got True"),
    (dict(pixels_per_cell=True), "'pixels_per_cell' parameter of HOGTransformer must be an int"),
    (dict(cells_per_block=(2, True)), "'cells_per_block' parameter of HOGTransformer must be an int .* or a pair"),
])
def test_hog_errors_name_the_problem(params, match):
    with pytest.raises(ValueError, match=match):
        HOGTransformer(**params).fit(digits_images().reshape(60, -1))


def test_errors_on_bad_input():
    X = digits_images().reshape(60, -1).astype(np.float64)
    bad = X.copy()
    bad[3, 5] = np.nan
    for est in (HOGTransformer(pixels_per_cell=2), HSVHistogramTransformer()):
        with pytest.raises(ValueError, match="NaN"):
            est.fit(bad)
    with pytest.raises(ValueError, match="Negative values.*transform_sqrt"):
        HOGTransformer(pixels_per_cell=2, transform_sqrt=True).fit(-X)
    with pytest.raises(ValueError, match="Negative values"):
        HSVHistogramTransformer().fit(-X)
    hog = HOGTransformer(pixels_per_cell=2).fit(X)
    with pytest.raises(ValueError, match="features"):
        hog.transform(X[:, :-1])
    with pytest.raises(ValueError, match=r"'nbin' parameter of HSVHistogramTransformer must be an int in the range \[1, inf\)"):
        HSVHistogramTransformer(nbin=0).fit(X)
    with pytest.raises(ValueError, match="'nbin' parameter of HSVHistogramTransformer must be an int .* Got True"):
        HSVHistogramTransformer(nbin=True).fit(X)


def test_images_too_small_for_a_block_warn_and_give_no_features():
    X = digits_images().reshape(60, -1)
    with pytest.warns(UserWarning, match="no whole block"):
        hog = HOGTransformer().fit(X)  # 8x8 images, 24x24 blocks
    assert hog.transform(X).shape == (60, 0)


def test_in_feature_union_and_pipeline_clone_and_pickle():
    images = digits_images()
    X = np.repeat(images, 3, axis=-1).reshape(len(images), -1)  # grey as RGB
    y = load_digits().target[:60]
    union = make_union(HOGTransformer(pixels_per_cell=(2, 2), cells_per_block=(2, 2)),
                       HSVHistogramTransformer(nbin=4))
    pipe = make_pipeline(union, StandardScaler(), LogisticRegression(max_iter=200))
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.9
    features = union.transform(X)
    assert features.shape == (60, 3 * 3 * 4 * 9 + 4)
    names = union.get_feature_names_out()
    assert names[0] == "hogtransformer__hog0" and names[-1] == "hsvhistogramtransformer__hue3"
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))
    np.testing.assert_array_equal(clone(union).fit_transform(X), features)


def test_verbose_reports_progress_on_large_batches(capsys, monkeypatch):
    import skdeep.features._extract as extract

    monkeypatch.setattr(extract, "_BATCH_VALUES", 64 * 10)
    X = digits_images().reshape(60, -1)
    quiet = HOGTransformer(pixels_per_cell=2, cells_per_block=2).fit_transform(X)
    assert capsys.readouterr().out == ""
    loud = HOGTransformer(pixels_per_cell=2, cells_per_block=2, verbose=1).fit_transform(X)
    out = capsys.readouterr().out
    assert "[HOGTransformer] HOG of 60/60 images" in out and out.count("\n") == 6
    np.testing.assert_array_equal(loud, quiet)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        HSVHistogramTransformer(verbose=1).fit_transform(np.repeat(X, 3, axis=1))
    assert "[HSVHistogramTransformer] hue histograms of 60/60" in capsys.readouterr().out


# dtypes: every input converted exactly or refused


def colour_images():
    rng = np.random.RandomState(0)
    return rng.randint(0, 256, size=(5, 16, 16, 3)).astype(np.uint8).reshape(5, -1)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int64, np.uint16, np.uint64])
def test_integer_pixels_within_0_255_give_the_uint8_features(dtype):
    X = colour_images()
    X = np.minimum(X, 127) if dtype == np.int8 else X
    for est in (HOGTransformer(pixels_per_cell=4, cells_per_block=2),
                HSVHistogramTransformer(nbin=7)):
        np.testing.assert_array_equal(est.fit_transform(X.astype(dtype)),
                                      clone(est).fit_transform(X.astype(np.uint8)))


def test_wide_integer_pixels_are_not_wrapped_around():
    # 12-bit pixels: their HOG is that of the same values as floats, not of img % 256
    X = np.random.RandomState(1).randint(0, 4096, size=(4, 16 * 16)).astype(np.int64)
    hog = HOGTransformer(pixels_per_cell=4, cells_per_block=2)
    np.testing.assert_array_equal(hog.fit_transform(X),
                                  clone(hog).fit_transform(X.astype(np.float64)))
    assert not np.array_equal(hog.transform(X), hog.transform(X % 256))


def test_float16_pixels_are_converted_exactly():
    # images in [0, 1]: uint8 truncation used to leave almost every feature zero
    X = (colour_images() / 255).astype(np.float16)
    hog = HOGTransformer(pixels_per_cell=4, cells_per_block=2)
    got = hog.fit_transform(X)
    # computed in float64, as skdeep.utils._dtypes.float_dtype promotes float16
    # everywhere
    from skdeep.utils._dtypes import float_dtype
    from skdeep.utils._images import as_pixel_values

    assert as_pixel_values(X, "HOGTransformer").dtype == float_dtype(X.dtype)
    np.testing.assert_array_equal(got, clone(hog).fit_transform(X.astype(np.float64)))
    hue = HSVHistogramTransformer()
    np.testing.assert_array_equal(hue.fit_transform(X),
                                  clone(hue).fit_transform(X.astype(np.float64)))
    # random images leave about one bin in five empty; truncation left 98% zero
    assert np.count_nonzero(got) > 0.5 * got.size


def test_negative_integers_are_refused_where_pixels_must_be_non_negative():
    X = colour_images().astype(np.int16) - 128  # wrapped to uint8 they looked fine
    with pytest.raises(ValueError, match="Negative values"):
        HSVHistogramTransformer().fit(X)
    with pytest.raises(ValueError, match="Negative values.*transform_sqrt"):
        HOGTransformer(pixels_per_cell=4, transform_sqrt=True).fit(X)
    HOGTransformer(pixels_per_cell=4, cells_per_block=2).fit_transform(X)


def test_boolean_and_unrepresentable_pixels_are_refused():
    X = colour_images()
    with pytest.raises(ValueError, match="boolean X"):
        HOGTransformer(pixels_per_cell=4).fit(X > 128)
    huge = X.astype(np.int64) * 2**50
    with pytest.raises(ValueError, match="beyond 2\\*\\*53"):
        HOGTransformer(pixels_per_cell=4).fit(huge)


def test_import_without_docstrings():
    import subprocess
    import sys

    subprocess.run([sys.executable, "-OO", "-c", "import skdeep.features"], check=True)
