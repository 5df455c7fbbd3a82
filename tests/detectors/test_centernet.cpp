// CenterNet model / loss / decode (detectors/centernet): shapes and parameter count of a tiny config,
// the heatmap prior, the loss on hand-made targets (perfect prediction, hand-computed L1, no object),
// an f64 gradcheck of the loss w.r.t. the head outputs, decoding of a synthetic heatmap with known
// peaks (plateau ties, affine map, NMS), errors, and a 20-step Adam smoke test.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "detectors/centernet/decode.h"
#include "detectors/centernet/detector.h"
#include "detectors/centernet/loss.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::centernet;
using dg::optim::Adam;
using dg::optim::AdamOptions;

namespace {
CenterNetConfig tiny_config(int64_t classes = 3) {
  CenterNetConfig c;
  c.num_classes = classes;
  c.width_mult = 0.125;  // ResNet widths 8, 16, 32, 64
  c.up_channels = {16, 8, 8};
  c.head_channels = 8;
  return c;
}

// Targets of one image: boxes (input pixels) on an out_h x out_w map, stride 4.
CenterNetTargets one_image_targets(const std::vector<double>& boxes, const std::vector<double>& labels, int64_t classes,
                                   int64_t out, int64_t max_objs = 8) {
  CenterNetTargetOptions o;
  o.num_classes = classes;
  o.out_h = o.out_w = out;
  o.max_objs = max_objs;
  const int64_t n = (int64_t)labels.size();
  return centernet_targets(from_vector(boxes, {n, 4}, DType::f32), from_vector(labels, {n}, DType::i64), o);
}
}  // namespace

TEST_CASE("centernet: model shapes, parameter count, prior, state_dict names") {
  Generator gen(1);
  CenterNetDetector net(tiny_config(), gen);
  CenterNetOutput o = net.forward_heads(randn({2, 3, 64, 96}, gen));
  CHECK(o.heatmap.shape() == Shape{2, 3, 16, 24});
  CHECK(o.wh.shape() == Shape{2, 2, 16, 24});
  CHECK(o.offset.shape() == Shape{2, 2, 16, 24});
  CHECK(net.num_parameters() == centernet_num_parameters(net.cfg));
  CenterNetConfig cpu = CenterNetConfig::cpu(10);
  CHECK(CenterNetDetector(cpu, gen).num_parameters() == centernet_num_parameters(cpu));
  // Full width by formula: ResNet-18 without fc (11,689,512 - 513,000) + up stages + heads.
  CenterNetConfig full;
  const int64_t up = 16 * 512 * 256 + 2 * 256 + 16 * 256 * 128 + 2 * 128 + 16 * 128 * 64 + 2 * 64;
  const int64_t heads = (9 * 64 * 64 + 64) * 3 + 64 * 80 + 80 + 2 * (64 * 2 + 2);
  CHECK(centernet_num_parameters(full) == 11689512 - 513000 + up + heads);
  // heatmap prior: bias -log(0.9/0.1) = -2.1972
  auto& last = static_cast<nn::Conv2d&>((*net.hm)[2]);
  for (double b : last.bias.to_vector()) CHECK(b == doctest::Approx(-2.1972245773).epsilon(1e-6));
  // stable names
  nn::StateDict sd = net.state_dict();
  auto has = [&](const std::string& k) {
    for (auto& [name, t] : sd)
      if (name == k) return true;
    return false;
  };
  for (const char* k : {"backbone.conv1.weight", "backbone.layer4.1.bn2.running_var", "deconv.0.conv.weight",
                        "deconv.2.bn.num_batches_tracked", "hm.0.weight", "hm.2.bias", "wh.2.weight", "reg.0.bias"})
    CHECK_MESSAGE(has(k), k);
  CHECK(!has("backbone.fc.weight"));
  CHECK(!has("deconv.0.conv.bias"));
  CHECK_THROWS_WITH_PART(net.forward_heads(zeros({1, 3, 60, 64})), "multiples of 32");
}

