#include "layers/sequential.h"

namespace dg::nn {

Sequential::Sequential(std::vector<ModulePtr> modules) : Module("Sequential") {
  for (auto& m : modules) push_back(std::move(m));
}

void Sequential::push_back(ModulePtr m) { register_module(std::to_string(children().size()), std::move(m)); }

Tensor Sequential::forward(const Tensor& x) {
  Tensor y = x;
  for (auto& [name, m] : children()) y = (*m)(y);
  return y;
}

Module& Sequential::operator[](size_t i) const {
  check(i < children().size(), "Sequential: index ", i, " out of range for ", children().size(), " modules");
  return *children()[i].second;
}

}  // namespace dg::nn

namespace dg::nn {

Module& ModuleList::operator[](size_t i) const {
  check(i < children().size(), "ModuleList: index ", i, " out of range for ", children().size(), " modules");
  return *children()[i].second;
}

}  // namespace dg::nn
