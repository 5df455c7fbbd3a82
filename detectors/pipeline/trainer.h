// Trainer: the run behind det::train (train.h), as named steps. Each step is one job; the loop in
// run() reads as the recipe:
//
//   open_data        the training / validation datasets and the input size
//   build_model      the detector (seeded), its ModelInfo, Adam, the GradScaler, the loader
//   resume / start   the position from the checkpoint, or a fresh run directory (config, empty log)
//   run_epoch        the steps of one epoch (or until the plan is fixed, the end, or a stop request)
//     step           forward (under autocast) + loss, backward (scaled), optimizer step
//     record_step    the StepInfo for the callbacks and the averaged metrics.jsonl train line
//     plan_budget    with a time budget: the total number of steps, from the calibration steps' speed
//   end_epoch        re-plan a run that became too slow, checkpoint + model, plots, evaluation
//   checkpoint       checkpoint.safetensors (model, Adam, position, log sums) and model.safetensors
//   evaluate_now     eval.json and the metrics.jsonl eval line
//
// The order of every random draw and floating-point operation is the one of the single function this
// replaced, so a run's bytes did not change (same seed and steps: same model file and eval numbers).
#pragma once
#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "autograd/amp/grad_scaler.h"
#include "autograd/optim/adam.h"
#include "detectors/data/dataset.h"
#include "detectors/pipeline/train.h"

namespace dg::det {

class Trainer {
 public:
  Trainer(const TrainOptions& given, bool resume, const TrainCallbacks& cb, const std::atomic<bool>* stop);
  TrainResult run();

 private:
  struct Paths {
    std::string config, checkpoint, metrics, model, eval;
  };
  struct StepValues {
    double lr = 0;
    std::vector<double> vals;  // total, then the parts
  };

  void say(const std::string& s) const;
  void open_data();
  void build_model();
  void make_loader();
  void resume();
  void start();
  bool run_epoch();  // false when a stop request ended the run
  StepValues step(const data::Batch& b);
  void record_step(const StepValues& v);
  bool plan_budget();  // true when the plan was fixed at this step
  void end_epoch(int64_t step_at_start, double epoch_base);
  void replan_if_slow(int64_t step_at_start, double epoch_base);
  void checkpoint(int64_t epoch, int64_t step_in_epoch);
  void evaluate_now(const StepInfo& si);
  void stopped();
  bool stop_requested() const { return stop_ && stop_->load(); }
  int64_t epochs_planned() const;
  int64_t steps_in_epoch() const;

  TrainOptions o_;
  const bool resuming_;
  const TrainCallbacks& cb_;
  const std::atomic<bool>* stop_;
  Paths paths_;

  std::optional<data::Dataset> train_ds_, val_ds_;
  std::shared_ptr<Task> net_;
  ModelInfo info_;
  std::vector<std::string> loss_names_;
  std::unique_ptr<optim::Adam> opt_;
  std::unique_ptr<amp::GradScaler> scaler_;
  std::unique_ptr<data::Loader> loader_;
  bool use_amp_ = false;
  DType amp_dtype_ = DType::f16;
  int64_t spe_ = 0;  // steps per epoch

  // position and the running log
  int64_t epoch_ = 0, step_in_epoch_ = 0, step_ = 0, total_ = 0, skipped_ = 0;
  double train_seconds_ = 0;
  std::vector<double> sums_;  // of the total and the parts since the last metrics line
  int64_t in_sum_ = 0;

  // time budget calibration
  int64_t calib_steps_ = 0;
  double calib_start_ = 0;
  std::chrono::steady_clock::time_point t0_;

  StepInfo si_;
  TrainResult res_;
};

}  // namespace dg::det
