// Conventions: every place where reference detection code disagrees is one field here, so detgrad
// never picks silently. Presets: "torchvision", "mmdet", "original" (the paper authors' code).
// The default preset is "torchvision" (documented in docs/conventions.md, which tables every field).
// `detgrad ref ... --attr convention=mmdet --attr fcos_range_inclusive=false` selects a preset and
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

  // ---- CenterNet heatmaps ----
  // gaussian_radius as the CornerNet/CenterNet code computes it (true: original) or the corrected
  // roots (false).
  bool gaussian_radius_code = true;

  // ---- FCOS ----
  bool fcos_half_stride_offset = false;   // points at x*s + s//2 (original, mmdet) or x*s (torchvision)
  bool fcos_range_inclusive = false;      // lo <= m <= hi (original, mmdet) or strict 4s < m < 8s (torchvision)
  bool fcos_center_sampling = true;       // torchvision on; original off; mmdet off by default
  double fcos_center_radius = 1.5;
  bool fcos_norm_on_bbox = false;         // ltrb targets divided by stride
  bool fcos_centerness_on_reg = false;    // centerness branch on the regression tower
  bool fcos_score_sqrt = true;            // score sqrt(cls*ctr) (original, torchvision) or cls*ctr (mmdet)
  double fcos_nms_threshold = 0.6;        // 0.6 (original, torchvision) or 0.5 (mmdet)
  bool fcos_iou_loss_plus_one = false;    // original IoU loss adds +1 to I and U
  std::string fcos_box_loss = "giou";     // "giou" | "iou" | "linear_iou"

  // ---- RetinaNet ----
  bool retina_anchor_round = true;        // torchvision truncates anchor sizes to integers
  double retina_box_loss_beta = 0.0;      // 0: L1 (torchvision, mmdet); 0.11 (Detectron) / 0.1 (detectron2)
  int retina_detections_per_image = 300;  // torchvision 300, others 100
  double retina_nms_threshold = 0.5;

  // ---- focal loss normalisation ----
  // "batch_fg" (Detectron: divide by the batch's foreground count), "per_image" (torchvision: per
  // image by max(1, fg), then mean over images), "ema" (detectron2: EMA of fg, momentum 0.9, init 100).
  std::string focal_normalizer = "per_image";
};

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
