// The CenterNet tutorial as a program (docs/tutorials/centernet.md): one fashion-scenes validation scene
// followed from its boxes to the targets, through the network's three heads and the loss, to decoded
// boxes. Every stage prints a trace and most write a numbered picture:
//
//   build-dir/example_centernet_walkthrough [--index I] [--model RUN_DIR|model.safetensors] [--out DIR]
//
//   01_scene.png                the scene, enlarged 4x, with its ground-truth boxes and class names
//   02_target_heatmap.png       the target heatmap (max over classes) over the scene, centre cells outlined
//   03_target_channels.png      one panel per class with objects: that channel of the target heatmap
//   without --model (a freshly initialised network: the prior):
//   04_untrained_channels.png   the same channels as the untrained network predicts them (all ~0.1)
//   with --model (a trained network):
//   04_heatmap.png              the predicted heatmap over the scene
//   05_predicted_channels.png   the same channels as 03, predicted
//   06_peaks.png                the 3x3 max-pool peak picking on the max over classes, top-10 numbered
//   07_size_offset_heads.png    the wh and offset heads, with the cells the loss reads outlined
//   08_detections.png           the decoded boxes (score >= 0.3, colours) and the ground truth (white)
//
// Default --out is <source>/docs/tutorials/images, --index 0 (a val scene with 4 items). Coordinates: input
// pixels (96x96 for the small preset), output cells at stride 4 (24x24); cell (x, y) covers input pixels
// [4x, 4x+4) x [4y, 4y+4). Nothing is trained here: with --model the weights come from `detgrad train`.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/graph.h"
#include "autograd/io/image.h"
#include "autograd/ops.h"
#include "autograd/ops/pool.h"
#include "detectors/centernet/decode.h"
#include "detectors/centernet/detector.h"
#include "detectors/centernet/loss.h"
#include "detectors/centernet/targets.h"
#include "detectors/data/augment.h"
#include "detectors/data/fashion_scenes.h"
#include "detectors/draw.h"
#include "detectors/focal_loss.h"
#include "detectors/iou.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/task/task.h"
#include "detectors/visualize.h"

using namespace dg;
namespace fs = std::filesystem;

namespace {

constexpr int kScale = 4;      // scene pictures: 96 px -> 384 px, so the 5x7 font is readable
constexpr int kPanelCell = 8;  // pixels per output cell in the per-class panels (24 cells -> 192 px)
constexpr int kPeakCell = 16;  // pixels per output cell in the peak picture (24 cells -> 384 px)

struct Args {
  int64_t index = 0;  // val scene 0 of the small preset: 4 items, two of them dresses
  std::string model;  // "" -> a freshly initialised network
  std::string out = (fs::path(__FILE__).parent_path().parent_path() / "docs" / "tutorials" / "images").string();
  std::string preset = "small";
  uint64_t seed = 0;  // dataset seed (and the fresh network's initialisation)
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      check(i + 1 < argc, "centernet_walkthrough: ", k, " needs a value");
      return argv[++i];
    };
    if (k == "--index") a.index = std::stoll(value());
    else if (k == "--model") a.model = value();
    else if (k == "--out") a.out = value();
    else if (k == "--preset") a.preset = value();
    else if (k == "--seed") a.seed = std::stoull(value());
    else fail("centernet_walkthrough: unknown option '", k, "' (--index, --model, --out, --preset, --seed)");
  }
  return a;
}

void save(const Args& a, const std::string& name, const Tensor& image) {
  const std::string path = (fs::path(a.out) / name).string();
  io::save_png(path, image);
  std::printf("  -> %s\n", path.c_str());
}

void heading(const char* title) { std::printf("\n== %s ==\n", title); }

// The network stages are "d." with a trained model and "e." (the prior) with a fresh one.
void network_heading(bool trained, const char* title) {
  std::printf("\n== %s %s%s ==\n", trained ? "d." : "e.", title, trained ? "" : " (untrained network)");
}

// ---- small picture helpers ---------------------------------------------------------------------------

// A [h, w] map drawn as coloured blocks of px x px pixels, value lo -> blue ... hi -> red.
Tensor cell_panel(const Tensor& map, int px, double lo, double hi) {
  const int64_t h = map.size(0), w = map.size(1);
  Tensor img = Tensor::empty({h * px, w * px, 3}, DType::u8);
  const std::vector<double> v = map.to_vector();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x) {
      const double t = hi > lo ? (v[(size_t)(y * w + x)] - lo) / (hi - lo) : 0.0;
      fill_rect(img, x * px, y * px, (x + 1) * px, (y + 1) * px, heat_color(std::clamp(t, 0.0, 1.0)));
    }
  return img;
}

