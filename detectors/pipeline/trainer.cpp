// The training run as named steps (see trainer.h for the recipe and train.h for what the run writes).
#include "detectors/pipeline/trainer.h"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "autograd/autocast.h"
#include "autograd/error.h"
#include "autograd/ops.h"
#include "autograd/optim/checkpoint.h"
#include "detectors/eval/coco_json.h"
#include "detectors/pipeline/train_plots.h"
#include "detectors/task/zoo.h"

namespace dg::det {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

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

// The partial sums of the next metrics line and their count, exactly (hex floats), and back.
std::string log_sums_text(const std::vector<double>& sums, int64_t count) {
  std::string text;
  char buf[64];
  for (double v : sums) {
    std::snprintf(buf, sizeof buf, "%a ", v);
    text += buf;
  }
  return text + std::to_string(count);
}

void parse_log_sums(const std::string& text, std::vector<double>& sums, int64_t& count) {
  std::istringstream in(text);
  std::string tok;
  std::vector<double> v;
  while (in >> tok) v.push_back(std::strtod(tok.c_str(), nullptr));  // hex floats, exact
  if (v.size() != sums.size() + 1) return;
  std::copy(v.begin(), v.end() - 1, sums.begin());
  count = (int64_t)v.back();
}

int64_t round_up_32(int64_t v) { return (v + 31) / 32 * 32; }

}  // namespace

Trainer::Trainer(const TrainOptions& given, bool resume, const TrainCallbacks& cb, const std::atomic<bool>* stop)
    : o_(given), resuming_(resume), cb_(cb), stop_(stop) {
  check(!o_.out_dir.empty(), "train: an output directory (out_dir) is required");
  const fs::path dir(o_.out_dir);
  paths_ = {(dir / "config.json").string(), (dir / "checkpoint.safetensors").string(), (dir / "metrics.jsonl").string(),
            (dir / "model.safetensors").string(), (dir / "eval.json").string()};
  if (resuming_) {  // a resumed run takes every setting from its config.json, but where and how fast
    check(fs::exists(paths_.checkpoint), "train (resume): ", paths_.checkpoint, " does not exist (nothing to resume)");
    TrainOptions stored = TrainOptions::from_json(eval::read_json_file(paths_.config), paths_.config);
    stored.out_dir = o_.out_dir;
    stored.workers = o_.workers;
    o_ = stored;
  }
  o_.validate();
  fs::create_directories(dir);
}

void Trainer::say(const std::string& s) const {
  if (cb_.message) cb_.message(s);
}

int64_t Trainer::epochs_planned() const { return total_ > 0 ? (total_ + spe_ - 1) / spe_ : 0; }
int64_t Trainer::steps_in_epoch() const { return total_ > 0 ? std::min(spe_, total_ - epoch_ * spe_) : spe_; }

// ---- data and model ---------------------------------------------------------------------------------
void Trainer::open_data() {
  train_ds_ = data::open_dataset(o_.train_data, data::Split::train);
  if (!train_ds_->note.empty()) say("note: " + train_ds_->note);
  if (o_.val_data.size > 0 || o_.val_data.source != "fashion-scenes")
    val_ds_ = data::open_dataset(o_.val_data, data::Split::val);
  check(!val_ds_ || val_ds_->class_names == train_ds_->class_names,
        "train: the validation data's classes differ from the training data's");
  if (o_.input_size == 0) {
    check(train_ds_->height > 0, "train: the training images differ in size: give an input_size");
    o_.input_size = round_up_32(std::max(train_ds_->height, train_ds_->width));
  }
  o_.augment_config.out_height = o_.augment_config.out_width = o_.input_size;
}

void Trainer::build_model() {
  const int64_t K = (int64_t)train_ds_->class_names.size();
  Generator gen(o_.seed);
  net_ = make_model(o_.model, K, o_.model_options, gen);
  check(o_.input_size % net_->size_divisor() == 0, "train: input_size ", o_.input_size, " must be a multiple of ",
        net_->size_divisor(), " for ", o_.model);
  net_->train();
  info_.kind = net_->kind();
  info_.config = net_->config_json();
  info_.class_names = train_ds_->class_names;
  info_.category_ids = train_ds_->category_ids;
  info_.input_height = info_.input_width = o_.input_size;
  loss_names_ = net_->loss_names();
  sums_.assign(1 + loss_names_.size(), 0.0);

  optim::AdamOptions ao;
  if (o_.lr == 0) o_.lr = net_->default_lr();
  ao.lr = o_.lr;
  ao.weight_decay = o_.weight_decay;
  opt_ = std::make_unique<optim::Adam>(optim::single_group(net_->named_parameters()), ao);
  use_amp_ = o_.amp != "none";
  amp_dtype_ = use_amp_ ? amp::amp_dtype_from_name(o_.amp) : DType::f16;
  amp::GradScalerOptions so;
  so.enabled = o_.amp == "fp16";
  scaler_ = std::make_unique<amp::GradScaler>(so);
  make_loader();
}

