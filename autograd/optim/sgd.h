// Stochastic gradient descent with momentum, dampening, Nesterov momentum and L2 weight decay, with
// torch.optim.SGD's exact update (1.13). Per step, for each parameter p with gradient g:
//   g <- g + wd * p                                    (if weight_decay != 0)
//   b <- g on the first step, else b <- mu * b + (1 - dampening) * g   (if momentum != 0)
//   d <- g + mu * b if nesterov, else b               (d = g without momentum)
//   p <- p - lr * d
#pragma once
#include "autograd/optim/optimizer.h"

namespace dg::optim {

struct SGDOptions {
  double lr = 0.01;
  double momentum = 0.0;
  double dampening = 0.0;
  double weight_decay = 0.0;  // the default of groups that leave weight_decay NaN
  bool nesterov = false;      // needs momentum > 0 and dampening == 0 (as PyTorch)
  bool maximize = false;      // ascend instead of descend
};

class SGD : public Optimizer {
 public:
  SGD(std::vector<ParamGroup> groups, SGDOptions options = {});
  SGD(const std::vector<Tensor>& params, SGDOptions options = {});
  void step() override;
  const char* name() const override { return "SGD"; }
  const SGDOptions& options() const { return opt_; }

 protected:
  std::vector<std::string> buffer_names() const override;

 private:
  SGDOptions opt_;
};

}  // namespace dg::optim
