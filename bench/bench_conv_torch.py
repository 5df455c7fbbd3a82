#!/usr/bin/env python3
"""PyTorch's side of `detgrad bench conv`: F.conv2d forward and forward+backward in f32 on the same
shapes, one JSON line per shape. `detgrad bench conv` runs this script itself (shape by shape, right
after its own measurement of that shape) when /usr/bin/python3 has torch; it can also be run alone:

    /usr/bin/python3 bench/bench_conv_torch.py --threads 2                 # every preset shape
    /usr/bin/python3 bench/bench_conv_torch.py --threads 2 --shape 8,64,56,56,64,3,1,1,1

A shape is N,C,H,W,O,k,stride,pad,groups (square kernel, bias on, every input requires grad, as in
the C++ bench). --clock cpu measures process CPU time instead of wall time. Times are the best of --repeat runs after one warm-up; FLOPs are counted as
2*N*O*Ho*Wo*(C/groups)*k*k per pass, forward+backward as 3 passes.
"""
import argparse
import json
import time

import torch
import torch.nn.functional as F

# The presets of bench/conv.cpp (same names, same order).
PRESETS = {
    "resnet_64x56": "8,64,56,56,64,3,1,1,1",
    "resnet_128x28": "8,128,28,28,128,3,1,1,1",
    "resnet_256x14": "8,256,14,14,256,3,1,1,1",
    "resnet_512x7": "8,512,7,7,512,3,1,1,1",
    "stem_7x7s2": "8,3,224,224,64,7,2,3,1",
    "depthwise_128x28": "8,128,28,28,128,3,1,1,128",
    "pointwise_256x14": "8,256,14,14,256,1,1,0,1",
}


def best_seconds(repeat, f, clock=time.perf_counter):
    f()
    best = float("inf")
    for _ in range(repeat):
        t0 = clock()
        f()
        best = min(best, clock() - t0)
    return best


def run(name, spec, repeat, clock="wall"):
    n, c, h, w, o, k, s, p, g = (int(v) for v in spec.split(","))
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(n, c, h, w, generator=gen).requires_grad_(True)
    wt = (torch.randn(o, c // g, k, k, generator=gen) * 0.1).requires_grad_(True)
    b = torch.randn(o, generator=gen).requires_grad_(True)
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    gout = torch.randn(n, o, ho, wo, generator=gen)
    flops = 2.0 * n * o * ho * wo * (c // g) * k * k

    def fwd():
        with torch.no_grad():
            F.conv2d(x, wt, b, stride=s, padding=p, groups=g)

    def fwd_bwd():
        x.grad = wt.grad = b.grad = None
        F.conv2d(x, wt, b, stride=s, padding=p, groups=g).backward(gout)

    tick = time.process_time if clock == "cpu" else time.perf_counter
    t_f = best_seconds(repeat, fwd, tick)
    t_fb = best_seconds(repeat, fwd_bwd, tick)
    return {"bench": "conv_torch", "name": name, "shape": spec, "threads": torch.get_num_threads(), "clock": clock,
            "torch": torch.__version__, "fwd_ms": round(t_f * 1e3, 3), "fwd_bwd_ms": round(t_fb * 1e3, 3),
            "fwd_gflops": round(flops / t_f * 1e-9, 2), "fwd_bwd_gflops": round(3 * flops / t_fb * 1e-9, 2)}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--shape", action="append", help="preset name or N,C,H,W,O,k,stride,pad,groups")
    ap.add_argument("--name", default=None, help="name to print for a single --shape")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall clock, or process CPU time (robust on a busy machine with 1 thread)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    shapes = args.shape or list(PRESETS)
    for sh in shapes:
        name = sh if sh in PRESETS else (args.name or "custom")
        print(json.dumps(run(name, PRESETS.get(sh, sh), args.repeat, args.clock)), flush=True)


if __name__ == "__main__":
    main()
