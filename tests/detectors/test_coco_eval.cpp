// COCO evaluation (detectors/eval/coco_eval.h): hand-computed cases, one behaviour of pycocotools'
// COCOeval each, the worked example of docs/detection/evaluation.md, the JSON reader's errors and the
// `detgrad eval` command.
//
// Notation in the comments: e = np.spacing(1) = 2^-52. pycocotools computes precision as
// tp / (fp + tp + e), so one TP out of one detection gives p1 = 1/(1+e) = 1 - 2^-52, not 1 (2/(2+e) is
// exactly 1 again because 2 + 2^-52 rounds to 2). Recall points are r_i = i/100, i = 0..100; a
// precision value "at" r_i is the envelope at the first detection whose recall >= r_i.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/error.h"
#include "detectors/eval/coco_eval.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::eval;
namespace fs = std::filesystem;

namespace {
const double e = 0x1p-52;
const double p1 = 1.0 / (1.0 + e);

CocoAnnotation G(int64_t id, int64_t img, int64_t cat, std::array<double, 4> b, double area = -1, bool crowd = false,
                 bool ignore = false) {
  CocoAnnotation a;
  a.id = id, a.image_id = img, a.category_id = cat, a.bbox = b;
  a.area = area < 0 ? b[2] * b[3] : area;
  a.iscrowd = crowd, a.ignore = ignore;
  return a;
}

CocoDetection D(int64_t img, int64_t cat, std::array<double, 4> b, double score) {
  CocoDetection d;
  d.image_id = img, d.category_id = cat, d.bbox = b, d.score = score;
  return d;
}

CocoDataset dataset(std::vector<int64_t> imgs, std::vector<int64_t> cats, std::vector<CocoAnnotation> anns) {
  CocoDataset d;
  for (int64_t i : imgs) d.images.push_back({i, "", 0, 0});
  for (int64_t c : cats) d.categories.push_back({c, ""});
  d.annotations = anns;
  return d;
}

const std::string kFix = std::string(DETGRAD_SOURCE_DIR) + "/tests/detectors/fixtures_eval/";

bool contains(const std::string& s, const std::string& sub) { return s.find(sub) != std::string::npos; }
}  // namespace

TEST_CASE("coco_eval: thresholds are numpy's linspace doubles") {
  auto t = CocoEvalParams::default_iou_thresholds();
  auto r = CocoEvalParams::default_recall_thresholds();
  REQUIRE(t.size() == 10);
  REQUIRE(r.size() == 101);
  // The bit patterns numpy 1.24 prints for np.linspace(.5, .95, 10) (float.hex): index 8 is
  // 0.8999999999999999, one ulp below the double 0.9; index 5 is exactly 0.75 (AP75 finds it by ==).
  const double expect[10] = {0x1.0000000000000p-1, 0x1.199999999999ap-1, 0x1.3333333333333p-1, 0x1.4cccccccccccdp-1,
                             0x1.6666666666666p-1, 0x1.8000000000000p-1, 0x1.999999999999ap-1, 0x1.b333333333333p-1,
                             0x1.cccccccccccccp-1, 0x1.e666666666666p-1};
  for (int i = 0; i < 10; ++i) CHECK(t[i] == expect[i]);
  CHECK(t[8] != 0.9);
  CHECK(r[0] == 0.0);
  CHECK(r[30] == 0.3);
  CHECK(r[100] == 1.0);
}

TEST_CASE("coco_eval: box IoU as bbIou, crowd IoU over the detection's area") {
  // det [0,0,10,10] vs gt [5,0,10,10]: intersection 5*10 = 50, union 100+100-50 = 150
  CHECK(coco_box_iou({0, 0, 10, 10}, {5, 0, 10, 10}, false) == doctest::Approx(1.0 / 3).epsilon(1e-15));
  // crowd: union = det area 100 -> 0.5
  CHECK(coco_box_iou({0, 0, 10, 10}, {5, 0, 10, 10}, true) == 0.5);
  // det inside a big crowd region: 100/100 = 1 (as a normal gt it would be 100/400)
  CHECK(coco_box_iou({20, 0, 10, 10}, {20, 0, 20, 20}, true) == 1.0);
  CHECK(coco_box_iou({20, 0, 10, 10}, {20, 0, 20, 20}, false) == 0.25);
  // touching edges: no overlap
  CHECK(coco_box_iou({0, 0, 10, 10}, {10, 0, 10, 10}, false) == 0.0);
}

