// `detgrad demo`: the README's first command. Trains a CPU-sized CenterNet (ResNet-18 x0.25, up
// widths 64/32/32, heads 32) on fashion-scenes (small preset: 96x96 scenes with 1-4 Fashion-MNIST
// items) within a time budget (--minutes, default 8.5 for the whole demo, of which about 45 s are kept
// for start-up, evaluations and pictures), evaluates it on the val split, and writes
//   RUN/detections.png   a grid of validation scenes with the detections (score >= 0.3, class colours)
//                        and the ground truth (thin white boxes)
//   RUN/heatmaps.png     the same scenes with the predicted heatmap blended over them
//   RUN/loss.png, RUN/map.png, RUN/metrics.jsonl, RUN/model.safetensors, RUN/eval.json (see train.h)
// and prints where they are and the mAP: class-aware mAP@0.5 and mAP@[.5:.95], and the class-agnostic
// AP@0.5 (how well objects are found, whatever their label).
#include <cstdio>
#include <filesystem>

#include "autograd/io/image.h"
#include "autograd/ops.h"
#include "detectors/centernet/visualize.h"
#include "detectors/draw.h"
#include "tools/commands.h"
#include "tools/train_run.h"

namespace dg::tools {

namespace {
struct DemoCli {
  TrainCli train;
  double minutes = 8.5;       // whole demo
  int64_t pictures = 16;
};

constexpr double kReserveMinutes = 0.75;  // start-up, evaluations, checkpoints and pictures

// Detections and heatmaps of the first n validation scenes, tiled 4 per row.
void write_pictures(const centernet::TrainResult& r, const centernet::TrainOptions& o, int64_t n) {
  namespace fs = std::filesystem;
  data::Dataset val = data::open_dataset(o.val_data, data::Split::val);
  centernet::LoadedModel m = centernet::load_model(r.run_dir);
  n = std::min<int64_t>(n, std::min<int64_t>(val.size, (int64_t)r.eval.per_image.size()));
  std::vector<Tensor> dets, heats;
  data::LoaderConfig lc = centernet::eval_loader_config(m.info, n, 0);
  data::Loader loader(val.get, n, lc);
  data::Batch b;
  loader.next(b);
  centernet::CenterNetOutput out;
  {
    NoGradGuard ng;
    out = m.net->forward_heads(b.images);
  }
  Tensor probs = sigmoid(out.heatmap);
  for (int64_t i = 0; i < n; ++i) {
    data::Scene s = val.get(i);
    centernet::PictureOptions po;
    po.gt_boxes = s.boxes;
    dets.push_back(centernet::detection_picture(s.image, r.eval.per_image[(size_t)i], m.info.class_names, po));
    Tensor p = squeeze(narrow(probs, 0, i, 1), 0);
    centernet::PictureOptions ph;
    ph.heatmap = &p;
    ph.score_threshold = 2;  // heatmap only
    heats.push_back(centernet::detection_picture(s.image, r.eval.per_image[(size_t)i], m.info.class_names, ph));
  }
  io::save_png((fs::path(r.run_dir) / "detections.png").string(), tile_images(dets, 4, 4));
  io::save_png((fs::path(r.run_dir) / "heatmaps.png").string(), tile_images(heats, 4, 4));
}

int run(DemoCli& d) {
  auto& o = d.train.opts;
  if (o.steps == 0 && o.epochs == 0) o.minutes = std::max(0.25, d.minutes - kReserveMinutes);
  std::printf("detgrad demo: CenterNet learns to find Fashion-MNIST items in 96x96 scenes.\n"
              "  model  ResNet-18 x%.2f backbone, up-convolutions %lld/%lld/%lld, heads %lld (docs/centernet_model.md)\n"
              "  data   fashion-scenes '%s': %lld training scenes (flip, scale-crop, colour jitter), %lld validation scenes\n",
              o.width_mult, (long long)o.up_channels[0], (long long)o.up_channels[1], (long long)o.up_channels[2],
              (long long)o.head_channels, d.train.preset.c_str(), (long long)d.train.train_size,
              (long long)d.train.val_size);
  if (o.steps == 0 && o.epochs == 0)
    std::printf("  budget %.1f minutes in all (%.1f for training); --minutes changes it\n", d.minutes, o.minutes);
  std::fflush(stdout);
  centernet::TrainResult r = run_training(d.train);
  if (r.interrupted) return 130;
  if (!r.has_eval) {
    std::printf("no evaluation (--val-size 0)\n");
    return 0;
  }
  write_pictures(r, o, d.pictures);
  namespace fs = std::filesystem;
  const fs::path dir(r.run_dir);
  std::printf("\nvalidation (%lld scenes, COCO evaluation):\n  %s\n", (long long)r.eval.images,
              headline(r.eval).c_str());
  std::printf("pictures:\n  %s  detections (score >= 0.3) and ground truth (white)\n  %s  predicted heatmaps\n"
              "  %s  training loss   %s  validation mAP during training\n",
              (dir / "detections.png").c_str(), (dir / "heatmaps.png").c_str(), (dir / "loss.png").c_str(),
              (dir / "map.png").c_str());
  std::printf("try: ./build/detgrad detect %s SOME_IMAGE.png --out detections --show-heatmap\n",
              (dir / "model.safetensors").c_str());
  return 0;
}
}  // namespace

std::function<int()> add_demo_command(CLI::App& app) {
  auto d = std::make_shared<DemoCli>();
  d->train.opts.out_dir = "runs/demo";
  CLI::App* c = app.add_subcommand("demo", "train a CenterNet on fashion-scenes, evaluate it, draw what it finds");
  add_train_options(c, d->train);
  // --minutes here is the budget of the whole demo (training gets it minus ~45 s).
  c->get_option("--minutes")->description("time budget of the whole demo, evaluation included")->default_val(8.5);
  c->add_option("--pictures", d->pictures, "validation scenes drawn in detections.png")->capture_default_str();
  return [d] {
    d->minutes = d->train.opts.minutes > 0 ? d->train.opts.minutes : 8.5;
    d->train.opts.minutes = 0;
    return run(*d);
  };
}

}  // namespace dg::tools
