"""ConvNetClassifier: a convolutional network as a scikit-learn classifier."""
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import StrOptions

from ..nn._views import TEST_TIME_VIEWS
from ..nn.callbacks import _LR_SCHEDULES, AUGMENT_BORDERS, AUGMENT_FLIPS
from ..nn.layer_utils import ACTIVATIONS, SPATIAL_NORMALIZATIONS
from ..nn.models import ConvNet
from ..utils._images import fit_image_shape as _fit_image_shape
from ..utils._param_validation import NumberInterval
from ._base import BaseNetClassifier, _as_list, _SequenceOfInts

# images the whitening layer's patch covariance is estimated from (airbench's count)
_WHITENING_IMAGES = 5000

# The named parameter sets of ConvNetClassifier.from_recipe.  "cifar10-fast": the
# tricks of the airbench CIFAR-10 speed records at a width for two CPU cores.  Its
# learning rate was chosen on 10,000 training images (docs/neural_network.md: 0.3 beat
# 0.2 and 0.4); its widths on the full set, where a wide last block gained 0.7 point
# over 32/64/64, 24 first-block filters with 160 last matched 32 with 128 at about
# the same multiply-adds, and a middle block of 96 gained 0.6 more once the step plan
# had made epochs cheaper; its epochs are what fits in 20 minutes of fit on two cores
# with a margin for slower hours.
RECIPES = {
    "cifar10-fast": {
        "num_filters": (24, 24, 96, 96, 160, 160),
        "filter_size": 3,
        "pool_every": 2,
        "pool_after": "first",
        "hidden_dim": (),
        "normalization": "batchnorm",
        "whitening": True,
        "dirac_init": True,
        "freeze_norm_scale": True,
        "norm_shift_lr_scale": 16.0,
        "bn_momentum": 0.4,
        "pool_before_norm": True,
        "label_smoothing": 0.2,
        "augment": True,
        "augment_flip": "alternating",
        "augment_pad": 2,
        "augment_border": "reflect",
        "update_rule": "sgd_momentum",
        "nesterov": True,
        "learning_rate": 0.3,
        "lr_schedule": "linear",
        "warmup_fraction": 0.2,
        "reg": 5e-4,
        "batch_size": 512,
        "num_epochs": 16,
        "validation_fraction": 0.0,
        "test_time_views": "flip+shift",
    },
}