TEST_CASE("coco_eval: numpy pairwise summation") {
  // np.sum(x) for x_i = 0.1*i + 1/(i+1), i < 1000, is 0x1.864af88fa2fa8p+15 with numpy 1.24; a plain
  // left-to-right loop gives 0x1.864af88fa2facp+15.
  std::vector<double> x(1000);
  double naive = 0;
  for (int i = 0; i < 1000; ++i) naive += (x[i] = 0.1 * i + 1.0 / (i + 1));
  CHECK(numpy_pairwise_sum(x.data(), x.size()) == 0x1.864af88fa2fa8p+15);
  CHECK(naive == 0x1.864af88fa2facp+15);
  CHECK(numpy_pairwise_sum(x.data(), 5) == ((((0 + x[0]) + x[1]) + x[2]) + x[3]) + x[4]);
}

TEST_CASE("coco_eval: perfect detections") {
  SUBCASE("one gt, one detection: AP = 1/(1+e), not exactly 1") {
    auto r = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10})}), {D(1, 1, {0, 0, 10, 10}, 0.9)});
    // every precision entry is p1 = 1/(1+e); the mean of 1010 copies stays within an ulp or two
    CHECK(r.precision_at(0, 0, 0, 0, 2) == p1);
    CHECK(r.stats.AP == doctest::Approx(1).epsilon(1e-14));
    CHECK(r.stats.APs == doctest::Approx(1).epsilon(1e-14));  // area 100 <= 32^2: small
    CHECK(r.stats.APm == -1);                                 // no medium gts at all
    CHECK(r.stats.APl == -1);
    CHECK(r.stats.AR1 == 1);
    CHECK(r.stats.AR100 == 1);
    CHECK(r.stats.ARm == -1);
  }
  SUBCASE("two images: precision 2/(2+e) = 1 exactly, so AP = 1 exactly") {
    // sorted: TP (p = 1/(1+e)), TP (p = 2/(2+e) = 1); envelope makes both 1
    auto r = coco_evaluate(dataset({1, 2}, {1}, {G(1, 1, 1, {0, 0, 40, 40}), G(2, 2, 1, {5, 5, 40, 40})}),
                           {D(1, 1, {0, 0, 40, 40}, 0.9), D(2, 1, {5, 5, 40, 40}, 0.8)});
    auto s = r.stats.as_array();
    const double expect[12] = {1, 1, 1, -1, 1, -1, 1, 1, 1, -1, 1, -1};  // area 1600: medium
    for (int i = 0; i < 12; ++i) CHECK_MESSAGE(s[i] == expect[i], std::string(CocoStats::names()[i]));
  }
}

TEST_CASE("coco_eval: one false positive above a true positive") {
  // scores: FP 0.9 (no overlap), TP 0.8. tp = [0,1], fp = [1,1] -> rc = [0,1], pr = [0, 1/(2+e) = 0.5]
  // envelope [0.5, 0.5]; every recall point reads 0.5 -> AP = 0.5 at every threshold.
  // maxDets 1 keeps only the FP: recall 0.
  auto r = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10})}),
                         {D(1, 1, {50, 50, 10, 10}, 0.9), D(1, 1, {0, 0, 10, 10}, 0.8)});
  CHECK(r.stats.AP == 0.5);
  CHECK(r.stats.AP50 == 0.5);
  CHECK(r.stats.AP75 == 0.5);
  CHECK(r.stats.AR1 == 0);
  CHECK(r.stats.AR10 == 1);
  CHECK(r.stats.AR100 == 1);
  CHECK(r.recall_at(0, 0, 0, 0) == 0);
}

TEST_CASE("coco_eval: crowd gts match many times and are ignored") {
  // gt 1: regular [0,0,10,10]; gt 2: crowd [20,0,20,20]. Detections by score:
  //   a 0.95 [20,0,10,10], b 0.92 [30,10,10,10]: inside the crowd, crowd IoU = 100/100 = 1 -> both match
  //   the crowd (it can be matched repeatedly) -> ignored;  c 0.9 exact on gt 1 -> TP;  d 0.6 -> FP.
  // tp = [0,0,1,1], fp = [0,0,0,1], npig = 1: rc = [0,0,1,1], pr = [0,0,p1,1/(2+e)] -> envelope p1 -> AP = p1.
  // Without the crowd flag a and b would be FPs (IoU 0.25): pr = [0,0,1/3,1/4] -> AP = 1/3.
  std::vector<CocoDetection> dets{D(1, 1, {20, 0, 10, 10}, 0.95), D(1, 1, {30, 10, 10, 10}, 0.92),
                                  D(1, 1, {0, 0, 10, 10}, 0.9), D(1, 1, {100, 100, 10, 10}, 0.6)};
  auto crowd = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10}), G(2, 1, 1, {20, 0, 20, 20}, 400, true)}),
                             dets);
  CHECK(crowd.stats.AP == doctest::Approx(1).epsilon(1e-14));
  CHECK(crowd.stats.AR100 == 1);
  auto plain = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10}), G(2, 1, 1, {20, 0, 20, 20}, 400, false)}),
                             dets);
  // now npig = 2: rc = [0,0,.5,.5], pr = [0,0,1/3,1/4] -> envelope 1/3 up to recall .5 (51 points)
  CHECK(plain.stats.AP == doctest::Approx(51.0 / 101 / 3).epsilon(1e-14));
}

