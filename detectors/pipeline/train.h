// Training a model (a Task: detectors/task/task.h): the loop behind `detgrad train centernet|fcos|retinanet` and `detgrad demo`.
//
// One step: a batch from the deterministic loader (data/loader.h; augmentation as data/augment.h),
// Task::loss (the model builds its targets and its loss: detectors/task/task.h), backward, Adam.
// With amp fp16/bf16 the forward and the loss run inside amp::Autocast (convolutions and matmuls in
// the low type, f32 accumulation); with fp16 the loss is scaled by amp::GradScaler and steps whose
// gradients overflow are skipped (logged as "loss_scale" and "skipped" in the train lines). The learning rate follows, per step, a linear warm-up from
// 0.1 x lr over `warmup_steps`, then a cosine decay to `final_lr_fraction` x lr at the last step.
//
// The length of the run is `steps`, else `epochs` x steps per epoch, else a time budget (`minutes`):
// the first steps (inside the warm-up, whose learning rates do not depend on the total) are timed and
// the total is fixed from the measured speed, so the schedule still ends exactly at the last step. The
// plan is printed; `steps` = that number reproduces the run bit for bit, with any thread count.
//
// The run directory (out_dir) holds:
//   config.json              the options (a resumed run reads them back from here)
//   metrics.jsonl            {"kind":"train", step, epoch, images, train_seconds, lr, loss, <the detector's
//                            loss parts, e.g. heatmap, wh, offset>}
//                            averaged over the last log_every steps, and {"kind":"eval", ..., AP, AP50,
//                            AP75, agnostic_AP50, ...} after each evaluation
//   checkpoint.safetensors   model + Adam + scheduler + position, written atomically after every epoch
//                            and when stopped (Ctrl-C): resume continues bit-identically
//   model.safetensors        the weights and their description (weights.h), after every epoch
//   loss.png                 the loss curves so far (redrawn after every epoch)
//   eval.json                the last evaluation (the 12 COCO numbers, per-class AP, agnostic AP50)
#pragma once
#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detectors/data/augment.h"
#include "detectors/data/dataset.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/task/task.h"

namespace dg::det {

struct TrainOptions {
  data::DatasetSpec train_data, val_data;  // val_data.size 0: no evaluation
  // Model: the detector's CPU default for K classes (K = the dataset's classes) with these fields of
  // its config changed (detectors/task/zoo.h), e.g. {"width_mult": 0.5}.
  std::string model = "centernet";
  nlohmann::json model_options = nlohmann::json::object();
  int64_t input_size = 0;  // square network input; 0: the dataset's image size rounded up to 32
  // Optimisation
  int64_t batch = 32;
  double lr = 0;  // peak learning rate; 0: the detector's default_lr() (2e-3; RetinaNet 1e-3)
  double weight_decay = 0;
  int64_t warmup_steps = 100;
  double final_lr_fraction = 0.0;
  int64_t steps = 0, epochs = 0;  // length: steps, else epochs; else the time budget
  double minutes = 0;             // time budget for training (evaluations excluded)
  // Mixed precision (docs/mixed_precision.md): "none", "fp16" (autocast to f16 + dynamic loss scaling
  // with amp::GradScaler, its state in the checkpoint) or "bf16" (autocast to bf16, no loss scaling).
  std::string amp = "none";
  bool augment = true;
  data::AugmentConfig augment_config;  // out size is set to the input size
  uint64_t seed = 0;                   // model init and data order/augmentation
  int workers = 1;                     // loader threads
  // Bookkeeping
  std::string out_dir;     // required
  int64_t log_every = 10;  // steps per metrics.jsonl train line
  int64_t eval_every = 1;  // epochs between evaluations (0: only at the end)
  bool plot = true;        // write loss.png

  nlohmann::json to_json() const;
  static TrainOptions from_json(const nlohmann::json& j, const std::string& context);
  void validate() const;
};

struct StepInfo {
  int64_t epoch = 0, epochs = 0;      // current epoch (0-based) and the planned number
  int64_t step = 0, total_steps = 0;  // steps done (1-based after the step) / planned
  int64_t step_in_epoch = 0, steps_in_epoch = 0;
  int64_t images = 0;  // images seen in total
  double loss = 0, lr = 0;
  double loss_scale = 1;                // GradScaler's scale (--amp fp16), else 1
  int64_t skipped_steps = 0;            // optimizer steps skipped for inf/NaN gradients (fp16)
  std::vector<double> parts;            // the detector's loss parts
  std::vector<std::string> part_names;  // their names (Task::loss_names)
  double train_seconds = 0;             // training time of this run so far (resumes included)
};

struct TrainCallbacks {
  std::function<void(const std::string&)> message;  // plan, notes, files written
  std::function<void(int64_t epoch, int64_t epochs, int64_t steps_in_epoch, int64_t first)> epoch_start;
  std::function<void(const StepInfo&)> step;  // after every step
  std::function<void(int64_t epoch)> epoch_end;
  std::function<void(int64_t done, int64_t total)> eval_progress;
  std::function<void(const Evaluation&, const StepInfo&)> evaluated;
};

struct TrainResult {
  int64_t steps = 0, total_steps = 0, images = 0;
  double train_seconds = 0;
  bool interrupted = false;  // stopped by the flag: a checkpoint was written, resume continues
  bool has_eval = false;
  std::shared_ptr<const Evaluation> eval;  // the last evaluation (if has_eval)
  ModelInfo info;
  std::vector<std::string> loss_names;
  std::string run_dir;
};

// Trains (or, with resume, continues the run in opts.out_dir, whose config.json then supersedes
// every option but out_dir, workers and the thread count). `stop` (may be null) is polled after
// every step: when set, a checkpoint is written and the function returns with interrupted = true.
TrainResult train(const TrainOptions& opts, bool resume, const TrainCallbacks& cb = {},
                  const std::atomic<bool>* stop = nullptr);

// The learning rate at step t of T (the formula above), for tests and the PyTorch yardsticks.
double train_lr(const TrainOptions& o, int64_t t, int64_t total_steps);

}  // namespace dg::det
