// Two ways to call it:
// `detgrad eval --gt GT.json --dt DETECTIONS.json [--json OUT.json] [--voc] [--use-07-metric]`
//   COCO box mAP of a detection result file against a COCO ground-truth file, printed as pycocotools
//   prints it (12 lines) plus a per-category AP table; --voc adds the PASCAL VOC AP. OUT.json gets the
//   evaluation schema of detectors/task/detection_eval.h (eval_json: the 12 numbers, per_class_AP, ...)
//   and, with --voc, "voc".
//   See docs/detection/evaluation.md.
// `detgrad eval RUN_DIR|MODEL [--data fashion-scenes|DIR] [--preset P --val-size N --data-seed S]`
//   runs a trained detector (CenterNet, FCOS, RetinaNet) on a dataset (by default the validation data of the run, read from
//   RUN_DIR/config.json; else fashion-scenes' val split, small preset, 500 scenes) and evaluates
//   it: the same table and JSON, plus the class-agnostic AP@0.5 and --dt-out for the detections.
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "autograd/error.h"
#include "detectors/eval/coco_eval.h"
#include "detectors/eval/voc_eval.h"
#include "detectors/pipeline/model_file.h"
#include "detectors/pipeline/train.h"
#include "detectors/task/detection_eval.h"
#include "tools/commands.h"
#include "tools/paths.h"
#include "tools/progress.h"