TEST_CASE("coco_eval: a regular match beats a better crowd match") {
  // gt 1 regular [0,0,10,10] and gt 2 crowd at the same place; one detection [0,0,10,7.2].
  // IoU with gt 1: 72/100 = 0.72; crowd IoU with gt 2: 72/72 = 1.
  // t <= 0.72 (0.5 ... 0.7, five thresholds): gt 1 matches first (non-ignored gts come first), then the
  // loop stops at the ignored crowd -> TP. t >= 0.75: gt 1 fails, the crowd matches -> ignored, no TP.
  // AP = 5/10 * p1; AP50 = p1; AP75 = 0; AR = 0.5.
  auto r = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10}), G(2, 1, 1, {0, 0, 10, 10}, 100, true)}),
                         {D(1, 1, {0, 0, 10, 7.2}, 0.9)});
  CHECK(r.stats.AP == doctest::Approx(0.5).epsilon(1e-14));
  CHECK(r.stats.AP50 == doctest::Approx(1).epsilon(1e-14));
  CHECK(r.stats.AP75 == 0);
  CHECK(r.stats.AR100 == doctest::Approx(0.5).epsilon(1e-14));
}

TEST_CASE("coco_eval: the ignore flag (pycocotools overwrites it; use_ignore_flag honours it)") {
  // gt 1 [0,0,10,10]; gt 2 [50,50,10,10] with ignore = 1 (not crowd); one detection exact on gt 1.
  // pycocotools: ignore := iscrowd = 0, so gt 2 counts: npig = 2, rc = [0.5], pr = [p1];
  //   r_0 .. r_50 read p1 (r_50 = 0.5 <= 0.5), r_51.. read 0 -> AP = 51/101 * p1.
  // use_ignore_flag: npig = 1 -> AP = p1.
  CocoDataset gt = dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10}), G(2, 1, 1, {50, 50, 10, 10}, -1, false, true)});
  std::vector<CocoDetection> dets{D(1, 1, {0, 0, 10, 10}, 0.9)};
  CHECK(coco_evaluate(gt, dets).stats.AP == doctest::Approx(51.0 / 101).epsilon(1e-14));
  CocoEvalParams honour;
  honour.use_ignore_flag = true;
  CHECK(coco_evaluate(gt, dets, honour).stats.AP == doctest::Approx(1).epsilon(1e-14));
  // a detection on the ignored gt is then ignored too (neither TP nor FP): still AP = p1
  dets.push_back(D(1, 1, {50, 50, 10, 10}, 0.95));
  CHECK(coco_evaluate(gt, dets, honour).stats.AP == doctest::Approx(1).epsilon(1e-14));
}

