"""MLPClassifier: a fully connected network as a scikit-learn classifier."""
from numbers import Integral, Real

import numpy as np
from sklearn.utils._param_validation import StrOptions

from ..nn.layer_utils import NORMALIZATIONS
from ..nn.models import FullyConnectedNet
from ..utils._param_validation import NumberInterval
from ._base import BaseNetClassifier, _as_list, _root_mean_square, _SequenceOfInts


class MLPClassifier(BaseNetClassifier):
    """Fully connected network with ReLUs, dropout and batch or layer normalization.

    The network is ``{affine - [norm] - relu - [dropout]} x (L - 1) - affine -
    softmax`` (:class:`skdeep.nn.models.FullyConnectedNet`), trained in float32 by
    minibatch gradient descent (:class:`skdeep.nn.solver.Solver`).  A stratified
    share of the training data is held out to pick the epoch with the lowest
    validation loss (see ``monitor``).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(100,)
        Sizes of the hidden layers.
    dropout_keep_ratio : float, default=1.0
        Probability of keeping each hidden unit during training (inverted
        dropout); 1 means no dropout.
    normalization : {None, 'batchnorm', 'layernorm'}, default=None
        Normalization after each hidden affine layer.
    label_smoothing : float, default=0.0
        The training target puts ``1 - label_smoothing`` on the label and
        spreads ``label_smoothing`` uniformly over all classes, in [0, 1).
        ``history_``'s ``val_loss`` stays the plain cross-entropy.
    update_rule : {'sgd', 'sgd_momentum', 'rmsprop', 'adam'}, default='adam'
        Update rule of :mod:`skdeep.nn.optim`, with its default settings apart
        from the learning rate.
    learning_rate : float, default=1e-3
        Initial learning rate.
    lr_decay : float, default=1.0
        Factor applied to the learning rate after each epoch.
    reg : float, default=1e-4
        L2 strength: the loss gains ``0.5 * reg * sum(W**2)`` over the weight
        matrices.
    weight_scale : float or 'he', default='he'
        Initialization.  ``'he'``: each layer's weights are ``sqrt(2 / fan_in)``
        times standard normal draws, which keeps unit-scale inputs at unit scale
        through the ReLU layers, and the inputs are made unit-scale: divided by
        ``input_scale_``, their root-mean-square over every entry measured at
        the first fit.  So raw pixels (mean image removed, scale about 60) and
        standardized features train alike, the scale of the data does not
        change the training, and it costs nothing on standardized features
        (scale 1).  A positive float: the CS231n initialization, ``weight_scale``
        times standard normal draws on the inputs as they are (the CS231n
        notebooks use values around 1e-2 on raw pixels).
    batch_size : int, default=200
        Samples per minibatch (at most the number of training samples).
    num_epochs : int, default=100
        Passes over the training data.
    validation_fraction : float, default=0.1
        Share of each class held out to choose the best epoch, in [0, 1).  Each
        class keeps at least one training sample; when nothing is left to hold out
        (or with 0), every sample trains and the last epoch is kept.
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
        and classes) instead of initializing a new one; the optimizer restarts.
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
        Dtype of the training computation.  Predictions are always computed in
        float64 from the trained weights, in forward passes of a fixed number of
        rows (padded), so a row's prediction does not depend on the other rows
        passed with it.
    random_state : int, RandomState instance or None, default=None
        Source of all randomness: initial weights, validation split, minibatch
        order and dropout masks.  An int gives identical results on identical
        inputs; None draws from NumPy's global random state, as scikit-learn's
        estimators do.
    verbose : int, default=0
        1 prints one line per epoch, ``(Epoch 3 / 10) train acc: ...; val_acc:
        ...; loss: ...`` (the training accuracy on up to 1,000 samples, the
        validation accuracy and the epoch's mean training loss); 2 also prints
        the loss every 10 iterations.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    model_ : FullyConnectedNet
        The trained network; ``model_.params`` holds ``W1, b1, ...``.  Its
        inputs are the rows of ``X`` divided by ``input_scale_``.
    input_scale_ : float
        What the rows are divided by before the network: their root-mean-square
        at the first fit with ``weight_scale='he'``, 1 with a numeric
        ``weight_scale``.  Kept by ``warm_start`` and ``partial_fit``.
    loss_history_ : list of float
        Training loss of each minibatch step (``ceil(n_train / batch_size)`` per
        epoch), over every epoch since the network was initialized.
    train_acc_history_ : list of float
        Training accuracy after each epoch, on up to 1,000 training samples.
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
        Epochs trained since the network was initialized (over every ``fit``
        with ``warm_start`` and every ``partial_fit``): the length of
        ``train_acc_history_``.  An iteration of a network is an epoch, as in
        scikit-learn's MLPClassifier, not a minibatch step.
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
    sklearn.neural_network.MLPClassifier : The multilayer perceptron of scikit-learn.

    Notes
    -----
    Raises :class:`skdeep.exceptions.DivergenceError`, naming the learning rate,
    when training diverges.

    ``sample_weight`` of whole numbers repeats samples: a sample of weight ``k``
    is trained on as ``k`` copies of it (an epoch visits every copy; the split
    and the minibatches are drawn over the copies), and one of weight zero is
    left out, so the fit equals the fit on the data with rows repeated or
    removed, to the last bit.  So that this holds wherever the copies stand,
    weighted data, and data in which a (row, label) pair repeats, are ordered
    by content (see the user guide); distinct unweighted rows keep their order.
    Other weights weigh the loss: each minibatch's loss is the mean of its
    samples' losses times their weights, rescaled to average one over the
    training samples, so an epoch's expected loss is the weighted mean loss;
    the validation loss and accuracy that pick the best epoch are weighted too.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import train_test_split
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skdeep import MLPClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    >>> clf = make_pipeline(StandardScaler(), MLPClassifier(num_epochs=20,
    ...                                                     random_state=0))
    >>> clf.fit(X_train, y_train).score(X_test, y_test) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **BaseNetClassifier._parameter_constraints,
        "hidden_layer_sizes": [NumberInterval(Integral, 1, None, closed="left"),
                               _SequenceOfInts(1)],
        "normalization": [StrOptions(set(NORMALIZATIONS)), None],
        "label_smoothing": [NumberInterval(Real, 0, 1, closed="left")],
    }

    def __init__(self, hidden_layer_sizes=(100,), *, dropout_keep_ratio=1.0,
                 normalization=None, label_smoothing=0.0, update_rule="adam",
                 learning_rate=1e-3,
                 lr_decay=1.0, reg=1e-4, weight_scale="he", batch_size=200,
                 num_epochs=100, validation_fraction=0.1, early_stopping=False,
                 n_iter_no_change=10, monitor="val_loss", warm_start=False,
                 class_weight=None, dtype="float32", random_state=None, verbose=0):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.dropout_keep_ratio = dropout_keep_ratio
        self.normalization = normalization
        self.label_smoothing = label_smoothing
        self.update_rule = update_rule
        self.learning_rate = learning_rate
        self.lr_decay = lr_decay
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

    def _hidden_dims(self):
        return _as_list(self.hidden_layer_sizes)

    def _input_scale(self, X, rows, sample_weight):
        if self.weight_scale != "he":
            return 1.0
        # He initialization keeps unit-scale inputs at unit scale through the
        # layers; dividing the inputs by their measured scale makes them so,
        # whatever their units (raw pixels have a scale of about 60), and keeps
        # the optimizer's steps in proportion to the weights
        scale = _root_mean_square(X, rows, sample_weight)
        return scale if 0 < scale < np.inf else 1.0

    def _architecture(self, n_features, n_classes):
        return {
            "n_features": n_features,
            "hidden_layer_sizes": tuple(self._hidden_dims()),
            "n_classes": n_classes,
            "normalization": self.normalization,
            "dropout_keep_ratio": self.dropout_keep_ratio,
            "dtype": np.dtype(self.dtype).name,
        }

    def _model_settings(self):
        # not architecture: a warm start or partial_fit may change it
        return {**super()._model_settings(), "label_smoothing": self.label_smoothing}

    def _build_model(self, n_features, n_classes, rng):
        return FullyConnectedNet(
            self._hidden_dims(),
            input_dim=n_features,
            num_classes=n_classes,
            dropout_keep_ratio=self.dropout_keep_ratio,
            normalization=self.normalization,
            label_smoothing=self.label_smoothing,
            reg=self.reg,
            weight_scale=self.weight_scale,
            dtype=np.dtype(self.dtype),
            random_state=rng,
        )
