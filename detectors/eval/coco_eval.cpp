// COCO box evaluation, step for step as pycocotools' COCOeval (see coco_eval.h and
// docs/detection/evaluation.md). Per category (independent, so categories run in parallel and the
// result does not depend on the thread count):
//   1. evaluate_image: for every image with gts or detections of the category, sort its detections by
//      score (stable), keep the first maxDets[-1], compute the D x G IoU matrix, and for every area range
//      and IoU threshold match greedily -> per detection "matched" and "ignored" flags per threshold.
//   2. accumulate: for every area range and maxDets value, concatenate the images' detections (each
//      image cut to maxDet), stable-sort by score, cumulate TP/FP, read the precision envelope at the
//      101 recall points.
// summarize() then averages the entries > -1.
#include "detectors/eval/coco_eval.h"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <unordered_map>

#include "autograd/error.h"

namespace dg::eval {

std::vector<double> CocoEvalParams::default_iou_thresholds() {
  // np.linspace(.5, .95, 10) computes start + i*step with step = (stop-start)/(num-1) and then sets the
  // last value to stop; 0.5 + 5*step == 0.75 exactly, so AP75 finds its threshold by ==.
  std::vector<double> t(10);
  const double step = (0.95 - 0.5) / 9;
  for (int i = 0; i < 10; ++i) t[i] = (double)i * step + 0.5;
  t[9] = 0.95;
  return t;
}

std::vector<double> CocoEvalParams::default_recall_thresholds() {
  std::vector<double> r(101);
  const double step = 1.0 / 100;
  for (int i = 0; i < 101; ++i) r[i] = (double)i * step + 0.0;
  r[100] = 1.0;
  return r;
}

const std::array<const char*, 12>& CocoStats::names() {
  static const std::array<const char*, 12> n{"AP",  "AP50", "AP75",  "APs", "APm", "APl",
                                             "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"};
  return n;
}

double coco_box_iou(const std::array<double, 4>& d, const std::array<double, 4>& g, bool crowd) {
  // Same operation order as maskApi.c's bbIou, so the doubles are identical.
  double w = std::fmin(d[2] + d[0], g[2] + g[0]) - std::fmax(d[0], g[0]);
  if (w <= 0) return 0;
  double h = std::fmin(d[3] + d[1], g[3] + g[1]) - std::fmax(d[1], g[1]);
  if (h <= 0) return 0;
  double i = w * h, da = d[2] * d[3], ga = g[2] * g[3];
  double u = crowd ? da : da + ga - i;
  return i / u;
}

double numpy_pairwise_sum(const double* a, size_t n) {
  // numpy/core/src/umath/loops_utils.h: blocks of <= 128 summed with 8 running sums, larger arrays
  // split in two halves (the split a multiple of 8). add.reduce starts from the identity 0.
  if (n < 8) {
    double r = 0.0;
    for (size_t i = 0; i < n; ++i) r += a[i];
    return r;
  }
  if (n <= 128) {
    double r[8];
    for (int j = 0; j < 8; ++j) r[j] = a[j];
    size_t i = 8;
    for (; i < n - (n % 8); i += 8)
      for (int j = 0; j < 8; ++j) r[j] += a[i + j];
    double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; ++i) res += a[i];
    return res;
  }
  size_t n2 = n / 2;
  n2 -= n2 % 8;
  return numpy_pairwise_sum(a, n2) + numpy_pairwise_sum(a + n2, n - n2);
}

