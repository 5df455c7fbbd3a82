// FCOS training loss (Tian et al. 2019, as the official code computes it), on the head outputs of all
// levels flattened to P points (detectors/fcos/model.h) and the assignment of detectors/fcos/targets.h:
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

#include "autograd/ops/loss.h"
#include "autograd/tensor.h"
#include "detectors/data/augment.h"
#include "detectors/fcos/targets.h"

namespace dg::fcos {

// FCOS centerness loss: BCE with logits against the centerness target (positives only; the caller
// divides the sum by the number of positives). input and target: floating, one dtype, one shape.
Tensor centerness_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::sum);

struct FcosLossOptions {
  double focal_alpha = 0.25, focal_gamma = 2.0;
  std::string box_weighting = "centerness";  // "centerness" | "none"
};

struct FcosLoss {
  Tensor total, cls, box, ctr;  // scalars, differentiable w.r.t. the three head outputs
};

// cls [N,K,P] logits, box [N,4,P] (l,t,r,b) >= 0 in pixels, ctr [N,P] logits; t from fcos_batch_targets
// with the same N, K, P. Mismatches => dg::Error naming the tensors.
FcosLoss fcos_loss(const Tensor& cls, const Tensor& box, const Tensor& ctr, const FcosBatchTargets& t,
                   const FcosLossOptions& opt = {});

}  // namespace dg::fcos
