// COCO JSON reading and writing (see coco_json.h). The readers check every field they use, so a
// malformed file gives one clear message ("gt.json: annotations[3]: field 'bbox' must be 4 numbers")
// instead of a crash deep inside the evaluation.
#include "detectors/eval/coco_json.h"

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/error.h"
#include "autograd/io/safetensors.h"

namespace dg::eval {

using nlohmann::json;

namespace {

// Where a record sits, for messages: "gt.json: annotations[3]". Built only when something is wrong
// (reading 500k detections must not format 500k strings).
struct Where {
  const std::string& source;
  const char* list;  // "annotations", ... or "" for the top-level list of a result file
  size_t i;
  std::string str() const { return source + ": " + list + "[" + std::to_string(i) + "]"; }
};

const json& field(const json& rec, const char* name, const Where& at) {
  if (!rec.is_object()) fail(at.str(), ": expected a JSON object, got ", rec.type_name());
  auto it = rec.find(name);
  if (it == rec.end()) fail(at.str(), ": missing field '", name, "'");
  return *it;
}

// Integer ids: JSON integers, or floats with an integral value (Python treats 1.0 and 1 as the same key).
int64_t as_id(const json& v, const char* name, const Where& at) {
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.0e15) return (int64_t)d;
  }
  fail(at.str(), ": field '", name, "' must be an integer, got ", v.dump());
}

double as_number(const json& v, const char* name, const Where& at) {
  if (!v.is_number()) fail(at.str(), ": field '", name, "' must be a number, got ", v.dump());
  double d = v.get<double>();
  if (!std::isfinite(d)) fail(at.str(), ": field '", name, "' is not finite");
  return d;
}

// Flags such as iscrowd may be 0/1 or true/false.
bool as_flag(const json& rec, const char* name, const Where& at) {
  auto it = rec.find(name);
  if (it == rec.end() || it->is_null()) return false;
  if (it->is_boolean()) return it->get<bool>();
  if (!it->is_number()) fail(at.str(), ": field '", name, "' must be 0/1 or true/false, got ", it->dump());
  return it->get<double>() != 0;
}

std::array<double, 4> as_bbox(const json& rec, const Where& at) {
  const json& b = field(rec, "bbox", at);
  if (!b.is_array() || b.size() != 4) fail(at.str(), ": field 'bbox' must be 4 numbers [x, y, w, h], got ", b.dump());
  std::array<double, 4> r{};
  for (int k = 0; k < 4; ++k) r[k] = as_number(b[k], "bbox", at);
  return r;
}

const json& list_field(const json& j, const char* name, const std::string& source) {
  check(j.is_object(), source, ": a COCO ground-truth file must be a JSON object, got ", j.type_name());
  auto it = j.find(name);
  check(it != j.end(), source, ": missing field '", name, "'");
  check(it->is_array(), source, ": field '", name, "' must be a list, got ", it->type_name());
  return *it;
}

std::string opt_string(const json& rec, const char* name) {
  auto it = rec.find(name);
  return it != rec.end() && it->is_string() ? it->get<std::string>() : std::string();
}

int64_t opt_int(const json& rec, const char* name) {
  auto it = rec.find(name);
  return it != rec.end() && it->is_number() ? it->get<int64_t>() : 0;
}

}  // namespace

json read_json_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  check(f.good(), path, ": cannot open file");
  std::stringstream ss;
  ss << f.rdbuf();
  json j;
  try {
    j = json::parse(ss.str());
  } catch (const json::parse_error& e) {
    fail(path, ": not valid JSON: ", e.what());
  }
  return j;
}

void write_json_file(const std::string& path, const json& j, int indent) {
  // Atomic and checked to the end (write, fsync, close, rename): a full disk is an error naming the
  // file, never an empty file reported as written, and the temporary file is removed.
  const std::string text = j.dump(indent) + "\n";
  io::write_file_atomic(path, std::vector<uint8_t>(text.begin(), text.end()), "write_json_file");
}

