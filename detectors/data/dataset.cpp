#include "detectors/data/dataset.h"

#include <filesystem>
#include <memory>

#include "autograd/error.h"

namespace dg::data {

eval::CocoDataset ground_truth_from_scenes(const FashionScenes& ds, int64_t n) {
  eval::CocoDataset d;
  d.categories = coco_categories(ds);
  // Scenes are generated in parallel blocks (each depends only on its index), added in index order.
  constexpr int64_t kBlock = 64;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t m = std::min(kBlock, n - start);
    std::vector<Scene> scenes((size_t)m);
#pragma omp parallel for schedule(dynamic)
    for (int64_t j = 0; j < m; ++j) scenes[(size_t)j] = ds.get(start + j);
    for (int64_t j = 0; j < m; ++j) add_scene_to_coco(d, start + j, scenes[(size_t)j]);
  }
  return d;
}

namespace {
Dataset open_fashion_scenes(const DatasetSpec& spec, Split split) {
  check(spec.size > 0, "fashion-scenes: the number of scenes must be positive, got ", spec.size);
  SceneConfig cfg = spec.scene_overridden ? spec.scene : SceneConfig::preset(spec.preset);
  auto ds = std::make_shared<FashionScenes>(cfg, split, spec.seed, spec.data_dir);
  Dataset d;
  d.description = "fashion-scenes " + (spec.scene_overridden ? std::string("custom") : spec.preset) + ", " +
                  split_name(split) + ", " + std::to_string(spec.size) + " scenes " + std::to_string(cfg.width) +
                  "x" + std::to_string(cfg.height) + ", seed " + std::to_string(spec.seed);
  d.note = ds->source_note();
  d.size = spec.size;
  d.get = [ds](int64_t i) { return ds->get(i); };
  d.class_names = ds->class_names();
  for (size_t k = 0; k < d.class_names.size(); ++k) d.category_ids.push_back((int64_t)k + 1);
  d.image_id = [](int64_t i) { return i + 1; };
  d.height = cfg.height;
  d.width = cfg.width;
  const int64_t n = spec.size;
  d.ground_truth = [ds, n] { return ground_truth_from_scenes(*ds, n); };
  return d;
}
}  // namespace

Dataset open_dataset(const DatasetSpec& spec, Split split) {
  if (spec.source == "fashion-scenes") return open_fashion_scenes(spec, split);
  namespace fs = std::filesystem;
  check(fs::is_directory(spec.source), "dataset '", spec.source,
        "': neither \"fashion-scenes\" nor a directory holding a COCO instances.json");
  fail("dataset '", spec.source, "': COCO folders are not supported yet");
}

}  // namespace dg::data