void outline_cell(Tensor& img, int64_t x, int64_t y, int px, Rgb color) {
  draw_box(img, double(x * px), double(y * px), double((x + 1) * px), double((y + 1) * px), color, 1);
}

// Channel c of a [C, h, w] tensor as [h, w].
Tensor channel(const Tensor& chw, int64_t c) { return squeeze(narrow(chw, 0, c, 1), 0).to(DType::f32); }

// The classes that have at least one ground-truth object, in label order.
std::vector<int64_t> classes_present(const data::Scene& s) {
  std::vector<int64_t> cls(s.labels.begin(), s.labels.end());
  std::sort(cls.begin(), cls.end());
  cls.erase(std::unique(cls.begin(), cls.end()), cls.end());
  return cls;
}

// One panel per class present: channel c of `maps` [C, h, w] on a 0..1 scale, named, with the centre
// cells of that class's objects outlined in white.
Tensor class_panels(const Tensor& maps, const data::Scene& s, const std::vector<std::string>& names,
                    const std::vector<int64_t>& centre_x, const std::vector<int64_t>& centre_y,
                    const std::string& what) {
  std::vector<Tensor> panels;
  for (int64_t c : classes_present(s)) {
    Tensor ch = channel(maps, c);
    Tensor p = cell_panel(ch, kPanelCell, 0.0, 1.0);
    for (size_t k = 0; k < s.labels.size(); ++k)
      if (s.labels[k] == c) outline_cell(p, centre_x[k], centre_y[k], kPanelCell, {255, 255, 255});
    char label[96];
    std::snprintf(label, sizeof label, "%s %lld %s max %.2f", what.c_str(), (long long)c, names[(size_t)c].c_str(),
                  amax(ch).item());
    draw_label(p, 0, 0, label, {0, 0, 0});
    panels.push_back(p);
  }
  return tile_images(panels, (int64_t)panels.size(), 4);
}

// ---- a. the scene ------------------------------------------------------------------------------------

void show_scene(const Args& a, const data::Scene& s, const std::vector<std::string>& names) {
  heading("a. the scene");
  std::printf("%lld x %lld pixels, %zu objects (boxes x1 y1 x2 y2 in pixels, x2/y2 exclusive):\n",
              (long long)s.image.size(1), (long long)s.image.size(0), s.boxes.size());
  Tensor pic = det::enlarge(s.image, kScale);
  for (size_t k = 0; k < s.boxes.size(); ++k) {
    const auto& b = s.boxes[k];
    const int64_t c = s.labels[k];
    std::printf("  object %zu  %-12s (class %lld)  box %5.1f %5.1f %5.1f %5.1f  (%g x %g px)\n", k,
                names[(size_t)c].c_str(), (long long)c, b[0], b[1], b[2], b[3], b[2] - b[0], b[3] - b[1]);
    draw_box(pic, b[0] * kScale, b[1] * kScale, b[2] * kScale, b[3] * kScale, class_color(c), 2);
    draw_label(pic, b[0] * kScale, b[1] * kScale, names[(size_t)c], class_color(c));
  }
  save(a, "01_scene.png", pic);
}

// ---- b. from a box to its Gaussian -------------------------------------------------------------------

struct Targets {
  CenterNetTargets t;
  CenterNetTargetOptions opt;
  std::vector<int64_t> cx, cy;  // centre cell of each object
};

