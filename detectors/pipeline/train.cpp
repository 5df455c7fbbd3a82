#include "detectors/pipeline/train.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/error.h"
#include "autograd/optim/checkpoint.h"
#include "autograd/ops.h"
#include "autograd/autocast.h"
#include "autograd/amp/grad_scaler.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/schedule.h"
#include "detectors/eval/coco_json.h"
#include "detectors/pipeline/train_plots.h"
#include "detectors/task/zoo.h"

namespace dg::det {

namespace fs = std::filesystem;
using nlohmann::json;

// ---------------------------------------------------------------- options <-> JSON

namespace {
json spec_to_json(const data::DatasetSpec& s) {
  json j{{"source", s.source}, {"preset", s.preset}, {"size", s.size}, {"seed", s.seed}, {"data_dir", s.data_dir}};
  if (s.scene_overridden) {
    const auto& c = s.scene;
    j["scene"] = {{"height", c.height},         {"width", c.width},       {"min_items", c.min_items},
                  {"max_items", c.max_items},   {"min_size", c.min_size}, {"max_size", c.max_size},
                  {"max_iou", c.max_iou},       {"pixel_noise", c.pixel_noise}, {"tint", c.tint}};
  }
  return j;
}

data::DatasetSpec spec_from_json(const json& j) {
  data::DatasetSpec s;
  s.source = j.at("source").get<std::string>();
  s.preset = j.at("preset").get<std::string>();
  s.size = j.at("size").get<int64_t>();
  s.seed = j.at("seed").get<uint64_t>();
  s.data_dir = j.at("data_dir").get<std::string>();
  if (j.contains("scene")) {
    const json& c = j.at("scene");
    s.scene_overridden = true;
    s.scene = data::SceneConfig::preset(s.preset);
    s.scene.height = c.at("height"), s.scene.width = c.at("width");
    s.scene.min_items = c.at("min_items"), s.scene.max_items = c.at("max_items");
    s.scene.min_size = c.at("min_size"), s.scene.max_size = c.at("max_size");
    s.scene.max_iou = c.at("max_iou"), s.scene.pixel_noise = c.at("pixel_noise"), s.scene.tint = c.at("tint");
  }
  return s;
}
}  // namespace

json TrainOptions::to_json() const {
  const auto& a = augment_config;
  return json{{"train_data", spec_to_json(train_data)},
              {"val_data", spec_to_json(val_data)},
              {"model", model},
              {"model_options", model_options},
              {"input_size", input_size},
              {"batch", batch},
              {"lr", lr},
              {"weight_decay", weight_decay},
              {"warmup_steps", warmup_steps},
              {"final_lr_fraction", final_lr_fraction},
              {"steps", steps},
              {"epochs", epochs},
              {"minutes", minutes},
              {"amp", amp},
              {"augment", augment},
              {"augment_config",
               {{"flip", a.flip}, {"flip_prob", a.flip_prob}, {"random_affine", a.random_affine},
                {"scale_lo", a.scale_lo}, {"scale_hi", a.scale_hi}, {"shift", a.shift}, {"color", a.color},
                {"brightness", a.brightness}, {"contrast", a.contrast}, {"saturation", a.saturation},
                {"min_box_size", a.min_box_size}}},
              {"seed", seed},
              {"log_every", log_every},
              {"eval_every", eval_every},
              {"plot", plot}};
}

TrainOptions TrainOptions::from_json(const json& j, const std::string& context) {
  TrainOptions o;
  try {
    o.train_data = spec_from_json(j.at("train_data"));
    o.val_data = spec_from_json(j.at("val_data"));
    o.model = j.at("model").get<std::string>();
    o.model_options = j.at("model_options");
    o.input_size = j.at("input_size");
    o.batch = j.at("batch");
    o.lr = j.at("lr");
    o.weight_decay = j.at("weight_decay");
    o.warmup_steps = j.at("warmup_steps");
    o.final_lr_fraction = j.at("final_lr_fraction");
    o.steps = j.at("steps");
    o.epochs = j.at("epochs");
    o.minutes = j.at("minutes");
    o.amp = j.value("amp", std::string("none"));
    o.augment = j.at("augment");
    const json& a = j.at("augment_config");
    auto& c = o.augment_config;
    c.flip = a.at("flip"), c.flip_prob = a.at("flip_prob"), c.random_affine = a.at("random_affine");
    c.scale_lo = a.at("scale_lo"), c.scale_hi = a.at("scale_hi"), c.shift = a.at("shift");
    c.color = a.at("color"), c.brightness = a.at("brightness"), c.contrast = a.at("contrast");
    c.saturation = a.at("saturation"), c.min_box_size = a.at("min_box_size");
    o.seed = j.at("seed");
    o.log_every = j.at("log_every");
    o.eval_every = j.at("eval_every");
    o.plot = j.at("plot");
  } catch (const json::exception& e) {
    fail(context, ": ", e.what());
  }
  return o;
}

void TrainOptions::validate() const {
  check(!out_dir.empty(), "train: an output directory (out_dir) is required");
  check(batch >= 1, "train: batch must be >= 1, got ", batch);
  check(lr >= 0 && std::isfinite(lr), "train: lr must be positive (0: the detector's default), got ", lr);
  check(warmup_steps >= 0 && final_lr_fraction >= 0 && final_lr_fraction <= 1,
        "train: warm-up steps must be >= 0 and the final lr fraction in [0, 1]");
  check(steps >= 0 && epochs >= 0 && minutes >= 0, "train: steps, epochs and minutes must be >= 0");
  check(steps > 0 || epochs > 0 || minutes > 0, "train: give the length of the run: steps, epochs or minutes");
  check(input_size >= 0 && input_size % 32 == 0, "train: input_size must be a multiple of 32, got ", input_size);
  check(log_every >= 1 && eval_every >= 0 && workers >= 0, "train: bad bookkeeping options");
  check(model_options.is_object(), "train: model options must be a JSON object");
  check(amp == "none" || amp == "fp16" || amp == "bf16", "train: amp must be none, fp16 or bf16, got '", amp, "'");
}

double train_lr(const TrainOptions& o, int64_t t, int64_t total_steps) {
  const int64_t w = std::min(o.warmup_steps, total_steps);
  auto cosine = optim::cosine_lr(std::max<int64_t>(1, total_steps - w), o.final_lr_fraction * o.lr);
  return (w > 0 ? optim::warmup(w, 0.1, cosine) : cosine)->lr(o.lr, t);
}

// ---------------------------------------------------------------- the run

namespace {

struct Clock {
  std::chrono::steady_clock::time_point t0 = std::chrono::steady_clock::now();
  double seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); }
};

