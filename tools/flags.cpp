#include "tools/flags.h"

#include <cctype>
#include <regex>
#include <utility>
#include <vector>

namespace dg::tools {

namespace {
// option name (TrainOptions, ExplainOptions, InferenceOverrides fields) -> flag
const std::vector<std::pair<std::string, std::string>> kFlags = {
    {"out_dir", "--out"},           {"batch", "--batch"},   {"lr", "--lr"},
    {"steps", "--steps"},           {"epochs", "--epochs"}, {"minutes", "--minutes"},
    {"input_size", "--input-size"}, {"amp", "--amp"},       {"scene", "--scene"},
    {"nms_iou", "--nms-iou"},       {"topk", "--topk"}};

bool word_char(char c) { return std::isalnum((unsigned char)c) || c == '_' || c == '-'; }
}  // namespace

// Whole words only ("fcos_batch_targets" keeps its name); "name = v" becomes "flag v".
std::string with_flags(const std::string& message, bool assignments_only) {
  std::string s = message;
  for (const auto& [name, flag] : kFlags) {
    for (size_t pos = s.find(name); pos != std::string::npos; pos = s.find(name, pos + 1)) {
      const size_t end = pos + name.size();
      if ((pos > 0 && word_char(s[pos - 1])) || (end < s.size() && word_char(s[end]))) continue;
      const bool assignment = s.compare(end, 3, " = ") == 0;
      if (assignments_only && !assignment) continue;
      const size_t len = assignment ? name.size() + 2 : name.size();
      s.replace(pos, len, flag);
      pos += flag.size() - 1;
    }
  }
  return s;
}

std::string with_ref_hints(const std::string& message) {
  // The registry says what is missing or unknown; the command line says how to give it.
  static const std::regex missing_inputs("missing input '([^']+)' \\(one or more tensors\\)");
  static const std::regex missing_input("missing input '([^']+)'$");
  static const std::regex missing_attr("missing attribute '([^']+)'$");
  static const std::regex unknown("(unknown (input|attribute) '[^']+')");
  std::string s = std::regex_replace(message, missing_inputs,
                                     "missing input '$1' (pass --in $1=FILE.npy once per tensor)");
  s = std::regex_replace(s, missing_input, "missing input '$1' (pass --in $1=FILE.npy)");
  s = std::regex_replace(s, missing_attr, "missing attribute '$1' (pass --attr $1=VALUE)");
  return std::regex_replace(s, unknown, "$1 (see detgrad ref --list)");
}

}  // namespace dg::tools
