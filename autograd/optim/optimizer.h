// Optimizer: the base class of SGD, Adam and AdamW. It owns parameter groups (each with its own lr and
// weight decay) and the per-parameter state (momentum buffers, moment estimates, step counts), and can
// save/load that state by parameter name for checkpoints. The update rules live in sgd.cpp / adam.cpp;
// docs/optim.md writes them as math.
//
// Semantics follow torch.optim 1.13 (the single-tensor, non-foreach code path): a parameter whose
// .grad is undefined is skipped by step() and keeps its state untouched.
#pragma once
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/tensor.h"

namespace dg::optim {

// Parameters that share hyper-parameters. lr / weight_decay left NaN take the optimizer's defaults.
struct ParamGroup {
  std::vector<Tensor> params;
  std::vector<std::string> names;  // one per param, or empty: then "<group>.<index>" (e.g. "0.3")
  double lr = std::numeric_limits<double>::quiet_NaN();
  double weight_decay = std::numeric_limits<double>::quiet_NaN();
};

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

// The usual split: weights (tensors of rank >= 2) decay; rank-0/1 tensors (biases, norm scales and
// shifts) and anything whose name ends in "bias" do not. Group 0 = decay (weight_decay), group 1 = no
// decay (0). Empty groups are kept so group indices stay fixed.
std::vector<ParamGroup> no_decay_groups(const NamedTensors& named_params, double weight_decay);
// One group holding every parameter, named.
std::vector<ParamGroup> single_group(const NamedTensors& named_params);

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;  // one update of every parameter that has a .grad
  virtual const char* name() const = 0;
  void zero_grad();  // drops every parameter's .grad (PyTorch's set_to_none=True)

  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  void set_lr(double lr);  // every group
  double lr(size_t group = 0) const { return groups_.at(group).lr; }

  // State as tensors: "<param name>.<buffer>" (same shape/dtype as the param), "<param name>.step"
  // (i64 scalar) for every parameter that has state, and "param_groups.<g>.lr" /
  // "param_groups.<g>.weight_decay" (f64 scalars).
  std::map<std::string, Tensor> state_dict() const;
  // Inverse of state_dict. Every key must be known, every buffer the shape and dtype of its parameter,
  // and a parameter has either all of its buffers and step or none (dg::Error naming the key otherwise).
  void load_state_dict(const std::map<std::string, Tensor>& state);

  int64_t step_count(size_t group, size_t index) const { return state_.at(group).at(index).step; }

 protected:
  Optimizer(std::vector<ParamGroup> groups, double default_lr, double default_weight_decay);

  struct ParamState {
    int64_t step = 0;                       // updates applied so far (0: no state yet)
    std::map<std::string, Tensor> buffers;  // e.g. "momentum_buffer", "exp_avg"
  };
  // The buffer names a parameter with state carries (for load_state_dict validation).
  virtual std::vector<std::string> buffer_names() const = 0;
  // Checks that p and its grad are f32/f64 and agree; returns false when p has no grad (skip it).
  bool usable(const Tensor& p, size_t group, size_t index) const;

  std::vector<ParamGroup> groups_;
  std::vector<std::vector<ParamState>> state_;  // [group][index]
};

}  // namespace dg::optim