Targets show_gaussians(const Args& a, const data::Scene& s, const std::vector<std::string>& names, int64_t num_classes,
                       int64_t out_h, int64_t out_w, double stride) {
  heading("b. from a box to its Gaussian");
  Targets r;
  r.opt.num_classes = num_classes;
  r.opt.out_h = out_h, r.opt.out_w = out_w, r.opt.stride = stride;
  r.opt.max_objs = 32;  // as the trainer (TrainOptions::max_objs)
  std::printf("output map %lld x %lld cells, stride %g; min_overlap %.1f (CornerNet's IoU condition)\n",
              (long long)out_w, (long long)out_h, stride, r.opt.min_overlap);
  std::printf(
      "radius r = max(0, int(gaussian_radius(ceil(h), ceil(w)))); the CenterNet code's formula is used,\n"
      "the corrected one is printed for comparison (docs/detection/heatmaps.md)\n");
  std::vector<int64_t> radius;
  std::printf("  obj  w x h (cells)    code r   int | corrected r  int   centre (cells)   cell     offset\n");
  for (size_t k = 0; k < s.boxes.size(); ++k) {
    const auto& b = s.boxes[k];
    // As centernet_targets: divide by the stride, clip to the map, centre = middle of the clipped box.
    const double x1 = std::clamp(b[0] / stride, 0.0, double(out_w - 1)),
                 x2 = std::clamp(b[2] / stride, 0.0, double(out_w - 1));
    const double y1 = std::clamp(b[1] / stride, 0.0, double(out_h - 1)),
                 y2 = std::clamp(b[3] / stride, 0.0, double(out_h - 1));
    const double w = x2 - x1, h = y2 - y1, cx = (x1 + x2) / 2, cy = (y1 + y2) / 2;
    const double r_code = gaussian_radius(std::ceil(h), std::ceil(w), r.opt.min_overlap, true);
    const double r_fixed = gaussian_radius(std::ceil(h), std::ceil(w), r.opt.min_overlap, false);
    radius.push_back(std::max<int64_t>(0, (int64_t)r_code));  // the one centernet_targets uses
    r.cx.push_back((int64_t)std::floor(cx));
    r.cy.push_back((int64_t)std::floor(cy));
    std::printf("  %3zu  %5.2f x %5.2f   %7.3f  %4lld | %9.3f  %4lld   (%5.2f, %5.2f)   (%2lld,%2lld)   (%.2f, %.2f)\n",
                k, w, h, r_code, (long long)radius.back(), r_fixed, (long long)std::max(0.0, std::trunc(r_fixed)), cx,
                cy, (long long)r.cx.back(), (long long)r.cy.back(), cx - std::floor(cx), cy - std::floor(cy));
  }
  // The kernel of the first object, as numbers: a peak of exactly 1 (a positive for the focal loss),
  // falling off with sigma = (2r+1)/6 -- the negatives near the centre are penalised less.
  const int64_t r0 = radius[0];
  Tensor g = gaussian_kernel(r0);
  std::printf("gaussian_kernel(%lld) of object 0 (sigma = %.3f), splatted at its centre cell with max():\n",
              (long long)r0, double(2 * r0 + 1) / 6);
  for (int64_t y = 0; y < g.size(0); ++y) {
    std::printf("   ");
    for (int64_t x = 0; x < g.size(1); ++x) std::printf(" %5.3f", g.at(y * g.size(1) + x));
    std::printf("\n");
  }

  // The real target builder (the numbers above only explain it).
  std::vector<double> bv, lv;
  for (size_t k = 0; k < s.boxes.size(); ++k) {
    bv.insert(bv.end(), s.boxes[k].begin(), s.boxes[k].end());
    lv.push_back(s.labels[k]);
  }
  const int64_t n = (int64_t)s.boxes.size();
  r.t = centernet_targets(from_vector(bv, {n, 4}, DType::f32), from_vector(lv, {n}, DType::i64), r.opt);
  for (int64_t k = 0; k < std::min(n, r.opt.max_objs); ++k)
    check(r.t.mask.at(k) == 0 || (int64_t)r.t.indices.at(k) == r.cy[(size_t)k] * out_w + r.cx[(size_t)k],
          "centernet_walkthrough: the centre cell of object ", k, " disagrees with centernet_targets");

  const Tensor& hm = r.t.heatmap;
  int64_t ones = 0, nonzero = 0;
  for (double v : hm.to_vector()) ones += v == 1.0, nonzero += v > 0;
  std::printf(
      "target heatmap [%lld, %lld, %lld]: %lld cells exactly 1 (the positives), %lld more > 0 (the\n"
      "Gaussian skirts: negatives with a reduced penalty), %lld cells 0\n",
      (long long)hm.size(0), (long long)hm.size(1), (long long)hm.size(2), (long long)ones, (long long)(nonzero - ones),
      (long long)(hm.numel() - nonzero));

  Tensor pic = det::enlarge(s.image, kScale);
  overlay_heatmap(pic, det::max_over_classes(hm), 0.7);
  for (size_t k = 0; k < s.boxes.size(); ++k) {
    const auto& b = s.boxes[k];
    draw_box(pic, b[0] * kScale, b[1] * kScale, b[2] * kScale, b[3] * kScale, {255, 255, 255}, 1);
    outline_cell(pic, r.cx[k], r.cy[k], int(stride) * kScale, {255, 255, 255});
  }
  save(a, "02_target_heatmap.png", pic);
  save(a, "03_target_channels.png", class_panels(hm, s, names, r.cx, r.cy, "target"));
  return r;
}

