#!/usr/bin/env python3
"""Golden cases for the target family of `detgrad ref` (see tests/golden/README.md for the format).

    /usr/bin/python3 tests/golden/gen_golden_nms.py

Writes tests/golden/ops_nms/*.npy and tests/golden/manifest_nms.json (deleting old ops_nms/*.npy first).
Where torchvision has the operation, the expected values ARE torchvision's:
  nms, batched_nms            torchvision.ops.nms / batched_nms (random boxes, no score ties)
  anchors                     torchvision AnchorGenerator (RetinaNet's default sizes and ratios)
  retinanet_match             torchvision Matcher(0.5, 0.4, allow_low_quality_matches=True)
  box_encode, box_decode      torchvision BoxCoder (values and gradients through autograd)
  fcos_targets (torchvision)  torchvision FCOS.compute_loss's matching (its matched_idxs), with the
                              ltrb / centerness of the matched box computed here in the same dtype
Where it has not, the expected values come from a small NumPy transcription of the original authors'
algorithm written independently of the C++ (soft_nms: Bodla et al.; diou_nms: Zheng et al.;
gaussian_radius, draw_gaussian, centernet_targets: CenterNet's ctdet code; fcos_targets with the mmdet
convention: the mmdet rules). Each family draws from numpy.random.default_rng(crc32(family)).
"""
import glob
import json
import math
import os
import zlib

import numpy as np
import torch
import torchvision
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "ops_nms")
MANIFEST = os.path.join(HERE, "manifest_nms.json")
NP = {"f64": np.float64, "f32": np.float32}
TH = {"f64": torch.float64, "f32": torch.float32}

CASES = []


def rng_for(family):
    return np.random.default_rng(zlib.crc32(family.encode()))


def save(rel, arr):
    np.save(os.path.join(HERE, rel), arr, allow_pickle=False)
    return rel


def tolerances(dtype, arrays):
    s = 1.0
    for a in arrays:
        if a.dtype.kind == "f" and a.size:
            s = max(s, float(np.max(np.abs(a[np.isfinite(a)]))) if np.isfinite(a).any() else 1.0)
    if dtype == "f64":
        return 1e-10, float("%.0e" % (1e-12 * s * 1.5))
    return 1e-5, float("%.0e" % (1e-6 * s * 1.5))


def add(name, op, dtype, inputs, attrs, outputs, grad_outs=None, grads=None):
    """inputs: [(input name, array)]; outputs: [array]; grad_outs: [array or None] per output;
    grads: {input name: array}. Non-differentiable ops have no grad_outs (null) and no grads."""
    name = "%s_%s" % (name, dtype)
    rec = {"name": name, "op": op, "dtype": dtype, "inputs": [], "attrs": attrs, "outputs": [], "grad_outs": [],
           "grads": {}}
    arrays = []
    for key, arr in inputs:
        rec["inputs"].append([key, save("ops_nms/%s.%s.npy" % (name, key), arr)])
        arrays.append(arr)
    for k, arr in enumerate(outputs):
        rec["outputs"].append(save("ops_nms/%s.out%d.npy" % (name, k), arr))
        arrays.append(arr)
    for k in range(len(outputs)):
        g = grad_outs[k] if grad_outs else None
        rec["grad_outs"].append(save("ops_nms/%s.grad_out%d.npy" % (name, k), g) if g is not None else None)
    for key, g in (grads or {}).items():
        rec["grads"][key] = save("ops_nms/%s.grad_%s.npy" % (name, key), g)
        arrays.append(g)
    rec["rtol"], rec["atol"] = tolerances(dtype, arrays)
    CASES.append(rec)


def random_boxes(rng, n, dtype, span=100.0, wmin=2.0, wmax=40.0):
    xy = rng.uniform(-10, span, (n, 2))
    wh = rng.uniform(wmin, wmax, (n, 2))
    return np.concatenate([xy, xy + wh], axis=1).astype(NP[dtype])


