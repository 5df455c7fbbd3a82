// The detector pipeline (detectors/pipeline/): training runs (train.h), model files (model_file.h),
// evaluation (evaluate.h) and pictures (visualize.h), with a tiny CenterNet and procedural-shape scenes so that each
// case takes well under a second:
// - the learning-rate schedule's warm-up and cosine ends;
// - a run writes its files, and its metrics lines are where they should be;
// - stopping mid-epoch and resuming gives the same bytes as running straight through (across an
//   epoch boundary), and 1 or 2 OpenMP threads give the same bytes;
// - a model file / checkpoint / run directory loads back to the same network; bad files are errors;
// - evaluation of perfect detections is AP 1, class-agnostic relabelling, the letterbox round trip.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/io/safetensors.h"
#include "autograd/ops.h"
#include "detectors/centernet/detector.h"
#include "detectors/draw.h"
#include "detectors/pipeline/train.h"
#include "detectors/task/detection_eval.h"
#include "detectors/task/zoo.h"
#include "detectors/visualize.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::det;
namespace fs = std::filesystem;

namespace {
std::string temp_dir(const std::string& name) { return fresh_temp_dir("cn_train", name); }

// 64 training scenes of 64x64 with procedural shapes (no Fashion-MNIST needed), 16 val scenes,
// batch 8 (8 steps per epoch), a network of a few thousand parameters.
TrainOptions tiny_options(const std::string& dir) {
  TrainOptions o;
  o.train_data.preset = "small";
  o.train_data.scene = data::SceneConfig::preset("small");
  o.train_data.scene.height = o.train_data.scene.width = 64;
  o.train_data.scene.min_size = 14;
  o.train_data.scene.max_size = 30;
  o.train_data.scene_overridden = true;
  o.train_data.size = 64;
  o.train_data.data_dir = "/nonexistent";  // procedural shapes
  o.val_data = o.train_data;
  o.val_data.size = 16;
  o.model = "centernet";
  o.model_options = {{"width_mult", 0.125}, {"up_channels", {16, 8, 8}}, {"head_channels", 8}};
  o.batch = 8;
  o.lr = 1e-3;
  o.warmup_steps = 4;
  o.steps = 12;
  o.log_every = 2;
  o.eval_every = 1;
  o.workers = 1;
  o.plot = false;
  o.out_dir = dir;
  return o;
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

std::vector<nlohmann::json> read_lines(const std::string& path) {
  std::ifstream f(path);
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}
}  // namespace

TEST_CASE("pipeline train: learning-rate schedule") {
  TrainOptions o;
  o.lr = 2e-3;
  o.warmup_steps = 100;
  o.final_lr_fraction = 0.05;
  CHECK(train_lr(o, 0, 1000) == doctest::Approx(2e-4));       // 0.1 x lr at the start
  CHECK(train_lr(o, 50, 1000) == doctest::Approx(1.1e-3));    // half-way up
  CHECK(train_lr(o, 100, 1000) == doctest::Approx(2e-3));     // the peak
  CHECK(train_lr(o, 550, 1000) == doctest::Approx(1.05e-3));  // half-way down: (2 + 0.1) / 2 e-3
  CHECK(train_lr(o, 1000, 1000) == doctest::Approx(1e-4));    // the floor
  // The warm-up does not depend on the total (what makes the time-budget calibration exact).
  CHECK(train_lr(o, 37, 200) == train_lr(o, 37, 123456));
  o.warmup_steps = 0;  // no warm-up: the cosine from the first step
  CHECK(train_lr(o, 0, 1000) == doctest::Approx(2e-3));
  CHECK(train_lr(o, 500, 1000) == doctest::Approx(1.05e-3));
}

TEST_CASE("pipeline train: a run writes its files; resume and thread count give the same bytes") {
  const std::string a = temp_dir("straight");
  TrainResult ra = train(tiny_options(a), false);
  CHECK(ra.steps == 12);
  CHECK(ra.images == 96);
  CHECK_FALSE(ra.interrupted);
  REQUIRE(ra.has_eval);
  CHECK(ra.eval->images == 16);
  const auto& ea = dynamic_cast<const DetectionEvaluation&>(*ra.eval);  // a detector's evaluation
  CHECK(ea.coco.stats.AP50 >= 0);
  CHECK(ra.eval->headline().rfind("mAP@0.5 ", 0) == 0);
  for (const char* f : {"config.json", "metrics.jsonl", "checkpoint.safetensors", "model.safetensors", "eval.json"})
    CHECK_MESSAGE(fs::exists(fs::path(a) / f), f);
  // 6 train lines (every 2 steps), evaluations after epoch 1 (step 8) and at the end (step 12).
  auto lines = read_lines((fs::path(a) / "metrics.jsonl").string());
  int train_lines = 0;
  std::vector<int64_t> eval_steps;
  for (const auto& j : lines) {
    if (j["kind"] == "train") ++train_lines;
    else eval_steps.push_back(j["step"].get<int64_t>());
  }
  CHECK(train_lines == 6);
  CHECK(eval_steps == std::vector<int64_t>{8, 12});
  CHECK(lines.back()["images"] == 96);

  // Stop after step 5 (mid-epoch 1), resume: same final weights and optimizer state as straight through.
  const std::string b = temp_dir("resumed");
  std::atomic<bool> stop{false};
  TrainCallbacks cb;
  cb.step = [&](const StepInfo& s) {
    if (s.step == 5) stop = true;
  };
  TrainResult rb = train(tiny_options(b), false, cb, &stop);
  CHECK(rb.interrupted);
  CHECK(rb.steps == 5);
  TrainOptions other = tiny_options(b);
  other.lr = 99;  // ignored: a resumed run takes its settings from config.json
  TrainResult rb2 = train(other, true);
  CHECK(rb2.steps == 12);
  CHECK(file_bytes((fs::path(a) / "model.safetensors").string()) ==
        file_bytes((fs::path(b) / "model.safetensors").string()));
  auto ca = io::load_safetensors((fs::path(a) / "checkpoint.safetensors").string());
  auto cbk = io::load_safetensors((fs::path(b) / "checkpoint.safetensors").string());
  REQUIRE(ca.tensors.size() == cbk.tensors.size());
  for (const auto& [name, t] : ca.tensors) CHECK_MESSAGE(same_bytes(t, cbk.tensors.at(name)), name);
  // The resumed log has the same lines, up to the timings.
  auto lb = read_lines((fs::path(b) / "metrics.jsonl").string());
  REQUIRE(lb.size() == lines.size());
  for (size_t i = 0; i < lb.size(); ++i) {
    CHECK(lb[i]["step"] == lines[i]["step"]);
    if (lines[i]["kind"] == "train") CHECK(lb[i]["loss"] == lines[i]["loss"]);
  }

  // One thread instead of the default: the same bytes.
  const std::string c = temp_dir("one_thread");
  {
    ScopedThreads one(1);
    TrainOptions oc = tiny_options(c);
    oc.steps = 12;
    train(oc, false);
  }
  CHECK(file_bytes((fs::path(a) / "model.safetensors").string()) ==
        file_bytes((fs::path(c) / "model.safetensors").string()));

  // The model file, the checkpoint and the directory load to the same network.
  LoadedModel m1 = load_model((fs::path(a) / "model.safetensors").string());
  LoadedModel m2 = load_model((fs::path(a) / "checkpoint.safetensors").string());
  LoadedModel m3 = load_model(a);
  CHECK(m3.path == (fs::path(a) / "model.safetensors").string());
  CHECK(m1.info.class_names.size() == 10);
  CHECK(m1.info.input_height == 64);
  Generator g(3);
  Tensor x = randn({1, 3, 64, 64}, g);
  auto& n1 = dynamic_cast<centernet::CenterNet&>(*m1.net);
  auto& n2 = dynamic_cast<centernet::CenterNet&>(*m2.net);
  CHECK(m1.info.kind == "centernet");
  Tensor h1 = n1.forward_heads(x).heatmap, h2 = n2.forward_heads(x).heatmap;
  CHECK(same_bytes(h1, h2));
  // Evaluating the loaded model reproduces the run's last evaluation.
  data::Dataset val = data::open_dataset(tiny_options(a).val_data, data::Split::val);
  std::shared_ptr<Evaluation> e = m1.net->evaluate(m1.info, val);
  const auto& r = dynamic_cast<const DetectionEvaluation&>(*e);
  CHECK(r.coco.stats.AP == ea.coco.stats.AP);
  CHECK(r.detections.size() == ea.detections.size());
  nlohmann::json j1 = e->json(m1.info.class_names), j2 = ra.eval->json(m1.info.class_names);
  j1.erase("eval_seconds"), j2.erase("eval_seconds");
  CHECK(j1 == j2);
}

TEST_CASE("pipeline train: errors") {
  const std::string d = temp_dir("errors");
  TrainOptions o = tiny_options(d);
  o.steps = 0;
  CHECK_THROWS_WITH_PART(train(o, false), "give the length of the run");
  o = tiny_options(d);
  o.input_size = 50;
  CHECK_THROWS_WITH_PART(train(o, false), "multiple of 32");
  o = tiny_options(temp_dir("nothing"));
  CHECK_THROWS_WITH_PART(train(o, true), "nothing to resume");
  o = tiny_options(d);
  o.train_data.source = "/no/such/folder";
  CHECK_THROWS_WITH_PART(train(o, false), "/no/such/folder");
  CHECK_THROWS_WITH_PART(load_model(temp_dir("empty")), "without model.safetensors");
  const std::string other = (fs::path(temp_dir("other")) / "x.safetensors").string();
  io::save_safetensors(other, {{"w", zeros({2})}});
  CHECK_THROWS_WITH_PART(load_model(other), "not a detgrad model");
  CHECK_THROWS_WITH_PART(ModelInfo::from_json("{", "m.json"), "m.json: model description is not valid JSON");
}

TEST_CASE("pipeline evaluate: perfect detections score 1, class-agnostic relabelling") {
  eval::CocoDataset gt;
  gt.categories = {{1, "a"}, {2, "b"}};
  gt.images = {{1, "", 64, 64}};
  eval::CocoAnnotation an;
  an.id = 1, an.image_id = 1, an.category_id = 1, an.bbox = {10, 10, 20, 20}, an.area = 400;
  gt.annotations.push_back(an);
  an.id = 2, an.category_id = 2, an.bbox = {40, 30, 10, 12}, an.area = 120;
  gt.annotations.push_back(an);
  Detections d;
  d.boxes = from_vector({10, 10, 30, 30, 40, 30, 50, 42}, {2, 4}, DType::f32);
  d.scores = from_vector({0.9, 0.8}, {2}, DType::f32);
  d.labels = from_vector({0, 1}, {2}, DType::i64);
  std::vector<eval::CocoDetection> dets;
  append_coco_detections(dets, d, 1, {1, 2});
  REQUIRE(dets.size() == 2);
  CHECK(dets[1].bbox == std::array<double, 4>{40, 30, 10, 12});
  CHECK(eval::coco_evaluate(gt, dets).stats.AP == doctest::Approx(1.0));
  // Swap the labels: class-aware AP 0, class-agnostic AP 1.
  std::swap(dets[0].category_id, dets[1].category_id);
  CHECK(eval::coco_evaluate(gt, dets).stats.AP50 == doctest::Approx(0.0));
  CHECK(eval::coco_evaluate(class_agnostic(gt), class_agnostic(dets)).stats.AP50 == doctest::Approx(1.0));
  CHECK_THROWS_WITH_PART(append_coco_detections(dets, d, 1, {1}), "label 1 has no category id");
}

TEST_CASE("pipeline visualize: enlarge and detection pictures") {
  Tensor img = zeros({2, 3, 3}, DType::u8);
  img.data<uint8_t>()[3 * 4 + 1] = 200;  // pixel (y=1, x=1), green
  Tensor big = enlarge(img, 3);
  CHECK(big.shape() == Shape{6, 9, 3});
  CHECK((int)big.data<uint8_t>()[(4 * 9 + 5) * 3 + 1] == 200);  // (4,5) comes from (1,1)
  CHECK((int)big.data<uint8_t>()[(2 * 9 + 5) * 3 + 1] == 0);    // (2,5) comes from (0,1)
  CHECK_THROWS_WITH_PART(enlarge(img, 0), "factor must be >= 1");
  // One detection above the threshold, one below: only the first box's colour appears.
  Tensor canvas = zeros({40, 40, 3}, DType::u8);
  Detections d;
  d.boxes = from_vector({5, 5, 20, 20, 22, 22, 35, 35}, {2, 4}, DType::f32);
  d.scores = from_vector({0.9, 0.1}, {2}, DType::f32);
  d.labels = from_vector({2, 3}, {2}, DType::i64);
  PictureOptions po;
  po.scale = 1;
  Tensor pic = detection_picture(canvas, d, {"a", "b", "c", "d"}, po);
  dg::Rgb c2 = dg::class_color(2);
  const uint8_t* p = pic.data<uint8_t>();
  auto px = [&](int y, int x) {
    return dg::Rgb{p[(y * 40 + x) * 3], p[(y * 40 + x) * 3 + 1], p[(y * 40 + x) * 3 + 2]};
  };
  CHECK(px(12, 5).r == c2.r);  // left edge of the kept box
  CHECK(px(30, 35).r == 0);    // right edge of the dropped one stays black
  CHECK(px(30, 35).g == 0);
}

TEST_CASE("pipeline zoo: detectors by name, config overrides, rebuilding from a config") {
  Generator g(0);
  auto d = make_model("centernet", 3, {{"width_mult", 0.125}, {"head_channels", 8}}, g);
  CHECK(d->kind() == "centernet");
  CHECK(d->num_classes() == 3);
  CHECK(d->config_json()["head_channels"] == 8);
  CHECK(d->config_json()["up_channels"] == nlohmann::json({64, 32, 32}));  // the CPU default kept
  CHECK(d->loss_names() == std::vector<std::string>{"heatmap", "wh", "offset"});
  CHECK(d->default_lr() == 2e-3);
  CHECK(make_model("fcos", 3, {{"width_mult", 0.125}, {"fpn_channels", 16}, {"gn_groups", 8}}, g)->default_lr() ==
        2e-3);
  CHECK(make_model("retinanet", 3, {{"width_mult", 0.125}, {"fpn_channels", 16}}, g)->default_lr() == 1e-3);
  // The full config rebuilds the same network (same parameter names and shapes).
  Generator g2(1);
  auto e = model_from_config("centernet", d->config_json(), g2);
  CHECK(e->num_parameters() == d->num_parameters());
  CHECK_THROWS_WITH_PART(make_model("yolo", 3, {}, g), "unknown model 'yolo' (known: centernet, fcos, retinanet)");
  CHECK_THROWS_WITH_PART(make_model("centernet", 3, {{"fpn_channels", 8}}, g),
                         "centernet: unknown model option 'fpn_channels' (known: ");
  CHECK_THROWS_WITH_PART(make_model("centernet", 3, {{"head_channels", "wide"}}, g),
                         "model option 'head_channels' must look like");
  CHECK_THROWS_WITH_PART(model_from_config("centernet", {{"width_mult", 1}}, g), "without num_classes");
}

TEST_CASE("pipeline model files: the first CenterNet format still loads") {
  Generator g(0);
  centernet::CenterNetConfig c = centernet::CenterNetConfig::cpu(2);
  c.width_mult = 0.125;
  c.up_channels = {8, 8, 8};
  c.head_channels = 8;
  centernet::CenterNetDetector net(c, g);
  nlohmann::json old = {{"num_classes", 2},        {"width_mult", 0.125},      {"up_channels", {8, 8, 8}},
                        {"head_channels", 8},      {"heatmap_prior", 0.1},     {"class_names", {"a", "b"}},
                        {"category_ids", {1, 2}},  {"input_height", 64},       {"input_width", 64},
                        {"mean", {0.5, 0.5, 0.5}}, {"std", {0.25, 0.25, 0.25}}};
  const std::string path = (fs::path(temp_dir("legacy")) / "old.safetensors").string();
  io::save_safetensors(path, state_map(net), {{"detgrad.centernet", old.dump()}});
  LoadedModel m = load_model(path);
  CHECK(m.info.kind == "centernet");
  CHECK(m.info.class_names == std::vector<std::string>{"a", "b"});
  CHECK(m.net->num_parameters() == net.num_parameters());
  const auto sd = net.state_dict(), sd2 = m.net->state_dict();
  REQUIRE(sd.size() == sd2.size());
  for (size_t i = 0; i < sd.size(); ++i) CHECK(same_bytes(sd[i].second, sd2[i].second));
}

TEST_CASE("detections: class-wise NMS, mapping to the image, keeping the first k") {
  // Two overlapping class-0 boxes (IoU 0.6) and one class-1 box on top of them.
  Detections d = make_detections({0, 0, 10, 10, 0, 2, 10, 12, 0, 0, 10, 10}, {0.9, 0.8, 0.7}, {0, 0, 1});
  NmsOptions hard;
  hard.kind = PostNms::hard;
  hard.iou = 0.5;
  Detections h = class_wise_nms(d, hard);
  CHECK(h.labels.to_vector() == std::vector<double>{0, 1});  // the class-1 box is not suppressed by class 0
  hard.iou = 0.7;
  CHECK(class_wise_nms(d, hard).size() == 3);
  NmsOptions soft;
  soft.kind = PostNms::soft_linear;
  soft.iou = 0.5;
  Detections s = class_wise_nms(d, soft);
  REQUIRE(s.size() == 3);
  CHECK(s.scores.to_vector()[2] == doctest::Approx(0.8 * (1 - 80.0 / 120)));  // decayed by 1 - IoU
  CHECK(class_wise_nms(d, {}).size() == 3);                                   // none: unchanged
  Detections m = map_boxes(d, Affine{2, 0, 1, 0, 0.5, -1});
  CHECK(m.boxes.to_vector()[0] == 1);
  CHECK(m.boxes.to_vector()[3] == 4);  // 0.5 * 10 - 1
  CHECK(keep_first(d, 1).scores.to_vector() == std::vector<double>{0.9f});
  CHECK(empty_detections().size() == 0);
  CHECK_THROWS_WITH_PART(make_detections({0, 0, 1}, {0.5}, {0}), "do not describe the same boxes");
  CHECK_THROWS_WITH_PART(post_nms_from_name("fast"), "unknown NMS 'fast'");
}

TEST_CASE("pipeline train: --amp fp16 logs the loss scale, resumes bit-identically with the scaler state") {
  const std::string a = temp_dir("amp_straight"), b = temp_dir("amp_resumed");
  TrainOptions o = tiny_options(a);
  o.amp = "fp16";
  o.steps = 6;
  TrainResult ra = train(o, false);
  CHECK(ra.steps == 6);
  auto lines = read_lines((fs::path(a) / "metrics.jsonl").string());
  REQUIRE(lines.size() >= 1);
  CHECK(lines[0]["kind"] == "train");
  CHECK(lines[0]["loss_scale"].get<double>() > 0);
  CHECK(lines[0].contains("skipped"));
  auto ck = io::load_safetensors((fs::path(a) / "checkpoint.safetensors").string());
  CHECK(ck.metadata.count("extra.grad_scaler") == 1);
  // Stop at step 3, resume: the same weights as straight through.
  TrainOptions ob = tiny_options(b);
  ob.amp = "fp16";
  ob.steps = 6;
  std::atomic<bool> stop{false};
  TrainCallbacks cb;
  cb.step = [&](const StepInfo& s) {
    if (s.step == 3) stop = true;
  };
  CHECK(train(ob, false, cb, &stop).interrupted);
  train(ob, true);
  CHECK(file_bytes((fs::path(a) / "model.safetensors").string()) ==
        file_bytes((fs::path(b) / "model.safetensors").string()));
  // An f32 run of the same length differs (autocast changed the arithmetic).
  TrainOptions oc = tiny_options(temp_dir("amp_f32"));
  oc.steps = 6;
  train(oc, false);
  CHECK(file_bytes((fs::path(a) / "model.safetensors").string()) !=
        file_bytes((fs::path(oc.out_dir) / "model.safetensors").string()));
  o.amp = "fp8";
  CHECK_THROWS_WITH_PART(train(o, false), "amp must be none, fp16 or bf16, got 'fp8'");
}