void Trainer::make_loader() {
  data::LoaderConfig lc;
  lc.batch_size = o_.batch;
  lc.seed = o_.seed;
  lc.shuffle = true;
  lc.drop_last = true;
  lc.workers = o_.workers;
  lc.augment = true;  // with augment off: the deterministic letterbox only
  lc.augment_config = o_.augment_config;
  if (!o_.augment) lc.augment_config.flip = lc.augment_config.random_affine = lc.augment_config.color = false;
  lc.mean = info_.mean;
  lc.std = info_.std;
  check(train_ds_->size >= o_.batch, "train: ", train_ds_->size, " training images are fewer than one batch of ",
        o_.batch);
  loader_ = std::make_unique<data::Loader>(train_ds_->get, train_ds_->size, lc);
  spe_ = loader_->batches_per_epoch();
}

// ---- position -----------------------------------------------------------------------------------------
void Trainer::resume() {
  io::TrainState st = io::load_checkpoint(paths_.checkpoint, state_map(*net_), opt_.get());
  epoch_ = st.epoch;
  step_ = st.step;
  step_in_epoch_ = std::stoll(st.extra.at("step_in_epoch"));
  total_ = std::stoll(st.extra.at("total_steps"));
  train_seconds_ = std::stod(st.extra.at("train_seconds"));
  if (st.extra.count("grad_scaler")) scaler_->load_state_json(st.extra.at("grad_scaler"));
  if (st.extra.count("skipped_steps")) skipped_ = std::stoll(st.extra.at("skipped_steps"));
  truncate_metrics(paths_.metrics, step_);
  if (st.extra.count("log_sums")) parse_log_sums(st.extra.at("log_sums"), sums_, in_sum_);
  say("resuming " + o_.out_dir + " at step " + std::to_string(step_) + " of " + std::to_string(total_) + " (epoch " +
      std::to_string(epoch_ + 1) + ", settings from " + paths_.config + ")");
}

void Trainer::start() {
  eval::write_json_file(paths_.config, o_.to_json(), 2);
  std::ofstream(paths_.metrics, std::ios::trunc);  // a fresh run starts an empty log
  if (o_.steps > 0) total_ = o_.steps;
  else if (o_.epochs > 0) total_ = o_.epochs * spe_;
  // else: fixed after the calibration steps (plan_budget)
}

void Trainer::checkpoint(int64_t epoch, int64_t step_in_epoch) {
  io::TrainState st;
  st.epoch = epoch;
  st.step = step_;
  st.extra["step_in_epoch"] = std::to_string(step_in_epoch);
  st.extra["total_steps"] = std::to_string(total_);
  st.extra["train_seconds"] = std::to_string(train_seconds_);
  st.extra["model_info"] = info_.to_json();
  st.extra["grad_scaler"] = scaler_->state_json();
  st.extra["skipped_steps"] = std::to_string(skipped_);
  // The partial averages of the next metrics line, exactly, so a resumed run logs the same.
  st.extra["log_sums"] = log_sums_text(sums_, in_sum_);
  io::save_checkpoint(paths_.checkpoint, state_map(*net_), opt_.get(), st);
  save_model(paths_.model, *net_, info_);
}

// ---- one step -------------------------------------------------------------------------------------------
Trainer::StepValues Trainer::step(const data::Batch& b) {
  StepValues v;
  // The learning rate of this step; during calibration (total unknown) only the warm-up applies.
  v.lr = train_lr(o_, step_, total_ > 0 ? total_ : std::max<int64_t>(step_ + 1, 1000000));
  opt_->set_lr(v.lr);
  LossReport loss;
  {
    amp::Autocast autocast(amp_dtype_, use_amp_);
    loss = net_->loss(b);
  }
  opt_->zero_grad();
  scaler_->scale(loss.total).backward();
  if (!scaler_->step(*opt_)) ++skipped_;  // disabled scaler: a plain opt.step()
  scaler_->update();
  ++step_;
  ++step_in_epoch_;
  v.vals.push_back(loss.total.item());
  for (const auto& part : loss.parts) v.vals.push_back(part.second.item());
  return v;
}

