// fashion-scenes (detectors/data/fashion_scenes.h): determinism by (seed, split, i), tight boxes on the
// visible item pixels, the IoU bound, preset ranges, the procedural-shapes fallback and the COCO export.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "autograd/io/image.h"
#include "detectors/data/fashion_scenes.h"
#include "detectors/eval/coco_json.h"

using namespace dg;
using namespace dg::data;

namespace {

std::string temp_dir(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("detgrad_scenes_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

bool same_scene(const Scene& a, const Scene& b) {
  const int64_t n = a.image.numel();
  return n == b.image.numel() && std::memcmp(a.image.data<uint8_t>(), b.image.data<uint8_t>(), n) == 0 &&
         a.boxes == b.boxes && a.labels == b.labels;
}

double iou(const std::array<float, 4>& a, const std::array<float, 4>& b) {
  const double iw = std::min(a[2], b[2]) - std::max(a[0], b[0]), ih = std::min(a[3], b[3]) - std::max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  const double inter = iw * ih;
  return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter);
}

// Checks every structural property of one scene against its config.
void check_scene(const Scene& s, const SceneConfig& c) {
  const int64_t H = c.height, W = c.width, n = static_cast<int64_t>(s.boxes.size());
  REQUIRE(s.image.shape() == Shape{H, W, 3});
  REQUIRE(s.labels.size() == s.boxes.size());
  CHECK(n >= 1);
  CHECK(n <= c.max_items);
  REQUIRE(s.masks.shape() == Shape{n, H, W});
  const uint8_t* m = s.masks.data<uint8_t>();
  for (int64_t k = 0; k < n; ++k) {
    const auto& b = s.boxes[k];
    CHECK(s.labels[k] >= 0);
    CHECK(s.labels[k] < 10);
    CHECK(b[0] >= 0);
    CHECK(b[1] >= 0);
    CHECK(b[2] <= W);
    CHECK(b[3] <= H);
    CHECK(b[2] > b[0]);
    CHECK(b[3] > b[1]);
    // The box never exceeds the item's resized side.
    CHECK(b[2] - b[0] <= c.max_size);
    CHECK(b[3] - b[1] <= c.max_size);
    // Tight: the mask lies inside the box, and each of the 4 border rows/cols has a visible pixel.
    const int x1 = int(b[0]), y1 = int(b[1]), x2 = int(b[2]) - 1, y2 = int(b[3]) - 1;
    bool top = false, bottom = false, left = false, right = false, outside = false;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        if (!m[(k * H + y) * W + x]) continue;
        if (x < x1 || x > x2 || y < y1 || y > y2) outside = true;
        top |= y == y1, bottom |= y == y2, left |= x == x1, right |= x == x2;
      }
    CHECK(!outside);
    CHECK((top && bottom && left && right));
    for (int64_t j = 0; j < k; ++j) CHECK(iou(s.boxes[j], b) <= c.max_iou + 1e-9);
  }
}

}  // namespace

TEST_CASE("fashion_scenes: presets and config errors") {
  SceneConfig s = SceneConfig::preset("small"), t = SceneConfig::preset("standard");
  CHECK(s.height == 96);
  CHECK(s.max_items == 4);
  CHECK(s.min_size == 20);
  CHECK(s.max_size == 48);
  CHECK(s.max_iou == 0.1);
  CHECK(t.height == 128);
  CHECK(t.max_items == 8);
  CHECK(t.min_size == 16);
  CHECK(t.max_size == 72);
  CHECK(t.max_iou == 0.3);
  CHECK_THROWS_WITH_PART(SceneConfig::preset("huge"), "fashion_scenes: unknown preset 'huge' (known: small, standard)");
  CHECK_THROWS_WITH_PART(parse_split("test"), "unknown split 'test'");
  SceneConfig bad = s;
  bad.max_size = 200;
  CHECK_THROWS_WITH_PART(FashionScenes(bad, Split::val, 0),
                         "max_size <= min(height, width), got sizes 20..200 for 96x96");
  bad = s;
  bad.min_items = 0;
  CHECK_THROWS_WITH_PART(bad.validate(), "need 1 <= min_items <= max_items, got 0..4");
  FashionScenes ds(s, Split::val, 1);
  CHECK_THROWS_WITH_PART(ds.get(-1), "fashion_scenes: scene index must be >= 0, got -1");
}

