"""Convolution and max pooling of skdeep.nn beside PyTorch's and beside the naive loops.

Forward + backward (every gradient, dx included) of

(a) the three-layer net's convolution: 50 images 3x32x32, 32 filters 7x7, pad 3;
(b) a 3x3 convolution 64 -> 64 channels on 16x16 maps, batch of 128, pad 1;
(c) a 2x2 max pool of stride 2 on (a)'s output (50 x 32 x 32 x 32);

in float32, skdeep's ``conv_forward_fast`` / ``conv_backward_fast`` and
``max_pool_forward_fast`` / ``max_pool_backward_fast`` against
``torch.nn.functional.conv2d`` / ``max_pool2d`` with autograd on the CPU, both
limited to the same number of threads (skdeep's OpenMP and BLAS pools through
threadpoolctl, PyTorch through ``torch.set_num_threads``).  Each contestant runs in
a fresh process of its own (see ``_timing.contest`` and, for why,
``bench_convnet.py``), the order alternating over ``--rounds`` rounds (default 3);
in its process a contestant runs each case once to warm up (first calls allocate and
start thread pools), then ``--repeat`` times, and the best of all its runs counts.
The naive loops are timed once, in their own process, on the first image only and
scaled by the batch size (they are linear in it), since a full batch would take
minutes.

    python benchmarks/bench_conv.py [--threads N] [--repeat 7] [--rounds 3] [--skip-torch]

Goals: at most PyTorch's time (1.0x) for each convolution and for the pool.
"""
import argparse
import os
import time

import numpy as np
from threadpoolctl import threadpool_limits

# first, from benchmarks/ (the script's own directory): it may load torch (see there)
from _timing import (
    add_contest_arguments,
    contest,
    machine_line,
    peer_installed,
    print_contest_header,
    print_contestants,
    print_ratio,
    run_contestant,
    run_if_contestant,
)

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

GOALS = {"conv": 1.0, "pool": 1.0}


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


def cases():
    """``(kind, label, batch size, runners)`` of each case; the same data in every process."""
    rng = np.random.default_rng(0)
    return [
        ("conv", "(a) conv 3->32 7x7 pad 3, 50 x 32x32", 50, conv_case(50, 3, 32, 32, 7, 3, rng)),
        ("conv", "(b) conv 64->64 3x3 pad 1, 128 x 16x16", 128,
         conv_case(128, 64, 16, 64, 3, 1, rng)),
        ("pool", "(c) max pool 2x2 stride 2, 50 x 32 x 32x32", 50, pool_case(50, 32, 32, rng)),
    ]


def best_of(fn, repeat):
    """Best time of ``repeat`` calls of ``fn``, after one call to warm up."""
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def contestant(name):
    """A contest runner timing ``name`` (skdeep, naive or PyTorch) on every case."""
    def run(args):
        torch = None
        if name == "PyTorch":
            import torch

            torch.set_num_threads(args.threads)
        seconds = {}
        with threadpool_limits(limits=args.threads):
            for _, label, n, (skdeep_run, naive_run, torch_run) in cases():
                if name == "naive":  # one image, once: the loops take seconds
                    start = time.perf_counter()
                    naive_run()
                    seconds[label] = (time.perf_counter() - start) * n
                elif name == "PyTorch":
                    seconds[label] = best_of(lambda: torch_run(torch), args.repeat)
                else:
                    seconds[label] = best_of(skdeep_run, args.repeat)
        return {"seconds": seconds}
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--skip-torch", action="store_true")
    add_contest_arguments(parser)
    args = parser.parse_args()
    run_if_contestant(args, {name: contestant(name) for name in ("skdeep", "naive", "PyTorch")})

    print_contest_header(args.rounds)
    print(f"{args.threads} threads each; forward + backward, float32, best of "
          f"{args.repeat} per process")
    names = ["skdeep"]
    if not args.skip_torch and peer_installed("torch", "PyTorch"):
        names.append("PyTorch")
    records = contest(names, args.rounds)
    naive = run_contestant("naive")["seconds"]
    verdicts = []
    for kind, label, n, _ in cases():
        fast = records["skdeep"]["seconds"][label]
        print(f"\n{label}")
        print(f"  skdeep fast  {fast * 1e3:9.1f} ms")
        print(f"  skdeep naive {naive[label] * 1e3:9.1f} ms (1 image, scaled by {n}): "
              f"fast is {naive[label] / fast:.0f}x faster")
        if "PyTorch" in records:
            peer = records["PyTorch"]["seconds"][label]
            print(f"  PyTorch      {peer * 1e3:9.1f} ms")
            verdicts.append(print_ratio("  skdeep / PyTorch", fast, peer, GOALS[kind]))
    if verdicts:
        print(f"\n{sum(verdicts)} of {len(verdicts)} goals met")
    print_contestants(records)
    print(machine_line("the end"))


if __name__ == "__main__":
    main()
