"""ConvNet and ConvNetClassifier: gradients, geometry errors, training options, digits."""
import numpy as np
import pytest

from skdeep.nn.gradcheck import eval_numerical_gradient
from skdeep.nn.models import ConvNet


# ---- the model ----------------------------------------------------------------
@pytest.mark.parametrize("normalization, keep", [(None, 0.7), ("batchnorm", 1),
                                                  ("groupnorm", 0.7)])
def test_convnet_gradients(normalization, keep):
    model = ConvNet([2, 2, 2], filter_size=[3, 5, 3], pool_every=2, hidden_dims=[5, 4],
                    input_dim=(1, 6, 6), num_classes=3, normalization=normalization,
                    num_groups=2, dropout_keep_ratio=keep, label_smoothing=0.1, reg=0.1,
                    weight_scale="he", dtype=np.float64, seed=1, random_state=0)
    rng = np.random.RandomState(1)
    for name, value in model.params.items():
        # biases off zero: an all-zero input window would otherwise sit exactly on
        # the kink of the next ReLU, where finite differences are meaningless
        if name.startswith("b"):
            value[...] = rng.randn(*value.shape)
    X = rng.randn(3, 1, 6, 6)
    y = np.array([0, 2, 1])
    _, grads = model.loss(X, y)
    for name in sorted(model.params):
        numerical = eval_numerical_gradient(lambda _: model.loss(X, y)[0],
                                            model.params[name], verbose=False)
        # atol for the gradients that are zero: a bias before a normalization that
        # subtracts its channel's mean (batchnorm, or group norm with one channel
        # per group) does not change the loss
        np.testing.assert_allclose(grads[name], numerical, rtol=1e-5, atol=1e-8,
                                   err_msg=name)


def test_convnet_shapes_and_parameters():
    model = ConvNet([4, 6, 8], filter_size=[5, 3, 3], pool_every=2, hidden_dims=[10],
                    input_dim=(3, 16, 12), num_classes=7, normalization="groupnorm",
                    num_groups=2, random_state=0)
    assert model.output_shapes == [(4, 16, 12), (6, 8, 6), (8, 8, 6)]
    assert model.params["W1"].shape == (4, 3, 5, 5)
    assert model.params["W3"].shape == (8, 6, 3, 3)
    assert model.params["W4"].shape == (8 * 8 * 6, 10)
    assert model.params["W5"].shape == (10, 7)
    assert model.params["gamma1"].shape == (1, 4, 1, 1)  # spatial group norm
    assert model.params["gamma4"].shape == (10,)  # layernorm of the hidden layer
    assert "gamma5" not in model.params
    assert all(v.dtype == np.float32 for v in model.params.values())
    scores = model.loss(np.zeros((2, 3, 16, 12)))
    assert scores.shape == (2, 7) and scores.dtype == np.float32


def test_convnet_he_initialization_uses_the_fan_in():
    model = ConvNet([64], filter_size=5, hidden_dims=[], input_dim=(8, 16, 16),
                    weight_scale="he", dtype=np.float64, random_state=0)
    # fan-in of the conv layer: 8 channels x 5 x 5
    assert model.params["W1"].std() == pytest.approx(np.sqrt(2 / 200), rel=0.05)
    assert model.params["W2"].std() == pytest.approx(np.sqrt(2 / (64 * 8 * 8)), rel=0.05)


@pytest.mark.parametrize("kwargs, match", [
    (dict(filter_size=4), "filter_size must be odd"),
    (dict(filter_size=9), "filter_size 9 of conv layer 1 is larger"),
    (dict(num_filters=[4, 4, 4, 4], filter_size=1),
     "pool_every=1 puts a 2x2 pool after conv layer 4"),
    (dict(normalization="groupnorm", num_groups=3), "num_groups=3 must divide"),
])
def test_convnet_geometry_errors(kwargs, match):
    params = dict(num_filters=[4], filter_size=3, input_dim=(1, 8, 8))
    with pytest.raises(ValueError, match=match):
        ConvNet(**{**params, **kwargs})


def test_test_flip_averages_the_mirror_image():
    X = np.random.RandomState(0).randn(4, 3, 8, 8)
    plain = ConvNet([4], filter_size=3, hidden_dims=[5], input_dim=(3, 8, 8),
                    dtype=np.float64, random_state=0)
    flipped = ConvNet([4], filter_size=3, hidden_dims=[5], input_dim=(3, 8, 8),
                      test_flip=True, dtype=np.float64, random_state=0)
    expected = (plain.loss(X) + plain.loss(X[..., ::-1])) / 2
    np.testing.assert_allclose(flipped.loss(X), expected, rtol=1e-12)
    # training scores are of the images themselves
    y = np.arange(4)
    assert plain.loss(X, y)[0] == flipped.loss(X, y)[0]


# ---- plot_conv_filters ----------------------------------------------------------
def test_plot_conv_filters_tiles_each_filter_on_its_own_scale():
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from skdeep.plotting import plot_conv_filters

    weights = np.zeros((5, 3, 2, 2))
    weights[0, 0, 0, 0] = 1e-3  # a tiny filter is stretched like a large one
    weights[1, 2, 1, 1] = -50
    ax = plot_conv_filters(weights)
    grid = ax.images[0].get_array()
    # 5 filters -> 3 columns and 2 rows of 2x2 pixels with 1 pixel between them
    assert grid.shape == (5, 8, 3)
    np.testing.assert_array_equal(grid[0, 0], [1, 0, 0])  # red at its maximum
    np.testing.assert_array_equal(grid[0, 1], [0, 0, 0])
    np.testing.assert_array_equal(grid[1, 4], [1, 1, 0])  # the -50 is the minimum
    assert (grid[:, 2] == 0).all() and (grid[2] == 0).all()  # padding
    assert ax.get_title() == "5 filters of 2x2x3"
    # grey filters of a model, and the error for anything else
    model = ConvNet([4], filter_size=3, hidden_dims=[], input_dim=(1, 8, 8),
                    random_state=0)
    ax = plot_conv_filters(model, padding=0)
    assert ax.images[0].get_array().shape == (6, 6)
    with pytest.raises(ValueError, match="shape \\(F, C, HH, WW\\)"):
        plot_conv_filters(np.zeros((3, 3)))
    plt.close("all")
