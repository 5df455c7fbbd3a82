// COCO box mAP, computed exactly as pycocotools' COCOeval (iouType "bbox", useCats 1):
// evaluateImg (greedy matching per image and category), accumulate (precision at 101 recall points)
// and summarize (the 12 standard numbers). docs/detection/evaluation.md walks through the algorithm
// with a worked example; every quirk of the reference is listed there.
//
// Shapes: T IoU thresholds, R recall points, K categories, A area ranges, M maxDets values.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "detectors/eval/coco_json.h"

namespace dg::eval {

struct CocoEvalParams {
  // np.linspace(.5, .95, 10): 0.5 + i*((0.95-0.5)/9), last exactly 0.95.
  std::vector<double> iou_thresholds = default_iou_thresholds();
  // np.linspace(0, 1, 101): i*0.01, last exactly 1.
  std::vector<double> recall_thresholds = default_recall_thresholds();
  std::vector<int> max_dets{1, 10, 100};  // sorted ascending; the largest cuts each image x category
  // [lo, hi] inclusive on the gt `area` field (and on w*h for unmatched detections).
  std::vector<std::array<double, 2>> area_ranges{{0, 1e10}, {0, 32 * 32}, {32 * 32, 96 * 96}, {96 * 96, 1e10}};
  std::vector<std::string> area_labels{"all", "small", "medium", "large"};
  // pycocotools' _prepare overwrites a gt's `ignore` field with `iscrowd`, so `ignore` has no effect
  // there (false, the default: identical to pycocotools). true: a gt is ignored if ignore OR iscrowd
  // (what the field promises; crowd gts still use the crowd IoU, ignore-only gts the normal one).
  bool use_ignore_flag = false;

  static std::vector<double> default_iou_thresholds();
  static std::vector<double> default_recall_thresholds();
};

// The 12 numbers of COCOeval.summarize() for boxes, in its order; -1 where no category had a gt.
struct CocoStats {
  double AP = -1, AP50 = -1, AP75 = -1, APs = -1, APm = -1, APl = -1;
  double AR1 = -1, AR10 = -1, AR100 = -1, ARs = -1, ARm = -1, ARl = -1;
  std::array<double, 12> as_array() const { return {AP, AP50, AP75, APs, APm, APl, AR1, AR10, AR100, ARs, ARm, ARl}; }
  static const std::array<const char*, 12>& names();  // "AP", "AP50", ..., "ARl"
};

struct CocoEvalResult {
  CocoEvalParams params;
  std::vector<int64_t> category_ids;  // sorted unique ids from the gt "categories" (K)
  std::vector<int64_t> image_ids;     // sorted unique ids from the gt "images"
  int T = 0, R = 0, K = 0, A = 0, M = 0;
  std::vector<double> precision;  // [T, R, K, A, M], -1 where a category has no (non-ignored) gt
  std::vector<double> recall;     // [T, K, A, M], -1 likewise
  CocoStats stats;                // summarize() with the default params (-1 entries if params differ)

  double precision_at(int t, int r, int k, int a, int m) const {
    return precision[((((size_t)t * R + r) * K + k) * A + a) * M + m];
  }
  double recall_at(int t, int k, int a, int m) const { return recall[(((size_t)t * K + k) * A + a) * M + m]; }
  // Mean of the entries > -1 (pycocotools' _summarize). ap: precision (true) or recall. iou_threshold <
  // 0 means all thresholds, otherwise only the one exactly equal to it. -1 if nothing is left.
  double summarize(bool ap, double iou_threshold, const std::string& area_label, int max_det) const;
  // AP@[.5:.95] (area all, largest maxDets) of category index k, -1 without gts: the per-class table.
  double category_ap(int k) const;
};

// Evaluate detections against a gt dataset. Detections whose image_id is not among the gt images are
// an error (pycocotools asserts "Results do not correspond to current coco set"); detections and gts
// whose category is not among the gt categories, and gts of unknown images, take no part.
CocoEvalResult coco_evaluate(const CocoDataset& gt, const std::vector<CocoDetection>& dets,
                             const CocoEvalParams& params = {});

// The 12 lines COCOeval.summarize() prints, e.g.
// " Average Precision  (AP) @[ IoU=0.50:0.95 | area=   all | maxDets=100 ] = 0.504\n".
std::string coco_summary_text(const CocoEvalResult& r);

// IoU of two [x, y, w, h] boxes as pycocotools' bbIou: no +1; for a crowd gt the union is the
// detection's area alone (iou = intersection / (w_d * h_d)); 0 when the boxes do not overlap.
double coco_box_iou(const std::array<double, 4>& det, const std::array<double, 4>& gt, bool gt_is_crowd);

// NumPy's pairwise summation of a float64 array (what np.sum / np.mean use), so that means equal
// pycocotools' to the last bit rather than to 1e-16.
double numpy_pairwise_sum(const double* a, size_t n);

}  // namespace dg::eval
