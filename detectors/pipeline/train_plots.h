// The pictures of a training run, redrawn from RUN_DIR/metrics.jsonl after every epoch:
//   RUN_DIR/loss.png   the total loss and every part the detector logs against images seen
//                      (log scale), with the learning rate below
//   RUN_DIR/map.png    the task's metric curves (Task::metric_curves; a detector: mAP@0.5, mAP and
//                      class-agnostic AP@0.5) against images seen (only when the run has evaluations)
//   RUN_DIR/loss.svg, RUN_DIR/map.svg   the same plots as SVG (detectors/plot_svg.h)
#pragma once
#include <string>
#include <vector>

#include "detectors/task/task.h"

namespace dg::det {

// Returns the paths written. A metrics file without train lines writes nothing.
std::vector<std::string> write_training_plots(const std::string& run_dir, const std::vector<MetricCurve>& curves);

}  // namespace dg::det