TEST_CASE("centernet: loss on hand-made targets") {
  // One box 16x24 px centred at (30, 22) on a 64x64 input -> 16x16 map; in cells: centre (7.5, 5.5),
  // wh (4, 6), cell (7, 5), offset (0.5, 0.5), index 5*16+7 = 87.
  CenterNetTargets t1 = one_image_targets({22, 10, 38, 34}, {1}, 2, 16);
  CHECK(t1.indices.at(0) == 87);
  CenterNetBatchTargets t = stack_targets({t1});
  // perfect prediction: logit +20 at the peak, -20 elsewhere (p clamped to 1e-4); regressions exact.
  Tensor hm = where(eq(t.heatmap, ones_like(t.heatmap)), full({1, 2, 16, 16}, 20.0), full({1, 2, 16, 16}, -20.0));
  Tensor wh = zeros({1, 2, 16, 16}), off = zeros({1, 2, 16, 16});
  wh.data<float>()[87] = 4;
  wh.data<float>()[256 + 87] = 6;
  off.data<float>()[87] = 0.5f;
  off.data<float>()[256 + 87] = 0.5f;
  CenterNetLoss l = centernet_loss(hm, wh, off, t);
  CHECK(l.heatmap.item() < 1e-3);
  CHECK(l.wh.item() == 0.0);
  CHECK(l.offset.item() == 0.0);
  CHECK(l.total.item() < 1e-3);
  // zero regressions: L1 = (4 + 6) / (2 + 1e-4) for wh, (0.5 + 0.5) / (2 + 1e-4) for offset
  CenterNetLoss z = centernet_loss(hm, zeros_like(wh), zeros_like(off), t);
  CHECK(z.wh.item() == doctest::Approx(10 / 2.0001).epsilon(1e-6));
  CHECK(z.offset.item() == doctest::Approx(1 / 2.0001).epsilon(1e-6));
  CHECK(z.total.item() == doctest::Approx(z.heatmap.item() + 0.1 * 10 / 2.0001 + 1 / 2.0001).epsilon(1e-6));
  // No-object image: mask all zero -> L1 terms 0, focal = its negative part (logit 0: p^2 log 2 per cell)
  CenterNetTargets t0 = one_image_targets({}, {}, 2, 16);
  CenterNetLoss e = centernet_loss(zeros({1, 2, 16, 16}), wh, off, stack_targets({t0}));
  CHECK(e.wh.item() == 0.0);
  CHECK(e.offset.item() == 0.0);
  CHECK(e.heatmap.item() == doctest::Approx(512 * 0.25 * std::log(2.0)).epsilon(1e-5));
  // errors name the shapes
  CHECK_THROWS_WITH_PART(centernet_loss(zeros({1, 3, 16, 16}), wh, off, t), "[1,3,16,16]");
  CHECK_THROWS_WITH_PART(centernet_loss(hm, zeros({1, 2, 8, 8}), off, t), "wh [1,2,8,8]");
  CenterNetBatchTargets bad = t;
  bad.indices = full({1, 8}, 256, DType::i64);
  CHECK_THROWS_WITH_PART(centernet_loss(hm, wh, off, bad), "index 256 outside [0, 256)");
}

