// Sequential: children named "0", "1", ... run in order, each through operator() (so forward hooks
// see every step). Same numbering as torch.nn.Sequential, hence the same state_dict keys.
#pragma once
#include <vector>

#include "layers/module.h"

namespace dg::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential") {}
  explicit Sequential(std::vector<ModulePtr> modules);
  Tensor forward(const Tensor& x) override;
  void push_back(ModulePtr m);  // appended under the next index
  size_t size() const { return children().size(); }
  bool empty() const { return children().empty(); }
  Module& operator[](size_t i) const;
};

}  // namespace dg::nn

namespace dg::nn {

// ModuleList: numbered children ("0", "1", ...) without a forward of their own; the owner decides
// how to call them (torch.nn.ModuleList; FPN's inner_blocks / layer_blocks).
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList") {}
  void push_back(ModulePtr m) { register_module(std::to_string(children().size()), std::move(m)); }
  size_t size() const { return children().size(); }
  Module& operator[](size_t i) const;
};

}  // namespace dg::nn
