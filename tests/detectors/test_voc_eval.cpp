// PASCAL VOC AP (detectors/eval/voc_eval.h): hand-computed cases.
#include <doctest/doctest.h>

#include <string>

#include "autograd/error.h"
#include "detectors/eval/voc_eval.h"

using namespace dg;
using namespace dg::eval;

namespace {
VocGt G(int64_t img, int64_t cls, std::array<double, 4> b, bool difficult = false) { return {img, cls, b, difficult}; }
VocDet D(int64_t img, int64_t cls, std::array<double, 4> b, double score) { return {img, cls, b, score}; }
}  // namespace

TEST_CASE("voc_eval: IoU with +1 pixel widths") {
  // [0,0,9,9] is 10x10 with inclusive ends. vs [5,0,14,9]: iw = 9-5+1 = 5, ih = 10 -> 50 / (100+100-50)
  CHECK(voc_box_iou({0, 0, 9, 9}, {5, 0, 14, 9}, true) == doctest::Approx(1.0 / 3).epsilon(1e-15));
  CHECK(voc_box_iou({0, 0, 9, 9}, {0, 0, 9, 9}, true) == 1);
  // without +1: [0,0,9,9] is 9x9; overlap 4x9 = 36 / (81+81-36)
  CHECK(voc_box_iou({0, 0, 9, 9}, {5, 0, 14, 9}, false) == doctest::Approx(36.0 / 126).epsilon(1e-15));
  // touching with +1 means one shared pixel column: [0,0,9,9] vs [9,0,18,9] -> 10 / 190
  CHECK(voc_box_iou({0, 0, 9, 9}, {9, 0, 18, 9}, true) == doctest::Approx(10.0 / 190).epsilon(1e-15));
  CHECK(voc_box_iou({0, 0, 9, 9}, {10, 0, 19, 9}, true) == 0);
}

TEST_CASE("voc_eval: voc_ap, all points and 11 points") {
  // rec [.5,.5,1], prec [1,.5,2/3]. All points: mrec [0,.5,.5,1,1], mpre [0,1,.5,2/3,0] -> envelope
  // [1,1,2/3,2/3,0]; recall steps 0->.5 (x1) and .5->1 (x 2/3): .5 + 1/3 = 5/6.
  std::vector<double> rec{0.5, 0.5, 1}, prec{1, 0.5, 2.0 / 3};
  CHECK(voc_ap(rec, prec, false) == doctest::Approx(5.0 / 6).epsilon(1e-15));
  // 11 points: t = 0..0.5 (6 points) max precision 1; t = 0.6..1 (5 points) only rec 1 -> 2/3.
  // (6 + 5*2/3) / 11
  CHECK(voc_ap(rec, prec, true) == doctest::Approx((6 + 10.0 / 3) / 11).epsilon(1e-15));
  // no detections: 0 either way
  CHECK(voc_ap({}, {}, false) == 0);
  CHECK(voc_ap({}, {}, true) == 0);
  std::string msg;
  try {
    voc_ap({0.5}, {}, false);
  } catch (const Error& e) {
    msg = e.what();
  }
  CHECK(msg == "voc_ap: recall has 1 entries but precision 0");
}

TEST_CASE("voc_eval: the 11-point thresholds are i*0.1, so recall 0.3 misses t = 0.30000000000000004") {
  // 3 of 10 found with precision 1: t = 0, 0.1, 0.2 reach it, t = 3*0.1 = 0.30000000000000004 does not.
  CHECK(voc_ap({3.0 / 10}, {1.0}, true) == doctest::Approx(3.0 / 11).epsilon(1e-15));
  CHECK(voc_ap({0.4}, {1.0}, true) == doctest::Approx(5.0 / 11).epsilon(1e-15));
}

