// COCO JSON files: a ground-truth dataset ({"images", "annotations", "categories"}) and a detection
// result list ([{image_id, category_id, bbox, score}, ...]), read and written with nlohmann-json.
// Boxes are COCO's [x, y, w, h] in pixels (x, y the top-left corner). Errors are dg::Error naming the
// file, the record (its position in the list) and the field.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace dg::eval {

struct CocoImage {
  int64_t id = 0;
  std::string file_name;          // "" when absent
  int64_t width = 0, height = 0;  // 0 when absent
};

struct CocoCategory {
  int64_t id = 0;
  std::string name;  // "" when absent
};

// One ground-truth object.
struct CocoAnnotation {
  int64_t id = 0;  // required (pycocotools indexes annotations by it)
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, w, h
  double area = 0;               // the `area` field (for boxes usually w*h; COCO's is the mask area)
  bool iscrowd = false;          // optional, default 0
  bool ignore = false;           // optional `ignore` field, default 0 (see CocoEvalParams::use_ignore_flag)
  bool difficult = false;        // optional `difficult` field (VOC-style), default 0
};

struct CocoDataset {
  std::vector<CocoImage> images;
  std::vector<CocoAnnotation> annotations;
  std::vector<CocoCategory> categories;
};

// One detection of a result file.
struct CocoDetection {
  int64_t image_id = 0;
  int64_t category_id = 0;
  std::array<double, 4> bbox{};  // x, y, w, h
  double score = 0;
};

// Parse a ground-truth dataset. Required: "images" (each with "id"), "categories" (each with "id"),
// "annotations" (each with "id", "image_id", "category_id", "bbox" of 4 numbers, "area"). `source` names
// the file in error messages.
CocoDataset parse_coco_gt(const nlohmann::json& j, const std::string& source);
CocoDataset read_coco_gt(const std::string& path);

// Parse a detection result list (a JSON array; each entry needs "image_id", "category_id", "bbox",
// "score"). Other fields (id, area, segmentation) are ignored, as pycocotools' loadRes overwrites them.
std::vector<CocoDetection> parse_coco_detections(const nlohmann::json& j, const std::string& source);
std::vector<CocoDetection> read_coco_detections(const std::string& path);

// Writers (the written files read back to equal values; doubles are printed round-trip exact).
nlohmann::json coco_gt_to_json(const CocoDataset& d);
nlohmann::json coco_detections_to_json(const std::vector<CocoDetection>& dets);
void write_coco_gt(const std::string& path, const CocoDataset& d);
void write_coco_detections(const std::string& path, const std::vector<CocoDetection>& dets);

// Read a whole file as JSON; dg::Error "FILE: cannot open" / "FILE: not valid JSON: ..." otherwise.
nlohmann::json read_json_file(const std::string& path);
// Write JSON to a file (pretty-printed with `indent` >= 0, compact with -1), atomically: a temporary
// file beside it, written, fsynced and closed with every error checked, then renamed over path (the
// temporary removed on any failure). dg::Error "write_json_file: PATH: <what failed>: <reason>".
void write_json_file(const std::string& path, const nlohmann::json& j, int indent = -1);

}  // namespace dg::eval
