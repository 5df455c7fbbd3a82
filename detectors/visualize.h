// Pictures of what a detector sees and finds: an image with its detections drawn (box, class name,
// score), optionally a score map (e.g. CenterNet's heatmap (max over classes of sigmoid(logits)) blended over it, and the
// ground truth in white for comparison. Small images are enlarged first (nearest neighbour, an integer
// factor) so the 5x7 label font stays readable. Used by `detgrad detect`, `detgrad demo` and the
// tutorial.
#pragma once
#include <string>
#include <vector>

#include "autograd/tensor.h"
#include "detectors/data/augment.h"
#include "detectors/detections.h"

namespace dg::det {

// Nearest-neighbour enlargement of a u8 [H,W,3] image by an integer factor >= 1.
Tensor enlarge(const Tensor& image, int factor);

struct PictureOptions {
  double score_threshold = 0.3;                // detections drawn: score >= this
  int scale = 3;                               // enlargement factor
  const Tensor* heatmap = nullptr;             // [C, h, w] probabilities (after the sigmoid) or null
  std::vector<std::array<float, 4>> gt_boxes;  // drawn thin and white (image pixels), may be empty
};

// image u8 [H,W,3] in its own pixels; d in the same pixels (labels index class_names).
Tensor detection_picture(const Tensor& image, const Detections& d, const std::vector<std::string>& class_names,
                         const PictureOptions& opt = {});

// Max over classes of a [C, h, w] probability map -> [h, w].
Tensor max_over_classes(const Tensor& probs);

// ---- the explain pictures (`detgrad detect --explain`, Detector::explain_targets) ----
// The letterboxed network input enlarged kExplainScale times with its ground truth drawn in class
// colours and numbered, a caption bar, and the scene's boxes and labels as tensors.
constexpr int kExplainScale = 4;  // input pixels -> picture pixels

// u8 [kExplainScale H, kExplainScale W, 3]: a.scene.image enlarged, every box drawn and labelled "#g name".
Tensor explain_base_picture(const data::Augmented& a, const std::vector<std::string>& class_names);
// A black bar with white text along the bottom of pic (in place).
void explain_caption(Tensor& pic, const std::string& text);
// The scene's boxes as f32 [G, 4] (x1, y1, x2, y2), and its labels as i64 [G].
Tensor scene_boxes(const data::Scene& s);
Tensor scene_labels(const data::Scene& s);

}  // namespace dg::det
