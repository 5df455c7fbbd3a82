#!/usr/bin/env python3
"""torchvision's side of `detgrad bench nms`: times torchvision.ops.nms on the boxes and scores that
the C++ bench wrote as .npy files, writes the kept indices next to them (so the C++ side can check the
two results are identical) and prints one JSON line. `detgrad bench nms` runs it itself when
/usr/bin/python3 has torchvision; by hand:

    /usr/bin/python3 bench/bench_nms_torch.py --boxes B.npy --scores S.npy --iou 0.5 --keep-out K.npy

Time = best of --repeat runs after one warm-up, torch restricted to --threads threads (default 1:
detgrad's NMS is serial, and so is torchvision's CPU kernel apart from the sort).
"""
import argparse
import json
import time

import numpy as np
import torch
import torchvision


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--boxes", required=True)
    ap.add_argument("--scores", required=True)
    ap.add_argument("--iou", type=float, default=0.5)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--keep-out", default="")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    boxes = torch.from_numpy(np.load(a.boxes))
    scores = torch.from_numpy(np.load(a.scores))
    keep = torchvision.ops.nms(boxes, scores, a.iou)  # warm-up
    best = float("inf")
    for _ in range(a.repeat):
        t0 = time.perf_counter()
        keep = torchvision.ops.nms(boxes, scores, a.iou)
        best = min(best, time.perf_counter() - t0)
    if a.keep_out:
        np.save(a.keep_out, keep.numpy().astype(np.int64))
    print(json.dumps({"torchvision": torchvision.__version__, "seconds": best, "kept": int(keep.numel()),
                      "threads": a.threads}))


if __name__ == "__main__":
    main()
