#!/usr/bin/env python3
"""The torchvision yardstick of `detgrad train fcos|retinanet` (issue #6): torchvision 0.14's own FCOS /
RetinaNet (its heads, init, target assignment, losses and post-processing, unchanged) on detgrad's
backbone (the detgrad-identical ResNet-18 at --width of bench/centernet_torch.py) + torchvision's
FeaturePyramidNetwork (P3-P5, no extra blocks), trained with detgrad's recipe (augmentation mirror,
Adam, warm-up + cosine, batch 32) on the same exported data, evaluated by detgrad's COCOeval.

    build/detgrad data export fashion-scenes --preset small --out /tmp/fs_train --n 8000 --seed 0 --split train
    build/detgrad data export fashion-scenes --preset small --out /tmp/fs_val --n 500 --seed 0 --split val
    /usr/bin/python3 bench/detectors_torch.py --model fcos --train /tmp/fs_train --val /tmp/fs_val \\
        --minutes 5 --out /tmp/fcos_torch
    # a quick check that it runs (20 steps, two evaluations):
    /usr/bin/python3 bench/detectors_torch.py --model retinanet --train /tmp/fs_train --val /tmp/fs_val \\
        --steps 20 --eval-every 320 --out /tmp/retina_smoke

OUT/curve.jsonl (the format of detgrad's metrics.jsonl where possible):
    {"kind": "eval", "step", "epoch", "images", "train_seconds", "AP50", "AP", "agnostic_AP50"}
        every --eval-every images and at the end;
    {"kind": "train", "step", "epoch", "images", "train_seconds", "lr", "loss", <torchvision's loss
        parts: "classification", "bbox_regression"(, "bbox_ctrness")>, "data_wait_seconds"}
        every 20 steps (means over those steps).
train_seconds counts training only (data, forward, backward, update), not evaluations. OUT/config.json
holds the flags and the plan; progress goes to stderr.

Length: --steps N, or --minutes M: steps 3..100 (inside the warm-up, whose learning rates do not depend
on the total) are timed and the total is fixed from that speed with a 5% margin; when an epoch runs
more than 10% slower than planned the total is re-planned (as detgrad's train loop does).

The model (see bench/README.md, "FCOS and RetinaNet yardstick", for what matches detgrad and what not):
  backbone  ResNet18Features(--width) of centernet_torch.py (torchvision structure and init), C3..C5
            (strides 8/16/32; 32/64/128 channels at x0.25) -> torchvision.ops.FeaturePyramidNetwork
            (out --fpn, no extra blocks: P3-P5 only).
  fcos      torchvision FCOS, AnchorGenerator(((8,),(16,),(32,)), ((1.0,),)*3) (anchor = stride), the
            default FCOSHead (4 conv + GroupNorm(32) + ReLU per tower), center_sampling_radius 1.5.
  retinanet torchvision RetinaNet, AnchorGenerator sizes (32,40,50),(64,80,101),(128,161,203), ratios
            (0.5,1,2); the default RetinaNetHead (4 conv + ReLU per tower, no norm), Matcher(0.5, 0.4,
            allow_low_quality_matches=True).
  both      num_classes 10 (sigmoid, no background); GeneralizedRCNNTransform min=max size = the image
            size (no resize), mean 0.5, std 0.25 on [0,1] input (= detgrad's (u8/255 - 0.5)/0.25);
            inference score_thresh 0.05, topk_candidates 1000 per level, NMS 0.6 (FCOS) / 0.5
            (RetinaNet), 100 detections per image.
"""
import argparse
import json
import math
import os
import sys
import threading
import time
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import centernet_torch as ct  # noqa: E402  (the ResNet-18, the augmentation mirror, schedule, prefetch, eval)

import torchvision  # noqa: E402
from torchvision.models.detection import FCOS, RetinaNet  # noqa: E402
from torchvision.models.detection.anchor_utils import AnchorGenerator  # noqa: E402
from torchvision.ops import FeaturePyramidNetwork  # noqa: E402

LOG_EVERY = 20
PARTS = {"fcos": ["classification", "bbox_regression", "bbox_ctrness"],
         "retinanet": ["classification", "bbox_regression"]}


