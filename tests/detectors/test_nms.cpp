// The NMS family (detectors/nms.h): hard, batched, Soft-NMS, DIoU-NMS, explain, conventions, edge cases
// and error messages. Every expected value is worked out in a comment. torchvision agreement on random
// boxes is in tests/golden/manifest_nms.json (run by tests/ops/test_golden.cpp).
#include <doctest/doctest.h>

#include "tests/support.h"

#include <cmath>
#include <string>
#include <vector>

#include "autograd/ops/registry.h"
#include "detectors/nms.h"
#include "detectors/ref/ref_ops.h"

using namespace dg;

namespace {
Tensor boxes_of(const std::vector<double>& v, DType dt = DType::f64) {
  return from_vector(v, {(int64_t)v.size() / 4, 4}, dt);
}
Tensor scores_of(const std::vector<double>& v, DType dt = DType::f64) {
  return from_vector(v, {(int64_t)v.size()}, dt);
}
std::vector<double> vec(const Tensor& t) { return t.to_vector(); }
}  // namespace

TEST_CASE("nms: hand-computed overlap, score order, both dtypes") {
  // A = [0,0,10,10] (0.9), B = [1,0,11,10] (0.8), C = [20,20,30,30] (0.7), D = [0,0,10,10] (0.95)
  // IoU(A,B) = 9*10 / (100 + 100 - 90) = 90/110 = 0.818 > 0.5; C overlaps nothing; D == A.
  // Score order D, A, B, C: D kept, A suppressed by D (IoU 1), B by D (0.818), C kept -> [3, 2].
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor b = boxes_of({0, 0, 10, 10, 1, 0, 11, 10, 20, 20, 30, 30, 0, 0, 10, 10}, dt);
    Tensor s = scores_of({0.9, 0.8, 0.7, 0.95}, dt);
    std::vector<NmsEvent> ev;
    Tensor keep = nms(b, s, 0.5, {}, &ev);
    CHECK(keep.dtype() == DType::i64);
    CHECK(vec(keep) == std::vector<double>{3, 2});
    REQUIRE(ev.size() == 2);
    CHECK(ev[0].box == 0);
    CHECK(ev[0].by == 3);
    CHECK(ev[0].iou == doctest::Approx(1.0));
    CHECK(ev[1].box == 1);
    CHECK(ev[1].by == 3);
    CHECK(ev[1].iou == doctest::Approx(90.0 / 110.0).epsilon(1e-6));
    CHECK(format_nms_events(ev).find("box 1 suppressed by box 3 at IoU 0.8182") != std::string::npos);
    // A higher threshold keeps B: 0.818 < 0.85, but A (IoU 1 with D) still goes.
    CHECK(vec(nms(b, s, 0.85)) == std::vector<double>{3, 1, 2});
  }
}

TEST_CASE("nms: IoU exactly at the threshold: '>' (torchvision) vs '>=' (legacy)") {
  // A = [0,0,4,4] (area 16), B = [0,0,4,2] inside it (area 8): IoU = 8 / 16 = 0.5 exactly.
  Tensor b = boxes_of({0, 0, 4, 4, 0, 0, 4, 2});
  Tensor s = scores_of({0.9, 0.8});
  CHECK(vec(nms(b, s, 0.5)) == std::vector<double>{0, 1});  // 0.5 > 0.5 is false: both kept
  Conventions legacy;
  legacy.nms_suppress_on_equal = true;
  CHECK(vec(nms(b, s, 0.5, legacy)) == std::vector<double>{0});
}

TEST_CASE("nms: pixel_offset +1 widths change the IoU") {
  // A = [0,0,1,1], B = [1,0,2,1] touch at x = 1. Without +1: intersection 0, IoU 0 -> both kept.
  // With +1 (legacy): widths 2, intersection (1-1+1)*(1-0+1) = 2, union 4+4-2 = 6, IoU 1/3 > 0.3.
  Tensor b = boxes_of({0, 0, 1, 1, 1, 0, 2, 1});
  Tensor s = scores_of({0.9, 0.8});
  CHECK(vec(nms(b, s, 0.3)) == std::vector<double>{0, 1});
  Conventions plus1;
  plus1.pixel_offset = 1;
  CHECK(vec(nms(b, s, 0.3, plus1)) == std::vector<double>{0});
}

