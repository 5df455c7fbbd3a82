#!/usr/bin/env python3
"""The PyTorch yardstick of `detgrad train centernet` (issue #5): the SAME CenterNet, schedule,
augmentation, targets, loss and decoding, written in PyTorch 1.13, trained on the same exported data,
and evaluated by detgrad's own COCOeval (`detgrad eval`), so only the engine differs.

    build/detgrad data export fashion-scenes --preset small --out /tmp/fs_train --n 2000 --seed 0 --split train
    build/detgrad data export fashion-scenes --preset small --out /tmp/fs_val --n 500 --seed 0 --split val
    /usr/bin/python3 bench/centernet_torch.py --train /tmp/fs_train --val /tmp/fs_val --steps 3000 \\
        --eval-every 16000 --out /tmp/torch_run
    # the standard preset (128x128) with the full-width network:
    /usr/bin/python3 bench/centernet_torch.py --full-width --train /tmp/fs_std_train --val /tmp/fs_std_val ...

OUT/curve.jsonl gets one line per evaluation
    {"kind": "eval", "images", "step", "train_seconds", "AP50", "AP", "agnostic_AP50"}
and one per 20 steps
    {"kind": "train", "step", "images", "train_seconds", "loss", "heatmap", "wh", "offset", "lr",
     "data_wait_seconds"};
train_seconds counts training only (data, forward, backward, update), not the evaluations;
data_wait_seconds is the part of it spent waiting for the batch thread. OUT/config.json: the flags.

Mirror check (run this after any change to either side):
    build/detgrad bench centernet-parity --data /tmp/fs_val --out /tmp/parity --n 8
    /usr/bin/python3 bench/centernet_torch.py --parity-check /tmp/parity
loads detgrad's initial weights (safetensors) into this model and compares the forward outputs, the
three losses, every gradient, the state after one Adam step, the eval-mode outputs and decoding, the
targets and the input normalisation (bit-exact), and the augmentation of the same random draws
(bit-exact), printing the largest differences. bench/README.md has the details.

The recipe (each part mirrors the named detgrad file):
  model      detectors/centernet/model.*: ResNet-18 (layers/resnet.*, torchvision structure and init:
             kaiming_normal fan_out convs, BN 1/0, no zero-init residual) at --width, include_top off;
             three ConvTranspose2d(k4, s2, p1, no bias) + BN + ReLU up stages (PyTorch's default init);
             heads 3x3 conv (bias) -> ReLU -> 1x1 conv (bias), heatmap final bias -log(0.9/0.1).
             state_dict names are detgrad's, so weights move both ways.
  input      (u8 / 255 - 0.5) / 0.25 per channel, f32, NCHW.
  augment    detectors/data/augment.*: flip p 0.5, one affine warp (scale U[0.6,1.4] of the longer
             side, centre shift U[-0.2,0.2] x (W,H)), bilinear at pixel centres with fill 0, boxes
             mapped (corners min/max), clipped, dropped below 1 px; colour jitter brightness, contrast
             (around the grey mean), saturation (around each pixel's grey), factors U[0.7,1.3].
  targets    detectors/heatmap.*: stride 4, 32 objects, CenterNet's ("code") gaussian radius at 0.7.
  loss       detectors/centernet/loss.* + centernet_focal_loss: focal + 0.1 L1(wh) + L1(offset).
  optimiser  Adam(lr, 0.9/0.999, eps 1e-8), batch 32, drop_last, reshuffled each epoch; lr per step t:
             lr (0.1 + 0.9 t / warmup) for t < warmup, then lr (1 + cos(pi (t - warmup) / (steps -
             warmup))) / 2 (autograd/optim/schedule.h; = SequentialLR(LinearLR, CosineAnnealingLR)).
  decode     detectors/centernet/decode.*: sigmoid, 3x3 peaks, top-100 over classes x cells, no NMS.
"""
import argparse
import json
import math
import os
import queue
import subprocess
import sys
import threading
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

STRIDE = 4
MAX_OBJS = 32
NUM_CLASSES = 10
HEATMAP_PRIOR = 0.1


# ---- data --------------------------------------------------------------------------------------------
def read_png(path):
    """u8 [H, W, 3]."""
    try:
        from PIL import Image
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"), dtype=np.uint8).copy()
    except ImportError:
        import torchvision.io
        return torchvision.io.read_image(path, torchvision.io.ImageReadMode.RGB).permute(1, 2, 0).numpy().copy()


class Dataset:
    """An exported COCO folder in memory: images u8 [N, H, W, 3], per image xyxy f32 boxes and
    0-based labels (category_id - 1), in the order of instances.json's "images"."""

    def __init__(self, folder, limit=None):
        with open(os.path.join(folder, "instances.json")) as f:
            gt = json.load(f)
        self.folder = folder
        self.gt_path = os.path.join(folder, "instances.json")
        images = gt["images"][:limit] if limit else gt["images"]
        self.ids = [im["id"] for im in images]
        by_image = {i: [] for i in self.ids}
        for a in gt["annotations"]:
            if a["image_id"] in by_image:
                by_image[a["image_id"]].append(a)
        self.images = np.stack([read_png(os.path.join(folder, im["file_name"])) for im in images])
        self.boxes, self.labels = [], []
        for i in self.ids:
            anns = by_image[i]
            # x2 = x + w in double, then f32 (as detgrad's readers)
            self.boxes.append(np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                                         a["bbox"][1] + a["bbox"][3]] for a in anns], dtype=np.float64)
                              .reshape(-1, 4).astype(np.float32))
            self.labels.append(np.array([a["category_id"] - 1 for a in anns], dtype=np.int64))

    def __len__(self):
        return len(self.ids)