void Trainer::record_step(const StepValues& v) {
  check(v.vals.size() == sums_.size(), "train: ", o_.model, " reported ", v.vals.size() - 1, " loss parts, not ",
        loss_names_.size());
  check(std::isfinite(v.vals[0]), "train: the loss became ", v.vals[0], " at step ", step_,
        " (try a lower lr); the last checkpoint is ", paths_.checkpoint);
  for (size_t k = 0; k < v.vals.size(); ++k) sums_[k] += v.vals[k];
  ++in_sum_;
  si_.epoch = epoch_;
  si_.epochs = epochs_planned();
  si_.step = step_;
  si_.total_steps = total_;
  si_.step_in_epoch = step_in_epoch_;
  si_.steps_in_epoch = steps_in_epoch();
  si_.images = step_ * o_.batch;
  si_.loss = v.vals[0];
  si_.parts.assign(v.vals.begin() + 1, v.vals.end());
  si_.lr = v.lr;
  si_.loss_scale = scaler_->scale();
  si_.skipped_steps = skipped_;
  si_.train_seconds = train_seconds_;
  if (cb_.step) cb_.step(si_);
  if (step_ % o_.log_every != 0) return;
  json line{{"kind", "train"},
            {"step", step_},
            {"epoch", epoch_ + 1},
            {"images", si_.images},
            {"train_seconds", train_seconds_},
            {"lr", v.lr},
            {"loss", sums_[0] / in_sum_}};
  for (size_t k = 0; k < loss_names_.size(); ++k) line[loss_names_[k]] = sums_[k + 1] / in_sum_;
  if (scaler_->enabled()) {
    line["loss_scale"] = scaler_->scale();
    line["skipped"] = skipped_;
  }
  append_line(paths_.metrics, line);
  std::fill(sums_.begin(), sums_.end(), 0.0);
  in_sum_ = 0;
}

// Time budget: the steps from 3 (caches warm) to the end of the warm-up (at least 10 of them) are
// timed; their learning rates do not depend on the total, so fixing it then changes nothing before.
bool Trainer::plan_budget() {
  if (step_ == 3) calib_start_ = seconds_since(t0_);
  if (step_ != 3 + calib_steps_) return false;
  // 5% margin: the sustained speed measured here ran ~7% below the warm-up's (loader restarts each
  // epoch, longer runs).
  const double per_step = 1.05 * (seconds_since(t0_) - calib_start_) / calib_steps_;
  const double left = o_.minutes * 60 - train_seconds_;
  total_ = step_ + std::max<int64_t>(1, (int64_t)(left / per_step));
  std::ostringstream m;
  m << "time budget " << o_.minutes << " min: measured " << (1.05 * o_.batch / per_step) << " images/s, planned "
    << total_ << " steps (" << total_ * o_.batch << " images, " << (total_ + spe_ - 1) / spe_
    << " epochs); steps = " << total_ << " reproduces this run bit for bit";
  say(m.str());
  si_.total_steps = total_;
  if (o_.warmup_steps < step_)
    say("note: the warm-up is shorter than the calibration, so steps = N reproduces it only approximately");
  return true;
}

// ---- one epoch ------------------------------------------------------------------------------------------
bool Trainer::run_epoch() {
  loader_->start_epoch(epoch_, step_in_epoch_);
  if (cb_.epoch_start) cb_.epoch_start(epoch_, epochs_planned(), steps_in_epoch(), step_in_epoch_);
  data::Batch b;
  const auto epoch_t0 = std::chrono::steady_clock::now();
  const double epoch_base = train_seconds_;
  const int64_t step_at_start = step_;
  while (step_in_epoch_ < spe_ && (total_ == 0 || step_ < total_) && loader_->next(b)) {
    const StepValues v = step(b);
    train_seconds_ = epoch_base + seconds_since(epoch_t0);
    record_step(v);
    if (total_ == 0 && plan_budget()) break;  // restart the epoch loop so the callbacks see the plan
    if (stop_requested()) break;
  }
  if (stop_requested()) {
    stopped();
    return false;
  }
  if (step_in_epoch_ >= spe_ || (total_ > 0 && step_ >= total_)) end_epoch(step_at_start, epoch_base);
  return true;
}