TEST_CASE("coco_eval: area ranges") {
  // gts: small [0,0,10,10] (100), medium [100,100,50,50] (2500), large [300,300,100,100] (10000).
  // dets: f 0.95 FP [200,0,50,50] (area 2500), s 0.9 on the small gt, l 0.8 on the large gt.
  // all:    f FP, s TP, l TP: rc = [0,1/3,2/3], pr = [0,0.5,2/(3+e)] -> envelope 2/3 up to rc 2/3:
  //         r_0..r_66 (67 points) read 2/3 -> AP = 67/101 * 2/3.
  // small:  npig 1; f unmatched with area 2500 > 1024 -> ignored; l matches the large (ignored) gt ->
  //         ignored; s TP -> AP = p1.
  // medium: npig 1 (the medium gt, never found); f unmatched, area in range -> FP; s, l match ignored
  //         gts -> ignored -> AP 0, AR 0.
  // large:  f ignored (area), s ignored (matches the ignored small gt), l TP -> AP = p1.
  // AR1: only f (top score) per image -> 0.
  CocoDataset gt = dataset(
      {1}, {1}, {G(1, 1, 1, {0, 0, 10, 10}), G(2, 1, 1, {100, 100, 50, 50}), G(3, 1, 1, {300, 300, 100, 100})});
  auto r = coco_evaluate(gt, {D(1, 1, {200, 0, 50, 50}, 0.95), D(1, 1, {0, 0, 10, 10}, 0.9),
                              D(1, 1, {300, 300, 100, 100}, 0.8)});
  CHECK(r.stats.AP == doctest::Approx(67.0 / 101 * 2 / 3).epsilon(1e-14));
  CHECK(r.stats.APs == doctest::Approx(1).epsilon(1e-14));
  CHECK(r.stats.APm == 0);
  CHECK(r.stats.APl == doctest::Approx(1).epsilon(1e-14));
  CHECK(r.stats.AR1 == 0);
  CHECK(r.stats.AR100 == doctest::Approx(2.0 / 3).epsilon(1e-14));
  CHECK(r.stats.ARs == 1);
  CHECK(r.stats.ARm == 0);
  CHECK(r.stats.ARl == 1);

  SUBCASE("the range is inclusive: area 1024 is small and medium, 1024.5 only medium") {
    auto both = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 32, 32}, 1024)}), {D(1, 1, {0, 0, 32, 32}, 0.9)});
    CHECK(both.stats.APs == doctest::Approx(1).epsilon(1e-14));
    CHECK(both.stats.APm == doctest::Approx(1).epsilon(1e-14));
    auto med = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 32, 32}, 1024.5)}), {D(1, 1, {0, 0, 32, 32}, 0.9)});
    CHECK(med.stats.APs == -1);
    CHECK(med.stats.APm == doctest::Approx(1).epsilon(1e-14));
  }
  SUBCASE("the gt's area field decides, not its box") {
    // box 10x10 but area 5000 -> medium
    auto r2 = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10}, 5000)}), {D(1, 1, {0, 0, 10, 10}, 0.9)});
    CHECK(r2.stats.APs == -1);
    CHECK(r2.stats.APm == doctest::Approx(1).epsilon(1e-14));
  }
}

TEST_CASE("coco_eval: maxDets cuts per image and category") {
  // 11 FPs (scores 0.99 .. 0.89) above the TP (0.5): the TP is 12th.
  // maxDets 100: tp = 1 at position 12, pr = 1/(12+e) everywhere after the envelope -> AP = 1/12;
  // AR10 and AR1 see no TP -> 0.
  std::vector<CocoDetection> dets;
  for (int i = 0; i < 11; ++i) dets.push_back(D(1, 1, {100.0 + 20 * i, 100, 10, 10}, 0.99 - 0.01 * i));
  dets.push_back(D(1, 1, {0, 0, 10, 10}, 0.5));
  CocoDataset gt = dataset({1}, {1, 2}, {G(1, 1, 1, {0, 0, 10, 10})});
  auto r = coco_evaluate(gt, dets);
  CHECK(r.stats.AP == doctest::Approx(1.0 / 12).epsilon(1e-14));
  CHECK(r.stats.AR100 == 1);
  CHECK(r.stats.AR10 == 0);
  CHECK(r.stats.AR1 == 0);

  SUBCASE("100 detections of another category do not count against this one") {
    for (int i = 0; i < 150; ++i) dets.push_back(D(1, 2, {500, 500, 10, 10}, 0.999));
    auto r2 = coco_evaluate(gt, dets);
    CHECK(r2.stats.AP == doctest::Approx(1.0 / 12).epsilon(1e-14));  // category 2 has no gt: left out
    CHECK(r2.stats.AR100 == 1);
  }
  SUBCASE("the 101st detection of the image and category is dropped") {
    std::vector<CocoDetection> many;
    for (int i = 0; i < 100; ++i) many.push_back(D(1, 1, {100, 100, 10, 10}, 0.9));
    many.push_back(D(1, 1, {0, 0, 10, 10}, 0.5));
    auto r3 = coco_evaluate(gt, many);
    CHECK(r3.stats.AP == 0);
    CHECK(r3.stats.AR100 == 0);
  }
}

TEST_CASE("coco_eval: no detections at all") {
  // Every category with gts gets precision 0 and recall 0; areas without gts stay -1.
  // (pycocotools' loadRes raises IndexError on an empty list; COCOeval itself gives these numbers.)
  auto r = coco_evaluate(dataset({1, 2}, {1, 2}, {G(1, 1, 1, {0, 0, 10, 10}), G(2, 2, 2, {0, 0, 20, 20})}), {});
  auto s = r.stats.as_array();
  const double expect[12] = {0, 0, 0, 0, -1, -1, 0, 0, 0, 0, -1, -1};
  for (int i = 0; i < 12; ++i) CHECK_MESSAGE(s[i] == expect[i], std::string(CocoStats::names()[i]));
  std::string text = coco_summary_text(r);
  CHECK(contains(text, " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = -1.000\n"));
  CHECK(contains(text, " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 0.000\n"));
}

