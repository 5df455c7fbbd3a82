#!/usr/bin/env python3
"""Golden cases for the box family of `detgrad ref` (boxes, IoU family, box and focal losses).

Run from anywhere (PyTorch and torchvision live in the system python):

    /usr/bin/python3 tests/golden/gen_golden_boxes.py
    /usr/bin/python3 tests/golden/gen_golden_boxes.py --check build/detgrad [--trials 5] [--seed 0]

The first form writes tests/golden/ops_boxes/*.npy and tests/golden/manifest_boxes.json in the manifest format of
tests/golden/README.md; tests/ops/test_golden.cpp runs every case through the ref registry. Seeded: two
runs write the same bytes. The second form (--check) writes nothing: it draws random problems for every
op, runs the built `detgrad ref` on them and compares against the same references (f64: relative error
<= 1e-10, f32: <= 1e-5, measured against the largest magnitude of each array).

The reference for each op is torchvision.ops where torchvision has it. Three ops have no torchvision
version; for them TORCH_OPS below re-states the reference formula with torch ops (written from the
papers and the authors' code, see docs/detection/focal.md):
  iou_loss             1 - I/(U+eps) or -log(max(I/(U+eps), eps)) with torchvision's _loss_inter_union
  centernet_focal_loss the CenterNet authors' _neg_loss on clamp(sigmoid(x), 1e-4, 1-1e-4)
  varifocal_loss       mmdetection's varifocal_loss (weight not detached; target a constant)
"""
import json
import math
import os
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.ops as tvo
from torchvision.ops._utils import _loss_inter_union

HERE = os.path.dirname(os.path.abspath(__file__))
OPS_DIR = os.path.join(HERE, "ops_boxes")
MANIFEST = os.path.join(HERE, "manifest_boxes.json")
DTYPES = {"f64": (np.float64, torch.float64), "f32": (np.float32, torch.float32)}
F64 = ("f64",)
BOTH = ("f64", "f32")


# ----------------------------------------------------------------------------------------------
# 1. The reference meaning of every op, from tensors t and attribute strings a.
# ----------------------------------------------------------------------------------------------
def _eps(a):
    return float(a.get("eps", "1e-7"))


def _red(a):
    return a.get("reduction", "none")


def _iou_loss(t, a):
    b1, b2 = t["boxes1"], t["boxes2"]
    eps = _eps(a)
    inter, union = _loss_inter_union(b1, b2)
    iou = inter / (union + eps)
    loss = 1 - iou if a.get("mode", "linear") == "linear" else -torch.log(iou.clamp(min=eps))
    return _reduce(loss, _red(a))


def _reduce(loss, red):
    if red == "mean":
        return loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()
    if red == "sum":
        return loss.sum()
    return loss


def _centernet(t, a):
    x, gt = t["input"], t["target"]
    alpha, beta = float(a.get("alpha", "2")), float(a.get("beta", "4"))
    pred = torch.clamp(torch.sigmoid(x), min=1e-4, max=1 - 1e-4)
    pos_inds = gt.eq(1).to(x.dtype)
    neg_inds = gt.lt(1).to(x.dtype)
    neg_weights = torch.pow(1 - gt, beta)
    pos_loss = (torch.log(pred) * torch.pow(1 - pred, alpha) * pos_inds).sum()
    neg_loss = (torch.log(1 - pred) * torch.pow(pred, alpha) * neg_weights * neg_inds).sum()
    num_pos = pos_inds.sum()
    if num_pos == 0:
        return -neg_loss
    return -(pos_loss + neg_loss) / num_pos


def _varifocal(t, a):
    x, q = t["input"], t["target"]
    alpha, gamma = float(a.get("alpha", "0.75")), float(a.get("gamma", "2"))
    p = x.sigmoid()
    w = q * (q > 0).to(x.dtype) + alpha * (p - q).abs().pow(gamma) * (q <= 0).to(x.dtype)
    return _reduce(F.binary_cross_entropy_with_logits(x, q, reduction="none") * w, _red(a))


