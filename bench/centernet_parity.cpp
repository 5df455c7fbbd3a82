// `detgrad bench centernet-parity --data DIR --out OUT`: the detgrad half of the check that
// bench/centernet_torch.py trains the SAME CenterNet as detgrad (same weights, same forward, same loss,
// same gradients, same targets, same augmentation). It writes, for the first --n images of an exported
// dataset DIR (`detgrad data export ...`: DIR/images/*.png + DIR/instances.json):
//
//   weights.safetensors    the initial state_dict of CenterNet(--width/--up/--head, Generator(--seed))
//   input.npy              f32 [n,3,H,W], (u8/255 - 0.5) / 0.25, the training normalisation
//   t_heatmap/t_wh/t_offset/t_indices/t_mask.npy   centernet_targets of the images' boxes, stacked
//   out_heatmap/out_wh/out_offset.npy              train-mode forward
//   grads.safetensors      every parameter's gradient of the total loss
//   after_step.safetensors the state_dict after that forward (BN running stats) and one Adam step
//                          (lr 2e-3, betas .9/.999, eps 1e-8)
//   eval_heatmap/eval_wh/eval_offset.npy           eval-mode forward after the step
//   aug_<i>.npy            augment() of image i with Generator(1000 + i), default AugmentConfig
//   identity_<i>.npy       warp_affine of image i with the identity map
//   parity.json            losses, the decoded detections of the eval forward (top-100 per image),
//                          the 7 uniform draws augment() consumed for each image, and the
//                          augmented boxes / labels / transform.
// `centernet_torch.py --parity-check OUT` reads it all back and reports the differences.
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/io/image.h"
#include "autograd/io/safetensors.h"
#include "autograd/io/tensor_npy.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "bench/bench.h"
#include "detectors/centernet/decode.h"
#include "detectors/centernet/detector.h"
#include "detectors/centernet/loss.h"
#include "detectors/centernet/targets.h"
#include "detectors/data/augment.h"
#include "detectors/eval/coco_json.h"