void append_line(const std::string& path, const json& j) {
  std::ofstream f(path, std::ios::app);
  check(bool(f), path, ": cannot open for appending");
  f << j.dump() << "\n";
  f.flush();
  check(bool(f), path, ": write failed");
}

// Keeps the metrics lines of steps <= step (a resumed run rewrites what follows its checkpoint).
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.contains("step") || j["step"].get<int64_t>() <= step) kept += line + "\n";
  }
  in.close();
  std::ofstream out(path, std::ios::trunc);
  out << kept;
}

json eval_json(const EvalReport& r, const std::vector<std::string>& names) {
  json j;
  auto stats = r.coco.stats.as_array();
  for (size_t i = 0; i < stats.size(); ++i) j[eval::CocoStats::names()[i]] = stats[i];
  j["agnostic_AP50"] = r.agnostic_ap50;
  json per = json::object();
  for (int k = 0; k < r.coco.K; ++k) per[names[(size_t)k]] = r.coco.category_ap(k);
  j["per_class_AP"] = per;
  j["eval_images"] = r.images;
  j["eval_seconds"] = r.seconds;
  return j;
}

int64_t round_up_32(int64_t v) { return (v + 31) / 32 * 32; }

}  // namespace

TrainResult train(const TrainOptions& given, bool resume, const TrainCallbacks& cb, const std::atomic<bool>* stop) {
  auto say = [&](const std::string& s) {
    if (cb.message) cb.message(s);
  };
  TrainOptions o = given;
  check(!o.out_dir.empty(), "train: an output directory (out_dir) is required");
  const fs::path dir(o.out_dir);
  const std::string config_path = (dir / "config.json").string(), ckpt_path = (dir / "checkpoint.safetensors").string(),
                    metrics_path = (dir / "metrics.jsonl").string(), model_path = (dir / "model.safetensors").string();
  if (resume) {
    check(fs::exists(ckpt_path), "train (resume): ", ckpt_path, " does not exist (nothing to resume)");
    TrainOptions stored = TrainOptions::from_json(eval::read_json_file(config_path), config_path);
    stored.out_dir = o.out_dir;
    stored.workers = o.workers;
    o = stored;
  }
  o.validate();
  fs::create_directories(dir);

  // ---- data
  data::Dataset train_ds = data::open_dataset(o.train_data, data::Split::train);
  if (!train_ds.note.empty()) say("note: " + train_ds.note);
  std::optional<data::Dataset> val_ds;
  if (o.val_data.size > 0 || o.val_data.source != "fashion-scenes")
    val_ds = data::open_dataset(o.val_data, data::Split::val);
  check(!val_ds || val_ds->class_names == train_ds.class_names, "train: the validation data's classes differ from the training data's");
  const int64_t K = (int64_t)train_ds.class_names.size();
  if (o.input_size == 0) {
    check(train_ds.height > 0, "train: the training images differ in size: give an input_size");
    o.input_size = round_up_32(std::max(train_ds.height, train_ds.width));
  }
  o.augment_config.out_height = o.augment_config.out_width = o.input_size;

  // ---- model
  Generator gen(o.seed);
  std::shared_ptr<Detector> net_ptr = make_detector(o.model, K, o.model_options, gen);
  Detector& net = *net_ptr;
  check(o.input_size % net.size_divisor() == 0, "train: input_size ", o.input_size, " must be a multiple of ",
        net.size_divisor(), " for ", o.model);
  net.train();
  ModelInfo info;
  info.kind = net.kind();
  info.config = net.config_json();
  info.class_names = train_ds.class_names;
  info.category_ids = train_ds.category_ids;
  info.input_height = info.input_width = o.input_size;
  const std::vector<std::string> loss_names = net.loss_names();
  const size_t n_parts = loss_names.size();

  optim::AdamOptions ao;
  if (o.lr == 0) o.lr = net.default_lr();
  ao.lr = o.lr;
  ao.weight_decay = o.weight_decay;
  optim::Adam opt(optim::single_group(net.named_parameters()), ao);
  const bool use_amp = o.amp != "none";
  const DType amp_dtype = use_amp ? amp::amp_dtype_from_name(o.amp) : DType::f16;
  amp::GradScalerOptions so;
  so.enabled = o.amp == "fp16";
  amp::GradScaler scaler(so);
  int64_t skipped = 0;

  data::LoaderConfig lc;
  lc.batch_size = o.batch;
  lc.seed = o.seed;
  lc.shuffle = true;
  lc.drop_last = true;
  lc.workers = o.workers;
  lc.augment = true;  // with augment off: the deterministic letterbox only
  lc.augment_config = o.augment_config;
  if (!o.augment) {
    lc.augment_config.flip = lc.augment_config.random_affine = lc.augment_config.color = false;
  }
  lc.mean = info.mean;
  lc.std = info.std;
  check(train_ds.size >= o.batch, "train: ", train_ds.size, " training images are fewer than one batch of ", o.batch);
  data::Loader loader(train_ds.get, train_ds.size, lc);
  const int64_t spe = loader.batches_per_epoch();

  // ---- position (fresh or from the checkpoint)
  std::vector<double> sums(1 + n_parts, 0.0);  // of the total and the parts since the last metrics line
  int64_t in_sum = 0;
  int64_t epoch = 0, step_in_epoch = 0, step = 0, total = 0;
  double train_seconds = 0;
  if (resume) {
    io::TrainState st = io::load_checkpoint(ckpt_path, state_map(net), &opt);
    epoch = st.epoch;
    step = st.step;
    step_in_epoch = std::stoll(st.extra.at("step_in_epoch"));
    total = std::stoll(st.extra.at("total_steps"));
    train_seconds = std::stod(st.extra.at("train_seconds"));
    if (st.extra.count("grad_scaler")) scaler.load_state_json(st.extra.at("grad_scaler"));
    if (st.extra.count("skipped_steps")) skipped = std::stoll(st.extra.at("skipped_steps"));
    truncate_metrics(metrics_path, step);
    if (st.extra.count("log_sums")) {
      std::istringstream in(st.extra.at("log_sums"));
      std::string tok;
      std::vector<double> v;
      while (in >> tok) v.push_back(std::strtod(tok.c_str(), nullptr));  // hex floats, exact
      if (v.size() == sums.size() + 1) {
        std::copy(v.begin(), v.end() - 1, sums.begin());
        in_sum = (int64_t)v.back();
      }
    }
    say("resuming " + o.out_dir + " at step " + std::to_string(step) + " of " + std::to_string(total) + " (epoch " +
        std::to_string(epoch + 1) + ", settings from " + config_path + ")");
  } else {
    eval::write_json_file(config_path, o.to_json(), 2);
    std::ofstream(metrics_path, std::ios::trunc);  // a fresh run starts an empty log
    if (o.steps > 0) total = o.steps;
    else if (o.epochs > 0) total = o.epochs * spe;
    // else: fixed after the calibration steps below
  }
  say("data: " + train_ds.description + (val_ds ? "; validation: " + val_ds->description : ""));
  say("model: " + net.describe() + "; input " + std::to_string(o.input_size) + "x" + std::to_string(o.input_size) +
      ", " + std::to_string(K) + " classes");

  auto save_all = [&](int64_t ep, int64_t sie) {
    io::TrainState st;
    st.epoch = ep;
    st.step = step;
    st.extra["step_in_epoch"] = std::to_string(sie);
    st.extra["total_steps"] = std::to_string(total);
    st.extra["train_seconds"] = std::to_string(train_seconds);
    st.extra["model_info"] = info.to_json();
    st.extra["grad_scaler"] = scaler.state_json();
    st.extra["skipped_steps"] = std::to_string(skipped);
    // The partial averages of the next metrics line, exactly (hex floats), so a resumed run logs the same.
    std::string text;
    char buf[64];
    for (double v : sums) {
      std::snprintf(buf, sizeof buf, "%a ", v);
      text += buf;
    }
    st.extra["log_sums"] = text + std::to_string(in_sum);
    io::save_checkpoint(ckpt_path, state_map(net), &opt, st);
    save_model(model_path, net, info);
  };

  TrainResult res;
  res.info = info;
  res.loss_names = loss_names;
  res.run_dir = o.out_dir;
  auto run_eval = [&](const StepInfo& si) {
    if (!val_ds) return;
    EvalOptions eo;
    eo.workers = o.workers;
    res.eval = evaluate(net, info, *val_ds, eo, cb.eval_progress);
    res.has_eval = true;
    json j = eval_json(res.eval, info.class_names);
    eval::write_json_file((dir / "eval.json").string(), j, 2);
    json line{{"kind", "eval"}, {"step", si.step}, {"epoch", si.epoch + 1}, {"images", si.images},
              {"train_seconds", si.train_seconds}};
    for (auto& [k, v] : j.items())
      if (k != "per_class_AP") line[k] = v;
    append_line(metrics_path, line);
    if (cb.evaluated) cb.evaluated(res.eval, si);
  };

  // ---- the loop
  // Time budget: the steps from 3 (caches warm) to the end of the warm-up (at least 10 of them) are
  // timed; their learning rates do not depend on the total, so fixing it then changes nothing before.
  const int64_t calib_steps = std::max<int64_t>(10, o.warmup_steps - 3);
  Clock since_start;
  double calib_start = 0;
  StepInfo si;
  si.part_names = loss_names;
  bool finished = total > 0 && step >= total;
  while (!finished) {
    const int64_t epochs_planned = total > 0 ? (total + spe - 1) / spe : 0;
    loader.start_epoch(epoch, step_in_epoch);
    if (cb.epoch_start) cb.epoch_start(epoch, epochs_planned, total > 0 ? std::min(spe, total - epoch * spe) : spe, step_in_epoch);
    data::Batch b;
    Clock epoch_clock;
    double epoch_base = train_seconds;
    const int64_t step_at_start = step;
    while (step_in_epoch < spe && (total == 0 || step < total) && loader.next(b)) {
      // The learning rate of this step; during calibration (total unknown) only the warm-up applies.
      const double lr = train_lr(o, step, total > 0 ? total : std::max<int64_t>(step + 1, 1000000));
      opt.set_lr(lr);
      LossReport loss;
      {
        amp::Autocast autocast(amp_dtype, use_amp);
        loss = net.loss(b);
      }
      opt.zero_grad();
      scaler.scale(loss.total).backward();
      if (!scaler.step(opt)) ++skipped;  // disabled scaler: a plain opt.step()
      scaler.update();
      ++step;
      ++step_in_epoch;
      train_seconds = epoch_base + epoch_clock.seconds();

      std::vector<double> vals{loss.total.item()};
      for (const auto& part : loss.parts) vals.push_back(part.second.item());
      check(vals.size() == sums.size(), "train: ", o.model, " reported ", vals.size() - 1, " loss parts, not ", n_parts);
      check(std::isfinite(vals[0]), "train: the loss became ", vals[0], " at step ", step,
            " (try a lower lr); the last checkpoint is ", ckpt_path);
      for (size_t k = 0; k < vals.size(); ++k) sums[k] += vals[k];
      ++in_sum;
      si.epoch = epoch;
      si.epochs = epochs_planned;
      si.step = step;
      si.total_steps = total;
      si.step_in_epoch = step_in_epoch;
      si.steps_in_epoch = total > 0 ? std::min(spe, total - epoch * spe) : spe;
      si.images = step * o.batch;
      si.loss = vals[0];
      si.parts.assign(vals.begin() + 1, vals.end());
      si.lr = lr;
      si.loss_scale = scaler.scale();
      si.skipped_steps = skipped;
      si.train_seconds = train_seconds;
      if (cb.step) cb.step(si);
      if (step % o.log_every == 0) {
        json line{{"kind", "train"}, {"step", step}, {"epoch", epoch + 1}, {"images", si.images},
                  {"train_seconds", train_seconds}, {"lr", lr}, {"loss", sums[0] / in_sum}};
        for (size_t k = 0; k < n_parts; ++k) line[loss_names[k]] = sums[k + 1] / in_sum;
        if (scaler.enabled()) {
          line["loss_scale"] = scaler.scale();
          line["skipped"] = skipped;
        }
        append_line(metrics_path, line);
        std::fill(sums.begin(), sums.end(), 0.0);
        in_sum = 0;
      }
      if (total == 0) {
        if (step == 3) calib_start = since_start.seconds();
        if (step == 3 + calib_steps) {
          // 5% margin: the sustained speed measured here ran ~7% below the warm-up's (loader restarts
          // each epoch, longer runs).
          const double per_step = 1.05 * (since_start.seconds() - calib_start) / calib_steps;
          const double left = o.minutes * 60 - train_seconds;
          total = step + std::max<int64_t>(1, (int64_t)(left / per_step));
          std::ostringstream m;
          m << "time budget " << o.minutes << " min: measured " << (1.05 * o.batch / per_step) << " images/s, planned "
            << total << " steps (" << total * o.batch << " images, " << (total + spe - 1) / spe
            << " epochs); steps = " << total << " reproduces this run bit for bit";
          say(m.str());
          si.total_steps = total;
          if (o.warmup_steps < step) say("note: the warm-up is shorter than the calibration, so steps = N reproduces it only approximately");
          break;  // restart the epoch loop so the callbacks see the plan
        }
      }
      if (stop && stop->load()) break;
    }
    if (stop && stop->load()) {
      save_all(epoch, step_in_epoch);
      say("interrupted at step " + std::to_string(step) + ": checkpoint written to " + ckpt_path +
          " (resume continues it)");
      res.interrupted = true;
      break;
    }
    const bool epoch_done = step_in_epoch >= spe;
    finished = total > 0 && step >= total;
    if (epoch_done || finished) {
      if (cb.epoch_end) cb.epoch_end(epoch);
      const bool do_eval = finished || (o.eval_every > 0 && (epoch + 1) % o.eval_every == 0);
      if (epoch_done) {
        ++epoch;
        step_in_epoch = 0;
      }
      // Time budget: if this epoch ran so much slower than the calibration (a busy machine) that the
      // run would overshoot the budget by more than 10%, shorten it. The cosine then continues from
      // the new plan, so --steps no longer reproduces the run: say so.
      const bool budgeted = o.steps == 0 && o.epochs == 0 && o.minutes > 0;
      if (budgeted && !finished && step > step_at_start) {
        const double per_step = (train_seconds - epoch_base) / (double)(step - step_at_start);
        const double budget = o.minutes * 60;
        if (train_seconds + (double)(total - step) * per_step > 1.1 * budget) {
          total = step + std::max<int64_t>(1, (int64_t)((budget - train_seconds) / per_step));
          say("note: training runs slower than measured at the start (" + std::to_string((int)(o.batch / per_step)) +
              " images/s): re-planned to " + std::to_string(total) + " steps to keep the time budget");
        }
      }
      save_all(epoch, step_in_epoch);
      if (o.plot) write_training_plots(o.out_dir);
      if (do_eval) run_eval(si);
    }
  }
  res.steps = step;
  res.total_steps = total;
  res.images = step * o.batch;
  res.train_seconds = train_seconds;
  if (!res.interrupted && finished && !res.has_eval && val_ds) {  // resumed a run that had already ended
    si.epoch = step_in_epoch == 0 ? std::max<int64_t>(0, epoch - 1) : epoch;
    si.step = si.total_steps = step;
    si.images = step * o.batch;
    si.train_seconds = train_seconds;
    run_eval(si);
  }
  return res;
}

}  // namespace dg::det
