// FCOS model / loss / decode / Detector (detectors/fcos): shapes per level, state_dict names, the
// parameter count by formula, the head init (prior bias, N(0, 0.01)), the config JSON round trip and
// overrides, the loss against a hand computation (focal normaliser over the batch, centerness
// weighting of GIoU, BCE centerness), the loss with no object, an f64 gradcheck of the loss w.r.t. the
// head outputs, decoding of a crafted head output (threshold, per-level top-k, score convention,
// class-wise NMS, clipping), the same bits for 1, 2 and 3 threads, a bf16 autocast scope, and a few Adam
// steps on one image.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "detectors/fcos/decode.h"
#include "detectors/fcos/detector.h"
#include "detectors/fcos/loss.h"
#include "detectors/fcos/model.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::fcos;

namespace {
// 64x64 inputs: P3 8x8, P4 4x4, P5 2x2 = 84 points.
FcosConfig tiny_config(int64_t classes = 3) {
  FcosConfig c = FcosConfig::cpu(classes);
  c.width_mult = 0.125;  // ResNet widths 8, 16, 32, 64
  c.fpn_channels = 16;
  c.gn_groups = 8;
  c.head_depth = 2;
  return c;
}

bool has_key(const nn::StateDict& sd, const std::string& k) {
  for (auto& [name, t] : sd)
    if (name == k) return true;
  return false;
}

double logit(double p) { return std::log(p / (1 - p)); }

// One 32x32 image, one level of stride 8 (4x4 points at (4 + 8i, 4 + 8j): official half-stride offset),
// no centre sampling, range [-1, inf]. Box (4, 4, 20, 26) label 1 contains the points (12, 12) = p5
// and (12, 20) = p9 only (x = 4 and y = 4 are on its border, (12, 28) below it).
//   p5: l = 8, t = 8, r = 8, b = 14 -> ctr = sqrt(8/8 * 8/14) = 0.755929
//   p9: l = 8, t = 16, r = 8, b = 6  -> ctr = sqrt(8/8 * 6/16) = 0.612372
FcosAssignOptions one_level_options() {
  FcosConfig c;  // the config's assignment: half-stride points, inclusive ranges
  c.center_sampling = false;
  FcosAssignOptions o = c.assign_options(32, 32);
  o.strides = {8};
  return o;
}
}  // namespace

