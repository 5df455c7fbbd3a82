#include "autograd/optim/optimizer.h"

#include <set>

namespace dg::optim {

std::vector<ParamGroup> no_decay_groups(const NamedTensors& named_params, double weight_decay) {
  ParamGroup decay, no_decay;
  decay.weight_decay = weight_decay;
  no_decay.weight_decay = 0.0;
  for (const auto& [name, t] : named_params) {
    const bool is_bias = name.size() >= 4 && name.compare(name.size() - 4, 4, "bias") == 0;
    ParamGroup& g = (t.dim() <= 1 || is_bias) ? no_decay : decay;
    g.params.push_back(t);
    g.names.push_back(name);
  }
  return {decay, no_decay};
}

std::vector<ParamGroup> single_group(const NamedTensors& named_params) {
  ParamGroup g;
  for (const auto& [name, t] : named_params) {
    g.params.push_back(t);
    g.names.push_back(name);
  }
  return {g};
}

Optimizer::Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay)
    : groups_(std::move(groups)) {
  check(!groups_.empty(), "optimizer: no parameter groups");
  std::set<std::string> seen_names;
  std::set<const TensorImpl*> seen_params;
  for (size_t g = 0; g < groups_.size(); ++g) {
    ParamGroup& pg = groups_[g];
    if (std::isnan(pg.lr)) pg.lr = default_lr;
    if (std::isnan(pg.weight_decay)) pg.weight_decay = default_weight_decay;
    check(pg.lr >= 0, "optimizer: group ", g, ": invalid learning rate ", pg.lr);
    check(pg.weight_decay >= 0, "optimizer: group ", g, ": invalid weight_decay ", pg.weight_decay);
    if (pg.names.empty())
      for (size_t i = 0; i < pg.params.size(); ++i) pg.names.push_back(std::to_string(g) + "." + std::to_string(i));
    check(pg.names.size() == pg.params.size(), "optimizer: group ", g, " has ", pg.params.size(), " params but ",
          pg.names.size(), " names");
    for (size_t i = 0; i < pg.params.size(); ++i) {
      const Tensor& p = pg.params[i];
      check(p.defined(), "optimizer: parameter '", pg.names[i], "' is undefined");
      check(p.is_leaf(), "optimizer: parameter '", pg.names[i], "' is not a leaf tensor");
      check(p.dtype() == DType::f32 || p.dtype() == DType::f64, "optimizer: parameter '", pg.names[i], "' has dtype ",
            dtype_name(p.dtype()), " (f32 or f64 expected: keep f32 master weights)");
      check(seen_names.insert(pg.names[i]).second, "optimizer: duplicate parameter name '", pg.names[i], "'");
      check(seen_params.insert(p.impl()).second, "optimizer: parameter '", pg.names[i],
            "' appears in more than one place");
    }
    state_.emplace_back(pg.params.size());
  }
}

void Optimizer::zero_grad() {
  for (auto& g : groups_)
    for (auto& p : g.params) p.zero_grad();
}

void Optimizer::set_lr(double lr) {
  for (auto& g : groups_) g.lr = lr;
}

bool Optimizer::usable(const Tensor& p, size_t group, size_t index) const {
  const Tensor& g = p.grad();
  if (!g.defined()) return false;
  check(g.dtype() == p.dtype() && g.shape() == p.shape(), name(), ": parameter '", groups_[group].names[index], "' ",
        shape_text(p.shape()), " ", dtype_name(p.dtype()), " has a gradient ", shape_text(g.shape()), " ",
        dtype_name(g.dtype()));
  return true;
}

std::map<std::string, Tensor> Optimizer::state_dict() const {
  std::map<std::string, Tensor> out;
  for (size_t g = 0; g < groups_.size(); ++g) {
    out["param_groups." + std::to_string(g) + ".lr"] = scalar_tensor(groups_[g].lr, DType::f64);
    out["param_groups." + std::to_string(g) + ".weight_decay"] = scalar_tensor(groups_[g].weight_decay, DType::f64);
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      const ParamState& st = state_[g][i];
      if (st.step == 0) continue;
      const std::string& n = groups_[g].names[i];
      out[n + ".step"] = scalar_tensor((double)st.step, DType::i64);
      for (const auto& [b, t] : st.buffers) out[n + "." + b] = t.contiguous_copy_no_grad();
    }
  }
  return out;
}

void Optimizer::load_state_dict(const std::map<std::string, Tensor>& state) {
  std::set<std::string> used;
  auto take = [&](const std::string& key) -> const Tensor* {
    auto it = state.find(key);
    if (it == state.end()) return nullptr;
    used.insert(key);
    return &it->second;
  };
  auto scalar = [&](const std::string& key) {
    const Tensor* t = take(key);
    check(t != nullptr, name(), ": load_state_dict: missing '", key, "'");
    check(t->numel() == 1, name(), ": load_state_dict: '", key, "' has shape ", shape_text(t->shape()),
          ", expected a scalar");
    return t->item();
  };
  std::vector<std::vector<ParamState>> fresh(groups_.size());
  std::vector<std::pair<double, double>> hyper;
  const std::vector<std::string> bufs = buffer_names();
  for (size_t g = 0; g < groups_.size(); ++g) {
    hyper.emplace_back(scalar("param_groups." + std::to_string(g) + ".lr"),
                       scalar("param_groups." + std::to_string(g) + ".weight_decay"));
    fresh[g].resize(groups_[g].params.size());
    for (size_t i = 0; i < groups_[g].params.size(); ++i) {
      const std::string& n = groups_[g].names[i];
      const Tensor& p = groups_[g].params[i];
      const Tensor* step = take(n + ".step");
      std::vector<std::string> present, missing;
      for (const auto& b : bufs) (state.count(n + "." + b) ? present : missing).push_back(b);
      if (!step && present.empty()) continue;  // no state yet for this parameter
      check(step != nullptr, name(), ": load_state_dict: '", n, ".", present.empty() ? "" : present[0],
            "' present but '", n, ".step' missing");
      check(missing.empty(), name(), ": load_state_dict: missing '", n, ".", missing.empty() ? "" : missing[0], "'");
      check(step->numel() == 1 && step->item() >= 1, name(), ": load_state_dict: '", n, ".step' must be a scalar >= 1");
      ParamState& st = fresh[g][i];
      st.step = (int64_t)step->item();
      for (const auto& b : bufs) {
        const Tensor* t = take(n + "." + b);
        check(t->shape() == p.shape() && t->dtype() == p.dtype(), name(), ": load_state_dict: '", n, ".", b,
              "' has shape ", shape_text(t->shape()), " ", dtype_name(t->dtype()), " but the parameter is ",
              shape_text(p.shape()), " ", dtype_name(p.dtype()));
        st.buffers[b] = t->contiguous_copy_no_grad();
      }
    }
  }
  for (const auto& [k, t] : state)
    check(used.count(k) > 0, name(), ": load_state_dict: unexpected key '", k, "' ", shape_text(t.shape()));
  state_ = std::move(fresh);  // commit only after everything checked
  for (size_t g = 0; g < groups_.size(); ++g) {
    groups_[g].lr = hyper[g].first;
    groups_[g].weight_decay = hyper[g].second;
  }
}

}  // namespace dg::optim
