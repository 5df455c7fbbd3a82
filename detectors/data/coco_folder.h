// A detection dataset on disk in COCO format: a folder of images and a COCO "instances" JSON
// ({"images", "annotations", "categories"}), so users train and evaluate on their own data. The layout
// `detgrad data export fashion-scenes` writes is the default one:
//
//   DIR/instances.json        COCO ground truth; images[].file_name relative to DIR
//   DIR/images/000000.png     (any PNG/JPEG/BMP that io::load_image reads; grey/RGBA become RGB)
//
// Conventions (see docs/data.md, "Your own data (COCO folder)"):
// - Sample i is the i-th entry of the JSON's "images" list (file order, not sorted by id).
// - Labels are contiguous 0..K-1: categories sorted by COCO id, label k = the k-th smallest id.
//   category_id(label) and label_of(category_id) translate.
// - Boxes are COCO's [x, y, w, h] turned into x1, y1, x2 = x + w, y2 = y + h (exclusive, as in
//   fashion-scenes), clipped to the image; boxes with w <= 0 or h <= 0, or nothing left after
//   clipping, are skipped.
// - iscrowd = 1 annotations are skipped for training (a crowd box covers many objects and would teach
//   a single-object detector a wrong box); ground_truth() keeps them, so evaluation treats them the
//   way COCO does (detections on a crowd are neither true nor false positives).
// - Images without annotations are kept: they are negatives (no boxes).
// - Images are loaded lazily by get(); a size differing from the JSON's width/height is an error
//   (a width or height of 0 or absent accepts the actual size).
// Every problem is a dg::Error starting "coco_folder: <json file>: ".
#pragma once
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "detectors/data/fashion_scenes.h"  // Scene
#include "detectors/eval/coco_json.h"

namespace dg::data {

// What the constructor found, for a one-line summary.
struct CocoFolderStats {
  int64_t images = 0;         // entries of "images"
  int64_t negatives = 0;      // images with no training box
  int64_t boxes = 0;          // training boxes (before clipping to the image)
  int64_t crowd_skipped = 0;  // iscrowd = 1 annotations
  int64_t empty_skipped = 0;  // annotations with w <= 0 or h <= 0
};

class CocoFolder {
 public:
  // DIR/instances.json with images relative to DIR.
  explicit CocoFolder(const std::string& dir);
  // An explicit instances JSON; images[].file_name is relative to image_root (absolute names are kept).
  CocoFolder(const std::string& json_path, const std::string& image_root);

  int64_t size() const { return static_cast<int64_t>(images_.size()); }
  // Sample i in [0, size()): the image u8 [H, W, 3] (loaded now), its training boxes (x1, y1, x2, y2,
  // clipped) and labels 0..K-1. Thread-safe (reads only immutable state).
  Scene get(int64_t i) const;
  int64_t image_id(int64_t i) const;        // COCO id of sample i
  std::string image_path(int64_t i) const;  // image_root / file_name of sample i

  int64_t num_classes() const { return static_cast<int64_t>(names_.size()); }
  // Category names in label order (sorted COCO ids); a category without a name is called by its id.
  const std::vector<std::string>& class_names() const { return names_; }
  int64_t category_id(int label) const;     // label 0..K-1 -> COCO category id
  int label_of(int64_t category_id) const;  // COCO category id -> label; dg::Error if unknown

  // The ground truth as read from the JSON (all annotations, crowds included), for eval::coco_evaluate;
  // detections must use COCO ids (category_id(label)) and image ids (image_id(i)).
  const eval::CocoDataset& ground_truth() const { return gt_; }
  const CocoFolderStats& stats() const { return stats_; }
  const std::string& json_path() const { return json_path_; }
  const std::string& image_root() const { return root_; }

 private:
  struct Object {
    std::array<double, 4> xywh;
    int label;
  };
  struct Image {
    eval::CocoImage info;
    std::vector<Object> objects;  // training annotations (no crowds, no empty boxes), in file order
  };
  void index();  // builds images_, names_, the id maps and stats_ from gt_, checking the references

  std::string json_path_, root_;
  eval::CocoDataset gt_;
  std::vector<Image> images_;
  std::vector<std::string> names_;
  std::vector<int64_t> category_ids_;  // label -> COCO id (ascending)
  std::map<int64_t, int> label_of_;    // COCO id -> label
  CocoFolderStats stats_;
};

}  // namespace dg::data
