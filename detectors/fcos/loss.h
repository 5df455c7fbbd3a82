// FCOS training loss (Tian et al. 2019, as the official code computes it), on the head outputs of all
// levels flattened to P points (detectors/fcos/model.h) and the assignment of detectors/fcos/assign.h:
//
//   cls = sum_{n,k,p} sigmoid_focal_loss(cls[n,k,p], onehot[n,k,p]; alpha 0.25, gamma 2) / max(1, M)
//   box = sum_{i in pos} c_i GIoU_loss(pred_i, target_i) / sum_{i in pos} c_i     (weighting "centerness")
//       = sum_{i in pos}     GIoU_loss(pred_i, target_i) / M                      (weighting "none", torchvision)
//   ctr = sum_{i in pos} BCE_with_logits(ctr[i], c_i) / M
//   total = cls + box + ctr
// M = the number of positive points in the whole batch, c_i = the centerness target of positive i.
// GIoU is computed on the boxes (-l, -t, r, b) around the point (GIoU is translation-invariant, and
// scale-invariant up to its eps, so pixels or stride units give the same value). With no positive in
// the batch, box and ctr are exact zeros that still belong to the graph (zero gradients, no NaN).
//
// Shapes: N images, K classes, P points, M positives.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/conventions.h"
#include "detectors/data/augment.h"
#include "detectors/fcos/assign.h"

namespace dg::fcos {

struct FcosBatchTargets {
  Tensor onehot;            // [N, K, P] classification targets (the dtype asked for)
  Tensor pos_index;         // [M] i64: n * P + p of every positive, ascending
  Tensor pos_box;           // [M, 4] (l, t, r, b) in input pixels
  Tensor pos_ctr;           // [M] centerness targets, in (0, 1]
  std::vector<int64_t> pos_label;  // [M] class of every positive
  int64_t num_pos = 0;      // M
};

// fcos_targets of every image, gathered into batch arrays. boxes[i] / labels[i]: image i's boxes
// (x1,y1,x2,y2 in input pixels) and labels 0..K-1 (anything else => dg::Error naming image and box).
FcosBatchTargets fcos_batch_targets(const std::vector<std::vector<data::Box>>& boxes,
                                    const std::vector<std::vector<int>>& labels, int64_t num_classes,
                                    const FcosAssignOptions& opt, const Conventions& conv, DType dtype = DType::f32);

struct FcosLossOptions {
  double focal_alpha = 0.25, focal_gamma = 2.0;
  std::string box_weighting = "centerness";   // "centerness" | "none"
};

struct FcosLoss {
  Tensor total, cls, box, ctr;   // scalars, differentiable w.r.t. the three head outputs
};

// cls [N,K,P] logits, box [N,4,P] (l,t,r,b) >= 0 in pixels, ctr [N,P] logits; t from fcos_batch_targets
// with the same N, K, P. Mismatches => dg::Error naming the tensors.
FcosLoss fcos_loss(const Tensor& cls, const Tensor& box, const Tensor& ctr, const FcosBatchTargets& t,
                   const FcosLossOptions& opt = {});

}  // namespace dg::fcos
