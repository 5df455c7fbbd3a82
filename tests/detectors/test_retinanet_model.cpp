// RetinaNet model / loss / decode / Detector (detectors/retinanet/{model,loss,decode,detector}):
// shapes per level and state_dict names of a tiny network, the parameter formula, the head init, the
// flattening order, the fused focal sum against torchvision's formula, the loss parts by hand
// (normalisers, ignored anchors), an f64 gradcheck of the loss w.r.t. the head outputs, decoding of a
// crafted head output, the Detector (loss with and without boxes, detect, determinism over threads,
// overrides, config round trip, explain), and a few Adam steps.
#include <doctest/doctest.h>

#include <cmath>
#include <functional>

#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/ops.h"
#include "autograd/optim/adam.h"
#include "detectors/focal_loss.h"
#include "detectors/retinanet/decode.h"
#include "detectors/retinanet/detector.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::retinanet;

namespace {
// ResNet widths 8, 16, 32, 64; FPN 16; head 2 x 16; 9 anchors.
RetinaNetConfig tiny_config(int64_t classes = 3) {
  RetinaNetConfig c = RetinaNetConfig::cpu(classes);
  c.width_mult = 0.125;
  c.fpn_channels = 16;
  c.head_depth = 2;
  return c;
}

// 1234567 -> "1,234,567"
std::string with_commas(int64_t v) {
  const std::string s = std::to_string(v);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i > 0 && (s.size() - i) % 3 == 0) out.push_back(',');
    out.push_back(s[i]);
  }
  return out;
}

bool has_key(const nn::StateDict& sd, const std::string& k) {
  for (auto& [name, t] : sd)
    if (name == k) return true;
  return false;
}

// One image of batch data: boxes (x1,y1,x2,y2 per row) and labels.
data::Batch make_batch(const Tensor& images, const std::vector<std::vector<data::Box>>& boxes,
                       const std::vector<std::vector<int>>& labels) {
  data::Batch b;
  b.images = images;
  b.boxes = boxes;
  b.labels = labels;
  return b;
}

// The hand case of the loss tests: 4 anchors, one box (0,0,10,10) of class 1 in image 0, image 1 empty.
//   a0 (0,0,10,10)  IoU 1      positive        a1 (0,0,10,22)  IoU 100/220 = 0.45  ignored
//   a2 (20,20,30,30) IoU 0     background      a3 (5,0,15,10)  IoU 50/150 = 0.33   background
Tensor hand_anchors(DType dt) {
  return from_vector({0, 0, 10, 10, 0, 0, 10, 22, 20, 20, 30, 30, 5, 0, 15, 10}, {4, 4}, dt);
}
RetinaNetTargets hand_targets(DType dt) {
  return retinanet_targets(hand_anchors(dt), {from_vector({0, 0, 10, 10}, {1, 4}, dt), zeros({0, 4}, dt)}, {{1}, {}},
                           2);
}
}  // namespace

