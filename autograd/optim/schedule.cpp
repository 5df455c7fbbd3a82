#include "autograd/optim/schedule.h"

#include <algorithm>
#include <cmath>

namespace dg::optim {

namespace {
constexpr double kPi = 3.14159265358979323846;

struct Constant : Schedule {
  double lr(double base, int64_t) const override { return base; }
};

struct Step : Schedule {
  int64_t size;
  double gamma;
  Step(int64_t s, double g) : size(s), gamma(g) {}
  double lr(double base, int64_t t) const override { return base * std::pow(gamma, (double)(t / size)); }
};

struct MultiStep : Schedule {
  std::vector<int64_t> milestones;
  double gamma;
  MultiStep(std::vector<int64_t> m, double g) : milestones(std::move(m)), gamma(g) {}
  double lr(double base, int64_t t) const override {
    // bisect_right: milestones already passed (a milestone m takes effect at t = m)
    const auto passed = std::upper_bound(milestones.begin(), milestones.end(), t) - milestones.begin();
    return base * std::pow(gamma, (double)passed);
  }
};

struct Cosine : Schedule {
  int64_t t_max;
  double eta_min;
  Cosine(int64_t t, double e) : t_max(t), eta_min(e) {}
  double lr(double base, int64_t t) const override {
    return eta_min + (base - eta_min) * (1.0 + std::cos(kPi * (double)t / (double)t_max)) / 2.0;
  }
};

struct Warmup : Schedule {
  int64_t steps;
  double start;
  SchedulePtr after;
  Warmup(int64_t s, double f, SchedulePtr a) : steps(s), start(f), after(std::move(a)) {}
  double lr(double base, int64_t t) const override {
    if (t >= steps) return after->lr(base, t - steps);
    return base * (start + (1.0 - start) * (double)t / (double)steps);
  }
};
}  // namespace

SchedulePtr constant_lr() { return std::make_shared<Constant>(); }

SchedulePtr step_lr(int64_t step_size, double gamma) {
  check(step_size >= 1, "step_lr: step_size must be >= 1, got ", step_size);
  return std::make_shared<Step>(step_size, gamma);
}

SchedulePtr multistep_lr(std::vector<int64_t> milestones, double gamma) {
  for (size_t i = 1; i < milestones.size(); ++i)
    check(milestones[i] > milestones[i - 1], "multistep_lr: milestones must be increasing, got ",
          shape_text(milestones));
  return std::make_shared<MultiStep>(std::move(milestones), gamma);
}

SchedulePtr cosine_lr(int64_t t_max, double eta_min) {
  check(t_max >= 1, "cosine_lr: t_max must be >= 1, got ", t_max);
  return std::make_shared<Cosine>(t_max, eta_min);
}

SchedulePtr warmup(int64_t warmup_steps, double start_factor, SchedulePtr after) {
  check(warmup_steps >= 1, "warmup: warmup_steps must be >= 1, got ", warmup_steps);
  check(start_factor > 0 && start_factor <= 1, "warmup: start_factor must be in (0, 1], got ", start_factor);
  check(after != nullptr, "warmup: the schedule after warm-up is null");
  return std::make_shared<Warmup>(warmup_steps, start_factor, std::move(after));
}

LRScheduler::LRScheduler(Optimizer& opt, SchedulePtr schedule) : opt_(opt), schedule_(std::move(schedule)) {
  check(schedule_ != nullptr, "LRScheduler: null schedule");
  for (const auto& g : opt_.param_groups()) base_.push_back(g.lr);
  apply();
}

void LRScheduler::step() {
  ++t_;
  apply();
}

void LRScheduler::set_last_step(int64_t t) {
  check(t >= 0, "LRScheduler: negative step ", t);
  t_ = t;
  apply();
}

double LRScheduler::lr(size_t group) const { return opt_.param_groups().at(group).lr; }

void LRScheduler::apply() {
  auto& groups = opt_.param_groups();
  check(groups.size() == base_.size(), "LRScheduler: the optimizer has ", groups.size(), " groups, the scheduler ",
        base_.size());
  for (size_t g = 0; g < groups.size(); ++g) groups[g].lr = schedule_->lr(base_[g], t_);
}

}  // namespace dg::optim
