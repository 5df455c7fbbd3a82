// `detgrad eval --gt GT.json --dt DETECTIONS.json [--json OUT.json] [--voc] [--use-07-metric]`
// COCO box mAP of a detection result file against a COCO ground-truth file, printed as pycocotools
// prints it (12 lines) plus a per-category AP table; --voc adds the PASCAL VOC AP. OUT.json gets the
// 12 numbers under their short names (AP, AP50, ..., ARl), "per_category" and, with --voc, "voc".
// See docs/detection/evaluation.md.
#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "detectors/eval/coco_eval.h"
#include "detectors/eval/voc_eval.h"
#include "tools/commands.h"

namespace dg::tools {

namespace {
struct EvalOptions {
  std::string gt, dt, json_out;
  bool voc = false, use_07 = false, voc_plus_one = false, use_ignore_flag = false, quiet_classes = false;
};

int run(const EvalOptions& o) {
  check(!o.gt.empty() && !o.dt.empty(), "eval: give both --gt GT.json and --dt DETECTIONS.json");
  eval::CocoDataset gt = eval::read_coco_gt(o.gt);
  std::vector<eval::CocoDetection> dets = eval::read_coco_detections(o.dt);
  eval::CocoEvalParams params;
  params.use_ignore_flag = o.use_ignore_flag;
  eval::CocoEvalResult r;
  try {
    r = eval::coco_evaluate(gt, dets, params);
  } catch (const Error& e) {
    fail(o.dt, " against ", o.gt, ": ", e.what());
  }

  std::printf("detgrad eval: %zu images, %zu categories, %zu gt annotations, %zu detections\n", r.image_ids.size(),
              r.category_ids.size(), gt.annotations.size(), dets.size());
  std::printf("%s", eval::coco_summary_text(r).c_str());

  nlohmann::json out;
  auto stats = r.stats.as_array();
  for (size_t i = 0; i < stats.size(); ++i) out[eval::CocoStats::names()[i]] = stats[i];

  std::map<int64_t, std::string> names;
  for (const auto& c : gt.categories) names[c.id] = c.name;
  nlohmann::json per_cat = nlohmann::json::array();
  if (!o.quiet_classes) std::printf("\nper category AP@[.50:.95] (-1: no gt)\n");
  for (int k = 0; k < r.K; ++k) {
    double ap = r.category_ap(k);
    int64_t id = r.category_ids[k];
    per_cat.push_back({{"category_id", id}, {"name", names[id]}, {"AP", ap}});
    if (!o.quiet_classes) std::printf("  %6lld %-24s %7.3f\n", (long long)id, names[id].c_str(), ap);
  }
  out["per_category"] = per_cat;

  if (o.voc) {
    eval::VocEvalOptions vo;
    vo.plus_one = o.voc_plus_one;
    vo.use_07_metric = o.use_07;
    eval::VocResult v = eval::voc_evaluate_coco(gt, dets, vo);
    const char* kind = o.use_07 ? "11-point (VOC2007)" : "all-points (VOC2010+)";
    std::printf("\nVOC AP@0.5, %s, IoU %s +1:\n", kind, o.voc_plus_one ? "with" : "without");
    nlohmann::json vc = nlohmann::json::array();
    for (const auto& c : v.classes) {
      std::printf("  %6lld %-24s %7.3f  (gts %lld, dets %lld)\n", (long long)c.class_id, names[c.class_id].c_str(), c.ap,
                  (long long)c.npos, (long long)c.ndet);
      vc.push_back({{"category_id", c.class_id}, {"name", names[c.class_id]}, {"AP", c.ap}, {"npos", c.npos}});
    }
    std::printf("  mAP = %.4f\n", v.mAP);
    out["voc"] = {{"mAP", v.mAP}, {"metric", o.use_07 ? "11point" : "allpoints"}, {"per_category", vc}};
  }
  if (!o.json_out.empty()) {
    eval::write_json_file(o.json_out, out, 2);
    std::printf("wrote %s\n", o.json_out.c_str());
  }
  return 0;
}
}  // namespace

std::function<int()> add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* c = app.add_subcommand("eval", "COCO mAP (as pycocotools) and VOC AP of a detection file (docs/detection/evaluation.md)");
  c->add_option("--gt", o->gt, "ground truth in COCO JSON (images, annotations, categories)");
  c->add_option("--dt", o->dt, "detections: JSON list of {image_id, category_id, bbox [x,y,w,h], score}");
  c->add_option("--json", o->json_out, "write the 12 numbers (AP, AP50, ..., ARl), per-category AP (and VOC) here");
  c->add_flag("--voc", o->voc, "also compute PASCAL VOC AP@0.5 per category and the mean");
  c->add_flag("--use-07-metric", o->use_07, "VOC: 11-point AP (VOC2007) instead of all points");
  c->add_flag("--voc-plus-one", o->voc_plus_one, "VOC: legacy inclusive-pixel boxes (x2 = x+w-1, widths +1)");
  c->add_flag("--use-ignore-flag", o->use_ignore_flag,
              "COCO: honour the gts' `ignore` field (pycocotools overwrites it with iscrowd; default off)");
  c->add_flag("--no-per-category", o->quiet_classes, "do not print the per-category table");
  return [o] { return run(*o); };
}

}  // namespace dg::tools
