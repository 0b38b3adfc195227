"""The threads skdeep starts: the blocked product and the linear trainer's helper thread.

The threads change the time, never the bits.
"""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from skdeep.utils import _matmul
from skdeep.utils._matmul import HelperThread, InlineExecutor, matmul, matmuls, run_blocks


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
    # long enough for _MAX_BLOCKS blocks on a machine of any size
    length = 1000 * _matmul._MAX_BLOCKS
    bounds = _matmul._block_bounds(length, 1 << 40)
    assert bounds[0][0] == 0 and bounds[-1][1] == length
    assert all(hi == lo2 for (_, hi), (lo2, _) in zip(bounds, bounds[1:]))
    assert len(bounds) == _matmul._MAX_BLOCKS
    assert _matmul._block_bounds(length, _matmul._BLOCK_WORK) is None
    # a power of two of blocks, so that two or four threads share them evenly
    for work in range(2 * _matmul._BLOCK_WORK, 9 * _matmul._BLOCK_WORK, _matmul._BLOCK_WORK):
        n_blocks = len(_matmul._block_bounds(1 << 20, work))
        assert n_blocks & (n_blocks - 1) == 0
        assert n_blocks <= _matmul._MAX_BLOCKS


@pytest.mark.parametrize("threads", [1, 2])
def test_matmuls_gives_each_product_the_bits_of_matmul(threads, monkeypatch):
    # a layer's two gradients in one hand-off: one product blocked, one whole
    monkeypatch.setattr(_matmul, "_PARALLEL_MIN_WORK", 1 << 15)
    monkeypatch.setattr(_matmul, "_BLOCK_WORK", 1 << 12)
    monkeypatch.setattr(_matmul, "_MIN_BLOCK", 4)
    rng = np.random.default_rng(2)
    x = rng.standard_normal((64, 300)).astype(np.float32)
    dout = rng.standard_normal((64, 40)).astype(np.float32)
    w = rng.standard_normal((300, 40)).astype(np.float32)
    small = rng.standard_normal((3, 64)).astype(np.float32)
    with threadpool_limits(threads):
        dw, dx, tiny = matmuls([(x.T, dout), (dout, w.T), (small, x)])
    with threadpool_limits(1):
        expected = [matmul(x.T, dout), matmul(dout, w.T), matmul(small, x)]
    for got, want in zip((dw, dx, tiny), expected):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_allclose(dw, x.T.astype(np.float64) @ dout, rtol=1e-4, atol=1e-3)


def test_run_blocks_returns_results_in_order_and_raises_the_first_error():
    bounds = [(i, i + 1) for i in range(9)]
    with threadpool_limits(2, user_api="openmp"):
        assert run_blocks(lambda lo, hi: lo * 10 + hi, bounds) == [i * 11 + 1 for i in range(9)]

        def failing(lo, hi):
            if lo in (3, 6):
                raise ValueError(f"block {lo}")
            return lo

        with pytest.raises(ValueError, match="block 3"):
            run_blocks(failing, bounds)
        # a helper left by a failed call takes the next call's blocks as before
        assert run_blocks(lambda lo, hi: lo, bounds) == list(range(9))


def test_run_blocks_of_no_blocks_returns_at_once():
    # an empty batch gives no blocks; waiting for "the last block" would hang
    import threading

    results = []
    with threadpool_limits(2, user_api="openmp"):
        caller = threading.Thread(target=lambda: results.append(run_blocks(max, [])),
                                  daemon=True)
        caller.start()
        caller.join(30)
    assert results == [[]]


def test_run_blocks_runs_in_the_callers_errstate_and_may_nest():
    def block(lo, hi):
        with pytest.raises(FloatingPointError):
            np.float64(1.0) / np.float64(0.0)
        # a block that shares out blocks of its own does not wait for itself
        return sum(run_blocks(lambda a, b: b - a, [(0, 2), (2, 5)]))

    with threadpool_limits(2, user_api="openmp"), np.errstate(divide="raise"):
        assert run_blocks(block, [(i, i + 1) for i in range(6)]) == [5] * 6


def test_run_blocks_does_not_wait_for_a_helper_that_is_kept_busy():
    # a helper that cannot start (another process holds its core, or here another
    # task) takes no block: the calling thread does them all
    import contextvars
    import threading

    release = threading.Event()

    class Busy:
        def work(self):
            release.wait(30)

    with threadpool_limits(2, user_api="openmp"):
        helper = _matmul._helper_queues(1)[0]
        helper.put((Busy(), contextvars.copy_context()))
        try:
            ran_on = run_blocks(lambda lo, hi: threading.current_thread(),
                                [(i, i + 1) for i in range(4)])
        finally:
            release.set()
    assert ran_on == [threading.current_thread()] * 4


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
