// `detgrad train centernet [options]`: trains a CenterNet (detectors/centernet/train.h) and leaves a
// run directory with metrics.jsonl, checkpoint, model, loss.png / map.png and eval.json.
#include <cstdio>

#include "tools/commands.h"
#include "tools/train_run.h"

namespace dg::tools {

std::function<int()> add_train_command(CLI::App& app) {
  auto t = std::make_shared<TrainCli>();
  t->opts.out_dir = "runs/centernet";
  CLI::App* c = app.add_subcommand("train", "train a detector (docs/tutorials/centernet.md)");
  c->require_subcommand(1);
  CLI::App* cn = c->add_subcommand("centernet", "train CenterNet on fashion-scenes or a COCO folder");
  add_train_options(cn, *t);
  return [t] {
    centernet::TrainResult r = run_training(*t);
    if (r.has_eval) std::printf("%s: %s\n", r.interrupted ? "last validation" : "validation", headline(r.eval).c_str());
    std::printf("model: %s/model.safetensors  (detgrad detect / detgrad eval take it)\n", r.run_dir.c_str());
    return r.interrupted ? 130 : 0;
  };
}

}  // namespace dg::tools
