// COCO folder reader (detectors/data/coco_folder.h): a tiny folder written at test time (PNG images +
// instances JSON) read back -- boxes, labels, the category mapping, crowd/empty skipping, clipping,
// negatives, grey images, the ground truth for evaluation, the error messages -- and a round trip through
// `export_scenes` that must give back the fashion-scenes samples exactly.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <unistd.h>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "autograd/io/image.h"
#include "detectors/data/coco_folder.h"
#include "detectors/eval/coco_eval.h"

using namespace dg;
using namespace dg::data;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::string temp_dir(const std::string& name) { return fresh_temp_dir("coco_folder", name); }

// u8 [h, w, c] with a pattern that differs per pixel and channel.
Tensor pattern(int64_t h, int64_t w, int64_t c, int salt) {
  Tensor t = Tensor::empty({h, w, c}, DType::u8);
  uint8_t* p = t.data<uint8_t>();
  for (int64_t k = 0; k < h * w * c; ++k) p[k] = uint8_t((k * 7 + salt * 31) % 251);
  return t;
}

// Three images, listed in the JSON as B (id 20), A (id 10), C (id 30):
//   A  images/a.png  40x30 RGB   cat [2,3,10,5]; cat crowd; "5" with w = 0; "5" [35,25,10,10] (clipped
//                                to 5x5); "5" [50,0,5,5] (outside the image: dropped)
//   B  b.png         20x10 grey  dog [1.5,2,4,3]; no width/height in the JSON
//   C  images/c.png  16x16 RGB   no annotations (a negative)
// Categories in the file: 7 "cat", 3 "dog", 5 (no name) => labels dog 0, "5" 1, cat 2.
json tiny_json() {
  json images = json::array({{{"id", 20}, {"file_name", "b.png"}},
                             {{"id", 10}, {"file_name", "images/a.png"}, {"width", 40}, {"height", 30}},
                             {{"id", 30}, {"file_name", "images/c.png"}, {"width", 16}, {"height", 16}}});
  auto ann = [](int id, int image, int cat, std::array<double, 4> b, int crowd = 0) {
    return json{{"id", id},  {"image_id", image},   {"category_id", cat},
                {"bbox", b}, {"area", b[2] * b[3]}, {"iscrowd", crowd}};
  };
  json anns = json::array({ann(1, 10, 7, {2, 3, 10, 5}), ann(2, 20, 3, {1.5, 2, 4, 3}),
                           ann(3, 10, 7, {0, 0, 40, 30}, 1), ann(4, 10, 5, {5, 5, 0, 4}),
                           ann(5, 10, 5, {35, 25, 10, 10}), ann(6, 10, 5, {50, 0, 5, 5})});
  json cats = json::array({{{"id", 7}, {"name", "cat"}}, {{"id", 3}, {"name", "dog"}}, {{"id", 5}}});
  return {{"images", images}, {"annotations", anns}, {"categories", cats}};
}

void write_images(const std::string& root) {
  fs::create_directories(fs::path(root) / "images");
  io::save_png(root + "/images/a.png", pattern(30, 40, 3, 1));
  io::save_png(root + "/b.png", pattern(10, 20, 1, 2));
  io::save_png(root + "/images/c.png", pattern(16, 16, 3, 3));
}

std::string tiny_folder(const std::string& name, const json& j = tiny_json()) {
  const std::string dir = temp_dir(name);
  write_images(dir);
  eval::write_json_file(dir + "/instances.json", j);
  return dir;
}

using Box = std::array<float, 4>;

}  // namespace

