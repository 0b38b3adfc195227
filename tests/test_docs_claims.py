"""The exactness claims of the docs, each held to the tolerance the docs state.

docs/features.md: HOG of uint8 images is bit for bit scikit-image's with the L1 block
norms and within 1e-15 relative with the L2 ones.  docs/neural_network.md: a row's
network scores never depend on which other rows share its batch.

Also the inventories the docs give: README's table of estimators lists every public
estimator, and every number of kernels the docs state is the number there are.
"""
import pathlib
import re

import numpy as np
import pytest
from sklearn.datasets import load_digits

import skdeep
from skdeep import HOGTransformer, MLPClassifier
from skdeep._kernels import kernel_names

ROOT = pathlib.Path(__file__).resolve().parents[1]
NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve"
                .split())

# the tolerances the docs state (see the module docstring)
HOG_L2_RTOL = 1e-15


def _uint8_images():
    """Colour photographs and random noise, uint8, (n, 32, 32, 3)."""
    data = pytest.importorskip("skimage.data")
    astronaut = data.astronaut()
    photos = np.stack([astronaut[y:y + 32, x:x + 32]
                       for y in range(0, 480, 96) for x in range(0, 480, 96)])
    noise = np.random.RandomState(0).randint(0, 256, size=(8, 32, 32, 3), dtype=np.uint8)
    return np.concatenate([photos, noise])


def _assert_hog_claim(images, block_norm, cells_per_block):
    feature = pytest.importorskip("skimage.feature")
    got = HOGTransformer(image_shape=images.shape[1:], cells_per_block=cells_per_block,
                         block_norm=block_norm).fit_transform(images.reshape(len(images), -1))
    expected = np.array([feature.hog(image, pixels_per_cell=(8, 8),
                                     cells_per_block=cells_per_block,
                                     block_norm=block_norm, channel_axis=-1)
                         for image in images])
    if block_norm in ("L1", "L1-sqrt"):
        np.testing.assert_array_equal(got, expected)
    else:
        np.testing.assert_allclose(got, expected, rtol=HOG_L2_RTOL, atol=0)


@pytest.mark.parametrize("cells_per_block", [(2, 2), (3, 3)])
@pytest.mark.parametrize("block_norm", ["L1", "L1-sqrt", "L2", "L2-Hys"])
def test_hog_of_uint8_images_is_scikit_image_s_as_documented(block_norm, cells_per_block):
    _assert_hog_claim(_uint8_images(), block_norm, cells_per_block)


@pytest.mark.parametrize("block_norm", ["L1", "L2-Hys"])
def test_hog_of_cifar10_is_scikit_image_s_as_documented(block_norm, cifar10):
    _assert_hog_claim(np.asarray(cifar10[0][:100]), block_norm, (3, 3))


@pytest.mark.parametrize("kwargs", [{}, {"normalization": "layernorm"},
                                    {"hidden_layer_sizes": (200, 200)}])
def test_network_scores_do_not_depend_on_batching(kwargs):
    X, y = load_digits(return_X_y=True)
    clf = MLPClassifier(num_epochs=3, random_state=0, **kwargs).fit(X, y)
    X = X[:300]
    whole = clf.decision_function(X)
    one_by_one = np.vstack([clf.decision_function(X[i:i + 1]) for i in range(len(X))])
    np.testing.assert_array_equal(whole, one_by_one)
    np.testing.assert_array_equal(clf.predict(X),
                                  np.concatenate([clf.predict(X[i:i + 1])
                                                  for i in range(len(X))]))


def test_readme_estimator_table_lists_every_public_estimator():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("\n## Estimators\n", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \|", table, flags=re.MULTILINE)
    public_classes = [name for name in skdeep.__all__
                      if isinstance(getattr(skdeep, name), type)]
    assert sorted(listed) == sorted(public_classes)


def _stated_kernel_counts(text):
    """Each "N kernels" (N a numeral or a word up to twelve) in ``text``, as an int."""
    number = r"\d+|" + "|".join(NUMBER_WORDS)
    return [int(n) if n.isdigit() else NUMBER_WORDS.index(n.lower())
            for n in re.findall(rf"\b({number})\s+(?:compiled\s+)?kernels\b", text,
                                flags=re.IGNORECASE)]


def test_every_number_of_kernels_the_docs_state_is_the_real_one():
    assert _stated_kernel_counts("all five kernels, 6 compiled kernels") == [5, 6]
    pages = [ROOT / "README.md", ROOT / "DEVELOPERS.md",
             *sorted((ROOT / "docs").glob("*.md")), *sorted((ROOT / "docs").glob("*.rst"))]
    stated = {page.name: _stated_kernel_counts(page.read_text(encoding="utf-8"))
              for page in pages}
    stated["skdeep.__doc__"] = _stated_kernel_counts(skdeep.__doc__)
    n_kernels = len(kernel_names())
    assert {name: counts for name, counts in stated.items()
            if any(count != n_kernels for count in counts)} == {}
