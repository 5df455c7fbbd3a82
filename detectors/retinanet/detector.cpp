// RetinaNet detector (see detector.h). Legend: N images, A anchors of all levels, K classes.
#include "detectors/retinanet/detector.h"

#include <cstdio>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/ops.h"
#include "detectors/retinanet/decode.h"

namespace dg::retinanet {

RetinaNetDetector::RetinaNetDetector(const RetinaNetConfig& c, Generator& gen) : Detector("RetinaNet"), cfg(c) {
  cfg.validate();
  trunk = nn::build_trunk(*this, cfg.trunk_options(), gen);
  head = register_module("head", std::make_shared<RetinaNetHead>(cfg, gen));
}

namespace {

// Inside an autocast scope the head convs give f16/bf16 maps: the loss and the decoding work in f32
// (f64 stays f64). A differentiable cast, so the gradient flows back into the half-precision graph.
RetinaNetOutput widen(RetinaNetOutput o) {
  for (std::vector<Tensor>* maps : {&o.cls, &o.box})
    for (Tensor& t : *maps)
      if (is_half(t.dtype())) t = t.to(DType::f32);
  return o;
}

std::string number_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}
}  // namespace

std::string RetinaNetDetector::describe() const {
  const std::string bb = cfg.backbone == "resnet18" ? "ResNet-18 x" + number_text(cfg.width_mult)
                                                    : nn::backbone_text(cfg.backbone, cfg.width_mult);
  return "RetinaNet, " + bb + " + FPN P" + std::to_string(cfg.first_level) + "-P" + std::to_string(cfg.last_level) +
         " x" + std::to_string(cfg.fpn_channels) + ", head " + std::to_string(cfg.head_depth) + " x " +
         std::to_string(cfg.fpn_channels) + (cfg.head_norm == "gn" ? " GN" : "") + ", " +
         std::to_string(cfg.anchors_per_location()) + " anchors, " + det::with_commas(num_parameters()) + " parameters";
}

RetinaNetOutput RetinaNetDetector::forward_heads(const Tensor& x) {
  check(x.defined() && x.dim() == 4 && x.size(1) == 3 && x.size(2) % 32 == 0 && x.size(3) % 32 == 0 && x.size(2) > 0 &&
            x.size(3) > 0,
        "retinanet: expected input [N, 3, H, W] with H, W positive multiples of 32, got ",
        x.defined() ? shape_str(x.shape()) : "undefined");
  const std::vector<Tensor> p = trunk.forward(x);  // P_first..P_last
  RetinaNetOutput out;
  for (const Tensor& level : p) {
    out.cls.push_back((*head->classification_head)(level));
    out.box.push_back((*head->regression_head)(level));
  }
  return out;
}

AnchorSet RetinaNetDetector::anchors(int64_t image_h, int64_t image_w) {
  std::lock_guard<std::mutex> lock(anchors_mutex_);
  auto it = anchor_cache_.find({image_h, image_w});
  if (it != anchor_cache_.end()) return it->second;
  AnchorSet s;
  s.anchors = retinanet_anchors(cfg.anchor_options(image_h, image_w), DType::f32, &s.level_sizes);
  anchor_cache_[{image_h, image_w}] = s;
  return s;
}

std::vector<AnchorMatch> RetinaNetDetector::matched_anchors(const Tensor& boxes, int64_t image_h, int64_t image_w) {
  const AnchorSet s = anchors(image_h, image_w);
  return retinanet_positive_anchors(s.anchors, s.level_sizes, cfg.levels(), boxes.to(DType::f32), cfg.matcher_options(),
                                    cfg.conventions());
}

det::LossReport RetinaNetDetector::loss(const data::Batch& batch) {
  const Tensor& x = batch.images;
  check(x.defined() && x.dim() == 4, "retinanet: batch images must be [N, 3, H, W], got ",
        x.defined() ? shape_str(x.shape()) : "undefined");
  const int64_t N = x.size(0), K = cfg.num_classes;
  check((int64_t)batch.boxes.size() == N && (int64_t)batch.labels.size() == N, "retinanet: batch of ", N,
        " images has ", batch.boxes.size(), " box lists and ", batch.labels.size(), " label lists");
  const RetinaNetOutput out = widen(forward_heads(x));
  const Tensor cls = flatten_head_outputs(out.cls, K);  // [N, A, K]
  const Tensor box = flatten_head_outputs(out.box, 4);  // [N, A, 4]
  const AnchorSet s = anchors(x.size(2), x.size(3));
  check(s.anchors.size(0) == cls.size(1), "retinanet: ", s.anchors.size(0), " anchors for ", cls.size(1),
        " head outputs at input ", shape_str(x.shape()));
  std::vector<Tensor> boxes;
  std::vector<std::vector<int64_t>> labels;
  for (int64_t n = 0; n < N; ++n) {
    const auto& bn = batch.boxes[(size_t)n];
    const auto& ln = batch.labels[(size_t)n];
    std::vector<double> v;
    for (const auto& b : bn) v.insert(v.end(), b.begin(), b.end());
    boxes.push_back(from_vector(v, {(int64_t)bn.size(), 4}, DType::f32));
    labels.emplace_back(ln.begin(), ln.end());
  }
  const RetinaNetTargets t = retinanet_targets(s.anchors, boxes, labels, K, cfg.matcher_options(), cfg.coder_options(),
                                               cfg.conventions());
  const RetinaNetLoss l = retinanet_loss(cls, box, t, cfg);
  return {l.total, {{"cls", l.cls}, {"box", l.box}}};
}

std::vector<std::pair<std::string, Tensor>> RetinaNetDetector::forward_outputs(const Tensor& images) {
  RetinaNetOutput o = forward_heads(images);
  std::vector<std::pair<std::string, Tensor>> r;
  for (size_t l = 0; l < o.cls.size(); ++l) {
    r.push_back({"cls_" + std::to_string(l), o.cls[l]});
    r.push_back({"box_" + std::to_string(l), o.box[l]});
  }
  return r;
}

det::InferenceOptions RetinaNetDetector::default_inference() const {
  det::InferenceOptions o;
  o.score_threshold = cfg.score_threshold;
  o.topk_candidates = cfg.topk_candidates;
  o.max_detections = cfg.detections_per_image;
  o.nms.kind = det::PostNms::hard;
  o.nms.iou = cfg.nms_threshold;
  return o;
}

std::vector<det::Detections> RetinaNetDetector::detect(const Tensor& images, const det::InferenceOptions& opt) {
  NoGradGuard ng;
  const RetinaNetOutput out = widen(forward_heads(images));
  const AnchorSet s = anchors(images.size(2), images.size(3));
  return retinanet_decode(out.cls, out.box, s.anchors, cfg.num_classes, images.size(2), images.size(3), opt,
                          cfg.coder_options());
}

std::shared_ptr<det::Detector> make_retinanet_detector(int64_t num_classes, const nlohmann::json& overrides,
                                                       Generator& gen) {
  nlohmann::json config = RetinaNetConfig::cpu(num_classes).to_json();
  det::apply_overrides(config, overrides, "retinanet");
  check(config["num_classes"].get<int64_t>() == num_classes, "retinanet: the model options set num_classes ",
        config["num_classes"].dump(), " but the data has ", num_classes, " classes");
  return std::make_shared<RetinaNetDetector>(RetinaNetConfig::from_json(config), gen);
}

}  // namespace dg::retinanet
