#include "tools/explain.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "autograd/error.h"
#include "autograd/io/image.h"
#include "autograd/ops.h"
#include "detectors/data/augment.h"
#include "detectors/draw.h"
#include "detectors/fcos/targets.h"
#include "detectors/fcos/detector.h"
#include "detectors/nms.h"
#include "detectors/pipeline/evaluate.h"
#include "detectors/pipeline/visualize.h"
#include "detectors/retinanet/detector.h"
#include "detectors/retinanet/loss.h"

namespace dg::tools {

namespace fs = std::filesystem;

namespace {

constexpr int kScale = 4;  // input pixels -> picture pixels

// Text from parts (an ostringstream: GCC 12 warns falsely, -Wrestrict, on chains of std::string +).
template <class... A>
std::string cat(const A&... parts) {
  std::ostringstream s;
  (s << ... << parts);
  return s.str();
}

// The letterboxed input picture, enlarged, with the ground truth drawn in class colours.
Tensor base_picture(const data::Augmented& a, const std::vector<std::string>& names) {
  Tensor pic = det::enlarge(a.scene.image, kScale);
  for (size_t g = 0; g < a.scene.boxes.size(); ++g) {
    const auto& b = a.scene.boxes[g];
    const int64_t label = a.scene.labels[g];
    draw_box(pic, b[0] * kScale, b[1] * kScale, b[2] * kScale, b[3] * kScale, class_color(label), 2);
    draw_label(pic, b[0] * kScale, b[1] * kScale, cat("#", g, " ", names[(size_t)label]),
               class_color(label));
  }
  return pic;
}

void caption(Tensor& pic, const std::string& text) {
  fill_rect(pic, 0, pic.size(0) - text_height(2) - 4, pic.size(1), pic.size(0), {0, 0, 0});
  draw_text(pic, 2, pic.size(0) - text_height(2) - 2, text, {255, 255, 255}, 2);
}

Tensor boxes_tensor(const data::Scene& s) {
  std::vector<double> v;
  for (const auto& b : s.boxes) v.insert(v.end(), b.begin(), b.end());
  return from_vector(v, {(int64_t)s.boxes.size(), 4}, DType::f32);
}

// FCOS: one panel per level.
Tensor fcos_picture(const data::Augmented& a, const fcos::Fcos& net, const std::vector<std::string>& names,
                    std::string& summary) {
  const int64_t h = a.scene.image.size(0), w = a.scene.image.size(1);
  const FcosAssignOptions ao = net.assign_options(h, w);
  const Conventions conv = net.cfg.conventions();
  std::vector<double> lab;
  for (int l : a.scene.labels) lab.push_back(l);
  FcosTargets t = fcos_targets(boxes_tensor(a.scene), from_vector(lab, {(int64_t)lab.size()}, DType::i64), ao, conv);
  std::vector<int64_t> sizes;
  fcos_points(ao, conv, DType::f32, &sizes);
  const std::vector<double> pts = t.points.to_vector(), matched = t.matched.to_vector();
  std::vector<Tensor> panels;
  std::ostringstream sum;
  sum << "FCOS positives (" << (conv.fcos_center_sampling ? cat("centre sampling r=", conv.fcos_center_radius) : std::string("no centre sampling"))
      << ", points at " << (conv.fcos_half_stride_offset ? "x*s + s/2" : "x*s") << "):";
  int64_t first = 0;
  const std::vector<int64_t> strides = net.cfg.strides(), levels = net.cfg.levels();
  for (size_t l = 0; l < sizes.size(); ++l) {
    Tensor pic = base_picture(a, names);
    int64_t pos = 0;
    const int64_t r = std::max<int64_t>(1, strides[l] * kScale / 6);
    for (int64_t p = first; p < first + sizes[l]; ++p) {
      const double x = pts[(size_t)(2 * p)] * kScale, y = pts[(size_t)(2 * p + 1)] * kScale;
      const int64_t g = (int64_t)matched[(size_t)p];
      if (g >= 0) {
        ++pos;
        fill_rect(pic, (int64_t)x - r, (int64_t)y - r, (int64_t)x + r + 1, (int64_t)y + r + 1,
                  class_color(a.scene.labels[(size_t)g]));
        draw_box(pic, (double)x - r - 1, (double)y - r - 1, (double)x + r + 2, (double)y + r + 2, {255, 255, 255}, 1);
      } else {
        fill_rect(pic, (int64_t)x - 1, (int64_t)y - 1, (int64_t)x + 1, (int64_t)y + 1, {150, 150, 150});
      }
    }
    caption(pic, cat("P", levels[l], " s", strides[l], ": ", pos, " pos"));
    sum << " P" << levels[l] << " " << pos << "/" << sizes[l];
    panels.push_back(pic);
    first += sizes[l];
  }
  summary = sum.str();
  return tile_images(panels, (int64_t)panels.size());
}

// RetinaNet: one panel per level with the matched anchors.
Tensor retina_picture(const data::Augmented& a, retinanet::RetinaNetDetector& net,
                      const std::vector<std::string>& names, std::string& summary) {
  const int64_t h = a.scene.image.size(0), w = a.scene.image.size(1);
  const std::vector<retinanet::AnchorMatch> m = net.matched_anchors(boxes_tensor(a.scene), h, w);
  std::vector<Tensor> panels;
  std::ostringstream sum;
  sum << "RetinaNet matched anchors (IoU >= " << net.cfg.fg_iou << (net.cfg.allow_low_quality ? ", plus each box's best" : "")
      << "):";
  for (int64_t level = net.cfg.first_level; level <= net.cfg.last_level; ++level) {
    Tensor pic = base_picture(a, names);
    int64_t n = 0;
    for (const auto& x : m) {
      if (x.level != level) continue;
      ++n;
      draw_box(pic, x.box[0] * kScale, x.box[1] * kScale, x.box[2] * kScale, x.box[3] * kScale,
               class_color(a.scene.labels[(size_t)x.gt]), 1);
    }
    caption(pic, cat("P", level, ": ", n, " anchors"));
    sum << " P" << level << " " << n;
    panels.push_back(pic);
  }
  sum << "; per box:";
  for (size_t g = 0; g < a.scene.boxes.size(); ++g) {
    int64_t n = 0;
    double best = 0;
    for (const auto& x : m)
      if (x.gt == (int64_t)g) ++n, best = std::max(best, x.iou);
    sum << " #" << g << " " << n << " (best IoU " << std::to_string(best).substr(0, 4) << ")";
  }
  summary = sum.str();
  return tile_images(panels, (int64_t)panels.size());
}

// The NMS log: candidates before NMS, then every event, class by class.
std::string nms_log(det::Detector& net, const Tensor& x, const std::string& nms, double nms_iou,
                    const std::vector<std::string>& names) {
  det::InferenceOptions inf = net.default_inference();
  if (!nms.empty()) inf.nms.kind = det::post_nms_from_name(nms);
  if (nms_iou > 0) inf.nms.iou = nms_iou;
  det::InferenceOptions raw = inf;
  raw.nms.kind = det::PostNms::none;
  raw.max_detections = 1000000;
  if (raw.score_threshold < 0.05) raw.score_threshold = 0.05;  // CenterNet: only peaks worth reading
  const det::Detections d = net.detect(x, raw)[0];
  std::ostringstream s;
  s << "NMS " << det::post_nms_name(inf.nms.kind) << " (IoU " << inf.nms.iou << "), class by class, on the "
    << d.size() << " candidates with score > " << raw.score_threshold << " (input pixels):\n";
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
      case det::PostNms::none: kept = arange(0, (double)m, 1, DType::i64); break;
      case det::PostNms::hard: kept = dg::nms(boxes, scores, inf.nms.iou, {}, &ev); break;
      case det::PostNms::diou: kept = diou_nms(boxes, scores, inf.nms.iou, 1.0, {}, &ev); break;
      default: {
        SoftNmsOptions so;
        so.method = inf.nms.kind == det::PostNms::soft_linear ? SoftNmsMethod::linear : SoftNmsMethod::gaussian;
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

}  // namespace

int run_explain(const det::LoadedModel& m, const ExplainOptions& o) {
  check(o.scene >= 0, "detect --explain: --scene must be >= 0, got ", o.scene);
  data::DatasetSpec spec;
  spec.source = o.data.empty() ? "fashion-scenes" : o.data;
  spec.preset = o.preset;
  spec.size = spec.source == "fashion-scenes" ? o.scene + 1 : 0;
  spec.seed = o.data_seed;
  data::Dataset ds = data::open_dataset(spec, data::Split::val);
  check(o.scene >= 0 && o.scene < ds.size, "detect --explain: --scene ", o.scene, " is not in the ", ds.size,
        " validation images");
  check(ds.class_names == m.info.class_names, "detect --explain: the data's classes differ from the model's");
  const data::Scene s = ds.get(o.scene);
  // The scene letterboxed to the model input exactly as in evaluation (boxes follow).
  const data::LoaderConfig lc = det::eval_loader_config(m.info, 1, 0);
  Generator unused(0);
  const data::Augmented a = data::augment(s, lc.augment_config, unused);
  data::Loader loader(ds.get, o.scene + 1, lc);
  data::Batch batch;
  for (int64_t i = 0; i <= o.scene; ++i) loader.next(batch);
  fs::create_directories(o.out);
  const int64_t K = m.info.num_classes();
  Generator gen(0);

  std::shared_ptr<det::Detector> fcos_net = m.info.kind == "fcos" ? m.net : make_fcos_detector(K, {}, gen);
  std::string fsum;
  const std::string fcos_png = (fs::path(o.out) / "explain_fcos.png").string();
  io::save_png(fcos_png, fcos_picture(a, dynamic_cast<fcos::Fcos&>(*fcos_net), m.info.class_names, fsum));

  std::shared_ptr<det::Detector> retina_net =
      m.info.kind == "retinanet" ? m.net : retinanet::make_retinanet_detector(K, {}, gen);
  std::string rsum;
  const std::string retina_png = (fs::path(o.out) / "explain_retinanet.png").string();
  io::save_png(retina_png,
               retina_picture(a, dynamic_cast<retinanet::RetinaNetDetector&>(*retina_net), m.info.class_names, rsum));

  const std::string log = nms_log(*m.net, batch.images, o.nms, o.nms_iou, m.info.class_names);
  const std::string nms_txt = (fs::path(o.out) / "explain_nms.txt").string();
  std::ofstream(nms_txt) << log;

  std::printf("scene %lld of %s: %zu boxes\n  %s%s\n    -> %s\n  %s%s\n    -> %s\n  %s model's NMS log -> %s\n",
              (long long)o.scene, ds.description.c_str(), s.boxes.size(), fsum.c_str(),
              m.info.kind == "fcos" ? " (the model's config)" : " (FCOS CPU default)", fcos_png.c_str(), rsum.c_str(),
              m.info.kind == "retinanet" ? " (the model's config)" : " (RetinaNet CPU default)", retina_png.c_str(),
              m.info.kind.c_str(), nms_txt.c_str());
  return 0;
}

}  // namespace dg::tools
