// `detgrad detect MODEL --explain [--scene N] [--data fashion-scenes|DIR]`: how the one-stage detectors
// see one image that has ground truth (a validation scene letterboxed to the model's input):
//   DIR/explain_fcos.png       the FCOS positives per pyramid level: every point that regresses a box
//                              (filled, in the box's class colour), the other points as grey dots
//   DIR/explain_retinanet.png  the RetinaNet anchors matched to each box (IoU >= 0.5, or the box's best
//                              anchors), per level, in the box's class colour
//   DIR/explain_nms.txt        the model's candidates before NMS and every suppression / decay the NMS
//                              makes, class by class (detectors/nms.h explain events)
// The assignments use the model's own configuration when it is an FCOS / RetinaNet, else their CPU
// defaults (docs/detection/fcos_model.md, retinanet_model.md); they depend only on the boxes.
#pragma once
#include <string>

#include "detectors/pipeline/model_file.h"

namespace dg::tools {

struct ExplainOptions {
  std::string data;         // "" or "fashion-scenes": the run's / default val scenes; else a COCO folder
  std::string preset = "small";
  int64_t scene = 0;        // which validation image
  uint64_t data_seed = 0;
  std::string out;          // output directory
  std::string nms;          // "": the model's default kind
  double nms_iou = 0;       // 0: the model's default
};

int run_explain(const det::LoadedModel& m, const ExplainOptions& o);

}  // namespace dg::tools