TEST_CASE("centernet: loss gradcheck (f64) w.r.t. the head outputs") {
  Generator gen(7);
  // two images, 2 classes, 4x4 maps, 3 object slots
  Tensor target_hm = zeros({2, 2, 4, 4}, DType::f64);
  double* th = target_hm.data<double>();
  th[0 * 16 + 5] = 1;  // image 0 class 0 cell 5
  th[0 * 16 + 6] = 0.6;
  th[0 * 16 + 9] = 0.3;
  th[1 * 16 + 12] = 1;   // image 0 class 1 cell 12
  th[2 * 16 + 3] = 0.5;  // image 1: no positive in this channel
  CenterNetBatchTargets t;
  t.heatmap = target_hm;
  t.wh = abs(randn({2, 3, 2}, gen, DType::f64)) * 3.0;
  t.offset = abs(randn({2, 3, 2}, gen, DType::f64)) * 0.5;
  t.indices = tensor({5, 12, 0, 3, 0, 0}, {2, 3}, DType::i64);
  t.mask = tensor({1, 1, 0, 1, 0, 0}, {2, 3}, DType::u8);
  std::vector<Tensor> xs = {randn({2, 2, 4, 4}, gen, DType::f64).set_requires_grad(true),
                            randn({2, 2, 4, 4}, gen, DType::f64).set_requires_grad(true),
                            randn({2, 2, 4, 4}, gen, DType::f64).set_requires_grad(true)};
  auto f = [&](const std::vector<Tensor>& v) {
    CenterNetLoss l = centernet_loss(v[0], v[1], v[2], t);
    return std::vector<Tensor>{l.total, l.heatmap, l.wh, l.offset};
  };
  check_grad("centernet_loss", f, xs);
}

TEST_CASE("centernet: decode a synthetic heatmap") {
  const int64_t C = 3, H = 16, W = 16, HW = H * W;
  Tensor hm = full({1, C, H, W}, -10.0), wh = zeros({1, 2, H, W}), off = zeros({1, 2, H, W});
  float* h = hm.data<float>();
  float* s = wh.data<float>();
  float* o = off.data<float>();
  // class 1 peak at (x 5, y 3): logit 2, wh (4, 6), offset (0.5, 0.25)
  //   centre (5.5, 3.25) * 4 = (22, 13); box (22 -+ 8, 13 -+ 12) = (14, 1, 30, 25)
  const int64_t a = 3 * W + 5;
  h[1 * HW + a] = 2;
  s[a] = 4, s[HW + a] = 6, o[a] = 0.5f, o[HW + a] = 0.25f;
  // class 0 peak at (10, 10): logit 1, wh (2, 2), offset 0 -> centre (40, 40), box (36, 36, 44, 44)
  const int64_t b = 10 * W + 10;
  h[b] = 1;
  s[b] = 2, s[HW + b] = 2;
  // class 2 plateau: (x 1, y 12) and (x 2, y 12) both logit 0.5 -- both survive
  h[2 * HW + 12 * W + 1] = 0.5f;
  h[2 * HW + 12 * W + 2] = 0.5f;
  // a non-peak next to the class 1 peak: suppressed
  h[1 * HW + a + 1] = 1.5f;
  DecodeOptions opt;
  opt.score_threshold = 0.01;  // drop the flat background (every background cell is its own "peak")
  std::vector<Detections> d = centernet_decode(hm, wh, off, opt);
  REQUIRE(d.size() == 1);
  REQUIRE(d[0].scores.numel() == 4);
  auto sig = [](double x) { return 1 / (1 + std::exp(-x)); };
  CHECK(d[0].scores.at(0) == doctest::Approx(sig(2)));
  CHECK(d[0].scores.at(1) == doctest::Approx(sig(1)));
  CHECK(d[0].scores.at(2) == doctest::Approx(sig(0.5)));
  CHECK(d[0].scores.at(3) == doctest::Approx(sig(0.5)));
  CHECK(d[0].labels.to_vector() == std::vector<double>{1, 0, 2, 2});
  check_close(d[0].boxes, {14, 1, 30, 25, 36, 36, 44, 44, 4, 48, 4, 48, 8, 48, 8, 48}, 1e-5, "boxes");
  // default (no threshold): exactly K = 100 detections, the four peaks first
  std::vector<Detections> all = centernet_decode(hm, wh, off);
  CHECK(all[0].scores.numel() == 100);
  CHECK(all[0].labels.at(0) == 1);
  // affine map to the image: scale 0.5, shift (+10, 0)
  std::vector<Detections> m = centernet_decode(hm, wh, off, opt, {Affine{0.5, 0, 10, 0, 0.5, 0}});
  CHECK(m[0].boxes.at(0) == doctest::Approx(17));
  CHECK(m[0].boxes.at(3) == doctest::Approx(12.5));
  // topk smaller than the peaks
  DecodeOptions k2 = opt;
  k2.topk = 2;
  CHECK(centernet_decode(hm, wh, off, k2)[0].scores.numel() == 2);
}

