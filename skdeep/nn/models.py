"""Networks as the CS231n assignments define them: a ``params`` dict and a ``loss``.

A model keeps its parameters in ``model.params`` (``W1, b1, W2, ...``, plus
``gamma1, beta1, ...`` for normalization layers) and its L2 strength in
``model.reg``.  ``model.loss(X)`` returns class scores; ``model.loss(X, y)`` returns
the loss and a dict of gradients keyed like ``params``.
:class:`~skdeep.nn.solver.Solver` trains any object with that interface.
"""
import copy
import math
import numbers

import numpy as np

from ._checks import (
    check_array,
    check_choice,
    check_int,
    check_labels,
    check_number,
    check_shape,
)
from ..utils._dtypes import FLOAT_DTYPES
from ._arena import FRESH, arena_of
from ._random import as_rng
from ._views import TEST_TIME_VIEWS, view_average
from ._whitening import pad_for_whitening, whitening_filters
from .layer_utils import (
    ACTIVATIONS,
    NORMALIZATIONS,
    _affine_gelu_backward,
    _affine_gelu_forward,
    _conv_gelu_backward,
    _conv_gelu_forward,
    _conv_norm_relu_backward,
    _conv_norm_relu_forward,
    _conv_norm_relu_pool_backward,
    _conv_norm_relu_pool_forward,
    _conv_pool_norm_act_backward,
    _conv_pool_norm_act_forward,
    _planned_hidden_backward,
    _planned_hidden_forward,
    SPATIAL_NORMALIZATIONS,
    affine_norm_relu_backward,
    affine_norm_relu_forward,
    affine_relu_backward,
    affine_relu_forward,
    conv_relu_backward,
    conv_relu_forward,
    conv_relu_pool_backward,
    conv_relu_pool_forward,
)
from .layers import affine_backward, affine_forward, dropout_backward, dropout_forward
from .layers import _affine_backward, _affine_forward
from .layers import _conv_forward
from .layers import softmax_loss
from .optim import _sum_of_squares, _with_l2_penalty

__all__ = ["TwoLayerNet", "FullyConnectedNet", "ConvNet", "ThreeLayerConvNet"]


def _check_weight_scale(weight_scale):
    """``'he'`` or a finite standard deviation > 0, as ``MLPClassifier`` accepts.

    A scale of 0 starts every weight at zero: all hidden units of a layer then get
    the same gradient and stay identical, so the network never trains.
    """
    if isinstance(weight_scale, str):
        return check_choice(weight_scale, "weight_scale", ("he",))
    return check_number(weight_scale, "weight_scale", low=0, low_open=True)


def _draw_weights(rng, shape, fan_in, weight_scale, dtype):
    """Initial weights of ``shape``: normal draws times ``weight_scale``, or times
    He's ``sqrt(2 / fan_in)`` for ``'he'``."""
    scale = np.sqrt(2.0 / fan_in) if weight_scale == "he" else weight_scale
    return (scale * rng.standard_normal(shape)).astype(dtype)


def _check_int_list(values, name):
    """A sequence of ints >= 1 (hidden sizes, filter counts), as a list."""
    if isinstance(values, str) or not np.iterable(values):
        raise TypeError(f"{name} must be a list of ints, got {values!r}.")
    return [check_int(v, f"{name}[{i}]") for i, v in enumerate(values)]


def _check_dtype(dtype):
    """float32 or float64: the dtypes the layers compute in (another floating
    dtype would hold the parameters while some layers computed in float64)."""
    dtype = np.dtype(dtype)
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"dtype must be a floating point dtype the layers compute "
                        f"in, float32 or float64, got {dtype}.")
    return dtype


def _hidden_layers_forward(h, params, layers, normalization, norm_params,
                           dropout_param, activation="relu"):
    """``{affine - [norm] - relu/gelu - [dropout]}`` for each layer number in ``layers``.

    ``norm_params[i - 1]`` is layer i's ``bn_param``/``ln_param``; ``dropout_param``
    is empty for no dropout.  Returns the output and one ``(cache,
    dropout_cache)`` per layer.
    """
    caches = []
    for i in layers:
        W, b = params[f"W{i}"], params[f"b{i}"]
        if activation == "gelu":
            norm = None if normalization is None else (
                params[f"gamma{i}"], params[f"beta{i}"], norm_params[i - 1], normalization)
            h, cache = _affine_gelu_forward(h, W, b, norm)
        elif normalization is None:
            h, cache = affine_relu_forward(h, W, b)
        else:
            h, cache = affine_norm_relu_forward(
                h, W, b, params[f"gamma{i}"], params[f"beta{i}"],
                norm_params[i - 1], normalization)
        dropout_cache = None
        if dropout_param:
            h, dropout_cache = dropout_forward(h, dropout_param)
        caches.append((cache, dropout_cache))
    return h, caches


def _hidden_layers_backward(dh, caches, layers, normalization, grads,
                            activation="relu"):
    """Backward pass of :func:`_hidden_layers_forward`, filling ``grads``.

    Layer 1 is the network's first: its input needs no gradient, and skipping
    it saves its largest matrix product.
    """
    for i, (cache, dropout_cache) in zip(reversed(layers), reversed(caches)):
        if dropout_cache is not None:
            dh = dropout_backward(dh, dropout_cache)
        if activation == "gelu":
            dh, grads[f"W{i}"], grads[f"b{i}"], dgamma, dbeta = _affine_gelu_backward(
                dh, cache, compute_dx=i > 1)
            if normalization is not None:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        elif normalization is None:
            dh, grads[f"W{i}"], grads[f"b{i}"] = affine_relu_backward(
                dh, cache, compute_dx=i > 1)
        else:
            (dh, grads[f"W{i}"], grads[f"b{i}"], grads[f"gamma{i}"],
             grads[f"beta{i}"]) = affine_norm_relu_backward(dh, cache, compute_dx=i > 1)
    return dh