def distinct_scores(rng, n, dtype):
    # a random permutation of well-separated values: no ties, in f32 as in f64
    return (rng.permutation(n) / max(n, 1) * 0.9 + 0.05 + rng.uniform(0, 0.001, n)).astype(NP[dtype])


# ------------------------------------------------------------------------------------------------
# NMS family
# ------------------------------------------------------------------------------------------------
def fam_nms():
    rng = rng_for("nms")
    for dtype in ("f64", "f32"):
        for n, thr in ((0, 0.5), (1, 0.5), (20, 0.3), (60, 0.5), (200, 0.7), (200, 0.5)):
            b, s = random_boxes(rng, n, dtype), distinct_scores(rng, n, dtype)
            keep = torchvision.ops.nms(torch.from_numpy(b), torch.from_numpy(s), thr).numpy().astype(np.int64)
            add("nms_n%d_t%g" % (n, thr), "nms", dtype, [("boxes", b), ("scores", s)],
                {"iou_threshold": "%g" % thr}, [keep])
        # identical boxes: only the best survives; all-disjoint boxes: all survive in score order
        b = np.tile(np.array([[5, 5, 25, 30]], NP[dtype]), (6, 1))
        s = distinct_scores(rng, 6, dtype)
        add("nms_identical", "nms", dtype, [("boxes", b), ("scores", s)], {"iou_threshold": "0.5"},
            [torchvision.ops.nms(torch.from_numpy(b), torch.from_numpy(s), 0.5).numpy()])
        b = np.array([[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [-30, -30, -20, -20]], NP[dtype])
        s = np.array([0.2, 0.9, 0.5, 0.7], NP[dtype])
        add("nms_disjoint", "nms", dtype, [("boxes", b), ("scores", s)], {"iou_threshold": "0.5"},
            [torchvision.ops.nms(torch.from_numpy(b), torch.from_numpy(s), 0.5).numpy()])
        for n, thr in ((0, 0.5), (40, 0.5), (150, 0.4)):
            b, s = random_boxes(rng, n, dtype), distinct_scores(rng, n, dtype)
            idxs = rng.integers(0, 4, n).astype(np.int64)
            keep = torchvision.ops.batched_nms(torch.from_numpy(b), torch.from_numpy(s), torch.from_numpy(idxs), thr)
            add("batched_nms_n%d_t%g" % (n, thr), "batched_nms", dtype,
                [("boxes", b), ("scores", s), ("idxs", idxs)], {"iou_threshold": "%g" % thr}, [keep.numpy()])


def iou_np(a, b):
    """IoU of one box a with boxes b [n,4], in the boxes' dtype (no +1, no eps)."""
    w = np.maximum(np.minimum(a[2], b[:, 2]) - np.maximum(a[0], b[:, 0]), 0)
    h = np.maximum(np.minimum(a[3], b[:, 3]) - np.maximum(a[1], b[:, 1]), 0)
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]) - inter)


def soft_nms_np(boxes, scores, method, sigma, nt, thresh):
    """Bodla et al. 2017, Algorithm 1, with the authors' rule that only overlapping boxes are re-checked
    against the threshold; returns original indices and decayed scores in selection order."""
    s = scores.astype(np.float64).copy()
    alive = list(range(len(boxes)))
    idx, out = [], []
    while alive:
        best = max(alive, key=lambda i: (s[i], -i))  # highest score, then lowest index
        idx.append(best)
        out.append(s[best])
        alive.remove(best)
        survivors = []
        for j in alive:
            iw = min(boxes[best, 2], boxes[j, 2]) - max(boxes[best, 0], boxes[j, 0])
            ih = min(boxes[best, 3], boxes[j, 3]) - max(boxes[best, 1], boxes[j, 1])
            if iw > 0 and ih > 0:
                ov = iou_np(boxes[best], boxes[j:j + 1])[0]
                w = (1 - ov if ov > nt else 1.0) if method == "linear" else math.exp(-(ov * ov) / sigma)
                s[j] *= w
                if s[j] < thresh:
                    continue
            survivors.append(j)
        alive = survivors
    return np.array(idx, np.int64), np.array(out, np.float64)