TEST_CASE("fashion_scenes: resize_bilinear matches half-pixel bilinear") {
  // 2x2 -> 4x4: destination centres map to -0.25 (clamped 0), 0.25, 0.75, 1.25 (-> 1 at the clamp).
  const float src[4] = {0, 4, 8, 12};
  std::vector<float> r = resize_bilinear(src, 2, 2, 4, 4);
  CHECK(r[0] == 0.f);
  CHECK(r[1] == doctest::Approx(1.0));  // x = 0.25
  CHECK(r[2] == doctest::Approx(3.0));  // x = 0.75
  CHECK(r[3] == doctest::Approx(4.0));
  CHECK(r[5] == doctest::Approx(0.25 * 8 + 0.25 * 4));  // (0.25, 0.25)
  CHECK(r[15] == doctest::Approx(12.0));
  std::vector<float> same = resize_bilinear(src, 2, 2, 2, 2);
  CHECK(same == std::vector<float>(src, src + 4));
}

TEST_CASE("fashion_scenes: Fashion-MNIST scenes are deterministic and well formed") {
  if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz")) {
    MESSAGE("Fashion-MNIST not installed: skipped");
    return;
  }
  for (const char* preset : {"small", "standard"}) {
    CAPTURE(preset);
    const SceneConfig c = SceneConfig::preset(preset);
    FashionScenes a(c, Split::val, 7), b(c, Split::val, 7), other(c, Split::val, 8);
    CHECK(a.source() == ItemSource::fashion_mnist);
    CHECK(a.class_names().size() == 10);
    CHECK(a.class_names()[9] == "Ankle boot");
    // Scene i alone, in reverse order, and after others: the same bytes.
    Scene s5 = a.get(5);
    for (int i = 9; i >= 0; --i) {
      Scene s = b.get(i, true);
      check_scene(s, c);
      if (i == 5) CHECK(same_scene(s, s5));
    }
    CHECK(same_scene(a.get(5), s5));
    CHECK(!same_scene(other.get(5), s5));
    CHECK(!same_scene(a.get(4), s5));
    // Some scenes hold several items.
    int64_t many = 0;
    for (int i = 0; i < 40; ++i) many += a.get(i).boxes.size() > 1;
    CHECK(many > 0);
  }
}

TEST_CASE("fashion_scenes: counts and sizes cover the preset ranges; IoU bound holds") {
  SceneConfig c = SceneConfig::preset("small");
  FashionScenes ds(c, Split::val, 3);
  int min_n = 99, max_n = 0;
  float min_side = 1e9f;
  for (int i = 0; i < 60; ++i) {
    Scene s = ds.get(i);
    const int n = static_cast<int>(s.boxes.size());
    min_n = std::min(min_n, n), max_n = std::max(max_n, n);
    for (size_t k = 0; k < s.boxes.size(); ++k) {
      min_side = std::min({min_side, s.boxes[k][2] - s.boxes[k][0], s.boxes[k][3] - s.boxes[k][1]});
      for (size_t j = 0; j < k; ++j) CHECK(iou(s.boxes[j], s.boxes[k]) <= c.max_iou + 1e-9);
    }
  }
  CHECK(min_n == 1);
  CHECK(max_n == 4);
  CHECK(min_side > 0);
  // A zero IoU bound: no two boxes of a scene overlap.
  c.max_iou = 0;
  FashionScenes strict(c, Split::val, 3);
  for (int i = 0; i < 10; ++i) check_scene(strict.get(i, true), c);
}

TEST_CASE("fashion_scenes: fallback to procedural shapes when the data is missing") {
  const std::string empty = temp_dir("empty");
  const SceneConfig c = SceneConfig::preset("standard");
  FashionScenes ds(c, Split::train, 11, empty), ds2(c, Split::train, 11, empty);
  CHECK(ds.source() == ItemSource::shapes);
  CHECK(ds.source_note().find("procedural shapes") != std::string::npos);
  CHECK(ds.source_note().find(empty) != std::string::npos);
  CHECK(ds.class_names()[0] == "rectangle");
  for (int i = 0; i < 8; ++i) {
    Scene s = ds.get(i, true);
    check_scene(s, c);
    CHECK(same_scene(s, ds2.get(i)));
  }
  // Train and val splits differ.
  FashionScenes val(c, Split::val, 11, empty);
  CHECK(!same_scene(val.get(0), ds.get(0)));
}

