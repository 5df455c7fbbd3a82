// fashion-scenes: background synthesis, item resampling, alpha pasting with occlusion, rejection
// sampling of placements, and the COCO export. See fashion_scenes.h and docs/data.md.
#include "detectors/data/fashion_scenes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <exception>
#include <filesystem>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/io/idx.h"

namespace dg::data {

namespace {

constexpr int kItem = 28;  // Fashion-MNIST items (and the procedural shapes) are 28x28

constexpr std::array<const char*, 10> kShapeClasses = {"rectangle", "ellipse", "triangle", "cross", "ring",
                                                       "diamond",   "stripes", "L-shape",  "frame", "half-disc"};

// splitmix64: a strong 64-bit mixer, used to derive the scene's stream from (seed, split, i).
uint64_t mix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t scene_seed(uint64_t seed, Split split, int64_t i) {
  uint64_t h = mix64(seed);
  h = mix64(h ^ (split == Split::train ? 0x747261696Eull : 0x76616Cull));  // "train" / "val"
  return mix64(h ^ static_cast<uint64_t>(i));
}

double uniform(Generator& g, double lo, double hi) { return lo + (hi - lo) * g.uniform01(); }

// One procedural item of class c in [0, 1] on a 28x28 grid: a filled shape with random proportions.
// u, v are the pixel centre in [-1, 1]; sx, sy the half-extents of the shape.
std::vector<float> draw_shape(int c, Generator& g) {
  const double sx = uniform(g, 0.55, 0.95), sy = uniform(g, 0.55, 0.95), t = uniform(g, 0.25, 0.45);
  const double level = uniform(g, 0.65, 1.0);
  std::vector<float> img(kItem * kItem, 0.f);
  for (int r = 0; r < kItem; ++r)
    for (int q = 0; q < kItem; ++q) {
      const double u = ((q + 0.5) / kItem * 2 - 1) / sx, v = ((r + 0.5) / kItem * 2 - 1) / sy;  // unit box
      bool in = false;
      if (std::abs(u) > 1 || std::abs(v) > 1) in = false;
      else if (c == 0) in = true;                                                      // rectangle
      else if (c == 1) in = u * u + v * v <= 1;                                        // ellipse
      else if (c == 2) in = std::abs(u) <= (v + 1) / 2;                                // triangle, apex up
      else if (c == 3) in = std::abs(u) <= t || std::abs(v) <= t;                      // cross
      else if (c == 4) in = u * u + v * v <= 1 && u * u + v * v >= (1 - t) * (1 - t);  // ring
      else if (c == 5) in = std::abs(u) + std::abs(v) <= 1;                            // diamond
      else if (c == 6) in = std::fmod(v + 1, 0.5) < 0.25;                              // 4 horizontal stripes
      else if (c == 7) in = u <= -1 + 2 * t || v >= 1 - 2 * t;                         // L
      else if (c == 8) in = std::abs(u) >= 1 - t || std::abs(v) >= 1 - t;              // hollow square
      else in = u * u + v * v <= 1 && v >= 0;                                          // half disc
      if (in) img[r * kItem + q] = static_cast<float>(level);
    }
  return img;
}

// An item placed in the scene: its alpha on an s x s patch at (x0, y0), colour and label.
struct Placed {
  int x0, y0, s;
  std::vector<float> alpha;
  std::array<float, 3> colour;
  int label;
  int64_t own;  // pixels with alpha > threshold (before occlusion)
};

struct Visible {
  int x1, y1, x2, y2;  // inclusive pixel bounds; x2 < x1 when nothing is visible
  int64_t count;
};

// Visible alpha of item k at pixel p = alpha_k(p) * prod_{j > k} (1 - alpha_j(p)) (the "over" operator:
// what is left of k after the later items were pasted on top). T holds that product, built from the top.
std::vector<Visible> visible_extents(const std::vector<Placed>& items, int64_t H, int64_t W, double thr,
                                     std::vector<float>& T, Tensor* masks = nullptr) {
  T.assign(static_cast<size_t>(H * W), 1.f);
  std::vector<Visible> vis(items.size());
  for (size_t kk = items.size(); kk-- > 0;) {
    const Placed& it = items[kk];
    Visible v{static_cast<int>(W), static_cast<int>(H), -1, -1, 0};
    uint8_t* m = masks ? masks->data<uint8_t>() + kk * H * W : nullptr;
    for (int r = 0; r < it.s; ++r)
      for (int q = 0; q < it.s; ++q) {
        const float a = it.alpha[r * it.s + q];
        const int64_t y = it.y0 + r, x = it.x0 + q, p = y * W + x;
        if (a * T[p] > thr) {
          v.x1 = std::min<int>(v.x1, x), v.x2 = std::max<int>(v.x2, x);
          v.y1 = std::min<int>(v.y1, y), v.y2 = std::max<int>(v.y2, y);
          ++v.count;
          if (m) m[p] = 1;
        }
        T[p] *= 1.f - a;
      }
    vis[kk] = v;
  }
  return vis;
}

double box_iou(const Visible& a, const Visible& b) {
  // pixel boxes [x1, x2 + 1) x [y1, y2 + 1)
  const double iw = std::min(a.x2, b.x2) + 1 - std::max(a.x1, b.x1);
  const double ih = std::min(a.y2, b.y2) + 1 - std::max(a.y1, b.y1);
  if (iw <= 0 || ih <= 0) return 0;
  const double area_a = double(a.x2 + 1 - a.x1) * (a.y2 + 1 - a.y1);
  const double area_b = double(b.x2 + 1 - b.x1) * (b.y2 + 1 - b.y1);
  const double inter = iw * ih;
  return inter / (area_a + area_b - inter);
}

// Smooth random gradient + low-frequency noise (a 5x5 grid of Gaussians, bilinearly upsampled) +
// per-pixel noise, lightly tinted per channel; returned as float [3][H][W].
std::vector<float> background(const SceneConfig& c, Generator& g) {
  const int64_t H = c.height, W = c.width;
  const double level = uniform(g, 20, 120), gx = g.normal01() * 35, gy = g.normal01() * 35;
  std::array<double, 3> tint;
  for (double& t : tint) t = 1 + c.tint * uniform(g, -1, 1);
  std::vector<float> grid(25);
  for (float& v : grid) v = static_cast<float>(g.normal01() * 22);
  const std::vector<float> low = resize_bilinear(grid.data(), 5, 5, static_cast<int>(H), static_cast<int>(W));
  std::vector<float> bg(static_cast<size_t>(3 * H * W));
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x) {
      const double base = level + gx * ((x + 0.5) / W - 0.5) + gy * ((y + 0.5) / H - 0.5) + low[y * W + x];
      for (int ch = 0; ch < 3; ++ch)
        bg[(ch * H + y) * W + x] = static_cast<float>(base * tint[ch] + c.pixel_noise * g.normal01());
    }
  return bg;
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
SceneConfig SceneConfig::preset(const std::string& name) {
  SceneConfig c;
  if (name == "small") {
    c.height = c.width = 96;
    c.min_items = 1, c.max_items = 4;
    c.min_size = 20, c.max_size = 48;
    c.max_iou = 0.1;
  } else if (name == "standard") {
    c.height = c.width = 128;
    c.min_items = 1, c.max_items = 8;
    c.min_size = 16, c.max_size = 72;
    c.max_iou = 0.3;
  } else {
    fail("fashion_scenes: unknown preset '", name, "' (known: small, standard)");
  }
  return c;
}

void SceneConfig::validate() const {
  check(height >= 8 && width >= 8, "fashion_scenes: image must be at least 8x8, got ", height, "x", width);
  check(min_items >= 1 && max_items >= min_items, "fashion_scenes: need 1 <= min_items <= max_items, got ", min_items,
        "..", max_items);
  check(min_size >= 4 && max_size >= min_size && max_size <= std::min(height, width),
        "fashion_scenes: need 4 <= min_size <= max_size <= min(height, width), got sizes ", min_size, "..", max_size,
        " for ", height, "x", width);
  check(max_iou >= 0 && max_iou <= 1, "fashion_scenes: max_iou must be in [0, 1], got ", max_iou);
  check(alpha_threshold >= 0 && alpha_threshold < 1, "fashion_scenes: alpha_threshold must be in [0, 1), got ",
        alpha_threshold);
  check(min_visible >= 0 && min_visible <= 1, "fashion_scenes: min_visible must be in [0, 1], got ", min_visible);
  check(max_tries >= 1, "fashion_scenes: max_tries must be >= 1, got ", max_tries);
}

Split parse_split(const std::string& s) {
  if (s == "train") return Split::train;
  if (s == "val") return Split::val;
  fail("fashion_scenes: unknown split '", s, "' (train or val)");
}

const char* split_name(Split s) { return s == Split::train ? "train" : "val"; }

std::vector<float> resize_bilinear(const float* src, int sh, int sw, int dh, int dw) {
  // Destination pixel centre (x + 0.5) maps to source coordinate (x + 0.5) * sw / dw - 0.5, clamped at 0;
  // the value interpolates the two nearest source pixels in each direction (edges clamp).
  std::vector<float> out(static_cast<size_t>(dh) * dw);
  auto coord = [](int d, int sn, int dn, int& i0, int& i1, float& f) {
    double s = std::max(0.0, (d + 0.5) * sn / dn - 0.5);
    i0 = std::min(static_cast<int>(s), sn - 1);
    i1 = std::min(i0 + 1, sn - 1);
    f = static_cast<float>(s - i0);
  };
  for (int y = 0; y < dh; ++y) {
    int y0, y1;
    float fy;
    coord(y, sh, dh, y0, y1, fy);
    for (int x = 0; x < dw; ++x) {
      int x0, x1;
      float fx;
      coord(x, sw, dw, x0, x1, fx);
      const float top = src[y0 * sw + x0] * (1 - fx) + src[y0 * sw + x1] * fx;
      const float bot = src[y1 * sw + x0] * (1 - fx) + src[y1 * sw + x1] * fx;
      out[static_cast<size_t>(y) * dw + x] = top * (1 - fy) + bot * fy;
    }
  }
  return out;
}

FashionScenes::FashionScenes(SceneConfig config, Split split, uint64_t seed, const std::string& data_dir)
    : cfg_(config), split_(split), seed_(seed) {
  cfg_.validate();
  try {
    io::MnistSplit m = io::load_fashion_mnist(split == Split::train, data_dir);
    const int64_t n = m.images.shape()[0];
    const Tensor& imgs = m.images;
    const Tensor& labs = m.labels;  // freshly loaded: contiguous
    const uint8_t* p = imgs.data<uint8_t>();
    items_ = std::make_shared<const std::vector<uint8_t>>(p, p + n * kItem * kItem);
    std::vector<int> l(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) l[i] = static_cast<int>(labs.data<int64_t>()[i]);
    item_labels_ = std::make_shared<const std::vector<int>>(std::move(l));
    source_ = ItemSource::fashion_mnist;
    for (const char* c : io::kFashionMnistClasses) names_.push_back(c);
  } catch (const Error& e) {
    source_ = ItemSource::shapes;
    note_ = std::string("Fashion-MNIST not available (") + e.what() + "); using procedural shapes";
    for (const char* c : kShapeClasses) names_.push_back(c);
  }
}

namespace {

// Rejection sampling: each item gets up to max_tries (size, position) draws; a draw is kept when,
// with it on top, every item keeps >= min_visible of its pixels and all pairwise visible-box IoUs
// stay <= max_iou. Items that never fit are dropped (the first always fits). draw_item(g, label)
// returns an item's 28x28 alpha in [0, 1] and sets its label.
template <class DrawItem>
std::vector<Placed> place_items(const SceneConfig& c, Generator& g, DrawItem draw_item, std::vector<float>& T) {
  const int64_t H = c.height, W = c.width;
  const int n_want = static_cast<int>(g.randint(c.min_items, c.max_items + 1));
  std::vector<Placed> placed;
  for (int k = 0; k < n_want; ++k) {
    int label;
    const std::vector<float> item = draw_item(g, label);
    std::array<float, 3> colour;
    const double bright = uniform(g, 190, 255);
    for (float& ch : colour) ch = static_cast<float>(std::min(255.0, bright * (1 + c.tint * uniform(g, -0.5, 0.5))));
    for (int attempt = 0; attempt < c.max_tries; ++attempt) {
      Placed p;
      p.s = static_cast<int>(g.randint(c.min_size, c.max_size + 1));
      p.x0 = static_cast<int>(g.randint(0, W - p.s + 1));
      p.y0 = static_cast<int>(g.randint(0, H - p.s + 1));
      p.alpha = resize_bilinear(item.data(), kItem, kItem, p.s, p.s);
      p.own = 0;
      for (float& a : p.alpha) {
        a = std::clamp(a, 0.f, 1.f);
        p.own += a > c.alpha_threshold;
      }
      if (p.own == 0) continue;
      p.colour = colour;
      p.label = label;
      placed.push_back(std::move(p));
      const std::vector<Visible> vis = visible_extents(placed, H, W, c.alpha_threshold, T);
      bool ok = true;
      for (size_t a = 0; a < placed.size() && ok; ++a) {
        ok = vis[a].count > 0 && vis[a].count >= c.min_visible * placed[a].own;
        for (size_t b = 0; b < a && ok; ++b) ok = box_iou(vis[a], vis[b]) <= c.max_iou;
      }
      if (ok) break;
      placed.pop_back();
    }
  }
  return placed;
}

// Paste in order: out = a * colour + (1 - a) * out. img is [3, H, W].
void paste(const std::vector<Placed>& placed, std::vector<float>& img, int64_t H, int64_t W) {
  for (const Placed& p : placed)
    for (int r = 0; r < p.s; ++r)
      for (int q = 0; q < p.s; ++q) {
        const float a = p.alpha[r * p.s + q];
        for (int ch = 0; ch < 3; ++ch) {
          float& o = img[(ch * H + p.y0 + r) * W + p.x0 + q];
          o = a * p.colour[ch] + (1 - a) * o;
        }
      }
}

// [3, H, W] floats -> u8 [H, W, 3], rounded and clamped.
Tensor to_u8_image(const std::vector<float>& img, int64_t H, int64_t W) {
  Tensor t = Tensor::empty({H, W, 3}, DType::u8);
  uint8_t* out = t.data<uint8_t>();
  for (int64_t y = 0; y < H; ++y)
    for (int64_t x = 0; x < W; ++x)
      for (int ch = 0; ch < 3; ++ch)
        out[(y * W + x) * 3 + ch] = static_cast<uint8_t>(std::clamp(std::lround(img[(ch * H + y) * W + x]), 0L, 255L));
  return t;
}

}  // namespace

Scene FashionScenes::get(int64_t i, bool with_masks) const {
  check(i >= 0, "fashion_scenes: scene index must be >= 0, got ", i);
  const SceneConfig& c = cfg_;
  const int64_t H = c.height, W = c.width;
  Generator g(scene_seed(seed_, split_, i));
  std::vector<float> img = background(c, g);
  auto draw_item = [&](Generator& gen, int& label) {
    if (source_ != ItemSource::fashion_mnist) {
      label = static_cast<int>(gen.randint(0, 10));
      return draw_shape(label, gen);
    }
    const int64_t idx = gen.randint(0, static_cast<int64_t>(item_labels_->size()));
    const uint8_t* px = items_->data() + idx * kItem * kItem;
    std::vector<float> item(kItem * kItem);
    for (int p = 0; p < kItem * kItem; ++p) item[p] = px[p] / 255.f;
    label = (*item_labels_)[idx];
    return item;
  };
  std::vector<float> T;
  const std::vector<Placed> placed = place_items(c, g, draw_item, T);
  paste(placed, img, H, W);

  Scene s;
  s.image = to_u8_image(img, H, W);
  const int64_t n = static_cast<int64_t>(placed.size());
  if (with_masks) {
    s.masks = Tensor::empty({n, H, W}, DType::u8);
    std::fill_n(s.masks.data<uint8_t>(), n * H * W, uint8_t{0});
  }
  const std::vector<Visible> vis = visible_extents(placed, H, W, c.alpha_threshold, T, with_masks ? &s.masks : nullptr);
  for (int64_t k = 0; k < n; ++k) {
    s.boxes.push_back({float(vis[k].x1), float(vis[k].y1), float(vis[k].x2 + 1), float(vis[k].y2 + 1)});
    s.labels.push_back(placed[k].label);
  }
  return s;
}

// ---------------------------------------------------------------------------------------------------
std::string scene_file_name(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "images/%06lld.png", static_cast<long long>(i));
  return buf;
}

std::vector<eval::CocoCategory> coco_categories(const FashionScenes& ds) {
  std::vector<eval::CocoCategory> cats;
  for (size_t k = 0; k < ds.class_names().size(); ++k) cats.push_back({int64_t(k) + 1, ds.class_names()[k]});
  return cats;
}

void add_scene_to_coco(eval::CocoDataset& d, int64_t i, const Scene& scene) {
  eval::CocoImage im;
  im.id = i + 1;
  im.file_name = scene_file_name(i);
  im.height = scene.image.shape()[0];
  im.width = scene.image.shape()[1];
  d.images.push_back(im);
  for (size_t k = 0; k < scene.boxes.size(); ++k) {
    const auto& b = scene.boxes[k];
    eval::CocoAnnotation a;
    a.id = d.annotations.empty() ? 1 : d.annotations.back().id + 1;
    a.image_id = im.id;
    a.category_id = scene.labels[k] + 1;
    a.bbox = {b[0], b[1], double(b[2]) - b[0], double(b[3]) - b[1]};
    a.area = a.bbox[2] * a.bbox[3];
    d.annotations.push_back(a);
  }
}

eval::CocoDataset export_scenes(const FashionScenes& ds, const std::string& dir, int64_t n,
                                const SceneWriter& save_image, const std::function<void(int64_t, int64_t)>& progress) {
  check(n >= 0, "fashion_scenes export: n must be >= 0, got ", n);
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(fs::path(dir) / "images", ec);
  check(!ec, "fashion_scenes export: cannot create ", (fs::path(dir) / "images").string(), ": ", ec.message());
  eval::CocoDataset d;
  d.categories = coco_categories(ds);
  // Blocks of scenes are generated and saved in parallel (each scene depends only on its index), then
  // appended to the COCO records in index order, so the JSON is the same for any thread count.
  constexpr int64_t kBlock = 32;
  for (int64_t start = 0; start < n; start += kBlock) {
    const int64_t m = std::min(kBlock, n - start);
    std::vector<Scene> scenes(static_cast<size_t>(m));
    std::vector<std::string> errors(static_cast<size_t>(m));
#pragma omp parallel for schedule(dynamic)
    for (int64_t j = 0; j < m; ++j) {
      try {
        scenes[j] = ds.get(start + j);
        if (save_image) save_image((fs::path(dir) / scene_file_name(start + j)).string(), scenes[j]);
      } catch (const std::exception& e) {
        errors[j] = e.what();
      }
    }
    for (int64_t j = 0; j < m; ++j) {
      check(errors[j].empty(), "fashion_scenes export: scene ", start + j, ": ", errors[j]);
      add_scene_to_coco(d, start + j, scenes[j]);
      if (progress) progress(start + j + 1, n);
    }
  }
  eval::write_coco_gt((fs::path(dir) / "instances.json").string(), d);
  return d;
}

}  // namespace dg::data