TEST_CASE("coco_folder: boxes, labels, category mapping, skipping and negatives") {
  const std::string dir = tiny_folder("tiny");
  CocoFolder f(dir);
  REQUIRE(f.size() == 3);
  // Samples in the JSON's order, not sorted by id.
  CHECK(f.image_id(0) == 20);
  CHECK(f.image_id(1) == 10);
  CHECK(f.image_id(2) == 30);
  CHECK(f.image_path(1) == (fs::path(dir) / "images/a.png").string());

  // Labels follow sorted COCO ids; a nameless category is called by its id.
  CHECK(f.num_classes() == 3);
  CHECK(f.class_names() == std::vector<std::string>{"dog", "5", "cat"});
  CHECK(f.category_id(0) == 3);
  CHECK(f.category_id(1) == 5);
  CHECK(f.category_id(2) == 7);
  CHECK(f.label_of(3) == 0);
  CHECK(f.label_of(5) == 1);
  CHECK(f.label_of(7) == 2);
  CHECK_THROWS_WITH_PART(f.label_of(4), "unknown category id 4");
  CHECK_THROWS_WITH_PART(f.category_id(3), "label 3 out of range [0, 3)");

  // B: grey PNG -> RGB (each channel the grey value), size accepted without width/height.
  Scene b = f.get(0);
  REQUIRE(b.image.shape() == Shape{10, 20, 3});
  const Tensor grey = pattern(10, 20, 1, 2);
  bool grey_ok = true;
  for (int64_t k = 0; k < 200; ++k)
    for (int ch = 0; ch < 3; ++ch) grey_ok &= b.image.data<uint8_t>()[k * 3 + ch] == grey.data<uint8_t>()[k];
  CHECK(grey_ok);
  CHECK(b.boxes == std::vector<Box>{{1.5f, 2.f, 5.5f, 5.f}});
  CHECK(b.labels == std::vector<int>{0});

  // A: the crowd, the w = 0 box and the box outside the image are gone; the border box is clipped.
  Scene a = f.get(1);
  CHECK(same_bytes(a.image, pattern(30, 40, 3, 1)));
  CHECK(a.boxes == std::vector<Box>{{2, 3, 12, 8}, {35, 25, 40, 30}});
  CHECK(a.labels == std::vector<int>{2, 1});

  // C: a negative.
  Scene c = f.get(2);
  CHECK(same_bytes(c.image, pattern(16, 16, 3, 3)));
  CHECK(c.boxes.empty());
  CHECK(c.labels.empty());

  const CocoFolderStats& s = f.stats();
  CHECK(s.images == 3);
  CHECK(s.negatives == 1);
  CHECK(s.boxes == 4);  // counted before clipping: the box outside A is still one
  CHECK(s.crowd_skipped == 1);
  CHECK(s.empty_skipped == 1);

  CHECK_THROWS_WITH_PART(f.get(3), "sample 3 out of range [0, 3)");
  CHECK_THROWS_WITH_PART(f.get(-1), "sample -1 out of range [0, 3)");
}

TEST_CASE("coco_folder: explicit json path and image root") {
  const std::string root = temp_dir("root");
  write_images(root);
  const std::string ann_dir = temp_dir("annotations");
  eval::write_json_file(ann_dir + "/val.json", tiny_json());
  CocoFolder f(ann_dir + "/val.json", root);
  REQUIRE(f.size() == 3);
  CHECK(f.json_path() == ann_dir + "/val.json");
  CHECK(f.get(1).boxes.size() == 2);
  // The JSON's directory is not the image root.
  CHECK_THROWS_WITH_PART(CocoFolder(ann_dir + "/val.json", ann_dir).get(0), "b.png): image: ");
  CHECK_THROWS_WITH_PART(CocoFolder(ann_dir + "/missing.json", root), "missing.json: no such file");
  CHECK_THROWS_WITH_PART(CocoFolder(ann_dir + "/val.json", root + "/nope"), "is not a directory");
}

TEST_CASE("coco_folder: ground truth evaluates through the category mapping") {
  CocoFolder f(tiny_folder("eval"));
  const eval::CocoDataset& gt = f.ground_truth();
  CHECK(gt.images.size() == 3);
  CHECK(gt.annotations.size() == 6);  // everything in the file, crowd included
  // Detections = the training boxes of every sample, with COCO ids.
  std::vector<eval::CocoDetection> dets;
  for (int64_t i = 0; i < f.size(); ++i) {
    Scene s = f.get(i);
    for (size_t k = 0; k < s.boxes.size(); ++k) {
      const Box& b = s.boxes[k];
      dets.push_back({f.image_id(i), f.category_id(s.labels[k]), {b[0], b[1], b[2] - b[0], b[3] - b[1]}, 0.9});
    }
  }
  eval::CocoEvalResult r = eval::coco_evaluate(gt, dets);
  REQUIRE(r.category_ids == std::vector<int64_t>{3, 5, 7});
  CHECK(r.category_ap(0) == doctest::Approx(1.0));  // dog
  CHECK(r.category_ap(2) == doctest::Approx(1.0));  // cat (its crowd is ignored, not missed)
  // "5": its clipped box has IoU 0.25 with the unclipped ground truth, and the other two are misses.
  CHECK(r.category_ap(1) == doctest::Approx(0.0));
}

TEST_CASE("coco_folder: get is safe to call from several threads") {
  CocoFolder f(tiny_folder("threads"));
  std::vector<Scene> serial;
  for (int64_t i = 0; i < f.size(); ++i) serial.push_back(f.get(i));
  std::vector<std::vector<Scene>> got(4);
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t)
    ts.emplace_back([&, t] {
      for (int rep = 0; rep < 5; ++rep)
        for (int64_t i = 0; i < f.size(); ++i) got[t].push_back(f.get((i + t) % f.size()));
    });
  for (auto& t : ts) t.join();
  for (int t = 0; t < 4; ++t) {
    REQUIRE(got[t].size() == 15);
    for (size_t k = 0; k < got[t].size(); ++k) {
      const Scene& want = serial[(k % 3 + t) % 3];
      CHECK(same_bytes(got[t][k].image, want.image));
      CHECK(got[t][k].boxes == want.boxes);
    }
  }
}