TEST_CASE("coco_eval: categories without gts, unknown categories and unknown images") {
  // category 1: perfect (AP = p1); category 2: detections but no gt -> precision -1, left out of the
  // mean; category 9 is not in the gt categories -> its detections take no part.
  CocoDataset gt = dataset({1}, {1, 2}, {G(1, 1, 1, {0, 0, 10, 10})});
  auto r = coco_evaluate(gt,
                         {D(1, 1, {0, 0, 10, 10}, 0.9), D(1, 2, {0, 0, 10, 10}, 0.95), D(1, 9, {0, 0, 10, 10}, 0.99)});
  CHECK(r.K == 2);
  CHECK(r.stats.AP == doctest::Approx(1).epsilon(1e-14));
  CHECK(r.category_ap(0) == doctest::Approx(1).epsilon(1e-14));
  CHECK(r.category_ap(1) == -1);
  CHECK(r.precision_at(0, 0, 1, 0, 2) == -1);
  // a detection on an image the gt does not have: pycocotools asserts; detgrad says which one
  std::string msg = error_of([&] { coco_evaluate(gt, {D(1, 1, {0, 0, 1, 1}, 0.5), D(7, 1, {0, 0, 1, 1}, 0.5)}); });
  CHECK(contains(msg, "detection 1 has image_id 7"));
  CHECK(contains(msg, "not an image of the ground truth"));
  // gts of images missing from "images" are not evaluated
  CocoDataset stray = dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10}), G(2, 5, 1, {0, 0, 10, 10})});
  CHECK(coco_evaluate(stray, {D(1, 1, {0, 0, 10, 10}, 0.9)}).stats.AR100 == 1);
}

TEST_CASE("coco_eval: duplicate detections are false positives") {
  // gts A [0,0,10,10], B [50,0,10,10]; dets: A 0.9 (TP), A again 0.8 (gt taken -> FP), B 0.7 (TP).
  // tp = [1,1,2], fp = [0,1,1]: rc = [.5,.5,1], pr = [p1, 1/(2+e), 2/(3+e)] -> envelope [p1, 2/3, 2/3].
  // r_0..r_50 -> index 0 -> p1 (51 points); r_51..r_100 -> index 2 -> 2/(3+e) (50 points).
  auto r = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10}), G(2, 1, 1, {50, 0, 10, 10})}),
                         {D(1, 1, {0, 0, 10, 10}, 0.9), D(1, 1, {0, 0, 10, 10}, 0.8), D(1, 1, {50, 0, 10, 10}, 0.7)});
  CHECK(r.stats.AP == doctest::Approx((51 * p1 + 50 * 2 / (3 + e)) / 101).epsilon(1e-14));
  CHECK(r.precision_at(0, 50, 0, 0, 2) == p1);
  CHECK(r.precision_at(0, 51, 0, 0, 2) == 2 / (3 + e));
}

TEST_CASE("coco_eval: score ties keep a stable order (image id, then file order)") {
  // Equal scores 0.5: an FP and a TP. FP first -> AP 0.5 (as in "one FP above a TP"); TP first -> p1.
  SUBCASE("across images: the smaller image id comes first") {
    // FP on image 1, TP on image 2 -> FP first
    auto a = coco_evaluate(dataset({1, 2}, {1}, {G(1, 2, 1, {0, 0, 10, 10})}),
                           {D(2, 1, {0, 0, 10, 10}, 0.5), D(1, 1, {0, 0, 10, 10}, 0.5)});
    CHECK(a.stats.AP == 0.5);
    // TP on image 1, FP on image 2 -> TP first, whatever the file order
    auto b = coco_evaluate(dataset({1, 2}, {1}, {G(1, 1, 1, {0, 0, 10, 10})}),
                           {D(2, 1, {0, 0, 10, 10}, 0.5), D(1, 1, {0, 0, 10, 10}, 0.5)});
    CHECK(b.stats.AP == doctest::Approx(1).epsilon(1e-14));
  }
  SUBCASE("within an image: file order") {
    CocoDataset gt = dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10})});
    auto fp_first = coco_evaluate(gt, {D(1, 1, {50, 50, 10, 10}, 0.5), D(1, 1, {0, 0, 10, 10}, 0.5)});
    auto tp_first = coco_evaluate(gt, {D(1, 1, {0, 0, 10, 10}, 0.5), D(1, 1, {50, 50, 10, 10}, 0.5)});
    CHECK(fp_first.stats.AP == 0.5);
    CHECK(tp_first.stats.AP == doctest::Approx(1).epsilon(1e-14));
    // maxDets = 1 keeps the first in file order
    CHECK(fp_first.stats.AR1 == 0);
    CHECK(tp_first.stats.AR1 == 1);
  }
}