// ---- c. the regression targets -----------------------------------------------------------------------

void print_target_table(const Targets& r, const data::Scene& s) {
  heading("c. the wh / offset / index / mask targets");
  std::printf("one slot per object (max_objs = %lld slots, the rest are mask 0); index = y * %lld + x\n",
              (long long)r.opt.max_objs, (long long)r.opt.out_w);
  std::printf("  slot  class   wh (cells)        offset         index  (x, y)    mask\n");
  const int64_t shown = std::min<int64_t>(r.opt.max_objs, (int64_t)s.boxes.size() + 1);
  for (int64_t k = 0; k < shown; ++k) {
    const int64_t idx = (int64_t)r.t.indices.at(k);
    std::printf("  %4lld  %5s   (%6.3f, %6.3f)  (%5.3f, %5.3f)  %5lld  (%2lld,%2lld)   %d\n", (long long)k,
                k < (int64_t)s.labels.size() ? std::to_string(s.labels[(size_t)k]).c_str() : "-", r.t.wh.at(2 * k),
                r.t.wh.at(2 * k + 1), r.t.offset.at(2 * k), r.t.offset.at(2 * k + 1), (long long)idx,
                (long long)(idx % r.opt.out_w), (long long)(idx / r.opt.out_w), (int)r.t.mask.at(k));
  }
  if (shown < r.opt.max_objs)
    std::printf("  ...   (slots %lld..%lld: all 0)\n", (long long)shown, (long long)r.opt.max_objs - 1);
}

// ---- d/e. the network --------------------------------------------------------------------------------

struct Network {
  std::shared_ptr<centernet::CenterNet> net;
  det::ModelInfo info;
  bool trained = false;
};

Network make_network(const Args& a, const data::FashionScenes& ds) {
  Network n;
  if (!a.model.empty()) {
    det::LoadedModel m = det::load_model(a.model);
    n.net = std::dynamic_pointer_cast<centernet::CenterNet>(m.net);
    check(n.net != nullptr, a.model, ": a ", m.info.kind, " model, not a CenterNet");
    n.info = m.info, n.trained = true;
    std::printf("trained network from %s (input %lldx%lld)\n", m.path.c_str(), (long long)n.info.input_width,
                (long long)n.info.input_height);
    return n;
  }
  // The configuration `detgrad train centernet` / `detgrad demo` use, initialised but not trained.
  const centernet::CenterNetConfig config = centernet::CenterNetConfig::cpu((int64_t)ds.class_names().size());
  n.info.kind = "centernet";
  n.info.config = config.to_json();
  n.info.class_names = ds.class_names();
  n.info.input_height = ds.config().height, n.info.input_width = ds.config().width;
  Generator gen(a.seed);
  n.net = std::make_shared<centernet::CenterNetDetector>(config, gen);
  // Training mode, as at the first training step (BatchNorm normalises with the batch's statistics).
  n.net->train();
  std::printf("NO --model: a freshly initialised network (seed %llu), not trained -- this shows the prior\n",
              (unsigned long long)a.seed);
  return n;
}

// The network input: the scene letterboxed to the model's input size exactly as `detgrad eval` does
// (an identity map when the sizes agree), then normalised with the model's mean / std.
struct Input {
  Tensor x;           // [1, 3, H, W]
  data::Augmented a;  // the letterboxed scene (boxes in input pixels)
};

Input prepare_input(const data::Scene& s, const det::ModelInfo& info) {
  const data::LoaderConfig lc = det::eval_loader_config(info, 1, 0);
  Generator unused(0);
  Input in;
  in.a = data::augment(s, lc.augment_config, unused);
  Tensor x = io::image_to_chw_float(in.a.scene.image);
  Tensor mean = from_vector({info.mean[0], info.mean[1], info.mean[2]}, {3, 1, 1});
  Tensor stdv = from_vector({info.std[0], info.std[1], info.std[2]}, {3, 1, 1});
  in.x = unsqueeze(div(sub(x, mean), stdv), 0);
  return in;
}

