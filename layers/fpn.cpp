#include "layers/fpn.h"

#include <algorithm>

#include "autograd/ops.h"
#include "autograd/ops/interpolate.h"
#include "layers/init.h"

namespace dg::nn {

namespace {
// A conv with torchvision's FPN init: kaiming_uniform_(a = 1), bias 0.
std::shared_ptr<Conv2d> fpn_conv(int64_t in, int64_t out, int64_t k, int64_t stride, Generator& gen) {
  auto c = std::make_shared<Conv2d>(in, out, k, gen, Conv2dOptions{.stride = stride, .padding = k / 2});
  init::kaiming_uniform_(c->weight, 1.0, gen);
  init::constant_(c->bias, 0.0);
  return c;
}

// The container of P6/P7 (so their keys read extra_blocks.p6.weight as in torchvision).
struct LastLevelP6P7 : Module {
  LastLevelP6P7() : Module("LastLevelP6P7") {}
};
}  // namespace

FPN::FPN(std::vector<int64_t> in, int64_t out, Generator& gen, FPNOptions o)
    : Module("FPN"), in_channels(std::move(in)), out_channels(out), opt(std::move(o)) {
  check(!in_channels.empty() && out > 0, "FPN: need at least one input level and out_channels > 0");
  inner_blocks = register_module("inner_blocks", std::make_shared<ModuleList>());
  layer_blocks = register_module("layer_blocks", std::make_shared<ModuleList>());
  for (int64_t c : in_channels) {
    inner_blocks->push_back(std::make_shared<Sequential>(std::vector<ModulePtr>{fpn_conv(c, out, 1, 1, gen)}));
    layer_blocks->push_back(std::make_shared<Sequential>(std::vector<ModulePtr>{fpn_conv(out, out, 3, 1, gen)}));
  }
  if (opt.p6p7) {
    extra_blocks = register_module("extra_blocks", std::make_shared<LastLevelP6P7>());
    p6 = extra_blocks->register_module("p6", fpn_conv(out, out, 3, 2, gen));
    p7 = extra_blocks->register_module("p7", fpn_conv(out, out, 3, 2, gen));
  }
  const std::vector<int64_t> all = [&] {
    std::vector<int64_t> l;
    const int64_t n = (int64_t)in_channels.size() + (opt.p6p7 ? 2 : 0);
    for (int64_t i = 0; i < n; ++i) l.push_back(opt.first_level + i);
    return l;
  }();
  for (int64_t lv : opt.out_levels)
    check(std::find(all.begin(), all.end(), lv) != all.end(), "FPN: out level P", lv, " is not produced (levels P",
          all.front(), "..P", all.back(), ")");
  check(std::is_sorted(opt.out_levels.begin(), opt.out_levels.end()), "FPN: out_levels must be ascending");
}

std::vector<int64_t> FPN::levels() const {
  if (!opt.out_levels.empty()) return opt.out_levels;
  std::vector<int64_t> l;
  const int64_t n = (int64_t)in_channels.size() + (opt.p6p7 ? 2 : 0);
  for (int64_t i = 0; i < n; ++i) l.push_back(opt.first_level + i);
  return l;
}

std::vector<Tensor> FPN::forward_features(const std::vector<Tensor>& xs) {
  const std::unique_ptr<ScopeGuard> scope = enter_scope();
  const size_t L = in_channels.size();
  check(xs.size() == L, "FPN: expected ", L, " feature maps, got ", xs.size());
  for (size_t i = 0; i < L; ++i)
    check(xs[i].dim() == 4 && xs[i].size(1) == in_channels[i], "FPN: feature ", i, " should be [N, ", in_channels[i],
          ", H, W], got ", shape_text(xs[i].shape()));
  // Top-down: start from the coarsest lateral, upsample (nearest, to the exact size of the next
  // finer map, as torchvision) and add the finer lateral.
  std::vector<Tensor> outs(L);
  Tensor last = (*inner_blocks)[L - 1](xs[L - 1]);
  outs[L - 1] = (layer_blocks->operator[](L - 1))(last);
  for (size_t i = L - 1; i-- > 0;) {
    Tensor lateral = (*inner_blocks)[i](xs[i]);
    Tensor top_down = interpolate(last, InterpolateOptions{.size = {lateral.size(2), lateral.size(3)}});
    last = add(lateral, top_down);
    outs[i] = (*layer_blocks)[i](last);
  }
  if (opt.p6p7) {
    Tensor q6 = (*p6)(outs[L - 1]);  // from P5
    Tensor q7 = (*p7)(relu(q6));
    outs.push_back(q6);
    outs.push_back(q7);
  }
  if (opt.out_levels.empty()) return outs;
  std::vector<Tensor> chosen;
  for (int64_t lv : opt.out_levels) chosen.push_back(outs[(size_t)(lv - opt.first_level)]);
  return chosen;
}

}  // namespace dg::nn
