// Explaining a detector on one scene (see explain.h).
#include "detectors/pipeline/explain.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "autograd/io/image.h"
#include "autograd/ops.h"
#include "detectors/data/augment.h"
#include "detectors/nms.h"
#include "detectors/task/task.h"
#include "detectors/task/zoo.h"

namespace dg::det {

namespace fs = std::filesystem;

// The NMS log: candidates before NMS, then every event, class by class.
std::string nms_log(Detector& net, const Tensor& x, const InferenceOptions& inf,
                    const std::vector<std::string>& names) {
  InferenceOptions raw = inf;
  raw.nms.kind = PostNms::none;
  raw.max_detections = 1000000;
  if (raw.score_threshold < 0.05) raw.score_threshold = 0.05;  // CenterNet: only peaks worth reading
  const Detections d = net.detect(x, raw)[0];
  std::ostringstream s;
  s << "NMS " << post_nms_name(inf.nms.kind) << " (IoU " << inf.nms.iou << "), class by class, on the " << d.size()
    << " candidates with score > " << raw.score_threshold << " (input pixels):\n";
  const std::vector<double> b = d.boxes.to_vector(), sc = d.scores.to_vector(), lb = d.labels.to_vector();
  for (int64_t c = 0; c < (int64_t)names.size(); ++c) {
    std::vector<int64_t> idx;
    for (int64_t i = 0; i < d.size(); ++i)
      if ((int64_t)lb[(size_t)i] == c) idx.push_back(i);
    if (idx.empty()) continue;
    s << "\nclass " << c << " " << names[(size_t)c] << ": " << idx.size() << " candidates\n";
    std::vector<double> cb, cs;
    for (size_t k = 0; k < idx.size(); ++k) {
      const int64_t i = idx[k];
      cb.insert(cb.end(), b.begin() + 4 * i, b.begin() + 4 * i + 4);
      cs.push_back(sc[(size_t)i]);
      char line[160];
      std::snprintf(line, sizeof line, "  box %zu: [%.1f %.1f %.1f %.1f] score %.4f\n", k, b[4 * i], b[4 * i + 1],
                    b[4 * i + 2], b[4 * i + 3], sc[(size_t)i]);
      s << line;
    }
    const int64_t m = (int64_t)idx.size();
    Tensor boxes = from_vector(cb, {m, 4}, DType::f64), scores = from_vector(cs, {m}, DType::f64);
    std::vector<NmsEvent> ev;
    Tensor kept;
    bool soft = false;
    switch (inf.nms.kind) {
      case PostNms::none: kept = arange(0, (double)m, 1, DType::i64); break;
      case PostNms::hard: kept = dg::nms(boxes, scores, inf.nms.iou, {}, &ev); break;
      case PostNms::diou: kept = diou_nms(boxes, scores, inf.nms.iou, 1.0, {}, &ev); break;
      default: {
        SoftNmsOptions so;
        so.method = inf.nms.kind == PostNms::soft_linear ? SoftNmsMethod::linear : SoftNmsMethod::gaussian;
        so.sigma = inf.nms.soft_sigma;
        so.iou_threshold = inf.nms.iou;
        so.score_threshold = inf.nms.soft_min_score;
        kept = soft_nms(boxes, scores, so, {}, &ev).indices;
        soft = true;
      }
    }
    std::istringstream events(format_nms_events(ev, soft));
    for (std::string line; std::getline(events, line);) s << "  " << line << "\n";
    s << "  kept:";
    for (double k : kept.to_vector()) s << " " << (int64_t)k;
    s << "\n";
  }
  return s.str();
}

ExplainResult explain_scene(const LoadedModel& m, const ExplainOptions& o) {
  check(o.scene >= 0, "explain: scene must be >= 0, got ", o.scene);
  data::DatasetSpec spec;
  spec.source = o.data.empty() ? "fashion-scenes" : o.data;
  spec.preset = o.preset;
  spec.size = spec.source == "fashion-scenes" ? o.scene + 1 : 0;
  spec.seed = o.data_seed;
  data::Dataset ds = data::open_dataset(spec, data::Split::val);
  check(o.scene < ds.size, "explain: scene ", o.scene, " is not in the ", ds.size, " validation images");
  check(ds.class_names == m.info.class_names, "explain: the data's classes differ from the model's");
  const data::Scene s = ds.get(o.scene);
  // The scene letterboxed to the model input exactly as in evaluation (boxes follow).
  const data::LoaderConfig lc = eval_loader_config(m.info, 1, 0);
  Generator unused(0);
  const data::Augmented a = data::augment(s, lc.augment_config, unused);
  data::Loader loader(ds.get, o.scene + 1, lc);
  data::Batch batch;
  for (int64_t i = 0; i <= o.scene; ++i) loader.next(batch);
  fs::create_directories(o.out);

  ExplainResult r;
  r.scene_description = "scene " + std::to_string(o.scene) + " of " + ds.description + ": " +
                        std::to_string(s.boxes.size()) + " boxes";
  Generator gen(0);
  for (const std::string& kind : model_kinds()) {
    const bool own = kind == m.info.kind;
    std::shared_ptr<Task> net = own ? m.net : make_model(kind, m.info.num_classes(), {}, gen);
    TargetExplanation e = net->explain_targets(a, m.info.class_names);
    if (!e.picture.defined()) continue;
    ExplainResult::Picture p{kind, (fs::path(o.out) / ("explain_" + kind + ".png")).string(), e.summary, own};
    io::save_png(p.path, e.picture);
    r.pictures.push_back(p);
  }
  if (Detector* d = as_detector(*m.net)) {  // the NMS log is about boxes
    r.nms_log_path = (fs::path(o.out) / "explain_nms.txt").string();
    std::ofstream(r.nms_log_path) << nms_log(*d, batch.images, apply_inference_overrides(*d, o.inference),
                                             m.info.class_names);
  }
  return r;
}

}  // namespace dg::det
