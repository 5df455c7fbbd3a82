#include "detectors/visualize.h"

#include <cstdio>

#include "autograd/error.h"
#include "autograd/ops.h"
#include "detectors/draw.h"

namespace dg::det {

Tensor enlarge(const Tensor& image, int factor) {
  check(image.dtype() == DType::u8 && image.dim() == 3 && image.size(2) == 3, "enlarge: expected u8 [H,W,3], got ",
        shape_text(image.shape()));
  check(factor >= 1, "enlarge: factor must be >= 1, got ", factor);
  const int64_t H = image.size(0), W = image.size(1);
  Tensor out = Tensor::empty({H * factor, W * factor, 3}, DType::u8);
  const uint8_t* s = image.data<uint8_t>();
  uint8_t* d = out.data<uint8_t>();
  for (int64_t y = 0; y < H * factor; ++y)
    for (int64_t x = 0; x < W * factor; ++x)
      for (int c = 0; c < 3; ++c) d[(y * W * factor + x) * 3 + c] = s[((y / factor) * W + x / factor) * 3 + c];
  return out;
}

Tensor max_over_classes(const Tensor& probs) {
  check(probs.dim() == 3, "max_over_classes: expected [C, h, w], got ", shape_text(probs.shape()));
  return amax(probs.to(DType::f32), {0});
}

Tensor detection_picture(const Tensor& image, const Detections& d, const std::vector<std::string>& class_names,
                         const PictureOptions& opt) {
  Tensor pic = enlarge(image, opt.scale);
  const double s = opt.scale;
  if (opt.heatmap) overlay_heatmap(pic, max_over_classes(*opt.heatmap), 0.6);
  for (const auto& g : opt.gt_boxes) draw_box(pic, g[0] * s, g[1] * s, g[2] * s, g[3] * s, {255, 255, 255}, 1);
  Tensor boxes = d.boxes.to(DType::f64), scores = d.scores.to(DType::f64);
  // The detections drawn (scores descending, as Detections keeps them): boxes weakest first so the
  // strongest end on top; labels placed strongest first so they get the best spots (place_labels).
  std::vector<int64_t> shown;
  for (int64_t k = 0; k < d.scores.numel(); ++k)
    if (scores.data<double>()[k] >= opt.score_threshold) shown.push_back(k);
  std::vector<std::array<double, 4>> rects;
  std::vector<std::string> texts;
  std::vector<std::pair<int64_t, int64_t>> sizes;
  for (int64_t k : shown) {
    const double* b = boxes.data<double>() + 4 * k;
    const int64_t label = d.labels.data<int64_t>()[k];
    const std::string name = label >= 0 && label < (int64_t)class_names.size() ? class_names[(size_t)label]
                                                                               : std::to_string(label);
    char sc[16];
    std::snprintf(sc, sizeof sc, " %.2f", scores.data<double>()[k]);
    rects.push_back({b[0] * s, b[1] * s, b[2] * s, b[3] * s});
    texts.push_back(name + sc);
    sizes.push_back(label_size(texts.back()));
  }
  for (size_t i = rects.size(); i-- > 0;)
    draw_box(pic, rects[i][0], rects[i][1], rects[i][2], rects[i][3], class_color(d.labels.data<int64_t>()[shown[i]]),
             2);
  const std::vector<LabelSpot> spots = place_labels(rects, sizes, pic.size(1), pic.size(0));
  for (size_t i = spots.size(); i-- > 0;)
    if (spots[i].placed)
      draw_label_at(pic, spots[i].x, spots[i].y, texts[i], class_color(d.labels.data<int64_t>()[shown[i]]));
  return pic;
}

Tensor explain_base_picture(const data::Augmented& a, const std::vector<std::string>& class_names) {
  Tensor pic = enlarge(a.scene.image, kExplainScale);
  for (size_t g = 0; g < a.scene.boxes.size(); ++g) {
    const auto& b = a.scene.boxes[g];
    const int64_t label = a.scene.labels[g];
    const double s = kExplainScale;
    draw_box(pic, b[0] * s, b[1] * s, b[2] * s, b[3] * s, class_color(label), 2);
    draw_label(pic, b[0] * s, b[1] * s, "#" + std::to_string(g) + " " + class_names[(size_t)label], class_color(label));
  }
  return pic;
}

void explain_caption(Tensor& pic, const std::string& text) {
  fill_rect(pic, 0, pic.size(0) - text_height(2) - 4, pic.size(1), pic.size(0), {0, 0, 0});
  draw_text(pic, 2, pic.size(0) - text_height(2) - 2, text, {255, 255, 255}, 2);
}

Tensor scene_boxes(const data::Scene& s) {
  std::vector<double> v;
  for (const auto& b : s.boxes) v.insert(v.end(), b.begin(), b.end());
  return from_vector(v, {(int64_t)s.boxes.size(), 4}, DType::f32);
}

Tensor scene_labels(const data::Scene& s) {
  std::vector<double> v(s.labels.begin(), s.labels.end());
  return from_vector(v, {(int64_t)s.labels.size()}, DType::i64);
}

}  // namespace dg::det