TEST_CASE("nms: edge cases (ties, zero boxes, one box, all suppressed, empty boxes)") {
  // Equal scores: the stable sort keeps index order, so the lower index wins.
  Tensor same = boxes_of({0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10});
  CHECK(vec(nms(same, scores_of({0.5, 0.5, 0.5}), 0.5)) == std::vector<double>{0});
  CHECK(vec(nms(same, scores_of({0.5, 0.7, 0.7}), 0.5)) == std::vector<double>{1});
  // Zero boxes -> empty [0] i64.
  Tensor none = nms(Tensor::empty({0, 4}, DType::f32), Tensor::empty({0}, DType::f32), 0.5);
  CHECK(none.shape() == Shape{0});
  CHECK(none.dtype() == DType::i64);
  // One box is always kept, whatever the threshold.
  CHECK(vec(nms(boxes_of({1, 1, 2, 2}), scores_of({0.1}), 0.0)) == std::vector<double>{0});
  // Threshold 0: anything that overlaps at all is suppressed; disjoint boxes survive.
  Tensor chain = boxes_of({0, 0, 2, 2, 1, 1, 3, 3, 2.5, 2.5, 4, 4, 10, 10, 11, 11});
  CHECK(vec(nms(chain, scores_of({0.9, 0.8, 0.7, 0.6}), 0.0)) == std::vector<double>{0, 2, 3});
  // Two zero-area boxes: IoU = 0/0 = NaN, never > thr: both kept (as torchvision).
  CHECK(vec(nms(boxes_of({1, 1, 1, 1, 1, 1, 1, 1}), scores_of({0.9, 0.8}), 0.5)) == std::vector<double>{0, 1});
}

TEST_CASE("nms: errors name the op and the shapes") {
  CHECK_THROWS_WITH_PART(nms(boxes_of({0, 0, 1, 1}).to(DType::f64), scores_of({0.1, 0.2}), 0.5),
                         "scores must be [N] with N = 1");
  CHECK_THROWS_WITH_PART(nms(from_vector({0, 0, 1}, {1, 3}, DType::f64), scores_of({0.1}), 0.5),
                         "nms: boxes must be [N,4]");
  CHECK_THROWS_WITH_PART(nms(boxes_of({0, 0, 1, 1}), scores_of({0.1}, DType::f32), 0.5), "share a dtype");
  CHECK_THROWS_WITH_PART(nms(boxes_of({0, 0, 1, 1}), scores_of({NAN}), 0.5), "nms: score 0 is NaN");
  CHECK_THROWS_WITH_PART(batched_nms(boxes_of({0, 0, 1, 1}), scores_of({0.1}), from_vector({0, 1}, {2}, DType::i64),
                                     0.5),
                         "batched_nms: idxs must be [N] with N = 1");
  CHECK_THROWS_WITH_PART(soft_nms(boxes_of({0, 0, 1, 1}), scores_of({0.1, 0.2})), "soft_nms:");
  CHECK_THROWS_WITH_PART(diou_nms(boxes_of({0, 0, 1, 1}), scores_of({0.1}), 0.5, 0.0), "diou_nms: beta must be > 0");
  CHECK_THROWS_WITH_PART(soft_nms_method_from_name("hard"), "method must be linear or gaussian");
}

TEST_CASE("nms: batched_nms never suppresses across classes") {
  // Boxes 0 and 1 identical (class 0 and 1): both kept. Box 2 = box 0 in class 0 with a lower score:
  // suppressed. Box 3 class 7 alone. Result by descending score: 1 (0.95), 0 (0.9), 3 (0.6).
  Tensor b = boxes_of({0, 0, 10, 10, 0, 0, 10, 10, 0, 0, 10, 10, 5, 5, 6, 6});
  Tensor s = scores_of({0.9, 0.95, 0.8, 0.6});
  std::vector<NmsEvent> ev;
  Tensor keep = batched_nms(b, s, from_vector({0, 1, 0, 7}, {4}, DType::i64), 0.5, {}, &ev);
  CHECK(vec(keep) == std::vector<double>{1, 0, 3});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].box == 2);
  CHECK(ev[0].by == 0);
  // One class for all = plain nms.
  Tensor one_class = batched_nms(b, s, from_vector({3, 3, 3, 3}, {4}, DType::i32), 0.5);
  CHECK(vec(one_class) == vec(nms(b, s, 0.5)));
  // Zero boxes.
  CHECK(batched_nms(boxes_of({}), scores_of({}), Tensor::empty({0}, DType::i64), 0.5).numel() == 0);
}