TEST_CASE("voc_eval: difficult, duplicates, strict 0.5, classes without gts") {
  // class 1. image 1: g1 [0,0,9,9], g2 difficult [20,20,29,29]; image 2: g3 [0,0,19,19]. npos = 2.
  // detections by score:
  //   d1 0.9 on g1 -> TP;   d2 0.8 on g1 again -> FP (duplicate);   d3 0.7 on g2 -> neither (difficult)
  //   d4 0.6 [0,0,19,9] vs g3: 20*10 = 200 / (200 + 400 - 200) = 0.5, not > 0.5 -> FP
  //   d5 0.5 on g3 -> TP
  // tp = [1,1,1,1,2], fp = [0,1,1,2,2]: rec = [.5,.5,.5,.5,1], prec = [1,.5,.5,1/3,.5]
  // all points: envelope [1, .5, .5, .5, .5] after the sentinel -> .5*1 + .5*.5 = 0.75
  // 11 points: t <= .5: 1 (6 points); t >= .6: .5 (5 points) -> 8.5/11
  // class 2: one gt found exactly -> AP 1. class 3: a detection, no gt -> AP -1, not in the mean.
  std::vector<VocGt> gts{G(1, 1, {0, 0, 9, 9}), G(1, 1, {20, 20, 29, 29}, true), G(2, 1, {0, 0, 19, 19}),
                         G(1, 2, {5, 5, 15, 15})};
  std::vector<VocDet> dets{D(1, 1, {0, 0, 9, 9}, 0.9),  D(1, 1, {0, 0, 9, 9}, 0.8),   D(1, 1, {20, 20, 29, 29}, 0.7),
                           D(2, 1, {0, 0, 19, 9}, 0.6), D(2, 1, {0, 0, 19, 19}, 0.5), D(1, 2, {5, 5, 15, 15}, 0.4),
                           D(3, 3, {0, 0, 5, 5}, 0.3)};
  VocResult r = voc_evaluate(gts, dets);
  REQUIRE(r.classes.size() == 3);
  const VocClassResult& c1 = r.classes[0];
  CHECK(c1.npos == 2);
  CHECK(c1.ndet == 5);
  CHECK(c1.recall == std::vector<double>{0.5, 0.5, 0.5, 0.5, 1});
  CHECK(c1.precision[3] == doctest::Approx(1.0 / 3).epsilon(1e-15));
  CHECK(c1.ap == doctest::Approx(0.75).epsilon(1e-15));
  CHECK(r.classes[1].ap == 1);
  CHECK(r.classes[2].ap == -1);
  CHECK(r.mAP == doctest::Approx((0.75 + 1) / 2).epsilon(1e-15));
  VocEvalOptions o07;
  o07.use_07_metric = true;
  CHECK(voc_evaluate(gts, dets, o07).classes[0].ap == doctest::Approx(8.5 / 11).epsilon(1e-15));
}

TEST_CASE("voc_eval: the best-overlap gt decides, even if already taken") {
  // VOC matches each detection to its single best-IoU gt; if that one is taken the detection is a FP
  // although another gt overlaps enough (COCO would take the other one).
  // g1 [0,0,9,9], g2 [3,0,12,9]. d1 0.9 exact on g1 -> TP. d2 0.8 [1,0,10,9]:
  //   IoU(g1) = 9*10/(100+100-90) = 90/110, IoU(g2) = 8*10/(100+100-80) = 80/120 -> best g1, taken -> FP.
  std::vector<VocGt> gts{G(1, 1, {0, 0, 9, 9}), G(1, 1, {3, 0, 12, 9})};
  VocResult r = voc_evaluate(gts, {D(1, 1, {0, 0, 9, 9}, 0.9), D(1, 1, {1, 0, 10, 9}, 0.8)});
  CHECK(r.classes[0].recall == std::vector<double>{0.5, 0.5});
  CHECK(r.classes[0].ap == doctest::Approx(0.5).epsilon(1e-15));
}

TEST_CASE("voc_eval: on COCO inputs crowd/ignore gts are difficult and boxes keep their width") {
  CocoDataset gt;
  gt.images = {{1, "", 0, 0}};
  gt.categories = {{1, "a"}, {2, "b"}};
  CocoAnnotation a;
  a.id = 1, a.image_id = 1, a.category_id = 1, a.bbox = {0, 0, 10, 10}, a.area = 100;
  CocoAnnotation crowd = a;
  crowd.id = 2, crowd.bbox = {50, 50, 10, 10}, crowd.iscrowd = true;
  gt.annotations = {a, crowd};
  std::vector<CocoDetection> dets{{1, 1, {50, 50, 10, 10}, 0.9}, {1, 1, {0, 0, 10, 5}, 0.8}};
  // det on the crowd: neither TP nor FP. det [0,0,10,5] vs gt [0,0,10,10]: IoU 0.5 with either box
  // convention -> not > 0.5 -> FP. npos = 1, nothing found -> AP 0.
  for (bool plus_one : {false, true}) {
    VocEvalOptions o;
    o.plus_one = plus_one;
    VocResult r = voc_evaluate_coco(gt, dets, o);
    REQUIRE(r.classes.size() == 2);  // every gt category is reported
    CHECK(r.classes[0].npos == 1);
    CHECK(r.classes[0].ap == 0);
    CHECK(r.classes[1].ap == -1);
    CHECK(r.mAP == 0);
  }
  dets.push_back({7, 1, {0, 0, 1, 1}, 0.1});
  bool threw = false;
  try {
    voc_evaluate_coco(gt, dets);
  } catch (const Error& e) {
    threw = std::string(e.what()).find("detection 2 has image_id 7") != std::string::npos;
  }
  CHECK(threw);
}