TORCH_OPS = {
    "box_convert": lambda t, a: tvo.box_convert(t["boxes"], a["in_fmt"], a["out_fmt"]),
    "box_area": lambda t, a: tvo.box_area(t["boxes"]),
    "clip_boxes_to_image": lambda t, a: tvo.clip_boxes_to_image(t["boxes"], tuple(int(v) for v in a["size"].split(","))),
    "box_iou": lambda t, a: tvo.box_iou(t["boxes1"], t["boxes2"]),
    "generalized_box_iou": lambda t, a: tvo.generalized_box_iou(t["boxes1"], t["boxes2"]),
    "distance_box_iou": lambda t, a: tvo.distance_box_iou(t["boxes1"], t["boxes2"], eps=_eps(a)),
    "complete_box_iou": lambda t, a: tvo.complete_box_iou(t["boxes1"], t["boxes2"], eps=_eps(a)),
    "generalized_box_iou_loss": lambda t, a: tvo.generalized_box_iou_loss(t["boxes1"], t["boxes2"], _red(a), _eps(a)),
    "distance_box_iou_loss": lambda t, a: tvo.distance_box_iou_loss(t["boxes1"], t["boxes2"], _red(a), _eps(a)),
    "complete_box_iou_loss": lambda t, a: tvo.complete_box_iou_loss(t["boxes1"], t["boxes2"], _red(a), _eps(a)),
    "iou_loss": _iou_loss,
    "sigmoid_focal_loss": lambda t, a: tvo.sigmoid_focal_loss(t["inputs"], t["targets"], float(a.get("alpha", "0.25")),
                                                              float(a.get("gamma", "2")), _red(a)),
    "centernet_focal_loss": _centernet,
    "varifocal_loss": _varifocal,
}
# Inputs that take no gradient (as in the ref registry).
CONSTANTS = {"centernet_focal_loss": {"target"}, "varifocal_loss": {"target"}}


# ----------------------------------------------------------------------------------------------
# 2. Inputs: boxes with distinct coordinates (no ties in min/max), never exactly touching.
# ----------------------------------------------------------------------------------------------
def rng_of(name):
    return np.random.default_rng(zlib.crc32(name.encode()))


def boxes(rng, n, lo=0.0, hi=10.0, wmin=0.5, wmax=6.0):
    x1 = rng.uniform(lo, hi, n)
    y1 = rng.uniform(lo, hi, n)
    return np.stack([x1, y1, x1 + rng.uniform(wmin, wmax, n), y1 + rng.uniform(wmin, wmax, n)], axis=-1)


def jitter(rng, b, s=0.8):
    """Boxes near b (overlapping most of the time): corners moved, order kept."""
    d = rng.uniform(-s, s, b.shape)
    out = b + d
    out[..., 2] = np.maximum(out[..., 2], out[..., 0] + 0.2)
    out[..., 3] = np.maximum(out[..., 3], out[..., 1] + 0.2)
    return out


# ----------------------------------------------------------------------------------------------
# 3. Cases.
# ----------------------------------------------------------------------------------------------
class Cases:
    def __init__(self):
        self.specs, self.names = [], set()

    def add(self, name, op, inputs, attrs=None, dtypes=F64, grads=True):
        assert op in TORCH_OPS, op
        for dt in dtypes:
            full = "%s_%s" % (name, dt)
            assert full not in self.names, full
            self.names.add(full)
            self.specs.append({"name": full, "op": op, "dtype": dt, "inputs": inputs, "attrs": dict(attrs or {}),
                               "grads": grads})