TEST_CASE("retinanet model: shapes per level, state_dict names, parameter count, head init") {
  Generator gen(1);
  RetinaNetDetector net(tiny_config(), gen);
  RetinaNetOutput o = net.forward_heads(randn({2, 3, 64, 96}, gen));
  REQUIRE(o.cls.size() == 3);
  REQUIRE(o.box.size() == 3);
  const Shape grids[3] = {{8, 12}, {4, 6}, {2, 3}};  // P3, P4, P5 of 64x96
  for (size_t l = 0; l < 3; ++l) {
    CHECK(o.cls[l].shape() == Shape{2, 9 * 3, grids[l][0], grids[l][1]});
    CHECK(o.box[l].shape() == Shape{2, 9 * 4, grids[l][0], grids[l][1]});
  }
  // Anchors: sum_l H_l W_l * 9 = (96 + 24 + 6) * 9
  AnchorSet s = net.anchors(64, 96);
  CHECK(s.anchors.shape() == Shape{1134, 4});
  CHECK(s.level_sizes == std::vector<int64_t>{864, 216, 54});
  CHECK(flatten_head_outputs(o.cls, 3).shape() == Shape{2, 1134, 3});

  // Parameter formula against the modules, on several configs.
  CHECK(net.num_parameters() == retinanet_num_parameters(net.cfg));
  RetinaNetConfig gn = tiny_config(2);
  gn.head_norm = "gn";
  gn.head_gn_groups = 8;
  gn.last_level = 7;
  gn.first_level = 4;
  RetinaNetConfig cpu = RetinaNetConfig::cpu(10);
  for (const RetinaNetConfig& c : {gn, cpu})
    CHECK(RetinaNetDetector(c, gen).num_parameters() == retinanet_num_parameters(c));
  // The paper's network (width 1, P3-P7 x256, 80 classes) by hand: ResNet-18 without fc 11,176,512;
  // FPN laterals 128*256 + 256*256 + 512*256 + 3*256 = 230,144, outputs 3 (9*256^2 + 256) = 1,770,240,
  // P6/P7 2 * 590,080 = 1,180,160; towers 2*4*590,080 = 4,720,640; cls_logits 9*256*720 + 720 =
  // 1,659,600; bbox_reg 9*256*36 + 36 = 82,980. Total 20,820,276.
  RetinaNetConfig paper;
  CHECK(retinanet_num_parameters(paper) == 20820276);

  // Head init: cls bias -log(0.99/0.01), bbox bias 0, tower biases 0, weights N(0, 0.01).
  for (double b : net.head->classification_head->last->bias.to_vector())
    CHECK(b == doctest::Approx(-4.59511985).epsilon(1e-7));
  for (double b : net.head->regression_head->last->bias.to_vector()) CHECK(b == 0.0);
  double ss = 0;
  const std::vector<double> w = net.head->classification_head->last->weight.to_vector();
  for (double v : w) ss += v * v;
  CHECK(std::sqrt(ss / double(w.size())) == doctest::Approx(0.01).epsilon(0.05));

  const nn::StateDict sd = net.state_dict();
  for (const char* k : {"backbone.conv1.weight", "backbone.layer4.1.bn2.running_var", "fpn.inner_blocks.0.0.weight",
                        "fpn.layer_blocks.2.0.bias", "head.classification_head.conv.0.0.weight",
                        "head.classification_head.conv.1.0.bias", "head.classification_head.cls_logits.weight",
                        "head.regression_head.conv.1.0.weight", "head.regression_head.bbox_reg.bias"})
    CHECK_MESSAGE(has_key(sd, k), k);
  CHECK(!has_key(sd, "backbone.fc.weight"));
  CHECK(!has_key(sd, "fpn.extra_blocks.p6.weight"));
  const nn::StateDict sd_gn = RetinaNetDetector(gn, gen).state_dict();
  for (const char* k : {"head.classification_head.conv.0.1.weight", "head.regression_head.conv.1.1.bias",
                        "fpn.extra_blocks.p6.weight", "fpn.extra_blocks.p7.bias", "fpn.inner_blocks.1.0.weight"})
    CHECK_MESSAGE(has_key(sd_gn, k), k);
  CHECK(!has_key(sd_gn, "head.classification_head.conv.0.0.bias"));  // no conv bias before a GroupNorm
  CHECK(!has_key(sd_gn, "fpn.inner_blocks.2.0.weight"));             // C4, C5 only
  {
    // P4-P7 on 96x64: grids 6x4, 3x2, 2x1 (P6 from P5), 1x1 -- the anchors' ceil(H/s) x ceil(W/s).
    RetinaNetDetector p7(gn, gen);
    RetinaNetOutput o7 = p7.forward_heads(randn({1, 3, 96, 64}, gen));
    REQUIRE(o7.cls.size() == 4);
    const Shape g7[4] = {{6, 4}, {3, 2}, {2, 1}, {1, 1}};
    for (size_t l = 0; l < 4; ++l) CHECK(o7.cls[l].shape() == Shape{1, 9 * 2, g7[l][0], g7[l][1]});
    CHECK(p7.anchors(96, 64).level_sizes == std::vector<int64_t>{216, 54, 18, 9});
    data::Batch b7;
    b7.images = randn({1, 3, 96, 64}, gen);
    b7.boxes = {{{4, 10, 60, 90}}};
    b7.labels = {{1}};
    CHECK(std::isfinite(p7.loss(b7).total.item()));
  }

  CHECK(net.describe() == "RetinaNet, ResNet-18 x0.125 + FPN P3-P5 x16, head 2 x 16, 9 anchors, " +
                              with_commas(net.num_parameters()) + " parameters");
  CHECK_THROWS_WITH_PART(net.forward_heads(zeros({1, 3, 60, 64})), "multiples of 32");
}

TEST_CASE("retinanet model: flatten order matches the anchors (torchvision's permute)") {
  // One level, N=1, A=2, K=3, H=1, W=2: value 100 a + 10 k + x at [0, a*K + k, 0, x].
  std::vector<double> v;
  for (int a = 0; a < 2; ++a)
    for (int k = 0; k < 3; ++k)
      for (int x = 0; x < 2; ++x) v.push_back(100 * a + 10 * k + x);
  Tensor f = flatten_head_outputs({from_vector(v, {1, 6, 1, 2})}, 3);
  REQUIRE(f.shape() == Shape{1, 4, 3});
  // anchor index (y*W + x)*A + a
  for (int x = 0; x < 2; ++x)
    for (int a = 0; a < 2; ++a)
      for (int k = 0; k < 3; ++k) CHECK(f.at((x * 2 + a) * 3 + k) == 100 * a + 10 * k + x);
  CHECK_THROWS_WITH_PART(flatten_head_outputs({zeros({1, 5, 2, 2})}, 3), "[N, A*3, H, W]");
}