TEST_CASE("nms: soft_nms linear and gaussian, hand-computed") {
  // A = [0,0,10,10] 0.9, B = [5,0,15,10] 0.8, C = [20,0,30,10] 0.7.
  // IoU(A,B) = 50 / (100 + 100 - 50) = 1/3; C overlaps nothing.
  // Linear (Nt = 0.3): 1/3 > 0.3 -> B *= 1 - 1/3 -> 0.8 * 2/3 = 0.53333. Selection: A, C, B.
  Tensor b = boxes_of({0, 0, 10, 10, 5, 0, 15, 10, 20, 0, 30, 10});
  Tensor s = scores_of({0.9, 0.8, 0.7});
  std::vector<NmsEvent> ev;
  SoftNmsResult lin = soft_nms(b, s, {}, {}, &ev);
  CHECK(vec(lin.indices) == std::vector<double>{0, 2, 1});
  CHECK(lin.scores.dtype() == DType::f64);
  CHECK(lin.scores.at(0) == 0.9);
  CHECK(lin.scores.at(1) == 0.7);
  CHECK(lin.scores.at(2) == doctest::Approx(0.8 * 2.0 / 3.0).epsilon(1e-12));
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].box == 1);
  CHECK(ev[0].by == 0);
  CHECK(ev[0].iou == doctest::Approx(1.0 / 3.0));
  CHECK_FALSE(ev[0].dropped);
  CHECK(format_nms_events(ev, true).find("box 1 decayed by box 0 at IoU 0.3333: score 0.8000 -> 0.5333") !=
        std::string::npos);
  // Nt = 0.4: 1/3 <= 0.4, weight 1: scores unchanged, order A, B, C.
  SoftNmsOptions high_nt;
  high_nt.iou_threshold = 0.4;
  SoftNmsResult unchanged = soft_nms(b, s, high_nt);
  CHECK(vec(unchanged.indices) == std::vector<double>{0, 1, 2});
  CHECK(vec(unchanged.scores) == std::vector<double>{0.9, 0.8, 0.7});
  // Gaussian (sigma 0.5): B *= exp(-(1/3)^2 / 0.5) = exp(-2/9) = 0.800737 -> 0.640590 < 0.7: A, C, B.
  SoftNmsOptions g;
  g.method = SoftNmsMethod::gaussian;
  SoftNmsResult gs = soft_nms(b, s, g);
  CHECK(vec(gs.indices) == std::vector<double>{0, 2, 1});
  CHECK(gs.scores.at(2) == doctest::Approx(0.8 * std::exp(-2.0 / 9.0)).epsilon(1e-12));
  // Sigma 2: exp(-1/18) = 0.945959 -> 0.756767 > 0.7: A, B, C.
  g.sigma = 2.0;
  CHECK(vec(soft_nms(b, s, g).indices) == std::vector<double>{0, 1, 2});
}

TEST_CASE("nms: soft_nms score threshold, ties and original indices") {
  // B's score 0.0012 decays to 0.0008 < 0.001: dropped (the event says so). C (0.0005, no overlap) is
  // never decayed and stays, as in Bodla's and mmcv's code.
  Tensor b = boxes_of({0, 0, 10, 10, 5, 0, 15, 10, 20, 0, 30, 10});
  std::vector<NmsEvent> ev;
  SoftNmsResult r = soft_nms(b, scores_of({0.9, 0.0012, 0.0005}), {}, {}, &ev);
  CHECK(vec(r.indices) == std::vector<double>{0, 2});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].dropped);
  CHECK(ev[0].score_after == doctest::Approx(0.0008));
  // Equal scores: the earliest index wins; indices are original positions, not a reordered array.
  SoftNmsResult t = soft_nms(boxes_of({20, 0, 30, 10, 0, 0, 10, 10, 40, 0, 50, 10}), scores_of({0.5, 0.5, 0.9}));
  CHECK(vec(t.indices) == std::vector<double>{2, 0, 1});
  // Identical boxes, linear: weight 1 - 1 = 0, score 0 < 0.001 -> dropped. Zero boxes: empty.
  CHECK(vec(soft_nms(boxes_of({0, 0, 1, 1, 0, 0, 1, 1}), scores_of({0.9, 0.8})).indices) == std::vector<double>{0});
  SoftNmsResult e = soft_nms(boxes_of({}, DType::f32), scores_of({}, DType::f32));
  CHECK(e.indices.numel() == 0);
  CHECK(e.scores.dtype() == DType::f32);
}