void show_loss(const centernet::CenterNetOutput& o, const Targets& r, bool trained) {
  network_heading(trained, "the loss of this one image");
  const centernet::CenterNetBatchTargets bt = centernet::stack_targets({r.t});
  const centernet::CenterNetLoss l = centernet::centernet_loss(o.heatmap, o.wh, o.offset, bt);
  std::printf("focal %.4f   wh L1 %.4f (x 0.1)   offset L1 %.4f (x 1)   total %.4f\n", l.heatmap.item(), l.wh.item(),
              l.offset.item(), l.total.item());
  if (trained) return;
  // Why the prior: the same logits with the last bias at 0 instead of -2.19 (every p near 0.5).
  const double bias = -std::log((1 - 0.1) / 0.1);
  const Tensor even = add(o.heatmap, -bias);
  const double focal_even = centernet_focal_loss(even, bt.heatmap.to(even.dtype())).item();
  const double npos = sum(eq(bt.heatmap, scalar_tensor(1.0, bt.heatmap.dtype())).to(DType::f64)).item();
  std::printf("the same network with the heatmap's last bias 0 instead of %.3f: focal %.2f\n", bias, focal_even);
  std::printf(
      "(%g positives against %lld negatives; each negative costs (1-y)^4 p^2 (-log(1-p)):\n"
      " p = 0.1 -> %.5f, p = 0.5 -> %.4f per cell, summed and divided by the %g positives)\n",
      npos, (long long)(bt.heatmap.numel() - (int64_t)npos), 0.01 * -std::log(0.9), 0.25 * -std::log(0.5), npos);
}

void show_heatmap(const Args& a, const Network& n, const centernet::CenterNetOutput& o, const Input& in,
                  const Targets& r) {
  const Tensor probs = squeeze(sigmoid(o.heatmap), 0);  // [C, h, w]
  const std::vector<double> pv = probs.to_vector();
  const double lo = *std::min_element(pv.begin(), pv.end()), hi = *std::max_element(pv.begin(), pv.end());
  double mean = 0;
  for (double v : pv) mean += v;
  mean /= (double)pv.size();
  network_heading(n.trained, "the heads: the heatmap");
  std::printf("heatmap logits [%lld, %lld, %lld, %lld], wh and offset [1, 2, %lld, %lld]\n",
              (long long)o.heatmap.size(0), (long long)o.heatmap.size(1), (long long)o.heatmap.size(2),
              (long long)o.heatmap.size(3), (long long)o.wh.size(2), (long long)o.wh.size(3));
  std::printf("p = sigmoid(logits): min %.4f  mean %.4f  max %.4f\n", lo, mean, hi);
  if (!n.trained) {
    std::printf(
        "every p is near sigmoid(-2.19) = %.4f: the heatmap's last bias is -log((1-0.1)/0.1), so the\n"
        "untrained network starts by predicting 'probably background' everywhere (the prior 0.1)\n",
        1 / (1 + std::exp(2.19)));
    save(a, "04_untrained_channels.png", class_panels(probs, in.a.scene, n.info.class_names, r.cx, r.cy, "untrained"));
    return;
  }
  det::PictureOptions po;
  po.scale = kScale;
  po.heatmap = &probs;
  po.score_threshold = 2;  // no boxes yet: only the heatmap and the ground truth
  po.gt_boxes = in.a.scene.boxes;
  const centernet::Detections none{zeros({0, 4}), zeros({0}), zeros({0}, DType::i64)};
  save(a, "04_heatmap.png", det::detection_picture(in.a.scene.image, none, n.info.class_names, po));
  save(a, "05_predicted_channels.png", class_panels(probs, in.a.scene, n.info.class_names, r.cx, r.cy, "predicted"));
}