# u8 -> (x / 255 - 0.5) / 0.25 in f32, exactly as detgrad's loader computes it (a lookup table, so
# there is no question of torch turning the division into a multiplication by the reciprocal).
NORM_LUT = ((np.arange(256, dtype=np.float32) / np.float32(255.0) - np.float32(0.5)) / np.float32(0.25)).astype(np.float32)


def normalise(images_u8):
    """u8 [N, H, W, 3] -> f32 tensor [N, 3, H, W]."""
    return torch.from_numpy(np.ascontiguousarray(NORM_LUT[images_u8].transpose(0, 3, 1, 2)))


# ---- augmentation (detectors/data/augment.cpp, operation for operation, in f64) ----------------------
# Affine maps are tuples (a, b, tx, c, d, ty): x' = a x + b y + tx, y' = c x + d y + ty.
IDENTITY = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def compose(o, i):
    """o(i(p))."""
    return (o[0] * i[0] + o[1] * i[3], o[0] * i[1] + o[1] * i[4], o[0] * i[2] + o[1] * i[5] + o[2],
            o[3] * i[0] + o[4] * i[3], o[3] * i[1] + o[4] * i[4], o[3] * i[2] + o[4] * i[5] + o[5])


def invert(m):
    a, b, tx, c, d, ty = m
    det = a * d - b * c
    ra, rb, rc, rd = d / det, -b / det, -c / det, a / det
    return (ra, rb, -(ra * tx + rb * ty), rc, rd, -(rc * tx + rd * ty))


def to_u8(v):
    return np.clip(np.rint(v), 0.0, 255.0).astype(np.uint8)


def warp_affine(img, m, oh, ow, fill=0):
    """Bilinear warp of u8 [H, W, 3]: output pixel centre -> inv(m) -> source, sampled at p - 0.5 from
    its 4 neighbours (outside neighbours count as fill); fully outside (sx <= -1 ...) -> fill."""
    H, W = img.shape[:2]
    ia, ib, itx, ic, idd, ity = invert(m)
    X, Y = np.meshgrid(np.arange(ow, dtype=np.float64) + 0.5, np.arange(oh, dtype=np.float64) + 0.5)
    sx = (ia * X + ib * Y + itx) - 0.5
    sy = (ic * X + idd * Y + ity) - 0.5
    outside = (sx <= -1) | (sy <= -1) | (sx >= W) | (sy >= H)
    x0 = np.floor(np.where(outside, 0.0, sx)).astype(np.int64)
    y0 = np.floor(np.where(outside, 0.0, sy)).astype(np.int64)
    fx = (np.where(outside, 0.0, sx) - x0)[..., None]
    fy = (np.where(outside, 0.0, sy) - y0)[..., None]
    pad = np.full((H + 2, W + 2, 3), float(fill), dtype=np.float64)
    pad[1:H + 1, 1:W + 1] = img
    xa, ya = x0 + 1, y0 + 1  # index in pad of (x0, y0)
    top = pad[ya, xa] * (1 - fx) + pad[ya, xa + 1] * fx
    bot = pad[ya + 1, xa] * (1 - fx) + pad[ya + 1, xa + 1] * fx
    out = to_u8(top * (1 - fy) + bot * fy)
    out[outside] = fill
    return out


def transform_boxes(boxes, m, oh, ow, min_size=1.0):
    """boxes f32 [M, 4] -> (kept boxes f32 [K, 4], kept indices): corners mapped in f64, min/max, f32,
    clipped to [0, ow] x [0, oh], dropped when empty or narrower/lower than min_size."""
    kept_boxes, kept = [], []
    f0, fw, fh, fmin = np.float32(0), np.float32(ow), np.float32(oh), np.float32(min_size)
    for i, b in enumerate(boxes):
        xs, ys = [], []
        for k in range(4):
            x = float(b[2] if k & 1 else b[0])
            y = float(b[3] if k & 2 else b[1])
            xs.append(m[0] * x + m[1] * y + m[2])
            ys.append(m[3] * x + m[4] * y + m[5])
        x1, y1, x2, y2 = (np.float32(v) for v in (min(xs), min(ys), max(xs), max(ys)))
        x1, x2 = min(max(x1, f0), fw), min(max(x2, f0), fw)
        y1, y2 = min(max(y1, f0), fh), min(max(y2, f0), fh)
        w, h = x2 - x1, y2 - y1
        if w <= 0 or h <= 0 or w < fmin or h < fmin:
            continue
        kept_boxes.append([x1, y1, x2, y2])
        kept.append(i)
    return np.array(kept_boxes, dtype=np.float32).reshape(-1, 4), kept


