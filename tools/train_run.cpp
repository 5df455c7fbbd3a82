#include "tools/train_run.h"

#include <omp.h>

#include <csignal>
#include <cstdio>
#include <memory>

#include "autograd/error.h"
#include "tools/flags.h"
#include "tools/progress.h"

namespace dg::tools {

namespace {
std::atomic<bool> g_stop{false};

extern "C" void on_signal(int sig) {
  g_stop.store(true);
  std::signal(sig, SIG_DFL);  // a second Ctrl-C (or kill) ends the process at once
}
}  // namespace

void add_train_options(CLI::App* c, TrainCli& t) {
  auto& o = t.opts;
  c->add_option("--data", t.data, "fashion-scenes, or a COCO folder (DIR/instances.json + images)")
      ->capture_default_str();
  c->add_option("--val-data", t.val_data, "validation data (default: fashion-scenes' val split; none for a folder)");
  c->add_option("--preset", t.preset, "fashion-scenes preset: small (96x96) or standard (128x128)")
      ->capture_default_str();
  c->add_option("--train-size", t.train_size, "fashion-scenes: training scenes per epoch")->capture_default_str();
  c->add_option("--val-size", t.val_size, "fashion-scenes: validation scenes (0: no evaluation)")
      ->capture_default_str();
  c->add_option("--data-seed", t.data_seed, "fashion-scenes: dataset seed")->capture_default_str();
  c->add_option("--epochs", o.epochs, "length of the run in epochs (if --steps is not given)");
  c->add_option("--steps", o.steps, "length of the run in optimizer steps (overrides --epochs and --minutes)");
  c->add_option("--minutes", o.minutes, "length as a time budget for training (evaluation excluded)");
  c->add_option("--batch", o.batch, "images per step")->capture_default_str();
  c->add_option(
      "--lr", o.lr,
      "Adam learning rate, peak of the warm-up + cosine schedule (default: the detector's, 2e-3; retinanet 1e-3)");
  c->add_option("--warmup", o.warmup_steps, "warm-up steps (linear from 0.1 x lr)")->capture_default_str();
  // Appended, not assigned: `train` registers these once per detector subcommand, and only the parsed
  // one's options have a count.
  t.named.insert(
      t.named.end(),
      {{"width_mult", c->add_option("--width", t.width, "ResNet-18 width multiplier (default 0.25)")},
       {"up_channels",
        c->add_option("--up", t.up, "centernet: widths of the three up-convolution stages (64 32 32)")->expected(3)},
       {"head_channels", c->add_option("--head", t.head, "centernet: width of the heads' 3x3 conv (32)")},
       {"fpn_channels", c->add_option("--fpn", t.fpn, "fcos, retinanet: FPN and head width (64)")},
       {"head_depth", c->add_option("--head-depth", t.head_depth, "fcos, retinanet: convs per head tower (4)")}});
  c->add_option("--model-opt", t.model_opts, "KEY=VALUE: any field of the detector's config (docs/detection/)");
  c->add_option("--input-size", o.input_size, "square network input (multiple of 32; 0: the images' size)")
      ->capture_default_str();
  c->add_option("--amp", o.amp,
                "mixed precision: none, fp16 (autocast + loss scaling) or bf16 (docs/mixed_precision.md)")
      ->capture_default_str();
  c->add_flag("!--no-augment", o.augment, "train without flip / scale-crop / colour jitter");
  c->add_option("--eval-every", o.eval_every, "epochs between evaluations (0: only at the end)")->capture_default_str();
  c->add_option("--seed", o.seed, "model initialisation and data order")->capture_default_str();
  c->add_option("--threads", t.threads, "OpenMP threads (default: all cores)");
  c->add_option("--workers", o.workers, "data loader threads")->capture_default_str();
  c->add_option("--out", o.out_dir, "run directory (metrics.jsonl, checkpoint, model, plots)")->capture_default_str();
  c->add_flag("--resume", t.resume, "continue the run in --out from its checkpoint");
}

nlohmann::json model_overrides(const TrainCli& t) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [key, opt] : t.named) {
    if (!opt || opt->count() == 0) continue;
    if (key == "width_mult") j[key] = t.width;
    else if (key == "up_channels") j[key] = t.up;
    else if (key == "head_channels") j[key] = t.head;
    else if (key == "fpn_channels") j[key] = t.fpn;
    else if (key == "head_depth") j[key] = t.head_depth;
  }
  for (const std::string& kv : t.model_opts) {
    const size_t eq = kv.find('=');
    check(eq != std::string::npos && eq > 0, "--model-opt wants KEY=VALUE, got '", kv, "'");
    const std::string key = kv.substr(0, eq), value = kv.substr(eq + 1);
    nlohmann::json v = nlohmann::json::parse(value, nullptr, false);
    j[key] = v.is_discarded() ? nlohmann::json(value) : v;  // a bare word is a string
  }
  return j;
}