TEST_CASE("fcos_model: shapes per level, state_dict names, parameter count, head init") {
  Generator gen(1);
  FcosDetector net(tiny_config(), gen);
  FcosHeadOutput o = net.forward_heads(randn({2, 3, 64, 64}, gen));
  REQUIRE(o.level_cls.size() == 3);
  const int64_t side[3] = {8, 4, 2};
  for (size_t l = 0; l < 3; ++l) {
    CHECK(o.level_cls[l].shape() == Shape{2, 3, side[l], side[l]});
    CHECK(o.level_box[l].shape() == Shape{2, 4, side[l], side[l]});
    CHECK(o.level_ctr[l].shape() == Shape{2, 1, side[l], side[l]});
  }
  CHECK(o.level_sizes == std::vector<int64_t>{64, 16, 4});
  CHECK(o.cls.shape() == Shape{2, 3, 84});
  CHECK(o.box.shape() == Shape{2, 4, 84});
  CHECK(o.ctr.shape() == Shape{2, 84});
  // Flattening: level 1's cell (y=1, x=2) of image 1, class 2 sits at point 64 + 1*4 + 2 = 70.
  CHECK(o.cls.at((1 * 3 + 2) * 84 + 70) == o.level_cls[1].at(((1 * 3 + 2) * 4 + 1) * 4 + 2));
  CHECK(o.box.at((1 * 4 + 3) * 84 + 70) == o.level_box[1].at(((1 * 4 + 3) * 4 + 1) * 4 + 2));
  const std::vector<double> bv = o.box.to_vector();
  CHECK(*std::min_element(bv.begin(), bv.end()) >= 0.0);  // ReLU(s x) * stride

  nn::StateDict sd = net.state_dict();
  for (const char* k :
       {"backbone.conv1.weight", "backbone.layer4.1.bn2.running_var", "fpn.inner_blocks.0.0.weight",
        "fpn.layer_blocks.2.0.bias", "head.cls_tower.0.weight", "head.cls_tower.1.weight", "head.cls_tower.4.bias",
        "head.bbox_tower.3.weight", "head.bbox_tower.4.weight", "head.cls_logits.bias", "head.bbox_pred.weight",
        "head.centerness.weight", "head.scales.0.scale", "head.scales.2.scale"})
    CHECK_MESSAGE(has_key(sd, k), k);
  for (const char* k :
       {"backbone.fc.weight", "fpn.extra_blocks.p6.weight", "head.cls_tower.6.weight", "head.scales.3.scale"})
    CHECK_MESSAGE(!has_key(sd, k), k);

  // Parameter count: the formula against the module, for several configs.
  CHECK(net.num_parameters() == fcos_num_parameters(net.cfg));
  FcosConfig p37 = tiny_config(4);
  p37.last_level = 7;
  p37.head_depth = 1;
  p37.centerness_on_reg = false;
  p37.norm_on_bbox = false;
  FcosDetector net37(p37, gen);
  CHECK(net37.num_parameters() == fcos_num_parameters(p37));
  CHECK(has_key(net37.state_dict(), "fpn.extra_blocks.p7.bias"));
  CHECK(has_key(net37.state_dict(), "head.scales.4.scale"));
  FcosHeadOutput o37 = net37.forward_heads(randn({1, 3, 64, 64}, gen));
  CHECK(o37.level_sizes == std::vector<int64_t>{64, 16, 4, 1, 1});  // P6, P7: 1x1
  const std::vector<double> bv37 = o37.box.to_vector();
  CHECK(*std::min_element(bv37.begin(), bv37.end()) > 0.0);  // exp(s x)
  // The paper's network at full width by hand: ResNet-18 without fc 11,689,512 - 513,000;
  // FPN C3..C5 (128 + 256 + 512) * 256 + 3 * 256 laterals, 5 x (9 * 256^2 + 256) outputs (P3-P7);
  // two towers of 4 x (9 * 256^2 + 256 conv + 512 GN); predictors 9*256*80+80, 9*256*4+4, 9*256+1; 5 scales.
  FcosConfig full;
  const int64_t conv256 = 9 * 256 * 256 + 256;
  const int64_t expect = 11689512 - 513000 + (896 * 256 + 3 * 256) + 5 * conv256 + 8 * (conv256 + 512) +
                         (9 * 256 * 80 + 80) + (9 * 256 * 4 + 4) + (9 * 256 + 1) + 5;
  CHECK(fcos_num_parameters(full) == expect);

  // Head init: cls bias = -log(0.99/0.01) = -4.59512; tower/predictor weights N(0, 0.01), biases 0.
  for (double b : net.head->cls_logits->bias.to_vector()) CHECK(b == doctest::Approx(-4.5951198501).epsilon(1e-6));
  for (double b : net.head->bbox_pred->bias.to_vector()) CHECK(b == 0.0);
  auto& conv0 = static_cast<nn::Conv2d&>((*net.head->cls_tower)[0]);
  double s2 = 0;
  for (double w : conv0.weight.to_vector()) s2 += w * w;
  const double std_w = std::sqrt(s2 / double(conv0.weight.numel()));  // 2304 draws: +-1.5% (1 sigma)
  CHECK(std_w == doctest::Approx(0.01).epsilon(0.08));
  for (double b : conv0.bias.to_vector()) CHECK(b == 0.0);
  for (double s : net.head->named_parameters().back().second.to_vector()) CHECK(s == 1.0);  // last scale

  CHECK_THROWS_WITH_PART(net.forward_heads(zeros({1, 3, 60, 64})), "multiples of 32");
  FcosConfig bad = tiny_config();
  bad.gn_groups = 32;  // 16 channels
  CHECK_THROWS_WITH_PART(FcosDetector(bad, gen), "divisible by gn_groups");
  bad = tiny_config();
  bad.last_level = 6;
  CHECK_THROWS_WITH_PART(FcosDetector(bad, gen), "last_level");
}