// Peak picking: a cell is a peak when it equals the maximum of its 3x3 neighbourhood (max_pool2d, stride
// 1, pad 1) -- CenterNet's replacement for NMS. Prints the 10 highest cells over all classes and
// whether each survives.
void show_peaks(const Args& a, const Network& n, const centernet::CenterNetOutput& o, const Targets& r) {
  network_heading(n.trained, "peak picking: 3x3 max-pool instead of NMS");
  const Tensor p = sigmoid(o.heatmap);  // [1, C, h, w]
  const Tensor pooled = max_pool2d(p, {3}, {1}, {1});
  const std::vector<double> pv = p.to_vector(), mv = pooled.to_vector();
  const int64_t C = p.size(1), h = p.size(2), w = p.size(3), hw = h * w;
  std::vector<int64_t> order(pv.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = (int64_t)i;
  std::sort(order.begin(), order.end(),
            [&](int64_t i, int64_t j) { return pv[i] > pv[j] || (pv[i] == pv[j] && i < j); });
  std::printf("the 10 highest cells over all %lld classes (of %lld):\n", (long long)C, (long long)pv.size());
  std::printf("  rank  class  %-12s cell (x, y)   score   3x3 max   peak?\n", "name");
  for (int64_t k = 0; k < 10; ++k) {
    const int64_t i = order[k], c = i / hw, cell = i % hw;
    std::printf("  %4lld  %5lld  %-12s (%2lld, %2lld)     %.4f  %.4f    %s\n", (long long)k + 1, (long long)c,
                n.info.class_names[(size_t)c].c_str(), (long long)(cell % w), (long long)(cell / w), pv[i], mv[i],
                pv[i] == mv[i] ? "yes" : "no (a neighbour is higher)");
  }
  int64_t peaks = 0, peaks30 = 0;
  for (size_t i = 0; i < pv.size(); ++i)
    if (pv[i] == mv[i]) ++peaks, peaks30 += pv[i] >= 0.3;
  std::printf("local maxima: %lld in all (any score), %lld with score >= 0.3; top-K (100) keeps the best 100\n",
              (long long)peaks, (long long)peaks30);
  for (size_t k = 0; k < order.size(); ++k) {
    const int64_t i = order[k], c = i / hw, cell = i % hw;
    if (pv[i] == mv[i]) continue;
    std::printf("the highest cell that is not a peak: rank %zu, class %lld %s, cell (%lld, %lld), score %.4f < %.4f\n",
                k + 1, (long long)c, n.info.class_names[(size_t)c].c_str(), (long long)(cell % w),
                (long long)(cell / w), pv[i], mv[i]);
    break;
  }
  // The neighbourhood of the best peak in its own channel: a blob of high values around the centre, of
  // which the max-pool keeps only the maximum (marked *): one detection per blob, without any IoU.
  const int64_t best = order[0], bc = best / hw, bx = (best % hw) % w, by = (best % hw) / w;
  std::printf("class %lld (%s) around rank 1 at (%lld, %lld); * = equal to its 3x3 max (kept)\n", (long long)bc,
              n.info.class_names[(size_t)bc].c_str(), (long long)bx, (long long)by);
  std::printf("        ");
  for (int64_t x = std::max<int64_t>(0, bx - 2); x <= std::min(w - 1, bx + 2); ++x)
    std::printf("   x=%2lld", (long long)x);
  std::printf("\n");
  for (int64_t y = std::max<int64_t>(0, by - 2); y <= std::min(h - 1, by + 2); ++y) {
    std::printf("   y=%2lld ", (long long)y);
    for (int64_t x = std::max<int64_t>(0, bx - 2); x <= std::min(w - 1, bx + 2); ++x) {
      const int64_t i = bc * hw + y * w + x;
      std::printf(" %.3f%c", pv[i], pv[i] == mv[i] ? '*' : ' ');
    }
    std::printf("\n");
  }
  if (!n.trained) return;

  // Picture: the max over classes at 16 px per cell; peaks >= 0.1 get a white frame, the top 10 their
  // rank (black frame: in the top 10 but not a peak, i.e. suppressed by a neighbour).
  Tensor m = det::max_over_classes(squeeze(p, 0));
  Tensor pic = cell_panel(m, kPeakCell, 0.0, 1.0);
  const std::vector<double> mm = m.to_vector();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t cell = 0; cell < hw; ++cell) {
      const int64_t i = c * hw + cell;
      if (pv[i] == mv[i] && pv[i] >= 0.1 && pv[i] == mm[cell])
        outline_cell(pic, cell % w, cell / w, kPeakCell, {255, 255, 255});
    }
  std::vector<bool> numbered((size_t)hw, false);  // one number per cell: the best rank there
  for (int64_t k = 0; k < 10; ++k) {
    const int64_t i = order[k], cell = i % hw, x = cell % w, y = cell / w;
    if (pv[i] != mv[i]) outline_cell(pic, x, y, kPeakCell, {0, 0, 0});
    if (!numbered[(size_t)cell])
      draw_text(pic, x * kPeakCell + 2, y * kPeakCell + 4, std::to_string(k + 1), {255, 255, 255});
    numbered[(size_t)cell] = true;
  }
  for (size_t k = 0; k < r.cx.size(); ++k)  // the true centre cells, as small white dots
    fill_rect(pic, r.cx[k] * kPeakCell + 12, r.cy[k] * kPeakCell + 12, r.cx[k] * kPeakCell + 15,
              r.cy[k] * kPeakCell + 15, {255, 255, 255});
  save(a, "06_peaks.png", pic);
}