def fam_boxes(C):
    r = rng_of("boxes")
    b = boxes(r, 5)
    for i in ("xyxy", "xywh", "cxcywh"):
        for o in ("xyxy", "xywh", "cxcywh"):
            if i != o:
                C.add("box_convert_%s_%s" % (i, o), "box_convert", [("boxes", b)], {"in_fmt": i, "out_fmt": o},
                      BOTH if (i, o) == ("cxcywh", "xyxy") else F64)
    C.add("box_convert_same", "box_convert", [("boxes", b)], {"in_fmt": "xywh", "out_fmt": "xywh"})
    C.add("box_convert_batched", "box_convert", [("boxes", boxes(r, 6).reshape(2, 3, 4))],
          {"in_fmt": "xyxy", "out_fmt": "cxcywh"})
    C.add("box_area", "box_area", [("boxes", boxes(r, 6))], dtypes=BOTH)
    C.add("box_area_empty", "box_area", [("boxes", np.zeros((0, 4)))])
    # clip: coordinates well inside, well outside on both sides (no value exactly on a bound)
    cb = boxes(r, 6, lo=-4.0, hi=12.0)
    C.add("clip_boxes_to_image", "clip_boxes_to_image", [("boxes", cb)], {"size": "9,11"}, BOTH)


def fam_iou(C):
    r = rng_of("iou")
    b1 = boxes(r, 4)
    b2 = np.concatenate([jitter(r, b1[:2]), boxes(r, 3)])       # some overlap, some far apart
    far = boxes(r, 2, lo=30.0, hi=40.0)                           # disjoint from everything
    for op in ("box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"):
        C.add(op, op, [("boxes1", b1), ("boxes2", b2)], dtypes=BOTH)
        C.add(op + "_disjoint", op, [("boxes1", b1), ("boxes2", far)])
        C.add(op + "_empty", op, [("boxes1", b1), ("boxes2", np.zeros((0, 4)))])
    C.add("distance_box_iou_eps", "distance_box_iou", [("boxes1", b1), ("boxes2", b2)], {"eps": "0.5"})
    C.add("complete_box_iou_eps", "complete_box_iou", [("boxes1", b1), ("boxes2", b2)], {"eps": "0.25"})
    C.add("complete_box_iou_large", "complete_box_iou", [("boxes1", boxes(r, 3, hi=500.0, wmax=200.0)),
                                                         ("boxes2", boxes(r, 4, hi=500.0, wmax=200.0))])
    # torchvision's own answer on degenerate boxes: 0/0 = NaN for two zero-area boxes (values only)
    deg1 = np.array([[1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 2.0, 2.0]])
    deg2 = np.array([[1.0, 1.0, 1.0, 1.0], [5.0, 5.0, 5.0, 7.0]])
    C.add("box_iou_degenerate", "box_iou", [("boxes1", deg1), ("boxes2", deg2)], grads=False)
    C.add("generalized_box_iou_degenerate", "generalized_box_iou", [("boxes1", deg1), ("boxes2", deg2)], grads=False)


def fam_box_loss(C):
    r = rng_of("box_loss")
    p = boxes(r, 6)
    g = jitter(r, p)
    g[5] = [20.0, 21.0, 23.5, 24.0]                               # one disjoint pair
    for op in ("generalized_box_iou_loss", "distance_box_iou_loss", "complete_box_iou_loss"):
        for red in ("none", "mean", "sum"):
            C.add("%s_%s" % (op, red), op, [("boxes1", p), ("boxes2", g)], {"reduction": red},
                  BOTH if red == "mean" else F64)
        C.add(op + "_eps", op, [("boxes1", p), ("boxes2", g)], {"reduction": "sum", "eps": "0.3"})
        pb, gb = boxes(r, 6).reshape(2, 3, 4), None
        gb = jitter(r, pb)
        C.add(op + "_batched", op, [("boxes1", pb), ("boxes2", gb)], {"reduction": "none"})
        C.add(op + "_empty_mean", op, [("boxes1", np.zeros((0, 4))), ("boxes2", np.zeros((0, 4)))],
              {"reduction": "mean"})
    # identical boxes: loss ~ 0 (tests the small-value end), and large coordinates
    C.add("complete_box_iou_loss_identical", "complete_box_iou_loss", [("boxes1", p[:3]), ("boxes2", p[:3].copy())])
    big = boxes(r, 4, hi=800.0, wmax=300.0)
    C.add("generalized_box_iou_loss_large", "generalized_box_iou_loss",
          [("boxes1", big), ("boxes2", jitter(r, big, 40.0))], {"reduction": "mean"})
    for mode in ("linear", "log"):
        for red in ("none", "mean"):
            C.add("iou_loss_%s_%s" % (mode, red), "iou_loss", [("boxes1", p[:5]), ("boxes2", g[:5])],
                  {"mode": mode, "reduction": red}, BOTH if red == "mean" else F64)
    C.add("iou_loss_log_disjoint", "iou_loss", [("boxes1", p), ("boxes2", g)], {"mode": "log", "reduction": "sum"})


