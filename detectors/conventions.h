// Conventions: every place where reference code disagrees about the shared box family (boxes, IoU,
// box losses, NMS) is one field here, so detgrad never picks silently. Presets: "torchvision", "mmdet", "original" (the paper authors' code).
// The default preset is "torchvision" (documented in docs/conventions.md, which tables every field).
// `detgrad ref ... --attr convention=mmdet --attr ciou_alpha_gated=false` selects a preset and
// overrides single fields. See ../shared/DETECTION_NOTES.md for the facts behind each field.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace dg {

struct Conventions {
  std::string preset = "torchvision";

  // ---- boxes ----
  // Width = x2 - x1 + pixel_offset. 0 (torchvision, COCO) or 1 (legacy VOC / py-faster-rcnn code).
  double pixel_offset = 0.0;

  // Zero-area / degenerate boxes where torchvision's formulas divide 0 by 0 (IoU of two zero-area
  // boxes, GIoU's empty enclosing box, CIoU's atan(w/h) at h = 0):
  // "nan" (torchvision: the raw IEEE result, NaN values and gradients there) or "finite" (mmdet-like:
  // IoU = 0 where the union is <= 0, the GIoU penalty is 0 where the enclosing area is <= 0, the
  // aspect angle is atan2-like: +-pi/2 at h = 0, 0 at w = h = 0, with finite gradients).
  std::string degenerate_boxes = "nan";

  // ---- NMS ----
  // Suppress when IoU > thr (false: torchvision) or IoU >= thr (true: legacy +1 code).
  bool nms_suppress_on_equal = false;

  // ---- CIoU ----
  // alpha = v / (1 - IoU + v + eps) always (false: torchvision), or only where IoU > 0.5 (true).
  bool ciou_alpha_gated = false;

  // ---- IoU loss ----
  // UnitBox-style IoU loss as FCOS's own IOULoss computes it: IoU = (I + 1) / (U + 1) (true, original)
  // or I / (U + eps) (false).
  bool iou_loss_plus_one = false;

  // Settings where references disagree but only one detector reads them live with that detector, one
  // field each (docs/conventions.md tables them all): the CenterNet radius in CenterNetTargetOptions,
  // FCOS assignment in FcosAssignOptions (apply_preset there), anchor rounding in AnchorOptions
  // (apply_preset there), and the detectors' own settings in FcosConfig / RetinaNetConfig.
};

// The preset names, in the order of the docs: torchvision, mmdet, original.
const std::vector<std::string>& convention_presets();
// Throws dg::Error listing the presets unless name is one of them ("what" prefixes the message).
void check_convention_preset(const std::string& what, const std::string& name);
// A preset by name; throws dg::Error listing the presets for an unknown one.
Conventions conventions_preset(const std::string& name);
// Sets one field from a string ("true", "0.5", "giou"); throws for an unknown field or a bad value.
void set_convention(Conventions& c, const std::string& field, const std::string& value);
// preset from attrs["convention"] (default "torchvision"), then every attr naming a field overrides
// it; returns the names of the attrs it consumed.
Conventions conventions_from_attrs(const std::map<std::string, std::string>& attrs,
                                   std::vector<std::string>* consumed = nullptr);
// Every field as (name, value-as-string), in declaration order: for docs and printing.
std::vector<std::pair<std::string, std::string>> convention_fields(const Conventions& c);

}  // namespace dg
