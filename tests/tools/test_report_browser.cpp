// The run report (detectors/pipeline/report.h) opened in a real browser: `detgrad demo` writes
// RUN/report.html; headless Chromium loads it, the page's own check finds every image decoded and
// every section present with no script error, and a screenshot is taken. A report with a broken
// image is caught the same way (so the check can fail). Without Debian's chromium installed
// (./install.sh --ci installs it; .ci/run runs this test after that) the browser part is skipped
// with a message; the HTML checks still run.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tests/support.h"

namespace fs = std::filesystem;

namespace {
std::string read(const fs::path& p) { return read_text(p.string()); }

bool have_chromium() { return std::system("command -v chromium >/dev/null 2>&1") == 0; }

// Chromium's DOM after the page's scripts ran, and its stderr.
std::string dump_dom(const std::string& html, std::string& log) {
  const std::string cmd =
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --virtual-time-budget=5000 "
      "--enable-logging=stderr --v=0 --dump-dom 'file://" +
      html + "' 2>" + html + ".log";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[65536];
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  pclose(p);
  log = read(html + ".log");
  return out;
}

std::string status_of(const std::string& dom) {
  const std::string key = "id=\"selfcheck\" data-status=\"";
  const size_t at = dom.find(key);
  if (at == std::string::npos) return "(no #selfcheck)";
  return dom.substr(at + key.size(), dom.find('"', at + key.size()) - at - key.size());
}
}  // namespace

TEST_CASE("report browser: a demo run's report opens in headless Chromium with no broken image or error") {
  const std::string dir = fresh_temp_dir("report", "run");
  std::string out;
  REQUIRE(run_detgrad("demo --model centernet --steps 6 --batch 4 --train-size 16 --val-size 8 --warmup 2 --workers 1 "
                      "--pictures 8 --out " +
                          dir,
                      out) == 0);
  CHECK(fs::exists(fs::path(dir) / "detections.png"));  // the demo's pictures, embedded in the report
  CHECK(fs::exists(fs::path(dir) / "heatmaps.png"));
  CHECK(out.find("report: " + dir + "/report.html") != std::string::npos);
  const fs::path html = fs::path(dir) / "report.html";
  const std::string text = read(html);
  for (const char* id : {"config", "curves", "eval", "summary", "pictures"})
    CHECK_MESSAGE(text.find(std::string("<section id=\"") + id + "\">") != std::string::npos, id);
  CHECK(text.find("src=\"http") == std::string::npos);  // self-contained: nothing fetched
  CHECK(text.find("data:image/png;base64,") != std::string::npos);
  CHECK(text.find("data:image/svg+xml;base64,") != std::string::npos);
  // `detgrad report` of two runs overlays them (and takes the same runs twice without trouble).
  REQUIRE(run_detgrad("report " + dir + " " + dir + " --no-pictures --out " + dir + "/two.html", out) == 0);
  const std::string two = read(fs::path(dir) / "two.html");
  CHECK(count_of(two, "<tr><td>run</td>") == 2);  // one config row per run
  CHECK(run_detgrad("report /nonexistent_run", out) != 0);
  CHECK(out.find("has no config.json") != std::string::npos);

  if (!have_chromium()) {
    MESSAGE("chromium is not installed: the browser check is skipped (./install.sh --ci installs it)");
    return;
  }
  std::string log;
  const std::string dom = dump_dom(html.string(), log);
  CHECK(status_of(dom) == "ok");
  CHECK(log.find("Uncaught") == std::string::npos);
  CHECK(log.find(":CONSOLE(") == std::string::npos);  // nothing logged to the console
  const std::string shot = (fs::path(dir) / "report.png").string();
  const std::string cmd =
      "timeout 120 chromium --headless --no-sandbox --disable-gpu --window-size=1280,2400 "
      "--screenshot='" +
      shot + "' 'file://" + html.string() + "' >/dev/null 2>&1";
  CHECK(std::system(cmd.c_str()) == 0);
  CHECK(fs::exists(shot));
  CHECK(fs::file_size(shot) > 50000);  // a page with plots and pictures, not a blank one

  // The check can fail: one image's data cut short is reported as broken.
  std::string broken = text;
  const size_t at = broken.find("data:image/png;base64,");
  broken.replace(at + 22, 40, "AAAA");
  const fs::path bad = fs::path(dir) / "broken.html";
  std::ofstream(bad) << broken;
  CHECK(status_of(dump_dom(bad.string(), log)).rfind("failed: broken image", 0) == 0);
}