TEST_CASE("fashion_scenes: export writes a COCO file that coco_json reads back") {
  const std::string dir = temp_dir("export");
  FashionScenes ds(SceneConfig::preset("small"), Split::val, 5, temp_dir("empty2"));
  std::vector<std::string> written;
  int64_t last = 0;
  eval::CocoDataset d = export_scenes(
      ds, dir, 6, [](const std::string& path, const Scene& s) { io::save_png(path, s.image); },
      [&](int64_t done, int64_t n) {
        CHECK(n == 6);
        CHECK(done == last + 1);
        last = done;
      });
  CHECK(last == 6);
  eval::CocoDataset r = eval::read_coco_gt(dir + "/instances.json");
  REQUIRE(r.images.size() == 6);
  REQUIRE(r.categories.size() == 10);
  CHECK(r.categories[0].id == 1);
  CHECK(r.categories[0].name == "rectangle");
  CHECK(r.annotations.size() == d.annotations.size());
  size_t a = 0;
  for (int64_t i = 0; i < 6; ++i) {
    CHECK(r.images[i].id == i + 1);
    CHECK(r.images[i].file_name == scene_file_name(i));
    CHECK(r.images[i].width == 96);
    CHECK(r.images[i].height == 96);
    Scene s = ds.get(i);
    Tensor png = io::load_image(dir + "/" + scene_file_name(i));  // PNG is lossless: the same bytes
    REQUIRE(png.shape() == Shape{96, 96, 3});
    CHECK(std::memcmp(png.data<uint8_t>(), s.image.data<uint8_t>(), 96 * 96 * 3) == 0);
    for (size_t k = 0; k < s.boxes.size(); ++k, ++a) {
      REQUIRE(a < r.annotations.size());
      const auto& an = r.annotations[a];
      CHECK(an.id == int64_t(a) + 1);
      CHECK(an.image_id == i + 1);
      CHECK(an.category_id == s.labels[k] + 1);
      CHECK(an.bbox[0] == s.boxes[k][0]);
      CHECK(an.bbox[1] == s.boxes[k][1]);
      CHECK(an.bbox[2] == s.boxes[k][2] - s.boxes[k][0]);
      CHECK(an.bbox[3] == s.boxes[k][3] - s.boxes[k][1]);
      CHECK(an.area == an.bbox[2] * an.bbox[3]);
      CHECK(!an.iscrowd);
    }
  }
  CHECK(a == r.annotations.size());
  CHECK(scene_file_name(42) == "images/000042.png");
}

TEST_CASE("fashion_scenes: detgrad data export (CLI)") {
  const std::string dir = temp_dir("cli");
  const std::string bin = std::string(DETGRAD_BINARY_DIR) + "/detgrad";
  const std::string cmd = bin + " data export fashion-scenes --preset small --out " + dir +
                          " --n 3 --seed 9 --split val > " + dir + "/log.txt 2>&1";
  REQUIRE(std::system(cmd.c_str()) == 0);
  eval::CocoDataset r = eval::read_coco_gt(dir + "/instances.json");
  REQUIRE(r.images.size() == 3);
  CHECK(r.categories.size() == 10);
  // The files hold exactly the scenes of the API with the same (preset, split, seed).
  FashionScenes ds(SceneConfig::preset("small"), Split::val, 9);
  for (int64_t i = 0; i < 3; ++i) {
    Scene s = ds.get(i);
    Tensor png = io::load_image(dir + "/" + scene_file_name(i));
    REQUIRE(png.shape() == s.image.shape());
    CHECK(std::memcmp(png.data<uint8_t>(), s.image.data<uint8_t>(), s.image.numel()) == 0);
  }
  const std::string bad = bin + " data export fashion-scenes --preset huge --out " + dir + " > /dev/null 2>&1";
  CHECK(std::system(bad.c_str()) != 0);
}

TEST_CASE("fashion_scenes: export gives the same files for 1, 2 and 3 OpenMP threads") {
  FashionScenes ds(SceneConfig::preset("standard"), Split::train, 4, temp_dir("empty3"));
  const auto save = [](const std::string& path, const Scene& s) { io::save_png(path, s.image); };
  const auto bytes = [](const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  int run = 0;
  same_bits_for_threads([&] {
    const std::string d = temp_dir("threads" + std::to_string(++run));
    export_scenes(ds, d, 40, save);
    std::vector<std::pair<std::string, Tensor>> files{{"instances.json", as_tensor(bytes(d + "/instances.json"))}};
    for (int64_t i : {0, 17, 39}) files.push_back({scene_file_name(i), as_tensor(bytes(d + "/" + scene_file_name(i)))});
    return files;
  });
}
