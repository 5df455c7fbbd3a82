// `detgrad detect WEIGHTS IMAGE... --out DIR [--show-heatmap]`: runs a trained detector (CenterNet,
// FCOS or RetinaNet: the model file says which) on image files. For every IMAGE it writes
// DIR/<name>.png (the image with boxes, class names and scores; small images enlarged), with
// --show-heatmap (CenterNet) also DIR/<name>_heatmap.png (the network input with the heatmap blended
// over it), and for all of them DIR/detections.json; --explain adds the FCOS / RetinaNet assignment
// pictures and the NMS log of a validation scene (tools/explain.h). detections.json:
//   [{"file": ..., "width": W, "height": H, "detections": [{"box": [x1,y1,x2,y2], "score": s,
//     "label": k, "class": "name", "category_id": id}, ...]}, ...]   (image pixels, x2/y2 exclusive)
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/io/image.h"
#include "autograd/ops.h"
#include "detectors/centernet/detector.h"
#include "detectors/pipeline/evaluate.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/pipeline/visualize.h"
#include "detectors/data/augment.h"
#include "detectors/data/loader.h"
#include "detectors/eval/coco_json.h"
#include "tools/commands.h"
#include "tools/explain.h"

namespace dg::tools {

namespace {
struct DetectOptions {
  std::string weights, out = "detections";
  std::vector<std::string> images;
  bool show_heatmap = false;
  bool explain = false;
  ExplainOptions ex;
  double score = 0.3;
  int64_t topk = 0;       // 0: the detector's default
  std::string nms;        // "": the detector's default
  double nms_iou = 0;     // 0: the detector's default
};

// The detector's default inference with the command line's changes.
det::InferenceOptions inference_options(const det::Detector& net, const std::string& nms, double nms_iou,
                                        double score, int64_t topk) {
  det::InferenceOptions inf = net.default_inference();
  if (!nms.empty()) inf.nms.kind = det::post_nms_from_name(nms);
  if (nms_iou > 0) inf.nms.iou = nms_iou;
  if (score >= 0) inf.score_threshold = score;
  if (topk > 0) inf.topk_candidates = topk;
  return inf;
}

int picture_scale(const Tensor& image) {
  const int64_t side = std::max(image.size(0), image.size(1));
  return (int)std::max<int64_t>(1, std::llround(384.0 / (double)side));
}

int run(const DetectOptions& o) {
  namespace fs = std::filesystem;
  det::LoadedModel m = det::load_model(o.weights);
  const auto& info = m.info;
  if (o.explain) {
    ExplainOptions ex = o.ex;
    ex.out = o.out;
    ex.nms = o.nms;
    ex.nms_iou = o.nms_iou;
    std::printf("model %s: %s\n", m.path.c_str(), m.net->describe().c_str());
    run_explain(m, ex);
    if (o.images.empty()) return 0;
  }
  check(!o.images.empty(), "detect: give image files (or --explain)");
  std::printf("model %s: %s; %lld classes, input %lldx%lld\n", m.path.c_str(), m.net->describe().c_str(),
              (long long)info.num_classes(), (long long)info.input_height, (long long)info.input_width);
  auto* cn = dynamic_cast<centernet::CenterNet*>(m.net.get());
  check(!o.show_heatmap || cn, "detect --show-heatmap: only CenterNet has a heatmap (this model is ", info.kind, ")");
  fs::create_directories(o.out);
  const data::LoaderConfig lc = det::eval_loader_config(info, 1, 0);
  const det::InferenceOptions inf = inference_options(*m.net, o.nms, o.nms_iou, o.score, o.topk);
  nlohmann::json all = nlohmann::json::array();
  for (const std::string& file : o.images) {
    data::Scene s;
    s.image = io::load_image(file);
    // A one-image loader: the same letterbox and normalisation as in training and evaluation.
    data::Loader loader([&](int64_t) { return s; }, 1, lc);
    data::Batch batch;
    loader.next(batch);
    const det::Detections in_input = m.net->detect(batch.images, inf)[0];
    const det::Detections d = det::map_boxes(in_input, det::input_to_image(batch.transforms[0]));
    const std::string stem = fs::path(file).stem().string();
    det::PictureOptions po;
    po.score_threshold = o.score;
    po.scale = picture_scale(s.image);
    const std::string pic = (fs::path(o.out) / (stem + ".png")).string();
    io::save_png(pic, det::detection_picture(s.image, d, info.class_names, po));

    nlohmann::json list = nlohmann::json::array();
    Tensor b = d.boxes.to(DType::f64), sc = d.scores.to(DType::f64);
    for (int64_t k = 0; k < d.scores.numel(); ++k) {
      const int64_t label = d.labels.data<int64_t>()[k];
      const double* bb = b.data<double>() + 4 * k;
      list.push_back({{"box", {bb[0], bb[1], bb[2], bb[3]}},
                      {"score", sc.data<double>()[k]},
                      {"label", label},
                      {"class", info.class_names[(size_t)label]},
                      {"category_id", info.category_ids[(size_t)label]}});
    }
    all.push_back({{"file", file}, {"width", s.image.size(1)}, {"height", s.image.size(0)}, {"detections", list}});
    std::printf("%s: %lld detections with score >= %.2f -> %s", file.c_str(), (long long)d.scores.numel(), o.score,
                pic.c_str());
    if (o.show_heatmap) {
      // Drawn on the network input (where the heatmap lives), with the detections in input pixels.
      centernet::CenterNetOutput out;
      {
        NoGradGuard ng;
        out = cn->forward_heads(batch.images);
      }
      Tensor probs = squeeze(sigmoid(out.heatmap), 0);
      det::PictureOptions ph = po;
      ph.heatmap = &probs;
      const Tensor input = data::warp_affine(s.image, batch.transforms[0], info.input_height, info.input_width);
      ph.scale = picture_scale(input);
      const std::string hp = (fs::path(o.out) / (stem + "_heatmap.png")).string();
      io::save_png(hp, det::detection_picture(input, in_input, info.class_names, ph));
      std::printf(", %s", hp.c_str());
    }
    std::printf("\n");
  }
  const std::string json_path = (fs::path(o.out) / "detections.json").string();
  eval::write_json_file(json_path, all, 2);
  std::printf("wrote %s\n", json_path.c_str());
  return 0;
}
}  // namespace

std::function<int()> add_detect_command(CLI::App& app) {
  auto o = std::make_shared<DetectOptions>();
  CLI::App* c = app.add_subcommand("detect", "run a trained detector on images: pictures with boxes + JSON");
  c->add_option("weights", o->weights, "model.safetensors, a checkpoint, or a run directory")->required();
  c->add_option("images", o->images, "PNG / JPEG / BMP files");
  c->add_option("--out", o->out, "output directory")->capture_default_str();
  c->add_flag("--show-heatmap", o->show_heatmap, "centernet: also write <name>_heatmap.png, the heatmap over the input");
  c->add_option("--score", o->score, "keep detections with score >= this")->capture_default_str();
  c->add_option("--topk", o->topk, "candidates per image (centernet: peaks) or per level (fcos, retinanet)");
  c->add_option("--nms", o->nms, "none, hard, soft-linear, soft-gaussian or diou (default: centernet none, "
                "fcos hard 0.6, retinanet hard 0.5)");
  c->add_option("--nms-iou", o->nms_iou, "IoU threshold of hard / diou NMS, Nt of soft-linear");
  c->add_flag("--explain", o->explain, "for a validation scene: FCOS positives per level, RetinaNet matched anchors "
              "(explain_fcos.png, explain_retinanet.png) and the NMS log (explain_nms.txt)");
  c->add_option("--scene", o->ex.scene, "--explain: which validation scene")->capture_default_str();
  c->add_option("--data", o->ex.data, "--explain: fashion-scenes (default) or a COCO folder");
  c->add_option("--preset", o->ex.preset, "--explain on fashion-scenes: preset")->capture_default_str();
  return [o] { return run(*o); };
}

}  // namespace dg::tools
