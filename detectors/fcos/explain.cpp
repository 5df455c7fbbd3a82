// FcosDetector::explain_targets: the FCOS positives of one scene, one panel per pyramid level.
#include <algorithm>
#include <sstream>

#include "detectors/draw.h"
#include "detectors/fcos/detector.h"
#include "detectors/fcos/targets.h"
#include "detectors/visualize.h"

namespace dg::fcos {

det::TargetExplanation FcosDetector::explain_targets(const data::Augmented& a, const std::vector<std::string>& names) {
  const int64_t h = a.scene.image.size(0), w = a.scene.image.size(1);
  const FcosAssignOptions ao = cfg.assign_options(h, w);
  FcosTargets t = fcos_targets(det::scene_boxes(a.scene), det::scene_labels(a.scene), ao);
  std::vector<int64_t> sizes;
  fcos_points(ao, DType::f32, &sizes);
  const std::vector<double> pts = t.points.to_vector(), matched = t.matched.to_vector();
  std::vector<Tensor> panels;
  std::ostringstream sum;
  sum << "FCOS positives (";
  if (ao.center_sampling) sum << "centre sampling r=" << ao.center_radius;
  else sum << "no centre sampling";
  sum << ", points at " << (ao.half_stride_offset ? "x*s + s/2" : "x*s") << "):";
  const int64_t k = det::kExplainScale;
  int64_t first = 0;
  const std::vector<int64_t> strides = cfg.strides(), levels = cfg.levels();
  for (size_t l = 0; l < sizes.size(); ++l) {
    Tensor pic = det::explain_base_picture(a, names);
    int64_t pos = 0;
    const int64_t r = std::max<int64_t>(1, strides[l] * k / 6);
    for (int64_t p = first; p < first + sizes[l]; ++p) {
      const double x = pts[(size_t)(2 * p)] * k, y = pts[(size_t)(2 * p + 1)] * k;
      const int64_t g = (int64_t)matched[(size_t)p];
      if (g >= 0) {  // a positive: filled in its box's class colour, white frame
        ++pos;
        fill_rect(pic, (int64_t)x - r, (int64_t)y - r, (int64_t)x + r + 1, (int64_t)y + r + 1,
                  class_color(a.scene.labels[(size_t)g]));
        draw_box(pic, (double)x - r - 1, (double)y - r - 1, (double)x + r + 2, (double)y + r + 2, {255, 255, 255}, 1);
      } else {  // background: a grey dot
        fill_rect(pic, (int64_t)x - 1, (int64_t)y - 1, (int64_t)x + 1, (int64_t)y + 1, {150, 150, 150});
      }
    }
    std::ostringstream cap;
    cap << "P" << levels[l] << " s" << strides[l] << ": " << pos << " pos";
    det::explain_caption(pic, cap.str());
    sum << " P" << levels[l] << " " << pos << "/" << sizes[l];
    panels.push_back(pic);
    first += sizes[l];
  }
  return {tile_images(panels, (int64_t)panels.size()), sum.str()};
}

}  // namespace dg::fcos
