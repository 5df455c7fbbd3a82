// Normalisation with PyTorch's semantics (F.batch_norm, F.group_norm, F.layer_norm). Each normalises
// x over a set of elements with the BIASED variance: xhat = (x - mean) / sqrt(var + eps), then applies
// an optional per-channel (or per-element) affine y = xhat * weight + bias. Full backward through the
// statistics. Shapes, the running-statistics update and a worked example: docs/norm.md.
#pragma once
#include <cstdint>

#include "autograd/tensor.h"

namespace dg {

// input [N,C], [N,C,L] or [N,C,H,W] (any [N,C,*]); running_mean/var, weight, bias [C], each optional
// (undefined Tensor) except that evaluation needs the running statistics.
// training: statistics of the batch (over N and *); if running stats are given they are updated IN
//   PLACE (they are buffers: no gradient): rm = (1 - momentum) rm + momentum mean,
//   rv = (1 - momentum) rv + momentum var_unbiased. Needs more than one value per channel.
// eval: y = (x - rm) / sqrt(rv + eps) * weight + bias.
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);

// input [N,C,*]; statistics per (sample, group of C/num_groups channels); weight, bias [C] optional.
Tensor group_norm(const Tensor& input, int64_t num_groups, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

// Statistics over the last normalized_shape.size() dims, which must equal normalized_shape; weight,
// bias of shape normalized_shape, optional.
Tensor layer_norm(const Tensor& input, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);

}  // namespace dg