class ConvNetClassifier(BaseNetClassifier):
    """Convolutional network on images given as rows, with spatial normalization.

    The network (:class:`skdeep.nn.models.ConvNet`) is ``{conv - [spatial norm]
    - relu - [2x2 max pool]} x len(num_filters) - {affine - [norm] - relu -
    [dropout]} x len(hidden_dim) - affine - softmax`` (GELU in place of every
    ReLU with ``activation='gelu'``): every convolution has
    stride 1 and is padded to keep the image size, and a 2x2 max pool of stride
    2 follows every ``pool_every``-th one.  The defaults are the three-layer net
    of the CS231n notebooks: 32 filters of 7x7, one pool, a hidden layer of 100.
    VGG-style stacks are ``num_filters=(32, 32, 64, 64, 128, 128),
    filter_size=3, pool_every=2``.

    Training is minibatch gradient descent in float32
    (:class:`skdeep.nn.solver.Solver`), with what a deeper net needs to train
    in a short budget: a per-step learning-rate schedule with warm-up,
    Nesterov momentum, label smoothing, weight averaging, augmentation by
    random or alternating flips and shifts, and flipped and shifted views at
    test time.  The first layers and normalizations of the airbench CIFAR-10
    speed records are options too (``whitening``, ``dirac_init``,
    ``freeze_norm_scale``, ``pool_before_norm``, ...), and
    :meth:`from_recipe` names a set of them.  A stratified
    share of the training data is held out to pick the epoch with the lowest
    validation loss (see ``monitor``).

    Parameters
    ----------
    image_shape : tuple (H, W, C) or (H, W), default=None
        Shape of one image; each row of ``X`` is an image flattened in
        channels-last order, ``images.reshape(len(images), -1)`` for images of
        shape (n, H, W, C).  None infers it from the number of features: square
        colour images when ``n_features / 3`` is a perfect square, else square
        grey ones when ``n_features`` is (3072 -> (32, 32, 3), 64 -> (8, 8, 1));
        any other length is read, with a warning, as one row of grey pixels.
    num_filters : int or tuple of int, default=32
        Filters of each conv layer, one layer per entry.
    filter_size : int or tuple of int, default=7
        Height and width of the filters: one odd size for every conv layer, or
        one per layer.
    pool_every : int, default=1
        A 2x2 max pool of stride 2 follows every ``pool_every`` conv layers;
        larger than ``len(num_filters)`` for no pooling.  Each pool needs an even
        height and width.
    hidden_dim : int or tuple of int, default=100
        Sizes of the hidden affine layers after the convolutions; 0 or () for
        none.
    normalization : {None, 'batchnorm', 'groupnorm'}, default=None
        Spatial batchnorm or spatial group norm after each convolution, and
        batchnorm or layernorm (respectively) after each hidden affine layer.
    num_groups : int, default=8
        Groups of the spatial group norm; must divide every ``num_filters``.
    activation : {'relu', 'gelu'}, default='relu'
        The activation after every conv and hidden affine layer: the ReLU, or
        the exact GELU ``x * Phi(x)``, ``Phi`` the standard normal CDF
        (PyTorch's default GELU, :func:`skdeep.nn.layers.gelu_forward`).  The
        GELU layers run unfused, slower than the ReLU's fused batchnorm.  Part
        of the architecture: a warm start keeps it.
    whitening : bool, default=False
        Start the network with a frozen "whitening" layer, the first layer of
        the airbench CIFAR-10 speed records: a 2x2 convolution whose filters
        are the eigenvectors of the covariance of the 2x2 patches (stride 1) of
        up to 5,000 images drawn from the rows passed to ``fit`` (from
        ``random_state``; the held-out validation rows may be among them, no
        label is used), each divided by ``sqrt(eigenvalue + whitening_eps)``:
        ``C * 4`` channels (12 for colour images) feed the first conv layer.
        The images are padded by one reflected row at the bottom and one
        column at the right, so the layer keeps their size.  Computed once
        when the network is initialized and never trained
        (``model_.frozen_params['W0']``).  Part of the architecture.
    whitening_eps : float, default=5e-4
        Used when ``whitening`` is True: added to each eigenvalue before the
        square root (airbench's value, for images standardized per channel;
        it bounds the gain of the directions of least variance).
    dirac_init : bool, default=False
        Each conv layer's first ``min(filters, input channels)`` filters start
        as the identity on their input channels (one at the centre of channel
        j for filter j, zeros elsewhere; PyTorch's ``dirac_``, as airbench
        initializes its convolutions), the others as ``weight_scale`` says.
    freeze_norm_scale : bool, default=False
        With ``normalization``: every normalization layer's scale (gamma)
        stays at one, untrained, as in airbench; only its shift (beta) is
        trained.  Part of the architecture.
    norm_shift_lr_scale : float, default=1.0
        With ``normalization``: the learning rate of the normalization layers'
        shifts (betas) is ``norm_shift_lr_scale`` times that of the other
        parameters, through warm-up and decay alike (airbench trains them 64
        times faster).
    bn_momentum : float, default=0.9
        With ``normalization='batchnorm'``: momentum of the running statistics
        used at prediction, ``running = bn_momentum * running + (1 -
        bn_momentum) * batch_statistic``, in [0, 1).  PyTorch's ``momentum`` is
        ``1 - bn_momentum``: airbench's 0.6 is 0.4 here, faster to follow the
        last batches of a short training.
    pool_before_norm : bool, default=False
        In a conv layer followed by a pool, pool straight after the
        convolution: conv - pool - [norm] - activation (airbench's order), so
        that the normalization and the activation run on maps a quarter the
        size.  Part of the architecture.
    pool_after : {'last', 'first'}, default='last'
        Which conv layer of each group of ``pool_every`` the pool follows: the
        last (layers ``pool_every``, ``2 * pool_every``, ...) or the first
        (layers 1, ``1 + pool_every``, ...: airbench's blocks [conv - pool -
        norm - act - conv - norm - act] with ``pool_every=2`` and
        ``pool_before_norm=True``, whose second convolution runs on the pooled
        maps).  With ``'first'`` the first conv layer is always followed by a
        pool.  Part of the architecture.
    augment : bool, default=False
        Each minibatch of every epoch sees randomly transformed copies of its
        images: flipped left-right (see ``augment_flip``) and shifted by up to
        ``augment_pad`` pixels in each direction, drawn uniformly from
        ``random_state``.  For images whose mirror image is the same class
        (else ``augment_flip=None``).
    augment_pad : int or None, default=None
        Used when ``augment`` is True: the largest shift, in pixels; None is an
        eighth of the width, at least 1 (4 pixels on 32x32 images).  A shift is
        a crop of the image padded by ``augment_pad`` pixels on each side.
    augment_flip : {'random', 'alternating'} or None, default='random'
        Used when ``augment`` is True.  ``'random'``: each image is flipped
        with probability 1/2 in every minibatch, a coin each time.
        ``'alternating'`` (the airbench CIFAR-10 speed records' flip): a coin
        per image picks about half of the images to flip in the first epoch,
        and every later epoch flips exactly the images the previous epoch did
        not, so that each image is seen flipped every other epoch; the coins
        are drawn once per ``fit`` (each ``partial_fit`` call, one epoch,
        draws new ones).  None: no flips.
    augment_border : {'zeros', 'reflect'}, default='zeros'
        Used when ``augment`` is True: what fills the pixels a shift brings
        in: zeros, or the image reflected across its border, the border row or
        column not repeated (``np.pad`` in mode ``'reflect'``; the records
        shift by up to 2 pixels with reflection).
    dropout_keep_ratio : float, default=1.0
        Probability of keeping each hidden affine unit during training; 1 means
        no dropout.
    update_rule : {'sgd', 'sgd_momentum', 'rmsprop', 'adam'}, default='adam'
        Update rule of :mod:`skdeep.nn.optim`, with its default settings apart
        from the learning rate and ``nesterov``.
    learning_rate : float, default=1e-3
        Peak learning rate.
    lr_decay : float, default=1.0
        Factor applied to the learning rate after each epoch.
    lr_schedule : {'constant', 'cosine', 'linear'}, default='constant'
        Decay of the learning rate at every step after the warm-up, down to zero
        at the end of ``fit``; with ``warmup_fraction`` around 0.2 to 0.3 this is
        the one-cycle schedule.  ``partial_fit`` has no schedule: it continues at
        the learning rate the previous call ended with (``learning_rate`` at
        first), as with ``lr_decay``.
    warmup_fraction : float, default=0.0
        Share of the steps of ``fit``, in [0, 1), over which the learning rate
        rises linearly to ``learning_rate``.
    nesterov : bool, default=False
        Nesterov's look-ahead momentum with ``update_rule='sgd_momentum'``.
    label_smoothing : float, default=0.0
        The training target puts ``1 - label_smoothing`` on the label and
        spreads ``label_smoothing`` uniformly over all classes, in [0, 1)
        (PyTorch's definition).  ``history_``'s ``val_loss`` stays the plain
        cross-entropy, the number comparable across settings.
    weight_averaging : float, 'lookahead' or None, default=None
        Decay of an exponential moving average of the weights, updated after
        every step; the network is evaluated with, and ends with, the averaged
        weights.  Typical values: 0.99 to 0.999.  ``'lookahead'``: the CIFAR-10
        speed records' kind instead: every 5 steps the average moves toward the
        weights (by ``1 - d_t``, ``d_t = 0.95**5 * (t / T)**3`` at step t of T)
        and the weights, batchnorm's running statistics included, are set to it;
        the net ends with the average (:class:`skdeep.nn.callbacks.Lookahead`).
    test_flip : bool, default=False
        Class scores are the mean of the scores of each image and of its
        mirror image, at prediction and when measuring accuracies.
    test_time_views : {None, 'flip', 'flip+shift'}, default=None
        At prediction (``decision_function``, ``predict``, ``predict_proba``,
        ``score``), the class scores (the logits, before the softmax) are
        averaged over views of each image, as in the airbench CIFAR-10 speed
        records.  ``'flip'``: the image and its mirror image, weight 1/2 each
        (the same as ``test_flip=True``).  ``'flip+shift'``: the image and its
        mirror, 1/4 each, and 1/8 each for the image moved one pixel down and
        right, moved one pixel up and left (the row and column brought in
        reflected across the border), and the mirrors of both.  The
        probabilities are the softmax of the averaged scores.  None: the image
        alone (or as ``test_flip`` says).  Not used when measuring the
        accuracies of each epoch during training, which would cost a forward
        pass per view; it may be set after ``fit``.
    reg : float, default=1e-4
        L2 strength: the loss gains ``0.5 * reg * sum(W**2)`` over the conv and
        affine weights.
    weight_scale : float or 'he', default='he'
        Initial weights are ``weight_scale`` times standard normal draws;
        ``'he'`` scales each layer by ``sqrt(2 / fan_in)``, the fan-in of a conv
        layer being ``channels * filter_size**2``, which keeps the scale of the
        activations through deep stacks of ReLUs whether the pixels are
        standardized or raw minus their mean.  The CS231n notebooks use 1e-3.
    batch_size : int, default=50
        Samples per minibatch.
    num_epochs : int, default=10
        Passes over the training data.
    validation_fraction : float, default=0.1
        Share of each class held out to choose the best epoch, in [0, 1).
    early_stopping : bool, default=False
        Stop when the ``monitor`` column (the validation loss by default) has
        not improved for ``n_iter_no_change`` epochs.
    n_iter_no_change : int, default=10
        Patience of ``early_stopping``, in epochs.
    monitor : {'val_loss', 'val_accuracy'}, default='val_loss'
        The column of ``history_`` that picks the epoch whose parameters the
        network keeps (the lowest validation loss, or the highest validation
        accuracy; ties go to the later epoch) and that ``early_stopping``
        watches.  The loss is the default: it is the objective being trained,
        weighted like it (by ``class_weight`` and ``sample_weight`` on the
        held-out split, by ``sample_weight_val`` on validation data passed to
        ``fit``), and continuous, where the accuracy of a small validation set
        moves in steps of whole rows and a handful of rows can decide it (an
        early epoch that happens to get a few nearly weightless rows right
        would beat the later epochs that follow the weights).  Keras'
        callbacks and scikit-learn's ``HistGradientBoostingClassifier`` stop
        on the loss by default too.  ``'val_accuracy'`` is the rule of the
        CS231n ``Solver``.
    warm_start : bool, default=False
        When True, ``fit`` continues from the fitted network (same architecture
        and classes) instead of initializing a new one.
    class_weight : dict, 'balanced' or None, default=None
        Weights of the classes, as scikit-learn's ``SGDClassifier`` defines
        them, multiplying ``sample_weight``: a dict ``{label: weight}``
        (classes it leaves out weigh 1; a label that is not a class is an
        error), or ``'balanced'``, each class weighing ``n_samples / (n_classes
        * count)`` with its count in ``y``, which trains exactly as
        ``sample_weight=compute_sample_weight('balanced', y)``; ``partial_fit``
        refuses ``'balanced'``, as one call's counts are not the data's.  None:
        every class weighs 1.
    dtype : {'float32', 'float64'}, default='float32'
        Dtype of training.  Predictions are always computed in float64 from
        the trained weights, in forward passes of a fixed number of images
        (padded), so an image's prediction does not depend on the other images
        passed with it; ``working_memory`` bounds how many images are prepared
        at a time, not the size of a forward pass.
    random_state : int, RandomState instance or None, default=None
        Source of all randomness: initial weights, validation split, minibatch
        order, dropout masks and augmentation.
    verbose : int, default=0
        1 prints one line per epoch, 2 also the loss every 10 iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    image_shape_ : tuple (H, W, C)
        The shape the rows are read as.
    model_ : ConvNet
        The trained network; ``model_.params`` holds ``W1, b1, ...``, the conv
        layers first.
    loss_history_ : list of float
        Training loss of each iteration.
    train_acc_history_ : list of float
        Training accuracy after each epoch.
    val_acc_history_ : list of float
        Validation accuracy after each epoch (empty without validation).
    best_val_acc_ : float or None
        Highest validation accuracy of the epochs of the last ``fit``; None
        without validation.  The network holds the parameters of the epoch
        picked by ``monitor``, the one with this accuracy only with
        ``monitor='val_accuracy'``.
    best_val_loss_ : float or None
        Lowest validation loss of the epochs of the last ``fit``, that of the
        epoch the network holds with ``monitor='val_loss'``; None without
        validation.
    n_iter_ : int
        Epochs trained since the network was initialized.
    history_ : list of dict
        One row per epoch since the network was initialized (continued by
        ``warm_start``, by a fit resumed from a checkpoint and by
        ``partial_fit``): ``epoch`` (1-based, counted from the first epoch),
        ``train_loss`` (mean of the epoch's minibatch losses),
        ``train_accuracy``, ``val_loss`` (weighted mean cross-entropy on the
        validation data), ``val_accuracy`` (both NaN without validation data,
        as in ``partial_fit``), ``learning_rate`` (of the epoch's last step) and
        ``seconds`` (wall time, evaluation included).
        :func:`skdeep.plotting.plot_history` draws it.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Names of features seen during ``fit``, when ``X`` has string column names.

    See Also
    --------
    MLPClassifier : The fully connected network on the same base.

    Notes
    -----
    Bad geometry is refused by ``fit`` before any training, each error naming
    its parameter: an ``image_shape`` that does not match the number of
    features, a filter larger than its layer's input, a pool after a layer
    whose output cannot be halved, a ``num_groups`` that does not divide the
    filters.  A loss that becomes NaN or infinite raises
    :class:`skdeep.exceptions.DivergenceError`, naming the learning rate.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import ConvNetClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = ConvNetClassifier(num_filters=16, filter_size=3, hidden_dim=64,
    ...                         num_epochs=5, random_state=0)
    >>> clf.fit(X[:1000] / 16, y[:1000]).score(X[1000:] / 16, y[1000:]) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseNetClassifier._parameter_constraints,
        "image_shape": [None, _SequenceOfInts(1)],
        "num_filters": [NumberInterval(Integral, 1, None, closed="left"),
                        _SequenceOfInts(1)],
        "filter_size": [NumberInterval(Integral, 1, None, closed="left"),
                        _SequenceOfInts(1)],
        "pool_every": [NumberInterval(Integral, 1, None, closed="left")],
        "hidden_dim": [NumberInterval(Integral, 0, None, closed="left"),
                       _SequenceOfInts(1)],
        "normalization": [StrOptions(set(SPATIAL_NORMALIZATIONS)), None],
        "num_groups": [NumberInterval(Integral, 1, None, closed="left")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "augment": ["boolean"],
        "augment_pad": [NumberInterval(Integral, 0, None, closed="left"), None],
        "augment_flip": [StrOptions(set(AUGMENT_FLIPS)), None],
        "augment_border": [StrOptions(set(AUGMENT_BORDERS))],
        "lr_schedule": [StrOptions(set(_LR_SCHEDULES))],
        "warmup_fraction": [NumberInterval(Real, 0, 1, closed="left")],
        "nesterov": ["boolean"],
        "label_smoothing": [NumberInterval(Real, 0, 1, closed="left")],
        "weight_averaging": [NumberInterval(Real, 0, 1, closed="neither"),
                             StrOptions({"lookahead"}), None],
        "test_flip": ["boolean"],
        "test_time_views": [StrOptions(set(TEST_TIME_VIEWS)), None],
        "whitening": ["boolean"],
        "whitening_eps": [NumberInterval(Real, 0, None, closed="neither")],
        "dirac_init": ["boolean"],
        "freeze_norm_scale": ["boolean"],
        "norm_shift_lr_scale": [NumberInterval(Real, 0, None, closed="neither")],
        "bn_momentum": [NumberInterval(Real, 0, 1, closed="left")],
        "pool_before_norm": ["boolean"],
        "pool_after": [StrOptions({"last", "first"})],
    }

    def __init__(self, image_shape=None, num_filters=32, filter_size=7, *,
                 pool_every=1, hidden_dim=100, normalization=None, num_groups=8,
                 activation="relu", whitening=False, whitening_eps=5e-4,
                 dirac_init=False, freeze_norm_scale=False, norm_shift_lr_scale=1.0,
                 bn_momentum=0.9, pool_before_norm=False, pool_after="last",
                 augment=False,
                 augment_pad=None, augment_flip="random", augment_border="zeros",
                 dropout_keep_ratio=1.0, update_rule="adam", learning_rate=1e-3,
                 lr_decay=1.0, lr_schedule="constant", warmup_fraction=0.0,
                 nesterov=False, label_smoothing=0.0, weight_averaging=None,
                 test_flip=False, test_time_views=None, reg=1e-4, weight_scale="he",
                 batch_size=50, num_epochs=10, validation_fraction=0.1,
                 early_stopping=False, n_iter_no_change=10, monitor="val_loss",
                 warm_start=False, class_weight=None, dtype="float32",
                 random_state=None, verbose=0):
        self.image_shape = image_shape
        self.num_filters = num_filters
        self.filter_size = filter_size
        self.pool_every = pool_every
        self.hidden_dim = hidden_dim
        self.normalization = normalization
        self.num_groups = num_groups
        self.activation = activation
        self.augment = augment
        self.augment_pad = augment_pad
        self.augment_flip = augment_flip
        self.augment_border = augment_border
        self.dropout_keep_ratio = dropout_keep_ratio
        self.update_rule = update_rule
        self.learning_rate = learning_rate
        self.lr_decay = lr_decay
        self.lr_schedule = lr_schedule
        self.warmup_fraction = warmup_fraction
        self.nesterov = nesterov
        self.label_smoothing = label_smoothing
        self.weight_averaging = weight_averaging
        self.test_flip = test_flip
        self.test_time_views = test_time_views
        self.whitening = whitening
        self.whitening_eps = whitening_eps
        self.dirac_init = dirac_init
        self.freeze_norm_scale = freeze_norm_scale
        self.norm_shift_lr_scale = norm_shift_lr_scale
        self.bn_momentum = bn_momentum
        self.pool_before_norm = pool_before_norm
        self.pool_after = pool_after
        self.reg = reg
        self.weight_scale = weight_scale
        self.batch_size = batch_size
        self.num_epochs = num_epochs
        self.validation_fraction = validation_fraction
        self.early_stopping = early_stopping
        self.n_iter_no_change = n_iter_no_change
        self.monitor = monitor
        self.warm_start = warm_start
        self.class_weight = class_weight
        self.dtype = dtype
        self.random_state = random_state
        self.verbose = verbose

    @classmethod
    def from_recipe(cls, name, **params):
        """A classifier with the parameters of a named recipe.

        Parameters
        ----------
        name : {'cifar10-fast'}
            The recipe.  ``'cifar10-fast'``: the tricks of the airbench
            CIFAR-10 speed records sized for two CPU cores: three blocks of two
            3x3 conv layers (24, 96 and 160 filters) with batchnorm, the pool of
            each block after its first convolution and before its
            normalization, no hidden affine layer, a
            whitening first layer, dirac initialization, batchnorm scales
            frozen at one and shifts trained 16 times faster, running
            statistics of momentum 0.4, label smoothing 0.2, alternating flips
            and shifts of up to 2 pixels with reflected borders, Nesterov SGD
            at 0.3 in minibatches of 512 with a warm-up over a fifth of the
            steps then a linear decay, 16 epochs (what fits in 20 minutes of
            fit on two cores of the machines we measured) without a held-out
            split, and the flip and shift views at prediction.  For 32x32
            colour images scaled to about unit variance (pixels minus their
            mean, divided by their standard deviation).  docs/neural_network.md
            measures what each trick is worth.
        **params : dict
            Parameters of the classifier that replace the recipe's (for
            example ``num_epochs``, ``random_state``, ``verbose``).

        Returns
        -------
        classifier : ConvNetClassifier
            Unfitted, with the recipe's parameters and ``params``.

        Raises
        ------
        ValueError
            When ``name`` is not a known recipe.
        TypeError
            When ``params`` names a parameter the classifier does not have.

        Examples
        --------
        >>> from skdeep import ConvNetClassifier
        >>> clf = ConvNetClassifier.from_recipe("cifar10-fast", num_epochs=2)
        >>> clf.batch_size, clf.num_epochs
        (512, 2)
        """
        if name not in RECIPES:
            raise ValueError(f"Unknown recipe {name!r}; the known recipes are "
                             f"{sorted(RECIPES)}.")
        return cls(**{**RECIPES[name], **params})

    # ---- hooks of BaseNetClassifier ------------------------------------------
    def _hidden_dims(self):
        return [h for h in _as_list(self.hidden_dim) if h != 0]

    def _filter_sizes(self):
        if isinstance(self.filter_size, Integral):
            return int(self.filter_size)
        return _as_list(self.filter_size)

    def _architecture(self, n_features, n_classes):
        with warnings.catch_warnings():
            # _build_model has warned about a strip of pixels already
            warnings.simplefilter("ignore", UserWarning)
            image_shape = _fit_image_shape(self.image_shape, n_features,
                                           type(self).__name__)
        return {
            "image_shape": image_shape,
            "num_filters": tuple(_as_list(self.num_filters)),
            "filter_size": self._filter_sizes(),
            "pool_every": self.pool_every,
            "hidden_dim": tuple(self._hidden_dims()),
            "n_classes": n_classes,
            "normalization": self.normalization,
            "num_groups": self.num_groups if self.normalization == "groupnorm" else None,
            "activation": self.activation,
            "whitening": self.whitening_eps if self.whitening else None,
            "freeze_norm_scale": self.freeze_norm_scale,
            "pool_before_norm": self.pool_before_norm,
            "pool_after": self.pool_after,
            "dropout_keep_ratio": self.dropout_keep_ratio,
            "dtype": np.dtype(self.dtype).name,
        }

    def _build_model(self, n_features, n_classes, rng):
        height, width, channels = _fit_image_shape(self.image_shape, n_features,
                                                   type(self).__name__)
        model = ConvNet(
            _as_list(self.num_filters),
            filter_size=self._filter_sizes(),
            pool_every=self.pool_every,
            hidden_dims=self._hidden_dims(),
            input_dim=(channels, height, width),
            num_classes=n_classes,
            normalization=self.normalization,
            num_groups=self.num_groups,
            activation=self.activation,
            dropout_keep_ratio=self.dropout_keep_ratio,
            label_smoothing=self.label_smoothing,
            test_flip=self.test_flip,
            reg=self.reg,
            weight_scale=self.weight_scale,
            dtype=np.dtype(self.dtype),
            random_state=rng,
            whitening=self._whitening_sample((height, width, channels), rng),
            whitening_eps=self.whitening_eps,
            dirac_init=self.dirac_init,
            freeze_norm_scale=self.freeze_norm_scale,
            norm_shift_lr_scale=self.norm_shift_lr_scale,
            bn_momentum=self.bn_momentum,
            pool_before_norm=self.pool_before_norm,
            pool_after=self.pool_after,
        )
        self.image_shape_ = (height, width, channels)
        return model

    def _init_model(self, X, classes, rows, sample_weight, rng):
        # _build_model is given no data, and the whitening layer is computed from it
        self._training_rows = (X, rows)
        try:
            super()._init_model(X, classes, rows, sample_weight, rng)
        finally:
            del self._training_rows

    def _whitening_sample(self, image_shape, rng):
        """Up to ``_WHITENING_IMAGES`` training images, (N, C, H, W) float64,
        drawn from ``rng`` (before the initial weights); None without whitening."""
        if not self.whitening:
            return None
        X, rows = self._training_rows
        if rows is None:
            rows = np.arange(X.shape[0])
        if len(rows) > _WHITENING_IMAGES:
            rows = np.sort(rng.choice(rows, _WHITENING_IMAGES, replace=False))
        images = X[rows].reshape((len(rows),) + tuple(image_shape))
        return images.transpose(0, 3, 1, 2) / self.input_scale_

    def _model_input(self, X, dtype):
        """Rows as images of shape (N, C, H, W), the layout of the conv layers."""
        images = X.reshape((X.shape[0],) + tuple(self.image_shape_))
        return np.ascontiguousarray(images.transpose(0, 3, 1, 2), dtype=dtype)

    def _model_settings(self):
        # not architecture: a warm start or partial_fit may change them
        return {**super()._model_settings(), "label_smoothing": self.label_smoothing,
                "test_flip": self.test_flip,
                "norm_shift_lr_scale": self.norm_shift_lr_scale,
                "bn_momentum": self.bn_momentum}

    def _solver_options(self, incremental):
        options = {
            "augment": self.augment,
            "augment_pad": self.augment_pad,
            "augment_flip": self.augment_flip,
            "augment_border": self.augment_border,
            "weight_averaging": self.weight_averaging,
            # the schedule spans the steps of one fit, and partial_fit has no end
            "lr_schedule": "constant" if incremental else self.lr_schedule,
            "warmup_fraction": 0.0 if incremental else self.warmup_fraction,
        }
        if self.update_rule == "sgd_momentum":
            options["optim_config"] = {"learning_rate": self.learning_rate,
                                       "nesterov": self.nesterov}
        return options

    # ---- prediction ----------------------------------------------------------
    def _prediction_model(self):
        model = super()._prediction_model()
        # on the copy, so that test_flip and test_time_views set after fit apply
        # without touching model_ (whose validation during training, to stay one
        # forward pass per image, uses test_flip alone)
        model.test_flip = self.test_flip
        model.test_time_views = self.test_time_views
        return model