TEST_CASE("coco_eval: a gt with id 0 never gives a true positive (pycocotools quirk)") {
  // dtMatches holds the matched gt's id and "matched" means != 0, so the match to gt id 0 counts as an
  // FP, although the gt is used up. Same data with id 1: AP = p1.
  std::vector<CocoDetection> dets{D(1, 1, {0, 0, 10, 10}, 0.9)};
  CHECK(coco_evaluate(dataset({1}, {1}, {G(0, 1, 1, {0, 0, 10, 10})}), dets).stats.AP == 0);
  CHECK(coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10})}), dets).stats.AP ==
        doctest::Approx(1).epsilon(1e-14));
}

TEST_CASE("coco_eval: the worked example of docs/detection/evaluation.md") {
  // See the docs for the derivation. cat: 3 gts (small 400, medium 1600, large 10000), 4 detections;
  // dog: one crowd gt only -> -1, left out.
  //   t in {.5,.55,.6}:       precision mean (34*1 + 67*0.75)/101 = 84.25/101, recall 1
  //   t in {.65,.7,.75,.8}:   (34*1 + 33*2/3)/101 = 56/101, recall 2/3
  //   t in {.85,.9,.95}:      34/101, recall 1/3
  CocoDataset gt = read_coco_gt(kFix + "worked_gt.json");
  auto dets = read_coco_detections(kFix + "worked_dt.json");
  auto r = coco_evaluate(gt, dets);
  const double expect[12] = {(3 * 84.25 + 4 * 56 + 3 * 34) / 1010,
                             84.25 / 101,
                             56.0 / 101,
                             1,
                             0.7,
                             0.3,
                             1.0 / 3,
                             2.0 / 3,
                             2.0 / 3,
                             1,
                             0.7,
                             0.3};
  auto s = r.stats.as_array();
  for (int i = 0; i < 12; ++i)
    CHECK_MESSAGE(s[i] == doctest::Approx(expect[i]).epsilon(1e-12), std::string(CocoStats::names()[i]));
  CHECK(r.category_ap(1) == -1);
  const std::string text = coco_summary_text(r);
  CHECK(text ==
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.573\n"
        " Average Precision  (AP) @[ IoU=0.50      | area=   all | maxDets=100 ] = 0.834\n"
        " Average Precision  (AP) @[ IoU=0.75      | area=   all | maxDets=100 ] = 0.554\n"
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 1.000\n"
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.700\n"
        " Average Precision  (AP) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.300\n"
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=  1 ] = 0.333\n"
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets= 10 ] = 0.667\n"
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.667\n"
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= small | maxDets=100 ] = 1.000\n"
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area=medium | maxDets=100 ] = 0.700\n"
        " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.300\n");
}

TEST_CASE("coco_eval: same bits for any thread count") {
  CocoDataset gt = read_coco_gt(kFix + "worked_gt.json");
  auto dets = read_coco_detections(kFix + "worked_dt.json");
  // more categories so that several threads have work: copy cat 1 into categories 3..8
  for (int64_t c = 3; c <= 8; ++c) {
    gt.categories.push_back({c, ""});
    for (size_t i = 0; i < 3; ++i) {
      CocoAnnotation a = gt.annotations[i];
      a.id = 100 * c + (int64_t)i, a.category_id = c;
      gt.annotations.push_back(a);
    }
    for (size_t i = 0; i < 4; ++i) {
      CocoDetection d = dets[i];
      d.category_id = c, d.score -= 0.01 * (double)c;
      dets.push_back(d);
    }
  }
  same_bits_for_threads([&] {
    auto r = coco_evaluate(gt, dets);
    const std::array<double, 12> st = r.stats.as_array();
    return std::vector<std::pair<std::string, Tensor>>{{"precision", as_tensor(r.precision)},
                                                       {"recall", as_tensor(r.recall)},
                                                       {"stats", as_tensor(std::vector<double>(st.begin(), st.end()))}};
  });
}