TEST_CASE("retinanet model: fused focal sum equals torchvision's sigmoid_focal_loss, forward and gradient") {
  // By hand at x = 0 (p = 1/2): FL = alpha_t * (1/2)^2 * log 2: 0.25*0.25*ln2 (positive), 0.75*0.25*ln2 (negative).
  {
    Tensor x = zeros({1, 1, 2}, DType::f64);
    Tensor lab = from_vector({1}, {1, 1}, DType::i64);
    CHECK(retinanet_focal_sum(x, lab, {1.0}).item() ==
          doctest::Approx((0.0625 + 0.1875) * std::log(2.0)).epsilon(1e-12));
  }
  // Random case with weights, ignored rows and both alpha modes, against the composition.
  Generator gen(5);
  for (double alpha : {0.25, -1.0}) {
    for (double gamma : {2.0, 1.5, 0.0}) {
      CAPTURE(alpha);
      CAPTURE(gamma);
      Tensor x = mul(randn({2, 3, 4}, gen, DType::f64), 3.0).set_requires_grad(true);
      Tensor lab = from_vector({0, kMatchBackground, kMatchIgnore, 3, kMatchIgnore, kMatchBackground}, {2, 3},
                               DType::i64);
      const std::vector<double> w = {0.5, 0.25};
      Tensor fused = retinanet_focal_sum(x, lab, w, alpha, gamma);
      fused.backward();
      const Tensor g_fused = x.grad();
      x.zero_grad();
      // targets one-hot, weights per row: w_n for valid rows, 0 for ignored
      std::vector<double> y(24, 0.0), rw(24, 0.0);
      for (int n = 0; n < 2; ++n)
        for (int a = 0; a < 3; ++a) {
          const int64_t l = (int64_t)lab.at(n * 3 + a);
          for (int k = 0; k < 4; ++k) {
            y[(size_t)((n * 3 + a) * 4 + k)] = l == k ? 1.0 : 0.0;
            rw[(size_t)((n * 3 + a) * 4 + k)] = l == kMatchIgnore ? 0.0 : w[(size_t)n];
          }
        }
      Tensor ref = sum(mul(sigmoid_focal_loss(x, from_vector(y, {2, 3, 4}, DType::f64), alpha, gamma),
                           from_vector(rw, {2, 3, 4}, DType::f64)));
      ref.backward();
      CHECK(fused.item() == doctest::Approx(ref.item()).epsilon(1e-12));
      check_close(g_fused, x.grad(), 1e-10, "grad of the fused focal sum vs of the composed loss");
    }
  }
  CHECK_THROWS_WITH_PART(retinanet_focal_sum(zeros({1, 2, 3}), from_vector({0, 3}, {1, 2}, DType::i64), {1.0}),
                         "label 3 at image 0, anchor 1");
  CHECK_THROWS_WITH_PART(retinanet_focal_sum(zeros({1, 2, 3}), zeros({1, 2}, DType::i64), {1.0, 1.0}),
                         "2 image weights");
}