def diou_nms_np(boxes, scores, thr, beta):
    order = sorted(range(len(boxes)), key=lambda i: (-scores[i], i))
    removed, keep = set(), []
    for a, i in enumerate(order):
        if i in removed:
            continue
        keep.append(i)
        for j in order[a + 1:]:
            if j in removed:
                continue
            bi, bj = boxes[i], boxes[j]
            rho2 = ((bi[0] + bi[2]) / 2 - (bj[0] + bj[2]) / 2) ** 2 + ((bi[1] + bi[3]) / 2 - (bj[1] + bj[3]) / 2) ** 2
            c2 = (max(bi[2], bj[2]) - min(bi[0], bj[0])) ** 2 + (max(bi[3], bj[3]) - min(bi[1], bj[1])) ** 2
            pen = (rho2 / c2) ** beta if c2 > 0 else 0.0
            if iou_np(bi, bj[None])[0] - pen > thr:
                removed.add(j)
    return np.array(keep, np.int64)


def fam_soft_diou():
    rng = rng_for("soft_nms")
    for k, (method, sigma, nt, th) in enumerate((("linear", 0.5, 0.3, 0.001), ("gaussian", 0.5, 0.3, 0.001),
                                                  ("gaussian", 0.2, 0.3, 0.05), ("linear", 0.5, 0.5, 0.1))):
        n = 40
        b, s = random_boxes(rng, n, "f64", span=60), distinct_scores(rng, n, "f64")
        idx, sc = soft_nms_np(b, s, method, sigma, nt, th)
        add("soft_nms_%s_%d" % (method, k), "soft_nms", "f64", [("boxes", b), ("scores", s)],
            {"method": method, "sigma": "%g" % sigma, "iou_threshold": "%g" % nt, "score_threshold": "%g" % th},
            [idx, sc])
    b = np.zeros((0, 4)); s = np.zeros((0,))
    add("soft_nms_empty", "soft_nms", "f64", [("boxes", b), ("scores", s)], {}, [np.zeros(0, np.int64), s])
    rng = rng_for("diou_nms")
    for thr, beta in ((0.5, 1.0), (0.4, 0.6), (0.3, 1.0)):
        b, s = random_boxes(rng, 50, "f64", span=60), distinct_scores(rng, 50, "f64")
        add("diou_nms_t%g_b%g" % (thr, beta), "diou_nms", "f64", [("boxes", b), ("scores", s)],
            {"iou_threshold": "%g" % thr, "beta": "%g" % beta}, [diou_nms_np(b, s, thr, beta)])


# ------------------------------------------------------------------------------------------------
# CenterNet: a transcription of ctdet's gaussian_radius / gaussian2D / draw_umich_gaussian
# ------------------------------------------------------------------------------------------------
def gaussian_radius_np(h, w, o, code):
    a1, b1, c1 = 1, h + w, w * h * (1 - o) / (1 + o)
    a2, b2, c2 = 4, 2 * (h + w), (1 - o) * w * h
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    sq1, sq2, sq3 = (math.sqrt(b * b - 4 * a * c) for a, b, c in ((a1, b1, c1), (a2, b2, c2), (a3, b3, c3)))
    if code:
        return min((b1 + sq1) / 2, (b2 + sq2) / 2, (b3 + sq3) / 2)
    return min((b1 - sq1) / (2 * a1), (b2 - sq2) / (2 * a2), (b3 + sq3) / (2 * a3))


def gaussian2d(r):
    d = 2 * r + 1
    sigma = d / 6
    y, x = np.ogrid[-r:r + 1, -r:r + 1]
    g = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    g[g < np.finfo(g.dtype).eps * g.max()] = 0
    return g


