// `detgrad data export fashion-scenes --preset small|standard --out DIR --n N --seed S [--split train|val]`
// writes DIR/images/000000.png ... and DIR/instances.json (COCO ground truth). See docs/data.md.
#include <cstdio>
#include <memory>
#include <string>

#include "autograd/error.h"
#include "autograd/io/image.h"
#include "detectors/data/fashion_scenes.h"
#include "tools/commands.h"
#include "tools/progress.h"

namespace dg::tools {

namespace {
struct ExportOptions {
  std::string dataset, preset = "small", out, split = "train";
  int64_t n = 100;
  uint64_t seed = 0;
  // overrides of the preset (-1: keep)
  int64_t size = -1;
  int max_items = -1;
};

int run(const ExportOptions& o) {
  check(o.dataset == "fashion-scenes", "data export: unknown dataset '", o.dataset, "' (known: fashion-scenes)");
  check(!o.out.empty(), "data export: give --out DIR");
  data::SceneConfig cfg = data::SceneConfig::preset(o.preset);
  if (o.size > 0) cfg.height = cfg.width = o.size;
  if (o.max_items > 0) cfg.max_items = o.max_items;
  data::FashionScenes ds(cfg, data::parse_split(o.split), o.seed);
  if (ds.source() == data::ItemSource::shapes) std::printf("note: %s\n", ds.source_note().c_str());
  std::printf("fashion-scenes: preset %s (%lldx%lld, %d-%d items of %d-%d px, IoU <= %g), split %s, seed %llu, %s\n",
              o.preset.c_str(), (long long)cfg.height, (long long)cfg.width, cfg.min_items, cfg.max_items, cfg.min_size,
              cfg.max_size, cfg.max_iou, o.split.c_str(), (unsigned long long)o.seed,
              ds.source() == data::ItemSource::fashion_mnist ? "Fashion-MNIST items" : "procedural shapes");
  ProgressBar bar("export", static_cast<long>(o.n), 1, std::max<long>(1, static_cast<long>(o.n / 10)));
  eval::CocoDataset d = data::export_scenes(
      ds, o.out, o.n, [](const std::string& path, const data::Scene& s) { io::save_png(path, s.image); },
      [&](int64_t done, int64_t) { bar.update(static_cast<long>(done), {}); });
  bar.finish();
  std::printf("wrote %zu images, %zu boxes: %s/images/, %s/instances.json\n", d.images.size(), d.annotations.size(),
              o.out.c_str(), o.out.c_str());
  return 0;
}
}  // namespace

std::function<int()> add_data_command(CLI::App& app) {
  auto o = std::make_shared<ExportOptions>();
  CLI::App* c = app.add_subcommand("data", "built-in datasets (docs/data.md)");
  c->require_subcommand(1);
  CLI::App* e = c->add_subcommand("export", "write a built-in dataset as PNG images + COCO instances.json");
  e->add_option("dataset", o->dataset, "dataset name: fashion-scenes")->required();
  e->add_option("--preset", o->preset, "small (96x96, 1-4 items) or standard (128x128, 1-8 items)");
  e->add_option("--out", o->out, "output directory (created)")->required();
  e->add_option("--n", o->n, "number of scenes (images 000000.png ...)");
  e->add_option("--seed", o->seed, "dataset seed: scene i depends only on (seed, split, i)");
  e->add_option("--split", o->split, "train (Fashion-MNIST training items) or val (test items)");
  e->add_option("--size", o->size, "override: image height = width");
  e->add_option("--max-items", o->max_items, "override: maximum items per scene");
  return [o] { return run(*o); };
}

}  // namespace dg::tools