TEST_CASE("coco_json: errors name the file, the record and the field") {
  CHECK(contains(error_of([] { read_coco_gt(kFix + "missing_area_gt.json"); }),
                 "missing_area_gt.json: annotations[0]: missing field 'area'"));
  CHECK(contains(error_of([] { read_coco_detections(kFix + "bad_bbox_dt.json"); }),
                 "bad_bbox_dt.json: [0]: field 'bbox' must be 4 numbers"));
  CHECK(contains(error_of([] { read_coco_detections(kFix + "truncated_dt.json"); }),
                 "truncated_dt.json: not valid JSON"));
  CHECK(contains(error_of([] { read_coco_gt(kFix + "no_such_file.json"); }), "no_such_file.json: cannot open file"));
  using nlohmann::json;
  CHECK(error_of([] { parse_coco_gt(json::parse(R"({"images": [], "annotations": []})"), "g.json"); }) ==
        "g.json: missing field 'categories'");
  CHECK(error_of([] { parse_coco_gt(json::parse(R"([1, 2])"), "g.json"); }) ==
        "g.json: a COCO ground-truth file must be a JSON object, got array");
  CHECK(error_of([] {
          parse_coco_gt(json::parse(R"({"images": [{"id": "a"}], "annotations": [], "categories": []})"), "g.json");
        }) == "g.json: images[0]: field 'id' must be an integer, got \"a\"");
  CHECK(error_of([] { parse_coco_detections(json::parse(R"({"annotations": []})"), "d.json"); }) ==
        "d.json: a detection result file must be a JSON list of {image_id, category_id, bbox, score}, got object");
  CHECK(error_of([] {
          parse_coco_detections(json::parse(R"([{"image_id": 1, "category_id": 1, "bbox": [0,0,1,1]}])"), "d.json");
        }) == "d.json: [0]: missing field 'score'");
  CHECK(error_of([] {
          parse_coco_detections(json::parse(R"([{"image_id": 1, "category_id": 1, "bbox": [0,0,1,"x"], "score": 1}])"),
                                "d.json");
        }) == "d.json: [0]: field 'bbox' must be a number, got \"x\"");
}

TEST_CASE("coco_json: write then read gives the same values") {
  CocoDataset gt = dataset({3, 1}, {2}, {G(5, 3, 2, {0.1, 0.2, 10.5, 1.0 / 3}, 7.25, true, true)});
  gt.images[0].file_name = "a.png", gt.images[0].width = 64, gt.images[0].height = 48;
  gt.categories[0].name = "box";
  std::vector<CocoDetection> dets{D(3, 2, {1.0 / 7, 2, 3, 4}, 0.123456789012345678)};
  fs::path dir = fs::temp_directory_path() / ("detgrad_coco_json_" + std::to_string(getpid()));
  fs::create_directories(dir);
  write_coco_gt((dir / "gt.json").string(), gt);
  write_coco_detections((dir / "dt.json").string(), dets);
  CocoDataset g2 = read_coco_gt((dir / "gt.json").string());
  auto d2 = read_coco_detections((dir / "dt.json").string());
  fs::remove_all(dir);
  REQUIRE(g2.annotations.size() == 1);
  CHECK(g2.images[0].file_name == "a.png");
  CHECK(g2.images[0].width == 64);
  CHECK(g2.categories[0].name == "box");
  const CocoAnnotation& a = g2.annotations[0];
  CHECK(a.id == 5);
  CHECK(a.bbox == gt.annotations[0].bbox);  // doubles round-trip exactly
  CHECK(a.area == 7.25);
  CHECK(a.iscrowd);
  CHECK(a.ignore);
  REQUIRE(d2.size() == 1);
  CHECK(d2[0].bbox == dets[0].bbox);
  CHECK(d2[0].score == dets[0].score);
}

TEST_CASE("coco_eval cli: detgrad eval prints the 12 lines and writes the JSON") {
  fs::path out = fs::temp_directory_path() / ("detgrad_eval_cli_" + std::to_string(getpid()) + ".json");
  std::string o;
  int st = run_detgrad(
      "eval --gt " + kFix + "worked_gt.json --dt " + kFix + "worked_dt.json --voc --json " + out.string(), o);
  CHECK_MESSAGE(st == 0, o);
  CHECK(contains(o, " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.573\n"));
  CHECK(contains(o, " Average Recall     (AR) @[ IoU=0.50:0.95 | area= large | maxDets=100 ] = 0.300\n"));
  auto j = read_json_file(out.string());
  fs::remove(out);
  CHECK(j["AP"].get<double>() == doctest::Approx(578.75 / 1010).epsilon(1e-12));
  CHECK(j["AR1"].get<double>() == doctest::Approx(1.0 / 3).epsilon(1e-12));
  for (const char* k : CocoStats::names()) CHECK_MESSAGE(j.contains(k), std::string(k));
  CHECK(j["per_class_AP"]["dog"].get<double>() == -1);  // the one eval schema (task/detection_eval.h)
  // VOC all-points for "cat": rec [1/3,1/3,2/3,1], prec [1,.5,2/3,.75] -> 1/3*1 + 1/3*.75 + 1/3*.75
  CHECK(j["voc"]["mAP"].get<double>() == doctest::Approx(2.5 / 3).epsilon(1e-12));
}

