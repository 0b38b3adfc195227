"""k-nearest-neighbour classification."""
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ..utils._param_validation import NumberInterval
from ..utils._validation import encode_labels

from ._pairwise import METRICS, _holds_uint8_values, _sq_norms, k_nearest

_N_NEIGHBORS = NumberInterval(Integral, 1, None, closed="left")


class KNNClassifier(ClassifierMixin, BaseEstimator):
    """Classifier voting among the k nearest training rows (brute force, compiled).

    Distances are computed by compiled kernels on every core, blocked so that
    temporary memory stays near ``working_memory`` megabytes whatever the data
    size.  Rows of integers in [0, 255] (uint8 images, or raw pixels as floats)
    take an exact integer path; L2 neighbours are screened with a BLAS product
    and then recomputed directly, so the neighbours and distances returned are
    exact, not subject to the cancellation of the usual Gram-matrix trick.

    Parameters
    ----------
    n_neighbors : int, default=5
        Number of neighbours that vote.
    metric : {'l2', 'l1'}, default='l2'
        Euclidean (``'l2'``) or Manhattan (``'l1'``) distance.
    n_jobs : int, default=None
        joblib jobs for the neighbour search, each over a chunk of the queries,
        with scikit-learn's meaning: None means 1 unless in a
        ``joblib.parallel_backend`` context, -1 means every core.  It does not
        set the kernels' threads: they use every core, as scikit-learn's
        compiled code does, obey ``OMP_NUM_THREADS`` and
        ``threadpoolctl.threadpool_limits``, run on one thread inside joblib
        worker threads, and are shared out among the jobs.  So None is fast.
        The jobs are threads of this process under every backend (the
        kernels release the GIL, and processes would only copy the training
        rows); to spread predictions over a dask cluster, map ``predict``
        over the chunks of a ``dask.array``.  Results do not depend on it.
    working_memory : float, default=None
        Megabytes (MiB) the temporary arrays of ``fit`` and of the neighbour
        search may take (converted chunks of queries, distance blocks, norms);
        None follows scikit-learn's ``working_memory`` setting
        (``sklearn.set_config`` or ``sklearn.config_context``, 1024 by
        default), as scikit-learn's own chunked computations do.  Lower it on
        small machines, raise it for fewer, larger blocks.
    verbose : int, default=0
        If nonzero, print progress about ten times during a long search
        (``predict``, ``predict_proba``, ``kneighbors`` on more than 1,024
        queries).

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels, sorted.
    n_features_in_ : int
        Number of features seen during fit.
    n_samples_fit_ : int
        Number of training rows.

    See Also
    --------
    skdeep.neighbors.pairwise_distances : The distances themselves.

    Notes
    -----
    Votes are unweighted; a tie between classes goes to the smallest class
    label (the first in ``classes_``).  Among rows at equal distance, the one
    that comes first in the training set is the nearer.

    ``fit`` takes no ``sample_weight``, like scikit-learn's
    ``KNeighborsClassifier``: fitting only stores the rows, and a weight per
    training row would have to mean a weighted vote, a different model from
    the CS231n majority vote of the spec.  Repeat rows to weight them.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skdeep import KNNClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = KNNClassifier(n_neighbors=3).fit(X[:1000], y[:1000])
    >>> round(clf.score(X[1000:], y[1000:]), 3)
    0.965
    """

    def __init__(self, n_neighbors=5, metric="l2", *, n_jobs=None, working_memory=None,
                 verbose=0):
        self.n_neighbors = n_neighbors
        self.metric = metric
        self.n_jobs = n_jobs
        self.working_memory = working_memory
        self.verbose = verbose

    _parameter_constraints: dict = {
        "n_neighbors": [_N_NEIGHBORS],
        "metric": [StrOptions(set(METRICS))],
        "n_jobs": [NumberInterval(Integral, None, -1, closed="right"),
                   NumberInterval(Integral, 1, None, closed="left"), None],
        "working_memory": [NumberInterval(Real, 0, np.inf, closed="neither"), None],
        "verbose": ["verbose"],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y):
        """Store the training rows and labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training rows (for images, flattened channels-last pixels).
        y : array-like of shape (n_samples,)
            Labels of any type.

        Returns
        -------
        self : KNNClassifier
            The fitted classifier.
        """
        X, y = validate_data(self, X, y, dtype="numeric")
        self.classes_, self._y = encode_labels(self, y, min_classes=1)
        # Checked once here rather than at every query: uint8-valued training
        # rows are stored as uint8, which the exact kernels read directly.
        self._fit_X = X.astype(np.uint8) if _holds_uint8_values(X, self.working_memory) else X
        # L2 screening needs the training rows' norms at every query; they are
        # a pass over the whole training set, so it is paid once.
        self._fit_sq_norms = (_sq_norms(self._fit_X, self.working_memory)
                              if self.metric == "l2" else None)
        self.n_samples_fit_ = X.shape[0]
        return self

    def kneighbors(self, X=None, n_neighbors=None, return_distance=True):
        """Find the nearest training rows of each query.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features), default=None
            Queries.  None means the training rows, each excluding itself.
        n_neighbors : int, default=None
            Number of neighbours; the estimator's ``n_neighbors`` when None.
        return_distance : bool, default=True
            Whether to return the distances too.

        Returns
        -------
        neigh_dist : ndarray of shape (n_queries, n_neighbors)
            Distances, ascending; only when ``return_distance=True``.
        neigh_ind : ndarray of shape (n_queries, n_neighbors)
            Indices of the neighbours in the training set.
        """
        check_is_fitted(self)
        k = self.n_neighbors if n_neighbors is None else n_neighbors
        if not _N_NEIGHBORS.is_satisfied_by(k):
            # a NumPy integer shows as its number, not as np.int64(0)
            shown = k if isinstance(k, Integral) else repr(k)
            raise ValueError(f"n_neighbors must be a positive integer, got {shown}.")
        query_is_train = X is None
        if query_is_train:
            X = self._fit_X
            k_search = k + 1
        else:
            X = validate_data(self, X, dtype="numeric", reset=False)
            k_search = k
        if k_search > self.n_samples_fit_:
            raise ValueError(
                f"Expected n_neighbors <= n_samples_fit, but n_neighbors = {k}, "
                f"n_samples_fit = {self.n_samples_fit_}"
                + (" (the training rows exclude themselves)" if query_is_train else "")
                + "."
            )
        dist, ind = k_nearest(X, self._fit_X, k_search, self.metric,
                              working_memory=self.working_memory, n_jobs=self.n_jobs,
                              Y_sq_norms=self._fit_sq_norms, verbose=self.verbose,
                              name=type(self).__name__)
        if query_is_train:
            # Drop each row itself; with duplicates it need not come first.
            rows = np.arange(len(ind))
            is_self = ind == rows[:, None]
            drop = np.where(is_self.any(axis=1), is_self.argmax(axis=1), k_search - 1)
            keep = np.ones(ind.shape, dtype=bool)
            keep[rows, drop] = False
            dist = dist[keep].reshape(len(ind), k)
            ind = ind[keep].reshape(len(ind), k)
        return (dist, ind) if return_distance else ind

    def _votes(self, X):
        ind = self.kneighbors(X, return_distance=False)
        labels = self._y[ind]
        votes = np.zeros((len(ind), len(self.classes_)), dtype=np.int64)
        np.add.at(votes, (np.arange(len(ind))[:, None], labels), 1)
        return votes

    def predict(self, X):
        """Majority label of the nearest training rows; ties go to the smallest label.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query rows.

        Returns
        -------
        y : ndarray of shape (n_queries,)
            Predicted class label of each query row.
        """
        votes = self._votes(X)
        return self.classes_[np.argmax(votes, axis=1)]

    def predict_proba(self, X):
        """Fraction of the neighbours' votes each class receives.

        Parameters
        ----------
        X : array-like of shape (n_queries, n_features)
            Query rows.

        Returns
        -------
        proba : ndarray of shape (n_queries, n_classes)
            Columns in the order of ``classes_``.
        """
        votes = self._votes(X)
        return votes / votes.sum(axis=1, keepdims=True)