def _add_l2_penalty(loss, grads, params, reg, penalized):
    """``loss + 0.5 * reg * sum(W**2)`` over the weights named in ``penalized``, whose
    gradients gain ``reg * W``.

    The reference of the Solver's fused step, which hands ``reg`` to the update
    rule instead (:data:`skdeep.nn.optim._PENALIZED_RULES`); both sum the squares
    and add the penalty with the same functions.
    """
    if reg:
        loss = _with_l2_penalty(loss, reg, [_sum_of_squares(params[name])
                                            for name in penalized])
        for name in penalized:
            grads[name] += reg * params[name]
    return loss


def _weight_names(num_layers):
    """``W1..W{num_layers}``: the weights the L2 penalty applies to."""
    return tuple(f"W{i}" for i in range(1, num_layers + 1))


def _penalized_loss(model, X, y, sample_weight):
    """``model.loss``: the scores, or the data loss of ``model._data_loss`` with the
    L2 penalty added.  The Solver calls ``_data_loss`` itself and lets the update
    rule add the penalty (see :func:`_add_l2_penalty`)."""
    if y is None:
        return model._data_loss(X)
    loss, grads, penalized = model._data_loss(X, y, sample_weight)
    return _add_l2_penalty(loss, grads, model.params, model.reg, penalized), grads


def _loss_splits_off_penalty(model):
    """Whether ``model.loss`` is :func:`_penalized_loss` (skdeep's own models, unless a
    subclass or the instance replaces ``loss``), so that training may call
    ``model._data_loss`` and add the penalty itself without changing the result."""
    loss = getattr(getattr(model, "loss", None), "__func__", None)
    return loss is FullyConnectedNet.loss or loss is ConvNet.loss


def _dropout_param(keep_ratio, seed, random_state, rng):
    """The shared ``dropout_param`` of a model's dropout layers; empty without dropout."""
    if keep_ratio == 1:
        return {}
    dropout_param = {"mode": "train", "p": keep_ratio}
    if seed is not None:
        dropout_param["seed"] = seed
    elif random_state is not None:
        dropout_param["rng"] = rng
    return dropout_param


