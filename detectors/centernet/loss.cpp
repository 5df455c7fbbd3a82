// CenterNet loss: see loss.h. Composed from engine ops, so the backward comes from autograd.
#include "detectors/centernet/loss.h"

#include "autograd/error.h"
#include "autograd/ops.h"
#include "detectors/focal_loss.h"

namespace dg::centernet {

Tensor centernet_reg_l1(const Tensor& pred, const Tensor& target, const Tensor& indices, const Tensor& mask) {
  check(pred.dim() == 4 && pred.size(1) == 2, "centernet_reg_l1: pred must be [N,2,H,W], got ",
        shape_text(pred.shape()));
  const int64_t n = pred.size(0), hw = pred.size(2) * pred.size(3);
  check(indices.dim() == 2 && indices.size(0) == n, "centernet_reg_l1: indices must be [N,K] with N = ", n, ", got ",
        shape_text(indices.shape()));
  const int64_t k = indices.size(1);
  check(target.dim() == 3 && target.size(0) == n && target.size(1) == k && target.size(2) == 2,
        "centernet_reg_l1: target must be [N,K,2] = [", n, ",", k, ",2], got ", shape_text(target.shape()), " (pred ",
        shape_text(pred.shape()), ")");
  check(mask.dim() == 2 && mask.size(0) == n && mask.size(1) == k, "centernet_reg_l1: mask must be [N,K] = [", n, ",",
        k, "], got ", shape_text(mask.shape()));
  Tensor idx = indices.to(DType::i64);
  for (double v : idx.to_vector())
    check(v >= 0 && v < (double)hw, "centernet_reg_l1: index ", v, " outside [0, ", hw, ") for pred ",
          shape_text(pred.shape()));
  // pred [N,2,HW] gathered on dim 2 at [N,2,K] -> [N,2,K] -> [N,K,2]
  Tensor flat = reshape(pred, {n, 2, hw});
  Tensor g = transpose(gather(flat, 2, expand(unsqueeze(idx, 1), {n, 2, k})), 1, 2);
  Tensor m = unsqueeze(mask.to(pred.dtype()), 2);  // [N,K,1], broadcast over the 2 channels
  Tensor tgt = target.to(pred.dtype()).detach();
  // sum |g m - t m| / (2 sum m + 1e-4)   (the authors' mask is expanded to 2 channels before summing)
  Tensor num = sum(abs(g * m - tgt * m));
  const double den = 2.0 * sum(m).item() + 1e-4;
  return num / den;
}

CenterNetLoss centernet_loss(const Tensor& heatmap_logits, const Tensor& wh, const Tensor& offset,
                             const CenterNetBatchTargets& t, const CenterNetLossWeights& w) {
  check(heatmap_logits.dim() == 4 && t.heatmap.shape() == heatmap_logits.shape(), "centernet_loss: heatmap logits ",
        shape_text(heatmap_logits.shape()), " and target heatmap ", shape_text(t.heatmap.shape()),
        " must be the same [N,C,H,W]");
  const Shape reg_shape = {heatmap_logits.size(0), 2, heatmap_logits.size(2), heatmap_logits.size(3)};
  check(wh.shape() == reg_shape && offset.shape() == reg_shape, "centernet_loss: wh ", shape_text(wh.shape()),
        " and offset ", shape_text(offset.shape()), " must be ", shape_text(reg_shape), " to match heatmap ",
        shape_text(heatmap_logits.shape()));
  CenterNetLoss out;
  out.heatmap = centernet_focal_loss(heatmap_logits, t.heatmap.to(heatmap_logits.dtype()).detach());
  out.wh = centernet_reg_l1(wh, t.wh, t.indices, t.mask);
  out.offset = centernet_reg_l1(offset, t.offset, t.indices, t.mask);
  out.total = out.heatmap * w.heatmap + out.wh * w.wh + out.offset * w.offset;
  return out;
}

}  // namespace dg::centernet