def fam_focal(C):
    r = rng_of("focal")
    x = r.standard_normal((3, 5)) * 2.0
    y = (r.uniform(0, 1, (3, 5)) < 0.3).astype(np.float64)
    for red in ("none", "mean", "sum"):
        C.add("sigmoid_focal_loss_" + red, "sigmoid_focal_loss", [("inputs", x), ("targets", y)], {"reduction": red},
              BOTH if red != "none" else F64)
    C.add("sigmoid_focal_loss_no_alpha", "sigmoid_focal_loss", [("inputs", x), ("targets", y)],
          {"alpha": "-1", "reduction": "sum"})
    C.add("sigmoid_focal_loss_gamma0", "sigmoid_focal_loss", [("inputs", x), ("targets", y)], {"gamma": "0"})
    C.add("sigmoid_focal_loss_gamma_frac", "sigmoid_focal_loss", [("inputs", x), ("targets", y)],
          {"gamma": "1.5", "alpha": "0.5"})
    C.add("sigmoid_focal_loss_soft", "sigmoid_focal_loss",
          [("inputs", r.standard_normal((2, 3, 4))), ("targets", r.uniform(0, 1, (2, 3, 4)))], {"reduction": "mean"})
    C.add("sigmoid_focal_loss_saturated", "sigmoid_focal_loss",
          [("inputs", np.array([-30.0, -8.0, 8.0, 30.0, 0.5, -0.5])), ("targets", np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0]))])
    # CenterNet heatmaps: peaks of exactly 1, Gaussian-ish values below, zeros
    hm = np.zeros((2, 2, 4, 5))
    hm[0, 0, 1, 2] = 1.0
    hm[0, 0, 1, 1] = hm[0, 0, 1, 3] = 0.6
    hm[0, 0, 0, 2] = hm[0, 0, 2, 2] = 0.5
    hm[1, 1, 2, 3] = 1.0
    hm[1, 1, 3, 3] = 0.3
    hm[1, 0, 0, 0] = 1.0
    logits = r.standard_normal(hm.shape) * 2.0
    logits[0, 0, 3, 4] = 12.0      # sigmoid clamped at 1 - 1e-4: no gradient there
    logits[1, 0, 3, 0] = -12.0     # clamped at 1e-4
    C.add("centernet_focal_loss", "centernet_focal_loss", [("input", logits), ("target", hm)], dtypes=BOTH)
    C.add("centernet_focal_loss_no_pos", "centernet_focal_loss",
          [("input", r.standard_normal((1, 2, 3, 3))), ("target", np.clip(r.uniform(-0.2, 0.9, (1, 2, 3, 3)), 0, None))])
    C.add("centernet_focal_loss_alpha_beta", "centernet_focal_loss", [("input", logits), ("target", hm)],
          {"alpha": "1.5", "beta": "3"})
    # Varifocal: IoU-valued targets on positives, 0 elsewhere
    vx = r.standard_normal((4, 3)) * 1.5
    vq = np.where(r.uniform(0, 1, (4, 3)) < 0.3, r.uniform(0.2, 0.95, (4, 3)), 0.0)
    for red in ("none", "mean", "sum"):
        C.add("varifocal_loss_" + red, "varifocal_loss", [("input", vx), ("target", vq)], {"reduction": red},
              BOTH if red == "mean" else F64)
    C.add("varifocal_loss_params", "varifocal_loss", [("input", vx), ("target", vq)],
          {"alpha": "0.5", "gamma": "1.5", "reduction": "sum"})