TEST_CASE("fcos_model: config JSON round trip, overrides, describe") {
  Generator gen(2);
  FcosConfig c = FcosConfig::cpu(10);
  CHECK(FcosConfig::from_json(c.to_json()).to_json() == c.to_json());
  FcosConfig d = tiny_config(5);
  d.last_level = 7;
  d.score_sqrt = false;
  d.box_loss_weighting = "none";
  d.center_radius = 2.5;
  d.half_stride_offset = false;
  const nlohmann::json dj = d.to_json();
  CHECK(dj != c.to_json());
  CHECK(FcosConfig::from_json(dj).to_json() == dj);
  CHECK(FcosConfig::from_json(dj).center_radius == 2.5);
  // The assignment fields reach the options handed to fcos_targets; targets stay in pixels.
  const FcosAssignOptions av = d.assign_options(64, 96), ac = c.assign_options(64, 96);
  CHECK(!av.half_stride_offset);
  CHECK(ac.half_stride_offset);
  CHECK(av.center_radius == 2.5);
  CHECK(ac.center_radius == 1.5);
  CHECK(ac.range_inclusive);
  CHECK(ac.center_sampling);
  CHECK(!ac.norm_on_bbox);
  CHECK(av.image_h == 64);
  CHECK(av.image_w == 96);
  CHECK(av.strides == d.strides());
  CHECK(d.strides() == std::vector<int64_t>{8, 16, 32, 64, 128});

  nlohmann::json missing = dj;
  missing.erase("gn_groups");
  CHECK_THROWS_WITH_PART(FcosConfig::from_json(missing), "'gn_groups' is missing");
  nlohmann::json extra = dj;
  extra["anchors"] = 9;
  CHECK_THROWS_WITH_PART(FcosConfig::from_json(extra), "unknown config field 'anchors'");
  nlohmann::json badw = dj;
  badw["box_loss_weighting"] = "iou";
  CHECK_THROWS_WITH_PART(FcosConfig::from_json(badw), "box_loss_weighting");

  auto det = make_fcos_detector(10, {{"fpn_channels", 16}, {"gn_groups", 8}, {"width_mult", 0.125}}, gen);
  CHECK(det->kind() == "fcos");
  CHECK(det->num_classes() == 10);
  CHECK(det->config_json()["fpn_channels"] == 16);
  CHECK(det->config_json()["head_depth"] == 4);  // the CPU default kept
  CHECK(det->loss_names() == std::vector<std::string>{"cls", "box", "ctr"});
  CHECK(det->size_divisor() == 32);
  CHECK(det->describe() == "FCOS, ResNet-18 x0.125 + FPN P3-P5 x16, head 4 x 16 (GN 8), " + [&] {
    std::string s = std::to_string(det->num_parameters()), out;
    for (size_t i = 0; i < s.size(); ++i) {
      if (i > 0 && (s.size() - i) % 3 == 0) out += ',';
      out += s[i];
    }
    return out;
  }() + " parameters");
  // Rebuilt from its config: the same network (a strict load succeeds), the same description.
  auto again = make_fcos_detector_from_config(det->config_json(), gen);
  again->load_state_dict(det->state_dict());
  CHECK(again->describe() == det->describe());
  det::InferenceOptions io = det->default_inference();
  CHECK(io.score_threshold == 0.05);
  CHECK(io.topk_candidates == 1000);
  CHECK(io.max_detections == 100);
  CHECK(io.nms.kind == det::PostNms::hard);
  CHECK(io.nms.iou == 0.6);

  CHECK_THROWS_WITH_PART(make_fcos_detector(10, {{"fpn_width", 32}}, gen), "unknown model option 'fpn_width'");
  CHECK_THROWS_WITH_PART(make_fcos_detector(10, {{"norm_on_bbox", 3}}, gen), "norm_on_bbox");
  CHECK_THROWS_WITH_PART(make_fcos_detector(10, {{"fpn_channels", 48}}, gen), "divisible");
}