def center_scale_affine(cx, cy, side, oh, ow):
    k = float(max(oh, ow)) / side
    return (k, 0.0, ow / 2.0 - k * cx, 0.0, k, oh / 2.0 - k * cy)


def augment(img, boxes, labels, draw, out_h=0, out_w=0):
    """AugmentConfig defaults. draw() -> U[0,1); consumed in detgrad's order: flip, scale, shift x,
    shift y, brightness, contrast, saturation. Returns (image, boxes, labels, transform, flipped)."""
    H, W = img.shape[:2]
    oh, ow = out_h or H, out_w or W
    flipped = draw() < 0.5
    flip_m = (-1.0, 0.0, float(W), 0.0, 1.0, 0.0) if flipped else IDENTITY
    scale = 0.6 + (1.4 - 0.6) * draw()
    dx = 0.2 * (2 * draw() - 1) * W
    dy = 0.2 * (2 * draw() - 1) * H
    crop = center_scale_affine(W / 2.0 + dx, H / 2.0 + dy, max(H, W) * scale, oh, ow)
    m = compose(crop, flip_m)
    out = warp_affine(img, m, oh, ow, 0)
    kb, kept = transform_boxes(boxes, m, oh, ow, 1.0)
    kl = labels[kept] if len(kept) else np.zeros((0,), dtype=np.int64)
    fb = 1 + 0.3 * (2 * draw() - 1)
    fc = 1 + 0.3 * (2 * draw() - 1)
    fs = 1 + 0.3 * (2 * draw() - 1)
    v = out.astype(np.float64) * fb                                      # brightness
    grey = 0.299 * v[..., 0] + 0.587 * v[..., 1] + 0.114 * v[..., 2]
    mean = np.cumsum(grey.ravel())[-1] / float(oh * ow)                  # sequential sum, as detgrad
    q = mean + fc * (v - mean)                                           # contrast around the grey mean
    g = (0.299 * q[..., 0] + 0.587 * q[..., 1] + 0.114 * q[..., 2])[..., None]
    out = to_u8(g + fs * (q - g))                                        # saturation around each grey
    return out, kb, kl, m, flipped


# ---- targets (detectors/centernet/targets.cpp) ---------------------------------------------------------------
def gaussian_radius(h, w, o=0.7):
    """CornerNet/CenterNet's code version (see NOTE [ The CenterNet radius bug ] in detectors/centernet/targets.cpp)."""
    b1, c1 = h + w, w * h * (1 - o) / (1 + o)
    b2, c2 = 2 * (h + w), (1 - o) * w * h
    a3, b3, c3 = 4 * o, -2 * o * (h + w), (o - 1) * w * h
    sq1 = math.sqrt(b1 * b1 - 4 * 1 * c1)
    sq2 = math.sqrt(b2 * b2 - 4 * 4 * c2)
    sq3 = math.sqrt(b3 * b3 - 4 * a3 * c3)
    return min((b1 + sq1) / 2, (b2 + sq2) / 2, (b3 + sq3) / 2)


_KERNELS = {}


def gaussian_kernel(r):
    """f32 [2r+1, 2r+1]: exp(-(dx^2+dy^2) / (2 sigma^2)) in f64 (libm exp), sigma = (2r+1)/6, < eps -> 0."""
    if r not in _KERNELS:
        sigma = (2 * r + 1) / 6.0
        k = np.zeros((2 * r + 1, 2 * r + 1), dtype=np.float32)
        for y in range(-r, r + 1):
            for x in range(-r, r + 1):
                g = math.exp(-float(x * x + y * y) / (2 * sigma * sigma))
                k[y + r, x + r] = 0.0 if g < sys.float_info.epsilon else g
        _KERNELS[r] = k
    return _KERNELS[r]


def centernet_targets(boxes, labels, out_h, out_w, num_classes=NUM_CLASSES, stride=STRIDE, max_objs=MAX_OBJS):
    """boxes f32 [M, 4] input pixels, labels [M] -> heatmap f32 [C, h, w], wh / offset f32 [K, 2],
    indices i64 [K], mask u8 [K]; arithmetic in f32 like detgrad with f32 boxes."""
    hm = np.zeros((num_classes, out_h, out_w), dtype=np.float32)
    wh = np.zeros((max_objs, 2), dtype=np.float32)
    off = np.zeros((max_objs, 2), dtype=np.float32)
    ind = np.zeros((max_objs,), dtype=np.int64)
    mask = np.zeros((max_objs,), dtype=np.uint8)
    f0, fs, fw, fh, two = np.float32(0), np.float32(stride), np.float32(out_w - 1), np.float32(out_h - 1), np.float32(2)
    for k in range(min(len(boxes), max_objs)):
        x1 = min(max(boxes[k, 0] / fs, f0), fw)
        y1 = min(max(boxes[k, 1] / fs, f0), fh)
        x2 = min(max(boxes[k, 2] / fs, f0), fw)
        y2 = min(max(boxes[k, 3] / fs, f0), fh)
        h, w = y2 - y1, x2 - x1
        if not (h > 0 and w > 0):
            continue
        r = max(0, int(gaussian_radius(math.ceil(float(h)), math.ceil(float(w)))))
        cx, cy = (x1 + x2) / two, (y1 + y2) / two
        ix, iy = int(cx), int(cy)
        g = gaussian_kernel(r)
        ya, yb, xa, xb = max(iy - r, 0), min(iy + r, out_h - 1), max(ix - r, 0), min(ix + r, out_w - 1)
        if ya <= yb and xa <= xb:
            region = hm[int(labels[k]), ya:yb + 1, xa:xb + 1]
            np.maximum(region, g[ya - iy + r:yb - iy + r + 1, xa - ix + r:xb - ix + r + 1], out=region)
        wh[k] = (w, h)
        off[k] = (cx - np.float32(ix), cy - np.float32(iy))
        ind[k] = iy * out_w + ix
        mask[k] = 1
    return hm, wh, off, ind, mask


