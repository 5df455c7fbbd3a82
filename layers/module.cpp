// Module: registration, traversal, modes, state_dict and hooks. See module.h.
#include "layers/module.h"

#include <cstring>
#include <map>
#include <set>

#include "autograd/graph.h"

namespace dg::nn {

namespace {
std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

std::string list_str(const std::vector<std::string>& v) {
  std::string r;
  for (size_t i = 0; i < v.size(); ++i) r += (i ? ", " : "") + v[i];
  return r;
}
}  // namespace

Tensor Module::forward(const Tensor& x) {
  fail(type_name_, ": forward(Tensor) is not defined for this module (input ", shape_str(x.shape()),
       "); call its own method");
}

Tensor Module::operator()(const Tensor& x) {
  Tensor y;
  {
    const std::unique_ptr<ScopeGuard> scope = enter_scope();
    y = forward(x);
  }
  report(y);
  return y;
}

std::unique_ptr<ScopeGuard> Module::enter_scope() const {
  return scope_recording() ? std::make_unique<ScopeGuard>(prefix_) : nullptr;
}

void Module::report(const Tensor& output) const {
  if (hook_) hook_(prefix_, output);
}

void Module::check_new_name(const std::string& name) const {
  check(!name.empty() && name.find('.') == std::string::npos, type_name_, ": invalid member name '", name,
        "' (empty or contains '.')");
  for (auto& [n, t] : params_) check(n != name, type_name_, ": name '", name, "' registered twice");
  for (auto& [n, t] : buffers_) check(n != name, type_name_, ": name '", name, "' registered twice");
  for (auto& [n, m] : children_) check(n != name, type_name_, ": name '", name, "' registered twice");
}

Tensor Module::register_parameter(const std::string& name, Tensor p) {
  check_new_name(name);
  check(p.defined() && is_floating(p.dtype()), type_name_, ": parameter '", name, "' must be a floating tensor");
  check(p.is_leaf(), type_name_, ": parameter '", name, "' must be a leaf tensor (detach it first)");
  p.set_requires_grad(true);
  params_.push_back({name, p});
  return p;
}

Tensor Module::register_buffer(const std::string& name, Tensor b) {
  check_new_name(name);
  check(b.defined(), type_name_, ": buffer '", name, "' is undefined");
  buffers_.push_back({name, b});
  return b;
}

void Module::add_child(const std::string& name, ModulePtr m) {
  check_new_name(name);
  check(m != nullptr, type_name_, ": child '", name, "' is null");
  children_.push_back({name, std::move(m)});
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> r;
  for (auto& [n, p] : named_parameters()) r.push_back(p);
  return r;
}

NamedTensors Module::named_parameters(const std::string& prefix) const {
  NamedTensors r;
  for (auto& [n, p] : params_) r.push_back({join(prefix, n), p});
  for (auto& [n, c] : children_) {
    NamedTensors sub = c->named_parameters(join(prefix, n));
    r.insert(r.end(), sub.begin(), sub.end());
  }
  return r;
}

NamedTensors Module::named_buffers(const std::string& prefix) const {
  NamedTensors r;
  for (auto& [n, b] : buffers_) r.push_back({join(prefix, n), b});
  for (auto& [n, c] : children_) {
    NamedTensors sub = c->named_buffers(join(prefix, n));
    r.insert(r.end(), sub.begin(), sub.end());
  }
  return r;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules(const std::string& prefix) {
  std::vector<std::pair<std::string, Module*>> r{{prefix, this}};
  for (auto& [n, c] : children_) {
    auto sub = c->named_modules(join(prefix, n));
    r.insert(r.end(), sub.begin(), sub.end());
  }
  return r;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (auto& [name, p] : named_parameters()) n += p.numel();
  return n;
}

void Module::train(bool on) {
  training_ = on;
  for (auto& [n, c] : children_) c->train(on);
}

StateDict Module::state_dict() const {
  // PyTorch's Module.state_dict: own parameters, own buffers, then each child recursively.
  StateDict r;
  std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
    for (auto& [n, p] : m.params_) r.push_back({join(prefix, n), p});
    for (auto& [n, b] : m.buffers_) r.push_back({join(prefix, n), b});
    for (auto& [n, c] : m.children_) walk(*c, join(prefix, n));
  };
  walk(*this, "");
  return r;
}

void Module::load_state_dict(const StateDict& sd, bool strict) {
  StateDict mine = state_dict();
  std::map<std::string, Tensor> given;
  std::vector<std::string> duplicate;
  for (auto& [k, t] : sd) {
    if (given.count(k)) duplicate.push_back(k);
    given[k] = t;
  }
  std::vector<std::string> missing, unexpected, mismatched;
  std::set<std::string> known;
  for (auto& [k, t] : mine) {
    known.insert(k);
    auto it = given.find(k);
    if (it == given.end()) {
      missing.push_back(k);
    } else if (it->second.shape() != t.shape()) {
      mismatched.push_back(k + ": checkpoint " + shape_str(it->second.shape()) + " vs model " + shape_str(t.shape()));
    } else if (is_floating(it->second.dtype()) != is_floating(t.dtype())) {
      mismatched.push_back(k + ": checkpoint dtype " + dtype_name(it->second.dtype()) + " vs model " +
                           dtype_name(t.dtype()));
    }
  }
  for (auto& [k, t] : sd)
    if (!known.count(k)) unexpected.push_back(k);
  const bool bad = !mismatched.empty() || !duplicate.empty() || (strict && (!missing.empty() || !unexpected.empty()));
  if (bad) {
    std::string msg = "load_state_dict (" + type_name_ + "): ";
    if (strict && !missing.empty())
      msg += std::to_string(missing.size()) + " missing key(s): " + list_str(missing) + "; ";
    if (strict && !unexpected.empty())
      msg += std::to_string(unexpected.size()) + " unexpected key(s): " + list_str(unexpected) + "; ";
    if (!mismatched.empty()) msg += std::to_string(mismatched.size()) + " mis-shaped: " + list_str(mismatched) + "; ";
    if (!duplicate.empty()) msg += "duplicate key(s): " + list_str(duplicate) + "; ";
    msg.resize(msg.size() - 2);
    throw Error(msg);
  }
  // Copy values into the live tensors (NOTE [ Parameters are updated in place ]).
  NoGradGuard ng;
  for (auto& [k, dst] : mine) {
    auto it = given.find(k);
    if (it == given.end()) continue;
    Tensor src = it->second.detach().to(dst.dtype());
    if (dst.nbytes()) std::memcpy(dst.impl()->storage->data, src.raw(), dst.nbytes());
  }
}

void Module::to(DType dtype) {
  check(is_floating(dtype), type_name_, ": to(", dtype_name(dtype), "): modules convert to floating dtypes only");
  NoGradGuard ng;
  for (auto& [k, t] : state_dict()) {
    if (!is_floating(t.dtype()) || t.dtype() == dtype) continue;
    Tensor c = t.detach().to(dtype);
    t.impl()->storage = c.impl()->storage;
    t.impl()->dtype = dtype;
    t.impl()->grad = Tensor();
  }
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

void Module::set_requires_grad(bool on) {
  for (Tensor& p : parameters()) p.set_requires_grad(on);
}

void Module::set_forward_hook(const ForwardHook& hook) {
  for (auto& [name, m] : named_modules()) {
    m->hook_ = hook;
    m->prefix_ = name;
  }
}

void Module::str_into(std::string& out, const std::string& name, int indent) const {
  out += std::string((size_t)indent * 2, ' ');
  if (!name.empty()) out += "(" + name + "): ";
  out += type_name_ + "(" + extra_repr();
  if (children_.empty()) {
    out += ")\n";
    return;
  }
  out += "\n";
  for (auto& [n, c] : children_) c->str_into(out, n, indent + 1);
  out += std::string((size_t)indent * 2, ' ') + ")\n";
}

std::string Module::str() const {
  std::string r;
  str_into(r, "", 0);
  return r;
}

}  // namespace dg::nn