TEST_CASE("centernet: decode with post-NMS") {
  const int64_t H = 8, W = 8, HW = H * W;
  // two class-0 peaks two cells apart with big boxes (IoU 0.6), a class-1 peak on top of them
  Tensor hm = full({1, 2, H, W}, -10.0), wh = full({1, 2, H, W}, 8.0), off = zeros({1, 2, H, W});
  float* h = hm.data<float>();
  h[4 * W + 2] = 2;
  h[4 * W + 4] = 1;
  h[HW + 4 * W + 3] = 0;
  DecodeOptions opt;
  opt.score_threshold = 0.01;
  CHECK(centernet_decode(hm, wh, off, opt)[0].scores.numel() == 3);
  opt.nms = post_nms_from_name("hard");  // IoU (6*8)/(2*64-48) = 0.6 > 0.5: the weaker class-0 box goes
  Detections d = centernet_decode(hm, wh, off, opt)[0];
  CHECK(d.labels.to_vector() == std::vector<double>{0, 1});
  opt.nms = post_nms_from_name("diou");
  CHECK(centernet_decode(hm, wh, off, opt)[0].scores.numel() == 2);
  opt.nms = post_nms_from_name("soft-linear");  // decayed by 1 - 0.6, kept
  Detections sl = centernet_decode(hm, wh, off, opt)[0];
  REQUIRE(sl.scores.numel() == 3);
  const double s1 = 1 / (1 + std::exp(-1.0));
  CHECK(sl.scores.at(2) == doctest::Approx(s1 * 0.4).epsilon(1e-5));
  opt.nms = post_nms_from_name("soft-gaussian");  // exp(-0.36 / 0.5)
  Detections sg = centernet_decode(hm, wh, off, opt)[0];
  REQUIRE(sg.scores.numel() == 3);
  CHECK(sg.scores.at(2) == doctest::Approx(s1 * std::exp(-0.72)).epsilon(1e-5));
  CHECK(std::string(post_nms_name(PostNms::soft_gaussian)) == "soft-gaussian");
  CHECK_THROWS_WITH_PART(post_nms_from_name("fast"), "unknown NMS 'fast'");
  CHECK_THROWS_WITH_PART(centernet_decode(hm, zeros({1, 2, 4, 4}), off), "wh [1,2,4,4]");
}

TEST_CASE("centernet: 20 Adam steps on one image reduce the loss") {
  Generator gen(3);
  CenterNetConfig cfg = tiny_config(2);
  CenterNetDetector net(cfg, gen);
  Tensor img = randn({1, 3, 64, 64}, gen);
  CenterNetBatchTargets t = stack_targets({one_image_targets({8, 8, 40, 36, 30, 34, 60, 60}, {0, 1}, 2, 16)});
  AdamOptions ao;
  ao.lr = 5e-3;
  Adam adam(net.parameters(), ao);
  double first = 0, last = 0;
  for (int step = 0; step < 20; ++step) {
    CenterNetOutput o = net.forward_heads(img);
    CenterNetLoss l = centernet_loss(o.heatmap, o.wh, o.offset, t);
    if (step == 0) first = l.total.item();
    last = l.total.item();
    adam.zero_grad();
    l.total.backward();
    adam.step();
  }
  CAPTURE(first);
  CAPTURE(last);
  CHECK(std::isfinite(last));
  CHECK(last < 0.5 * first);
}