TEST_CASE("nms: diou_nms hand-computed, beta") {
  // A = [0,0,10,10] 0.9, B = [2,0,12,10] 0.8: IoU = 80 / 120 = 0.66667.
  // Centres (5,5) and (7,5): rho^2 = 4. Enclosing box [0,0,12,10]: c^2 = 144 + 100 = 244.
  // DIoU = 0.66667 - 4/244 = 0.66667 - 0.016393 = 0.650273.
  // At thr 0.66 plain NMS suppresses B (0.667 > 0.66); DIoU-NMS keeps it (0.650 < 0.66).
  Tensor b = boxes_of({0, 0, 10, 10, 2, 0, 12, 10});
  Tensor s = scores_of({0.9, 0.8});
  CHECK(vec(nms(b, s, 0.66)) == std::vector<double>{0});
  CHECK(vec(diou_nms(b, s, 0.66)) == std::vector<double>{0, 1});
  std::vector<NmsEvent> ev;
  CHECK(vec(diou_nms(b, s, 0.65, 1.0, {}, &ev)) == std::vector<double>{0});
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].iou == doctest::Approx(2.0 / 3.0 - 4.0 / 244.0).epsilon(1e-12));
  // beta = 0.6: penalty (4/244)^0.6 = 0.084871, DIoU = 0.581796: kept at 0.6, suppressed at 0.58.
  CHECK(vec(diou_nms(b, s, 0.6, 0.6)) == std::vector<double>{0, 1});
  CHECK(vec(diou_nms(b, s, 0.58, 0.6)) == std::vector<double>{0});
  // Same centre (rho = 0): DIoU-NMS = NMS. Identical boxes: everything but the best is suppressed.
  Tensor nested = boxes_of({0, 0, 10, 10, 1, 1, 9, 9, 0, 0, 10, 10});
  Tensor ns = scores_of({0.5, 0.9, 0.7});
  CHECK(vec(diou_nms(nested, ns, 0.5)) == vec(nms(nested, ns, 0.5)));
}

TEST_CASE("nms: same decisions in f32 and f64 on a random-ish scene") {
  // 200 boxes from a fixed LCG; thresholds away from any tie make both dtypes agree.
  std::vector<double> bv, sv;
  uint64_t st = 42;
  auto u = [&] {
    st = st * 6364136223846793005ULL + 1442695040888963407ULL;
    return double(st >> 11) / double(1ULL << 53);
  };
  for (int i = 0; i < 200; ++i) {
    const double x = 100 * u(), y = 100 * u(), w = 5 + 30 * u(), h = 5 + 30 * u();
    bv.insert(bv.end(), {x, y, x + w, y + h});
    sv.push_back(u());
  }
  Tensor k64 = nms(boxes_of(bv), scores_of(sv), 0.5);
  Tensor k32 = nms(boxes_of(bv, DType::f32), scores_of(sv, DType::f32), 0.5);
  CHECK(k64.numel() > 10);
  CHECK(k64.numel() < 200);
  CHECK(vec(k64) == vec(k32));
  // Kept boxes are pairwise below the threshold; every suppressed box has an event.
  std::vector<NmsEvent> ev;
  Tensor k = nms(boxes_of(bv), scores_of(sv), 0.5, {}, &ev);
  CHECK((int64_t)ev.size() + k.numel() == 200);
  for (const NmsEvent& e : ev) CHECK(e.iou > 0.5);
  // The branch-free loop (no explain) and the explaining loop decide the same, for thresholds that
  // are not floats (0.7, 0.3) and for both comparison rules.
  for (DType dt : {DType::f32, DType::f64})
    for (double thr : {0.3, 0.5, 0.7})
      for (bool eq : {false, true}) {
        Conventions c;
        c.nms_suppress_on_equal = eq;
        std::vector<NmsEvent> e2;
        Tensor fast = nms(boxes_of(bv, dt), scores_of(sv, dt), thr, c);
        Tensor slow = nms(boxes_of(bv, dt), scores_of(sv, dt), thr, c, &e2);
        CHECK(vec(fast) == vec(slow));
      }
}

