// `detgrad detect WEIGHTS IMAGE... --out DIR [--show-heatmap]`: runs a trained detector (CenterNet,
// FCOS or RetinaNet: the model file says which) on image files. For every IMAGE it writes
// DIR/<name>.png (the image with boxes, class names and scores; small images enlarged), with
// --show-heatmap (CenterNet) also DIR/<name>_heatmap.png (the network input with the heatmap blended
// over it), and for all of them DIR/detections.json (a list of detectors/pipeline/inference.h entries);
// --explain adds each detector's target-assignment picture and the NMS log of a validation scene
// (detectors/pipeline/explain.h).
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "autograd/io/image.h"
#include "autograd/ops.h"
#include "detectors/eval/coco_json.h"
#include "detectors/pipeline/explain.h"
#include "detectors/pipeline/inference.h"
#include "detectors/pipeline/model_file.h"
#include "tools/commands.h"
#include "tools/paths.h"

namespace dg::tools {

namespace {
struct DetectOptions {
  std::string weights, out = "detections";
  std::vector<std::string> images;
  bool show_heatmap = false;
  bool explain = false;
  det::ExplainOptions ex;
  det::InferenceOverrides inf{"", 0, 0.3, 0};
};

void print_explained(const det::ExplainResult& r) {
  std::printf("%s\n", r.scene_description.c_str());
  for (const auto& p : r.pictures)
    std::printf("  %s (%s)\n    -> %s\n", p.summary.c_str(), p.own_config ? "the model's config" : "CPU default",
                p.path.c_str());
  std::printf("  the model's NMS log -> %s\n", r.nms_log_path.c_str());
}

int run(DetectOptions& o) {
  namespace fs = std::filesystem;
  const det::LoadedModel m = det::load_model(o.weights);
  const auto& info = m.info;
  if (o.explain) {
    o.ex.out = o.out;
    o.ex.inference.nms = o.inf.nms;  // the log keeps the model's score threshold and candidates
    o.ex.inference.nms_iou = o.inf.nms_iou;
    std::printf("model %s: %s\n", m.path.c_str(), m.net->describe().c_str());
    print_explained(det::explain_scene(m, o.ex));
    if (o.images.empty()) return 0;
  }
  check(!o.images.empty(), "detect: give image files (or --explain)");
  std::printf("model %s: %s; %lld classes, input %lldx%lld\n", m.path.c_str(), m.net->describe().c_str(),
              (long long)info.num_classes(), (long long)info.input_height, (long long)info.input_width);
  if (o.show_heatmap) {  // one forward of a blank input tells whether the model has score maps
    const Tensor blank = zeros({1, 3, info.input_height, info.input_width}, DType::f32);
    check(m.net->score_maps(blank).defined(), "detect --show-heatmap: this model (", info.kind, ") has no heatmap");
  }
  const det::InferenceOptions inf = det::apply_inference_overrides(det::detector_of(*m.net, "detect"), o.inf);
  // Every output path first: unique per input, and none of them an input (checked before writing).
  const std::vector<std::string> stems = unique_stems(o.images);
  std::vector<std::string> inputs = o.images;
  inputs.push_back(o.weights);
  const std::string json_path = (fs::path(o.out) / "detections.json").string();
  refuse_overwrite("detect", "the detections file", json_path, inputs);
  for (const std::string& stem : stems) {
    refuse_overwrite("detect", "the picture", (fs::path(o.out) / (stem + ".png")).string(), inputs);
    if (o.show_heatmap)
      refuse_overwrite("detect", "the picture", (fs::path(o.out) / (stem + "_heatmap.png")).string(), inputs);
  }
  fs::create_directories(o.out);
  nlohmann::json all = nlohmann::json::array();
  for (size_t i = 0; i < o.images.size(); ++i) {
    const std::string& file = o.images[i];
    const Tensor image = io::load_image(file);
    const det::ImageDetections d = det::detect_image(m, image, inf);
    const std::string& stem = stems[i];
    det::PictureOptions po;
    po.score_threshold = o.inf.score;
    po.scale = det::picture_scale(image);
    const std::string pic = (fs::path(o.out) / (stem + ".png")).string();
    io::save_png(pic, det::detection_picture(image, d.in_image, info.class_names, po));
    all.push_back(det::detections_json(file, image, d.in_image, info));
    std::printf("%s: %lld detections with score >= %.2f -> %s", file.c_str(), (long long)d.in_image.scores.numel(),
                o.inf.score, pic.c_str());
    if (o.show_heatmap) {
      // Drawn on the network input (where the score maps live), with the detections in input pixels.
      const Tensor hp_pic = det::score_map_picture(m, d, o.inf.score);
      const std::string hp = (fs::path(o.out) / (stem + "_heatmap.png")).string();
      io::save_png(hp, hp_pic);
      std::printf(", %s", hp.c_str());
    }
    std::printf("\n");
  }
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
  c->add_flag("--show-heatmap", o->show_heatmap,
              "centernet: also write <name>_heatmap.png, the heatmap over the input");
  c->add_option("--score", o->inf.score, "keep detections with score >= this")->capture_default_str();
  c->add_option("--topk", o->inf.topk, "candidates per image (centernet: peaks) or per level (fcos, retinanet)");
  c->add_option("--nms", o->inf.nms,
                "none, hard, soft-linear, soft-gaussian or diou (default: centernet none, "
                "fcos hard 0.6, retinanet hard 0.5)");
  c->add_option("--nms-iou", o->inf.nms_iou, "IoU threshold of hard / diou NMS, Nt of soft-linear");
  c->add_flag("--explain", o->explain,
              "for a validation scene: FCOS positives per level, RetinaNet matched anchors "
              "(explain_fcos.png, explain_retinanet.png) and the NMS log (explain_nms.txt)");
  c->add_option("--scene", o->ex.scene, "--explain: which validation scene")->capture_default_str();
  c->add_option("--data", o->ex.data, "--explain: fashion-scenes (default) or a COCO folder");
  c->add_option("--preset", o->ex.preset, "--explain on fashion-scenes: preset")->capture_default_str();
  return [o] { return run(*o); };
}

}  // namespace dg::tools
