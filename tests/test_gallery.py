import numpy as np
import pytest
from sklearn.datasets import load_digits

from skdeep.plotting import plot_image_gallery

pytest.importorskip("matplotlib")


@pytest.fixture(autouse=True)
def headless():
    import matplotlib
    import matplotlib.pyplot as plt

    matplotlib.use("Agg")
    yield
    plt.close("all")


def test_one_row_per_group_with_counts_and_names():
    X, y = load_digits(return_X_y=True)
    X, y = X[:50], y[:50]
    fig = plot_image_gallery(X, y, group_names=[f"digit {d}" for d in range(10)],
                             n_per_group=3)
    axes = np.array(fig.axes).reshape(10, 3)
    labels = [row[0].get_ylabel() for row in axes]
    assert labels[0] == f"digit 0\n({np.sum(y == 0)})"
    shown = [len(ax.images) for ax in axes[:, 0]]
    assert shown == [1] * 10
    # a group with fewer images than n_per_group leaves blank axes
    fig = plot_image_gallery(X[:4], ["b", "a", "b", "b"], n_per_group=3)
    axes = np.array(fig.axes).reshape(2, 3)
    assert [len(ax.images) for ax in axes[0]] == [1, 0, 0]
    assert axes[0, 0].get_ylabel() == "a\n(1)" and axes[1, 0].get_ylabel() == "b\n(3)"


def test_colour_uint8_shown_as_is_and_floats_stretched():
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (2, 4, 4, 3)).astype(np.uint8)
    fig = plot_image_gallery(images.reshape(2, -1), [0, 0], n_per_group=2)
    np.testing.assert_array_equal(fig.axes[0].images[0].get_array(), images[0])
    fig = plot_image_gallery(images.reshape(2, -1) * 3.0, [0, 0], n_per_group=2)
    shown = np.asarray(fig.axes[1].images[0].get_array())
    assert shown.min() == 0 and shown.max() == 1


@pytest.mark.parametrize("args, match", [
    ((np.zeros((3, 64)), [0, 1]), "one entry per image"),
    ((np.zeros(64), [0]), "2-D"),
    ((np.full((1, 64), np.nan), [0]), "finite"),
    ((np.zeros((2, 10)), [0, 1]), "Cannot infer image_shape"),
])
def test_errors(args, match):
    with pytest.raises(ValueError, match=match):
        plot_image_gallery(*args)
