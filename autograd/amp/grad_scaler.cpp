// GradScaler (see grad_scaler.h): unscale = in-place g *= 1/S with an inf/NaN scan, step = skip or
// opt.step(), update = PyTorch's _amp_update_scale_:
//   found_inf:  S <- S * backoff,  tracker <- 0
//   otherwise:  tracker <- tracker + 1;  if tracker == growth_interval: S <- S * growth (kept only if
//               finite in f32), tracker <- 0
#include "autograd/amp/grad_scaler.h"

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/ops/elementwise.h"

namespace dg::amp {

GradScaler::GradScaler(GradScalerOptions options) : opt_(options), scale_((float)options.init_scale) {
  check(std::isfinite(scale_) && scale_ > 0, "GradScaler: init_scale must be positive and finite in f32, got ",
        options.init_scale);
  check(opt_.growth_factor > 1.0, "GradScaler: growth_factor must be > 1, got ", opt_.growth_factor);
  check(opt_.backoff_factor > 0.0 && opt_.backoff_factor < 1.0, "GradScaler: backoff_factor must be in (0, 1), got ",
        opt_.backoff_factor);
  check(opt_.growth_interval > 0, "GradScaler: growth_interval must be positive, got ", opt_.growth_interval);
}

double GradScaler::scale() const { return opt_.enabled ? (double)scale_ : 1.0; }

Tensor GradScaler::scale(const Tensor& loss) const {
  if (!opt_.enabled) return loss;
  check(loss.defined() && is_floating(loss.dtype()), "GradScaler::scale: expected a floating-point loss");
  return mul(loss, (double)scale_);
}

namespace {
// g *= inv in place; returns whether some element of g (before scaling) was inf or NaN.
template <class T>
bool unscale_in_place(T* g, int64_t n, T inv) {
  bool bad = false;
  for (int64_t i = 0; i < n; ++i) {
    bad = bad || !std::isfinite(g[i]);
    g[i] *= inv;
  }
  return bad;
}
}  // namespace

void GradScaler::unscale(optim::Optimizer& o) {
  if (!opt_.enabled) return;
  PerOptimizer& st = per_opt_[&o];
  check(st.stage != Stage::unscaled, "GradScaler::unscale: already called for this optimizer since the last update()");
  check(st.stage != Stage::stepped, "GradScaler::unscale: called after step(); call update() first");
  // 1/S rounded to f32, as PyTorch (scale.double().reciprocal().float()); exact for powers of two.
  const float inv = (float)(1.0 / (double)scale_);
  bool bad = false;
  for (const optim::ParamGroup& group : o.param_groups())
    for (const Tensor& p : group.params) {
      Tensor g = p.grad();  // shares storage: writes land in p's .grad
      if (!g.defined()) continue;
      if (g.dtype() == DType::f32) bad = unscale_in_place(g.data<float>(), g.numel(), inv) || bad;
      else if (g.dtype() == DType::f64) bad = unscale_in_place(g.data<double>(), g.numel(), (double)inv) || bad;
      else
        fail("GradScaler::unscale: gradient of dtype ", dtype_name(g.dtype()), " ", shape_text(g.shape()),
             " (master weights must be f32 or f64)");
    }
  st.found_inf = bad;
  st.stage = Stage::unscaled;
}

bool GradScaler::step(optim::Optimizer& o) {
  if (!opt_.enabled) {
    o.step();
    return true;
  }
  auto it = per_opt_.find(&o);
  check(it == per_opt_.end() || it->second.stage != Stage::stepped,
        "GradScaler::step: already called for this optimizer since the last update()");
  if (it == per_opt_.end() || it->second.stage == Stage::ready) unscale(o);
  PerOptimizer& st = per_opt_[&o];
  st.stage = Stage::stepped;
  if (st.found_inf) return false;  // skip: the parameters and the optimizer state stay as they were
  o.step();
  return true;
}

bool GradScaler::found_inf() const {
  for (const auto& [o, st] : per_opt_)
    if (st.stage != Stage::ready && st.found_inf) return true;
  return false;
}

void GradScaler::update() {
  if (!opt_.enabled) return;
  bool unscaled = false;
  for (const auto& [o, st] : per_opt_) unscaled = unscaled || st.stage != Stage::ready;
  check(unscaled, "GradScaler::update: no unscale() or step() since the last update()");
  if (found_inf()) {
    scale_ = (float)((double)scale_ * opt_.backoff_factor);
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == opt_.growth_interval) {
    const float grown = (float)((double)scale_ * opt_.growth_factor);
    if (std::isfinite(grown)) scale_ = grown;
    growth_tracker_ = 0;
  }
  per_opt_.clear();
}

// ---- checkpoint state ----------------------------------------------------------------------------
namespace {
std::string exact(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}
const std::string& need(const std::map<std::string, std::string>& m, const char* key) {
  auto it = m.find(key);
  check(it != m.end(), "GradScaler::load_state_dict: missing key '", key, "'");
  return it->second;
}
double number(const std::map<std::string, std::string>& m, const char* key) {
  const std::string& s = need(m, key);
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  check(used == s.size() && !s.empty(), "GradScaler::load_state_dict: '", key, "' is not a number: '", s, "'");
  return v;
}
}  // namespace

std::map<std::string, std::string> GradScaler::state_dict() const {
  return {{"scale", exact(scale_)},
          {"growth_tracker", std::to_string(growth_tracker_)},
          {"growth_factor", exact(opt_.growth_factor)},
          {"backoff_factor", exact(opt_.backoff_factor)},
          {"growth_interval", std::to_string(opt_.growth_interval)},
          {"enabled", opt_.enabled ? "1" : "0"}};
}

void GradScaler::load_state_dict(const std::map<std::string, std::string>& m) {
  GradScalerOptions o;
  o.init_scale = number(m, "scale");
  o.growth_factor = number(m, "growth_factor");
  o.backoff_factor = number(m, "backoff_factor");
  const double interval = number(m, "growth_interval"), tracker = number(m, "growth_tracker");
  check(interval == std::floor(interval) && tracker == std::floor(tracker) && tracker >= 0 && tracker < interval,
        "GradScaler::load_state_dict: growth_tracker ", tracker, " / growth_interval ", interval,
        " must be integers with 0 <= tracker < interval");
  o.growth_interval = (int64_t)interval;
  const std::string& en = need(m, "enabled");
  check(en == "0" || en == "1", "GradScaler::load_state_dict: 'enabled' must be 0 or 1, got '", en, "'");
  o.enabled = en == "1";
  *this = GradScaler(o);  // validates the options
  growth_tracker_ = (int64_t)tracker;
}

std::string GradScaler::state_json() const {
  nlohmann::json j;
  for (const auto& [k, v] : state_dict()) j[k] = v;
  return j.dump();
}

void GradScaler::load_state_json(const std::string& text) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    fail("GradScaler::load_state_json: not JSON: ", e.what());
  }
  check(j.is_object(), "GradScaler::load_state_json: expected a JSON object, got ", text);
  std::map<std::string, std::string> m;
  for (const auto& [k, v] : j.items()) {
    check(v.is_string(), "GradScaler::load_state_json: '", k, "' must be a string");
    m[k] = v.get<std::string>();
  }
  load_state_dict(m);
}

}  // namespace dg::amp
