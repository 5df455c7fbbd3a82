#include "bench/reference.h"

#include <array>
#include <cstdio>

namespace dg::bench {

nlohmann::json run_json_command(const std::string& command) {
  FILE* p = popen(command.c_str(), "r");
  if (!p) return nullptr;
  std::string out;
  std::array<char, 4096> buf;
  while (size_t n = std::fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  if (pclose(p) != 0 || out.empty()) return nullptr;
  try {
    return nlohmann::json::parse(out.substr(0, out.find('\n')));
  } catch (const std::exception&) {
    return nullptr;
  }
}

}  // namespace dg::bench
