#!/usr/bin/env python3
"""PyTorch's side of `detgrad bench resnet18` (which runs this script itself right after its own
measurement, with the same thread count); one JSON line:

    /usr/bin/python3 bench/bench_resnet18_torch.py --threads 2

torchvision's resnet18 (random weights): forward at 1x3xSxS in eval mode under no_grad, and a training
step (forward + cross-entropy + backward, no optimiser update) at BxSxS in train mode. Best of --repeat
after one warm-up. Memory as in bench/resnet18.cpp: VmHWM reset through /proc/self/clear_refs before
each phase, reported as the peak and as the growth over the resident set at the phase's start.
"""
import argparse
import ctypes
import json
import time

import torch
import torch.nn.functional as F
import torchvision


def status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return float(line.split()[1]) / 1024.0
    return -1.0


def reset_peak():
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except OSError:
        pass
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def best_ms(repeat, f):
    f()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        best = min(best, (time.perf_counter() - t0) * 1e3)
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--size", type=int, default=224)
    ap.add_argument("--train-batch", type=int, default=8)
    ap.add_argument("--train-size", type=int, default=128)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    m = torchvision.models.resnet18()

    m.eval()
    x = torch.randn(1, 3, a.size, a.size)
    reset_peak()
    fwd_base = status_mb("VmRSS")

    def fwd():
        with torch.no_grad():
            m(x)

    fwd_ms = best_ms(a.repeat, fwd)
    fwd_peak = status_mb("VmHWM")

    m.train()
    xb = torch.randn(a.train_batch, 3, a.train_size, a.train_size)
    target = torch.randint(0, 1000, (a.train_batch,))
    reset_peak()
    train_base = status_mb("VmRSS")

    def step():
        m.zero_grad(set_to_none=True)
        F.cross_entropy(m(xb), target).backward()

    train_ms = best_ms(a.repeat, step)
    train_peak = status_mb("VmHWM")
    print(json.dumps({"bench": "resnet18_torch", "threads": torch.get_num_threads(), "torch": torch.__version__,
                      "fwd_ms": round(fwd_ms, 2), "train_ms": round(train_ms, 2),
                      "fwd_peak_mb": round(fwd_peak, 1), "fwd_growth_mb": round(fwd_peak - fwd_base, 1),
                      "train_peak_mb": round(train_peak, 1), "train_growth_mb": round(train_peak - train_base, 1)}))


if __name__ == "__main__":
    main()