TEST_CASE("retinanet model: targets and loss parts by hand (normalisers, ignored anchors, empty image)") {
  const RetinaNetTargets t = hand_targets(DType::f64);
  CHECK(t.labels.to_vector() ==
        std::vector<double>{1, kMatchIgnore, kMatchBackground, kMatchBackground, -1, -1, -1, -1});
  CHECK(t.positives.to_vector() == std::vector<double>{0});
  CHECK(t.num_positives == std::vector<int64_t>{1, 0});
  CHECK(t.box_targets.to_vector() == std::vector<double>{0, 0, 0, 0});  // the box is its anchor

  // Zero logits: each element is ln2 * (0.0625 positive | 0.1875 negative).
  // Image 0: anchors a0 (pos class 1: 1 positive + 1 negative element), a2, a3 (4 negatives); a1
  // ignored: ln2 (0.0625 + 5 * 0.1875) = ln2, / max(1, fg = 1). Image 1: 8 negatives = 1.5 ln2, / max(1, 0).
  // Box: a0 predicts (0.1, -0.2, 0.3, 0.05) against 0: L1 0.65 / 1; image 1 nothing.
  Tensor cls = zeros({2, 4, 2}, DType::f64);
  std::vector<double> bv(32, 0.0);
  bv[0] = 0.1, bv[1] = -0.2, bv[2] = 0.3, bv[3] = 0.05;
  bv[4] = 5.0;  // a1 is ignored: its box prediction must not count
  Tensor box = from_vector(bv, {2, 4, 4}, DType::f64);
  const double ln2 = std::log(2.0);
  RetinaNetConfig cfg = RetinaNetConfig::cpu(2);
  {
    RetinaNetLoss l = retinanet_loss(cls, box, t, cfg);  // per_image: mean over the 2 images
    CHECK(l.cls.item() == doctest::Approx((ln2 + 1.5 * ln2) / 2).epsilon(1e-12));
    CHECK(l.box.item() == doctest::Approx(0.65 / 2).epsilon(1e-12));
    CHECK(l.total.item() == doctest::Approx(1.25 * ln2 + 0.325).epsilon(1e-12));
  }
  {
    cfg.focal_normalizer = "batch_fg";  // everything / max(1, 1 foreground in the batch)
    RetinaNetLoss l = retinanet_loss(cls, box, t, cfg);
    CHECK(l.cls.item() == doctest::Approx(2.5 * ln2).epsilon(1e-12));
    CHECK(l.box.item() == doctest::Approx(0.65).epsilon(1e-12));
    cfg.focal_normalizer = "per_image";
  }
  {
    // smooth L1, beta 0.5, all |d| < beta: 0.5 d^2 / beta = d^2: 0.01 + 0.04 + 0.09 + 0.0025, / 2 images
    cfg.box_loss = "smooth_l1";
    cfg.box_loss_beta = 0.5;
    CHECK(retinanet_loss(cls, box, t, cfg).box.item() == doctest::Approx(0.1425 / 2).epsilon(1e-12));
    cfg.box_loss_beta = 0.0;  // beta 0 is L1
    CHECK(retinanet_loss(cls, box, t, cfg).box.item() == doctest::Approx(0.325).epsilon(1e-12));
    cfg.box_loss = "l1";
  }
  {
    // No box anywhere: cls over all 16 elements (3 ln2 / 2 per image... = 1.5 ln2 each, mean 1.5 ln2), box exactly 0.
    const RetinaNetTargets e = retinanet_targets(hand_anchors(DType::f64),
                                                 {zeros({0, 4}, DType::f64), zeros({0, 4}, DType::f64)}, {{}, {}}, 2);
    Tensor b = box.detach().set_requires_grad(true);
    RetinaNetLoss l = retinanet_loss(cls, b, e, cfg);
    CHECK(l.cls.item() == doctest::Approx(1.5 * ln2).epsilon(1e-12));
    CHECK(l.box.item() == 0.0);
    l.total.backward();
    REQUIRE(b.grad().defined());
    for (double g : b.grad().to_vector()) CHECK(g == 0.0);
  }
  // A degenerate box is dropped (no positives, no error); bad labels and NaN boxes are errors.
  CHECK(retinanet_targets(hand_anchors(DType::f32), {from_vector({5, 5, 5, 9}, {1, 4})}, {{0}}, 2).num_positives ==
        std::vector<int64_t>{0});
  CHECK_THROWS_WITH_PART(retinanet_targets(hand_anchors(DType::f32), {from_vector({0, 0, 10, 10}, {1, 4})}, {{2}}, 2),
                         "label 2 of box 0 in image 0 is outside 0..1");
  CHECK_THROWS_WITH_PART(retinanet_targets(hand_anchors(DType::f32), {from_vector({0, NAN, 10, 10}, {1, 4})}, {{0}}, 2),
                         "non-finite");
  CHECK_THROWS_WITH_PART(retinanet_loss(zeros({2, 3, 2}), zeros({2, 3, 4}), hand_targets(DType::f32), cfg),
                         "do not fit the outputs");
}

TEST_CASE("retinanet model: gradcheck of the loss w.r.t. the head outputs (f64)") {
  const RetinaNetTargets t = hand_targets(DType::f64);
  Generator gen(7);
  for (const char* box_loss : {"l1", "smooth_l1"}) {
    for (const char* norm : {"per_image", "batch_fg"}) {
      RetinaNetConfig cfg = RetinaNetConfig::cpu(2);
      cfg.box_loss = box_loss;
      cfg.box_loss_beta = 0.3;
      cfg.focal_normalizer = norm;
      if (std::string(norm) == "batch_fg") cfg.focal_gamma = 1.5, cfg.focal_alpha = -1;
      CAPTURE(box_loss);
      CAPTURE(norm);
      Tensor cls = mul(randn({2, 4, 2}, gen, DType::f64), 2.0).set_requires_grad(true);
      Tensor box = randn({2, 4, 4}, gen, DType::f64).set_requires_grad(true);
      GradFn f = [&](const std::vector<Tensor>& v) {
        RetinaNetLoss l = retinanet_loss(v[0], v[1], t, cfg);
        return std::vector<Tensor>{l.cls, l.box, l.total};
      };
      check_grad("retinanet_loss", f, {cls, box});
    }
  }
}