namespace dg::tools {

namespace {
struct EvalOptions {
  std::string model;                                // run directory / model file / checkpoint
  std::string data, preset = "small", dt_out, nms;  // nms "": the detector's default
  double nms_iou = 0;
  int threads = 0;  // 0: OpenMP's default
  int64_t val_size = 500;
  uint64_t data_seed = 0;
  std::string gt, dt, json_out;
  bool voc = false, use_07 = false, voc_plus_one = false, use_ignore_flag = false, quiet_classes = false;
};

// The dataset a model is evaluated on: --data if given, else the run's validation data, else the
// fashion-scenes default.
data::Dataset model_dataset(const EvalOptions& o) {
  namespace fs = std::filesystem;
  data::DatasetSpec spec;
  const fs::path cfg = fs::path(o.model) / "config.json";
  if (o.data.empty() && fs::is_directory(o.model) && fs::exists(cfg)) {
    spec = det::TrainOptions::from_json(eval::read_json_file(cfg.string()), cfg.string()).val_data;
    check(spec.size > 0 || spec.source != "fashion-scenes", cfg.string(),
          ": the run has no validation data; give --data");
  } else {
    spec.source = o.data.empty() ? "fashion-scenes" : o.data;
    spec.preset = o.preset;
    spec.size = spec.source == "fashion-scenes" ? o.val_size : 0;
    spec.seed = o.data_seed;
  }
  return data::open_dataset(spec, data::Split::val);
}

// What one evaluation produced, whichever way it was run.
struct Evaluated {
  eval::CocoDataset gt;
  std::vector<eval::CocoDetection> dets;
  eval::CocoEvalResult r;
  double agnostic = -1, detect_ms = -1;  // model mode only
  nlohmann::json model_json;             // model mode: what was evaluated
};

// Model mode: the model's detections on its dataset, timed (Detector::detect per image: network,
// decoding and NMS).
Evaluated evaluate_model(const EvalOptions& o) {
  Evaluated e;
  auto& gt = e.gt;
  auto& dets = e.dets;
  auto& r = e.r;
  auto& agnostic = e.agnostic;
  auto& detect_ms = e.detect_ms;
  auto& model_json = e.model_json;
  check(o.gt.empty() && o.dt.empty(), "eval: give either a model (RUN_DIR or weights) or --gt/--dt, not both");
  if (o.threads > 0) omp_set_num_threads(o.threads);
  det::LoadedModel m = det::load_model(o.model);
  data::Dataset ds = model_dataset(o);
  std::printf("model %s (%s) on %s\n", m.path.c_str(), m.net->describe().c_str(), ds.description.c_str());
  if (!ds.note.empty()) std::printf("note: %s\n", ds.note.c_str());
  ProgressBar bar("eval", (long)ds.size, 1, std::max<long>(1, (long)ds.size / 4));
  det::Detector& net = det::detector_of(*m.net, "eval");
  det::EvalOptions eo;
  det::InferenceOptions inf = net.default_inference();
  if (!o.nms.empty()) inf.nms.kind = det::post_nms_from_name(o.nms);
  if (o.nms_iou > 0) inf.nms.iou = o.nms_iou;
  std::printf("inference: score > %g, %lld candidates, NMS %s (IoU %g), %lld detections per image\n",
              inf.score_threshold, (long long)inf.topk_candidates, det::post_nms_name(inf.nms.kind), inf.nms.iou,
              (long long)inf.max_detections);
  const det::DetectionEvaluation rep = *det::evaluate_detector(net, m.info, ds, eo, inf,
                                                               [&](int64_t d, int64_t) { bar.update((long)d, {}); });
  bar.finish();
  gt = ds.ground_truth();
  dets = rep.detections;
  r = rep.coco;
  agnostic = rep.agnostic_ap50;
  model_json = {{"kind", m.info.kind},
                {"describe", m.net->describe()},
                {"parameters", m.net->num_parameters()},
                {"nms", det::post_nms_name(inf.nms.kind)},
                {"nms_iou", inf.nms.iou}};
  detect_ms = rep.images > 0 ? 1000 * rep.predict_seconds / (double)rep.images : -1;
  std::printf("inference: %.2f ms per image (network, decoding and NMS; batches of %lld, %d threads)\n", detect_ms,
              (long long)eo.batch, omp_get_max_threads());
  if (!o.dt_out.empty()) {
    eval::write_coco_detections(o.dt_out, dets);
    std::printf("wrote %s\n", o.dt_out.c_str());
  }
  return e;
}

// File mode: a COCO result file against a COCO ground-truth file.
Evaluated evaluate_files(const EvalOptions& o, const eval::CocoEvalParams& params) {
  Evaluated e;
  check(!o.gt.empty() && !o.dt.empty(),
        "eval: give a model (RUN_DIR or weights), or both --gt GT.json and --dt DETECTIONS.json");
  e.gt = eval::read_coco_gt(o.gt);
  e.dets = eval::read_coco_detections(o.dt);
  try {
    e.r = eval::coco_evaluate(e.gt, e.dets, params);
  } catch (const Error& err) {
    fail(o.dt, " against ", o.gt, ": ", err.what());
  }
  return e;
}

// The pycocotools table, the per-category table, VOC on request, and the JSON (one schema).
void report(const EvalOptions& o, const Evaluated& e) {
  const auto& gt = e.gt;
  const auto& dets = e.dets;
  const auto& r = e.r;
  const double agnostic = e.agnostic, detect_ms = e.detect_ms;
  const nlohmann::json& model_json = e.model_json;
  std::printf("detgrad eval: %zu images, %zu categories, %zu gt annotations, %zu detections\n", r.image_ids.size(),
              r.category_ids.size(), gt.annotations.size(), dets.size());
  std::printf("%s", eval::coco_summary_text(r).c_str());

  std::map<int64_t, std::string> names;
  for (const auto& c : gt.categories) names[c.id] = c.name;
  std::vector<std::string> class_names;
  for (int k = 0; k < r.K; ++k) class_names.push_back(names[r.category_ids[k]]);
  // The one evaluation schema (detectors/task/detection_eval.h), plus what only this command knows.
  nlohmann::json out = det::eval_json(r, class_names, agnostic, (int64_t)r.image_ids.size(), -1);
  if (agnostic >= -0.5)
    std::printf(" class-agnostic AP @[ IoU=0.50      | area=   all | maxDets=100 ] = %.3f\n", agnostic);
  if (detect_ms >= 0) out["detect_ms_per_image"] = detect_ms;
  if (!model_json.is_null()) out["model"] = model_json;
  if (!o.quiet_classes) {
    std::printf("\nper category AP@[.50:.95] (-1: no gt)\n");
    for (int k = 0; k < r.K; ++k)
      std::printf("  %6lld %-24s %7.3f\n", (long long)r.category_ids[k], class_names[(size_t)k].c_str(),
                  r.category_ap(k));
  }

  if (o.voc) {
    eval::VocEvalOptions vo;
    vo.plus_one = o.voc_plus_one;
    vo.use_07_metric = o.use_07;
    eval::VocResult v = eval::voc_evaluate_coco(gt, dets, vo);
    const char* kind = o.use_07 ? "11-point (VOC2007)" : "all-points (VOC2010+)";
    std::printf("\nVOC AP@0.5, %s, IoU %s +1:\n", kind, o.voc_plus_one ? "with" : "without");
    nlohmann::json vc = nlohmann::json::array();
    for (const auto& c : v.classes) {
      std::printf("  %6lld %-24s %7.3f  (gts %lld, dets %lld)\n", (long long)c.class_id, names[c.class_id].c_str(),
                  c.ap, (long long)c.npos, (long long)c.ndet);
      vc.push_back({{"category_id", c.class_id}, {"name", names[c.class_id]}, {"AP", c.ap}, {"npos", c.npos}});
    }
    std::printf("  mAP = %.4f\n", v.mAP);
    out["voc"] = {{"mAP", v.mAP}, {"metric", o.use_07 ? "11point" : "allpoints"}, {"per_category", vc}};
  }
  if (!o.json_out.empty()) {
    eval::write_json_file(o.json_out, out, 2);
    std::printf("wrote %s\n", o.json_out.c_str());
  }
}

int run(const EvalOptions& o) {
  // Before anything is read or written: no output may be an input.
  std::vector<std::string> inputs = {o.gt, o.dt, o.model};
  if (!o.model.empty()) {
    namespace fs = std::filesystem;
    for (const char* f : {"model.safetensors", "checkpoint.safetensors", "config.json", "metrics.jsonl", "eval.json"})
      inputs.push_back((fs::path(o.model) / f).string());
    if (!o.data.empty()) inputs.push_back((fs::path(o.data) / "instances.json").string());
  }
  if (!o.json_out.empty()) refuse_overwrite("eval", "--json", o.json_out, inputs);
  if (!o.dt_out.empty()) refuse_overwrite("eval", "--dt-out", o.dt_out, inputs);
  check(o.json_out.empty() || o.dt_out.empty() || o.json_out != o.dt_out,
        "eval: --json and --dt-out are the same file ", o.json_out);
  eval::CocoEvalParams params;
  params.use_ignore_flag = o.use_ignore_flag;
  report(o, o.model.empty() ? evaluate_files(o, params) : evaluate_model(o));
  return 0;
}
}  // namespace

std::function<int()> add_eval_command(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* c = app.add_subcommand("eval",
                                   "evaluate a trained model on a dataset, or a detection file against a ground truth: "
                                   "COCO mAP (as pycocotools) and VOC AP");
  c->add_option("model", o->model, "a run directory, model.safetensors or checkpoint (instead of --gt/--dt)");
  c->add_option("--data", o->data, "model: fashion-scenes or a COCO folder (default: the run's validation data)");
  c->add_option("--preset", o->preset, "model on fashion-scenes: preset")->capture_default_str();
  c->add_option("--val-size", o->val_size, "model on fashion-scenes: number of val scenes")->capture_default_str();
  c->add_option("--data-seed", o->data_seed, "model on fashion-scenes: dataset seed")->capture_default_str();
  c->add_option("--dt-out", o->dt_out, "model: also write its detections as a COCO result file");
  c->add_option("--nms", o->nms,
                "model: none, hard, soft-linear, soft-gaussian or diou (default: the detector's: "
                "centernet none, fcos hard 0.6, retinanet hard 0.5)");
  c->add_option("--threads", o->threads, "model: OpenMP threads (default: all cores)");
  c->add_option("--nms-iou", o->nms_iou, "model: IoU threshold of hard / diou NMS, Nt of soft-linear");
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
