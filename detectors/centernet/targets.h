// CenterNet targets (Zhou et al. 2019, "Objects as Points"): the Gaussian radius of a box (CornerNet's
// formula, with the original code's bug as a convention), the per-image ctdet targets (heatmap peaks,
// sizes, offsets, indices, mask) and their batch. Targets, not ops: nothing here is differentiable.
// Docs: docs/detection/heatmaps.md. Tests: tests/detectors/test_heatmap.cpp, test_centernet.cpp.
#pragma once
#include <cstdint>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/data/loader.h"
#include "detectors/gaussian.h"

namespace dg {

// The largest corner displacement r such that a box of size h x w moved by r still has IoU >= o with
// the original (three cases of CornerNet, each a quadratic a r^2 - b r + c = 0, roots (b +- sqrt(b^2-4ac))/(2a)):
//   case 1: a=1,  b=h+w,        c=w*h*(1-o)/(1+o)
//   case 2: a=4,  b=2(h+w),     c=(1-o)*w*h
//   case 3: a=4o, b=-2o(h+w),   c=(o-1)*w*h
// code_version = true (CenterNetTargetOptions::gaussian_radius_code, the CornerNet/CenterNet code): every root taken as
// (b + sqrt(b^2-4ac)) / 2, minimum returned. false: the corrected roots (b1 - sq1)/(2a1),
// (b2 - sq2)/(2a2), (b3 + sq3)/(2a3). 64x64 at o=0.7: 17.49 (code) vs 5.23 (corrected).
// Returns the real value; CenterNet then uses max(0, int(r)).
double gaussian_radius(double h, double w, double min_overlap = 0.7, bool code_version = true);

struct CenterNetTargetOptions {
  int64_t num_classes = 80;
  int64_t out_h = 128, out_w = 128;  // output (heatmap) size
  double stride = 4;                 // input pixels per output cell
  int64_t max_objs = 128;
  double min_overlap = 0.7;
  // gaussian_radius as the CornerNet/CenterNet code computes it (true: every reference, the authors'
  // code included) or with the corrected roots (false). See gaussian_radius above.
  bool gaussian_radius_code = true;
};

struct CenterNetTargets {
  Tensor heatmap;  // [C, out_h, out_w], peak 1 at every object centre
  Tensor wh;       // [max_objs, 2] box (w, h) in output cells
  Tensor offset;   // [max_objs, 2] centre - floor(centre), in [0,1)
  Tensor indices;  // [max_objs] i64, y * out_w + x of the centre cell
  Tensor mask;     // [max_objs] u8, 1 where slot k holds an object
};

// CenterNet's ctdet targets. boxes [N,4] x1,y1,x2,y2 in input pixels (f32/f64), labels [N] i64 in
// [0, num_classes). Box k goes to slot k (k < max_objs; later boxes are ignored): it is divided by the
// stride, clipped to [0, out_w-1] x [0, out_h-1], skipped (mask 0) if its clipped w or h is <= 0;
// otherwise radius = max(0, int(gaussian_radius(ceil(h), ceil(w)))) under opt.gaussian_radius_code,
// the Gaussian is drawn at floor(centre) in heatmap[label], and wh, offset, index, mask are set.
// Arithmetic in the boxes' dtype (the original code uses float32).
CenterNetTargets centernet_targets(const Tensor& boxes, const Tensor& labels, const CenterNetTargetOptions& opt);

}  // namespace dg

namespace dg::centernet {

struct CenterNetBatchTargets {
  Tensor heatmap;  // [N, C, H, W]
  Tensor wh;       // [N, K, 2]
  Tensor offset;   // [N, K, 2]
  Tensor indices;  // [N, K] i64
  Tensor mask;     // [N, K] u8 (any dtype accepted by the loss)
};
CenterNetBatchTargets stack_targets(const std::vector<CenterNetTargets>& per_image);

// The targets of a loader batch (boxes in network-input pixels) at the model's output size.
CenterNetBatchTargets batch_targets(const data::Batch& b, int64_t num_classes, int64_t out_h, int64_t out_w,
                                    int64_t max_objs, double stride = 4);

}  // namespace dg::centernet