CocoDataset parse_coco_gt(const json& j, const std::string& source) {
  CocoDataset d;
  const json& images = list_field(j, "images", source);
  const json& anns = list_field(j, "annotations", source);
  const json& cats = list_field(j, "categories", source);
  d.images.reserve(images.size());
  for (size_t i = 0; i < images.size(); ++i) {
    Where at{source, "images", i};
    CocoImage im;
    im.id = as_id(field(images[i], "id", at), "id", at);
    im.file_name = opt_string(images[i], "file_name");
    im.width = opt_int(images[i], "width");
    im.height = opt_int(images[i], "height");
    d.images.push_back(im);
  }
  d.categories.reserve(cats.size());
  for (size_t i = 0; i < cats.size(); ++i) {
    Where at{source, "categories", i};
    CocoCategory c;
    c.id = as_id(field(cats[i], "id", at), "id", at);
    c.name = opt_string(cats[i], "name");
    d.categories.push_back(c);
  }
  d.annotations.reserve(anns.size());
  for (size_t i = 0; i < anns.size(); ++i) {
    Where at{source, "annotations", i};
    const json& r = anns[i];
    CocoAnnotation a;
    a.id = as_id(field(r, "id", at), "id", at);
    a.image_id = as_id(field(r, "image_id", at), "image_id", at);
    a.category_id = as_id(field(r, "category_id", at), "category_id", at);
    a.bbox = as_bbox(r, at);
    a.area = as_number(field(r, "area", at), "area", at);
    a.iscrowd = as_flag(r, "iscrowd", at);
    a.ignore = as_flag(r, "ignore", at);
    a.difficult = as_flag(r, "difficult", at);
    d.annotations.push_back(a);
  }
  return d;
}

CocoDataset read_coco_gt(const std::string& path) { return parse_coco_gt(read_json_file(path), path); }

std::vector<CocoDetection> parse_coco_detections(const json& j, const std::string& source) {
  check(j.is_array(), source,
        ": a detection result file must be a JSON list of "
        "{image_id, category_id, bbox, score}, got ",
        j.type_name());
  std::vector<CocoDetection> dets;
  dets.reserve(j.size());
  for (size_t i = 0; i < j.size(); ++i) {
    Where at{source, "", i};
    const json& r = j[i];
    CocoDetection d;
    d.image_id = as_id(field(r, "image_id", at), "image_id", at);
    d.category_id = as_id(field(r, "category_id", at), "category_id", at);
    d.bbox = as_bbox(r, at);
    d.score = as_number(field(r, "score", at), "score", at);
    dets.push_back(d);
  }
  return dets;
}

std::vector<CocoDetection> read_coco_detections(const std::string& path) {
  return parse_coco_detections(read_json_file(path), path);
}

json coco_gt_to_json(const CocoDataset& d) {
  json images = json::array(), anns = json::array(), cats = json::array();
  for (const CocoImage& im : d.images) {
    json r = {{"id", im.id}};
    if (!im.file_name.empty()) r["file_name"] = im.file_name;
    if (im.width) r["width"] = im.width;
    if (im.height) r["height"] = im.height;
    images.push_back(r);
  }
  for (const CocoAnnotation& a : d.annotations) {
    json r = {{"id", a.id},     {"image_id", a.image_id}, {"category_id", a.category_id},
              {"bbox", a.bbox}, {"area", a.area},         {"iscrowd", a.iscrowd ? 1 : 0}};
    if (a.ignore) r["ignore"] = 1;
    if (a.difficult) r["difficult"] = 1;
    anns.push_back(r);
  }
  for (const CocoCategory& c : d.categories) {
    json r = {{"id", c.id}};
    if (!c.name.empty()) r["name"] = c.name;
    cats.push_back(r);
  }
  return {{"images", images}, {"annotations", anns}, {"categories", cats}};
}

json coco_detections_to_json(const std::vector<CocoDetection>& dets) {
  json out = json::array();
  for (const CocoDetection& d : dets)
    out.push_back({{"image_id", d.image_id}, {"category_id", d.category_id}, {"bbox", d.bbox}, {"score", d.score}});
  return out;
}

void write_coco_gt(const std::string& path, const CocoDataset& d) { write_json_file(path, coco_gt_to_json(d)); }

void write_coco_detections(const std::string& path, const std::vector<CocoDetection>& dets) {
  write_json_file(path, coco_detections_to_json(dets));
}

}  // namespace dg::eval
