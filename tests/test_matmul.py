"""The threads skdeep starts: the blocked product and the linear trainer's helper thread.

The threads change the time, never the bits.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skdeep.utils import _matmul
from skdeep.utils._matmul import HelperThread, InlineExecutor, matmul


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(512, 300, 64), (64, 300, 512), (7, 5, 3)])
def test_matmul_is_the_product_and_independent_of_threads(shape, dtype, monkeypatch):
    # small thresholds, so that these quick shapes take the blocked path too
    monkeypatch.setattr(_matmul, "_PARALLEL_MIN_WORK", 1 << 12)
    monkeypatch.setattr(_matmul, "_BLOCK_WORK", 1 << 12)
    monkeypatch.setattr(_matmul, "_MIN_BLOCK", 4)
    m, k, n = shape
    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k)).astype(dtype)
    b = rng.standard_normal((k, n)).astype(dtype)
    with threadpool_limits(1):
        one = matmul(a, b)
    with threadpool_limits(2, user_api="openmp"):
        two = matmul(a, b)
    np.testing.assert_array_equal(one, two)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    rtol = 1e-4 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(one, expected, rtol=rtol, atol=rtol * np.abs(expected).max())
    assert one.dtype == dtype


def test_matmul_writes_into_out_and_takes_transposed_views(monkeypatch):
    monkeypatch.setattr(_matmul, "_PARALLEL_MIN_WORK", 1 << 12)
    monkeypatch.setattr(_matmul, "_BLOCK_WORK", 1 << 12)
    monkeypatch.setattr(_matmul, "_MIN_BLOCK", 4)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((100, 256))
    dout = rng.standard_normal((100, 40))
    out = np.empty((256, 40))
    result = matmul(x.T, dout, out=out)
    assert result is out
    np.testing.assert_allclose(out, x.T @ dout, rtol=1e-12)


def test_block_bounds_depend_on_shapes_only():
    bounds = _matmul._block_bounds(1000, 1 << 40)
    assert bounds[0][0] == 0 and bounds[-1][1] == 1000
    assert all(hi == lo2 for (_, hi), (lo2, _) in zip(bounds, bounds[1:]))
    assert len(bounds) == _matmul._MAX_BLOCKS
    assert _matmul._block_bounds(1000, _matmul._BLOCK_WORK) is None


def test_helper_thread_runs_calls_in_order_and_reraises_their_errors():
    done = []
    with HelperThread() as helper:
        calls = [helper.submit(done.append, i) for i in range(50)]
        failing = helper.submit(int, "not a number")
        last = helper.submit(len, [1, 2, 3])
        assert last.result() == 3
        assert [call.result() for call in calls] == [None] * 50
        assert done == list(range(50))
        with pytest.raises(ValueError, match="invalid literal"):
            failing.result()


def test_inline_executor_runs_each_call_at_once():
    done = []
    with InlineExecutor() as inline:
        call = inline.submit(done.append, 1)
        assert done == [1]  # before result() is asked for
        assert call.result() is None
        with pytest.raises(ValueError, match="invalid literal"):
            inline.submit(int, "not a number")
