// CenterNet as a det::Detector: its config as JSON, the training loss of a loader batch, and inference.
#include "detectors/centernet/detector.h"

#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "detectors/centernet/decode.h"
#include "detectors/centernet/loss.h"
#include "detectors/centernet/model.h"
#include "layers/trunk.h"

namespace dg::centernet {

nlohmann::json CenterNetConfig::to_json() const {
  return {{"num_classes", num_classes}, {"backbone", backbone},           {"width_mult", width_mult},
          {"up_channels", up_channels}, {"head_channels", head_channels}, {"heatmap_prior", heatmap_prior},
          {"max_objs", max_objs}};
}

nlohmann::json CenterNetConfig::saved_json() const {
  nlohmann::json j = to_json();
  if (backbone == "resnet18") j.erase("backbone");
  return j;
}

CenterNetConfig CenterNetConfig::from_json(const nlohmann::json& j, const std::string& context) {
  CenterNetConfig c;
  try {
    c.num_classes = j.at("num_classes").get<int64_t>();
    if (j.contains("backbone")) c.backbone = j.at("backbone").get<std::string>();  // absent: resnet18
    c.width_mult = j.at("width_mult").get<double>();
    c.up_channels = j.at("up_channels").get<std::vector<int64_t>>();
    c.head_channels = j.at("head_channels").get<int64_t>();
    c.heatmap_prior = j.at("heatmap_prior").get<double>();
    if (j.contains("max_objs")) c.max_objs = j.at("max_objs").get<int64_t>();  // absent in the first model files
  } catch (const nlohmann::json::exception& e) {
    fail(context, ": CenterNet configuration: ", e.what());
  }
  check(c.num_classes >= 1 && c.width_mult > 0 && c.up_channels.size() == 3 && c.head_channels >= 1 &&
            c.heatmap_prior > 0 && c.heatmap_prior < 1 && c.max_objs >= 1,
        context, ": bad CenterNet configuration ", c.to_json().dump());
  return c;
}

std::string CenterNetDetector::describe() const {
  std::ostringstream s;
  s << "CenterNet, ";
  if (cfg.backbone == "resnet18") s << "ResNet-18 x" << cfg.width_mult;  // ostream's %g-like default format
  else s << nn::backbone_text(cfg.backbone, cfg.width_mult);
  s << ", up " << cfg.up_channels[0] << "/" << cfg.up_channels[1] << "/" << cfg.up_channels[2] << ", heads "
    << cfg.head_channels << ", " << det::with_commas(num_parameters()) << " parameters";
  return s.str();
}

det::LossReport CenterNetDetector::loss(const data::Batch& b) {
  const int64_t out_h = b.images.size(2) / stride(), out_w = b.images.size(3) / stride();
  CenterNetBatchTargets t = batch_targets(b, cfg.num_classes, out_h, out_w, cfg.max_objs, (double)stride());
  CenterNetOutput out = forward_heads(b.images);
  CenterNetLoss l = centernet_loss(out.heatmap, out.wh, out.offset, t);
  return {l.total, {{"heatmap", l.heatmap}, {"wh", l.wh}, {"offset", l.offset}}};
}

std::vector<std::pair<std::string, Tensor>> CenterNetDetector::forward_outputs(const Tensor& images) {
  CenterNetOutput o = forward_heads(images);
  return {{"heatmap", o.heatmap}, {"wh", o.wh}, {"offset", o.offset}};
}

det::InferenceOptions CenterNetDetector::default_inference() const {
  det::InferenceOptions o;
  o.score_threshold = -1;  // all top-K peaks (what COCO evaluation wants)
  o.topk_candidates = 100;
  o.max_detections = 100;
  o.nms.kind = det::PostNms::none;
  return o;
}

std::vector<det::Detections> CenterNetDetector::detect(const Tensor& images, const det::InferenceOptions& opt) {
  NoGradGuard ng;
  CenterNetOutput o = forward_heads(images);
  DecodeOptions d;
  d.topk = std::max<int64_t>(1, std::min(opt.topk_candidates, opt.max_detections));
  d.stride = (double)stride();
  d.score_threshold = opt.score_threshold;
  d.nms = opt.nms.kind;
  d.nms_iou = opt.nms.iou;
  d.soft_sigma = opt.nms.soft_sigma;
  d.soft_min_score = opt.nms.soft_min_score;
  std::vector<det::Detections> r = centernet_decode(o.heatmap, o.wh, o.offset, d);
  for (auto& x : r) x = det::keep_first(x, opt.max_detections);
  return r;
}

std::shared_ptr<det::Detector> make_centernet_detector(int64_t num_classes, const nlohmann::json& overrides,
                                                       Generator& gen) {
  nlohmann::json c = CenterNetConfig::cpu(num_classes).to_json();
  det::apply_overrides(c, overrides, "centernet");
  return std::make_shared<CenterNetDetector>(CenterNetConfig::from_json(c, "centernet"), gen);
}

}  // namespace dg::centernet