// The wh and offset heads are trained only at the centre cells (the L1 loss gathers them there), so
// only those values mean anything; the picture shows the whole maps with those cells outlined.
void show_regression_heads(const Args& a, const centernet::CenterNetOutput& o, const Targets& r) {
  network_heading(true, "the heads: size and offset, at the centre cells");
  const Tensor wh = squeeze(o.wh, 0), off = squeeze(o.offset, 0);  // [2, h, w]
  const int64_t hw = wh.size(1) * wh.size(2);
  std::printf("  obj  cell      wh predicted      wh target         offset predicted  offset target\n");
  for (size_t k = 0; k < r.cx.size(); ++k) {
    const int64_t i = (int64_t)r.t.indices.at((int64_t)k);  // what the L1 loss gathers
    std::printf("  %3zu  (%2lld,%2lld)  (%5.2f, %5.2f)    (%5.2f, %5.2f)    (%5.2f, %5.2f)    (%5.2f, %5.2f)\n", k,
                (long long)r.cx[k], (long long)r.cy[k], wh.at(i), wh.at(hw + i), r.t.wh.at(2 * (int64_t)k),
                r.t.wh.at(2 * (int64_t)k + 1), off.at(i), off.at(hw + i), r.t.offset.at(2 * (int64_t)k),
                r.t.offset.at(2 * (int64_t)k + 1));
  }
  struct Map {
    Tensor t;
    const char* name;
    double lo, hi;
  };
  const Map maps[] = {{channel(wh, 0), "w (cells) 0..12", 0, 12},
                      {channel(wh, 1), "h (cells) 0..12", 0, 12},
                      {channel(off, 0), "offset x 0..1", 0, 1},
                      {channel(off, 1), "offset y 0..1", 0, 1}};
  std::vector<Tensor> panels;
  for (const Map& m : maps) {
    Tensor p = cell_panel(m.t, kPanelCell, m.lo, m.hi);
    for (size_t k = 0; k < r.cx.size(); ++k) outline_cell(p, r.cx[k], r.cy[k], kPanelCell, {255, 255, 255});
    draw_label(p, 0, 0, m.name, {0, 0, 0});
    panels.push_back(p);
  }
  save(a, "07_size_offset_heads.png", tile_images(panels, 4, 4));
}