# ---- model -------------------------------------------------------------------------------------------
class ResNetFPN(nn.Module):
    """detgrad's ResNet-18 (centernet_torch.ResNet18Features) C3, C4, C5 -> torchvision FPN P3, P4, P5."""

    def __init__(self, width, fpn_channels):
        super().__init__()
        self.body = ct.ResNet18Features(width)
        w = self.body.widths
        self.fpn = FeaturePyramidNetwork([w[1], w[2], w[3]], fpn_channels, extra_blocks=None)  # its own init
        self.out_channels = fpn_channels  # what FCOS / RetinaNet read

    def forward(self, x):
        b = self.body
        x = b.maxpool(b.relu(b.bn1(b.conv1(x))))
        c3 = b.layer2(b.layer1(x))
        c4 = b.layer3(c3)
        c5 = b.layer4(c4)
        return self.fpn(OrderedDict([("p3", c3), ("p4", c4), ("p5", c5)]))


def build_model(name, num_classes, width, fpn_channels, image_hw):
    backbone = ResNetFPN(width, fpn_channels)
    common = dict(min_size=min(image_hw), max_size=max(image_hw), image_mean=[0.5] * 3, image_std=[0.25] * 3,
                  score_thresh=0.05, topk_candidates=1000, detections_per_img=100)
    if name == "fcos":
        anchors = AnchorGenerator(((8,), (16,), (32,)), ((1.0,),) * 3)
        return FCOS(backbone, num_classes, anchor_generator=anchors, nms_thresh=0.6, center_sampling_radius=1.5,
                    **common)
    sizes = tuple((s, int(s * 2 ** (1.0 / 3)), int(s * 2 ** (2.0 / 3))) for s in (32, 64, 128))
    anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 3)
    return RetinaNet(backbone, num_classes, anchor_generator=anchors, nms_thresh=0.5, fg_iou_thresh=0.5,
                     bg_iou_thresh=0.4, **common)


# ---- data: the CenterNet yardstick's augmentation, torchvision's target format ----------------------------
def to_unit(images_u8):
    """u8 [N, H, W, 3] -> f32 [N, 3, H, W] in [0, 1] (the transform then does (x - 0.5) / 0.25)."""
    return torch.from_numpy(np.ascontiguousarray(images_u8.transpose(0, 3, 1, 2))).float().div_(255.0)