class FullyConnectedNet:
    """A fully connected network with ReLUs, optional normalization and dropout.

    Architecture: ``{affine - [batch/layer norm] - relu - [dropout]} x (L - 1) -
    affine - softmax``, where ``L = len(hidden_dims) + 1``.

    Parameters
    ----------
    hidden_dims : list of int
        Sizes of the hidden layers.
    input_dim : int, default=3072
        Size of the input; inputs of any shape are flattened to this many values.
    num_classes : int, default=10
        Number of classes.
    dropout_keep_ratio : float, default=1
        Probability of keeping each hidden unit; 1 means no dropout.
    normalization : {None, 'batchnorm', 'layernorm'}, default=None
        Normalization after each hidden affine layer.
    reg : float, default=0.0
        L2 strength: the loss gains ``0.5 * reg * sum(W**2)`` over the weight
        matrices (not biases, gammas or betas).
    weight_scale : float or 'he', default=1e-2
        Weights start as ``weight_scale`` times standard normal draws; ``'he'``
        (skdeep extension) uses ``sqrt(2 / fan_in)`` for each layer.  Biases and
        betas start at zero, gammas at one.
    dtype : numpy dtype, default=np.float32
        Dtype of the parameters and of the computation; use float64 for gradient
        checks.
    seed : int, default=None
        When set, every dropout layer uses the fixed mask of
        ``np.random.RandomState(seed)`` (for gradient checks).
    random_state : None, int, RandomState or Generator, default=None
        skdeep extension: source of the initial weights and, without ``seed``, of
        the dropout masks.  None uses NumPy's global random state, as CS231n does.
    label_smoothing : float, default=0.0
        skdeep extension: weight of the uniform distribution in the training
        target, in [0, 1) (see :func:`~skdeep.nn.layers.softmax_loss`).

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1, b1, ..., WL, bL`` and, with normalization, ``gamma1, beta1, ...,
        gamma{L-1}, beta{L-1}``.
    num_layers : int
        ``L``, the number of affine layers.
    use_dropout : bool
        Whether dropout layers are present.
    dropout_param : dict
        Shared by the dropout layers (see :func:`~skdeep.nn.layers.dropout_forward`).
    bn_params : list of dict
        One ``bn_param``/``ln_param`` per normalization layer; batchnorm keeps its
        running statistics here.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.models import FullyConnectedNet
    >>> model = FullyConnectedNet([20, 30], input_dim=15, num_classes=10,
    ...                           dtype=np.float64, random_state=0)
    >>> X = np.random.RandomState(0).randn(2, 15)
    >>> loss, grads = model.loss(X, np.array([0, 1]))
    >>> sorted(grads)
    ['W1', 'W2', 'W3', 'b1', 'b2', 'b3']
    """

    # models pickled before the option existed train on the plain target
    label_smoothing = 0.0

    def __init__(self, hidden_dims, input_dim=3 * 32 * 32, num_classes=10,
                 dropout_keep_ratio=1, normalization=None, reg=0.0,
                 weight_scale=1e-2, dtype=np.float32, seed=None, random_state=None,
                 label_smoothing=0.0):
        hidden_dims = _check_int_list(hidden_dims, "hidden_dims")
        input_dim = check_int(input_dim, "input_dim")
        num_classes = check_int(num_classes, "num_classes")
        check_choice(normalization, "normalization", (None, *NORMALIZATIONS))
        # the probability of keeping a unit, as in the CS231n notebooks
        check_number(dropout_keep_ratio, "dropout_keep_ratio", low=0, high=1,
                     low_open=True)
        weight_scale = _check_weight_scale(weight_scale)
        self.label_smoothing = check_number(label_smoothing, "label_smoothing", low=0,
                                            high=1, high_open=True)
        self.normalization = normalization
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = check_number(reg, "reg", low=0)
        self.num_layers = 1 + len(hidden_dims)
        self.input_dim = input_dim
        self.num_classes = num_classes
        self.dtype = _check_dtype(dtype)

        rng = as_rng(random_state)
        dims = [input_dim, *hidden_dims, num_classes]
        self.params = {}
        for i in range(1, self.num_layers + 1):
            fan_in, fan_out = dims[i - 1], dims[i]
            self.params[f"W{i}"] = _draw_weights(rng, (fan_in, fan_out), fan_in,
                                                 weight_scale, self.dtype)
            self.params[f"b{i}"] = np.zeros(fan_out, dtype=self.dtype)
            if normalization is not None and i < self.num_layers:
                self.params[f"gamma{i}"] = np.ones(fan_out, dtype=self.dtype)
                self.params[f"beta{i}"] = np.zeros(fan_out, dtype=self.dtype)

        self.dropout_param = _dropout_param(dropout_keep_ratio, seed, random_state, rng)
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        elif normalization == "layernorm":
            self.bn_params = [{} for _ in range(self.num_layers - 1)]

    def loss(self, X, y=None, sample_weight=None):
        """Class scores, or the loss and its gradients.

        Parameters
        ----------
        X : ndarray of shape (N, d_1, ..., d_k)
            Inputs, flattened to ``input_dim`` values each; cast to ``dtype``.
        y : ndarray of shape (N,), default=None
            Integer labels in ``[0, num_classes)``.  None selects test mode
            (dropout off, batchnorm with running statistics).
        sample_weight : ndarray of shape (N,), default=None
            skdeep extension: weight of each sample's data loss, as in
            :func:`~skdeep.nn.layers.softmax_loss`; batch statistics stay
            unweighted.

        Returns
        -------
        scores : ndarray of shape (N, num_classes)
            When ``y`` is None.
        loss : float
            Otherwise: mean softmax loss (with ``label_smoothing``) plus the L2
            penalty.
        grads : dict of str to ndarray
            Otherwise: gradients of the loss, keyed like ``params``.
        """
        return _penalized_loss(self, X, y, sample_weight)

    def _data_loss(self, X, y=None, sample_weight=None, *, reuse_grads=False):
        """As :meth:`loss` without the L2 penalty: scores, or ``(data_loss, grads,
        penalized)``, ``penalized`` naming the weights the penalty applies to.

        A training step runs on the model's step plan (:mod:`skdeep.nn._arena`).
        With ``reuse_grads`` the gradients are the plan's buffers too, rewritten
        by the next step: for a caller done with them by then (the Solver).
        """
        X = check_array(X, "X", min_ndim=2, shape_doc="(N, d_1, ..., d_k)")
        if math.prod(X.shape[1:]) != self.input_dim:
            raise ValueError(
                f"X has {math.prod(X.shape[1:])} values per sample but the model "
                f"has input_dim={self.input_dim}."
            )
        X = X.astype(self.dtype, copy=False)
        mode = "test" if y is None else "train"
        if y is not None:
            # before the forward pass, which would update batchnorm's running statistics
            y = check_labels(y, X.shape[0], self.num_classes)
            # reg is a public attribute, set again by the estimators after construction
            check_number(self.reg, "reg", low=0)
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        for bn_param in self.bn_params:
            bn_param["mode"] = mode

        params = self.params
        L = self.num_layers
        arena = arena_of(self) if mode == "train" else None
        if arena is not None:
            return self._planned_data_loss(X, y, sample_weight, arena, reuse_grads)
        h, caches = _hidden_layers_forward(X, params, range(1, L), self.normalization,
                                           self.bn_params, self.dropout_param)
        scores, out_cache = affine_forward(h, params[f"W{L}"], params[f"b{L}"])
        if mode == "test":
            return scores

        loss, dscores = softmax_loss(scores, y, label_smoothing=self.label_smoothing,
                                     sample_weight=sample_weight)
        grads = {}
        # the first layer's input needs no gradient: skipping it saves its largest GEMM
        dh, grads[f"W{L}"], grads[f"b{L}"] = affine_backward(
            dscores, out_cache, compute_dx=L > 1)
        _hidden_layers_backward(dh, caches, range(1, L), self.normalization, grads)
        return loss, grads, _weight_names(L)

    def _planned_data_loss(self, X, y, sample_weight, arena, reuse_grads):
        """The training step of :meth:`_data_loss` on the buffers of ``arena``: the
        same layers in the same order as the layer functions, so the same bits."""
        params, L = self.params, self.num_layers
        grad_buffers = arena.scope("grads") if reuse_grads else FRESH
        h, caches = X, []
        for i in range(1, L):
            norm = None if self.normalization is None else (
                params[f"gamma{i}"], params[f"beta{i}"], self.bn_params[i - 1],
                self.normalization)
            h, cache = _planned_hidden_forward(h, params[f"W{i}"], params[f"b{i}"], norm,
                                               self.dropout_param, arena.scope(i))
            caches.append(cache)
        scores, out_cache = _affine_forward(h, params[f"W{L}"], params[f"b{L}"],
                                            arena.scope(L))
        loss, dscores = softmax_loss(scores, y, label_smoothing=self.label_smoothing,
                                     sample_weight=sample_weight)
        grads = {}
        # a layer's input gradient is dead once the layer below has made its own:
        # two sets of backward buffers, taken in turn, serve every layer
        dh, grads[f"W{L}"], grads[f"b{L}"] = _affine_backward(
            dscores, out_cache, L > 1, arena.scope(("backward", L % 2)),
            grad_buffers.scope(L))
        for i in range(L - 1, 0, -1):
            dh, grads[f"W{i}"], grads[f"b{i}"], dgamma, dbeta = _planned_hidden_backward(
                dh, caches[i - 1], i > 1, arena.scope(("backward", i % 2)),
                grad_buffers.scope(i))
            if dgamma is not None:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
        return loss, grads, _weight_names(L)

    def astype(self, dtype):
        """A copy of the model whose parameters and running statistics are ``dtype``.

        Parameters
        ----------
        dtype : numpy dtype
            The floating-point type to convert to.

        Returns
        -------
        model : FullyConnectedNet
            Independent of this one; it shares no arrays or dicts with it.
        """
        model = copy.copy(self)
        model.dtype = _check_dtype(dtype)
        model.params = {k: v.astype(dtype) for k, v in self.params.items()}
        model.dropout_param = dict(self.dropout_param)
        model.bn_params = []
        for bn_param in self.bn_params:
            bn_param = dict(bn_param)
            for key in ("running_mean", "running_var"):
                if key in bn_param:
                    bn_param[key] = np.asarray(bn_param[key]).astype(dtype)
            model.bn_params.append(bn_param)
        return model