namespace {

// One area range's detections of one category, concatenated over images in image-id order.
struct AreaAccum {
  std::vector<double> score;    // [N] per detection
  std::vector<int> rank;        // [N] position within its image after the score sort (maxDet cut)
  std::vector<uint8_t> tp, ig;  // [N, T] "dtm != 0" and "dtIgnore" per threshold
  int64_t npig = 0;             // number of non-ignored gts
};

// pycocotools' evaluateImg for one image and one category, all area ranges at once.
// gts: in file order; dts: in file order (sorted and cut here).
void evaluate_image(const std::vector<const CocoAnnotation*>& gts, std::vector<const CocoDetection*> dts,
                    const CocoEvalParams& p, std::vector<AreaAccum>& acc) {
  const int T = (int)p.iou_thresholds.size(), G = (int)gts.size();
  // Detections by descending score, ties in input order (np.argsort(-score, kind='mergesort')).
  std::stable_sort(dts.begin(), dts.end(),
                   [](const CocoDetection* a, const CocoDetection* b) { return a->score > b->score; });
  if ((int)dts.size() > p.max_dets.back()) dts.resize(p.max_dets.back());
  const int D = (int)dts.size();

  // ious[d][g] with g in file order (computeIoU); crowd gts use the detection's area as the union.
  std::vector<double> ious((size_t)D * G);
  for (int d = 0; d < D; ++d)
    for (int g = 0; g < G; ++g) ious[(size_t)d * G + g] = coco_box_iou(dts[d]->bbox, gts[g]->bbox, gts[g]->iscrowd);

  for (size_t a = 0; a < p.area_ranges.size(); ++a) {
    const double lo = p.area_ranges[a][0], hi = p.area_ranges[a][1];
    // gt ignore: crowd (or the ignore flag, if asked) or area outside [lo, hi]; ignored gts go last
    // (stable, np.argsort(kind='mergesort')).
    std::vector<uint8_t> gt_ig(G);
    for (int g = 0; g < G; ++g) {
      bool base = gts[g]->iscrowd || (p.use_ignore_flag && gts[g]->ignore);
      gt_ig[g] = base || gts[g]->area < lo || gts[g]->area > hi;
    }
    std::vector<int> order(G);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int x, int y) { return gt_ig[x] < gt_ig[y]; });

    AreaAccum& out = acc[a];
    size_t base = out.score.size();
    out.score.resize(base + D);
    out.rank.resize(base + D);
    out.tp.resize((base + D) * T, 0);
    out.ig.resize((base + D) * T, 0);
    for (int g = 0; g < G; ++g) out.npig += !gt_ig[g];
    for (int d = 0; d < D; ++d) {
      out.score[base + d] = dts[d]->score;
      out.rank[base + d] = d;
    }

    std::vector<uint8_t> gt_taken(G);
    for (int t = 0; t < T; ++t) {
      std::fill(gt_taken.begin(), gt_taken.end(), 0);
      for (int d = 0; d < D; ++d) {
        // Best gt so far: needs IoU >= the running best, which starts at the threshold (capped just
        // below 1 so that IoU = 1 still matches at t = 1). Equal IoUs: the later gt in order wins.
        double best = std::min(p.iou_thresholds[t], 1 - 1e-10);
        int m = -1;
        for (int j = 0; j < G; ++j) {
          int g = order[j];
          if (gt_taken[g] && !gts[g]->iscrowd) continue;  // taken, and only crowds match twice
          if (m > -1 && !gt_ig[m] && gt_ig[g]) break;     // have a real match; the rest are ignored gts
          double iou = ious[(size_t)d * G + g];
          if (iou < best) continue;
          best = iou;
          m = g;
        }
        size_t at = (base + d) * T + t;
        if (m == -1) continue;
        gt_taken[m] = 1;
        out.ig[at] = gt_ig[m];
        // pycocotools stores the matched gt's *id* in dtMatches and tests it against 0, so a gt with
        // id 0 never yields a true positive there. Kept for identical results (documented).
        out.tp[at] = gts[m]->id != 0;
      }
      // Unmatched detections whose own area w*h is outside the range are ignored.
      for (int d = 0; d < D; ++d) {
        size_t at = (base + d) * T + t;
        double area = dts[d]->bbox[2] * dts[d]->bbox[3];
        if (!out.tp[at] && (area < lo || area > hi)) out.ig[at] = 1;
      }
    }
  }
}