def batch_stream(ds, batch, seed, stop, augment=True):
    """(images f32 [N,3,H,W], [{"boxes": f32 [K,4] xyxy, "labels": i64 [K]}], epoch); drop_last, a new
    order every epoch, the same draws as centernet_torch.batch_stream. K may be 0 (all boxes cropped)."""
    rng = np.random.default_rng(seed)
    draw = lambda: float(rng.random())
    epoch = 0
    while not stop.is_set():
        order = rng.permutation(len(ds))
        for s in range(len(ds) // batch):
            imgs, tgts = [], []
            for i in order[s * batch:(s + 1) * batch]:
                if augment:
                    img, b, l, _, _ = ct.augment(ds.images[i], ds.boxes[i], ds.labels[i], draw)
                else:
                    img, b, l = ds.images[i], ds.boxes[i], ds.labels[i]
                imgs.append(img)
                tgts.append({"boxes": torch.from_numpy(np.ascontiguousarray(b, dtype=np.float32).reshape(-1, 4)),
                             "labels": torch.from_numpy(np.asarray(l, dtype=np.int64).reshape(-1))})
            yield to_unit(np.stack(imgs)), tgts, epoch
        epoch += 1


@torch.no_grad()
def detect(model, val_x, ids, batch=50):
    """COCO result list (bbox [x, y, w, h], category_id = label + 1, score) of the eval-mode model."""
    model.eval()
    dets = []
    for s in range(0, len(ids), batch):
        for j, out in enumerate(model(list(val_x[s:s + batch]))):
            for b, sc, l in zip(out["boxes"].tolist(), out["scores"].tolist(), out["labels"].tolist()):
                dets.append({"image_id": ids[s + j], "category_id": int(l) + 1, "score": float(sc),
                             "bbox": [b[0], b[1], b[2] - b[0], b[3] - b[1]]})
    model.train()
    return dets


def category_count(gt_path):
    with open(gt_path) as f:
        cats = sorted(c["id"] for c in json.load(f)["categories"])
    if cats != list(range(1, len(cats) + 1)):
        sys.exit("detectors_torch: %s: category ids must be 1..K (labels are id - 1), got %s" % (gt_path, cats))
    return len(cats)


# ---- training ------------------------------------------------------------------------------------------
def train(args):
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    os.makedirs(args.out, exist_ok=True)
    say = lambda *a: print(*a, file=sys.stderr, flush=True)
    t0 = time.time()
    tr, va = ct.Dataset(args.train), ct.Dataset(args.val)
    num_classes = category_count(tr.gt_path)
    if category_count(va.gt_path) != num_classes:
        sys.exit("detectors_torch: train and val have different category lists")
    H, W = tr.images.shape[1:3]
    if H % 32 or W % 32:
        sys.exit("detectors_torch: image size must be a multiple of 32, got %dx%d" % (H, W))
    if len(tr) < args.batch:
        sys.exit("detectors_torch: %d training images, fewer than one batch of %d" % (len(tr), args.batch))
    val_x = to_unit(va.images)
    say("detectors_torch: %s, %d train / %d val images %dx%d, %d classes (loaded in %.1f s); torch %s, "
        "torchvision %s, %d threads" % (args.model, len(tr), len(va), H, W, num_classes, time.time() - t0,
                                        torch.__version__, torchvision.__version__, args.threads))
    model = build_model(args.model, num_classes, args.width, args.fpn, (H, W))
    n_params = sum(p.numel() for p in model.parameters())
    say("model: ResNet-18 x%g (C3-C5 %s) + FPN %d (P3-P5), %d parameters"
        % (args.width, model.backbone.body.widths[1:], args.fpn, n_params))
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0)
    stop = threading.Event()
    stream = batch_stream(tr, args.batch, args.seed, stop)
    batches = ct.prefetch(stream, 4, stop) if args.workers > 0 else stream
    curve = open(os.path.join(args.out, "curve.jsonl"), "w")
    config = dict(vars(args), torch=torch.__version__, torchvision=torchvision.__version__, train_images=len(tr),
                  val_images=len(va), input=[int(H), int(W)], num_classes=num_classes, parameters=n_params)

    def write_config():
        with open(os.path.join(args.out, "config.json"), "w") as f:
            json.dump(config, f, indent=1)

    write_config()

    def log(rec):
        curve.write(json.dumps(rec) + "\n")
        curve.flush()

    def evaluate(step, epoch, images, train_seconds):
        t = time.time()
        dets = detect(model, val_x, va.ids)  # may be empty (RetinaNet starts at p = 0.01 < 0.05)
        ap50, ap, ag = ct.run_eval(args.detgrad, va.gt_path, dets, args.out)
        log({"kind": "eval", "step": step, "epoch": epoch, "images": images, "train_seconds": round(train_seconds, 3),
             "AP50": ap50, "AP": ap, "agnostic_AP50": ag, "detections": len(dets)})
        say("eval @ %d images (step %d, %.2f min of training): AP50 %.4f  AP %.4f  agnostic AP50 %.4f  "
            "(%d detections, %.1f s)" % (images, step, train_seconds / 60, ap50, ap, ag, len(dets), time.time() - t))

    parts = PARTS[args.model]
    budgeted = args.steps == 0
    total = args.steps  # 0 until the time budget is planned
    calib_steps = max(10, args.warmup - 3)
    calib_start = None
    model.train()
    train_seconds, data_wait, next_eval = 0.0, 0.0, args.eval_every
    sums, n_sum = np.zeros(1 + len(parts)), 0
    epoch, epoch_start_step, epoch_start_seconds = 0, 0, 0.0
    step = 0
    t_last = time.time()
    while total == 0 or step < total:
        # during calibration (total unknown) only the warm-up part of the schedule applies
        lr = ct.lr_at(step, args.lr, args.warmup, total if total > 0 else max(step + 1, 1000000))
        for g in opt.param_groups:
            g["lr"] = lr
        t_data = time.time()
        x, targets, batch_epoch = next(batches)
        data_wait += time.time() - t_data
        if batch_epoch != epoch:  # the previous epoch ended: re-plan a time budget that would overshoot
            if budgeted and total > 0 and step > epoch_start_step:
                per_step = (train_seconds - epoch_start_seconds) / (step - epoch_start_step)
                if train_seconds + (total - step) * per_step > 1.1 * args.minutes * 60:
                    total = step + max(1, int((args.minutes * 60 - train_seconds) / per_step))
                    config["planned_steps"] = total
                    write_config()
                    say("note: training runs slower than measured at the start (%.0f images/s): re-planned to %d "
                        "steps to keep the time budget" % (args.batch / per_step, total))
            epoch, epoch_start_step, epoch_start_seconds = batch_epoch, step, train_seconds
        losses = model(list(x), targets)
        loss = sum(losses[k] for k in parts)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        value = loss.item()
        if not math.isfinite(value):
            sys.exit("detectors_torch: the loss became %r at step %d (try a lower --lr)" % (value, step))
        sums += [value] + [losses[k].item() for k in parts]
        n_sum += 1
        now = time.time()
        train_seconds += now - t_last
        t_last = now
        images = step * args.batch
        if budgeted and total == 0:
            if step == 3:
                calib_start = train_seconds
            if step == 3 + calib_steps:
                per_step = 1.05 * (train_seconds - calib_start) / calib_steps
                total = step + max(1, int((args.minutes * 60 - train_seconds) / per_step))
                config["planned_steps"] = total
                write_config()
                say("time budget %g min: measured %.1f images/s, planned %d steps (%d images); --steps %d gives "
                    "the same schedule" % (args.minutes, 1.05 * args.batch / per_step, total, total * args.batch, total))
        if step % LOG_EVERY == 0 or step == total:
            m = sums / n_sum
            rec = {"kind": "train", "step": step, "epoch": epoch + 1, "images": images,
                   "train_seconds": round(train_seconds, 3), "lr": lr, "loss": m[0]}
            rec.update({k: m[1 + i] for i, k in enumerate(parts)})
            rec["data_wait_seconds"] = round(data_wait, 3)
            log(rec)
            say("step %d/%s epoch %d  loss %.4f (%s)  lr %.2e  %.1f img/s"
                % (step, total if total else "?", epoch + 1, m[0],
                   " ".join("%s %.4f" % (k, m[1 + i]) for i, k in enumerate(parts)), lr, images / train_seconds))
            sums, n_sum = np.zeros(1 + len(parts)), 0
        if (args.eval_every > 0 and images >= next_eval) or step == total:
            while args.eval_every > 0 and next_eval <= images:
                next_eval += args.eval_every
            evaluate(step, epoch + 1, images, train_seconds)
            t_last = time.time()  # evaluation time is not training time
    stop.set()
    curve.close()
    say("done: %d steps, %d images in %.1f s of training (%.1f img/s); %s"
        % (step, step * args.batch, train_seconds, step * args.batch / train_seconds,
           os.path.join(args.out, "curve.jsonl")))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=["fcos", "retinanet"])
    ap.add_argument("--train", required=True, help="exported train folder (images + instances.json)")
    ap.add_argument("--val", required=True, help="exported val folder")
    length = ap.add_mutually_exclusive_group(required=True)
    length.add_argument("--minutes", type=float, help="time budget for training (evaluations excluded)")
    length.add_argument("--steps", type=int, help="training steps (the schedule's length)")
    ap.add_argument("--eval-every", type=int, default=8000, help="evaluate every this many training images "
                    "(0: at the end only)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    ap.add_argument("--workers", type=int, default=1, help="1: batches built by a background thread; 0: inline")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=100, help="linear warm-up steps from 0.1 lr")
    ap.add_argument("--width", type=float, default=0.25, help="ResNet-18 width multiplier")
    ap.add_argument("--fpn", type=int, default=64, help="FPN and head width")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--detgrad", default=None, help="the detgrad binary for evaluation (default build/detgrad)")
    ap.add_argument("--out", required=True, help="output folder (curve.jsonl, config.json, detections)")
    args = ap.parse_args()
    if args.steps is not None and args.steps <= 0:
        ap.error("--steps must be > 0")
    if args.minutes is not None and args.minutes <= 0:
        ap.error("--minutes must be > 0")
    args.steps = args.steps or 0
    args.minutes = args.minutes or 0.0
    if args.detgrad is None:
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        args.detgrad = "build/detgrad" if os.path.exists("build/detgrad") else os.path.join(here, "build", "detgrad")
    if not os.path.exists(args.detgrad):
        ap.error("no detgrad binary at %s (--detgrad)" % args.detgrad)
    train(args)


if __name__ == "__main__":
    main()
    # The batch thread may still be blocked inside a torch op on a full queue; a normal interpreter exit
    # tears torch down under it and aborts ("terminate called without an active exception", exit
    # status 134, seen once after a finished RetinaNet run). Everything is written: leave at once.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
