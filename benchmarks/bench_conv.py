"""Convolution and max pooling of skdeep.nn beside PyTorch's and beside the naive loops.

Forward + backward (every gradient, dx included) of

(a) the three-layer net's convolution: 50 images 3x32x32, 32 filters 7x7, pad 3;
(b) a 3x3 convolution 64 -> 64 channels on 16x16 maps, batch of 128, pad 1;
(c) a 2x2 max pool of stride 2 on (a)'s output (50 x 32 x 32 x 32);

in float32, skdeep's ``conv_forward_fast`` / ``conv_backward_fast`` and
``max_pool_forward_fast`` / ``max_pool_backward_fast`` against
``torch.nn.functional.conv2d`` / ``max_pool2d`` with autograd on the CPU, both
limited to the same number of threads (skdeep's OpenMP and BLAS pools through
threadpoolctl, PyTorch through ``torch.set_num_threads``).  Runs alternate between
the two and the best of ``--repeat`` counts, so that both see the same machine load.
The naive loops are timed on the first image only and scaled by the batch size
(they are linear in it), since a full batch would take minutes.

    python benchmarks/bench_conv.py [--threads N] [--repeat 7] [--skip-torch]

Goals (issue 10): at most 1.5x PyTorch's time for each convolution, 1.0x for the pool.
"""
import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

from skdeep.nn.layers import (
    conv_backward_fast,
    conv_backward_naive,
    conv_forward_fast,
    conv_forward_naive,
    max_pool_backward_fast,
    max_pool_backward_naive,
    max_pool_forward_fast,
    max_pool_forward_naive,
)

GOALS = {"conv": 1.5, "pool": 1.0}


def conv_case(N, C, H, F, K, pad, rng):
    x = rng.standard_normal((N, C, H, H), dtype=np.float32)
    w = rng.standard_normal((F, C, K, K), dtype=np.float32) / np.float32(np.sqrt(C * K * K))
    b = rng.standard_normal(F, dtype=np.float32)
    conv_param = {"stride": 1, "pad": pad}
    dout = rng.standard_normal((N, F, H, H), dtype=np.float32)

    def skdeep_run(x=x, dout=dout, forward=conv_forward_fast, backward=conv_backward_fast):
        _, cache = forward(x, w, b, conv_param)
        return backward(dout, cache)

    def naive_run():
        return skdeep_run(x[:1].astype(np.float64), dout[:1].astype(np.float64),
                          conv_forward_naive, conv_backward_naive)

    def torch_run(torch):
        xt = torch.from_numpy(x).requires_grad_()
        wt = torch.from_numpy(w).requires_grad_()
        bt = torch.from_numpy(b).requires_grad_()
        out = torch.nn.functional.conv2d(xt, wt, bt, padding=pad)
        out.backward(torch.from_numpy(dout))
        return xt.grad, wt.grad, bt.grad

    return skdeep_run, naive_run, torch_run


def pool_case(N, C, H, rng):
    x = rng.standard_normal((N, C, H, H), dtype=np.float32)
    pool_param = {"pool_height": 2, "pool_width": 2, "stride": 2}
    dout = rng.standard_normal((N, C, H // 2, H // 2), dtype=np.float32)

    def skdeep_run(x=x, dout=dout, forward=max_pool_forward_fast,
                   backward=max_pool_backward_fast):
        _, cache = forward(x, pool_param)
        return backward(dout, cache)

    def naive_run():
        return skdeep_run(x[:1], dout[:1], max_pool_forward_naive, max_pool_backward_naive)

    def torch_run(torch):
        xt = torch.from_numpy(x).requires_grad_()
        out = torch.nn.functional.max_pool2d(xt, 2, 2)
        out.backward(torch.from_numpy(dout))
        return xt.grad

    return skdeep_run, naive_run, torch_run


def best_of(fns, repeat):
    """Best time of each function, running them in turn ``repeat`` times."""
    times = [[] for _ in fns]
    for fn in fns:  # warm-up: first calls allocate and spin up thread pools
        fn()
    for _ in range(repeat):
        for t, fn in zip(times, fns):
            start = time.perf_counter()
            fn()
            t.append(time.perf_counter() - start)
    return [min(t) for t in times]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip-torch", action="store_true")
    args = parser.parse_args()

    torch = None
    if not args.skip_torch:
        try:
            import torch
        except ImportError:
            print("PyTorch is not installed: timing skdeep alone")
    if torch is not None:
        torch.set_num_threads(args.threads)
        print(f"PyTorch {torch.__version__}")
    print(f"{args.threads} threads each, {os.cpu_count()} CPUs, load average "
          f"{os.getloadavg()[0]:.2f} at start; forward + backward, float32, best of "
          f"{args.repeat}")

    rng = np.random.default_rng(0)
    cases = [
        ("conv", "(a) conv 3->32 7x7 pad 3, 50 x 32x32", 50, conv_case(50, 3, 32, 32, 7, 3, rng)),
        ("conv", "(b) conv 64->64 3x3 pad 1, 128 x 16x16", 128,
         conv_case(128, 64, 16, 64, 3, 1, rng)),
        ("pool", "(c) max pool 2x2 stride 2, 50 x 32 x 32x32", 50, pool_case(50, 32, 32, rng)),
    ]
    verdicts = []
    with threadpool_limits(limits=args.threads):
        for kind, label, n, (skdeep_run, naive_run, torch_run) in cases:
            print(f"\n{label}")
            naive = best_of([naive_run], 1)[0] * n
            if torch is None:
                fast = best_of([skdeep_run], args.repeat)[0]
            else:
                fast, peer = best_of([skdeep_run, lambda: torch_run(torch)], args.repeat)
            print(f"  skdeep fast  {fast * 1e3:9.1f} ms")
            print(f"  skdeep naive {naive * 1e3:9.1f} ms (1 image, scaled by {n}): "
                  f"fast is {naive / fast:.0f}x faster")
            if torch is not None:
                ratio = fast / peer
                met = ratio <= GOALS[kind]
                print(f"  PyTorch      {peer * 1e3:9.1f} ms")
                print(f"  skdeep / PyTorch: {ratio:.2f}x "
                      f"({'meets' if met else 'misses'} the goal of {GOALS[kind]:.1f}x)")
                verdicts.append(met)
    if verdicts:
        print(f"\n{sum(verdicts)} of {len(verdicts)} goals met")


if __name__ == "__main__":
    main()