FAMILIES = [fam_boxes, fam_iou, fam_box_loss, fam_focal]


# ----------------------------------------------------------------------------------------------
# 4. Running a case.
# ----------------------------------------------------------------------------------------------
def to_np(x):
    return np.array(x.detach().numpy(), order="C", copy=True)


def round_up_1sig(x):
    e = int(np.floor(np.log10(x)))
    m = int(np.ceil(x / 10.0 ** e - 1e-9))
    return float("%de%d" % (m, e))


def tolerances(dtype, arrays):
    s = 1.0
    for a in arrays:
        fin = a[np.isfinite(a)] if a.dtype.kind == "f" else a
        if fin.size:
            s = max(s, float(np.max(np.abs(fin))))
    if dtype == "f64":
        return 1e-10, round_up_1sig(1e-12 * s)
    return 1e-5, round_up_1sig(2e-6 * s)


def save(rel, arr):
    np.save(os.path.join(HERE, rel), arr, allow_pickle=False)
    return rel


def run_case(spec):
    name, op, dtype, attrs = spec["name"], spec["op"], spec["dtype"], spec["attrs"]
    arrays = [(n, np.asarray(a).astype(DTYPES[dtype][0])) for n, a in spec["inputs"]]
    const = CONSTANTS.get(op, set())
    leaves = {n: torch.from_numpy(a.copy()).requires_grad_(spec["grads"] and n not in const) for n, a in arrays}
    out = TORCH_OPS[op](leaves, attrs)
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    go = rng.uniform(0.5, 1.5, tuple(out.shape)) * rng.choice([-1.0, 1.0], tuple(out.shape))
    go = torch.from_numpy(np.array(go, dtype=DTYPES[dtype][0]))
    grads = {}
    want = [n for n, _ in arrays if leaves[n].requires_grad]
    if want and out.requires_grad:
        gs = torch.autograd.grad([out], [leaves[n] for n in want], [go], allow_unused=True)
        for n, g in zip(want, gs):
            grads[n] = to_np(g) if g is not None else np.zeros_like(to_np(leaves[n]))
    elif want:
        grads = {n: np.zeros_like(to_np(leaves[n])) for n in want}
    entry = {"name": name, "op": op, "dtype": dtype, "inputs": [], "attrs": attrs, "outputs": [], "grad_outs": [],
             "grads": {}}
    every = []
    for n, a in arrays:
        entry["inputs"].append([n, save("ops_boxes/%s.%s.npy" % (name, n), a)])
        every.append(a)
    o = to_np(out)
    entry["outputs"].append(save("ops_boxes/%s.out0.npy" % name, o))
    entry["grad_outs"].append(save("ops_boxes/%s.grad_out0.npy" % name, to_np(go)))
    every.append(o)
    for n, g in grads.items():
        entry["grads"][n] = save("ops_boxes/%s.grad_%s.npy" % (name, n), g)
        every.append(g)
    entry["rtol"], entry["atol"] = tolerances(dtype, every)
    return entry


