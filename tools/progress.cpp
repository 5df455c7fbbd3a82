#include "tools/progress.h"

#include <unistd.h>

#include <cstdio>

namespace dg::tools {

ProgressBar::ProgressBar(std::string label, long total, long items_per_step, long every, long first)
    : label_(std::move(label)), total_(total), items_per_step_(items_per_step),
      every_(every > 0 ? every : std::max(1L, total / 10)), first_(first), tty_(isatty(fileno(stderr))),
      start_(std::chrono::steady_clock::now()) {}

void ProgressBar::update(long step, const std::vector<std::pair<std::string, double>>& values) {
  if (!tty_ && step % every_ != 0 && step != total_) return;
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const long done = step - first_;  // steps since this bar started
  double rate = secs > 0 ? (double)done * (double)items_per_step_ / secs : 0;
  double eta = done > 0 ? secs * (double)(total_ - step) / (double)done : 0;
  const int width = 24;
  int filled = total_ > 0 ? (int)((double)width * (double)step / (double)total_) : width;
  std::string bar = std::string((size_t)filled, '#') + std::string((size_t)(width - filled), '.');
  std::fprintf(stderr, "%s%s [%s] %ld/%ld", tty_ ? "\r" : "", label_.c_str(), bar.c_str(), step, total_);
  for (auto& [k, v] : values) std::fprintf(stderr, "  %s %.4f", k.c_str(), v);
  std::fprintf(stderr, "  %.0f items/s  ETA %.0fs%s", rate, eta, tty_ ? "   " : "\n");
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (tty_) std::fprintf(stderr, "\n");
}

}  // namespace dg::tools
