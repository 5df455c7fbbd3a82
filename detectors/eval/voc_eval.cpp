// PASCAL VOC AP (see voc_eval.h): per class, rank detections by score, match each to its
// best-overlapping gt, cumulate TP/FP, then integrate precision over recall.
#include "detectors/eval/voc_eval.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <unordered_set>

#include "autograd/error.h"
#include "detectors/eval/coco_eval.h"  // numpy_pairwise_sum

namespace dg::eval {

double voc_box_iou(const std::array<double, 4>& a, const std::array<double, 4>& b, bool plus_one) {
  const double o = plus_one ? 1.0 : 0.0;
  double iw = std::max(std::min(a[2], b[2]) - std::max(a[0], b[0]) + o, 0.0);
  double ih = std::max(std::min(a[3], b[3]) - std::max(a[1], b[1]) + o, 0.0);
  double inter = iw * ih;
  double uni = (a[2] - a[0] + o) * (a[3] - a[1] + o) + (b[2] - b[0] + o) * (b[3] - b[1] + o) - inter;
  return inter / uni;
}

double voc_ap(const std::vector<double>& rec, const std::vector<double>& prec, bool use_07_metric) {
  check(rec.size() == prec.size(), "voc_ap: recall has ", rec.size(), " entries but precision ", prec.size());
  const size_t n = rec.size();
  if (use_07_metric) {
    // 11-point interpolation: t = i*0.1 (so the fourth point is 0.30000000000000004 and a recall of
    // exactly 0.3 does not reach it -- np.arange(0, 1.1, 0.1) in the reference code).
    double ap = 0;
    for (int i = 0; i <= 10; ++i) {
      double t = 0.0 + (double)i * 0.1, p = 0;
      bool any = false;
      for (size_t j = 0; j < n; ++j)
        if (rec[j] >= t) p = any ? std::max(p, prec[j]) : prec[j], any = true;
      ap = ap + p / 11.0;
    }
    return ap;
  }
  // All points: sentinels (recall 0 -> precision 0, recall 1 -> precision 0), envelope from the
  // right, then sum (r[i+1] - r[i]) * p[i+1] where recall changes.
  std::vector<double> mrec(n + 2), mpre(n + 2);
  mrec[0] = 0, mpre[0] = 0, mrec[n + 1] = 1, mpre[n + 1] = 0;
  for (size_t j = 0; j < n; ++j) mrec[j + 1] = rec[j], mpre[j + 1] = prec[j];
  for (size_t i = n + 1; i > 0; --i) mpre[i - 1] = std::max(mpre[i - 1], mpre[i]);
  std::vector<double> terms;
  for (size_t i = 0; i + 1 < n + 2; ++i)
    if (mrec[i + 1] != mrec[i]) terms.push_back((mrec[i + 1] - mrec[i]) * mpre[i + 1]);
  return numpy_pairwise_sum(terms.data(), terms.size());
}

namespace {

VocClassResult evaluate_class(int64_t cls, const std::vector<VocGt>& gts, const std::vector<VocDet>& dets,
                              const VocEvalOptions& opt) {
  VocClassResult r;
  r.class_id = cls;
  // gts of this class per image, in input order
  std::map<int64_t, std::vector<const VocGt*>> by_image;
  for (const VocGt& g : gts)
    if (g.class_id == cls) {
      by_image[g.image_id].push_back(&g);
      r.npos += !g.difficult;
    }
  std::map<int64_t, std::vector<uint8_t>> taken;
  for (auto& [img, v] : by_image) taken[img].assign(v.size(), 0);

  std::vector<const VocDet*> ds;
  for (const VocDet& d : dets)
    if (d.class_id == cls) ds.push_back(&d);
  std::stable_sort(ds.begin(), ds.end(), [](const VocDet* a, const VocDet* b) { return a->score > b->score; });
  r.ndet = (int64_t)ds.size();

  double tp = 0, fp = 0;
  const double eps = std::numeric_limits<double>::epsilon();
  for (const VocDet* d : ds) {
    double ovmax = -std::numeric_limits<double>::infinity();
    int jmax = -1;
    auto it = by_image.find(d->image_id);
    if (it != by_image.end())
      for (size_t j = 0; j < it->second.size(); ++j) {
        double ov = voc_box_iou(d->box, it->second[j]->box, opt.plus_one);
        if (ov > ovmax) ovmax = ov, jmax = (int)j;  // first maximum, as np.argmax
      }
    if (ovmax > opt.iou_threshold) {
      if (!it->second[jmax]->difficult) {
        uint8_t& t = taken[d->image_id][jmax];
        if (!t) tp += 1, t = 1;
        else fp += 1;  // duplicate detection of an already found object
      }                // difficult: neither TP nor FP
    } else {
      fp += 1;
    }
    r.recall.push_back(tp / (double)r.npos);
    r.precision.push_back(tp / std::max(tp + fp, eps));
  }
  if (r.npos > 0) r.ap = voc_ap(r.recall, r.precision, opt.use_07_metric);
  return r;
}

}  // namespace

VocResult voc_evaluate(const std::vector<VocGt>& gts, const std::vector<VocDet>& dets, const VocEvalOptions& opt) {
  std::set<int64_t> classes;
  for (const VocGt& g : gts) classes.insert(g.class_id);
  for (const VocDet& d : dets) classes.insert(d.class_id);
  for (size_t i = 0; i < dets.size(); ++i)
    check(std::isfinite(dets[i].score), "voc_evaluate: detection ", i, " has a non-finite score");
  VocResult r;
  std::vector<double> aps;
  for (int64_t c : classes) {
    r.classes.push_back(evaluate_class(c, gts, dets, opt));
    if (r.classes.back().npos > 0) aps.push_back(r.classes.back().ap);
  }
  if (!aps.empty()) r.mAP = numpy_pairwise_sum(aps.data(), aps.size()) / (double)aps.size();
  return r;
}

VocResult voc_evaluate_coco(const CocoDataset& gt, const std::vector<CocoDetection>& dets, const VocEvalOptions& opt) {
  const double o = opt.plus_one ? 1.0 : 0.0;
  std::unordered_set<int64_t> images, cats;
  for (const CocoImage& im : gt.images) images.insert(im.id);
  for (const CocoCategory& c : gt.categories) cats.insert(c.id);
  std::vector<VocGt> g;
  for (const CocoAnnotation& a : gt.annotations) {
    if (!images.count(a.image_id) || !cats.count(a.category_id)) continue;
    const auto& b = a.bbox;
    g.push_back({a.image_id,
                 a.category_id,
                 {b[0], b[1], b[0] + b[2] - o, b[1] + b[3] - o},
                 a.difficult || a.iscrowd || a.ignore});
  }
  std::vector<VocDet> d;
  for (size_t n = 0; n < dets.size(); ++n) {
    const CocoDetection& x = dets[n];
    check(images.count(x.image_id), "voc_evaluate: detection ", n, " has image_id ", x.image_id,
          " which is not an image of the ground truth");
    if (!cats.count(x.category_id)) continue;
    const auto& b = x.bbox;
    d.push_back({x.image_id, x.category_id, {b[0], b[1], b[0] + b[2] - o, b[1] + b[3] - o}, x.score});
  }
  VocResult r = voc_evaluate(g, d, opt);
  // Report every gt category (also those without gts or detections: ap -1).
  std::set<int64_t> have;
  for (const auto& c : r.classes) have.insert(c.class_id);
  for (int64_t c : cats)
    if (!have.count(c)) r.classes.push_back(VocClassResult{c, 0, 0, {}, {}, -1});
  std::sort(r.classes.begin(), r.classes.end(), [](const auto& x, const auto& y) { return x.class_id < y.class_id; });
  return r;
}

}  // namespace dg::eval