TEST_CASE("nms: threshold exactly at an f32 IoU value, both rules") {
  // A = [0,0,10,10], B = [0,0,10,7]: IoU = 70/100 = 0.7 in f64; in f32 70/100 rounds to 0.69999999
  // (float(0.7) < 0.7). torchvision compares the f32 IoU, promoted, with the double 0.7: 0.69999999 > 0.7
  // is false (kept) and also >= is false: B is kept in f32 under both rules. In f64 the IoU is the
  // double nearest 0.7, i.e. equal to the threshold: kept with '>', suppressed with '>='.
  Tensor b32 = boxes_of({0, 0, 10, 10, 0, 0, 10, 7}, DType::f32), s32 = scores_of({0.9, 0.8}, DType::f32);
  Tensor b64 = boxes_of({0, 0, 10, 10, 0, 0, 10, 7}), s64 = scores_of({0.9, 0.8});
  Conventions eq;
  eq.nms_suppress_on_equal = true;
  CHECK(vec(nms(b32, s32, 0.7)) == std::vector<double>{0, 1});
  CHECK(vec(nms(b32, s32, 0.7, eq)) == std::vector<double>{0, 1});
  CHECK(vec(nms(b64, s64, 0.7)) == std::vector<double>{0, 1});
  CHECK(vec(nms(b64, s64, 0.7, eq)) == std::vector<double>{0});
  std::vector<NmsEvent> ev;
  CHECK(vec(nms(b32, s32, 0.7, eq, &ev)) == std::vector<double>{0, 1});
}

TEST_CASE("nms: detgrad ref entries (conventions from attributes, no gradients, errors)") {
  register_all_ref_ops();
  // Touching boxes [0,0,1,1] and [1,0,2,1]: IoU 0 without +1, 1/3 with the original preset's +1.
  Tensor b = boxes_of({0, 0, 1, 1, 1, 0, 2, 1}), s = scores_of({0.9, 0.8});
  RefResult r = run_ref("nms", {{"boxes", b}, {"scores", s}}, {{"iou_threshold", "0.3"}});
  CHECK(vec(r.outputs.at(0)) == std::vector<double>{0, 1});
  CHECK(r.grads.empty());  // boxes and scores are constants: no all-zero gradient files
  RefResult o = run_ref("nms", {{"boxes", b}, {"scores", s}}, {{"iou_threshold", "0.3"}, {"convention", "original"}});
  CHECK(vec(o.outputs.at(0)) == std::vector<double>{0});
  RefResult f = run_ref("nms", {{"boxes", b}, {"scores", s}},
                        {{"iou_threshold", "0.3"}, {"convention", "original"}, {"pixel_offset", "0"}});
  CHECK(vec(f.outputs.at(0)) == std::vector<double>{0, 1});
  RefResult sn = run_ref("soft_nms", {{"boxes", b}, {"scores", s}}, {});
  CHECK(sn.outputs.size() == 2);
  CHECK_THROWS_WITH_PART(run_ref("soft_nms", {{"boxes", b}, {"scores", s}}, {{"method", "gausian"}}),
                         "soft_nms: method must be linear or gaussian, got 'gausian'");
  CHECK_THROWS_WITH_PART(run_ref("nms", {{"boxes", b}, {"scores", s}}, {{"iou_threshold", "0.5"}, {"sigma", "1"}}),
                         "nms: unknown attribute 'sigma'");
  CHECK_THROWS_WITH_PART(run_ref("nms", {{"boxes", b}, {"scores", s}}, {}), "nms: missing attribute 'iou_threshold'");
  // The differentiable coder writes gradients for both inputs.
  Tensor an = boxes_of({0, 0, 10, 10});
  RefResult d = run_ref("box_decode", {{"deltas", boxes_of({0.1, 0.2, 0.3, 0.4})}, {"anchors", an}}, {});
  CHECK(d.grads.size() == 2);
}

TEST_CASE("nms: detgrad ref explain=true appends (box, by) pairs and overlaps") {
  register_all_ref_ops();
  // The worked example of docs/detection/nms.md: boxes 0 and 1 suppressed by box 3.
  Tensor b = boxes_of({0, 0, 10, 10, 1, 0, 11, 10, 20, 20, 30, 30, 0, 0, 10, 10});
  Tensor s = scores_of({0.9, 0.8, 0.7, 0.95});
  RefResult r = run_ref("nms", {{"boxes", b}, {"scores", s}}, {{"iou_threshold", "0.5"}, {"explain", "true"}});
  REQUIRE(r.outputs.size() == 3);
  CHECK(vec(r.outputs[1]) == std::vector<double>{0, 3, 1, 3});
  CHECK(r.outputs[1].shape() == Shape{2, 2});
  CHECK(r.outputs[2].at(1) == doctest::Approx(90.0 / 110.0));
  RefResult soft = run_ref("soft_nms", {{"boxes", b}, {"scores", s}}, {{"explain", "true"}});
  CHECK(soft.outputs.size() == 4);
  CHECK(run_ref("nms", {{"boxes", b}, {"scores", s}}, {{"iou_threshold", "0.5"}}).outputs.size() == 1);
}
