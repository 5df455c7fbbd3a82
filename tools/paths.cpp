// Output paths that never destroy input (see paths.h).
#include "tools/paths.h"

#include <filesystem>
#include <set>

#include "autograd/error.h"

namespace dg::tools {

namespace {
namespace fs = std::filesystem;

fs::path resolved(const std::string& p) {
  std::error_code ec;
  fs::path r = fs::weakly_canonical(fs::absolute(p), ec);
  return ec ? fs::absolute(p).lexically_normal() : r;
}
}  // namespace

void refuse_overwrite(const std::string& command, const std::string& what, const std::string& out,
                      const std::vector<std::string>& inputs) {
  const fs::path o = resolved(out);
  for (const std::string& in : inputs) {
    if (in.empty()) continue;
    std::error_code ec;
    const bool same = fs::exists(in) && fs::exists(out) ? fs::equivalent(in, out, ec) : resolved(in) == o;
    check(!same, command, ": ", what, " ", out, " would overwrite the input ", in, "; choose another path");
  }
}

std::vector<std::string> unique_stems(const std::vector<std::string>& files) {
  std::set<std::string> used;
  std::vector<std::string> r;
  for (const std::string& f : files) {
    const std::string stem = fs::path(f).stem().string();
    std::string name = stem;
    for (int k = 2; used.count(name); ++k) name = stem + "_" + std::to_string(k);
    used.insert(name);
    r.push_back(name);
  }
  return r;
}

}  // namespace dg::tools
