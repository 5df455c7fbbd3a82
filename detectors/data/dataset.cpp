#include "detectors/data/dataset.h"

#include <filesystem>
#include <memory>
#include <mutex>

#include "autograd/error.h"
#include "detectors/data/coco_folder.h"

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
                  split_name(split) + ", " + std::to_string(spec.size) + " scenes " + std::to_string(cfg.width) + "x" +
                  std::to_string(cfg.height) + ", seed " + std::to_string(spec.seed);
  d.note = ds->source_note();
  d.size = spec.size;
  d.get = [ds](int64_t i) { return ds->get(i); };
  d.class_names = ds->class_names();
  for (size_t k = 0; k < d.class_names.size(); ++k) d.category_ids.push_back((int64_t)k + 1);
  d.image_id = [](int64_t i) { return i + 1; };
  d.height = cfg.height;
  d.width = cfg.width;
  const int64_t n = spec.size;
  auto cache = std::make_shared<std::pair<std::once_flag, eval::CocoDataset>>();
  d.ground_truth = [ds, n, cache] {
    std::call_once(cache->first, [&] { cache->second = ground_truth_from_scenes(*ds, n); });
    return cache->second;
  };
  return d;
}
}  // namespace

Dataset open_dataset(const DatasetSpec& spec, Split split) {
  if (spec.source == "fashion-scenes") return open_fashion_scenes(spec, split);
  namespace fs = std::filesystem;
  check(fs::is_directory(spec.source), "dataset '", spec.source,
        "': neither \"fashion-scenes\" nor a directory holding a COCO instances.json");
  auto folder = std::make_shared<CocoFolder>(spec.source);
  Dataset d;
  d.size = spec.size > 0 ? std::min(spec.size, folder->size()) : folder->size();
  d.description = "COCO folder " + spec.source + ", " + std::to_string(d.size) + " images, " +
                  std::to_string(folder->num_classes()) + " classes";
  d.get = [folder](int64_t i) { return folder->get(i); };
  d.class_names = folder->class_names();
  for (int k = 0; k < folder->num_classes(); ++k) d.category_ids.push_back(folder->category_id(k));
  d.image_id = [folder](int64_t i) { return folder->image_id(i); };
  // A common size only if the JSON says every image has the same one.
  const auto& ims = folder->ground_truth().images;
  if (!ims.empty() && ims[0].width > 0) {
    bool same = true;
    for (const auto& im : ims) same = same && im.width == ims[0].width && im.height == ims[0].height;
    if (same) d.height = ims[0].height, d.width = ims[0].width;
  }
  d.ground_truth = [folder] { return folder->ground_truth(); };
  return d;
}

}  // namespace dg::data