void Trainer::stopped() {
  checkpoint(epoch_, step_in_epoch_);
  say("interrupted at step " + std::to_string(step_) + ": checkpoint written to " + paths_.checkpoint +
      " (resume continues it)");
  res_.interrupted = true;
}

void Trainer::end_epoch(int64_t step_at_start, double epoch_base) {
  const bool epoch_done = step_in_epoch_ >= spe_, finished = total_ > 0 && step_ >= total_;
  if (cb_.epoch_end) cb_.epoch_end(epoch_);
  const bool do_eval = finished || (o_.eval_every > 0 && (epoch_ + 1) % o_.eval_every == 0);
  if (epoch_done) {
    ++epoch_;
    step_in_epoch_ = 0;
  }
  if (!finished) replan_if_slow(step_at_start, epoch_base);
  checkpoint(epoch_, step_in_epoch_);
  if (o_.plot) write_training_plots(o_.out_dir, net_->metric_curves());
  if (do_eval) evaluate_now(si_);
}

// Time budget: if this epoch ran so much slower than the calibration (a busy machine) that the run
// would overshoot the budget by more than 10%, shorten it. The cosine then continues from the new
// plan, so steps = N no longer reproduces the run: say so.
void Trainer::replan_if_slow(int64_t step_at_start, double epoch_base) {
  const bool budgeted = o_.steps == 0 && o_.epochs == 0 && o_.minutes > 0;
  if (!budgeted || step_ <= step_at_start) return;
  const double per_step = (train_seconds_ - epoch_base) / (double)(step_ - step_at_start);
  const double budget = o_.minutes * 60;
  if (train_seconds_ + (double)(total_ - step_) * per_step <= 1.1 * budget) return;
  total_ = step_ + std::max<int64_t>(1, (int64_t)((budget - train_seconds_) / per_step));
  say("note: training runs slower than measured at the start (" + std::to_string((int)(o_.batch / per_step)) +
      " images/s): re-planned to " + std::to_string(total_) + " steps to keep the time budget");
}

void Trainer::evaluate_now(const StepInfo& si) {
  if (!val_ds_) return;
  EvalOptions eo;
  eo.workers = o_.workers;
  res_.eval = net_->evaluate(info_, *val_ds_, eo, cb_.eval_progress);
  res_.has_eval = true;
  json j = res_.eval->json(info_.class_names);
  eval::write_json_file(paths_.eval, j, 2);
  json line{{"kind", "eval"},
            {"step", si.step},
            {"epoch", si.epoch + 1},
            {"images", si.images},
            {"train_seconds", si.train_seconds}};
  for (auto& [k, v] : j.items())
    if (!v.is_structured()) line[k] = v;  // the numbers; per-class tables stay in eval.json
  append_line(paths_.metrics, line);
  if (cb_.evaluated) cb_.evaluated(*res_.eval, si);
}

// ---- the run --------------------------------------------------------------------------------------------
TrainResult Trainer::run() {
  open_data();
  build_model();
  if (resuming_) resume();
  else start();
  say("data: " + train_ds_->description + (val_ds_ ? "; validation: " + val_ds_->description : ""));
  say("model: " + net_->describe() + "; input " + std::to_string(o_.input_size) + "x" + std::to_string(o_.input_size) +
      ", " + std::to_string(info_.class_names.size()) + " classes");
  res_.info = info_;
  res_.loss_names = loss_names_;
  res_.run_dir = o_.out_dir;
  calib_steps_ = std::max<int64_t>(10, o_.warmup_steps - 3);
  t0_ = std::chrono::steady_clock::now();
  si_.part_names = loss_names_;
  while (!(total_ > 0 && step_ >= total_))
    if (!run_epoch()) break;
  res_.steps = step_;
  res_.total_steps = total_;
  res_.images = step_ * o_.batch;
  res_.train_seconds = train_seconds_;
  if (!res_.interrupted && !res_.has_eval && val_ds_) {  // resumed a run that had already ended
    si_.epoch = step_in_epoch_ == 0 ? std::max<int64_t>(0, epoch_ - 1) : epoch_;
    si_.step = si_.total_steps = step_;
    si_.images = step_ * o_.batch;
    si_.train_seconds = train_seconds_;
    evaluate_now(si_);
  }
  return res_;
}

}  // namespace dg::det
