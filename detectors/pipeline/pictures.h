// The pictures of a finished run (`detgrad demo`): the first n validation scenes with the predictions
// of the last evaluation drawn by the task (Evaluation::picture; a detector: boxes with score >= 0.3
// in class colours and the ground truth in thin white boxes), tiled 4 per row, and, for a model with
// score maps (Task::score_maps: CenterNet's heatmap), the same scenes with the maps blended over them.
#pragma once
#include <string>
#include <vector>

#include "detectors/data/dataset.h"
#include "detectors/task/task.h"

namespace dg::det {

struct RunPictures {
  std::string detections;  // RUN/detections.png (the predictions, whatever the task predicts)
  std::string score_maps;  // RUN/heatmaps.png, "" when the model has no score maps
};

// n scenes at most (fewer if the validation data or the report has fewer).
RunPictures write_run_pictures(const std::string& run_dir, const data::DatasetSpec& val_data, const Evaluation& eval,
                               int64_t n);

}  // namespace dg::det