// pycocotools' accumulate for one category, area range and maxDet: writes precision[:, :, k, a, m]
// and recall[:, k, a, m].
void accumulate(const AreaAccum& acc, int max_det, const CocoEvalParams& p, int k, int a, int m, CocoEvalResult& r) {
  if (acc.npig == 0) return;  // stays -1: no gt to find (also when no image had anything)
  const int T = r.T, R = r.R;
  std::vector<size_t> idx;
  for (size_t i = 0; i < acc.score.size(); ++i)
    if (acc.rank[i] < max_det) idx.push_back(i);
  std::stable_sort(idx.begin(), idx.end(), [&](size_t x, size_t y) { return acc.score[x] > acc.score[y]; });
  const size_t nd = idx.size();
  const double eps = 2.220446049250313e-16;  // np.spacing(1) = 2^-52
  std::vector<double> rc(nd), pr(nd);
  for (int t = 0; t < T; ++t) {
    double tp = 0, fp = 0;
    for (size_t i = 0; i < nd; ++i) {
      size_t at = idx[i] * T + t;
      if (!acc.ig[at]) (acc.tp[at] ? tp : fp) += 1;
      rc[i] = tp / (double)acc.npig;
      pr[i] = tp / (fp + tp + eps);
    }
    r.recall[(((size_t)t * r.K + k) * r.A + a) * r.M + m] = nd ? rc[nd - 1] : 0;
    // Precision envelope: make it non-increasing from the right.
    for (size_t i = nd - 1; nd > 0 && i > 0; --i)
      if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
    // For each recall point the first index with rc >= point (searchsorted 'left'); 0 beyond the end.
    for (int q = 0; q < R; ++q) {
      size_t pi = std::lower_bound(rc.begin(), rc.end(), p.recall_thresholds[q]) - rc.begin();
      r.precision[((((size_t)t * R + q) * r.K + k) * r.A + a) * r.M + m] = pi < nd ? pr[pi] : 0.0;
    }
  }
}

}  // namespace

double CocoEvalResult::summarize(bool ap, double iou_threshold, const std::string& area_label, int max_det) const {
  int a = -1, m = -1;
  for (int i = 0; i < A; ++i)
    if (params.area_labels[i] == area_label) {
      a = i;
      break;
    }
  for (int i = 0; i < M; ++i)
    if (params.max_dets[i] == max_det) {
      m = i;
      break;
    }
  if (a < 0 || m < 0) return -1;
  std::vector<double> s;  // C order of the sliced array: t, r, k (precision) or t, k (recall)
  for (int t = 0; t < T; ++t) {
    if (iou_threshold >= 0 && params.iou_thresholds[t] != iou_threshold) continue;  // np.where(thr == iouThrs)
    if (ap) {
      for (int q = 0; q < R; ++q)
        for (int k = 0; k < K; ++k)
          if (double v = precision_at(t, q, k, a, m); v > -1) s.push_back(v);
    } else {
      for (int k = 0; k < K; ++k)
        if (double v = recall_at(t, k, a, m); v > -1) s.push_back(v);
    }
  }
  if (s.empty()) return -1;
  return numpy_pairwise_sum(s.data(), s.size()) / (double)s.size();
}

double CocoEvalResult::category_ap(int k) const {
  std::vector<double> s;
  for (int t = 0; t < T; ++t)
    for (int q = 0; q < R; ++q)
      if (double v = precision_at(t, q, k, 0, M - 1); v > -1) s.push_back(v);
  return s.empty() ? -1 : numpy_pairwise_sum(s.data(), s.size()) / (double)s.size();
}