TEST_CASE("coco_folder: errors name the file, the record and the value") {
  const std::string none = (fs::path(temp_dir("gone")) / "nothing").string();
  CHECK_THROWS_WITH_PART(CocoFolder{none}, "coco_folder: " + none + ": no such directory");
  const std::string empty = temp_dir("no_json");
  CHECK_THROWS_WITH_PART(CocoFolder{empty}, empty + "/instances.json: not found");

  // Not JSON / not COCO: coco_json's message, prefixed.
  const std::string bad = temp_dir("bad_json");
  std::ofstream(bad + "/instances.json") << "{\"images\": [";
  CHECK_THROWS_WITH_PART(CocoFolder{bad}, "coco_folder: " + bad + "/instances.json: not valid JSON");

  json j = tiny_json();
  j["annotations"][1]["image_id"] = 99;
  CHECK_THROWS_WITH_PART(CocoFolder{tiny_folder("bad_image_id", j)},
                         "instances.json: annotations[1] (id 2): unknown image_id 99");
  j = tiny_json();
  j["annotations"][0]["category_id"] = 4;
  CHECK_THROWS_WITH_PART(CocoFolder{tiny_folder("bad_cat", j)},
                         "instances.json: annotations[0] (id 1): unknown category_id 4");
  j = tiny_json();
  j["images"][2]["id"] = 20;
  CHECK_THROWS_WITH_PART(CocoFolder{tiny_folder("dup_image", j)}, "images[2]: duplicate image id 20 (also images[0])");
  j = tiny_json();
  j["categories"][2]["id"] = 7;
  CHECK_THROWS_WITH_PART(CocoFolder{tiny_folder("dup_cat", j)}, "duplicate category id 7");
  j = tiny_json();
  j["categories"] = json::array();
  CHECK_THROWS_WITH_PART(CocoFolder{tiny_folder("no_cats", j)}, "'categories' is empty");
  j = tiny_json();
  j["images"][1].erase("file_name");
  CHECK_THROWS_WITH_PART(CocoFolder{tiny_folder("no_file_name", j)}, "images[1] (id 10): missing field 'file_name'");

  // Image problems surface in get(), naming the JSON, the image id, the file name and the path.
  const std::string dir = tiny_folder("bad_files");
  fs::remove(dir + "/images/a.png");
  std::ofstream(dir + "/images/c.png", std::ios::binary) << "\x89PNG\r\n\x1a\n garbage";
  CocoFolder f(dir);
  const std::string missing = error_of([&] { f.get(1); });
  CHECK(missing.find("coco_folder: " + dir + "/instances.json: image id 10 (images/a.png): image: ") == 0);
  CHECK(missing.find("cannot open") != std::string::npos);
  const std::string corrupt = error_of([&] { f.get(2); });
  CHECK(corrupt.find("image id 30 (images/c.png): image: " + dir + "/images/c.png: ") != std::string::npos);
  CHECK(f.get(0).boxes.size() == 1);  // the others still load

  // The JSON's size must match the file's; 0 (or absent) accepts it.
  j = tiny_json();
  j["images"][1]["width"] = 41;
  CocoFolder wrong(tiny_folder("wrong_size", j));
  CHECK_THROWS_WITH_PART(wrong.get(1), "image id 10 (images/a.png) is 40x30 (WxH) but the JSON says 41x30");
  j = tiny_json();
  j["images"][1]["width"] = 0;
  CHECK(CocoFolder(tiny_folder("zero_width", j)).get(1).image.shape() == Shape{30, 40, 3});
}

TEST_CASE("coco_folder: round trip of exported fashion-scenes") {
  // Empty data dir => procedural shapes: fast, and the same bytes on every machine.
  FashionScenes ds(SceneConfig::preset("small"), Split::val, 3, temp_dir("no_fashion_mnist"));
  const std::string dir = temp_dir("export");
  export_scenes(ds, dir, 3, [](const std::string& path, const Scene& s) { io::save_png(path, s.image); });
  CocoFolder f(dir);
  REQUIRE(f.size() == 3);
  CHECK(f.class_names() == ds.class_names());
  for (int64_t i = 0; i < 3; ++i) {
    CAPTURE(i);
    const Scene want = ds.get(i), got = f.get(i);
    CHECK(f.image_id(i) == i + 1);
    CHECK(same_bytes(got.image, want.image));
    CHECK(got.boxes == want.boxes);
    CHECK(got.labels == want.labels);
    CHECK(!got.boxes.empty());
  }
  for (int k = 0; k < 10; ++k) CHECK(f.category_id(k) == k + 1);
}