TEST_CASE("retinanet model: loss and detections equal torchvision's on a formula-made case") {
  // Golden values from torchvision 0.14 (Debian python3-torchvision), produced by this script:
  //   N, K, A, S, grids = 2, 3, 9, 64, (8, 4, 2)
  //   sizes = tuple((x, int(x * 2 ** (1/3)), int(x * 2 ** (2/3))) for x in [32, 64, 128])
  //   anchors = AnchorGenerator(sizes, ((0.5, 1.0, 2.0),) * 3)(ImageList(zeros(N,3,S,S), [(S,S)]*N),
  //                                                          [zeros(N,1,g,g) for g in grids])
  //   maps(C, f): per level [N, A*C, g, g] f32, element i running over all levels in NCHW order = f(i)
  //   cls = maps(K, lambda i: 3*sin(0.37 i) - 2.5);  box = maps(4, lambda i: 0.5*cos(0.11 i))
  //   head outputs: view(N,A,C,g,g).permute(0,3,4,1,2).reshape(N,-1,C), levels concatenated
  //   targets: image 0 boxes [[5,7,30,40],[28,20,60,50]] labels [2,0]; image 1 [[10,10,26,26]] [1]
  //   matched = Matcher(0.5, 0.4, True)(box_iou(boxes, anchors)); RetinaNetHead(1, A, K).compute_loss
  //   RetinaNet.postprocess_detections with score 0.05, nms 0.5, 100 per image, top 1000
  // printed: cls 10.098752 box 2.0954721, positives [27, 8], ignored [45, 0], 100 detections each,
  // the first three of each image below.
  const int64_t N = 2, K = 3, A = 9;
  const int64_t grids[3] = {8, 4, 2};
  auto maps = [&](int64_t C, const std::function<double(int64_t)>& f) {
    std::vector<Tensor> out;
    int64_t i0 = 0;
    for (int64_t g : grids) {
      std::vector<double> v((size_t)(N * A * C * g * g));
      for (size_t i = 0; i < v.size(); ++i) v[i] = f(i0 + (int64_t)i);
      i0 += (int64_t)v.size();
      out.push_back(from_vector(v, {N, A * C, g, g}));
    }
    return out;
  };
  const std::vector<Tensor> cls = maps(K, [](int64_t i) { return 3 * std::sin(0.37 * double(i)) - 2.5; });
  const std::vector<Tensor> box = maps(4, [](int64_t i) { return 0.5 * std::cos(0.11 * double(i)); });
  const RetinaNetConfig cfg = RetinaNetConfig::cpu(K);
  std::vector<int64_t> level_sizes;
  const Tensor anchors = retinanet_anchors(cfg.anchor_options(64, 64), DType::f32, &level_sizes);
  const RetinaNetTargets t = retinanet_targets(
      anchors, {from_vector({5, 7, 30, 40, 28, 20, 60, 50}, {2, 4}), from_vector({10, 10, 26, 26}, {1, 4})},
      {{2, 0}, {1}}, K, cfg.matcher_options(), cfg.coder_options(), cfg.conventions());
  CHECK(t.num_positives == std::vector<int64_t>{27, 8});
  int64_t ignored = 0;
  for (double l : t.labels.to_vector()) ignored += l == kMatchIgnore;
  CHECK(ignored == 45);
  const RetinaNetLoss l = retinanet_loss(flatten_head_outputs(cls, K), flatten_head_outputs(box, 4), t, cfg);
  CHECK(l.cls.item() == doctest::Approx(10.098752).epsilon(1e-6));
  CHECK(l.box.item() == doctest::Approx(2.0954721).epsilon(1e-6));

  det::InferenceOptions opt;
  opt.nms.kind = det::PostNms::hard;
  const std::vector<det::Detections> d = retinanet_decode(cls, box, anchors, K, 64, 64, opt);
  const double want_boxes[2][3][4] = {
      {{10.1036, 28.9409, 58.0238, 46.9831}, {56.1078, 0.0, 64.0, 31.4981}, {16.211, 0.8434, 49.2937, 45.7798}},
      {{4.5938, 0.3918, 39.3718, 22.3728}, {8.7252, 40.0192, 26.2186, 64.0}, {32.0641, 10.6547, 64.0, 50.2934}}};
  const double want_scores[2][3] = {{0.6224576, 0.6224569, 0.6224530}, {0.6224592, 0.6224586, 0.6224552}};
  const int64_t want_labels[2][3] = {{0, 0, 2}, {2, 1, 1}};
  for (int n = 0; n < 2; ++n) {
    CAPTURE(n);
    CHECK(d[(size_t)n].size() == 100);
    for (int j = 0; j < 3; ++j) {
      CHECK(d[(size_t)n].scores.at(j) == doctest::Approx(want_scores[n][j]).epsilon(2e-7));
      CHECK(d[(size_t)n].labels.at(j) == want_labels[n][j]);
      for (int k = 0; k < 4; ++k)
        CHECK(d[(size_t)n].boxes.at(4 * j + k) == doctest::Approx(want_boxes[n][j][k]).epsilon(1e-4));
    }
  }
}