namespace {

void check_params(const CocoEvalParams& p) {
  check(!p.iou_thresholds.empty() && !p.recall_thresholds.empty() && !p.max_dets.empty() && !p.area_ranges.empty(),
        "coco_evaluate: params need at least one IoU threshold, recall point, maxDets value and area range");
  check(p.area_labels.size() == p.area_ranges.size(), "coco_evaluate: ", p.area_ranges.size(), " area ranges but ",
        p.area_labels.size(), " area labels");
  check(std::is_sorted(p.max_dets.begin(), p.max_dets.end()) && p.max_dets.front() > 0,
        "coco_evaluate: max_dets must be positive and ascending");
}

// The sorted unique image and category ids, the dimensions, and precision / recall filled with -1.
CocoEvalResult empty_result(const CocoDataset& gt, const CocoEvalParams& p) {
  CocoEvalResult r;
  r.params = p;
  for (const CocoImage& im : gt.images) r.image_ids.push_back(im.id);
  for (const CocoCategory& c : gt.categories) r.category_ids.push_back(c.id);
  for (auto* v : {&r.image_ids, &r.category_ids}) {
    std::sort(v->begin(), v->end());
    v->erase(std::unique(v->begin(), v->end()), v->end());
  }
  r.T = (int)p.iou_thresholds.size();
  r.R = (int)p.recall_thresholds.size();
  r.K = (int)r.category_ids.size();
  r.A = (int)p.area_ranges.size();
  r.M = (int)p.max_dets.size();
  r.precision.assign((size_t)r.T * r.R * r.K * r.A * r.M, -1.0);
  r.recall.assign((size_t)r.T * r.K * r.A * r.M, -1.0);
  return r;
}

// pycocotools indexes annotations by id, so two gts sharing an id would both be evaluated as the later
// one. Refuse instead of reproducing that silently.
void check_unique_annotation_ids(const CocoDataset& gt) {
  std::unordered_map<int64_t, size_t> seen;
  for (size_t n = 0; n < gt.annotations.size(); ++n) {
    auto [it, fresh] = seen.emplace(gt.annotations[n].id, n);
    check(fresh, "coco_evaluate: gt annotations ", it->second, " and ", n, " share the id ", gt.annotations[n].id,
          " (annotation ids must be unique)");
  }
}

// gts and detections of every (category, image) pair, in file order inside a pair.
struct Buckets {
  std::vector<std::pair<int64_t, const CocoAnnotation*>> gkeys;  // key k * I + i
  std::vector<std::pair<int64_t, const CocoDetection*>> dkeys;
  std::vector<size_t> gstart, dstart;  // each category's range
};

Buckets bucket(const CocoDataset& gt, const std::vector<CocoDetection>& dets, const CocoEvalResult& r) {
  std::unordered_map<int64_t, int> img_index, cat_index;
  for (size_t i = 0; i < r.image_ids.size(); ++i) img_index[r.image_ids[i]] = (int)i;
  for (size_t k = 0; k < r.category_ids.size(); ++k) cat_index[r.category_ids[k]] = (int)k;

  Buckets b;
  // Bucket gts and detections by (category, image), keeping file order inside a bucket.
  const int64_t I = (int64_t)r.image_ids.size();
  for (const CocoAnnotation& a : gt.annotations) {
    auto i = img_index.find(a.image_id);
    auto k = cat_index.find(a.category_id);
    if (i != img_index.end() && k != cat_index.end()) b.gkeys.push_back({k->second * I + i->second, &a});
  }
  for (size_t n = 0; n < dets.size(); ++n) {
    const CocoDetection& d = dets[n];
    auto i = img_index.find(d.image_id);
    check(i != img_index.end(), "coco_evaluate: detection ", n, " has image_id ", d.image_id,
          " which is not an image of the ground truth (pycocotools: 'Results do not correspond to current coco set')");
    check(std::isfinite(d.score), "coco_evaluate: detection ", n, " has a non-finite score");
    auto k = cat_index.find(d.category_id);
    if (k != cat_index.end()) b.dkeys.push_back({k->second * I + i->second, &d});
  }
  auto by_key = [](const auto& x, const auto& y) { return x.first < y.first; };
  std::stable_sort(b.gkeys.begin(), b.gkeys.end(), by_key);
  std::stable_sort(b.dkeys.begin(), b.dkeys.end(), by_key);

  // Start of each category's range in b.gkeys / b.dkeys.
  b.gstart.resize(r.K + 1);
  b.dstart.resize(r.K + 1);
  for (int k = 0; k <= r.K; ++k) {
    b.gstart[k] = std::lower_bound(b.gkeys.begin(), b.gkeys.end(),
                                   std::make_pair((int64_t)k * I, (const CocoAnnotation*)nullptr), by_key) -
                  b.gkeys.begin();
    b.dstart[k] = std::lower_bound(b.dkeys.begin(), b.dkeys.end(),
                                   std::make_pair((int64_t)k * I, (const CocoDetection*)nullptr), by_key) -
                  b.dkeys.begin();
  }
  return b;
}

void evaluate_categories(const Buckets& b, const CocoEvalParams& p, CocoEvalResult& r) {
  const auto& gkeys = b.gkeys;
  const auto& dkeys = b.dkeys;
  const auto& gstart = b.gstart;
  const auto& dstart = b.dstart;
  // Categories are independent: each writes only its own k slices.
#pragma omp parallel for schedule(dynamic, 1)
  for (int k = 0; k < r.K; ++k) {
    std::vector<AreaAccum> acc(r.A);
    size_t gi = gstart[k], di = dstart[k];
    std::vector<const CocoAnnotation*> g;
    std::vector<const CocoDetection*> d;
    while (gi < gstart[k + 1] || di < dstart[k + 1]) {
      int64_t key = std::min(gi < gstart[k + 1] ? gkeys[gi].first : INT64_MAX,
                             di < dstart[k + 1] ? dkeys[di].first : INT64_MAX);
      g.clear();
      d.clear();
      for (; gi < gstart[k + 1] && gkeys[gi].first == key; ++gi) g.push_back(gkeys[gi].second);
      for (; di < dstart[k + 1] && dkeys[di].first == key; ++di) d.push_back(dkeys[di].second);
      evaluate_image(g, d, p, acc);
    }
    for (int a = 0; a < r.A; ++a)
      for (int m = 0; m < r.M; ++m) accumulate(acc[a], p.max_dets[m], p, k, a, m, r);
  }
}

void summarize_stats(CocoEvalResult& r) {
  const CocoEvalParams& p = r.params;
  // summarize(): the 12 numbers, defined for the standard labels and maxDets (else -1).
  CocoStats& s = r.stats;
  // As _summarizeDets: stats[0] uses _summarize's default maxDets=100, the others maxDets[0..2].
  int m0 = p.max_dets[0], m1 = p.max_dets.size() > 1 ? p.max_dets[1] : -1;
  int m2 = p.max_dets.size() > 2 ? p.max_dets[2] : -1;
  s.AP = r.summarize(true, -1, "all", 100);
  s.AP50 = r.summarize(true, 0.5, "all", m2);
  s.AP75 = r.summarize(true, 0.75, "all", m2);
  s.APs = r.summarize(true, -1, "small", m2);
  s.APm = r.summarize(true, -1, "medium", m2);
  s.APl = r.summarize(true, -1, "large", m2);
  s.AR1 = r.summarize(false, -1, "all", m0);
  s.AR10 = r.summarize(false, -1, "all", m1);
  s.AR100 = r.summarize(false, -1, "all", m2);
  s.ARs = r.summarize(false, -1, "small", m2);
  s.ARm = r.summarize(false, -1, "medium", m2);
  s.ARl = r.summarize(false, -1, "large", m2);
}

}  // namespace