// Decoding: at each kept peak (x, y) of class c, read offset and wh at the same cell,
// centre = (x + ox, y + oy), box = centre -+ wh / 2, everything times the stride. Done here by hand for
// the first few detections and checked against centernet_decode, which does it for all of them.
void show_decoding(const Args& a, const Network& n, const centernet::CenterNetOutput& o, const Input& in) {
  network_heading(n.trained, "decoding: peaks -> boxes");
  centernet::DecodeOptions opt;  // top-100, stride 4, no threshold, no NMS: what `detgrad eval` scores
  const centernet::Detections d = centernet::centernet_decode(o.heatmap, o.wh, o.offset, opt)[0];

  // The kept peaks in decoding order: score = p at a peak, 0 elsewhere; descending, ties by index.
  const Tensor p = sigmoid(o.heatmap);
  const std::vector<double> pv = p.to_vector(), mv = max_pool2d(p, {3}, {1}, {1}).to_vector();
  const std::vector<double> whv = o.wh.to_vector(), offv = o.offset.to_vector();
  const int64_t w = o.wh.size(3), hw = o.wh.size(2) * w;
  std::vector<int64_t> order(pv.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = (int64_t)i;
  auto score = [&](int64_t i) { return pv[(size_t)i] == mv[(size_t)i] ? pv[(size_t)i] : 0.0; };
  std::stable_sort(order.begin(), order.end(), [&](int64_t i, int64_t j) { return score(i) > score(j); });

  std::vector<double> gt;
  for (const auto& b : in.a.scene.boxes) gt.insert(gt.end(), b.begin(), b.end());
  const int64_t ngt = (int64_t)in.a.scene.boxes.size();
  const Tensor ious = box_iou(d.boxes.to(DType::f64), from_vector(gt, {ngt, 4}, DType::f64));  // [M, ngt]
  std::printf(
      "%lld detections (top-K). The first 8: the peak cell, the offset and wh read at that cell, and\n"
      "the box ((x + ox) -+ w/2, (y + oy) -+ h/2) x %g in input pixels; best IoU with a ground-truth box\n",
      (long long)d.scores.numel(), opt.stride);
  std::printf("  det  class %-12s score  cell      offset read     wh read (cells)   box x1 y1 x2 y2          IoU\n",
              "name");
  const int64_t show = std::min<int64_t>(8, d.scores.numel());
  for (int64_t k = 0; k < show; ++k) {
    const int64_t i = order[(size_t)k], c = i / hw, cell = i % hw, x = cell % w, y = cell / w;
    const double ox = offv[(size_t)cell], oy = offv[(size_t)(hw + cell)];
    const double bw = whv[(size_t)cell], bh = whv[(size_t)(hw + cell)];
    const double box[4] = {(x + ox - bw / 2) * opt.stride, (y + oy - bh / 2) * opt.stride,
                           (x + ox + bw / 2) * opt.stride, (y + oy + bh / 2) * opt.stride};
    for (int j = 0; j < 4; ++j)
      check(std::abs(box[j] - d.boxes.at(4 * k + j)) < 1e-3 && c == (int64_t)d.labels.at(k),
            "centernet_walkthrough: hand decoding of detection ", k, " disagrees with centernet_decode");
    double best_iou = 0;
    for (int64_t g = 0; g < ngt; ++g) best_iou = std::max(best_iou, ious.at(k * ngt + g));
    std::printf(
        "  %3lld  %5lld %-12s %.3f  (%2lld,%2lld)  (%5.2f, %5.2f)  (%5.2f, %5.2f)    %5.1f %5.1f %5.1f %5.1f   %.2f\n",
        (long long)k, (long long)c, n.info.class_names[(size_t)c].c_str(), score(i), (long long)x, (long long)y, ox, oy,
        bw, bh, box[0], box[1], box[2], box[3], best_iou);
  }
  if (!n.trained) {
    std::printf("(untrained: the peaks are noise around 0.1 and wh / offset whatever the random heads output)\n");
    return;
  }
  det::PictureOptions po;
  po.scale = kScale;
  po.score_threshold = 0.3;
  po.gt_boxes = in.a.scene.boxes;
  save(a, "08_detections.png", det::detection_picture(in.a.scene.image, d, n.info.class_names, po));
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse_args(argc, argv);
    check(a.index >= 0, "centernet_walkthrough: --index must be >= 0, got ", a.index);
    fs::create_directories(a.out);
    const data::FashionScenes ds(data::SceneConfig::preset(a.preset), data::Split::val, a.seed);
    if (ds.source() != data::ItemSource::fashion_mnist) std::printf("note: %s\n", ds.source_note().c_str());
    std::printf("fashion-scenes '%s', val split, seed %llu, scene %lld\n", a.preset.c_str(), (unsigned long long)a.seed,
                (long long)a.index);
    const data::Scene scene = ds.get(a.index);
    const std::vector<std::string>& names = ds.class_names();
    Network n = make_network(a, ds);  // first, so a wrong --model fails before any picture is written

    show_scene(a, scene, names);
    check(n.info.class_names.size() == names.size(), "centernet_walkthrough: the model has ", n.info.class_names.size(),
          " classes, fashion-scenes ", names.size());
    const Input in = prepare_input(scene, n.info);
    const int64_t stride = n.net->stride();
    const Targets r = show_gaussians(a, in.a.scene, names, (int64_t)names.size(), n.info.input_height / stride,
                                     n.info.input_width / stride, double(stride));
    print_target_table(r, in.a.scene);

    centernet::CenterNetOutput o;
    {
      NoGradGuard ng;  // nothing is trained here
      o = n.net->forward_heads(in.x);
    }
    show_heatmap(a, n, o, in, r);
    show_peaks(a, n, o, r);
    if (n.trained) show_regression_heads(a, o, r);
    show_decoding(a, n, o, in);
    show_loss(o, r, n.trained);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
