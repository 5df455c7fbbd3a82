#include "layers/norm.h"

#include "autograd/ops/norm.h"

namespace dg::nn {

BatchNorm2d::BatchNorm2d(int64_t c, BatchNormOptions o) : Module("BatchNorm2d"), num_features(c), opt(o) {
  check(c > 0, "BatchNorm2d: num_features must be positive, got ", c);
  check(o.momentum >= 0 && o.momentum <= 1 && o.eps > 0,
        "BatchNorm2d: need 0 <= momentum <= 1 and eps > 0, got momentum=", o.momentum, " eps=", o.eps);
  if (o.affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
  if (o.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({c}));
    running_var = register_buffer("running_var", ones({c}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, DType::i64));
  }
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == num_features, "BatchNorm2d(", num_features, "): expected input [N, ", num_features,
        ", H, W], got ", shape_text(x.shape()));
  const bool batch_stats = is_training() || !opt.track_running_stats;
  if (is_training() && opt.track_running_stats) num_batches_tracked.data<int64_t>()[0] += 1;
  // batch_norm updates the running buffers in place when it is given them in training mode.
  return batch_norm(x, running_mean, running_var, weight, bias, batch_stats, opt.momentum, opt.eps);
}

std::string BatchNorm2d::extra_repr() const {
  return std::to_string(num_features) + ", eps=" + std::to_string(opt.eps) +
         ", momentum=" + std::to_string(opt.momentum) + (opt.affine ? "" : ", affine=False") +
         (opt.track_running_stats ? "" : ", track_running_stats=False");
}

GroupNorm::GroupNorm(int64_t g, int64_t c, double e, bool affine)
    : Module("GroupNorm"), num_groups(g), num_channels(c), eps(e) {
  check(g > 0 && c > 0 && c % g == 0, "GroupNorm: num_channels (", c, ") must be a positive multiple of num_groups (",
        g, ")");
  if (affine) {
    weight = register_parameter("weight", ones({c}));
    bias = register_parameter("bias", zeros({c}));
  }
}

Tensor GroupNorm::forward(const Tensor& x) {
  check(x.dim() >= 2 && x.size(1) == num_channels, "GroupNorm(", num_groups, ", ", num_channels,
        "): expected input [N, ", num_channels, ", *], got ", shape_text(x.shape()));
  return group_norm(x, num_groups, weight, bias, eps);
}

std::string GroupNorm::extra_repr() const {
  return std::to_string(num_groups) + ", " + std::to_string(num_channels) + ", eps=" + std::to_string(eps) +
         (weight.defined() ? "" : ", affine=False");
}

LayerNorm::LayerNorm(Shape shape, double e, bool affine)
    : Module("LayerNorm"), normalized_shape(std::move(shape)), eps(e) {
  check(!normalized_shape.empty() && shape_numel(normalized_shape) > 0, "LayerNorm: invalid normalized_shape ",
        shape_text(normalized_shape));
  if (affine) {
    weight = register_parameter("weight", ones(normalized_shape));
    bias = register_parameter("bias", zeros(normalized_shape));
  }
}

Tensor LayerNorm::forward(const Tensor& x) { return layer_norm(x, normalized_shape, weight, bias, eps); }

std::string LayerNorm::extra_repr() const {
  return shape_str(normalized_shape) + ", eps=" + std::to_string(eps) +
         (weight.defined() ? "" : ", elementwise_affine=False");
}

}  // namespace dg::nn