CocoEvalResult coco_evaluate(const CocoDataset& gt, const std::vector<CocoDetection>& dets, const CocoEvalParams& p) {
  check_params(p);
  CocoEvalResult r = empty_result(gt, p);
  check_unique_annotation_ids(gt);
  const Buckets b = bucket(gt, dets, r);
  evaluate_categories(b, p, r);
  summarize_stats(r);
  return r;
}

std::string coco_summary_text(const CocoEvalResult& r) {
  // pycocotools: ' {:<18} {} @[ IoU={:<9} | area={:>6s} | maxDets={:>3d} ] = {:0.3f}'
  const CocoEvalParams& p = r.params;
  auto m = [&](size_t i) { return i < p.max_dets.size() ? p.max_dets[i] : -1; };
  struct Line {
    bool ap;
    double thr;
    const char* area;
    int max_det;
    double v;
  };
  const CocoStats& s = r.stats;
  const Line lines[12] = {{true, -1, "all", 100, s.AP},       {true, 0.5, "all", m(2), s.AP50},
                          {true, 0.75, "all", m(2), s.AP75},  {true, -1, "small", m(2), s.APs},
                          {true, -1, "medium", m(2), s.APm},  {true, -1, "large", m(2), s.APl},
                          {false, -1, "all", m(0), s.AR1},    {false, -1, "all", m(1), s.AR10},
                          {false, -1, "all", m(2), s.AR100},  {false, -1, "small", m(2), s.ARs},
                          {false, -1, "medium", m(2), s.ARm}, {false, -1, "large", m(2), s.ARl}};
  std::string out;
  char buf[160];
  for (const Line& l : lines) {
    char iou[32];
    if (l.thr < 0) std::snprintf(iou, sizeof iou, "%0.2f:%0.2f", p.iou_thresholds.front(), p.iou_thresholds.back());
    else std::snprintf(iou, sizeof iou, "%0.2f", l.thr);
    std::snprintf(buf, sizeof buf, " %-18s %s @[ IoU=%-9s | area=%6s | maxDets=%3d ] = %0.3f\n",
                  l.ap ? "Average Precision" : "Average Recall", l.ap ? "(AP)" : "(AR)", iou, l.area, l.max_det, l.v);
    out += buf;
  }
  return out;
}

}  // namespace dg::eval