TEST_CASE("retinanet model: decoding a crafted head output") {
  // One level, 2x2 grid, stride 8, A = 1 anchor (16x16 centred on the cell corner), K = 2; input 16x16.
  // Anchor of cell p = (x, y): (8x - 8, 8y - 8, 8x + 8, 8y + 8).
  Tensor anchors = from_vector({-8, -8, 8, 8, 0, -8, 16, 8, -8, 0, 8, 16, 0, 0, 16, 16}, {4, 4});
  std::vector<double> cls(1 * 2 * 4, -10.0), box(1 * 4 * 4, 0.0);
  auto logit = [](double p) { return std::log(p / (1 - p)); };
  // channel k, cell p: cls[k*4 + p]; deltas channel j, cell p: box[j*4 + p]
  cls[1 * 4 + 3] = logit(0.9);     // class 1 at cell (1,1): anchor (0,0,16,16)
  box[0 * 4 + 3] = 0.25;           // dx: centre 8 + 0.25*16 = 12
  box[2 * 4 + 3] = std::log(0.5);  // dw: width 8 -> x 8..16, y 0..16
  cls[1 * 4 + 2] = logit(0.8);     // class 1 at cell (0,1): anchor (-8,0,8,16), IoU with the first < 0.5
  cls[0 * 4 + 3] = logit(0.7);     // class 0 at cell (1,1): same box as the 0.9 one, other class: kept
  cls[0 * 4 + 0] = logit(0.04);    // below the 0.05 threshold
  Tensor c = from_vector(cls, {1, 2, 2, 2}), b = from_vector(box, {1, 4, 2, 2});
  det::InferenceOptions opt;
  opt.nms.kind = det::PostNms::hard;
  opt.nms.iou = 0.5;
  std::vector<det::Detections> d = retinanet_decode({c}, {b}, anchors, 2, 16, 16, opt);
  REQUIRE(d.size() == 1);
  REQUIRE(d[0].size() == 3);
  CHECK(d[0].scores.at(0) == doctest::Approx(0.9).epsilon(1e-6));
  CHECK(d[0].labels.at(0) == 1);
  const double want0[4] = {8, 0, 16, 16};
  for (int j = 0; j < 4; ++j) CHECK(d[0].boxes.at(j) == doctest::Approx(want0[j]).epsilon(1e-6));
  CHECK(d[0].scores.at(1) == doctest::Approx(0.8).epsilon(1e-6));
  const double want1[4] = {0, 0, 8, 16};  // (-8, 0, 8, 16) clipped to the 16x16 input
  for (int j = 0; j < 4; ++j) CHECK(d[0].boxes.at(4 + j) == doctest::Approx(want1[j]).epsilon(1e-6));
  CHECK(d[0].labels.at(2) == 0);
  CHECK(d[0].scores.at(2) == doctest::Approx(0.7).epsilon(1e-6));
  // topk_candidates per level, max_detections per image, the score threshold.
  opt.topk_candidates = 1;
  d = retinanet_decode({c}, {b}, anchors, 2, 16, 16, opt);
  REQUIRE(d[0].size() == 1);
  CHECK(d[0].scores.at(0) == doctest::Approx(0.9).epsilon(1e-6));
  opt.topk_candidates = 1000;
  opt.max_detections = 2;
  CHECK(retinanet_decode({c}, {b}, anchors, 2, 16, 16, opt)[0].size() == 2);
  opt.max_detections = 100;
  opt.score_threshold = 0.95;
  CHECK(retinanet_decode({c}, {b}, anchors, 2, 16, 16, opt)[0].size() == 0);
  CHECK_THROWS_WITH_PART(retinanet_decode({c}, {b}, zeros({3, 4}), 2, 16, 16, opt), "anchors must be [4, 4]");
}

TEST_CASE("retinanet model: NMS inside decoding is class-wise") {
  // Two anchors of the same place (A = 2 per location, 1 cell), K = 1: identical boxes -> one survives.
  Tensor anchors = from_vector({0, 0, 16, 16, 0, 0, 16, 16}, {2, 4});
  Tensor c = from_vector({2.0, 1.0}, {1, 2, 1, 1}), b = zeros({1, 8, 1, 1});
  det::InferenceOptions opt;
  opt.nms.kind = det::PostNms::hard;
  std::vector<det::Detections> d = retinanet_decode({c}, {b}, anchors, 1, 32, 32, opt);
  REQUIRE(d[0].size() == 1);
  CHECK(d[0].scores.at(0) == doctest::Approx(1 / (1 + std::exp(-2.0))).epsilon(1e-6));
  opt.nms.kind = det::PostNms::none;
  CHECK(retinanet_decode({c}, {b}, anchors, 1, 32, 32, opt)[0].size() == 2);
  // K = 2 with the two anchors on different classes: both kept
  Tensor c2 = from_vector({2.0, -9.0, -9.0, 1.0}, {1, 4, 1, 1});
  opt.nms.kind = det::PostNms::hard;
  CHECK(retinanet_decode({c2}, {b}, anchors, 2, 32, 32, opt)[0].size() == 2);
}