namespace dg::bench {

namespace {
namespace fs = std::filesystem;

io::TensorMap to_map(const nn::StateDict& sd) {
  io::TensorMap m;
  for (const auto& [name, t] : sd) m[name] = t.contiguous_copy_no_grad();
  return m;
}

nlohmann::json tensor_json(const Tensor& t) { return t.to_vector(); }
}  // namespace

int run_centernet_parity(const CenterNetParityOptions& o) {
  check(!o.data.empty() && !o.out.empty(), "bench centernet-parity: give --data DIR and --out DIR");
  check(o.n >= 1, "bench centernet-parity: --n must be >= 1, got ", o.n);
  fs::create_directories(o.out);
  const std::string out = o.out + "/";
  eval::CocoDataset gt = eval::read_coco_gt(o.data + "/instances.json");
  check((int64_t)gt.images.size() >= o.n, "bench centernet-parity: ", o.data, "/instances.json has ", gt.images.size(),
        " images, fewer than --n ", o.n);
  const int64_t num_classes = 10;

  // ---- images, boxes, targets ----
  std::vector<data::Scene> scenes;
  std::vector<CenterNetTargets> targets;
  int64_t H = 0, W = 0;
  for (int64_t i = 0; i < o.n; ++i) {
    const eval::CocoImage& im = gt.images[(size_t)i];
    data::Scene s;
    s.image = io::load_image(o.data + "/" + im.file_name);
    if (i == 0) H = s.image.shape()[0], W = s.image.shape()[1];
    check(s.image.shape()[0] == H && s.image.shape()[1] == W, "bench centernet-parity: ", im.file_name,
          " differs in size from the first image");
    for (const auto& a : gt.annotations)
      if (a.image_id == im.id) {
        s.boxes.push_back(
            {(float)a.bbox[0], (float)a.bbox[1], (float)(a.bbox[0] + a.bbox[2]), (float)(a.bbox[1] + a.bbox[3])});
        s.labels.push_back((int)a.category_id - 1);
      }
    std::vector<double> b, l;
    for (size_t k = 0; k < s.boxes.size(); ++k) {
      b.insert(b.end(), s.boxes[k].begin(), s.boxes[k].end());
      l.push_back(s.labels[k]);
    }
    CenterNetTargetOptions to;
    to.num_classes = num_classes;
    to.out_h = H / 4, to.out_w = W / 4;
    to.stride = 4;
    to.max_objs = 32;
    to.min_overlap = 0.7;
    targets.push_back(centernet_targets(from_vector(b, {(int64_t)s.boxes.size(), 4}, DType::f32),
                                        from_vector(l, {(int64_t)l.size()}, DType::i64), to));
    scenes.push_back(std::move(s));
  }
  centernet::CenterNetBatchTargets bt = centernet::stack_targets(targets);
  io::save_npy(out + "t_heatmap.npy", bt.heatmap);
  io::save_npy(out + "t_wh.npy", bt.wh);
  io::save_npy(out + "t_offset.npy", bt.offset);
  io::save_npy(out + "t_indices.npy", bt.indices);
  io::save_npy(out + "t_mask.npy", bt.mask);

  // The loader's normalisation, (u8 / 255 - mean) / std in f32.
  Tensor input = Tensor::empty({o.n, 3, H, W}, DType::f32);
  float* dst = input.data<float>();
  for (int64_t i = 0; i < o.n; ++i) {
    const uint8_t* src = scenes[(size_t)i].image.data<uint8_t>();
    for (int c = 0; c < 3; ++c)
      for (int64_t p = 0; p < H * W; ++p) dst[(i * 3 + c) * H * W + p] = (src[p * 3 + c] / 255.0f - 0.5f) / 0.25f;
  }
  io::save_npy(out + "input.npy", input);

  // ---- model: weights, forward, loss, gradients, one Adam step, eval forward, decode ----
  centernet::CenterNetConfig cfg = centernet::CenterNetConfig::cpu(num_classes);
  cfg.width_mult = o.width;
  cfg.up_channels = o.up;
  cfg.head_channels = o.head;
  Generator gen(o.seed);
  centernet::CenterNetDetector model(cfg, gen);
  io::save_safetensors(out + "weights.safetensors", to_map(model.state_dict()));
  model.train();
  centernet::CenterNetOutput y = model.forward_heads(input);
  io::save_npy(out + "out_heatmap.npy", y.heatmap.detach());
  io::save_npy(out + "out_wh.npy", y.wh.detach());
  io::save_npy(out + "out_offset.npy", y.offset.detach());
  centernet::CenterNetLoss loss = centernet::centernet_loss(y.heatmap, y.wh, y.offset, bt);
  nlohmann::json j;
  j["loss"] = {{"total", loss.total.item()},
               {"heatmap", loss.heatmap.item()},
               {"wh", loss.wh.item()},
               {"offset", loss.offset.item()}};
  loss.total.backward();
  io::TensorMap grads;
  for (const auto& [name, p] : model.named_parameters()) {
    check(p.grad().defined(), "bench centernet-parity: parameter ", name, " has no gradient");
    grads[name] = p.grad().contiguous_copy_no_grad();
  }
  io::save_safetensors(out + "grads.safetensors", grads);
  optim::AdamOptions ao;
  ao.lr = 2e-3;
  optim::Adam adam(model.parameters(), ao);
  adam.step();
  io::save_safetensors(out + "after_step.safetensors", to_map(model.state_dict()));
  model.eval();
  {
    NoGradGuard ng;
    centernet::CenterNetOutput e = model.forward_heads(input);
    io::save_npy(out + "eval_heatmap.npy", e.heatmap);
    io::save_npy(out + "eval_wh.npy", e.wh);
    io::save_npy(out + "eval_offset.npy", e.offset);
    std::vector<centernet::Detections> dets = centernet::centernet_decode(e.heatmap, e.wh, e.offset);
    nlohmann::json dj = nlohmann::json::array();
    for (const auto& d : dets)
      dj.push_back(
          {{"boxes", tensor_json(d.boxes)}, {"scores", tensor_json(d.scores)}, {"labels", tensor_json(d.labels)}});
    j["detections"] = dj;
  }

  // ---- augmentation: the draws, the output image, boxes and transform ----
  nlohmann::json aj = nlohmann::json::array();
  data::AugmentConfig ac;
  for (int64_t i = 0; i < o.n; ++i) {
    const uint64_t seed = 1000 + (uint64_t)i;
    Generator draws(seed);
    std::vector<double> u;
    for (int k = 0; k < 7; ++k)
      u.push_back(draws.uniform01());  // flip, scale, dx, dy, brightness, contrast, saturation
    Generator g(seed);
    data::Augmented a = data::augment(scenes[(size_t)i], ac, g);
    io::save_npy(out + "aug_" + std::to_string(i) + ".npy", a.scene.image);
    io::save_npy(out + "identity_" + std::to_string(i) + ".npy", data::warp_affine(scenes[(size_t)i].image, {}, H, W));
    nlohmann::json boxes = nlohmann::json::array();
    for (const auto& b : a.scene.boxes) boxes.push_back({b[0], b[1], b[2], b[3]});
    const data::Affine& m = a.transform;
    aj.push_back({{"uniforms", u},
                  {"boxes", boxes},
                  {"labels", a.scene.labels},
                  {"flipped", a.flipped},
                  {"transform", {m.a, m.b, m.tx, m.c, m.d, m.ty}}});
  }
  j["augment"] = aj;
  j["config"] = {{"width", o.width}, {"up", o.up}, {"head", o.head}, {"seed", o.seed}, {"n", o.n}, {"data", o.data}};
  eval::write_json_file(out + "parity.json", j, 1);
  std::printf(
      "centernet-parity: wrote %s (n=%lld, %lldx%lld, loss %.6f); check with\n"
      "  /usr/bin/python3 bench/centernet_torch.py --parity-check %s\n",
      o.out.c_str(), (long long)o.n, (long long)H, (long long)W, loss.total.item(), o.out.c_str());
  return 0;
}

}  // namespace dg::bench
