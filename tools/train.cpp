// `detgrad train centernet|fcos|retinanet [options]`: trains a detector (detectors/pipeline/train.h) and
// leaves a run directory with metrics.jsonl, checkpoint, model, loss.png / map.png and eval.json.
#include <cstdio>

#include "tools/commands.h"
#include "tools/train_run.h"

namespace dg::tools {

std::function<int()> add_train_command(CLI::App& app) {
  auto t = std::make_shared<TrainCli>();
  CLI::App* c = app.add_subcommand("train",
                                   "train a detector (docs/tutorials/centernet.md, docs/detection/compare.md)");
  c->require_subcommand(1);
  const std::vector<std::pair<std::string, std::string>> kinds = {
      {"centernet", "train CenterNet (docs/centernet_model.md)"},
      {"fcos", "train FCOS (docs/detection/fcos_model.md)"},
      {"retinanet", "train RetinaNet (docs/detection/retinanet_model.md)"}};
  for (const auto& [kind, help] : kinds) {
    CLI::App* k = c->add_subcommand(kind, help + " on fashion-scenes or a COCO folder");
    add_train_options(k, *t);
    k->callback([t, kind = kind] {
      t->opts.model = kind;
      if (t->opts.out_dir.empty()) t->opts.out_dir = "runs/" + kind;
    });
  }
  return [t] {
    det::TrainResult r = run_training(*t);
    if (r.has_eval)
      std::printf("%s: %s\n", r.interrupted ? "last validation" : "validation", r.eval->headline().c_str());
    std::printf("model: %s/model.safetensors  (detgrad detect / detgrad eval take it)\n", r.run_dir.c_str());
    if (!r.interrupted) write_report_after_run(r.run_dir);
    return r.interrupted ? 130 : 0;
  };
}

}  // namespace dg::tools
