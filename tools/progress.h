// A one-line progress bar for long work: step/total, named values (losses), items/s and ETA.
// On a terminal it redraws in place; otherwise (logs, CI) it prints a line every `every` steps.
#pragma once
#include <chrono>
#include <string>
#include <utility>
#include <vector>

namespace dg::tools {

class ProgressBar {
 public:
  // first: the step the bar starts at (a resumed epoch); items/s and the ETA count from there.
  ProgressBar(std::string label, long total, long items_per_step = 1, long every = 0, long first = 0);
  void update(long step, const std::vector<std::pair<std::string, double>>& values);
  void finish();

 private:
  std::string label_;
  long total_, items_per_step_, every_, first_;
  bool tty_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace dg::tools
