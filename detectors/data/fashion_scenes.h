// fashion-scenes: a built-in synthetic detection dataset. Each scene is a noisy textured background
// with 1..N Fashion-MNIST items (10 classes) resized and alpha-pasted at random places; the ground
// truth is one xyxy box + label per item. See docs/data.md.
//
// Determinism: scene i of a split is a pure function of (seed, split, i): its random stream is seeded
// by a hash of the three, so any subset of scenes can be generated in any order, in parallel, or
// fetched directly by a loader, and gives the same bytes.
//
// When the Fashion-MNIST files are missing, items are procedurally drawn shapes of 10 classes
// (rectangle, ellipse, ...) instead; `source()` tells which was used.
#pragma once
#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/eval/coco_json.h"

namespace dg::data {

struct SceneConfig {
  int64_t height = 128, width = 128;
  int min_items = 1, max_items = 8;  // number of items drawn per scene (some may be rejected, >= 1 kept)
  int min_size = 16, max_size = 72;  // side of the resized (square) item, pixels
  double max_iou = 0.3;              // pairwise IoU bound between the boxes of a scene
  double alpha_threshold = 0.2;      // a pixel belongs to an item's box when its visible alpha > this
  double min_visible = 0.5;          // an item must keep this fraction of its own pixels visible
  int max_tries = 30;                // rejection-sampling attempts per item
  double pixel_noise = 6.0;          // std of the per-pixel background noise (grey levels)
  double tint = 0.25;                // per-channel colour jitter of background and items (0: grey)

  // "small": 96x96, 1-4 items of 20-48 px, IoU <= 0.1. "standard": 128x128, 1-8 items of 16-72 px,
  // IoU <= 0.3. Anything else: dg::Error naming the known presets.
  static SceneConfig preset(const std::string& name);
  void validate() const;  // dg::Error "fashion_scenes: ..." for impossible values
};

enum class Split { train, val };
Split parse_split(const std::string& s);  // "train" | "val"
const char* split_name(Split s);

enum class ItemSource { fashion_mnist, shapes };

struct Scene {
  Tensor image;                             // u8 [H, W, 3]
  std::vector<std::array<float, 4>> boxes;  // x1, y1, x2, y2 pixels; x2/y2 exclusive (= last col/row + 1)
  std::vector<int> labels;                  // 0..9
  Tensor masks;  // u8 [n, H, W]: 1 where item k's visible alpha > alpha_threshold; only from get(i, true)
};

class FashionScenes {
 public:
  // Train scenes use the Fashion-MNIST training set, val scenes its test set. Missing files => shapes.
  FashionScenes(SceneConfig config, Split split, uint64_t seed,
                const std::string& data_dir = "/usr/share/datasets/fashion-mnist");
  // Scene i (>= 0). Thread-safe. with_masks also fills Scene::masks (the pixels the boxes are tight on).
  Scene get(int64_t i, bool with_masks = false) const;

  ItemSource source() const { return source_; }
  const std::string& source_note() const { return note_; }  // why shapes were used ("" otherwise)
  const std::vector<std::string>& class_names() const { return names_; }
  const SceneConfig& config() const { return cfg_; }
  Split split() const { return split_; }
  uint64_t seed() const { return seed_; }

 private:
  SceneConfig cfg_;
  Split split_;
  uint64_t seed_;
  ItemSource source_ = ItemSource::fashion_mnist;
  std::string note_;
  std::vector<std::string> names_;
  std::shared_ptr<const std::vector<uint8_t>> items_;  // [N, 28, 28] item pixels (fashion-mnist)
  std::shared_ptr<const std::vector<int>> item_labels_;
};

// Bilinear resize of a single-channel float image (half-pixel centres, as PyTorch's
// interpolate(align_corners=False) without antialiasing), src [sh, sw] -> [dh, dw].
std::vector<float> resize_bilinear(const float* src, int sh, int sw, int dh, int dw);

// COCO records: coco_categories() gives ids 1..10 named by class_names(); add_scene_to_coco appends
// scene i as image id i + 1 (file_name "images/%06d.png" of i, width, height) and its boxes as
// annotations (ids continuing from the last one, bbox [x, y, w, h], area w*h, category label + 1).
std::vector<eval::CocoCategory> coco_categories(const FashionScenes& ds);
void add_scene_to_coco(eval::CocoDataset& d, int64_t i, const Scene& scene);
std::string scene_file_name(int64_t i);  // "images/000042.png"

// Export: DIR/images/%06d.png via `save_image(path, scene)` and DIR/instances.json. `progress(done, n)`
// is called after every scene when given. Returns the COCO dataset written.
using SceneWriter = std::function<void(const std::string& path, const Scene& scene)>;
eval::CocoDataset export_scenes(const FashionScenes& ds, const std::string& dir, int64_t n,
                                const SceneWriter& save_image,
                                const std::function<void(int64_t, int64_t)>& progress = {});

}  // namespace dg::data