def draw_np(hm, cx, cy, r):
    """ctdet's draw_umich_gaussian (centre inside the map)."""
    g = gaussian2d(r)
    H, W = hm.shape
    left, right = min(cx, r), min(W - cx, r + 1)
    top, bottom = min(cy, r), min(H - cy, r + 1)
    mh = hm[cy - top:cy + bottom, cx - left:cx + right]
    mg = g[r - top:r + bottom, r - left:r + right]
    if min(mg.shape) > 0 and min(mh.shape) > 0:
        np.maximum(mh, mg, out=mh)


def centernet_np(boxes, labels, C, H, W, stride, max_objs, code):
    dt = boxes.dtype
    hm = np.zeros((C, H, W), dt)
    wh = np.zeros((max_objs, 2), dt)
    reg = np.zeros((max_objs, 2), dt)
    ind = np.zeros((max_objs,), np.int64)
    mask = np.zeros((max_objs,), np.uint8)
    for k in range(min(len(boxes), max_objs)):
        bb = (boxes[k] / dt.type(stride)).astype(dt)
        bb[[0, 2]] = np.clip(bb[[0, 2]], 0, W - 1)
        bb[[1, 3]] = np.clip(bb[[1, 3]], 0, H - 1)
        h, w = bb[3] - bb[1], bb[2] - bb[0]
        if h > 0 and w > 0:
            r = max(0, int(gaussian_radius_np(math.ceil(h), math.ceil(w), 0.7, code)))
            ct = np.array([(bb[0] + bb[2]) / 2, (bb[1] + bb[3]) / 2], dtype=dt)
            ci = ct.astype(np.int32)
            draw_np(hm[labels[k]], ci[0], ci[1], r)
            wh[k] = w, h
            ind[k] = ci[1] * W + ci[0]
            reg[k] = ct - ci
            mask[k] = 1
    return [hm, wh, reg, ind, mask]


def fam_centernet():
    rng = rng_for("centernet")
    sizes = np.array([[64, 64], [10, 10], [3, 7], [120, 30], [1, 1], [0.5, 200], [17.3, 41.9]], np.float64)
    for code in (True, False):
        out = np.array([gaussian_radius_np(h, w, 0.7, code) for h, w in sizes])
        add("gaussian_radius_%s" % ("code" if code else "corrected"), "gaussian_radius", "f64", [("sizes", sizes)],
            {"gaussian_radius_code": "true" if code else "false"}, [out])
    out = np.array([gaussian_radius_np(h, w, 0.5, True) for h, w in sizes])
    add("gaussian_radius_o05", "gaussian_radius", "f64", [("sizes", sizes)], {"min_overlap": "0.5"}, [out])
    for k, (cx, cy, r) in enumerate(((5, 4, 2), (0, 0, 3), (11, 8, 4), (6, 0, 0), (3, 9, 6))):
        hm = rng.uniform(0, 0.6, (10, 12))
        want = hm.copy()
        draw_np(want, cx, cy, r)
        add("draw_gaussian_%d" % k, "draw_gaussian", "f64", [("heatmap", hm)],
            {"center": "%d,%d" % (cx, cy), "radius": "%d" % r}, [want])
    for dtype in ("f32", "f64"):
        for code in (True, False):
            n = 12
            xy = rng.uniform(-20, 150, (n, 2))
            wh = rng.uniform(2, 70, (n, 2))
            b = np.concatenate([xy, xy + wh], 1).astype(NP[dtype])
            labels = rng.integers(0, 3, n).astype(np.int64)
            outs = centernet_np(b, labels, 3, 40, 36, 4, 10, code)
            add("centernet_targets_%s" % ("code" if code else "corrected"), "centernet_targets", dtype,
                [("boxes", b), ("labels", labels)],
                {"num_classes": "3", "output_size": "40,36", "stride": "4", "max_objs": "10",
                 "gaussian_radius_code": "true" if code else "false"}, outs)


# ------------------------------------------------------------------------------------------------
# FCOS: torchvision's matching; mmdet's rules transcribed
# ------------------------------------------------------------------------------------------------
class _CaptureHead(torch.nn.Module):
    def compute_loss(self, targets, head_outputs, anchors, matched_idxs):
        self.matched = matched_idxs
        return {}


