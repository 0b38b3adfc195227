"""Gather rows of a matrix into a batch buffer: the linear classifiers' batches.

Each SGD step of the linear classifiers reads ``batch_size`` random rows of the
training matrix and, when that matrix is float64, converts them to the float32
the step trains in.  NumPy does that as fancy indexing into a new float64 array
and then a conversion (two passes and a temporary per batch) or as a Python loop
over the rows; this is one pass that reads each value once and writes it
converted into the caller's buffer.  float32 rows gathered for float64 training
come here too; float64 into float64 is NumPy's ``take``.  Serial on purpose: the
trainer already runs the gather on a helper thread beside the matrix products.
Only ``skdeep.linear_model._sgd`` calls this.
"""

#pythran export gather_rows(float64[:, :] order(C), int64[:], float32[:, :] order(C))
#pythran export gather_rows(float32[:, :] order(C), int64[:], float32[:, :] order(C))
#pythran export gather_rows(float32[:, :] order(C), int64[:], float64[:, :] order(C))


def gather_rows(X, rows, out):
    """out[i, :] = X[rows[i], :] for every i, converted to out's dtype.

    ``rows`` must be valid row indices of ``X`` and ``out`` must have
    ``len(rows)`` rows of ``X.shape[1]`` values: the caller guarantees both,
    as the compiled loop does not check bounds.  Written a row at a time, not
    a value at a time, so that as plain Python it still runs at NumPy's speed
    per row.
    """
    for i in range(rows.shape[0]):
        out[i] = X[rows[i]]
