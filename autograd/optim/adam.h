// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019) with torch.optim's exact update (1.13).
// Per step t (1, 2, ...) for each parameter p with gradient g:
//   Adam:  g <- g + wd * p               (L2 penalty folded into the gradient)
//   AdamW: p <- p * (1 - lr * wd)        (decoupled decay, before the moment update)
//   m <- b1 * m + (1 - b1) * g
//   v <- b2 * v + (1 - b2) * g * g
//   vmax <- max(vmax, v) and use vmax for v below   (amsgrad)
//   p <- p - lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
#pragma once
#include "autograd/optim/optimizer.h"

namespace dg::optim {

struct AdamOptions {
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0.0;  // the default of groups that leave weight_decay NaN
  bool amsgrad = false;
  bool maximize = false;
};

class Adam : public Optimizer {
 public:
  Adam(std::vector<ParamGroup> groups, AdamOptions options = {});
  Adam(const std::vector<Tensor>& params, AdamOptions options = {});
  void step() override;
  const char* name() const override { return decoupled_ ? "AdamW" : "Adam"; }
  const AdamOptions& options() const { return opt_; }

 protected:
  Adam(std::vector<ParamGroup> groups, AdamOptions options, bool decoupled);
  std::vector<std::string> buffer_names() const override;

 private:
  AdamOptions opt_;
  bool decoupled_ = false;
};

// AdamW: Adam with decoupled weight decay. PyTorch's default weight_decay for AdamW is 1e-2.
struct AdamWOptions : AdamOptions {
  AdamWOptions() { weight_decay = 1e-2; }
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<ParamGroup> groups, AdamWOptions options = {});
  AdamW(const std::vector<Tensor>& params, AdamWOptions options = {});
};

}  // namespace dg::optim
