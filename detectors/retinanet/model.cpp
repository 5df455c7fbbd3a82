// RetinaNet config and head (see model.h). Legend: F fpn/head channels, A anchors per location,
// K classes, L FPN levels.
#include "detectors/retinanet/model.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "detectors/task/detector.h"
#include "layers/activation.h"
#include "layers/init.h"
#include "layers/norm.h"
#include "layers/resnet.h"

namespace dg::retinanet {

RetinaNetConfig RetinaNetConfig::cpu(int64_t num_classes) {
  RetinaNetConfig c;
  c.num_classes = num_classes;
  c.width_mult = 0.25;
  c.last_level = 5;
  c.fpn_channels = 64;
  return c;
}

nlohmann::json RetinaNetConfig::to_json() const {
  return nlohmann::json{
      {"num_classes", num_classes},
      {"backbone", backbone},
      {"width_mult", width_mult},
      {"first_level", first_level},
      {"last_level", last_level},
      {"fpn_channels", fpn_channels},
      {"head_depth", head_depth},
      {"head_norm", head_norm},
      {"head_gn_groups", head_gn_groups},
      {"head_init_std", head_init_std},
      {"prior", prior},
      {"anchor_size", anchor_size},
      {"scales_per_octave", scales_per_octave},
      {"anchor_ratios", anchor_ratios},
      {"anchor_round", anchor_round},
      {"fg_iou", fg_iou},
      {"bg_iou", bg_iou},
      {"allow_low_quality", allow_low_quality},
      {"coder_weights", coder_weights},
      {"focal_alpha", focal_alpha},
      {"focal_gamma", focal_gamma},
      {"focal_normalizer", focal_normalizer},
      {"box_loss", box_loss},
      {"box_loss_beta", box_loss_beta},
      {"score_threshold", score_threshold},
      {"topk_candidates", topk_candidates},
      {"nms_threshold", nms_threshold},
      {"detections_per_image", detections_per_image},
  };
}

namespace {
int64_t get_int(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  check(v.is_number_integer() || (v.is_number_float() && std::floor(v.get<double>()) == v.get<double>()),
        "retinanet: option '", key, "' must be an integer, got ", v.dump());
  return v.is_number_integer() ? v.get<int64_t>() : (int64_t)v.get<double>();
}

std::vector<double> get_numbers(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  check(v.is_array(), "retinanet: option '", key, "' must be a list of numbers, got ", v.dump());
  std::vector<double> out;
  for (const auto& e : v) {
    check(e.is_number(), "retinanet: option '", key, "' must be a list of numbers, got ", v.dump());
    out.push_back(e.get<double>());
  }
  return out;
}
}  // namespace

nlohmann::json RetinaNetConfig::saved_json() const {
  nlohmann::json j = to_json();
  if (backbone == "resnet18") j.erase("backbone");
  return j;
}

nn::TrunkOptions RetinaNetConfig::trunk_options() const {
  return {backbone, width_mult, first_level, last_level, fpn_channels};
}

RetinaNetConfig RetinaNetConfig::from_json(const nlohmann::json& j) {
  check(j.is_object() && j.contains("num_classes") && j["num_classes"].is_number_integer(),
        "retinanet: a config needs an integer \"num_classes\", got ", j.dump());
  nlohmann::json full = cpu(j["num_classes"].get<int64_t>()).to_json();
  det::apply_overrides(full, j, "retinanet");
  RetinaNetConfig c;
  c.num_classes = get_int(full, "num_classes");
  c.backbone = full["backbone"].get<std::string>();
  c.width_mult = full["width_mult"].get<double>();
  c.first_level = get_int(full, "first_level");
  c.last_level = get_int(full, "last_level");
  c.fpn_channels = get_int(full, "fpn_channels");
  c.head_depth = get_int(full, "head_depth");
  c.head_norm = full["head_norm"].get<std::string>();
  c.head_gn_groups = get_int(full, "head_gn_groups");
  c.head_init_std = full["head_init_std"].get<double>();
  c.prior = full["prior"].get<double>();
  c.anchor_size = full["anchor_size"].get<double>();
  c.scales_per_octave = get_int(full, "scales_per_octave");
  c.anchor_ratios = get_numbers(full, "anchor_ratios");
  c.anchor_round = full["anchor_round"].get<bool>();
  c.fg_iou = full["fg_iou"].get<double>();
  c.bg_iou = full["bg_iou"].get<double>();
  c.allow_low_quality = full["allow_low_quality"].get<bool>();
  c.coder_weights = get_numbers(full, "coder_weights");
  c.focal_alpha = full["focal_alpha"].get<double>();
  c.focal_gamma = full["focal_gamma"].get<double>();
  c.focal_normalizer = full["focal_normalizer"].get<std::string>();
  c.box_loss = full["box_loss"].get<std::string>();
  c.box_loss_beta = full["box_loss_beta"].get<double>();
  c.score_threshold = full["score_threshold"].get<double>();
  c.topk_candidates = get_int(full, "topk_candidates");
  c.nms_threshold = full["nms_threshold"].get<double>();
  c.detections_per_image = get_int(full, "detections_per_image");
  c.validate();
  return c;
}

void RetinaNetConfig::validate() const {
  check(num_classes >= 1, "retinanet: num_classes must be >= 1, got ", num_classes);
  check(width_mult > 0, "retinanet: width_mult must be positive, got ", width_mult);
  check(first_level >= 2 && first_level <= 5, "retinanet: first_level must be 2..5 (C2..C5), got ", first_level);
  check(last_level == 5 || last_level == 7, "retinanet: last_level must be 5 (P3-P5 style) or 7 (P6/P7 from P5), got ",
        last_level);
  check(fpn_channels >= 1, "retinanet: fpn_channels must be >= 1, got ", fpn_channels);
  check(head_depth >= 0, "retinanet: head_depth must be >= 0, got ", head_depth);
  check(head_norm == "none" || head_norm == "gn", "retinanet: head_norm must be \"none\" or \"gn\", got \"", head_norm,
        "\"");
  if (head_norm == "gn")
    check(head_gn_groups >= 1 && fpn_channels % head_gn_groups == 0, "retinanet: head_gn_groups (", head_gn_groups,
          ") must divide fpn_channels (", fpn_channels, ")");
  check(head_init_std >= 0, "retinanet: head_init_std must be >= 0, got ", head_init_std);
  check(prior > 0 && prior < 1, "retinanet: prior must be in (0, 1), got ", prior);
  check(anchor_size > 0, "retinanet: anchor_size must be positive, got ", anchor_size);
  check(scales_per_octave >= 1, "retinanet: scales_per_octave must be >= 1, got ", scales_per_octave);
  check(!anchor_ratios.empty(), "retinanet: anchor_ratios must not be empty");
  for (double r : anchor_ratios) check(r > 0, "retinanet: anchor_ratios must be positive, got ", r);
  check(bg_iou <= fg_iou && bg_iou >= 0 && fg_iou <= 1, "retinanet: need 0 <= bg_iou <= fg_iou <= 1, got bg_iou ",
        bg_iou, ", fg_iou ", fg_iou);
  check(coder_weights.size() == 4, "retinanet: coder_weights needs 4 numbers (wx, wy, ww, wh), got ",
        coder_weights.size());
  for (double w : coder_weights) check(w > 0, "retinanet: coder_weights must be positive, got ", w);
  check(focal_alpha <= 1, "retinanet: focal_alpha must be <= 1 (negative disables it), got ", focal_alpha);
  check(focal_gamma >= 0, "retinanet: focal_gamma must be >= 0, got ", focal_gamma);
  check(focal_normalizer == "per_image" || focal_normalizer == "batch_fg",
        "retinanet: focal_normalizer must be \"per_image\" or \"batch_fg\", got \"", focal_normalizer, "\"");
  check(box_loss == "l1" || box_loss == "smooth_l1", "retinanet: box_loss must be \"l1\" or \"smooth_l1\", got \"",
        box_loss, "\"");
  check(box_loss_beta >= 0, "retinanet: box_loss_beta must be >= 0, got ", box_loss_beta);
  check(topk_candidates >= 1 && detections_per_image >= 1,
        "retinanet: topk_candidates and detections_per_image must be >= 1, got ", topk_candidates, " and ",
        detections_per_image);
  check(nms_threshold >= 0 && nms_threshold <= 1, "retinanet: nms_threshold must be in [0, 1], got ", nms_threshold);
}

std::vector<int64_t> RetinaNetConfig::levels() const {
  std::vector<int64_t> l;
  for (int64_t i = first_level; i <= last_level; ++i) l.push_back(i);
  return l;
}

std::vector<int64_t> RetinaNetConfig::strides() const {
  std::vector<int64_t> s;
  for (int64_t l : levels()) s.push_back(int64_t{1} << l);
  return s;
}

AnchorOptions RetinaNetConfig::anchor_options(int64_t image_h, int64_t image_w) const {
  AnchorOptions o;
  o.image_h = image_h;
  o.image_w = image_w;
  o.strides = strides();
  for (int64_t s : o.strides) o.sizes.push_back(anchor_size * double(s));
  for (int64_t i = 0; i < scales_per_octave; ++i)
    o.scales.push_back(std::pow(2.0, double(i) / double(scales_per_octave)));
  o.ratios = anchor_ratios;
  o.anchor_round = anchor_round;
  return o;
}

Conventions RetinaNetConfig::conventions() const { return conventions_preset("torchvision"); }

MatcherOptions RetinaNetConfig::matcher_options() const {
  MatcherOptions m;
  m.high = fg_iou;
  m.low = bg_iou;
  m.allow_low_quality = allow_low_quality;
  return m;
}

BoxCoderOptions RetinaNetConfig::coder_options() const {
  BoxCoderOptions o;
  o.wx = coder_weights[0], o.wy = coder_weights[1], o.ww = coder_weights[2], o.wh = coder_weights[3];
  return o;
}

// ---- head -----------------------------------------------------------------------------------------

RetinaNetBranch::RetinaNetBranch(const RetinaNetConfig& cfg, int64_t out, const std::string& out_name, double out_bias,
                                 Generator& gen)
    : Module("RetinaNetBranch") {
  const int64_t F = cfg.fpn_channels;
  const bool gn = cfg.head_norm == "gn";
  conv = register_module("conv", std::make_shared<nn::Sequential>());
  for (int64_t i = 0; i < cfg.head_depth; ++i) {
    // torchvision's Conv2dNormActivation: the conv has a bias only without a norm layer.
    auto c = std::make_shared<nn::Conv2d>(F, F, 3, gen, nn::Conv2dOptions{.padding = 1, .bias = !gn});
    nn::init::normal_(c->weight, 0.0, cfg.head_init_std, gen);
    if (!gn) nn::init::constant_(c->bias, 0.0);
    auto block = std::make_shared<nn::Sequential>();
    block->push_back(c);
    if (gn) block->push_back(std::make_shared<nn::GroupNorm>(cfg.head_gn_groups, F));
    block->push_back(std::make_shared<nn::ReLU>());
    conv->push_back(block);
  }
  last = register_module(out_name, std::make_shared<nn::Conv2d>(F, out, 3, gen, nn::Conv2dOptions{.padding = 1}));
  nn::init::normal_(last->weight, 0.0, cfg.head_init_std, gen);
  nn::init::constant_(last->bias, out_bias);
}

Tensor RetinaNetBranch::forward(const Tensor& x) { return (*last)((*conv)(x)); }

RetinaNetHead::RetinaNetHead(const RetinaNetConfig& cfg, Generator& gen) : Module("RetinaNetHead") {
  const int64_t A = cfg.anchors_per_location();
  // sigmoid(b) = prior  <=>  b = -log((1 - prior) / prior)
  const double cls_bias = -std::log((1.0 - cfg.prior) / cfg.prior);
  classification_head = register_module(
      "classification_head", std::make_shared<RetinaNetBranch>(cfg, A * cfg.num_classes, "cls_logits", cls_bias, gen));
  regression_head = register_module("regression_head",
                                    std::make_shared<RetinaNetBranch>(cfg, A * 4, "bbox_reg", 0.0, gen));
}

int64_t retinanet_num_parameters(const RetinaNetConfig& cfg) {
  check(cfg.backbone == "resnet18", "retinanet_num_parameters: the formula counts a resnet18 trunk, got ",
        cfg.backbone);
  const std::vector<int64_t> w = nn::resnet_widths(cfg.width_mult);
  int64_t n = nn::resnet18_backbone_parameters(cfg.width_mult);  // layers/resnet.h
  // FPN over C_first..C5: 1x1 laterals and 3x3 outputs, plus P6/P7 (layers/fpn.h)
  const int64_t F = cfg.fpn_channels;
  for (int64_t l = cfg.first_level; l <= 5; ++l) n += w[(size_t)(l - 2)] * F + F + 9 * F * F + F;
  if (cfg.last_level == 7) n += 2 * (9 * F * F + F);
  // Head: two towers, then the two output convs
  const int64_t tower = cfg.head_norm == "gn" ? 9 * F * F + 2 * F : 9 * F * F + F;
  const int64_t A = cfg.anchors_per_location(), K = cfg.num_classes;
  n += 2 * cfg.head_depth * tower;
  n += 9 * F * A * K + A * K + 9 * F * A * 4 + A * 4;
  return n;
}

}  // namespace dg::retinanet
