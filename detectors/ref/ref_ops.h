// The top of the library: registers the `detgrad ref` ops of every layer above autograd (layers/,
// detectors/) into the registry. Idempotent; the CLI and the golden tests call it once at start.
#pragma once

namespace dg {

void register_all_ref_ops();

// Per-family registration, one file each.
void register_box_ref_ops();     // detectors/ref/boxes.cpp: boxes, IoU family, box and focal losses
void register_target_ref_ops();  // detectors/ref/targets.cpp: NMS family, heatmaps, FCOS/RetinaNet/CenterNet targets

}  // namespace dg
