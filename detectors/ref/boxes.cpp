// `detgrad ref` entries for this detection family (see detectors/ref/ref_ops.h): boxes, the IoU
// family, box losses and focal losses, under torchvision's names where torchvision has the op.
// Every op also accepts `--attr convention=torchvision|mmdet|original` and single-field overrides
// (`--attr pixel_offset=1`, `--attr degenerate_boxes=finite`, ...; docs/conventions.md).
#include "detectors/boxes.h"
#include "autograd/ops/registry.h"
#include "detectors/box_loss.h"
#include "detectors/conventions.h"
#include "detectors/focal_loss.h"
#include "detectors/iou.h"
#include "detectors/ref/ref_ops.h"

namespace dg {

namespace {
using Outs = std::vector<Tensor>;

const char* kConv = "convention (torchvision) + field overrides";

// The preset and field overrides among the op's attributes, marked as used.
Conventions conventions(OpArgs& a) {
  std::vector<std::string> used;
  Conventions c = conventions_from_attrs(a.all_attrs(), &used);
  for (const std::string& k : used) a.mark_used(k);
  return c;
}

Reduction reduction(OpArgs& a, const char* dflt) { return parse_reduction(a.literal("reduction", dflt)); }

using Matrix = Tensor (*)(const Tensor&, const Tensor&, double, const Conventions&);
using Loss = Tensor (*)(const Tensor&, const Tensor&, Reduction, double, const Conventions&);

OpSpec matrix_op(const char* name, Matrix fn) {
  return {name, "boxes1, boxes2", std::string("eps (1e-7), ") + kConv, "", [fn](OpArgs& a) {
            Conventions c = conventions(a);
            return Outs{fn(a.in("boxes1"), a.in("boxes2"), a.f("eps", 1e-7), c)};
          }};
}

OpSpec loss_op(const char* name, Loss fn) {
  return {name, "boxes1, boxes2", std::string("reduction (none), eps (1e-7), ") + kConv, "", [fn](OpArgs& a) {
            Conventions c = conventions(a);
            return Outs{fn(a.in("boxes1"), a.in("boxes2"), reduction(a, "none"), a.f("eps", 1e-7), c)};
          }};
}
}  // namespace

void register_box_ref_ops() {
  std::vector<OpSpec> t;
  // boxes
  t.push_back({"box_convert", "boxes", std::string("in_fmt, out_fmt (xyxy|xywh|cxcywh), ") + kConv, "", [](OpArgs& a) {
                 Conventions c = conventions(a);
                 std::string in = a.s("in_fmt", ""), out = a.s("out_fmt", "");
                 check(!in.empty() && !out.empty(), "box_convert: attributes in_fmt and out_fmt are required");
                 return Outs{box_convert(a.in("boxes"), in, out, c)};
               }});
  t.push_back({"box_area", "boxes", kConv, "", [](OpArgs& a) {
                 Conventions c = conventions(a);
                 return Outs{box_area(a.in("boxes"), c)};
               }});
  t.push_back({"clip_boxes_to_image", "boxes", std::string("size (height,width), ") + kConv, "", [](OpArgs& a) {
                 Conventions c = conventions(a);
                 std::vector<int64_t> hw = a.ints("size");
                 check(hw.size() == 2, "clip_boxes_to_image: size must be 'height,width', got ", hw.size(), " values");
                 return Outs{clip_boxes_to_image(a.in("boxes"), hw[0], hw[1], c)};
               }});
  // IoU family: matrices
  t.push_back({"box_iou", "boxes1, boxes2", kConv, "", [](OpArgs& a) {
                 Conventions c = conventions(a);
                 return Outs{box_iou(a.in("boxes1"), a.in("boxes2"), c)};
               }});
  t.push_back({"generalized_box_iou", "boxes1, boxes2", kConv, "", [](OpArgs& a) {
                 Conventions c = conventions(a);
                 return Outs{generalized_box_iou(a.in("boxes1"), a.in("boxes2"), c)};
               }});
  t.push_back(matrix_op("distance_box_iou", distance_box_iou));
  t.push_back(matrix_op("complete_box_iou", complete_box_iou));
  // IoU family: paired
  t.push_back({"paired_box_iou", "boxes1, boxes2", std::string("kind (iou|giou|diou|ciou; iou), eps (1e-7), ") + kConv,
               "", [](OpArgs& a) {
                 Conventions c = conventions(a);
                 return Outs{paired_box_iou(parse_iou_kind(a.s("kind", "iou")), a.in("boxes1"), a.in("boxes2"),
                                            a.f("eps", 1e-7), c)};
               }});
  // box losses
  t.push_back(loss_op("generalized_box_iou_loss", generalized_box_iou_loss));
  t.push_back(loss_op("distance_box_iou_loss", distance_box_iou_loss));
  t.push_back(loss_op("complete_box_iou_loss", complete_box_iou_loss));
  t.push_back({"iou_loss", "boxes1, boxes2",
               std::string("mode (linear|log; linear), reduction (none), eps (1e-7), ") + kConv, "", [](OpArgs& a) {
                 Conventions c = conventions(a);
                 return Outs{iou_loss(a.in("boxes1"), a.in("boxes2"), parse_iou_loss_mode(a.s("mode", "linear")),
                                      reduction(a, "none"), a.f("eps", 1e-7), c)};
               }});
  // classification losses
  t.push_back({"sigmoid_focal_loss", "inputs, targets", "alpha (0.25; < 0 disables), gamma (2), reduction (none)", "",
               [](OpArgs& a) {
                 return Outs{sigmoid_focal_loss(a.in("inputs"), a.in("targets"), a.f("alpha", 0.25), a.f("gamma", 2.0),
                                                reduction(a, "none"))};
               }});
  t.push_back({"centernet_focal_loss", "input, target (heatmap)", "logits (true), alpha (2), beta (4)", "target",
               [](OpArgs& a) {
                 return Outs{centernet_focal_loss(a.in("input"), a.in("target"), a.b("logits", true), a.f("alpha", 2.0),
                                                  a.f("beta", 4.0))};
               }});
  t.push_back({"varifocal_loss", "input (logits), target (IoU or 0)",
               "alpha (0.75), gamma (2), iou_weighted (true), reduction (none)", "target", [](OpArgs& a) {
                 return Outs{varifocal_loss(a.in("input"), a.in("target"), a.f("alpha", 0.75), a.f("gamma", 2.0),
                                            a.b("iou_weighted", true), reduction(a, "none"))};
               }});
  add_ref_ops(std::move(t));
}

}  // namespace dg