det::TrainResult run_training(TrainCli& t) {
  auto& o = t.opts;
  o.model_options = model_overrides(t);
  if (t.threads > 0) omp_set_num_threads(t.threads);
  o.train_data.source = t.data;
  o.train_data.preset = t.preset;
  o.train_data.size = t.data == "fashion-scenes" ? t.train_size : 0;
  o.train_data.seed = t.data_seed;
  o.val_data = o.train_data;
  if (!t.val_data.empty()) {
    o.val_data.source = t.val_data;
    o.val_data.size = t.val_data == "fashion-scenes" ? t.val_size : 0;
  } else if (t.data == "fashion-scenes") {
    o.val_data.size = t.val_size;
  } else {
    o.val_data.source = "fashion-scenes";
    o.val_data.size = 0;  // no evaluation
  }
  if (o.steps == 0 && o.epochs == 0 && o.minutes == 0) o.epochs = 10;

  // CenterNet's heatmap/offset shortened to hm/off in the progress bar.
  auto short_name = [](const std::string& n) {
    return n == "heatmap" ? std::string("hm") : n == "offset" ? std::string("off") : n;
  };
  det::TrainCallbacks cb;
  std::unique_ptr<ProgressBar> bar;
  cb.message = [](const std::string& s) {
    std::printf("%s\n", with_flags(s, true).c_str());
    std::fflush(stdout);
  };
  cb.epoch_start = [&](int64_t e, int64_t epochs, int64_t steps, int64_t first) {
    std::string label = "epoch " + std::to_string(e + 1) + (epochs > 0 ? "/" + std::to_string(epochs) : "");
    bar = std::make_unique<ProgressBar>(label, (long)steps, (long)o.batch, std::max<long>(1, (long)steps / 4),
                                        (long)first);
  };
  cb.step = [&](const det::StepInfo& s) {
    if (!bar) return;
    std::vector<std::pair<std::string, double>> fields{{"loss", s.loss}};
    for (size_t k = 0; k < s.parts.size() && k < s.part_names.size(); ++k)
      fields.push_back({short_name(s.part_names[k]), s.parts[k]});
    fields.push_back({"lr", s.lr});
    if (o.amp == "fp16") fields.push_back({"scale", s.loss_scale});
    bar->update((long)s.step_in_epoch, fields);
  };
  cb.epoch_end = [&](int64_t) {
    if (bar) bar->finish();
    bar.reset();
  };
  cb.evaluated = [&](const det::Evaluation& r, const det::StepInfo& s) {
    std::printf("  eval after %lld images (%.1f min of training): %s  [%lld images, %.1f s]\n", (long long)s.images,
                s.train_seconds / 60, r.headline().c_str(), (long long)r.images, r.seconds);
    std::fflush(stdout);
  };

  g_stop.store(false);
  // Ctrl-C and kill (SIGTERM) finish the current step and write a checkpoint.
  auto prev_int = std::signal(SIGINT, on_signal);
  auto prev_term = std::signal(SIGTERM, on_signal);
  auto restore = [&] {
    std::signal(SIGINT, prev_int);
    std::signal(SIGTERM, prev_term);
  };
  det::TrainResult res;
  try {
    res = det::train(o, t.resume, cb, &g_stop);
  } catch (...) {
    restore();
    throw;
  }
  restore();
  if (bar) bar->finish();
  std::printf("%s %lld steps (%lld images) in %.1f min of training; run directory %s\n",
              res.interrupted ? "stopped after" : "trained", (long long)res.steps, (long long)res.images,
              res.train_seconds / 60, res.run_dir.c_str());
  return res;
}

}  // namespace dg::tools
