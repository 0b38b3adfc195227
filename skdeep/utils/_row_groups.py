"""Rows grouped by content: what makes a sample weight of k the same as k copies.

Weighting a sample by an integer k should train exactly as k copies of it would,
wherever the copies stand in the data.  Both trainers that honour weights this
way (the linear classifiers' draws, the networks' epochs) first merge equal
(row, label) pairs into one group of summed weight and put the groups in an
order that depends on their contents only: then the weighted data and the data
with repeated rows are the same list of groups, in the same order.
"""
import numpy as np

# Columns whose bits order the rows before full comparisons: a few, spread out.
_KEY_COLUMNS = 4
# Odd multipliers that mix those columns' bits into one key.
_KEY_MULTIPLIERS = np.array([0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F,
                             0x165667B19E3779F9, 0x27D4EB2F165667C5], dtype=np.uint64)


def _canonical_order(X, y):
    """An order of the rows that depends on their contents, not their positions.

    Rows sort by label and a key mixed from the bits of a few spread-out
    columns; rows tied on both sort by all their values.  So equal (row, label)
    pairs end up adjacent, and the order is the same for any permutation of
    the data.  Returns the order and, for each adjacent pair in it, whether
    the two tie (their full values must still be compared).
    """
    bits = X.view(np.uint64 if X.itemsize == 8 else np.uint32)
    columns = np.unique(np.linspace(0, X.shape[1] - 1, _KEY_COLUMNS).astype(int))
    key = np.zeros(len(X), dtype=np.uint64)
    for column, multiplier in zip(columns, _KEY_MULTIPLIERS):
        # splitmix64's finalizer: float bits of round numbers end in zeros, and
        # the shifts spread their high bits over the whole key
        word = bits[:, column].astype(np.uint64)
        word ^= word >> np.uint64(31)
        word *= multiplier
        word ^= word >> np.uint64(29)
        key += word
    order = np.lexsort((key, y))
    ties = (key[order[1:]] == key[order[:-1]]) & (y[order[1:]] == y[order[:-1]])
    bounds = np.flatnonzero(np.concatenate(([True], ~ties, [True])))
    long_runs = np.flatnonzero(np.diff(bounds) > 1)
    for first, stop in zip(bounds[long_runs], bounds[long_runs + 1]):
        tied = order[first:stop]
        order[first:stop] = tied[np.lexsort(bits[tied].T[::-1])]
    return order, ties


def row_groups(X, y, sample_weight):
    """Distinct (row, label) pairs of positive weight, with their summed weights.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Float32 or float64 rows, C-contiguous.
    y : ndarray of shape (n_samples,)
        Integer labels.
    sample_weight : ndarray of shape (n_samples,) or None
        Non-negative weights.

    Returns
    -------
    groups : tuple of two ndarrays, or None
        ``(rows, weights)``: one row index per distinct pair of positive weight
        and the sum of the pair's weights.  When the pairs are distinct and
        every weight is 0 or 1, weighting only removes rows: ``rows`` are the
        kept rows in their own order, with weights of one, so that the result
        is the data with those rows removed.  Otherwise ``rows`` are in the
        canonical order of `_canonical_order`.  None when the pairs are
        distinct and there are no weights (or all are one): the rows then stand
        as they are.
    """
    if sample_weight is not None and np.all(sample_weight == 1):
        sample_weight = None  # unit weights are no weights
    order, same = _canonical_order(X, y)
    for i in np.flatnonzero(same):
        same[i] = np.array_equal(X[order[i]], X[order[i + 1]])
    if not same.any():
        if sample_weight is None:
            return None
        if np.all((sample_weight == 0) | (sample_weight == 1)):
            kept = np.flatnonzero(sample_weight)
            return kept, np.ones(len(kept))
    weights = np.ones(len(X)) if sample_weight is None else sample_weight
    starts = np.flatnonzero(np.concatenate(([True], ~same)))
    group_weights = np.add.reduceat(weights[order], starts)
    # rows of weight zero are as good as absent
    kept = group_weights > 0
    return order[starts][kept], group_weights[kept]


def are_whole_numbers(weights):
    """Whether group weights are whole numbers that count copies exactly: each
    an integer, and their sum below 2**53, where float64 still counts by ones."""
    return bool(np.all(weights == np.round(weights)) and weights.sum() < 2**53)
