// Gaussian drawing, shared by every heatmap target (CenterNet now; heatmap keypoint heads next): the
// un-normalised Gaussian kernel and its splat into a map with an element-wise max. Targets, not ops:
// nothing here is differentiable. Docs: docs/detection/heatmaps.md. Tests: tests/detectors/test_heatmap.cpp.
#pragma once
#include <cstdint>

#include "autograd/tensor.h"

namespace dg {

// The (2r+1) x (2r+1) kernel exp(-(x^2+y^2) / (2 sigma^2)), sigma = (2r+1)/6, peak 1 at the centre,
// values < DBL_EPSILON * max set to 0. [2r+1, 2r+1] in dtype (f32/f64); computed in f64.
Tensor gaussian_kernel(int64_t radius, DType dtype = DType::f32);

// Splats gaussian_kernel(radius) centred on the integer cell (cx, cy) into heatmap[channel] with an
// element-wise max (overlapping objects do not add up), cropped at the borders. heatmap is [C,H,W] or
// [H,W] (then channel must be 0), f32/f64, modified in place. A centre outside the map draws only the
// part of the kernel that falls inside (possibly nothing).
void draw_gaussian(Tensor& heatmap, int64_t channel, int64_t cx, int64_t cy, int64_t radius);

}  // namespace dg
