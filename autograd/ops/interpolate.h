// Resampling with the semantics of PyTorch 1.13's F.interpolate: modes nearest, nearest-exact, area
// (input [N,C,L] or [N,C,H,W]), linear ([N,C,L]) and bilinear ([N,C,H,W]). Exactly one of size / scale_factor is
// given. The coordinate rules and the pitfalls (align_corners, recompute_scale_factor): docs/interpolate.md.
// Differentiable w.r.t. the input; the backward is the adjoint (a deterministic scatter-add).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace dg {

enum class InterpMode { nearest, nearest_exact, linear, bilinear, area };
// "nearest" | "nearest-exact" | "linear" | "bilinear" | "area"
InterpMode parse_interp_mode(const std::string& s);
const char* interp_mode_name(InterpMode m);

struct InterpolateOptions {
  std::vector<int64_t> size;         // output spatial size: one value (all dims) or one per dim
  std::vector<double> scale_factor;  // or a multiplier: one value or one per dim
  InterpMode mode = InterpMode::nearest;
  std::optional<bool> align_corners;  // linear/bilinear only (unset = false); an error otherwise
  // true: recompute the scale from the integer output size (in/out) instead of using 1/scale_factor.
  std::optional<bool> recompute_scale_factor;
};

// out spatial size = size, or floor(in * scale_factor).
// nearest:        src = min(floor(dst * s), in - 1)            s = 1/scale_factor or in/out (f32 math)
// nearest-exact:  src = min(floor((dst + 0.5) * s), in - 1)
// (bi)linear:     src = max(0, (dst + 0.5) * s - 0.5), or dst * (in - 1)/(out - 1) with align_corners
// area:           adaptive_avg_pool to the output size
Tensor interpolate(const Tensor& input, const InterpolateOptions& opt);

}  // namespace dg