# ----------------------------------------------------------------------------------------------
# 5. --check BIN: random cross-check of the built binary against the same references (not a test;
#    for maintainers and port authors). Float boxes, integer boxes (ties, touching edges, zero-area
#    boxes: NaN must match NaN), f64 and f32, every op of TORCH_OPS, upstream gradients random.
# ----------------------------------------------------------------------------------------------
def random_problem(r, op, dtype):
    kind = r.choice(["float", "int"])

    def bx(n):
        if kind == "int":
            x, y = r.integers(0, 6, n), r.integers(0, 6, n)
            return np.stack([x, y, x + r.integers(0, 4, n), y + r.integers(0, 4, n)], -1).astype(np.float64)
        return boxes(r, n)
    if op in ("box_convert", "box_area", "clip_boxes_to_image"):
        attrs = {}
        if op == "box_convert":
            attrs = {"in_fmt": str(r.choice(["xyxy", "xywh", "cxcywh"])), "out_fmt": str(r.choice(["xyxy", "xywh", "cxcywh"]))}
        if op == "clip_boxes_to_image":
            attrs = {"size": "%d,%d" % (r.integers(3, 12), r.integers(3, 12))}
        return [("boxes", bx(r.integers(0, 5)))], attrs
    if op in ("box_iou", "generalized_box_iou", "distance_box_iou", "complete_box_iou"):
        return [("boxes1", bx(r.integers(1, 5))), ("boxes2", bx(r.integers(1, 5)))], {}
    if op.endswith("box_iou_loss") or op == "iou_loss":
        n = r.integers(1, 6)
        b1 = bx(n)
        b2 = jitter(r, b1, 2.0) if kind == "float" else bx(n)
        attrs = {"reduction": str(r.choice(["none", "mean", "sum"]))}
        if op == "iou_loss":
            attrs["mode"] = str(r.choice(["linear", "log"]))
        return [("boxes1", b1), ("boxes2", b2)], attrs
    shape = tuple(int(v) for v in r.integers(1, 4, r.integers(1, 4)))
    x = r.standard_normal(shape) * r.choice([1.0, 3.0])
    if op == "sigmoid_focal_loss":
        y = (r.uniform(0, 1, shape) < 0.3).astype(np.float64) if r.uniform() < 0.5 else r.uniform(0, 1, shape)
        return [("inputs", x), ("targets", y)], {"alpha": str(r.choice([0.25, -1.0, 0.5])),
                                                 "gamma": str(r.choice([2.0, 0.0, 1.5])),
                                                 "reduction": str(r.choice(["none", "mean", "sum"]))}
    if op == "centernet_focal_loss":
        y = np.where(r.uniform(0, 1, shape) < 0.2, 1.0, r.uniform(0, 0.95, shape) * (r.uniform(0, 1, shape) < 0.5))
        return [("input", x), ("target", y)], {}
    q = np.where(r.uniform(0, 1, shape) < 0.3, r.uniform(0.1, 0.95, shape), 0.0)
    return [("input", x), ("target", q)], {"reduction": str(r.choice(["none", "mean", "sum"]))}


def max_rel(got, ref):
    """Largest |got - ref| / max|ref| over a list of arrays (NaN must match NaN; scale floored at 1e-12)."""
    err = 0.0
    for g, w in zip(got, ref):
        g, w = np.asarray(g, np.float64), np.asarray(w, np.float64)
        if g.shape != w.shape or (np.isnan(g) != np.isnan(w)).any():
            return float("inf")
        ok = ~np.isnan(w)
        if ok.any():
            scale = max(float(np.max(np.abs(w[ok]))), 1e-12)
            err = max(err, float(np.max(np.abs(g[ok] - w[ok]))) / scale)
    return err


