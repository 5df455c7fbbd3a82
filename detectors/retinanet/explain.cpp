// RetinaNetDetector::explain_targets: the anchors matched to each box of one scene, one panel per level.
#include <algorithm>
#include <sstream>
#include <string>

#include "detectors/draw.h"
#include "detectors/retinanet/detector.h"
#include "detectors/visualize.h"

namespace dg::retinanet {

det::TargetExplanation RetinaNetDetector::explain_targets(const data::Augmented& a,
                                                          const std::vector<std::string>& names) {
  const int64_t h = a.scene.image.size(0), w = a.scene.image.size(1);
  const std::vector<AnchorMatch> m = matched_anchors(det::scene_boxes(a.scene), h, w);
  const double k = det::kExplainScale;
  std::vector<Tensor> panels;
  std::ostringstream sum;
  sum << "RetinaNet matched anchors (IoU >= " << cfg.fg_iou << (cfg.allow_low_quality ? ", plus each box's best" : "")
      << "):";
  for (int64_t level = cfg.first_level; level <= cfg.last_level; ++level) {
    Tensor pic = det::explain_base_picture(a, names);
    int64_t n = 0;
    for (const auto& x : m) {
      if (x.level != level) continue;
      ++n;
      draw_box(pic, x.box[0] * k, x.box[1] * k, x.box[2] * k, x.box[3] * k, class_color(a.scene.labels[(size_t)x.gt]),
               1);
    }
    std::ostringstream cap;
    cap << "P" << level << ": " << n << " anchors";
    det::explain_caption(pic, cap.str());
    sum << " P" << level << " " << n;
    panels.push_back(pic);
  }
  sum << "; per box:";
  for (size_t g = 0; g < a.scene.boxes.size(); ++g) {
    int64_t n = 0;
    double best = 0;
    for (const auto& x : m)
      if (x.gt == (int64_t)g) ++n, best = std::max(best, x.iou);
    sum << " #" << g << " " << n << " (best IoU " << std::to_string(best).substr(0, 4) << ")";
  }
  return {tile_images(panels, (int64_t)panels.size()), sum.str()};
}

}  // namespace dg::retinanet
