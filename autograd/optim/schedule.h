// Learning-rate schedules: lr as a function of the scheduler step t (0, 1, 2, ...; call
// LRScheduler::step() once per epoch or per iteration, as in PyTorch). Values match
// torch.optim.lr_scheduler (1.13) written in closed form:
//   step_lr:      lr_t = base * gamma^floor(t / step_size)                       (StepLR)
//   multistep_lr: lr_t = base * gamma^(number of milestones <= t)               (MultiStepLR)
//   cosine_lr:    lr_t = eta_min + (base - eta_min) * (1 + cos(pi t / T_max)) / 2 (CosineAnnealingLR)
//   warmup:       lr_t = base * (f0 + (1 - f0) t / W) for t < W, then the next schedule at t - W
//                 (SequentialLR([LinearLR(f0, 1, W), next], milestones=[W]))
//   constant_lr:  lr_t = base
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "autograd/optim/optimizer.h"

namespace dg::optim {

class Schedule {
 public:
  virtual ~Schedule() = default;
  virtual double lr(double base_lr, int64_t t) const = 0;  // learning rate at scheduler step t >= 0
};
using SchedulePtr = std::shared_ptr<const Schedule>;

SchedulePtr constant_lr();
SchedulePtr step_lr(int64_t step_size, double gamma = 0.1);
SchedulePtr multistep_lr(std::vector<int64_t> milestones, double gamma = 0.1);  // milestones increasing
SchedulePtr cosine_lr(int64_t t_max, double eta_min = 0.0);
// Linear warm-up from start_factor * base to base over warmup_steps, then `after` (restarted at 0).
SchedulePtr warmup(int64_t warmup_steps, double start_factor, SchedulePtr after = constant_lr());

// Drives an optimizer's groups: remembers each group's lr at construction as its base lr and sets
// lr = schedule(base, t) at t = 0 (construction) and after every step().
class LRScheduler {
 public:
  LRScheduler(Optimizer& opt, SchedulePtr schedule);
  void step();  // t += 1, then update every group's lr
  int64_t last_step() const { return t_; }
  void set_last_step(int64_t t);  // for resuming from a checkpoint; updates the lrs
  const std::vector<double>& base_lrs() const { return base_; }
  double lr(size_t group = 0) const;  // the current lr of a group

 private:
  void apply();
  Optimizer& opt_;
  SchedulePtr schedule_;
  std::vector<double> base_;
  int64_t t_ = 0;
};

}  // namespace dg::optim