def _check_conv_stack(input_dim, num_filters, filter_size):
    """``(C, H, W)``, the filter counts and one filter size per conv layer, checked."""
    if len(input_dim) != 3:
        raise ValueError(f"input_dim must be (C, H, W), got {input_dim!r}.")
    input_dim = tuple(check_int(d, "each entry of input_dim") for d in input_dim)
    num_filters = _check_int_list(num_filters, "num_filters")
    if not num_filters:
        raise ValueError("num_filters must name at least one conv layer.")
    if isinstance(filter_size, numbers.Integral):
        filter_sizes = [filter_size] * len(num_filters)
    else:
        filter_sizes = list(filter_size)
        if len(filter_sizes) != len(num_filters):
            raise ValueError(
                f"filter_size must be an int or one size per conv layer: "
                f"{len(num_filters)} layers, got {filter_size!r}."
            )
    return input_dim, num_filters, [check_int(f, "filter_size") for f in filter_sizes]


class ConvNet:
    """A convolutional network of any depth, with optional normalization and dropout.

    Architecture: ``{conv - [spatial norm] - relu - [2x2 max pool]} x L_conv -
    {affine - [norm] - relu - [dropout]} x L_hidden - affine - softmax``, with
    GELU in place of every ReLU when ``activation='gelu'``.  Every
    convolution has stride 1 and is padded to keep the height and width; a max
    pool of a 2x2 window and stride 2 follows every ``pool_every``-th one.  With
    ``normalization='batchnorm'`` the conv layers get spatial batchnorm and the
    hidden affine layers batchnorm; with ``'groupnorm'`` the conv layers get
    spatial group norm and the hidden affine layers layernorm (group norm's
    per-sample statistics, for vectors).  The layers are the fast ones of
    :mod:`skdeep.nn.layer_utils`.

    Parameters
    ----------
    num_filters : sequence of int, default=(32,)
        Filters of each conv layer, in order.
    filter_size : int or sequence of int, default=7
        Height and width of the filters, for every conv layer or one per layer;
        odd, so that padding keeps the image size.
    pool_every : int, default=1
        A max pool follows conv layers ``pool_every``, ``2 * pool_every``, ...
    hidden_dims : sequence of int, default=(100,)
        Sizes of the hidden affine layers; empty for none.
    input_dim : tuple of int, default=(3, 32, 32)
        ``(C, H, W)`` of each input image.  Each pool needs an even height and
        width.
    num_classes : int, default=10
        Number of classes.
    normalization : {None, 'batchnorm', 'groupnorm'}, default=None
        Normalization after each conv and hidden affine layer (see above).
    num_groups : int, default=8
        Groups of the spatial group norm; must divide every layer's filter count.
    dropout_keep_ratio : float, default=1
        Probability of keeping each hidden affine unit; 1 means no dropout.
    label_smoothing : float, default=0.0
        Weight of the uniform distribution in the training target (see
        :func:`~skdeep.nn.layers.softmax_loss`).
    test_flip : bool, default=False
        In test mode (``y`` None), return the mean of the class scores of each
        image and of its left-right mirror image: ``test_time_views='flip'``.
    reg : float, default=0.0
        L2 strength: the loss gains ``0.5 * reg * sum(W**2)`` over the conv and
        affine weights (not biases, gammas or betas).
    weight_scale : float or 'he', default=1e-3
        Weights start as ``weight_scale`` times standard normal draws; ``'he'``
        uses ``sqrt(2 / fan_in)`` for each layer, with a conv layer's fan-in
        ``C * filter_size**2``, which keeps the activations' scale through a deep
        stack of ReLUs (He et al., 2015).  Biases and betas start at zero, gammas
        at one.
    dtype : numpy dtype, default=np.float32
        Dtype of the parameters and of the computation; use float64 for gradient
        checks.
    seed : int, default=None
        When set, every dropout layer uses the fixed mask of
        ``np.random.RandomState(seed)`` (for gradient checks).
    random_state : None, int, RandomState or Generator, default=None
        Source of the initial weights and, without ``seed``, of the dropout masks.
        None uses NumPy's global random state, as CS231n does.
    activation : {'relu', 'gelu'}, default='relu'
        The activation after every conv and hidden affine layer: the ReLU, or
        the exact GELU ``x * Phi(x)`` (:func:`~skdeep.nn.layers.gelu_forward`).
        The ReLU runs fused with batchnorm where the layers allow; the GELU runs
        as the layers in a row.
    test_time_views : {None, 'flip', 'flip+shift'}, default=None
        In test mode, the class scores averaged over views of each image: the
        mirror image (``'flip'``), and also one-pixel shifts with reflected
        borders (``'flip+shift'``), weighted as the airbench CIFAR-10 records
        do: 1/4 for the image and its mirror, 1/8 for each of the image moved
        one pixel down and right, moved one pixel up and left, and their
        mirrors.  None leaves the choice to ``test_flip``.
    whitening : ndarray of shape (N, C, H, W) or None, default=None
        A sample of training images: the network then starts with a frozen
        2x2 "whitening" convolution (the airbench CIFAR-10 speed records'
        first layer), whose filters are the eigenvectors of the covariance of
        the sample's 2x2 patches (stride 1), each divided by ``sqrt(eigenvalue
        + whitening_eps)``: ``whitening_filters`` output channels, the first
        conv layer's input.  The images are padded by one reflected row at the
        bottom and one column at the right first, so the layer keeps the
        height and width.  Its filters (``frozen_params['W0']``) are never
        trained.
    whitening_filters : int, default=None
        Eigenvectors kept, those of the largest eigenvalues, at most ``C * 4``;
        None keeps all of them.
    whitening_eps : float, default=5e-4
        Added to each eigenvalue before the square root.
    dirac_init : bool, default=False
        Each conv layer's first ``min(F, C)`` filters start as the identity:
        filter j is one at the centre of input channel j and zero elsewhere
        (PyTorch's ``dirac_``, as airbench initializes its convolutions), so
        that the layer first passes those channels through unchanged.
    freeze_norm_scale : bool, default=False
        The normalization layers' scales stay at one, untrained: the gammas
        are in ``frozen_params``, not ``params``.
    norm_shift_lr_scale : float, default=1.0
        Multiplier of the learning rate of the normalization layers' shifts
        (the betas), read by the Solver from ``lr_scales``.
    bn_momentum : float, default=0.9
        Momentum of batchnorm's running statistics, ``running = bn_momentum *
        running + (1 - bn_momentum) * batch_statistic`` (PyTorch's momentum is
        ``1 - bn_momentum``); smaller follows the last batches faster.
    pool_before_norm : bool, default=False
        In the conv layers followed by a pool: conv - pool - [norm] -
        activation (airbench's order), so that the normalization and the
        activation run on maps a quarter the size.
    pool_after : {'last', 'first'}, default='last'
        Which conv layer of each group of ``pool_every`` the pool follows: the
        last (layers ``pool_every``, ``2 * pool_every``, ...) or the first
        (layers 1, ``1 + pool_every``, ..., airbench's blocks, whose second
        convolution runs on the pooled maps).

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1, b1, ...`` numbered through the conv layers (weights of shape
        (F, C, HH, WW)) then the affine layers (shape (D, M)); with
        normalization, ``gamma{i}, beta{i}`` for every layer but the last, of
        shape (F,) for spatial batchnorm, (1, F, 1, 1) for group norm and (M,)
        for the affine layers' norms.
    num_conv_layers, num_layers : int
        Conv layers, and all layers with weights.
    output_shapes : list of tuple
        ``(F, H, W)`` after each conv layer, its pool included.
    conv_params : list of dict
        ``stride`` and ``pad`` of each conv layer.
    pool_param : dict
        The 2x2 window of stride 2.
    bn_params : list of dict
        One ``bn_param``/``gn_param``/``ln_param`` per normalization layer, in
        order; batchnorm keeps its running statistics here.
    dropout_param : dict
        Shared by the dropout layers.
    frozen_params : dict of str to ndarray
        Arrays the forward pass uses that training never changes: the
        whitening filters ``W0`` and their zero biases ``b0``, and the gammas
        (all ones) with ``freeze_norm_scale``.  Empty by default.
    lr_scales : dict of str to float
        Learning-rate multipliers of some parameters (the betas with
        ``norm_shift_lr_scale``), which :class:`~skdeep.nn.solver.Solver`
        applies; empty by default.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.models import ConvNet
    >>> model = ConvNet([4, 4], filter_size=3, pool_every=2, hidden_dims=[10],
    ...                 input_dim=(1, 8, 8), normalization='batchnorm',
    ...                 dtype=np.float64, random_state=0)
    >>> model.output_shapes
    [(4, 8, 8), (4, 4, 4)]
    >>> X = np.random.RandomState(0).randn(2, 1, 8, 8)
    >>> model.loss(X).shape
    (2, 10)
    """

    # models pickled before these options existed are ReLU networks without them
    activation = "relu"
    frozen_params = {}
    norm_shift_lr_scale = 1.0
    bn_momentum = 0.9
    pool_before_norm = False
    pool_after = "last"

    def __init__(self, num_filters=(32,), filter_size=7, pool_every=1,
                 hidden_dims=(100,), input_dim=(3, 32, 32), num_classes=10,
                 normalization=None, num_groups=8, dropout_keep_ratio=1,
                 label_smoothing=0.0, test_flip=False, reg=0.0, weight_scale=1e-3,
                 dtype=np.float32, seed=None, random_state=None, activation="relu",
                 test_time_views=None, whitening=None, whitening_filters=None,
                 whitening_eps=5e-4, dirac_init=False, freeze_norm_scale=False,
                 norm_shift_lr_scale=1.0, bn_momentum=0.9, pool_before_norm=False,
                 pool_after="last"):
        (channels, height, width), num_filters, filter_sizes = _check_conv_stack(
            input_dim, num_filters, filter_size)
        pool_every = check_int(pool_every, "pool_every")
        hidden_dims = _check_int_list(hidden_dims, "hidden_dims")
        num_classes = check_int(num_classes, "num_classes")
        check_choice(normalization, "normalization", (None, *SPATIAL_NORMALIZATIONS))
        if normalization == "groupnorm":
            num_groups = check_int(num_groups, "num_groups")
            for f in num_filters:
                if f % num_groups:
                    raise ValueError(
                        f"num_groups={num_groups} must divide the filter count of "
                        f"every conv layer, and {f} is not a multiple of it."
                    )
        check_number(dropout_keep_ratio, "dropout_keep_ratio", low=0, high=1,
                     low_open=True)
        check_number(label_smoothing, "label_smoothing", low=0, high=1, high_open=True)
        weight_scale = _check_weight_scale(weight_scale)

        self.pool_after = check_choice(pool_after, "pool_after", ("last", "first"))
        self._plan_conv_layers(num_filters, filter_sizes, pool_every, height, width)
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.normalization = normalization
        self.num_groups = num_groups
        self.label_smoothing = label_smoothing
        self.test_flip = bool(test_flip)
        self.test_time_views = check_choice(test_time_views, "test_time_views",
                                            (None, *TEST_TIME_VIEWS))
        self.use_dropout = dropout_keep_ratio != 1
        self.reg = check_number(reg, "reg", low=0)
        self.num_conv_layers = len(num_filters)
        self.num_layers = self.num_conv_layers + len(hidden_dims) + 1
        self.input_dim = (channels, height, width)
        self.num_classes = num_classes
        self.dtype = _check_dtype(dtype)
        self.pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
        self.norm_shift_lr_scale = check_number(norm_shift_lr_scale,
                                                "norm_shift_lr_scale", low=0, low_open=True)
        self.bn_momentum = check_number(bn_momentum, "bn_momentum", low=0, high=1,
                                        high_open=True)
        self.pool_before_norm = bool(pool_before_norm)
        self.frozen_params = {}
        if whitening is not None:
            channels = self._init_whitening(whitening, whitening_filters, whitening_eps)

        rng = as_rng(random_state)
        self._init_params(rng, channels, num_filters, filter_sizes,
                          [*hidden_dims, num_classes], weight_scale)
        if dirac_init:
            self._dirac_init()
        if freeze_norm_scale:
            for name in [n for n in self.params if n.startswith("gamma")]:
                self.frozen_params[name] = self.params.pop(name)
        self.bn_params = []
        if normalization == "batchnorm":
            self.bn_params = [{"mode": "train"} for _ in range(self.num_layers - 1)]
        elif normalization == "groupnorm":
            self.bn_params = ([{"G": num_groups} for _ in range(self.num_conv_layers)]
                              + [{} for _ in hidden_dims])
        self.dropout_param = _dropout_param(dropout_keep_ratio, seed, random_state, rng)

    def _plan_conv_layers(self, num_filters, filter_sizes, pool_every, height, width):
        """Padding, pools and output shape of each conv layer; refuses filters
        larger than their input and pools of an odd-sized output."""
        self.output_shapes = []
        self.conv_params = []
        self._pools = []
        for i, (f, size) in enumerate(zip(num_filters, filter_sizes), start=1):
            if size % 2 == 0:
                raise ValueError(
                    f"filter_size must be odd so that padding keeps the image size, "
                    f"got {size}."
                )
            if size > min(height, width):
                raise ValueError(
                    f"filter_size {size} of conv layer {i} is larger than its "
                    f"{height}x{width} input."
                )
            self.conv_params.append({"stride": 1, "pad": (size - 1) // 2})
            offset = 1 if self.pool_after == "first" else 0
            pool = (i - offset) % pool_every == 0
            if pool:
                if height % 2 or width % 2:
                    raise ValueError(
                        f"pool_every={pool_every} puts a 2x2 pool after conv layer "
                        f"{i}, which needs an even image height and width, but its "
                        f"output is {height}x{width}; fewer pools (a larger "
                        f"pool_every or fewer conv layers) or another image size are "
                        f"needed."
                    )
                height, width = height // 2, width // 2
            self._pools.append(pool)
            self.output_shapes.append((f, height, width))

    def _init_params(self, rng, channels, num_filters, filter_sizes, affine_dims,
                     weight_scale):
        """Weights drawn at ``weight_scale`` (or He's scale), zero biases, and the
        normalization layers' gammas at one and betas at zero."""
        shapes = []
        previous = channels
        for f, size in zip(num_filters, filter_sizes):
            shapes.append((f, previous, size, size))
            previous = f
        previous = int(np.prod(self.output_shapes[-1]))
        for dim in affine_dims:
            shapes.append((previous, dim))
            previous = dim
        self.params = {}
        for i, shape in enumerate(shapes, start=1):
            conv = len(shape) == 4
            fan_in = int(np.prod(shape[1:])) if conv else shape[0]
            out_dim = shape[0] if conv else shape[1]
            self.params[f"W{i}"] = _draw_weights(rng, shape, fan_in, weight_scale,
                                                 self.dtype)
            self.params[f"b{i}"] = np.zeros(out_dim, dtype=self.dtype)
            if self.normalization is not None and i < self.num_layers:
                norm_shape = ((1, out_dim, 1, 1)
                              if conv and self.normalization == "groupnorm"
                              else (out_dim,))
                self.params[f"gamma{i}"] = np.ones(norm_shape, dtype=self.dtype)
                self.params[f"beta{i}"] = np.zeros(norm_shape, dtype=self.dtype)

    def _init_whitening(self, images, num_filters, eps):
        """The frozen whitening layer from a sample of images; returns the
        channel count it feeds to the first conv layer."""
        images = check_array(images, "whitening", ndim=4, shape_doc="(N, C, H, W)")
        check_shape(images, "whitening", (None, *self.input_dim),
                    "(images of shape input_dim)")
        if num_filters is not None and check_int(num_filters, "whitening_filters") > (
                4 * self.input_dim[0]):
            raise ValueError(f"whitening_filters must be at most the {4 * self.input_dim[0]} "
                             f"values of a 2x2 patch, got {num_filters}.")
        check_number(eps, "whitening_eps", low=0, low_open=True)
        filters = whitening_filters(images, num_filters, eps).astype(self.dtype)
        self.frozen_params["W0"] = filters
        self.frozen_params["b0"] = np.zeros(len(filters), dtype=self.dtype)
        return len(filters)

    def _dirac_init(self):
        """Each conv layer's first ``min(F, C)`` filters as the identity on
        their input channels, like PyTorch's ``dirac_`` on ``w[:C]``."""
        for i in range(1, self.num_conv_layers + 1):
            W = self.params[f"W{i}"]
            n = min(W.shape[0], W.shape[1])
            W[:n] = 0
            W[np.arange(n), np.arange(n), W.shape[2] // 2, W.shape[3] // 2] = 1

    @property
    def lr_scales(self):
        """Learning-rate multipliers by parameter name, for the Solver."""
        if self.norm_shift_lr_scale == 1:
            return {}
        return {name: self.norm_shift_lr_scale for name in self.params
                if name.startswith("beta")}

    def _layer_params(self):
        """``params`` and ``frozen_params`` in one dict, as the layers read them."""
        if not self.frozen_params:
            return self.params
        return {**self.params, **self.frozen_params}

    def _whiten(self, X, buffers=FRESH):
        """The frozen whitening layer on images ``X`` (no gradient is needed)."""
        out, _ = _conv_forward(pad_for_whitening(X), self.frozen_params["W0"],
                               self.frozen_params["b0"], {"stride": 1, "pad": 0}, buffers)
        return out

    def _hidden_normalization(self):
        return {"batchnorm": "batchnorm", "groupnorm": "layernorm"}.get(self.normalization)

    def _forward(self, X, mode, buffers=FRESH):
        """Class scores of ``X`` in ``mode``, and the caches: ``(conv_caches,
        hidden_caches, output_cache)``, one per conv layer, one per hidden layer.
        Given an arena as ``buffers`` (training steps), the conv layers' maps and
        the scores are its buffers (see :meth:`_conv_layer_forward`)."""
        if self.use_dropout:
            self.dropout_param["mode"] = mode
        if self.normalization == "batchnorm":
            for bn_param in self.bn_params:
                bn_param["mode"] = mode
                bn_param["momentum"] = self.bn_momentum
        params, caches = self._layer_params(), []
        if "W0" in self.frozen_params:
            X = self._whiten(X, buffers.scope(0))
        h = X
        for i in range(1, self.num_conv_layers + 1):
            h, cache = self._conv_layer_forward(h, i, buffers.scope(i))
            caches.append(cache)
        L = self.num_layers
        h, hidden_caches = _hidden_layers_forward(
            h, params, range(self.num_conv_layers + 1, L), self._hidden_normalization(),
            self.bn_params, self.dropout_param, self.activation)
        scores, cache = _affine_forward(h, params[f"W{L}"], params[f"b{L}"],
                                        buffers.scope(L))
        return scores, (caches, hidden_caches, cache)

    def _conv_layer_forward(self, h, i, buffers=FRESH):
        """Conv layer ``i`` (1-based) on ``h``: its output and cache.  With a
        normalization, the convolution, the pool and a batchnorm-ReLU write to
        ``buffers``, the layer's part of the step plan; the GELU, group norm and
        the layers without normalization allocate their maps."""
        params = self._layer_params()
        W, b = params[f"W{i}"], params[f"b{i}"]
        conv_param = self.conv_params[i - 1]
        pool = self._pools[i - 1]
        if pool and self.pool_before_norm:
            norm = None if self.normalization is None else (
                params[f"gamma{i}"], params[f"beta{i}"], self.bn_params[i - 1],
                self.normalization)
            return _conv_pool_norm_act_forward(h, W, b, conv_param, self.pool_param,
                                               norm, self.activation, buffers)
        if self.activation == "gelu":
            norm = None if self.normalization is None else (
                params[f"gamma{i}"], params[f"beta{i}"], self.bn_params[i - 1],
                self.normalization)
            return _conv_gelu_forward(h, W, b, conv_param, norm,
                                      self.pool_param if pool else None)
        if self.normalization is None:
            if pool:
                return conv_relu_pool_forward(h, W, b, conv_param, self.pool_param)
            return conv_relu_forward(h, W, b, conv_param)
        norm = (params[f"gamma{i}"], params[f"beta{i}"], conv_param,
                self.bn_params[i - 1], self.normalization)
        if pool:
            return _conv_norm_relu_pool_forward(h, W, b, *norm, self.pool_param, buffers)
        return _conv_norm_relu_forward(h, W, b, *norm, buffers)

    def _conv_layer_backward(self, dh, cache, i, grads, buffers=FRESH):
        """Backward pass of conv layer ``i``, filling ``grads``; returns the
        gradient of its input (None for the first layer, whose input is the
        images, never needed).  ``buffers`` as in :meth:`_conv_layer_forward`."""
        compute_dx = i > 1
        pool_first = self._pools[i - 1] and self.pool_before_norm
        if self.activation == "gelu" or pool_first:
            if pool_first:
                dh, grads[f"W{i}"], grads[f"b{i}"], dgamma, dbeta = (
                    _conv_pool_norm_act_backward(dh, cache, compute_dx=compute_dx,
                                                 buffers=buffers))
            else:
                dh, grads[f"W{i}"], grads[f"b{i}"], dgamma, dbeta = _conv_gelu_backward(
                    dh, cache, compute_dx=compute_dx)
            if self.normalization is not None:
                grads[f"gamma{i}"], grads[f"beta{i}"] = dgamma, dbeta
            return dh
        pool = self._pools[i - 1]
        if self.normalization is None:
            backward = conv_relu_pool_backward if pool else conv_relu_backward
            dh, grads[f"W{i}"], grads[f"b{i}"] = backward(dh, cache,
                                                          compute_dx=compute_dx)
        else:
            backward = _conv_norm_relu_pool_backward if pool else _conv_norm_relu_backward
            (dh, grads[f"W{i}"], grads[f"b{i}"], grads[f"gamma{i}"],
             grads[f"beta{i}"]) = backward(dh, cache, compute_dx, buffers)
        return dh

    def loss(self, X, y=None, sample_weight=None):
        """Class scores, or the loss and its gradients.

        Parameters
        ----------
        X : ndarray of shape (N, C, H, W)
            Images, cast to ``dtype``.
        y : ndarray of shape (N,), default=None
            Integer labels in ``[0, num_classes)``.  None selects test mode
            (dropout off, batchnorm with running statistics, ``test_flip`` or
            ``test_time_views``).
        sample_weight : ndarray of shape (N,), default=None
            Weight of each sample's data loss, as in
            :func:`~skdeep.nn.layers.softmax_loss`; batch statistics stay
            unweighted.

        Returns
        -------
        scores : ndarray of shape (N, num_classes)
            When ``y`` is None.
        loss : float
            Otherwise: mean softmax loss (with ``label_smoothing``) plus the L2
            penalty.
        grads : dict of str to ndarray
            Otherwise: gradients of the loss, keyed like ``params``.
        """
        return _penalized_loss(self, X, y, sample_weight)

    def _data_loss(self, X, y=None, sample_weight=None, *, reuse_grads=False):
        """As :meth:`loss` without the L2 penalty: scores, or ``(data_loss, grads,
        penalized)``, ``penalized`` naming the weights the penalty applies to.

        A training step runs its conv layers and its output layer on the model's
        step plan (:mod:`skdeep.nn._arena`); the hidden affine layers and the
        gradients, small beside the maps, are allocated.  ``reuse_grads`` is
        accepted as :meth:`FullyConnectedNet._data_loss` takes it.
        """
        X = check_array(X, "X", ndim=4, shape_doc="(N, C, H, W)")
        check_shape(X, "X", (None, *self.input_dim), "(images of shape input_dim)")
        X = X.astype(self.dtype, copy=False)
        if y is None:
            # models pickled before test_time_views existed have no such attribute
            views = getattr(self, "test_time_views", None)
            if views is None and self.test_flip:
                views = "flip"
            return view_average(lambda images: self._forward(images, "test")[0], X,
                                views)

        y = check_labels(y, X.shape[0], self.num_classes)
        check_number(self.reg, "reg", low=0)
        arena = arena_of(self)
        buffers = FRESH if arena is None else arena
        scores, caches = self._forward(X, "train", buffers)
        loss, dscores = softmax_loss(scores, y, label_smoothing=self.label_smoothing,
                                     sample_weight=sample_weight)
        conv_caches, hidden_caches, out_cache = caches
        grads = {}
        L = self.num_layers
        dh, grads[f"W{L}"], grads[f"b{L}"] = _affine_backward(
            dscores, out_cache, True, buffers.scope(L), FRESH)
        dh = _hidden_layers_backward(dh, hidden_caches,
                                     range(self.num_conv_layers + 1, L),
                                     self._hidden_normalization(), grads, self.activation)
        for i in range(self.num_conv_layers, 0, -1):
            dh = self._conv_layer_backward(dh, conv_caches[i - 1], i, grads,
                                           buffers.scope(i))
        for name in self.frozen_params:
            grads.pop(name, None)
        return loss, grads, _weight_names(L)

    def astype(self, dtype):
        """A copy of the model whose parameters and running statistics are ``dtype``.

        Parameters
        ----------
        dtype : numpy dtype
            The floating-point type to convert to.

        Returns
        -------
        model : ConvNet
            Independent of this one; it shares no arrays or dicts with it.
        """
        model = FullyConnectedNet.astype(self, dtype)
        model.frozen_params = {k: v.astype(dtype) for k, v in self.frozen_params.items()}
        return model


class TwoLayerNet(FullyConnectedNet):
    """Two-layer network: affine - relu - affine - softmax.

    The :class:`FullyConnectedNet` with one hidden layer, in float64 by default.

    Parameters
    ----------
    input_dim : int, default=3072
        Size of the input.
    hidden_dim : int, default=100
        Size of the hidden layer.
    num_classes : int, default=10
        Number of classes.
    weight_scale : float, default=1e-3
        Standard deviation of the initial weights; biases start at zero.
    reg : float, default=0.0
        L2 strength, ``0.5 * reg * sum(W**2)`` over ``W1`` and ``W2``.
    dtype : numpy dtype, default=np.float64
        skdeep extension: dtype of the parameters and of the computation.
    random_state : None, int, RandomState or Generator, default=None
        skdeep extension: source of the initial weights; None uses NumPy's global
        random state.

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1`` (input_dim, hidden_dim), ``b1``, ``W2`` (hidden_dim, num_classes), ``b2``.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10,
                 weight_scale=1e-3, reg=0.0, dtype=np.float64, random_state=None):
        super().__init__([hidden_dim], input_dim=input_dim, num_classes=num_classes,
                         reg=reg, weight_scale=weight_scale, dtype=dtype,
                         random_state=random_state)


class ThreeLayerConvNet(ConvNet):
    """Three-layer convolutional network.

    Architecture: ``conv - relu - 2x2 max pool - affine - relu - affine - softmax``,
    the convolution of stride 1 padded to keep the height and width: the
    :class:`ConvNet` with one conv layer and one hidden layer.  It runs on
    the fast layers (:func:`~skdeep.nn.layers.conv_forward_fast` and
    :func:`~skdeep.nn.layers.max_pool_forward_fast`).

    Parameters
    ----------
    input_dim : tuple of int, default=(3, 32, 32)
        ``(C, H, W)`` of each input image; H and W must be even.
    num_filters : int, default=32
        Number of filters of the convolution.
    filter_size : int, default=7
        Height and width of the filters; odd, so that padding keeps the image size.
    hidden_dim : int, default=100
        Size of the hidden affine layer.
    num_classes : int, default=10
        Number of classes.
    weight_scale : float, default=1e-3
        Standard deviation of the initial weights; biases start at zero.
    reg : float, default=0.0
        L2 strength: the loss gains ``0.5 * reg * sum(W**2)`` over W1, W2 and W3.
    dtype : numpy dtype, default=np.float32
        Dtype of the parameters and of the computation; use float64 for gradient
        checks.
    random_state : None, int, RandomState or Generator, default=None
        skdeep extension: source of the initial weights; None uses NumPy's global
        random state, as CS231n does.

    Attributes
    ----------
    params : dict of str to ndarray
        ``W1`` (num_filters, C, filter_size, filter_size), ``b1`` (num_filters,),
        ``W2`` (num_filters * H * W / 4, hidden_dim), ``b2`` (hidden_dim,),
        ``W3`` (hidden_dim, num_classes), ``b3`` (num_classes,).
    conv_param : dict
        ``stride`` 1 and ``pad`` ``(filter_size - 1) // 2``.
    pool_param : dict
        A 2x2 window of stride 2.

    Examples
    --------
    >>> import numpy as np
    >>> from skdeep.nn.models import ThreeLayerConvNet
    >>> model = ThreeLayerConvNet(input_dim=(3, 8, 8), num_filters=4, filter_size=3,
    ...                           hidden_dim=10, dtype=np.float64, random_state=0)
    >>> X = np.random.RandomState(0).randn(2, 3, 8, 8)
    >>> model.loss(X).shape
    (2, 10)
    """

    def __init__(self, input_dim=(3, 32, 32), num_filters=32, filter_size=7,
                 hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0,
                 dtype=np.float32, random_state=None):
        super().__init__(
            [num_filters], filter_size=filter_size, hidden_dims=[hidden_dim],
            input_dim=input_dim, num_classes=num_classes, reg=reg,
            weight_scale=weight_scale, dtype=dtype, random_state=random_state)
        self.conv_param = self.conv_params[0]