TEST_CASE("retinanet model: Detector loss with boxes and with empty images, detect, thread determinism") {
  Generator gen(11);
  auto det = make_retinanet_detector(3, {{"width_mult", 0.125}, {"fpn_channels", 16}, {"head_depth", 2}}, gen);
  auto* net = dynamic_cast<RetinaNetDetector*>(det.get());
  REQUIRE(net != nullptr);
  CHECK(det->kind() == "retinanet");
  CHECK(det->loss_names() == std::vector<std::string>{"cls", "box"});
  Tensor img = randn({2, 3, 64, 64}, gen);
  data::Batch b = make_batch(img, {{{8, 8, 40, 36}, {30, 34, 60, 60}}, {}}, {{0, 2}, {}});
  det::LossReport r1;
  same_bits_for_threads([&] {
    det->zero_grad();
    r1 = det->loss(b);
    r1.total.backward();
    std::vector<std::pair<std::string, Tensor>> r{{"loss", r1.total}};
    for (auto& [k, p] : det->named_parameters()) r.push_back({"grad " + k, p.grad()});
    return r;
  });
  REQUIRE(r1.parts.size() == 2);
  CHECK(r1.parts[0].first == "cls");
  CHECK(r1.parts[1].first == "box");
  CHECK(std::isfinite(r1.total.item()));
  CHECK(r1.parts[0].second.item() > 0);
  CHECK(r1.parts[1].second.item() > 0);
  CHECK(r1.total.item() == doctest::Approx(r1.parts[0].second.item() + r1.parts[1].second.item()).epsilon(1e-6));
  // All images empty: cls only, box 0, no NaN anywhere.
  data::Batch e = make_batch(img, {{}, {}}, {{}, {}});
  det->zero_grad();
  det::LossReport re = det->loss(e);
  re.total.backward();
  CHECK(std::isfinite(re.total.item()));
  CHECK(re.parts[0].second.item() > 0);
  CHECK(re.parts[1].second.item() == 0.0);
  bool all_finite = true;
  int64_t with_grad = 0;
  for (const Tensor& p : det->parameters())
    if (p.grad().defined()) {
      ++with_grad;
      for (double g : p.grad().to_vector()) all_finite = all_finite && std::isfinite(g);
    }
  CHECK(all_finite);
  CHECK(with_grad == (int64_t)det->parameters().size());  // the box head too (zero gradients)

  // detect: defaults, sorted scores, boxes inside the input, the same for 1, 2 and 3 threads.
  det::InferenceOptions opt = det->default_inference();
  CHECK(opt.score_threshold == 0.05);
  CHECK(opt.topk_candidates == 1000);
  CHECK(opt.max_detections == 100);
  CHECK(opt.nms.kind == det::PostNms::hard);
  CHECK(opt.nms.iou == 0.5);
  opt.score_threshold = 0.0;  // the untrained network scores ~0.01: keep everything
  det->eval();
  std::vector<det::Detections> d1;
  same_bits_for_threads([&] {
    d1 = det->detect(img, opt);
    std::vector<std::pair<std::string, Tensor>> r;
    for (size_t n = 0; n < d1.size(); ++n) {
      const std::string i = "image " + std::to_string(n);
      r.insert(r.end(), {{i + " boxes", d1[n].boxes}, {i + " scores", d1[n].scores}, {i + " labels", d1[n].labels}});
    }
    return r;
  });
  REQUIRE(d1.size() == 2);
  for (size_t n = 0; n < 2; ++n) {
    CHECK(d1[n].size() == 100);
    const std::vector<double> s = d1[n].scores.to_vector(), bx = d1[n].boxes.to_vector();
    for (size_t i = 1; i < s.size(); ++i) CHECK(s[i] <= s[i - 1]);
    for (size_t i = 0; i < bx.size(); ++i) CHECK((bx[i] >= 0 && bx[i] <= 64));
  }
  CHECK(det->detect(img, det->default_inference())[0].size() == 0);  // nothing above 0.05 at p = 0.01
  det->train();
}

TEST_CASE("retinanet model: loss and detect inside a bf16 autocast scope") {
  Generator gen(12);
  RetinaNetDetector net(tiny_config(2), gen);
  data::Batch b = make_batch(randn({1, 3, 64, 64}, gen), {{{8, 8, 40, 36}, {30, 34, 60, 60}}}, {{0, 1}});
  const double f32_total = net.loss(b).total.item();
  det::LossReport r;
  {
    amp::Autocast ac(DType::bf16);
    r = net.loss(b);  // bf16 head maps, widened to f32 for the loss
  }
  CHECK(r.total.dtype() == DType::f32);
  CHECK(r.total.item() == doctest::Approx(f32_total).epsilon(0.05));
  r.total.backward();
  CHECK(net.head->classification_head->last->weight.grad().defined());
  CHECK(net.head->regression_head->last->weight.grad().defined());
  amp::Autocast ac(DType::bf16);
  det::InferenceOptions o = net.default_inference();
  o.score_threshold = 0.0;
  std::vector<det::Detections> d = net.detect(b.images, o);
  CHECK(d[0].size() > 0);  // bf16-rounded boxes of an untrained network: NMS drops some of the 100
  CHECK(d[0].size() <= 100);
  CHECK(d[0].scores.dtype() == DType::f32);
}

