// GradScaler: dynamic loss scaling for f16 training, with torch.cuda.amp.GradScaler's semantics.
//
// Gradients of f16 activations below 2^-24 (the smallest f16 subnormal) flush to zero. Multiplying the
// loss by S multiplies every gradient by S (the chain rule is linear), lifting small gradients into
// f16's range; the f32 parameter gradients are divided by S again before the optimizer uses them.
// S is chosen on the fly: when a gradient overflowed (inf/NaN anywhere), that step is skipped and
// S *= backoff_factor; after growth_interval consecutive finite steps, S *= growth_factor.
//   scaled_loss = S * loss;   backward;   g <- g * (1/S)  (unscale);   step unless some g non-finite
//
//   GradScaler scaler;                           // S = 2^16, x2 every 2000 finite steps, x0.5 on inf
//   scaler.scale(loss).backward();
//   scaler.unscale(opt);                         // optional: before clipping, so the clip sees true grads
//   clip_grad_norm(params, 10.0);
//   bool stepped = scaler.step(opt);             // unscales if not done yet; skips on inf/NaN
//   scaler.update();                             // adjusts S; ends this step's bookkeeping
//
// Per optimizer and step: unscale at most once (a second call is an error, as PyTorch), step at most
// once; update() resets both. A disabled scaler passes everything through (scale(loss) is loss,
// step() is opt.step(), scale() is 1), so one training loop serves f32, bf16 and f16.
// The scale is kept as an f32 value (as PyTorch's scale tensor); with power-of-two factors every
// unscale is exact unless a gradient falls into the f32 subnormal range.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "autograd/optim/optimizer.h"
#include "autograd/tensor.h"

namespace dg::amp {

struct GradScalerOptions {
  double init_scale = 65536.0;     // 2^16
  double growth_factor = 2.0;      // > 1
  double backoff_factor = 0.5;     // in (0, 1)
  int64_t growth_interval = 2000;  // consecutive finite steps before growing
  bool enabled = true;
};

class GradScaler {
 public:
  explicit GradScaler(GradScalerOptions options = {});

  Tensor scale(const Tensor& loss) const;  // loss * S (differentiable); loss itself when disabled
  double scale() const;                    // S (1 when disabled)
  bool enabled() const { return opt_.enabled; }
  int64_t growth_tracker() const { return growth_tracker_; }  // consecutive finite steps so far
  const GradScalerOptions& options() const { return opt_; }

  // Multiplies every parameter gradient of opt by 1/S (in place) and records whether any is inf/NaN.
  // dg::Error if called twice for opt before update(), or after step(opt).
  void unscale(optim::Optimizer& opt);
  // Unscales (if not done yet), then runs opt.step() unless a gradient was inf/NaN. Returns whether
  // the optimizer stepped. dg::Error if called twice for opt before update().
  bool step(optim::Optimizer& opt);
  // Backoff if any unscaled optimizer saw inf/NaN this step, else count a finite step and grow every
  // growth_interval; then forget this step's per-optimizer state.
  void update();
  bool found_inf() const;  // any inf/NaN seen by unscale since the last update()

  // Checkpoint state: "scale", "growth_tracker", "growth_factor", "backoff_factor", "growth_interval",
  // "enabled" as decimal strings (exact: scale and factors printed with 17 significant digits).
  std::map<std::string, std::string> state_dict() const;
  // Inverse of state_dict; every key is required (dg::Error naming a missing or malformed one).
  void load_state_dict(const std::map<std::string, std::string>& state);
  // The same as one JSON object, for a single TrainState.extra entry ("grad_scaler").
  std::string state_json() const;
  void load_state_json(const std::string& json);

 private:
  enum class Stage { ready, unscaled, stepped };
  struct PerOptimizer {
    Stage stage = Stage::ready;
    bool found_inf = false;
  };
  GradScalerOptions opt_;
  float scale_;  // S, f32 like PyTorch's scale tensor
  int64_t growth_tracker_ = 0;
  std::map<const optim::Optimizer*, PerOptimizer> per_opt_;  // this step's state, cleared by update()
};

}  // namespace dg::amp