TEST_CASE("fcos_model: targets and loss parts by hand") {
  // Two images: image 0 has the box of one_level_options (label 1), image 1 none. K = 2, P = 16.
  FcosBatchTargets t = fcos_batch_targets({{{4, 4, 20, 26}}, {}}, {{1}, {}}, 2, one_level_options(), DType::f64);
  REQUIRE(t.num_pos == 2);
  CHECK(t.pos_index.to_vector() == std::vector<double>{5, 9});
  CHECK(t.pos_label == std::vector<int64_t>{1, 1});
  CHECK(t.pos_box.to_vector() == std::vector<double>{8, 8, 8, 14, 8, 16, 8, 6});
  const double c5 = std::sqrt(8.0 / 14.0), c9 = std::sqrt(6.0 / 16.0);
  CHECK(t.pos_ctr.at(0) == doctest::Approx(c5).epsilon(1e-12));
  CHECK(t.pos_ctr.at(1) == doctest::Approx(c9).epsilon(1e-12));
  CHECK(t.onehot.shape() == Shape{2, 2, 16});
  double ones = 0;
  for (double v : t.onehot.to_vector()) ones += v;
  CHECK(ones == 2);
  CHECK(t.onehot.at((0 * 2 + 1) * 16 + 5) == 1);
  CHECK(t.onehot.at((0 * 2 + 1) * 16 + 9) == 1);

  // Predictions: every cls logit 0 (p = 1/2); box exact at p5, smaller at p9: (4, 8, 4, 3) is the box
  // (-4,-8,4,3) inside the target (-8,-16,8,6): I = 8*11 = 88, U = C = 16*22 = 352 -> GIoU loss 0.75.
  // ctr logits 1 at p5, 0 at p9. Negatives' box/ctr values must not matter (set to junk).
  Tensor cls = zeros({2, 2, 16}, DType::f64);
  Tensor box = full({2, 4, 16}, 3.0, DType::f64);
  Tensor ctr = full({2, 16}, -7.0, DType::f64);
  const double pb5[4] = {8, 8, 8, 14}, pb9[4] = {4, 8, 4, 3};
  for (int j = 0; j < 4; ++j) {
    box.data<double>()[j * 16 + 5] = pb5[j];
    box.data<double>()[j * 16 + 9] = pb9[j];
  }
  ctr.data<double>()[5] = 1.0;
  ctr.data<double>()[9] = 0.0;
  FcosLoss L = fcos_loss(cls, box, ctr, t);
  // Focal at p = 1/2: BCE = ln 2, (1 - p_t)^2 = 1/4, alpha_t 0.25 (2 positives) or 0.75 (62 negatives
  // over both images), divided by the batch's 2 positives (a per-image normaliser would differ).
  const double ln2 = std::log(2.0);
  CHECK(L.cls.item() == doctest::Approx(ln2 * 0.25 * (2 * 0.25 + 62 * 0.75) / 2).epsilon(1e-12));
  // GIoU weighted by the centerness targets: (c5 * 0 + c9 * 0.75) / (c5 + c9).
  CHECK(L.box.item() == doctest::Approx(c9 * 0.75 / (c5 + c9)).epsilon(1e-9));
  // BCE(x, y) = log(1 + e^x) - x y: (log(1 + e) - c5) + ln 2, over 2 positives.
  CHECK(L.ctr.item() == doctest::Approx((std::log(1 + std::exp(1.0)) - c5 + ln2) / 2).epsilon(1e-12));
  CHECK(L.total.item() == doctest::Approx(L.cls.item() + L.box.item() + L.ctr.item()).epsilon(1e-12));
  // torchvision's weighting: the plain mean over positives.
  FcosLossOptions none;
  none.box_weighting = "none";
  CHECK(fcos_loss(cls, box, ctr, t, none).box.item() == doctest::Approx(0.75 / 2).epsilon(1e-9));

  CHECK_THROWS_WITH_PART(fcos_loss(cls, zeros({2, 4, 15}, DType::f64), ctr, t), "box must be [N, 4, P]");
  CHECK_THROWS_WITH_PART(fcos_loss(cls.to(DType::f32), box.to(DType::f32), ctr.to(DType::f32), t), "dtype");
  CHECK_THROWS_WITH_PART(fcos_batch_targets({{{4, 4, 20, 26}}}, {{2}}, 2, one_level_options()), "label 2");
}

