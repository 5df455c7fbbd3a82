// `detgrad demo [--model centernet|fcos|retinanet]`: the README's first command. Trains a CPU-sized
// detector (ResNet-18 x0.25 backbone; the detector's CPU default, docs/detection/compare.md) on
// fashion-scenes (small preset: 96x96 scenes with 1-4 Fashion-MNIST items) within a time budget
// (--minutes, default 10 for the whole demo, of which about 45 s are kept for start-up, evaluations
// and pictures), evaluates it on the val split, and writes
//   RUN/detections.png   a grid of validation scenes with the detections (score >= 0.3, class colours)
//                        and the ground truth (thin white boxes)
//   RUN/heatmaps.png     (CenterNet) the same scenes with the predicted heatmap blended over them
//   RUN/loss.png, RUN/map.png, RUN/metrics.jsonl, RUN/model.safetensors, RUN/eval.json (see train.h)
// and prints where they are and the mAP: class-aware mAP@0.5 and mAP@[.5:.95], and the class-agnostic
// AP@0.5 (how well objects are found, whatever their label).
#include <cstdio>
#include <filesystem>

#include "detectors/pipeline/pictures.h"
#include "tools/commands.h"
#include "tools/train_run.h"

namespace dg::tools {

namespace {
constexpr double kDefaultMinutes = 10;
constexpr const char* kDefaultModel = "fcos";  // the best mAP in 10 minutes (docs/detection/compare.md)

struct DemoCli {
  TrainCli train;
  double minutes = kDefaultMinutes;  // whole demo
  int64_t pictures = 16;
};

constexpr double kReserveMinutes = 0.75;  // start-up, evaluations, checkpoints and pictures

int run(DemoCli& d) {
  auto& o = d.train.opts;
  if (o.steps == 0 && o.epochs == 0) o.minutes = std::max(0.25, d.minutes - kReserveMinutes);
  std::printf(
      "detgrad demo: %s learns to find Fashion-MNIST items in 96x96 scenes (--model: centernet, fcos, retinanet).\n"
      "  data   fashion-scenes '%s': %lld training scenes (flip, scale-crop, colour jitter), %lld validation scenes\n",
      o.model.c_str(), d.train.preset.c_str(), (long long)d.train.train_size, (long long)d.train.val_size);
  if (o.steps == 0 && o.epochs == 0)
    std::printf("  budget %.1f minutes in all (%.1f for training); --minutes changes it\n", d.minutes, o.minutes);
  std::fflush(stdout);
  det::TrainResult r = run_training(d.train);
  if (r.interrupted) return 130;
  if (!r.has_eval) {
    std::printf("no evaluation (--val-size 0)\n");
    return 0;
  }
  const det::RunPictures pics = det::write_run_pictures(r.run_dir, o.val_data, *r.eval, d.pictures);
  namespace fs = std::filesystem;
  const fs::path dir(r.run_dir);
  std::printf("\nvalidation (%lld scenes, COCO evaluation):\n  %s\n", (long long)r.eval->images,
              r.eval->headline().c_str());
  std::printf("pictures:\n  %s  detections (score >= 0.3) and ground truth (white)\n", pics.detections.c_str());
  if (!pics.score_maps.empty()) std::printf("  %s  predicted heatmaps\n", pics.score_maps.c_str());
  std::printf("  %s  training loss   %s  validation mAP during training\n", (dir / "loss.png").c_str(),
              (dir / "map.png").c_str());
  std::printf("try: ./build/detgrad detect %s SOME_IMAGE.png --out detections%s\n", (dir / "model.safetensors").c_str(),
              pics.score_maps.empty() ? "" : " --show-heatmap");
  write_report_after_run(r.run_dir);
  return 0;
}
}  // namespace

std::function<int()> add_demo_command(CLI::App& app) {
  auto d = std::make_shared<DemoCli>();
  d->train.opts.out_dir = "runs/demo";
  d->train.opts.model = kDefaultModel;
  CLI::App* c = app.add_subcommand("demo", "train a detector on fashion-scenes, evaluate it, draw what it finds");
  c->add_option("--model", d->train.opts.model, "centernet, fcos or retinanet")->capture_default_str();
  add_train_options(c, d->train);
  // --minutes here is the budget of the whole demo (training gets it minus ~45 s).
  c->get_option("--minutes")
      ->description("time budget of the whole demo, evaluation included")
      ->default_val(kDefaultMinutes);
  c->add_option("--pictures", d->pictures, "validation scenes drawn in detections.png")->capture_default_str();
  return [d] {
    d->minutes = d->train.opts.minutes > 0 ? d->train.opts.minutes : kDefaultMinutes;
    d->train.opts.minutes = 0;
    return run(*d);
  };
}

}  // namespace dg::tools
