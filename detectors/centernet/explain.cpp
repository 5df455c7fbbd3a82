// CenterNetDetector's picture hooks: its heatmap as score maps, and its training targets (one
// Gaussian peak per object centre, in the object's class channel) drawn over one scene.
#include <sstream>

#include "autograd/graph.h"
#include "autograd/ops.h"
#include "detectors/centernet/detector.h"
#include "detectors/centernet/targets.h"
#include "detectors/visualize.h"

namespace dg::centernet {

Tensor CenterNetDetector::score_maps(const Tensor& images) {
  NoGradGuard no_grad;
  return sigmoid(forward_heads(images).heatmap);
}

det::TargetExplanation CenterNetDetector::explain_targets(const data::Augmented& a,
                                                          const std::vector<std::string>& names) {
  const int64_t h = a.scene.image.size(0), w = a.scene.image.size(1);
  CenterNetTargetOptions to;
  to.num_classes = cfg.num_classes;
  to.out_h = h / stride();
  to.out_w = w / stride();
  to.stride = (double)stride();
  to.max_objs = cfg.max_objs;
  const CenterNetTargets t = centernet_targets(det::scene_boxes(a.scene), det::scene_labels(a.scene), to);
  det::PictureOptions po;
  po.heatmap = &t.heatmap;
  po.score_threshold = 2;  // no detections: the target heatmap and the ground truth only
  po.scale = det::kExplainScale;
  po.gt_boxes = a.scene.boxes;
  Tensor pic = det::detection_picture(a.scene.image, det::empty_detections(), names, po);
  int64_t peaks = 0;
  for (double m : t.mask.to_vector()) peaks += m != 0;
  std::ostringstream cap, sum;
  cap << "stride " << stride() << ": " << peaks << " peaks";
  det::explain_caption(pic, cap.str());
  sum << "CenterNet targets (Gaussian radius as the original code, min overlap " << to.min_overlap << "): " << peaks
      << " peaks on the " << to.out_h << "x" << to.out_w << " heatmap";
  return {pic, sum.str()};
}

}  // namespace dg::centernet