TEST_CASE("fcos_model: loss with no object anywhere is finite, box and ctr exactly 0") {
  FcosBatchTargets t = fcos_batch_targets({{}, {}}, {{}, {}}, 2, one_level_options(), DType::f64);
  CHECK(t.num_pos == 0);
  Generator gen(4);
  Tensor cls = randn({2, 2, 16}, gen, DType::f64).set_requires_grad(true);
  Tensor box = abs(randn({2, 4, 16}, gen, DType::f64)).set_requires_grad(true);
  Tensor ctr = randn({2, 16}, gen, DType::f64).set_requires_grad(true);
  FcosLoss L = fcos_loss(cls, box, ctr, t);
  CHECK(L.box.item() == 0.0);
  CHECK(L.ctr.item() == 0.0);
  CHECK(std::isfinite(L.cls.item()));
  CHECK(L.cls.item() > 0);
  L.total.backward();
  REQUIRE(box.grad().defined());
  for (double g : box.grad().to_vector()) REQUIRE(g == 0.0);
  for (double g : cls.grad().to_vector()) REQUIRE(std::isfinite(g));

  // Through the detector: an empty batch and a batch with boxes, both finite and > 0.
  FcosDetector net(tiny_config(2), gen);
  data::Batch b;
  b.images = randn({2, 3, 64, 64}, gen);
  b.boxes = {{}, {}};
  b.labels = {{}, {}};
  det::LossReport r = net.loss(b);
  CHECK(std::isfinite(r.total.item()));
  CHECK(r.total.item() > 0);
  REQUIRE(r.parts.size() == 3);
  CHECK(r.parts[1].first == "box");
  CHECK(r.parts[1].second.item() == 0.0);
  r.total.backward();
  int64_t with_grad = 0, non_finite = 0;
  for (auto& [name, p] : net.named_parameters())
    if (p.grad().defined()) {
      ++with_grad;
      for (double g : p.grad().to_vector()) non_finite += !std::isfinite(g);
    }
  CHECK(with_grad == (int64_t)net.parameters().size());
  CHECK(non_finite == 0);
  b.boxes = {{{8, 8, 40, 36}}, {{30, 34, 60, 60}, {2, 2, 20, 24}}};
  b.labels = {{0}, {1, 0}};
  r = net.loss(b);
  CHECK(std::isfinite(r.total.item()));
  for (auto& [name, part] : r.parts) CHECK_MESSAGE(part.item() > 0, name);
}

TEST_CASE("fcos_model: loss gradcheck (f64) w.r.t. the head outputs") {
  Generator gen(7);
  // Image 0: the hand case's box; image 1: two overlapping boxes of both classes.
  FcosBatchTargets t = fcos_batch_targets({{{4, 4, 20, 26}}, {{2, 6, 30, 22}, {10, 3, 27, 29}}}, {{1}, {0, 1}}, 2,
                                          one_level_options(), DType::f64);
  REQUIRE(t.num_pos >= 4);
  std::vector<Tensor> xs = {randn({2, 2, 16}, gen, DType::f64).set_requires_grad(true),
                            add(mul(abs(randn({2, 4, 16}, gen, DType::f64)), 6.0), 1.0).set_requires_grad(true),
                            randn({2, 16}, gen, DType::f64).set_requires_grad(true)};
  for (const char* w : {"centerness", "none"}) {
    FcosLossOptions o;
    o.box_weighting = w;
    auto f = [&](const std::vector<Tensor>& v) {
      FcosLoss l = fcos_loss(v[0], v[1], v[2], t, o);
      return std::vector<Tensor>{l.total, l.cls, l.box, l.ctr};
    };
    CAPTURE(w);
    check_grad("fcos_loss", f, xs);
  }
}

