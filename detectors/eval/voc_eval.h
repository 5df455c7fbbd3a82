// PASCAL VOC average precision, as the devkit's Python port (py-faster-rcnn's voc_eval.py):
// boxes x1,y1,x2,y2 with inclusive pixel ends (width x2-x1+1), a detection is a true positive when its
// best-overlapping gt (over all gts of its image and class) has IoU > 0.5 and was not taken yet;
// difficult gts are neither TP nor FP; duplicates are FP. AP is the 11-point interpolated value
// (VOC2007) or the area under the monotone precision envelope (VOC2010+). See
// docs/detection/evaluation.md.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

#include "detectors/eval/coco_json.h"

namespace dg::eval {

struct VocGt {
  int64_t image_id = 0;
  int64_t class_id = 0;
  std::array<double, 4> box{};  // x1, y1, x2, y2
  bool difficult = false;
};

struct VocDet {
  int64_t image_id = 0;
  int64_t class_id = 0;
  std::array<double, 4> box{};  // x1, y1, x2, y2
  double score = 0;
};

struct VocEvalOptions {
  double iou_threshold = 0.5;  // a match needs IoU > threshold (strict)
  bool plus_one = true;        // widths x2-x1+1 (VOC devkit); false: x2-x1
  bool use_07_metric = false;  // true: 11-point AP (VOC2007); false: all-points area (VOC2010+)
};

struct VocClassResult {
  int64_t class_id = 0;
  int64_t npos = 0;                       // non-difficult gts
  int64_t ndet = 0;                       // detections of the class
  std::vector<double> recall, precision;  // [ndet] after each detection in score order
  double ap = -1;                         // -1 when npos == 0 (left out of the mean)
};

struct VocResult {
  std::vector<VocClassResult> classes;  // ascending class id
  double mAP = -1;                      // mean over classes with npos > 0; -1 if none
};

// IoU of two x1,y1,x2,y2 boxes; with plus_one every side length gets +1 (VOC's inclusive pixels).
double voc_box_iou(const std::array<double, 4>& a, const std::array<double, 4>& b, bool plus_one);

// AP from a recall/precision curve (one entry per detection in score order).
// 11-point: mean over t = 0, 0.1, ..., 1 (computed as i*0.1, as np.arange does) of max precision at
// recall >= t (0 if none). All-points: sum over recall steps of step width x envelope precision.
double voc_ap(const std::vector<double>& recall, const std::vector<double>& precision, bool use_07_metric);

// Evaluate every class that appears among the gts or the detections. Detections are ranked by score
// with a stable sort (ties: input order).
VocResult voc_evaluate(const std::vector<VocGt>& gts, const std::vector<VocDet>& dets, const VocEvalOptions& opt = {});

// The VOC metric on COCO-format inputs (the `detgrad eval --voc` path): classes are the gt categories,
// [x, y, w, h] becomes x1 = x, y1 = y, x2 = x + w - o, y2 = y + h - o with o = 1 if plus_one else 0 (so
// the box keeps width w either way), and a gt is difficult if its `difficult`, `iscrowd` or `ignore`
// field is set. Detections on images not in the gt are an error, as in coco_evaluate.
VocResult voc_evaluate_coco(const CocoDataset& gt, const std::vector<CocoDetection>& dets,
                            const VocEvalOptions& opt = {});

}  // namespace dg::eval