TEST_CASE("coco_eval cli: errors exit 1 and name the file") {
  std::string o;
  CHECK(run_detgrad("eval --gt " + kFix + "missing_area_gt.json --dt " + kFix + "worked_dt.json", o) == 1);
  CHECK(contains(o, "missing_area_gt.json: annotations[0]: missing field 'area'"));
  CHECK(run_detgrad("eval --gt " + kFix + "worked_gt.json --dt " + kFix + "truncated_dt.json", o) == 1);
  CHECK(contains(o, "truncated_dt.json: not valid JSON"));
  CHECK(run_detgrad("eval --gt " + kFix + "worked_gt.json --dt " + kFix + "nope.json", o) == 1);
  CHECK(contains(o, "nope.json: cannot open file"));
  CHECK(run_detgrad("eval --gt " + kFix + "worked_gt.json --dt " + kFix + "unknown_image_dt.json", o) == 1);
  CHECK(contains(o, "unknown_image_dt.json against"));
  CHECK(contains(o, "detection 0 has image_id 7"));
  CHECK(run_detgrad("eval --gt " + kFix + "worked_gt.json", o) == 1);
  CHECK(contains(o, "--dt"));
}

TEST_CASE("coco_eval: custom parameters and bad parameters") {
  // Only IoU 0.5 and one area range: AP is then AP50 of the "one FP above a TP" case, 0.5.
  CocoEvalParams p;
  p.iou_thresholds = {0.5};
  p.area_ranges = {{0, 1e10}};
  p.area_labels = {"all"};
  auto r = coco_evaluate(dataset({1}, {1}, {G(1, 1, 1, {0, 0, 10, 10})}),
                         {D(1, 1, {50, 50, 10, 10}, 0.9), D(1, 1, {0, 0, 10, 10}, 0.8)}, p);
  CHECK(r.T == 1);
  CHECK(r.A == 1);
  CHECK(r.stats.AP == 0.5);
  CHECK(r.stats.AP50 == 0.5);
  CHECK(r.stats.AP75 == -1);  // no threshold equals 0.75
  CHECK(r.stats.APs == -1);   // no "small" label
  CHECK(r.summarize(false, 0.5, "all", 1) == 0);
  p.area_labels = {"all", "small"};
  CHECK(contains(error_of([&] { coco_evaluate(CocoDataset{}, {}, p); }), "1 area ranges but 2 area labels"));
  CHECK(contains(error_of([] {
                   coco_evaluate(dataset({1}, {1}, {G(4, 1, 1, {0, 0, 1, 1}), G(4, 1, 1, {0, 0, 2, 2})}), {});
                 }),
                 "gt annotations 0 and 1 share the id 4"));
}

TEST_CASE("coco_eval cli: --use-07-metric and --use-ignore-flag") {
  fs::path out = fs::temp_directory_path() / ("detgrad_eval_cli07_" + std::to_string(getpid()) + ".json");
  std::string o;
  int st = run_detgrad("eval --gt " + kFix + "worked_gt.json --dt " + kFix +
                           "worked_dt.json --voc --use-07-metric "
                           "--use-ignore-flag --no-per-category --json " +
                           out.string(),
                       o);
  CHECK_MESSAGE(st == 0, o);
  CHECK(!contains(o, "per category"));
  auto j = read_json_file(out.string());
  fs::remove(out);
  // 11-point VOC for "cat": rec [1/3,1/3,2/3,1], prec [1,.5,2/3,.75]: t = 0, .1, .2, .30000000000000004
  // (<= 1/3) read 1; the other 7 points read .75 -> (4 + 7*.75)/11
  CHECK(j["voc"]["mAP"].get<double>() == doctest::Approx(9.25 / 11).epsilon(1e-12));
  CHECK(j["voc"]["metric"] == "11point");
  // the worked example has no `ignore` fields: same COCO numbers
  CHECK(j["AP"].get<double>() == doctest::Approx(578.75 / 1010).epsilon(1e-12));
}
