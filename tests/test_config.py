import io
import subprocess
import sys

import numpy as np
from _kernel_harness import kernel_pair

import skdeep
from skdeep._kernels import kernel_names, kernel_status


def test_show_config_reports_every_kernel():
    out = io.StringIO()
    all_compiled = skdeep.show_config(file=out)
    text = out.getvalue()
    status = kernel_status()
    assert set(status) == set(kernel_names()) and "_distances" in status
    for name, info in status.items():
        line = next(line for line in text.splitlines() if line.strip().startswith(name))
        assert ("compiled" in line) == info["compiled"]
    assert all_compiled == all(info["compiled"] for info in status.values())
    assert skdeep.__version__ in text


def test_import_is_light():
    code = ("import sys, skdeep; "
            "print(sorted(m for m in ('matplotlib', 'sklearn', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_distance_kernel_source_runs_as_python_and_agrees():
    loaded, pure = kernel_pair("_distances")
    rng = np.random.RandomState(0)
    X = rng.randint(0, 256, size=(4, 300)).astype(np.uint8)
    Y = rng.randint(0, 256, size=(6, 300)).astype(np.uint8)
    for kernel in ("l1_block_u8", "sq_l2_block_u8"):
        expected = np.empty((4, 6), np.int32)
        got = np.empty((4, 6), np.int32)
        getattr(loaded, kernel)(X, Y, expected)
        getattr(pure, kernel)(X, Y, got)
        np.testing.assert_array_equal(got, expected)
    Xf, Yf = X.astype(np.float32) / 7, Y.astype(np.float32) / 7
    for kernel in ("l1_block_float", "sq_l2_block_float"):
        expected = np.empty((4, 6))
        got = np.empty((4, 6))
        getattr(loaded, kernel)(Xf, Yf, expected)
        getattr(pure, kernel)(Xf, Yf, got)
        # float32 sums (eps 1.2e-7) that the compiled loop may add in another order
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    D = rng.randint(0, 5, size=(4, 30)).astype(np.int32)
    results = []
    for module in (loaded, pure):
        best_d = np.full((4, 3), np.iinfo(np.int32).max, np.int32)
        best_i = np.full((4, 3), -1, np.int64)
        module.merge_k_smallest(D, 10, best_d, best_i)
        results.append((best_d, best_i))
    order = np.argsort(D, axis=1, kind="stable")[:, :3]
    for best_d, best_i in results:
        np.testing.assert_array_equal(best_i, order + 10)
        np.testing.assert_array_equal(best_d, np.take_along_axis(D, order, axis=1))