def fcos_torchvision_matched(boxes, labels, H, W, strides):
    from torchvision.models.detection.fcos import FCOS

    class _Backbone(torch.nn.Module):
        out_channels = 32

    sizes = tuple((s,) for s in strides)
    model = FCOS(_Backbone(), num_classes=5, anchor_generator=AnchorGenerator(sizes, ((1.0,),) * len(strides)))
    model.head = _CaptureHead()
    img = ImageList(torch.zeros(1, 3, H, W, dtype=boxes.dtype), [(H, W)])
    feats = [torch.zeros(1, 32, -(-H // s), -(-W // s), dtype=boxes.dtype) for s in strides]
    anchors = model.anchor_generator(img, feats)
    num_per_level = [f.shape[2] * f.shape[3] for f in feats]
    model.compute_loss([{"boxes": boxes, "labels": labels}], {}, anchors, num_per_level)
    centres = (anchors[0][:, :2] + anchors[0][:, 2:]) / 2
    return centres.numpy(), model.head.matched[0].numpy().astype(np.int64)


def fcos_fill(points, matched, boxes, labels, strides_per_point, norm):
    P, dt = len(points), boxes.dtype
    lab = np.full(P, -1, np.int64)
    ltrb = np.zeros((P, 4), dt)
    ctr = np.zeros(P, dt)
    for p in range(P):
        g = matched[p]
        if g < 0:
            continue
        x, y = points[p]
        l, t, r, b = x - boxes[g, 0], y - boxes[g, 1], boxes[g, 2] - x, boxes[g, 3] - y
        lab[p] = labels[g]
        ctr[p] = np.sqrt((min(l, r) / max(l, r)) * (min(t, b) / max(t, b)))
        s = dt.type(strides_per_point[p])
        ltrb[p] = (l / s, t / s, r / s, b / s) if norm else (l, t, r, b)
    return lab, ltrb, ctr


def fcos_mmdet_matched(boxes, H, W, strides, radius, sampling):
    """mmdet FCOSHead rules: points x*s + s//2, inclusive FCOS ranges, optional centre sampling, min area."""
    pts, sp, lo, hi = [], [], [], []
    rng_l = [(-1, 8 * strides[0])] + [(4 * s, 8 * s) for s in strides[1:]]
    rng_l[-1] = (rng_l[-1][0], float("inf"))
    for (a, bnd), s in zip(rng_l, strides):
        for y in range(-(-H // s)):
            for x in range(-(-W // s)):
                pts.append((x * s + s // 2, y * s + s // 2)); sp.append(s); lo.append(a); hi.append(bnd)
    dt = boxes.dtype
    pts = np.array(pts, dt)
    matched = np.full(len(pts), -1, np.int64)
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    for p, (x, y) in enumerate(pts):
        best = -1
        for g, bb in enumerate(boxes):
            d = np.array([x - bb[0], y - bb[1], bb[2] - x, bb[3] - y], dt)
            if d.min() <= 0:
                continue
            if sampling:
                cx, cy, R = (bb[0] + bb[2]) / 2, (bb[1] + bb[3]) / 2, dt.type(radius * sp[p])
                x0, y0, x1, y1 = max(cx - R, bb[0]), max(cy - R, bb[1]), min(cx + R, bb[2]), min(cy + R, bb[3])
                if min(x - x0, y - y0, x1 - x, y1 - y) <= 0:
                    continue
            if not (lo[p] <= d.max() <= hi[p]):
                continue
            if best < 0 or areas[g] < areas[best]:
                best = g
        matched[p] = best
    return pts, matched, np.array(sp)


def fam_fcos():
    rng = rng_for("fcos")
    H, W, strides = 96, 128, [8, 16, 32]
    for dtype in ("f32", "f64"):
        n = 8
        xy = rng.uniform(-10, 110, (n, 2))
        wh = rng.uniform(6, 100, (n, 2))
        b = np.concatenate([xy, xy + wh], 1).astype(NP[dtype])
        labels = rng.integers(0, 5, n).astype(np.int64)
        pts, matched = fcos_torchvision_matched(torch.from_numpy(b), torch.from_numpy(labels), H, W, strides)
        sp = np.concatenate([np.full(-(-H // s) * -(-W // s), s) for s in strides])
        lab, ltrb, ctr = fcos_fill(pts.astype(NP[dtype]), matched, b, labels, sp, False)
        attrs = {"image_size": "%d,%d" % (H, W), "strides": ",".join(map(str, strides)), "convention": "torchvision"}
        add("fcos_targets_torchvision", "fcos_targets", dtype, [("boxes", b), ("labels", labels)], attrs,
            [pts.astype(NP[dtype]), lab, matched, ltrb, ctr])
        for sampling in (False, True):
            pts, matched, sp = fcos_mmdet_matched(b, H, W, strides, 1.5, sampling)
            lab, ltrb, ctr = fcos_fill(pts, matched, b, labels, sp, True)
            attrs = {"image_size": "%d,%d" % (H, W), "strides": ",".join(map(str, strides)), "convention": "mmdet",
                     "center_sampling": "true" if sampling else "false", "norm_on_bbox": "true"}
            add("fcos_targets_mmdet%s" % ("_cs" if sampling else ""), "fcos_targets", dtype,
                [("boxes", b), ("labels", labels)], attrs, [pts, lab, matched, ltrb, ctr])
    empty = np.zeros((0, 4), np.float32)
    # No boxes: every point is background (built by hand; torchvision's FCOS fills -1 the same way).
    pts = np.array([(x * s, y * s) for s in (8, 16) for y in range(32 // s) for x in range(32 // s)], np.float32)
    P = len(pts)
    add("fcos_targets_no_boxes", "fcos_targets", "f32", [("boxes", empty), ("labels", np.zeros(0, np.int64))],
        {"image_size": "32", "strides": "8,16"},
        [pts, np.full(P, -1, np.int64), np.full(P, -1, np.int64), np.zeros((P, 4), np.float32), np.zeros(P, np.float32)])


# ------------------------------------------------------------------------------------------------
# RetinaNet: torchvision's AnchorGenerator, Matcher and BoxCoder
# ------------------------------------------------------------------------------------------------
def fam_retinanet():
    rng = rng_for("retinanet")
    for (H, W), strides in (((128, 256), [8, 16, 32, 64, 128]), ((64, 128), [8, 16])):
        sizes = tuple((x, int(x * 2 ** (1.0 / 3)), int(x * 2 ** (2.0 / 3))) for x in [4 * s for s in strides])
        gen = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * len(strides))
        feats = [torch.zeros(1, 1, H // s, W // s) for s in strides]
        anchors = gen(ImageList(torch.zeros(1, 3, H, W), [(H, W)]), feats)[0].numpy()
        add("anchors_%dx%d" % (H, W), "anchors", "f32", [],
            {"image_size": "%d,%d" % (H, W), "strides": ",".join(map(str, strides))}, [anchors])
    # Matcher on a real IoU matrix: every box overlaps some anchor (torchvision has no zero-IoU guard).
    gen = AnchorGenerator(((32, 40, 50), (64, 80, 101)), ((0.5, 1.0, 2.0),) * 2)
    anchors = gen(ImageList(torch.zeros(1, 3, 64, 64), [(64, 64)]), [torch.zeros(1, 1, 8, 8), torch.zeros(1, 1, 4, 4)])[0]
    for dtype in ("f32", "f64"):
        for n in (1, 6):
            xy = rng.uniform(0, 50, (n, 2))
            b = np.concatenate([xy, xy + rng.uniform(8, 60, (n, 2))], 1).astype(NP[dtype])
            a = anchors.numpy().astype(NP[dtype])
            iou = torchvision.ops.box_iou(torch.from_numpy(b), torch.from_numpy(a))
            m = det_utils.Matcher(0.5, 0.4, allow_low_quality_matches=True)(iou).numpy().astype(np.int64)
            add("retinanet_match_iou_n%d" % n, "retinanet_match", dtype, [("iou", iou.numpy())], {}, [m])
            add("retinanet_match_boxes_n%d" % n, "retinanet_match", dtype, [("boxes", b), ("anchors", a)], {}, [m])
            m2 = det_utils.Matcher(0.6, 0.3, allow_low_quality_matches=False)(iou).numpy().astype(np.int64)
            add("retinanet_match_strict_n%d" % n, "retinanet_match", dtype, [("iou", iou.numpy())],
                {"high": "0.6", "low": "0.3", "allow_low_quality_matches": "false"}, [m2])
    # Box coder: values and gradients.
    for dtype in ("f32", "f64"):
        for weights in ((1.0, 1.0, 1.0, 1.0), (10.0, 10.0, 5.0, 5.0)):
            n = 7
            xy = rng.uniform(0, 50, (n, 2))
            a = np.concatenate([xy, xy + rng.uniform(4, 60, (n, 2))], 1).astype(NP[dtype])
            xy = rng.uniform(0, 50, (n, 2))
            g = np.concatenate([xy, xy + rng.uniform(4, 60, (n, 2))], 1).astype(NP[dtype])
            coder = det_utils.BoxCoder(weights)
            wname = "w1" if weights[0] == 1 else "w10"
            ta, tg = torch.from_numpy(a).requires_grad_(), torch.from_numpy(g).requires_grad_()
            d = coder.encode_single(tg, ta)
            go = (rng.uniform(0.5, 1.5, d.shape) * rng.choice([-1.0, 1.0], d.shape)).astype(NP[dtype])
            ga, gg = torch.autograd.grad(d, [ta, tg], torch.from_numpy(go))
            add("box_encode_" + wname, "box_encode", dtype, [("boxes", g), ("anchors", a)],
                {"weights": ",".join("%g" % w for w in weights)}, [d.detach().numpy()], [go],
                {"boxes": gg.numpy(), "anchors": ga.numpy()})
            deltas = rng.uniform(-1.5, 1.5, (n, 4)) * np.array(weights)
            deltas[0, 2] = 6.0 * weights[2]  # above the clamp log(1000/16) = 4.135: no gradient there
            deltas = deltas.astype(NP[dtype])
            td, ta = torch.from_numpy(deltas).requires_grad_(), torch.from_numpy(a).requires_grad_()
            out = coder.decode_single(td, ta)
            go = (rng.uniform(0.5, 1.5, out.shape) * rng.choice([-1.0, 1.0], out.shape)).astype(NP[dtype])
            gd, ga = torch.autograd.grad(out, [td, ta], torch.from_numpy(go))
            add("box_decode_" + wname, "box_decode", dtype, [("deltas", deltas), ("anchors", a)],
                {"weights": ",".join("%g" % w for w in weights)}, [out.detach().numpy()], [go],
                {"deltas": gd.numpy(), "anchors": ga.numpy()})


def main():
    os.makedirs(OUT_DIR, exist_ok=True)
    for f in glob.glob(os.path.join(OUT_DIR, "*.npy")):
        os.remove(f)
    torch.set_num_threads(1)
    fam_nms()
    fam_soft_diou()
    fam_centernet()
    fam_fcos()
    fam_retinanet()
    with open(MANIFEST, "w") as f:
        f.write('{"generator": "gen_golden_nms.py", "torch": "%s", "torchvision": "%s", "cases": [\n'
                % (torch.__version__, torchvision.__version__))
        f.write(",\n".join(json.dumps(c) for c in CASES))
        f.write("\n]}\n")
    nbytes = sum(os.path.getsize(p) for p in glob.glob(os.path.join(OUT_DIR, "*.npy")))
    print("gen_golden_nms: %d cases over %d ops, %.1f KB in ops_nms/" %
          (len(CASES), len({c["op"] for c in CASES}), nbytes / 1024))


if __name__ == "__main__":
    main()
