// The run report: one self-contained HTML file (`detgrad report RUN_DIR... --out report.html`, and
// RUN/report.html at the end of `train` and `demo`) that a student opens after training. Nothing is
// fetched: the plots are inline SVG, the pictures PNG data URIs, the style inline. Sections, each with
// a line saying what it shows (docs/reading_a_run.md walks through them):
//   #config     the options and data of each run (config.json) and the model's one-line description
//   #curves     the loss parts and the task's metrics against images seen and against minutes of
//               training (metrics.jsonl); several runs overlaid, each curve named by its run
//   #eval       the last evaluation of each run (eval.json): its numbers (for a detector the 12 COCO
//               numbers and the class-agnostic AP@0.5) and its per-class table
//   #summary    the model summary at depth 1 (layers/summary.h): output shapes, parameters, multiply-adds
//   #pictures   the predictions on validation scenes (RUN/detections.png when the run wrote it, else
//               drawn now from an evaluation of 8 scenes) and the explain pictures of one scene
// A small script at the end checks, once the page has loaded, that every image decoded and every
// section is there, and records the result (and any script error) in #selfcheck, which the browser
// test reads (tests/tools/test_report_browser.cpp).
#pragma once
#include <string>
#include <vector>

namespace dg::det {

struct ReportOptions {
  bool pictures = true;  // draw and embed the pictures (the slow part: an evaluation and explain)
};

// The HTML text. dg::Error naming the run for a directory without config.json / metrics.jsonl.
std::string run_report_html(const std::vector<std::string>& run_dirs, const ReportOptions& o = {});

// Writes it atomically to out_path (its folder created); returns out_path.
std::string write_run_report(const std::vector<std::string>& run_dirs, const std::string& out_path,
                             const ReportOptions& o = {});

}  // namespace dg::det
