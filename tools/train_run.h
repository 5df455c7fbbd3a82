// What `detgrad train centernet|fcos|retinanet` and `detgrad demo` share: the command-line options of a
// detector training run, and running it with a progress bar per epoch, evaluation lines, and Ctrl-C handling
// (the first Ctrl-C or SIGTERM finishes the current step and writes a checkpoint; a second one quits
// at once).
#pragma once
#include <CLI/CLI.hpp>

#include "detectors/pipeline/train.h"

namespace dg::tools {

struct TrainCli {
  det::TrainOptions opts;
  // Model options: the named ones map to config keys (--width -> width_mult, --up -> up_channels,
  // --head -> head_channels, --fpn -> fpn_channels, --head-depth -> head_depth); --model-opt KEY=JSON
  // sets any key of the detector's config (docs/detection/*_model.md). Only the given ones apply.
  double width = 0.25;
  std::vector<int64_t> up;
  int64_t head = 0, fpn = 0, head_depth = 0;
  std::vector<std::string> model_opts;
  std::vector<std::pair<std::string, CLI::Option*>> named;
  std::string data = "fashion-scenes", val_data;  // val_data "": the val split of fashion-scenes / none for folders
  std::string preset = "small";
  int64_t train_size = 8000, val_size = 500;
  uint64_t data_seed = 0;
  int threads = 0;  // 0: OpenMP's default
  bool resume = false;
};

// Registers the options on a subcommand. `demo` hides nothing but changes a few defaults' text.
void add_train_options(CLI::App* c, TrainCli& t);

// Builds the TrainOptions from the parsed values, trains, prints the results. Returns the result;
// throws dg::Error on bad options.
det::TrainResult run_training(TrainCli& t);

// Writes RUN/report.html (detectors/pipeline/report.h) and prints its path; a failure is a note on
// stderr, never an error (the run itself is done). In tools/report.cpp.
void write_report_after_run(const std::string& run_dir);

// The model options given on the command line as a JSON object of config overrides.
nlohmann::json model_overrides(const TrainCli& t);

}  // namespace dg::tools