TEST_CASE("fcos_model: decode a crafted head output") {
  // Two levels on a 32x32 input, half-stride points: level 0 (stride 8) 4x4 points at 4 + 8i,
  // level 1 (stride 16) 2x2 points at 8 + 16i. K = 3. Every cls logit -10 except:
  //   p5  (12,12) class 2: cls 0.9, ctr 0.4 -> sqrt 0.6;  ltrb (3,4,5,6)   -> box (9, 8, 17, 18)
  //   p6  (20,12) class 2: cls 0.7, ctr 0.4 -> 0.529;      ltrb (10,4,0,6)  -> (10, 8, 20, 18): IoU with
  //       p5's box = 70 / 110 = 0.636 > 0.6 -> suppressed by class-wise NMS
  //   p10 (20,20) class 1: cls 0.5, ctr 0.5 -> 0.5;        ltrb (11,12,0,0) -> (9, 8, 20, 20): kept (other class)
  //   p3  (28, 4) class 0: cls 0.04 (below 0.05), ctr 1 -> dropped although sqrt(0.04) = 0.2 > 0.05
  //   p16 (8, 8) level 1, class 0: cls 0.8, ctr 0.8 -> 0.8; ltrb (20,1,2,50) -> (-12,7,10,58) clipped (0,7,10,32)
  FcosAssignOptions ao;
  ao.image_h = ao.image_w = 32;
  ao.strides = {8, 16};
  ao.half_stride_offset = true;  // FcosConfig's default
  std::vector<int64_t> sizes;
  Tensor points = fcos_points(ao, DType::f64, &sizes);
  REQUIRE(sizes == std::vector<int64_t>{16, 4});
  const int64_t K = 3, P = 20;
  Tensor cls = full({1, K, P}, -10.0, DType::f32);
  Tensor box = ones({1, 4, P}, DType::f32);
  Tensor ctr = zeros({1, P}, DType::f32);
  auto set = [&](int64_t p, int64_t k, double pc, double pz, std::array<double, 4> ltrb) {
    cls.data<float>()[k * P + p] = (float)logit(pc);
    ctr.data<float>()[p] = (float)logit(pz);
    for (int j = 0; j < 4; ++j) box.data<float>()[j * P + p] = (float)ltrb[(size_t)j];
  };
  set(5, 2, 0.9, 0.4, {3, 4, 5, 6});
  set(6, 2, 0.7, 0.4, {10, 4, 0, 6});
  set(10, 1, 0.5, 0.5, {11, 12, 0, 0});
  set(3, 0, 0.04, 1 - 1e-6, {1, 1, 1, 1});
  set(16, 0, 0.8, 0.8, {20, 1, 2, 50});
  det::InferenceOptions opt;  // FcosDetector::default_inference(): 0.05, 1000, 100, hard NMS 0.6
  opt.nms.kind = det::PostNms::hard;
  opt.nms.iou = 0.6;

  std::vector<det::Detections> d = fcos_decode(cls, box, ctr, points, sizes, 32, 32, opt, true);
  REQUIRE(d.size() == 1);
  REQUIRE(d[0].size() == 3);
  const std::vector<double> scores = d[0].scores.to_vector();
  CHECK(scores[0] == doctest::Approx(0.8).epsilon(1e-5));
  CHECK(scores[1] == doctest::Approx(0.6).epsilon(1e-5));
  CHECK(scores[2] == doctest::Approx(0.5).epsilon(1e-5));
  CHECK(d[0].labels.to_vector() == std::vector<double>{0, 2, 1});
  const std::vector<double> b = d[0].boxes.to_vector();
  const std::vector<double> expect = {0, 7, 10, 32, 9, 8, 17, 18, 9, 8, 20, 20};
  for (size_t i = 0; i < expect.size(); ++i) CHECK(b[i] == doctest::Approx(expect[i]).epsilon(1e-5));

  // mmdet's score cls * ctr: 0.64, 0.36, 0.25 (same order).
  std::vector<det::Detections> m = fcos_decode(cls, box, ctr, points, sizes, 32, 32, opt, false);
  REQUIRE(m[0].size() == 3);
  CHECK(m[0].scores.at(1) == doctest::Approx(0.36).epsilon(1e-5));
  // Without NMS p6 survives (4 boxes); top-1 per level keeps p5 and p16; max_detections 1 keeps p16.
  det::InferenceOptions raw = opt;
  raw.nms.kind = det::PostNms::none;
  CHECK(fcos_decode(cls, box, ctr, points, sizes, 32, 32, raw, true)[0].size() == 4);
  det::InferenceOptions top1 = opt;
  top1.topk_candidates = 1;
  std::vector<det::Detections> t1 = fcos_decode(cls, box, ctr, points, sizes, 32, 32, top1, true);
  REQUIRE(t1[0].size() == 2);
  CHECK(t1[0].labels.to_vector() == std::vector<double>{0, 2});
  det::InferenceOptions one = opt;
  one.max_detections = 1;
  CHECK(fcos_decode(cls, box, ctr, points, sizes, 32, 32, one, true)[0].size() == 1);
  CHECK_THROWS_WITH_PART(fcos_decode(cls, box, ctr, points, {16, 5}, 32, 32, opt, true), "level sizes");
}