TEST_CASE("retinanet model: overrides, config json round trip, rebuild from config_json") {
  Generator gen(2);
  auto det = make_retinanet_detector(10, {{"fpn_channels", 32}, {"head_norm", "gn"}, {"anchor_ratios", {1.0}}}, gen);
  const nlohmann::json j = det->config_json();
  CHECK(j["num_classes"] == 10);
  CHECK(j["fpn_channels"] == 32);
  CHECK(j["head_norm"] == "gn");
  CHECK(j["width_mult"] == 0.25);
  CHECK(j["last_level"] == 5);
  CHECK(dynamic_cast<RetinaNetDetector&>(*det).cfg.anchors_per_location() == 3);
  CHECK(det->describe().find("head 4 x 32 GN, 3 anchors") != std::string::npos);
  // Round trip of a config with every kind of field changed.
  RetinaNetConfig c = RetinaNetConfig::cpu(4);
  c.last_level = 7, c.box_loss = "smooth_l1", c.box_loss_beta = 0.11, c.anchor_round = false;
  c.coder_weights = {10, 10, 5, 5}, c.scales_per_octave = 2, c.focal_normalizer = "batch_fg";
  RetinaNetConfig back = RetinaNetConfig::from_json(c.to_json());
  CHECK(back.to_json() == c.to_json());
  CHECK(back.coder_weights == std::vector<double>{10, 10, 5, 5});
  // Rebuild from config_json and load the weights.
  auto again = std::make_shared<RetinaNetDetector>(RetinaNetConfig::from_json(j), gen);
  CHECK(again->num_parameters() == det->num_parameters());
  again->load_state_dict(det->state_dict());
  CHECK(same_bytes(again->state_dict().back().second, det->state_dict().back().second));
  // Errors: unknown key, wrong type, bad value, missing num_classes, conflicting num_classes.
  CHECK_THROWS_WITH_PART(make_retinanet_detector(10, {{"fpn_width", 3}}, gen), "unknown model option 'fpn_width'");
  CHECK_THROWS_WITH_PART(make_retinanet_detector(10, {{"head_norm", 3}}, gen), "'head_norm' must look like");
  CHECK_THROWS_WITH_PART(make_retinanet_detector(10, {{"head_norm", "bn"}}, gen),
                         "head_norm must be \"none\" or \"gn\"");
  CHECK_THROWS_WITH_PART(make_retinanet_detector(10, {{"last_level", 6}}, gen), "last_level must be 5");
  CHECK_THROWS_WITH_PART(make_retinanet_detector(10, {{"head_depth", 2.5}}, gen), "'head_depth' must be an integer");
  CHECK_THROWS_WITH_PART(make_retinanet_detector(10, {{"num_classes", 3}}, gen), "the data has 10 classes");
  CHECK_THROWS_WITH_PART(RetinaNetConfig::from_json({{"fpn_channels", 8}}), "needs an integer \"num_classes\"");
}

TEST_CASE("retinanet model: matched anchors for --explain") {
  Generator gen(4);
  RetinaNetDetector net(RetinaNetConfig::cpu(10), gen);
  // A 32x32 box centred on P3 cell (5, 5) of a 96x96 input: exactly the anchor of size 32, ratio 1
  // (cell anchor 1*3 + 0 = 3), anchor index (5*12 + 5)*9 + 3 = 588.
  std::vector<AnchorMatch> m = net.matched_anchors(from_vector({24, 24, 56, 56}, {1, 4}), 96, 96);
  REQUIRE(!m.empty());
  bool found = false;
  for (const AnchorMatch& a : m) {
    CHECK(a.gt == 0);
    CHECK(a.iou >= 0.5);
    if (a.anchor == 588) {
      found = true;
      CHECK(a.level == 3);
      CHECK(a.iou == doctest::Approx(1.0));
      CHECK(a.box == std::array<double, 4>{24, 24, 56, 56});
    }
  }
  CHECK(found);
  // The same as the loss targets' positives.
  AnchorSet s = net.anchors(96, 96);
  RetinaNetTargets t = retinanet_targets(s.anchors, {from_vector({24, 24, 56, 56}, {1, 4})}, {{0}}, 10);
  CHECK(t.num_positives[0] == (int64_t)m.size());
  CHECK(net.matched_anchors(zeros({0, 4}), 96, 96).empty());
}

TEST_CASE("retinanet model: a few Adam steps on one fixed batch reduce the loss") {
  Generator gen(3);
  RetinaNetDetector net(tiny_config(2), gen);
  Tensor img = randn({2, 3, 64, 64}, gen);
  data::Batch b = make_batch(img, {{{8, 8, 40, 36}}, {{30, 34, 60, 60}}}, {{0}, {1}});
  optim::AdamOptions ao;
  ao.lr = 2e-3;
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
  CHECK(last < 0.8 * first);
}