def stack_targets(per_image):
    return [torch.from_numpy(np.stack([t[j] for t in per_image])) for j in range(5)]


# ---- model (detectors/centernet/model.cpp, layers/resnet.cpp) ----------------------------------------
class BasicBlock(nn.Module):
    def __init__(self, inp, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(inp, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU()
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or inp != planes:
            self.downsample = nn.Sequential(nn.Conv2d(inp, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


class ResNet18Features(nn.Module):
    """torchvision's ResNet-18 without avgpool/fc, widths max(1, round(w * width)); returns C5."""

    def __init__(self, width):
        super().__init__()
        # detgrad: std::llround (halves away from zero), not Python's banker's round
        self.widths = [max(1, int(math.floor(b * width + 0.5))) for b in (64, 128, 256, 512)]
        w = self.widths
        self.conv1 = nn.Conv2d(3, w[0], 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(w[0])
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        inp = w[0]
        for i in range(4):
            blocks = []
            for b in range(2):
                blocks.append(BasicBlock(inp, w[i], 2 if (i > 0 and b == 0) else 1))
                inp = w[i]
            setattr(self, "layer%d" % (i + 1), nn.Sequential(*blocks))
        for m in self.modules():  # torchvision's init; BN keeps 1 / 0
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


class UpStage(nn.Module):
    def __init__(self, inp, out):
        super().__init__()
        self.conv = nn.ConvTranspose2d(inp, out, 4, stride=2, padding=1, bias=False)  # PyTorch default init
        self.bn = nn.BatchNorm2d(out)
        self.relu = nn.ReLU()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


def make_head(inp, mid, out):
    return nn.Sequential(nn.Conv2d(inp, mid, 3, padding=1), nn.ReLU(), nn.Conv2d(mid, out, 1))


class CenterNet(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES, width=0.25, up=(64, 32, 32), head=32):
        super().__init__()
        self.backbone = ResNet18Features(width)
        stages, inp = [], self.backbone.widths[3]
        for u in up:
            stages.append(UpStage(inp, u))
            inp = u
        self.deconv = nn.Sequential(*stages)
        self.hm = make_head(inp, head, num_classes)
        self.wh = make_head(inp, head, 2)
        self.reg = make_head(inp, head, 2)
        nn.init.constant_(self.hm[2].bias, -math.log((1.0 - HEATMAP_PRIOR) / HEATMAP_PRIOR))

    def forward(self, x):
        f = self.deconv(self.backbone(x))
        return self.hm(f), self.wh(f), self.reg(f)


# ---- loss (detectors/focal_loss.cpp centernet_focal_loss, detectors/centernet/loss.cpp) --------------
def focal_loss(logits, target):
    p = torch.sigmoid(logits).clamp(1e-4, 1 - 1e-4)
    q = torch.sigmoid(-logits).clamp(1e-4, 1 - 1e-4)  # 1 - p, accurate where p is near 1
    pos = target.eq(1).float()
    neg = target.lt(1).float()
    pos_loss = (torch.log(p) * q.pow(2) * pos).sum()
    neg_loss = (torch.log(q) * p.pow(2) * torch.pow(1 - target, 4) * neg).sum()
    num_pos = pos.sum().item()
    return -neg_loss if num_pos == 0 else -(pos_loss + neg_loss) / num_pos


def reg_l1(pred, target, ind, mask):
    n, k = ind.shape
    g = pred.reshape(n, 2, -1).gather(2, ind.unsqueeze(1).expand(n, 2, k)).transpose(1, 2)  # [N, K, 2]
    m = mask.to(pred.dtype).unsqueeze(2)
    return (g * m - target * m).abs().sum() / (2.0 * m.sum().item() + 1e-4)


def centernet_loss(out, targets):
    hm, wh, off = out
    t_hm, t_wh, t_off, t_ind, t_mask = targets
    l_hm = focal_loss(hm, t_hm)
    l_wh = reg_l1(wh, t_wh, t_ind, t_mask)
    l_off = reg_l1(off, t_off, t_ind, t_mask)
    return l_hm * 1.0 + l_wh * 0.1 + l_off * 1.0, l_hm, l_wh, l_off


# ---- decode (detectors/centernet/decode.cpp) --------------------------------------------------------
def decode(hm, wh, off, topk=100, stride=STRIDE):
    """-> per image (boxes f64 [K, 4] xyxy, scores f32 [K], labels i64 [K]); ties by lower flat index."""
    n, c, h, w = hm.shape
    p = torch.sigmoid(hm)
    score = torch.where(F.max_pool2d(p, 3, 1, 1) == p, p, torch.zeros_like(p)).reshape(n, -1)
    k = min(topk, c * h * w)
    vals, idx = torch.sort(score, dim=1, descending=True, stable=True)
    vals, idx = vals[:, :k].numpy(), idx[:, :k].numpy()
    whn, offn = wh.reshape(n, 2, -1).numpy().astype(np.float64), off.reshape(n, 2, -1).numpy().astype(np.float64)
    result = []
    for b in range(n):
        cell = idx[b] % (h * w)
        cx = cell % w + offn[b, 0, cell]
        cy = cell // w + offn[b, 1, cell]
        bw, bh = whn[b, 0, cell], whn[b, 1, cell]
        boxes = np.stack([(cx - bw / 2) * stride, (cy - bh / 2) * stride, (cx + bw / 2) * stride,
                          (cy + bh / 2) * stride], axis=1)
        result.append((boxes, vals[b], idx[b] // (h * w)))
    return result


# ---- schedule (autograd/optim/schedule.h: warmup(W, 0.1, cosine_lr(steps - W))) ----------------------
def lr_at(t, base, warmup, steps):
    w = min(warmup, steps)  # as detgrad's train_lr: a run shorter than the warm-up warms up over all of it
    if t < w:
        return base * (0.1 + (1.0 - 0.1) * t / w)
    return 0.0 + (base - 0.0) * (1.0 + math.cos(math.pi * (t - w) / max(1, steps - w))) / 2.0


# ---- batches: a background thread builds them ahead of the training loop ------------------------------
def batch_stream(ds, batch, seed, out_h, out_w, stop):
    rng = np.random.default_rng(seed)
    draw = lambda: float(rng.random())
    epoch = 0
    while not stop.is_set():
        order = rng.permutation(len(ds))
        for s in range(len(ds) // batch):  # drop_last
            imgs, tgts = [], []
            for i in order[s * batch:(s + 1) * batch]:
                img, b, l, _, _ = augment(ds.images[i], ds.boxes[i], ds.labels[i], draw)
                imgs.append(img)
                tgts.append(centernet_targets(b, l, out_h // STRIDE, out_w // STRIDE))
            yield normalise(np.stack(imgs)), stack_targets(tgts), epoch
        epoch += 1


def prefetch(gen, depth, stop):
    q = queue.Queue(maxsize=depth)

    def work():
        try:
            for item in gen:
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        pass
                if stop.is_set():
                    return
        except Exception as e:  # surfaced in the training thread
            q.put(e)

    threading.Thread(target=work, daemon=True).start()
    while True:
        item = q.get()
        if isinstance(item, Exception):
            raise item
        yield item


# ---- evaluation through detgrad's COCOeval -----------------------------------------------------------
def run_eval(detgrad, gt_path, dets, work):
    """dets: COCO result list. Returns (AP50, AP, agnostic AP50)."""
    def coco(gt, dt, tag):
        out = os.path.join(work, "eval_%s.json" % tag)
        r = subprocess.run([detgrad, "eval", "--gt", gt, "--dt", dt, "--json", out, "--no-per-category"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            sys.exit("centernet_torch: %s eval failed:\n%s%s" % (detgrad, r.stdout, r.stderr))
        with open(out) as f:
            return json.load(f)

    dt_path = os.path.join(work, "dets.json")
    with open(dt_path, "w") as f:
        json.dump(dets, f)
    s = coco(gt_path, dt_path, "classes")
    with open(gt_path) as f:
        gt = json.load(f)
    for a in gt["annotations"]:
        a["category_id"] = 1
    gt["categories"] = [{"id": 1, "name": "object"}]
    ag_gt, ag_dt = os.path.join(work, "gt_agnostic.json"), os.path.join(work, "dets_agnostic.json")
    with open(ag_gt, "w") as f:
        json.dump(gt, f)
    with open(ag_dt, "w") as f:
        json.dump([dict(d, category_id=1) for d in dets], f)
    a = coco(ag_gt, ag_dt, "agnostic")
    return s["AP50"], s["AP"], a["AP50"]


@torch.no_grad()
def detect(model, val_x, ids, batch=64):
    model.eval()
    dets = []
    for s in range(0, len(ids), batch):
        for j, (boxes, scores, labels) in enumerate(decode(*model(val_x[s:s + batch]))):
            for b, sc, l in zip(boxes, scores, labels):
                dets.append({"image_id": ids[s + j], "category_id": int(l) + 1, "score": float(sc),
                             "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])]})
    model.train()
    return dets


# ---- training ------------------------------------------------------------------------------------------
def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()
    tr, va = Dataset(args.train), Dataset(args.val)
    H, W = tr.images.shape[1:3]
    assert H % 32 == 0 and W % 32 == 0, "image size must be a multiple of 32, got %dx%d" % (H, W)
    val_x = normalise(va.images)
    print("centernet_torch: %d train, %d val images %dx%d (loaded in %.1f s); torch %s, %d threads"
          % (len(tr), len(va), H, W, time.time() - t0, torch.__version__, args.threads), flush=True)
    model = CenterNet(NUM_CLASSES, args.width, args.up, args.head)
    print("model: width %g, up %s, head %d, %d parameters" % (args.width, args.up, args.head,
          sum(p.numel() for p in model.parameters())), flush=True)
    if args.init:
        load_state(model, read_safetensors(args.init))
        print("initial weights from", args.init)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    stop = threading.Event()
    stream = batch_stream(tr, args.batch, args.seed, H, W, stop)
    batches = prefetch(stream, 4, stop) if args.workers > 0 else stream
    curve = open(os.path.join(args.out, "curve.jsonl"), "w")
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(dict(vars(args), torch=torch.__version__, train_images=len(tr), val_images=len(va),
                       input=[int(H), int(W)]), f, indent=1)

    def log(rec):
        curve.write(json.dumps(rec) + "\n")
        curve.flush()

    def evaluate(step, images, train_seconds):
        t = time.time()
        ap50, ap, ag = run_eval(args.detgrad, va.gt_path, detect(model, val_x, va.ids), args.out)
        log({"kind": "eval", "images": images, "step": step, "train_seconds": round(train_seconds, 3),
             "AP50": ap50, "AP": ap, "agnostic_AP50": ag})
        print("eval @ %d images (step %d, %.1f min of training): AP50 %.4f  AP %.4f  agnostic AP50 %.4f  (%.1f s)"
              % (images, step, train_seconds / 60, ap50, ap, ag, time.time() - t), flush=True)

    model.train()
    train_seconds, data_wait, next_eval, sums, n_sum = 0.0, 0.0, args.eval_every, np.zeros(4), 0
    t_last = time.time()
    for step in range(args.steps):
        lr = lr_at(step, args.lr, args.warmup, args.steps)
        for g in opt.param_groups:
            g["lr"] = lr
        t_data = time.time()
        x, targets, epoch = next(batches)
        data_wait += time.time() - t_data
        total, l_hm, l_wh, l_off = centernet_loss(model(x), targets)
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        sums += [total.item(), l_hm.item(), l_wh.item(), l_off.item()]
        n_sum += 1
        now = time.time()
        train_seconds += now - t_last
        t_last = now
        images = (step + 1) * args.batch
        if (step + 1) % 20 == 0 or step + 1 == args.steps:
            m = sums / n_sum
            log({"kind": "train", "step": step + 1, "images": images, "train_seconds": round(train_seconds, 3),
                 "loss": m[0], "heatmap": m[1], "wh": m[2], "offset": m[3], "lr": lr,
                 "data_wait_seconds": round(data_wait, 3)})
            print("step %d/%d epoch %d  loss %.4f (hm %.4f wh %.4f off %.4f)  lr %.2e  %.1f img/s"
                  % (step + 1, args.steps, epoch, m[0], m[1], m[2], m[3], lr, images / train_seconds), flush=True)
            sums, n_sum = np.zeros(4), 0
        if (args.eval_every > 0 and images >= next_eval) or step + 1 == args.steps:
            while args.eval_every > 0 and next_eval <= images:
                next_eval += args.eval_every
            evaluate(step + 1, images, train_seconds)
            t_last = time.time()  # evaluation time is not training time
    stop.set()
    curve.close()
    print("done: %d steps, %d images in %.1f s of training (%.1f img/s); %s/curve.jsonl"
          % (args.steps, args.steps * args.batch, train_seconds, args.steps * args.batch / train_seconds, args.out))


# ---- safetensors (a reader and a writer; no package needed) ----------------------------------------------
_ST_DTYPES = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32, "U8": np.uint8, "F16": np.float16,
              "BOOL": np.bool_}


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, en = e["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[b:en], dtype=_ST_DTYPES[e["dtype"]]).reshape(e["shape"]).copy())
    return out


def load_state(model, tensors):
    sd = model.state_dict()
    missing, unexpected = set(sd) - set(tensors), set(tensors) - set(sd)
    assert not missing and not unexpected, "state_dict mismatch: missing %s, unexpected %s" % (sorted(missing), sorted(unexpected))
    for k, v in tensors.items():
        assert sd[k].shape == v.shape, "%s: model %s, file %s" % (k, tuple(sd[k].shape), tuple(v.shape))
    model.load_state_dict({k: v.to(sd[k].dtype) for k, v in tensors.items()})


# ---- the mirror check ------------------------------------------------------------------------------------
def max_diff(a, b):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    d = np.abs(a - b).max() if a.size else 0.0
    return d, d / max(np.abs(b).max() if b.size else 0.0, 1e-30)


def parity_check(args):
    torch.set_num_threads(args.threads)
    d = args.parity_check
    with open(os.path.join(d, "parity.json")) as f:
        pj = json.load(f)
    cfg = pj["config"]
    npy = lambda name: np.load(os.path.join(d, name + ".npy"))
    failures = []

    def report(what, ok, text):
        print("%-36s %s  %s" % (what, "info" if ok is None else "ok  " if ok else "FAIL", text))
        if ok is False:
            failures.append(what)

    ds = Dataset(cfg["data"], limit=cfg["n"])
    H, W = ds.images.shape[1:3]
    # targets and input: bit-exact
    tg = [centernet_targets(ds.boxes[i], ds.labels[i], H // STRIDE, W // STRIDE) for i in range(len(ds))]
    ours = [np.stack([t[j] for t in tg]) for j in range(5)]
    for j, name in enumerate(["heatmap", "wh", "offset", "indices", "mask"]):
        theirs = npy("t_" + name)
        report("targets." + name, ours[j].shape == theirs.shape and np.array_equal(ours[j], theirs),
               "max |diff| %.3g over %s" % (max_diff(ours[j], theirs)[0], theirs.shape))
    x = normalise(ds.images)
    report("input normalisation", np.array_equal(x.numpy(), npy("input")), "bit-exact required")

    # augmentation of detgrad's draws: bit-exact image, boxes, labels, transform
    for i, a in enumerate(pj["augment"]):
        u = iter(a["uniforms"])
        img, b, l, m, flipped = augment(ds.images[i], ds.boxes[i], ds.labels[i], lambda: next(u))
        theirs = npy("aug_%d" % i)
        nd = int((img != theirs).sum())
        same_boxes = b.shape == np.array(a["boxes"], dtype=np.float32).reshape(-1, 4).shape and np.array_equal(
            b, np.array(a["boxes"], dtype=np.float32).reshape(-1, 4))
        ok = nd == 0 and same_boxes and list(l) == a["labels"] and flipped == a["flipped"] and np.allclose(
            m, a["transform"], rtol=0, atol=1e-12)
        report("augment[%d]" % i, ok, "flip %d, %d boxes, %d differing bytes (max %d), boxes %s"
               % (flipped, len(b), nd, int(np.abs(img.astype(int) - theirs).max()), "equal" if same_boxes else "DIFFER"))
        ident = warp_affine(ds.images[i], IDENTITY, H, W)
        report("identity warp[%d]" % i, np.array_equal(ident, ds.images[i]) and np.array_equal(npy("identity_%d" % i), ds.images[i]),
               "ours and detgrad's equal the image")

    # model: same weights -> forward, loss, gradients. The reference is this model in f64; the same
    # model in f32 shows how far an f32 implementation is from it (the noise floor detgrad is held to).
    w0 = read_safetensors(os.path.join(d, "weights.safetensors"))
    targets = [torch.from_numpy(npy("t_" + n)) for n in ["heatmap", "wh", "offset", "indices", "mask"]]
    runs = {}
    for dtype in (torch.float64, torch.float32):
        model = CenterNet(NUM_CLASSES, cfg["width"], tuple(cfg["up"]), cfg["head"])
        load_state(model, w0)
        model.to(dtype).train()
        tg = [t.to(dtype) if t.is_floating_point() else t for t in targets]
        out = model(torch.from_numpy(npy("input")).to(dtype))
        losses = centernet_loss(out, tg)
        losses[0].backward()
        runs[dtype] = (model, out, losses)
    grads = read_safetensors(os.path.join(d, "grads.safetensors"))
    m64, out64, loss64 = runs[torch.float64]
    m32, out32, loss32 = runs[torch.float32]
    for name, t64, t32 in zip(["heatmap", "wh", "offset"], out64, out32):
        a, r = max_diff(npy("out_" + name), t64.detach().numpy())
        report("forward (train) " + name, r < 1e-4, "max abs %.3g, rel to max %.3g (torch f32: %.3g)"
               % (a, r, max_diff(t32.detach().numpy(), t64.detach().numpy())[1]))
    for name, t64, t32 in zip(["total", "heatmap", "wh", "offset"], loss64, loss32):
        theirs = pj["loss"][name]
        rel = abs(theirs - t64.item()) / max(abs(t64.item()), 1e-30)
        report("loss " + name, rel < 1e-5, "f64 %.8f detgrad %.8f torch-f32 %.8f, detgrad rel %.2g"
               % (t64.item(), theirs, t32.item(), rel))
    # Gradients: where BN makes a channel's gradients cancel (sums of many terms of both signs), any
    # f32 implementation is off from f64 by up to ~1e-3 of the tensor's largest entry. So each tensor
    # passes if detgrad is within 1e-4 of f64, or no more than 3x as far from f64 as PyTorch's f32.
    p32, worst, worst_ratio, worst_name, ok = dict(m32.named_parameters()), 0.0, 0.0, "", True
    for name, p in m64.named_parameters():
        e_d = max_diff(grads[name].numpy(), p.grad.numpy())[1]
        e_t = max_diff(p32[name].grad.numpy(), p.grad.numpy())[1]
        ok &= e_d < 1e-4 or e_d <= 3 * e_t
        worst = max(worst, e_d)
        if e_d / max(e_t, 1e-4) > worst_ratio:
            worst_ratio, worst_name = e_d / max(e_t, 1e-4), name
    report("gradients (%d tensors)" % len(grads), ok,
           "worst |diff| rel to the tensor's max %.3g; worst detgrad/torch-f32 error ratio %.2f (%s)"
           % (worst, worst_ratio, worst_name))
    # One Adam step (lr 2e-3). Its first step is lr * g / (|g| + eps): elements whose gradient is
    # near the f32 noise floor can move by up to 2 lr differently, so count the elements off by more
    # than 1% of lr, for detgrad and for PyTorch's f32 step, both against the f64 step.
    for m in (m64, m32):
        torch.optim.Adam(m.parameters(), lr=2e-3, betas=(0.9, 0.999), eps=1e-8).step()
    after = read_safetensors(os.path.join(d, "after_step.safetensors"))
    sd64, sd32 = m64.state_dict(), m32.state_dict()
    params = dict(m64.named_parameters())
    moved_d, moved_t, total, bw, bn = 0, 0, 0, 0.0, ""
    for k, v in after.items():
        ref = sd64[k].numpy().astype(np.float64)
        diff = np.abs(v.numpy().astype(np.float64) - ref)
        if k in params:
            moved_d += int((diff > 0.01 * 2e-3).sum())
            moved_t += int((np.abs(sd32[k].numpy() - ref) > 0.01 * 2e-3).sum())
            total += diff.size
        else:
            r = diff.max() / max(np.abs(ref).max(), 1e-30)
            if r > bw:
                bw, bn = r, k
    report("Adam step: parameters", moved_d <= max(total * 1e-4, 3 * moved_t),
           "off by > 1%% of lr: detgrad %d, torch f32 %d of %d elements" % (moved_d, moved_t, total))
    report("BN running stats after the step", bw < 1e-4, "worst rel-to-max %.3g (%s)" % (bw, bn))
    # eval-mode forward with detgrad's stepped state (running statistics in use)
    model = CenterNet(NUM_CLASSES, cfg["width"], tuple(cfg["up"]), cfg["head"])
    load_state(model, after)
    model.double().eval()
    with torch.no_grad():
        ev = model(torch.from_numpy(npy("input")).double())
    for name, t in zip(["heatmap", "wh", "offset"], ev):
        a, r = max_diff(npy("eval_" + name), t.numpy())
        report("forward (eval, f64) " + name, r < 1e-4, "max abs %.3g, rel to max %.3g" % (a, r))
    # decoding the SAME tensors (detgrad's eval outputs) must give detgrad's detections
    dec = decode(*[torch.from_numpy(npy("eval_" + n)) for n in ["heatmap", "wh", "offset"]])
    worst_box, same_labels = 0.0, True
    for (boxes, scores, labels), theirs in zip(dec, pj["detections"]):
        tb = np.array(theirs["boxes"]).reshape(-1, 4)
        same_labels &= list(labels) == [int(v) for v in theirs["labels"]] and np.allclose(scores, theirs["scores"], rtol=1e-6, atol=0)
        worst_box = max(worst_box, float(np.abs(boxes - tb).max()))
    report("decode (detgrad's outputs)", same_labels and worst_box < 1e-4,
           "same order/labels/scores: %s, max box diff %.3g px" % (same_labels, worst_box))
    # and decoding torch's own eval outputs: how many top-100 detections coincide
    dec_t = decode(*[t.float() for t in ev])
    agree = [np.mean(np.asarray(a[2]) == np.asarray([int(v) for v in t["labels"]])) for a, t in zip(dec_t, pj["detections"])]
    print("%-36s info  top-100 labels in the same order: %.1f%% (float noise reorders near-ties)"
          % ("decode (torch f64 outputs)", 100 * float(np.mean(agree))))
    print("parity: %s" % ("all checks passed" if not failures else "FAILED: " + ", ".join(failures)))
    return 0 if not failures else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--train", help="exported train folder (images/ + instances.json)")
    ap.add_argument("--val", help="exported val folder")
    ap.add_argument("--steps", type=int, default=1000, help="training steps (the schedule's length)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100, help="linear warm-up steps from 0.1 lr")
    ap.add_argument("--width", type=float, default=0.25, help="ResNet-18 width multiplier")
    ap.add_argument("--up", default="64,32,32", help="the three up-stage widths")
    ap.add_argument("--head", type=int, default=32, help="head width")
    ap.add_argument("--full-width", action="store_true",
                    help="the standard-preset network: --width 1 --up 256,128,64 --head 64")
    ap.add_argument("--eval-every", type=int, default=0, help="evaluate every this many training images (0: at the end only)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--workers", type=int, default=1, help="1: batches built by a background thread; 0: inline")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", help="start from these weights (a detgrad safetensors state_dict)")
    ap.add_argument("--detgrad", default=None, help="the detgrad binary for evaluation (default build/detgrad)")
    ap.add_argument("--out", help="output folder (curve.jsonl, detections)")
    ap.add_argument("--parity-check", metavar="DIR", help="compare with `detgrad bench centernet-parity --out DIR`")
    args = ap.parse_args()
    if args.parity_check:
        sys.exit(parity_check(args))
    if not (args.train and args.val and args.out):
        ap.error("--train, --val and --out are required (or --parity-check DIR)")
    if args.full_width:
        args.width, args.up, args.head = 1.0, "256,128,64", 64
    args.up = tuple(int(v) for v in args.up.split(","))
    assert len(args.up) == 3, "--up needs three widths"
    if args.detgrad is None:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        args.detgrad = "build/detgrad" if os.path.exists("build/detgrad") else os.path.join(here, "build", "detgrad")
    train(args)


if __name__ == "__main__":
    main()
