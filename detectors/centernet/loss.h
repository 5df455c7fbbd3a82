// CenterNet training loss (Zhou et al. 2019):
//   total = hm_weight * focal + wh_weight * L1_wh + off_weight * L1_offset      weights 1, 0.1, 1
//   focal      centernet_focal_loss(heatmap logits, target heatmap)   (detectors/focal_loss.h)
//   L1_x       sum_{n,k,c} m[n,k] |pred_x[n, c, idx[n,k]] - target_x[n,k,c]|  /  (2 sum m + 1e-4)
// i.e. the predictions are read ("gathered") at each object's centre cell idx = y*W + x, masked, and
// the sum is divided by the mask expanded to the 2 channels (2 x number of objects) + 1e-4, as the
// authors' RegL1Loss does. With no object at all the L1 terms are 0 and focal is its negative part.
#pragma once
#include <vector>

#include "autograd/tensor.h"
#include "detectors/centernet/targets.h"
#include "detectors/data/loader.h"

namespace dg::centernet {

// Per-image centernet_targets stacked on a new batch dim.
struct CenterNetLossWeights {
  double heatmap = 1.0, wh = 0.1, offset = 1.0;
};

struct CenterNetLoss {
  Tensor total, heatmap, wh, offset;  // scalars; total is differentiable w.r.t. the three heads
};

// heatmap_logits [N,C,H,W], wh / offset [N,2,H,W] (the model's outputs, f32 or f64); t as above with
// the same N, C, H, W. Shape mismatches or indices outside [0, H*W) => dg::Error naming the tensors.
CenterNetLoss centernet_loss(const Tensor& heatmap_logits, const Tensor& wh, const Tensor& offset,
                             const CenterNetBatchTargets& t, const CenterNetLossWeights& w = {});

// The masked, gathered L1 alone: pred [N,2,H,W], target [N,K,2], indices [N,K], mask [N,K].
Tensor centernet_reg_l1(const Tensor& pred, const Tensor& target, const Tensor& indices, const Tensor& mask);

}  // namespace dg::centernet
