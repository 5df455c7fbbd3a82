// FCOS network: see model.h for the architecture, the init and the state_dict names.
// Legend: N batch, K classes, C FPN/head width, L levels, P points over all levels.
#include "detectors/fcos/model.h"

#include <algorithm>
#include <cmath>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "layers/activation.h"
#include "layers/init.h"
#include "layers/norm.h"

namespace dg::fcos {

FcosConfig FcosConfig::cpu(int64_t num_classes) {
  FcosConfig c;
  c.num_classes = num_classes;
  c.width_mult = 0.25;
  c.first_level = 3;
  c.last_level = 5;
  c.fpn_channels = 64;
  c.head_depth = 4;
  c.gn_groups = 32;
  return c;
}

nlohmann::json FcosConfig::to_json() const {
  return {{"num_classes", num_classes},
          {"backbone", backbone},
          {"width_mult", width_mult},
          {"first_level", first_level},
          {"last_level", last_level},
          {"fpn_channels", fpn_channels},
          {"head_depth", head_depth},
          {"gn_groups", gn_groups},
          {"prior_prob", prior_prob},
          {"centerness_on_reg", centerness_on_reg},
          {"norm_on_bbox", norm_on_bbox},
          {"score_sqrt", score_sqrt},
          {"box_loss_weighting", box_loss_weighting},
          {"half_stride_offset", half_stride_offset},
          {"center_sampling", center_sampling},
          {"center_radius", center_radius},
          {"range_inclusive", range_inclusive},
          {"focal_alpha", focal_alpha},
          {"focal_gamma", focal_gamma},
          {"nms_threshold", nms_threshold}};
}

nlohmann::json FcosConfig::saved_json() const {
  nlohmann::json j = to_json();
  if (backbone == "resnet18") j.erase("backbone");
  return j;
}

nn::TrunkOptions FcosConfig::trunk_options() const {
  return {backbone, width_mult, first_level, last_level, fpn_channels};
}

FcosConfig FcosConfig::from_json(const nlohmann::json& j) {
  check(j.is_object(), "fcos: config must be a JSON object, got ", j.dump());
  FcosConfig c;
  const nlohmann::json known = c.to_json();
  for (auto& [key, value] : j.items()) check(known.contains(key), "fcos: unknown config field '", key, "'");
  for (auto& [key, value] : known.items()) {
    if (key == "backbone" && !j.contains(key)) continue;  // files before the choice: resnet18
    check(j.contains(key), "fcos: config field '", key, "' is missing");
    const nlohmann::json& v = j.at(key);
    const bool same_type = v.type() == value.type() || (v.is_number() && value.is_number());
    check(same_type, "fcos: config field '", key, "' must look like ", value.dump(), ", got ", v.dump());
  }
  auto get_int = [&](const char* k) {
    const nlohmann::json& v = j.at(k);
    check(v.is_number_integer() || (v.is_number() && std::floor(v.get<double>()) == v.get<double>()),
          "fcos: config field '", k, "' must be an integer, got ", v.dump());
    return v.get<int64_t>();
  };
  c.num_classes = get_int("num_classes");
  if (j.contains("backbone")) c.backbone = j.at("backbone").get<std::string>();
  c.width_mult = j.at("width_mult").get<double>();
  c.first_level = get_int("first_level");
  c.last_level = get_int("last_level");
  c.fpn_channels = get_int("fpn_channels");
  c.head_depth = get_int("head_depth");
  c.gn_groups = get_int("gn_groups");
  c.prior_prob = j.at("prior_prob").get<double>();
  c.centerness_on_reg = j.at("centerness_on_reg").get<bool>();
  c.norm_on_bbox = j.at("norm_on_bbox").get<bool>();
  c.score_sqrt = j.at("score_sqrt").get<bool>();
  c.box_loss_weighting = j.at("box_loss_weighting").get<std::string>();
  c.half_stride_offset = j.at("half_stride_offset").get<bool>();
  c.center_sampling = j.at("center_sampling").get<bool>();
  c.center_radius = j.at("center_radius").get<double>();
  c.range_inclusive = j.at("range_inclusive").get<bool>();
  c.focal_alpha = j.at("focal_alpha").get<double>();
  c.focal_gamma = j.at("focal_gamma").get<double>();
  c.nms_threshold = j.at("nms_threshold").get<double>();
  c.validate();
  return c;
}

void FcosConfig::validate() const {
  check(num_classes >= 1, "fcos: num_classes must be >= 1, got ", num_classes);
  check(width_mult > 0, "fcos: width_mult must be positive, got ", width_mult);
  check(first_level >= 3 && first_level <= 5, "fcos: first_level must be 3, 4 or 5 (C3..C5 feed the FPN), got ",
        first_level);
  check(last_level == 5 || last_level == 7, "fcos: last_level must be 5 (P_first..P5) or 7 (P6/P7 from P5), got ",
        last_level);
  check(fpn_channels >= 1 && head_depth >= 0, "fcos: fpn_channels must be >= 1 and head_depth >= 0, got ", fpn_channels,
        " and ", head_depth);
  check(gn_groups >= 1 && fpn_channels % gn_groups == 0, "fcos: GroupNorm needs fpn_channels (", fpn_channels,
        ") divisible by gn_groups (", gn_groups, ")");
  check(prior_prob > 0 && prior_prob < 1, "fcos: prior_prob must be in (0, 1), got ", prior_prob);
  check(box_loss_weighting == "centerness" || box_loss_weighting == "none",
        "fcos: box_loss_weighting must be \"centerness\" or \"none\", got \"", box_loss_weighting, "\"");
  check(center_radius > 0, "fcos: center_radius must be positive, got ", center_radius);
  check(focal_gamma >= 0, "fcos: focal_gamma must be >= 0, got ", focal_gamma);
  check(nms_threshold > 0 && nms_threshold <= 1, "fcos: nms_threshold must be in (0, 1], got ", nms_threshold);
}

std::vector<int64_t> FcosConfig::levels() const {
  std::vector<int64_t> l;
  for (int64_t i = first_level; i <= last_level; ++i) l.push_back(i);
  return l;
}

std::vector<int64_t> FcosConfig::strides() const {
  std::vector<int64_t> s;
  for (int64_t l : levels()) s.push_back(int64_t{1} << l);
  return s;
}

FcosAssignOptions FcosConfig::assign_options(int64_t h, int64_t w) const {
  FcosAssignOptions o;
  o.image_h = h;
  o.image_w = w;
  o.strides = strides();  // ranges empty: the FCOS defaults, first from -1, last open-ended
  o.half_stride_offset = half_stride_offset;
  o.range_inclusive = range_inclusive;
  o.center_sampling = center_sampling;
  o.center_radius = center_radius;
  o.norm_on_bbox = false;  // targets stay in pixels: the head's output is mapped to pixels instead
  return o;
}

namespace {
// A head conv: 3x3, padding 1, N(0, 0.01) weight, zero bias (FCOS paper, torchvision).
std::shared_ptr<nn::Conv2d> head_conv(int64_t in, int64_t out, Generator& gen) {
  auto c = std::make_shared<nn::Conv2d>(in, out, 3, gen, nn::Conv2dOptions{.padding = 1});
  nn::init::normal_(c->weight, 0.0, 0.01, gen);
  nn::init::constant_(c->bias, 0.0);
  return c;
}

std::shared_ptr<nn::Sequential> tower(const FcosConfig& cfg, Generator& gen) {
  auto seq = std::make_shared<nn::Sequential>();
  for (int64_t j = 0; j < cfg.head_depth; ++j) {
    seq->push_back(head_conv(cfg.fpn_channels, cfg.fpn_channels, gen));
    seq->push_back(std::make_shared<nn::GroupNorm>(cfg.gn_groups, cfg.fpn_channels));
    seq->push_back(std::make_shared<nn::ReLU>());
  }
  return seq;
}
}  // namespace

FcosHead::FcosHead(const FcosConfig& cfg, Generator& gen) : Module("FcosHead") {
  const int64_t C = cfg.fpn_channels;
  cls_tower = register_module("cls_tower", tower(cfg, gen));
  bbox_tower = register_module("bbox_tower", tower(cfg, gen));
  cls_logits = register_module("cls_logits", head_conv(C, cfg.num_classes, gen));
  bbox_pred = register_module("bbox_pred", head_conv(C, 4, gen));
  centerness = register_module("centerness", head_conv(C, 1, gen));
  // Focal-loss prior: sigmoid(b) = pi at the start, so the background does not swamp the first steps.
  nn::init::constant_(cls_logits->bias, -std::log((1.0 - cfg.prior_prob) / cfg.prior_prob));
  scales = register_module("scales", std::make_shared<nn::ModuleList>());
  for (size_t l = 0; l < cfg.levels().size(); ++l) scales->push_back(std::make_shared<nn::Scale>(1.0));
}

Fcos::Fcos(const FcosConfig& c, Generator& gen) : det::Detector("FCOS"), cfg(c) {
  cfg.validate();
  trunk = nn::build_trunk(*this, cfg.trunk_options(), gen);
  head = register_module("head", std::make_shared<FcosHead>(cfg, gen));
}

FcosHeadOutput Fcos::forward_heads(const Tensor& x) {
  check(x.dim() == 4 && x.size(1) == 3 && x.size(2) % 32 == 0 && x.size(3) % 32 == 0 && x.size(2) > 0 && x.size(3) > 0,
        "FCOS: expected input [N, 3, H, W] with H, W positive multiples of 32, got ", shape_text(x.shape()));
  std::vector<Tensor> p = trunk.forward(x);  // P_first..P_last
  const std::vector<int64_t> strides = cfg.strides(), levels = cfg.levels();
  FcosHeadOutput out;
  const int64_t N = x.size(0), K = cfg.num_classes;
  std::vector<Tensor> cls_flat, box_flat, ctr_flat;
  for (size_t l = 0; l < p.size(); ++l) {
    const int64_t HW = p[l].size(2) * p[l].size(3);
    // fcos_points puts ceil(H/s) x ceil(W/s) points on a level; the convs must agree.
    const int64_t s = strides[l], h = (x.size(2) + s - 1) / s, w = (x.size(3) + s - 1) / s;
    check(p[l].size(2) == h && p[l].size(3) == w, "FCOS: level P", levels[l], " is ", p[l].size(2), "x", p[l].size(3),
          " but its points are ", h, "x", w);
    Tensor ct = (*head->cls_tower)(p[l]);
    Tensor bt = (*head->bbox_tower)(p[l]);
    Tensor cls = (*head->cls_logits)(ct);
    auto& scale = static_cast<nn::Scale&>((*head->scales)[l]);
    Tensor raw = scale((*head->bbox_pred)(bt));  // under autocast: half conv output x f32 scale -> f32
    // norm_on_bbox: ReLU(s x) * stride (distances in units of the stride, mapped back to pixels);
    // otherwise exp(s x) in pixels (original FCOS).
    Tensor box = cfg.norm_on_bbox ? mul(relu(raw), double(strides[l])) : exp(raw);
    Tensor ctr = (*head->centerness)(cfg.centerness_on_reg ? bt : ct);
    out.level_cls.push_back(cls);
    out.level_box.push_back(box);
    out.level_ctr.push_back(ctr);
    out.level_sizes.push_back(HW);
    cls_flat.push_back(reshape(cls, {N, K, HW}));
    box_flat.push_back(reshape(box, {N, 4, HW}));
    ctr_flat.push_back(reshape(ctr, {N, HW}));
  }
  out.cls = cls_flat.size() == 1 ? cls_flat[0] : cat(cls_flat, 2);
  out.box = box_flat.size() == 1 ? box_flat[0] : cat(box_flat, 2);
  out.ctr = ctr_flat.size() == 1 ? ctr_flat[0] : cat(ctr_flat, 1);
  return out;
}

int64_t fcos_num_parameters(const FcosConfig& cfg) {
  check(cfg.backbone == "resnet18", "fcos_num_parameters: the formula counts a resnet18 trunk, got ", cfg.backbone);
  const std::vector<int64_t> w = nn::resnet_widths(cfg.width_mult);
  int64_t n = nn::resnet18_backbone_parameters(cfg.width_mult);  // layers/resnet.h
  const int64_t C = cfg.fpn_channels, K = cfg.num_classes;
  for (int64_t l = cfg.first_level; l <= 5; ++l) n += w[(size_t)(l - 2)] * C + C + 9 * C * C + C;  // FPN
  if (cfg.last_level == 7) n += 2 * (9 * C * C + C);                                               // P6, P7
  n += 2 * cfg.head_depth * (9 * C * C + C + 2 * C);     // two towers: conv + GroupNorm
  n += (9 * C * K + K) + (9 * C * 4 + 4) + (9 * C + 1);  // cls_logits, bbox_pred, centerness
  n += cfg.last_level - cfg.first_level + 1;             // scales
  return n;
}

}  // namespace dg::fcos
