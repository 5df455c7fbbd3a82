// The R-CNN / RetinaNet box coder (torchvision.models.detection._utils.BoxCoder): boxes as offsets of
// an anchor's centre in units of its size and log size ratios. Built from autograd ops, so both
// directions are differentiable (box_decode is what a GIoU loss on decoded boxes back-propagates through).
// Docs: docs/detection/assign.md. Tests: tests/detectors/test_retinanet.cpp.
#pragma once
#include <cmath>

#include "autograd/tensor.h"

namespace dg {

struct BoxCoderOptions {
  double wx = 1, wy = 1, ww = 1, wh = 1;  // (1,1,1,1) RetinaNet; (10,10,5,5) Faster R-CNN heads
  double clip = std::log(1000.0 / 16.0);  // decoding clamps dw, dh at this value (exp(4.135) = 62.5)
};

// boxes [N,4] (ground truth) against anchors [N,4] (x1,y1,x2,y2, same float dtype) -> deltas [N,4]:
//   dx = wx (gx - ax) / aw,  dy = wy (gy - ay) / ah,  dw = ww log(gw / aw),  dh = wh log(gh / ah)
// with centres x = x1 + 0.5 w and sizes w = x2 - x1. Anchors and boxes must have w, h > 0.
Tensor box_encode(const Tensor& boxes, const Tensor& anchors, const BoxCoderOptions& opt = {});

// The inverse: deltas [N,4] on anchors [N,4] -> boxes [N,4]; dw/ww and dh/wh are clamped above at
// opt.clip (no gradient beyond it), then x = dx/wx * aw + ax, w = exp(dw/ww) * aw, box = x -+ 0.5 w, ...
Tensor box_decode(const Tensor& deltas, const Tensor& anchors, const BoxCoderOptions& opt = {});

}  // namespace dg
