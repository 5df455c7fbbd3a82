// A detector's evaluation (see detection_eval.h) and what Detector adds to Task (detector.h).
#include "detectors/task/detection_eval.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "detectors/visualize.h"

namespace dg::det {

Affine input_to_image(const data::Affine& image_to_input) {
  const data::Affine inv = data::invert(image_to_input);
  return {inv.a, inv.b, inv.tx, inv.c, inv.d, inv.ty};
}

void append_coco_detections(std::vector<eval::CocoDetection>& out, const Detections& d, int64_t image_id,
                            const std::vector<int64_t>& category_ids) {
  const int64_t m = d.scores.numel();
  Tensor boxes = d.boxes.to(DType::f64), scores = d.scores.to(DType::f64);
  const double* b = boxes.data<double>();
  const double* s = scores.data<double>();
  const int64_t* l = d.labels.data<int64_t>();
  for (int64_t k = 0; k < m; ++k) {
    eval::CocoDetection det;
    det.image_id = image_id;
    check(l[k] >= 0 && l[k] < (int64_t)category_ids.size(), "detection label ", l[k], " has no category id");
    det.category_id = category_ids[(size_t)l[k]];
    det.bbox = {b[4 * k], b[4 * k + 1], b[4 * k + 2] - b[4 * k], b[4 * k + 3] - b[4 * k + 1]};
    det.score = s[k];
    out.push_back(det);
  }
}

eval::CocoDataset class_agnostic(const eval::CocoDataset& gt) {
  eval::CocoDataset d = gt;
  d.categories = {{1, "object"}};
  for (auto& a : d.annotations) a.category_id = 1;
  return d;
}

std::vector<eval::CocoDetection> class_agnostic(const std::vector<eval::CocoDetection>& dets) {
  std::vector<eval::CocoDetection> d = dets;
  for (auto& x : d) x.category_id = 1;
  return d;
}

std::shared_ptr<DetectionEvaluation> evaluate_detector(Detector& net, const ModelInfo& info, const data::Dataset& ds,
                                                       const EvalOptions& opt, const InferenceOptions& inf,
                                                       const std::function<void(int64_t, int64_t)>& progress) {
  check(net.num_classes() == (int64_t)ds.class_names.size(), "evaluate: the model has ", net.num_classes(),
        " classes, the dataset ", ds.class_names.size());
  const auto t0 = std::chrono::steady_clock::now();
  const bool was_training = net.is_training();
  net.eval();
  auto rp = std::make_shared<DetectionEvaluation>();
  DetectionEvaluation& r = *rp;
  r.images = opt.max_images > 0 ? std::min(opt.max_images, ds.size) : ds.size;
  data::Loader loader(ds.get, r.images, eval_loader_config(info, opt.batch, opt.workers));
  data::Batch b;
  int64_t done = 0;
  {
    NoGradGuard ng;
    while (loader.next(b)) {
      const auto d0 = std::chrono::steady_clock::now();
      std::vector<Detections> dets = net.detect(b.images, inf);
      r.predict_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - d0).count();
      for (size_t j = 0; j < dets.size(); ++j) {
        const auto [h, w] = b.source_sizes[j];
        Detections d = boxes_to_image(dets[j], input_to_image(b.transforms[j]), h, w);
        append_coco_detections(r.detections, d, ds.image_id(b.indices[j]), ds.category_ids);
        r.per_image.push_back(std::move(d));
      }
      done += (int64_t)b.indices.size();
      if (progress) progress(done, r.images);
    }
  }
  net.train(was_training);
  eval::CocoDataset gt = ds.ground_truth();
  if ((int64_t)gt.images.size() != r.images) {  // keep the evaluated images only
    eval::CocoDataset sub;
    sub.categories = gt.categories;
    std::vector<int64_t> ids;
    for (int64_t i = 0; i < r.images; ++i) ids.push_back(ds.image_id(i));
    std::sort(ids.begin(), ids.end());
    auto keep = [&](int64_t id) { return std::binary_search(ids.begin(), ids.end(), id); };
    for (const auto& im : gt.images)
      if (keep(im.id)) sub.images.push_back(im);
    for (const auto& a : gt.annotations)
      if (keep(a.image_id)) sub.annotations.push_back(a);
    gt = std::move(sub);
  }
  r.coco = eval::coco_evaluate(gt, r.detections);
  eval::CocoEvalResult ag = eval::coco_evaluate(class_agnostic(gt), class_agnostic(r.detections));
  r.agnostic_ap50 = ag.stats.AP50;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return rp;
}

nlohmann::json eval_json(const eval::CocoEvalResult& coco, const std::vector<std::string>& class_names,
                         double agnostic_ap50, int64_t images, double seconds) {
  check((int64_t)class_names.size() == coco.K, "eval_json: ", class_names.size(), " class names for ", coco.K,
        " categories");
  nlohmann::json j;
  const auto stats = coco.stats.as_array();
  for (size_t i = 0; i < stats.size(); ++i) j[eval::CocoStats::names()[i]] = stats[i];
  if (agnostic_ap50 >= 0) j["agnostic_AP50"] = agnostic_ap50;
  nlohmann::json per = nlohmann::json::object();
  for (int k = 0; k < coco.K; ++k) per[class_names[(size_t)k]] = coco.category_ap(k);
  j["per_class_AP"] = per;
  j["eval_images"] = images;
  if (seconds >= 0) j["eval_seconds"] = seconds;
  return j;
}

nlohmann::json DetectionEvaluation::json(const std::vector<std::string>& class_names) const {
  return eval_json(coco, class_names, agnostic_ap50, images, seconds);
}

std::string DetectionEvaluation::headline() const {
  char buf[160];
  std::snprintf(buf, sizeof buf, "mAP@0.5 %.3f  mAP@[.5:.95] %.3f  class-agnostic AP@0.5 %.3f", coco.stats.AP50,
                coco.stats.AP, agnostic_ap50);
  return buf;
}

Tensor DetectionEvaluation::picture(int64_t i, const data::Scene& scene, const std::vector<std::string>& class_names,
                                    const Tensor* map) const {
  check(i >= 0 && i < pictures(), "evaluation picture: image ", i, " of ", pictures());
  PictureOptions po;
  if (map) {
    po.heatmap = map;
    po.score_threshold = 2;  // the map only
  } else {
    po.gt_boxes = scene.boxes;
  }
  return detection_picture(scene.image, per_image[(size_t)i], class_names, po);
}

// ---- Detector: what it adds to Task ----------------------------------------------------------------------
std::shared_ptr<Evaluation> Detector::evaluate(const ModelInfo& info, const data::Dataset& ds, const EvalOptions& opt,
                                               const std::function<void(int64_t, int64_t)>& progress) {
  return evaluate_detector(*this, info, ds, opt, default_inference(), progress);
}

std::vector<MetricCurve> Detector::metric_curves() const {
  return {{"AP50", "mAP@0.5"}, {"AP", "mAP@[.5:.95]"}, {"agnostic_AP50", "class-agnostic AP@0.5"}};
}

Detector* as_detector(Task& task) { return dynamic_cast<Detector*>(&task); }

Detector& detector_of(Task& task, const std::string& command) {
  Detector* d = as_detector(task);
  check(d != nullptr, command, ": a ", task.kind(), " model predicts no boxes");
  return *d;
}

}  // namespace dg::det
