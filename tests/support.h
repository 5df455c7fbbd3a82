// Helpers shared by the test suites.
#pragma once
#include <sys/wait.h>
#include <cstdio>
#include <unistd.h>
#include <filesystem>
#include <cstring>
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "autograd/error.h"
#include "autograd/ops/gradcheck.h"
#include "autograd/ops/registry.h"
#include "detectors/ref/ref_ops.h"

// Asserts that `expr` throws dg::Error whose message contains `needle` (and prints the message if not).
#define CHECK_THROWS_WITH_PART(expr, needle)                                             \
  do {                                                                                   \
    std::string msg_;                                                                    \
    try { (void)(expr); } catch (const dg::Error& e) { msg_ = e.what(); }                \
    CHECK_MESSAGE(msg_.find(needle) != std::string::npos, "message: '" << msg_ << "'"); \
  } while (0)

// The message of the dg::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const dg::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Gradchecks (f64) the registry op `op` on named inputs: every input gets requires_grad, attrs as on the
// command line. Failures print the op, the attributes and gradcheck's message.
inline void gradcheck_ref_op(const std::string& op, const std::vector<std::pair<std::string, dg::Tensor>>& inputs,
                             const std::map<std::string, std::string>& attrs = {}) {
  dg::register_all_ref_ops();
  const dg::OpSpec& spec = dg::find_ref_op(op);
  std::vector<dg::Tensor> xs;
  for (const auto& [name, t] : inputs) xs.push_back(t.contiguous_copy_no_grad().set_requires_grad(true));
  dg::GradFn f = [&](const std::vector<dg::Tensor>& v) {
    std::vector<std::pair<std::string, dg::Tensor>> named;
    for (size_t i = 0; i < v.size(); ++i) named.push_back({inputs[i].first, v[i]});
    dg::OpArgs args(op, named, attrs);
    return spec.run(args);
  };
  dg::GradcheckResult r = dg::gradcheck(f, xs);
  CAPTURE(op);
  for (const auto& [k, v] : attrs) CAPTURE(k + "=" + v);
  CHECK_MESSAGE(r.ok, r.message);
}

// Same shape, dtype and bytes.
inline bool same_bytes(const dg::Tensor& a, const dg::Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// A fresh, empty directory for one test: $TMPDIR/detgrad_<group>_<pid>/<name> (removed and re-created).
inline std::string fresh_temp_dir(const std::string& group, const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / ("detgrad_" + group + "_" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// Runs the detgrad CLI of this build with `args`; returns its exit status, stdout+stderr in `out`.
inline int run_detgrad(const std::string& args, std::string& out) {
  const std::string cmd = std::string(DETGRAD_BINARY_DIR) + "/detgrad " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  out.clear();
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