TEST_CASE("fcos_model: detect on a tiny network returns clipped, sorted boxes") {
  Generator gen(5);
  FcosDetector net(tiny_config(2), gen);
  net.eval();
  det::InferenceOptions o = net.default_inference();
  o.score_threshold = 0.0;  // the untrained prior (0.01) passes
  std::vector<det::Detections> d = net.detect(randn({2, 3, 64, 64}, gen), o);
  REQUIRE(d.size() == 2);
  for (const det::Detections& x : d) {
    CHECK(x.size() > 0);
    CHECK(x.size() <= 100);
    const std::vector<double> s = x.scores.to_vector(), b = x.boxes.to_vector();
    CHECK(std::is_sorted(s.rbegin(), s.rend()));
    CHECK(*std::min_element(b.begin(), b.end()) >= 0.0);
    CHECK(*std::max_element(b.begin(), b.end()) <= 64.0);
  }
  // The default threshold 0.05 is above the prior 0.01: nothing from an untrained head.
  CHECK(net.detect(randn({1, 3, 64, 64}, gen), net.default_inference())[0].size() == 0);
}

TEST_CASE("fcos_model: loss and detections are the same bits for 1, 2 and 3 threads") {
  same_bits_for_threads([] {
    Generator gen(9);
    FcosDetector net(tiny_config(2), gen);
    data::Batch b;
    b.images = randn({2, 3, 64, 64}, gen);
    b.boxes = {{{8, 8, 40, 36}}, {{30, 34, 60, 60}}};
    b.labels = {{0}, {1}};
    det::LossReport r = net.loss(b);
    r.total.backward();
    det::InferenceOptions o = net.default_inference();
    o.score_threshold = 0.0;
    std::vector<det::Detections> d = net.detect(b.images, o);
    return std::vector<std::pair<std::string, Tensor>>{{"loss", r.total},
                                                       {"grad cls_logits.weight", net.head->cls_logits->weight.grad()},
                                                       {"image 0 boxes", d[0].boxes},
                                                       {"image 0 scores", d[0].scores},
                                                       {"image 1 boxes", d[1].boxes}};
  });
}

TEST_CASE("fcos_model: loss and detect inside a bf16 autocast scope") {
  Generator gen(11);
  FcosDetector net(tiny_config(2), gen);
  data::Batch b;
  b.images = randn({1, 3, 64, 64}, gen);
  b.boxes = {{{8, 8, 40, 36}, {30, 34, 60, 60}}};
  b.labels = {{0, 1}};
  const double f32_total = net.loss(b).total.item();
  det::LossReport r;
  {
    amp::Autocast ac(DType::bf16);
    r = net.loss(b);  // the bf16 box output times the f32 per-level Scale promotes to f32
  }
  CHECK(r.total.dtype() == DType::f32);
  CHECK(r.total.item() == doctest::Approx(f32_total).epsilon(0.05));
  r.total.backward();
  CHECK(net.head->scales->named_parameters().front().second.grad().defined());
  amp::Autocast ac(DType::bf16);
  det::InferenceOptions o = net.default_inference();
  o.score_threshold = 0.0;
  CHECK(net.detect(b.images, o)[0].size() > 0);
}

TEST_CASE("fcos_model: a few Adam steps on one image reduce the loss") {
  Generator gen(3);
  FcosDetector net(tiny_config(2), gen);
  data::Batch b;
  b.images = randn({1, 3, 64, 64}, gen);
  b.boxes = {{{8, 8, 40, 36}, {30, 34, 60, 60}}};
  b.labels = {{0, 1}};
  optim::AdamOptions ao;
  ao.lr = 5e-3;
  optim::Adam adam(net.parameters(), ao);
  double first = 0, last = 0;
  for (int step = 0; step < 8; ++step) {
    det::LossReport r = net.loss(b);
    if (step == 0) first = r.total.item();
    last = r.total.item();
    adam.zero_grad();
    r.total.backward();
    adam.step();
  }
  CAPTURE(first);
  CAPTURE(last);
  CHECK(std::isfinite(last));
  CHECK(last < 0.65 * first);  // 2.82 -> 1.38 when written
}
