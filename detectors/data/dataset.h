// A detection dataset as the trainer, the evaluator and the CLI see it: a numbered list of scenes
// (image + boxes + labels), class names, and the COCO ground truth to evaluate against. Built from
// a spec string:
//   "fashion-scenes"   the built-in synthetic scenes (fashion_scenes.h) of a SceneConfig, split and
//                      seed, scenes 0..n-1; image id of scene i = i + 1
//   a directory        a COCO folder (DIR/instances.json + the images it names; coco_folder.h)
// Labels are contiguous 0..K-1 everywhere; category_ids maps them back to the COCO ids used in the
// ground truth and in detection files.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "detectors/data/fashion_scenes.h"
#include "detectors/data/loader.h"
#include "detectors/eval/coco_json.h"

namespace dg::data {

struct Dataset {
  std::string description;  // one line for logs, e.g. "fashion-scenes small, val, 500 scenes, seed 1"
  std::string note;         // a warning to show the user ("" normally), e.g. the shapes fallback
  int64_t size = 0;
  SampleSource get;                          // index -> Scene; thread-safe
  std::vector<std::string> class_names;      // by label
  std::vector<int64_t> category_ids;         // COCO category id of each label
  std::function<int64_t(int64_t)> image_id;  // COCO image id of scene i
  int64_t height = 0, width = 0;             // common image size; 0 when the images differ
  // The COCO ground truth of scenes 0..size-1 (built on demand: fashion-scenes generates them).
  std::function<eval::CocoDataset()> ground_truth;
};

struct DatasetSpec {
  std::string source = "fashion-scenes";  // or a COCO folder
  std::string preset = "small";           // fashion-scenes only
  SceneConfig scene;                      // fashion-scenes only; filled from `preset` by open_dataset
  bool scene_overridden = false;          // true: use `scene` as given instead of the preset
  int64_t size = 0;                       // fashion-scenes: number of scenes (required > 0); folder: 0 = all
  uint64_t seed = 0;                      // fashion-scenes only
  std::string data_dir = "/usr/share/datasets/fashion-mnist";
};

// dg::Error for an unknown spec, a missing folder, a non-positive size, ...
Dataset open_dataset(const DatasetSpec& spec, Split split);

// The COCO ground truth of a dataset's first n scenes, generated from the scenes themselves (used for
// fashion-scenes; image ids i + 1, category ids label + 1).
eval::CocoDataset ground_truth_from_scenes(const FashionScenes& ds, int64_t n);

}  // namespace dg::data
