// COCO folder reader (see coco_folder.h). The JSON is parsed and every reference checked once, in the
// constructor; get() then only reads immutable state and the image file, so loader workers may call
// it concurrently.
#include "detectors/data/coco_folder.h"

#include <algorithm>
#include <filesystem>

#include "autograd/error.h"
#include "autograd/io/image.h"

namespace dg::data {

namespace fs = std::filesystem;

namespace {

eval::CocoDataset read_gt(const std::string& json_path) {
  try {
    return eval::read_coco_gt(json_path);  // its messages already start with the file name
  } catch (const Error& e) {
    fail("coco_folder: ", e.what());
  }
}

std::string json_in(const std::string& dir) {
  std::error_code ec;
  check(fs::is_directory(dir, ec), "coco_folder: ", dir, ": no such directory");
  const std::string json = (fs::path(dir) / "instances.json").string();
  check(fs::is_regular_file(json, ec), "coco_folder: ", json,
        ": not found (a COCO folder holds instances.json and the images its file_name fields name)");
  return json;
}

}  // namespace

CocoFolder::CocoFolder(const std::string& dir) : CocoFolder(json_in(dir), dir) {}

CocoFolder::CocoFolder(const std::string& json_path, const std::string& image_root)
    : json_path_(json_path), root_(image_root) {
  std::error_code ec;
  check(fs::is_regular_file(json_path_, ec), "coco_folder: ", json_path_, ": no such file");
  check(fs::is_directory(root_, ec), "coco_folder: ", json_path_, ": image root ", root_, " is not a directory");
  gt_ = read_gt(json_path_);
  index();
}

void CocoFolder::index() {
  const std::string& src = json_path_;
  // Categories: labels follow ascending COCO ids, whatever the order in the file.
  check(!gt_.categories.empty(), "coco_folder: ", src, ": 'categories' is empty (a detector needs >= 1 class)");
  std::vector<size_t> order(gt_.categories.size());
  for (size_t k = 0; k < order.size(); ++k) order[k] = k;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return gt_.categories[a].id < gt_.categories[b].id; });
  for (size_t k = 0; k < order.size(); ++k) {
    const eval::CocoCategory& c = gt_.categories[order[k]];
    check(label_of_.emplace(c.id, int(k)).second, "coco_folder: ", src, ": categories[", order[k],
          "]: duplicate category id ", c.id);
    category_ids_.push_back(c.id);
    names_.push_back(c.name.empty() ? std::to_string(c.id) : c.name);
  }

  std::map<int64_t, size_t> image_index;  // COCO image id -> position in images_
  images_.reserve(gt_.images.size());
  for (size_t i = 0; i < gt_.images.size(); ++i) {
    const eval::CocoImage& im = gt_.images[i];
    auto [it, fresh] = image_index.emplace(im.id, i);
    check(fresh, "coco_folder: ", src, ": images[", i, "]: duplicate image id ", im.id, " (also images[", it->second,
          "])");
    check(!im.file_name.empty(), "coco_folder: ", src, ": images[", i, "] (id ", im.id, "): missing field 'file_name'");
    check(im.width >= 0 && im.height >= 0, "coco_folder: ", src, ": images[", i, "] (id ", im.id,
          "): negative width/height ", im.width, "x", im.height);
    images_.push_back({im, {}});
  }

  for (size_t a = 0; a < gt_.annotations.size(); ++a) {
    const eval::CocoAnnotation& ann = gt_.annotations[a];
    auto im = image_index.find(ann.image_id);
    check(im != image_index.end(), "coco_folder: ", src, ": annotations[", a, "] (id ", ann.id, "): unknown image_id ",
          ann.image_id);
    auto cat = label_of_.find(ann.category_id);
    check(cat != label_of_.end(), "coco_folder: ", src, ": annotations[", a, "] (id ", ann.id,
          "): unknown category_id ", ann.category_id);
    if (ann.iscrowd) {
      ++stats_.crowd_skipped;
    } else if (ann.bbox[2] <= 0 || ann.bbox[3] <= 0) {
      ++stats_.empty_skipped;
    } else {
      images_[im->second].objects.push_back({ann.bbox, cat->second});
      ++stats_.boxes;
    }
  }
  stats_.images = size();
  for (const Image& im : images_) stats_.negatives += im.objects.empty();
}

int64_t CocoFolder::image_id(int64_t i) const {
  check(i >= 0 && i < size(), "coco_folder: ", json_path_, ": sample ", i, " out of range [0, ", size(), ")");
  return images_[i].info.id;
}

std::string CocoFolder::image_path(int64_t i) const {
  check(i >= 0 && i < size(), "coco_folder: ", json_path_, ": sample ", i, " out of range [0, ", size(), ")");
  return (fs::path(root_) / images_[i].info.file_name).string();
}

int64_t CocoFolder::category_id(int label) const {
  check(label >= 0 && label < num_classes(), "coco_folder: ", json_path_, ": label ", label, " out of range [0, ",
        num_classes(), ")");
  return category_ids_[label];
}

int CocoFolder::label_of(int64_t category_id) const {
  auto it = label_of_.find(category_id);
  check(it != label_of_.end(), "coco_folder: ", json_path_, ": unknown category id ", category_id);
  return it->second;
}

Scene CocoFolder::get(int64_t i) const {
  const std::string path = image_path(i);  // checks i
  const Image& im = images_[i];
  Scene s;
  try {
    s.image = io::load_image(path);  // always u8 [H, W, 3]
  } catch (const Error& e) {
    fail("coco_folder: ", json_path_, ": image id ", im.info.id, " (", im.info.file_name, "): ", e.what());
  }
  const int64_t H = s.image.size(0), W = s.image.size(1);
  const bool w_ok = im.info.width == 0 || im.info.width == W, h_ok = im.info.height == 0 || im.info.height == H;
  check(w_ok && h_ok, "coco_folder: ", json_path_, ": image id ", im.info.id, " (", im.info.file_name, ") is ", W, "x",
        H, " (WxH) but the JSON says ", im.info.width, "x", im.info.height);
  for (const Object& o : im.objects) {
    const double x1 = std::clamp(o.xywh[0], 0.0, double(W)), x2 = std::clamp(o.xywh[0] + o.xywh[2], 0.0, double(W));
    const double y1 = std::clamp(o.xywh[1], 0.0, double(H)), y2 = std::clamp(o.xywh[1] + o.xywh[3], 0.0, double(H));
    if (x2 <= x1 || y2 <= y1) continue;  // entirely outside the image
    s.boxes.push_back({float(x1), float(y1), float(x2), float(y2)});
    s.labels.push_back(o.label);
  }
  return s;
}

}  // namespace dg::data