def check_binary(binary, trials, seed):
    import subprocess
    import tempfile
    r = np.random.default_rng(seed)
    worst, failures = {}, 0
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(trials):
            for op in TORCH_OPS:
                for dtype in ("f64", "f32"):
                    inputs, attrs = random_problem(r, op, dtype)
                    spec = {"name": "check", "op": op, "dtype": dtype, "inputs": inputs, "attrs": attrs, "grads": True}
                    arrays = [(n, np.asarray(a).astype(DTYPES[dtype][0])) for n, a in inputs]
                    const = CONSTANTS.get(op, set())
                    leaves = {n: torch.from_numpy(a.copy()).requires_grad_(n not in const) for n, a in arrays}
                    out = TORCH_OPS[op](leaves, attrs)
                    go = np.array(r.uniform(0.5, 1.5, tuple(out.shape)), dtype=DTYPES[dtype][0])
                    want = [n for n, _ in arrays if n not in const]
                    gs = torch.autograd.grad([out], [leaves[n] for n in want], [torch.from_numpy(go)], allow_unused=True)
                    cmd = [binary, "ref", op, "--out", tmp + "/o", "--grad-out", tmp + "/go.npy"]
                    np.save(tmp + "/go.npy", go)
                    for n, a in arrays:
                        np.save("%s/%s.npy" % (tmp, n), a)
                        cmd += ["--in", "%s=%s/%s.npy" % (n, tmp, n)]
                    for k, v in attrs.items():
                        cmd += ["--attr", "%s=%s" % (k, v)]
                    res = subprocess.run(cmd, capture_output=True, text=True)
                    if res.returncode != 0:
                        print("FAIL %s %s: %s" % (op, dtype, res.stderr.strip()))
                        failures += 1
                        continue
                    got = [np.load(tmp + "/o/out.npy")] + [np.load("%s/o/grad_%s.npy" % (tmp, n)) for n in want]

                    def answers(leaves, out, gs):
                        return [to_np(out)] + [to_np(g) if g is not None else np.zeros(tuple(leaves[n].shape))
                                               for n, g in zip(want, gs)]
                    err = max_rel(got, answers(leaves, out, gs))
                    tol = 1e-10 if dtype == "f64" else 1e-5
                    if dtype == "f32" and err > tol:
                        # As tools/check_ref.py: an f32 result that misses PyTorch's f32 answer still
                        # passes if it is at least as close as that answer to the exact one (PyTorch in
                        # f64 on the same f32 inputs).
                        l64 = {n: torch.from_numpy(a.astype(np.float64)).requires_grad_(n not in const) for n, a in arrays}
                        o64 = TORCH_OPS[op](l64, attrs)
                        g64 = torch.autograd.grad([o64], [l64[n] for n in want],
                                                  [torch.from_numpy(go.astype(np.float64))], allow_unused=True)
                        exact = answers(l64, o64, g64)
                        if max_rel(got, exact) <= max(max_rel(answers(leaves, out, gs), exact), tol):
                            err = tol
                    worst[(op, dtype)] = max(worst.get((op, dtype), 0.0), err)
                    if err > tol:
                        failures += 1
                        print("FAIL %s %s err %.3g attrs %s inputs %s" % (op, dtype, err, attrs,
                                                                         [(n, a.tolist()) for n, a in arrays]))
    for (op, dtype), e in sorted(worst.items()):
        print("%-26s %s  max relative error %.2g" % (op, dtype, e))
    print("check: %d failures" % failures)
    return 1 if failures else 0


def main():
    if "--check" in sys.argv:
        i = sys.argv.index("--check")
        trials = int(sys.argv[sys.argv.index("--trials") + 1]) if "--trials" in sys.argv else 5
        seed = int(sys.argv[sys.argv.index("--seed") + 1]) if "--seed" in sys.argv else 0
        return check_binary(sys.argv[i + 1], trials, seed)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OPS_DIR, exist_ok=True)
    for f in os.listdir(OPS_DIR):
        if f.endswith(".npy"):
            os.remove(os.path.join(OPS_DIR, f))
    C = Cases()
    for fam in FAMILIES:
        fam(C)
    entries = [run_case(s) for s in C.specs]
    import torchvision
    head = {"generator": "gen_golden_boxes.py", "torch": torch.__version__, "torchvision": torchvision.__version__}
    with open(MANIFEST, "w") as f:
        f.write(json.dumps(head)[:-1] + ', "cases": [\n')
        f.write(",\n".join(json.dumps(e) for e in entries))
        f.write("\n]}\n")
    ops = sorted({e["op"] for e in entries})
    missing = sorted(set(TORCH_OPS) - set(ops))
    size = sum(os.path.getsize(os.path.join(OPS_DIR, f)) for f in os.listdir(OPS_DIR))
    print("gen_golden_boxes: %d cases (%d f64, %d f32) over %d ops, %d files, %.1f KB in ops_boxes/%s"
          % (len(entries), sum(e["dtype"] == "f64" for e in entries), sum(e["dtype"] == "f32" for e in entries),
             len(ops), len(os.listdir(OPS_DIR)), size / 1024.0,
             ("; ops without cases: " + ",".join(missing)) if missing else ""))
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
