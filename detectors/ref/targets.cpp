// `detgrad ref` entries for the target family (see detectors/ref/ref_ops.h): the NMS family, CenterNet
// heatmaps, FCOS targets, RetinaNet anchors / matcher / box coder. Every op also takes
// `--attr convention=torchvision|mmdet|original` and single Conventions fields as attributes; FCOS
// targets and anchors also take their own options' convention fields (FcosAssignOptions, AnchorOptions).
// The table with inputs, attributes and defaults is docs/detection/nms.md, heatmaps.md and assign.md.
// Only box_encode and box_decode are differentiable; every other op lists its float inputs as
// constants, so `detgrad ref` writes no (meaningless, all-zero) gradient files for them.
#include <cmath>
#include <limits>
#include <string>
#include <tuple>
#include <vector>

#include "autograd/graph.h"
#include "autograd/ops/registry.h"
#include "detectors/anchors.h"
#include "detectors/box_coder.h"
#include "detectors/centernet/targets.h"
#include "detectors/conventions.h"
#include "detectors/fcos/targets.h"
#include "detectors/matcher.h"
#include "detectors/nms.h"
#include "detectors/ref/ref_ops.h"

namespace dg {

namespace {
using Outs = std::vector<Tensor>;

// The convention preset and field overrides among the attributes (marked used so they are no typo).
Conventions conv_of(OpArgs& a) {
  std::vector<std::string> consumed;
  Conventions c = conventions_from_attrs(a.all_attrs(), &consumed);
  for (const std::string& k : consumed) a.mark_used(k);
  return c;
}

// "0.5,1,2" -> {0.5, 1, 2}; "inf" allowed; absent -> dflt.
std::vector<double> doubles(OpArgs& a, const std::string& op, const std::string& key, std::vector<double> dflt) {
  if (!a.has_attr(key)) {
    a.mark_used(key);
    return dflt;
  }
  std::string s = a.s(key, "");
  for (char& ch : s)
    if (ch == '[' || ch == ']' || ch == '(' || ch == ')' || ch == ' ') ch = ',';
  std::vector<double> r;
  size_t at = 0;
  while (at <= s.size()) {
    size_t next = s.find(',', at);
    if (next == std::string::npos) next = s.size();
    const std::string item = s.substr(at, next - at);
    if (!item.empty()) {
      if (item == "inf") {
        r.push_back(std::numeric_limits<double>::infinity());
      } else {
        char* end = nullptr;
        const double d = std::strtod(item.c_str(), &end);
        check(end && *end == 0, op, ": attribute ", key, "='", a.s(key, ""), "' is not a list of numbers");
        r.push_back(d);
      }
    }
    at = next + 1;
  }
  return r;
}

// "H,W" -> (H, W); one number means a square.
std::pair<int64_t, int64_t> hw(OpArgs& a, const std::string& op, const std::string& key,
                               std::pair<int64_t, int64_t> dflt) {
  std::vector<int64_t> v = a.ints(key);
  if (v.empty()) return dflt;
  check(v.size() <= 2, op, ": attribute ", key, " must be H,W (or one number), got ", v.size(), " numbers");
  return {v[0], v.size() == 2 ? v[1] : v[0]};
}

std::vector<int64_t> ints_or(OpArgs& a, const std::string& key, std::vector<int64_t> dflt) {
  std::vector<int64_t> v = a.ints(key);
  return v.empty() ? dflt : v;
}

BoxCoderOptions coder_options(OpArgs& a, const std::string& op) {
  BoxCoderOptions o;
  std::vector<double> w = doubles(a, op, "weights", {1, 1, 1, 1});
  check(w.size() == 4, op, ": weights must be 4 numbers wx,wy,ww,wh, got ", w.size());
  o.wx = w[0], o.wy = w[1], o.ww = w[2], o.wh = w[3];
  o.clip = a.f("bbox_xform_clip", o.clip);
  return o;
}

DType dtype_attr(OpArgs& a) { return dtype_from_name(a.s("dtype", "f32")); }

// explain=true appends two outputs: [E,2] i64 (suppressed or decayed box, the box that did it) and
// [E] overlaps in the boxes' dtype (IoU; DIoU-NMS: IoU - penalty), one row per event of nms.h.
std::vector<NmsEvent>* explain_of(OpArgs& a, std::vector<NmsEvent>& events) {
  return a.b("explain", false) ? &events : nullptr;
}
Outs with_explain(Outs outs, const std::vector<NmsEvent>* events, DType dt) {
  if (!events) return outs;
  const int64_t E = (int64_t)events->size();
  std::vector<double> pairs, ious;
  for (const NmsEvent& e : *events) {
    pairs.push_back(double(e.box)), pairs.push_back(double(e.by));
    ious.push_back(e.iou);
  }
  outs.push_back(from_vector(pairs, {E, 2}, DType::i64));
  outs.push_back(from_vector(ious, {E}, dt));
  return outs;
}

// The NMS family: nms, batched_nms, soft_nms, diou_nms.
void add_nms_ops(std::vector<OpSpec>& t) {
  t.push_back({"nms", "boxes, scores",
               "iou_threshold, explain (false), convention (torchvision), nms_suppress_on_equal, pixel_offset",
               "boxes,scores", [](OpArgs& a) {
                 Conventions c = conv_of(a);
                 std::vector<NmsEvent> ev;
                 std::vector<NmsEvent>* ex = explain_of(a, ev);
                 Tensor keep = nms(a.in("boxes"), a.in("scores"), a.f("iou_threshold"), c, ex);
                 return with_explain({keep}, ex, a.in("boxes").dtype());
               }});
  t.push_back({"batched_nms", "boxes, scores, idxs",
               "iou_threshold, explain (false), convention, nms_suppress_on_equal, pixel_offset", "boxes,scores",
               [](OpArgs& a) {
                 Conventions c = conv_of(a);
                 std::vector<NmsEvent> ev;
                 std::vector<NmsEvent>* ex = explain_of(a, ev);
                 Tensor keep = batched_nms(a.in("boxes"), a.in("scores"), a.in("idxs"), a.f("iou_threshold"), c, ex);
                 return with_explain({keep}, ex, a.in("boxes").dtype());
               }});
  t.push_back(
      {"soft_nms", "boxes, scores",
       "method (linear), sigma (0.5), iou_threshold (0.3), score_threshold (0.001), explain (false), convention; "
       "out0 indices, out1 scores",
       "boxes,scores", [](OpArgs& a) {
         Conventions c = conv_of(a);
         SoftNmsOptions o;
         o.method = soft_nms_method_from_name(a.s("method", "linear"));
         o.sigma = a.f("sigma", o.sigma);
         o.iou_threshold = a.f("iou_threshold", o.iou_threshold);
         o.score_threshold = a.f("score_threshold", o.score_threshold);
         std::vector<NmsEvent> ev;
         std::vector<NmsEvent>* ex = explain_of(a, ev);
         SoftNmsResult r = soft_nms(a.in("boxes"), a.in("scores"), o, c, ex);
         return with_explain({r.indices, r.scores}, ex, a.in("boxes").dtype());
       }});
  t.push_back({"diou_nms", "boxes, scores", "iou_threshold, beta (1.0), explain (false), convention", "boxes,scores",
               [](OpArgs& a) {
                 Conventions c = conv_of(a);
                 std::vector<NmsEvent> ev;
                 std::vector<NmsEvent>* ex = explain_of(a, ev);
                 Tensor keep = diou_nms(a.in("boxes"), a.in("scores"), a.f("iou_threshold"), a.f("beta", 1.0), c, ex);
                 return with_explain({keep}, ex, a.in("boxes").dtype());
               }});
}

// Heatmap and point targets: gaussian_radius, draw_gaussian, centernet_targets, fcos_targets.
void add_point_target_ops(std::vector<OpSpec>& t) {
  // ---- CenterNet heatmaps ----
  t.push_back({"gaussian_radius", "sizes ([K,2]: h, w)", "min_overlap (0.7), gaussian_radius_code (true)", "sizes",
               [](OpArgs& a) {
                 conv_of(a);
                 const bool code = a.b("gaussian_radius_code", true);
                 const Tensor& s = a.in("sizes");
                 check(s.dim() == 2 && s.size(1) == 2 && is_floating(s.dtype()),
                       "gaussian_radius: sizes must be a float [K,2] (h, w), got ", shape_text(s.shape()), " ",
                       dtype_name(s.dtype()));
                 const double o = a.f("min_overlap", 0.7);
                 std::vector<double> r((size_t)s.size(0));
                 for (int64_t k = 0; k < s.size(0); ++k)
                   r[(size_t)k] = gaussian_radius(s.at(2 * k), s.at(2 * k + 1), o, code);
                 return Outs{from_vector(r, {s.size(0)}, s.dtype())};
               }});
  t.push_back(
      {"draw_gaussian", "heatmap ([H,W] or [C,H,W])", "center (x,y), radius, channel (0)", "heatmap", [](OpArgs& a) {
         conv_of(a);
         Tensor h = a.in("heatmap").contiguous_copy_no_grad();
         std::vector<int64_t> ctr = a.ints("center");
         check(ctr.size() == 2, "draw_gaussian: center must be x,y, got ", ctr.size(), " numbers");
         draw_gaussian(h, a.i("channel", 0), ctr[0], ctr[1], a.i("radius"));
         return Outs{h};
       }});
  t.push_back({"centernet_targets", "boxes, labels",
               "num_classes, output_size (H,W), stride (4), max_objs (128), min_overlap (0.7), gaussian_radius_code "
               "(true); out0 heatmap, out1 wh, out2 offset, out3 indices, out4 mask",
               "boxes", [](OpArgs& a) {
                 conv_of(a);
                 CenterNetTargetOptions o;
                 o.num_classes = a.i("num_classes");
                 std::tie(o.out_h, o.out_w) = hw(a, "centernet_targets", "output_size", {128, 128});
                 o.stride = a.f("stride", 4);
                 o.max_objs = a.i("max_objs", 128);
                 o.min_overlap = a.f("min_overlap", 0.7);
                 o.gaussian_radius_code = a.b("gaussian_radius_code", o.gaussian_radius_code);
                 CenterNetTargets r = centernet_targets(a.in("boxes"), a.in("labels"), o);
                 return Outs{r.heatmap, r.wh, r.offset, r.indices, r.mask};
               }});
  // ---- FCOS ----
  t.push_back({"fcos_targets", "boxes, labels",
               "image_size (H,W), strides (8,16,32,64,128), ranges (lo,hi per level; default FCOS's), convention "
               "(torchvision), half_stride_offset, range_inclusive, center_sampling, center_radius, norm_on_bbox "
               "(the preset's); out0 points, out1 labels, out2 matched, out3 ltrb, out4 centerness",
               "boxes", [](OpArgs& a) {
                 const std::string op = "fcos_targets";
                 Conventions c = conv_of(a);
                 FcosAssignOptions o;
                 std::tie(o.image_h, o.image_w) = hw(a, op, "image_size", {512, 512});
                 o.strides = ints_or(a, "strides", o.strides);
                 std::vector<double> r = doubles(a, op, "ranges", {});
                 check(r.size() % 2 == 0, op, ": ranges must be lo,hi pairs, got ", r.size(), " numbers");
                 for (size_t k = 0; k < r.size(); k += 2) o.ranges.push_back({r[k], r[k + 1]});
                 apply_preset(o, c.preset);
                 o.half_stride_offset = a.b("half_stride_offset", o.half_stride_offset);
                 o.range_inclusive = a.b("range_inclusive", o.range_inclusive);
                 o.center_sampling = a.b("center_sampling", o.center_sampling);
                 o.center_radius = a.f("center_radius", o.center_radius);
                 o.norm_on_bbox = a.b("norm_on_bbox", o.norm_on_bbox);
                 FcosTargets f = fcos_targets(a.in("boxes"), a.in("labels"), o);
                 return Outs{f.points, f.labels, f.matched, f.ltrb, f.centerness};
               }});
}

// Anchor targets: anchors, retinanet_match, box_encode, box_decode.
void add_anchor_target_ops(std::vector<OpSpec>& t) {
  // ---- RetinaNet ----
  t.push_back({"anchors", "(none)",
               "image_size (H,W), strides (8,16,32,64,128), sizes (4*stride), scales (2^0,2^1/3,2^2/3), "
               "aspect_ratios (0.5,1,2), dtype (f32), convention (torchvision), anchor_round (the preset's)",
               "", [](OpArgs& a) {
                 const std::string op = "anchors";
                 Conventions c = conv_of(a);
                 AnchorOptions o;
                 std::tie(o.image_h, o.image_w) = hw(a, op, "image_size", {512, 512});
                 o.strides = ints_or(a, "strides", o.strides);
                 o.sizes = doubles(a, op, "sizes", {});
                 o.scales = doubles(a, op, "scales", {});
                 o.ratios = doubles(a, op, "aspect_ratios", o.ratios);
                 apply_preset(o, c.preset);
                 o.anchor_round = a.b("anchor_round", o.anchor_round);
                 return Outs{retinanet_anchors(o, dtype_attr(a))};
               }});
  t.push_back({"retinanet_match", "[iou] ([G,A]) or [boxes], [anchors]",
               "high (0.5), low (0.4), allow_low_quality_matches (true)", "iou,boxes,anchors", [](OpArgs& a) {
                 Conventions c = conv_of(a);
                 MatcherOptions o;
                 o.high = a.f("high", o.high);
                 o.low = a.f("low", o.low);
                 o.allow_low_quality = a.b("allow_low_quality_matches", true);
                 Tensor q = a.opt("iou");
                 if (q.defined()) return Outs{retinanet_match(q, o)};
                 return Outs{retinanet_match_boxes(a.in("boxes"), a.in("anchors"), o, c)};
               }});
  t.push_back({"box_encode", "boxes, anchors", "weights (1,1,1,1)", "", [](OpArgs& a) {
                 conv_of(a);
                 return Outs{box_encode(a.in("boxes"), a.in("anchors"), coder_options(a, "box_encode"))};
               }});
  t.push_back({"box_decode", "deltas, anchors", "weights (1,1,1,1), bbox_xform_clip (log(1000/16))", "", [](OpArgs& a) {
                 conv_of(a);
                 return Outs{box_decode(a.in("deltas"), a.in("anchors"), coder_options(a, "box_decode"))};
               }});
}

std::vector<OpSpec> target_ops() {
  std::vector<OpSpec> t;
  add_nms_ops(t);
  add_point_target_ops(t);
  add_anchor_target_ops(t);
  return t;
}
}  // namespace

void register_target_ref_ops() { add_ref_ops(target_ops()); }

}  // namespace dg
