// JSON-lines rows -> plot series; see plot_jsonl.h.
#include "detectors/plot_jsonl.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

namespace dg::plot {

using nlohmann::json;

namespace {

// row[name], or row["a"]["b"] for "a.b" when there is no key "a.b"; nullptr when absent.
const json* find_field(const json& row, const std::string& name) {
  if (auto it = row.find(name); it != row.end()) return &*it;
  const json* at = &row;
  size_t start = 0;
  while (true) {
    const size_t dot = name.find('.', start);
    if (!at->is_object()) return nullptr;
    auto it = at->find(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (it == at->end()) return nullptr;
    at = &*it;
    if (dot == std::string::npos) return at;
    start = dot + 1;
  }
}

bool matches(const json& row, const RowFilter& f) {
  const json* v = find_field(row, f.key);
  if (!v) return false;
  if (v->is_string()) return v->get<std::string>() == f.value;
  if (v->is_boolean()) return (v->get<bool>() ? "true" : "false") == f.value;
  if (v->is_number()) {
    char* end = nullptr;
    const double want = std::strtod(f.value.c_str(), &end);
    return !f.value.empty() && *end == '\0' && v->get<double>() == want;
  }
  return false;
}

// A field as a plot coordinate: a number, or NaN (a gap) for null.
double coordinate(const json& v, const std::string& path, int64_t line, const std::string& field) {
  if (v.is_null()) return NAN;
  if (!v.is_number())
    fail(path, ":", line, ": field '", field, "' is ", v.type_name(), " ", v.dump(), ", not a number");
  return v.get<double>();
}

}  // namespace

RowFilter parse_row_filter(const std::string& s) {
  const size_t eq = s.find('=');
  check(eq != std::string::npos && eq > 0, "plot: a filter must look like KEY=VALUE (e.g. kind=eval), got '", s, "'");
  return {s.substr(0, eq), s.substr(eq + 1)};
}

std::vector<Series> read_jsonl_series(const std::string& path, const std::string& x_field,
                                      const std::vector<std::string>& y_fields, const std::vector<RowFilter>& where) {
  check(!y_fields.empty(), "plot: ", path, ": no y field given");
  std::ifstream in(path);
  check(in.good(), "plot: cannot open '", path, "' (missing file?)");
  std::vector<Series> out(y_fields.size());
  for (size_t k = 0; k < y_fields.size(); ++k) out[k].label = y_fields[k];
  std::set<std::string> seen;  // top-level keys, for the error message when a field is never found
  std::string text;
  for (int64_t line = 1; std::getline(in, text); ++line) {
    if (text.find_first_not_of(" \t\r") == std::string::npos) continue;
    json row;
    try {
      row = json::parse(text);
    } catch (const json::parse_error& e) {
      fail(path, ":", line, ": not valid JSON (", e.what(), ")");
    }
    if (!row.is_object()) fail(path, ":", line, ": expected a JSON object {...}, got ", row.type_name());
    for (const auto& item : row.items()) seen.insert(item.key());
    bool keep = true;
    for (const RowFilter& f : where) keep = keep && matches(row, f);
    const json* x = find_field(row, x_field);
    if (!keep || !x) continue;
    for (size_t k = 0; k < y_fields.size(); ++k)
      if (const json* y = find_field(row, y_fields[k])) {
        out[k].x.push_back(coordinate(*x, path, line, x_field));
        out[k].y.push_back(coordinate(*y, path, line, y_fields[k]));
      }
  }
  for (const Series& s : out)
    if (s.x.empty()) {
      std::string filters, fields;
      for (const RowFilter& f : where) filters += (filters.empty() ? " matching " : ", ") + f.key + "=" + f.value;
      for (const std::string& f : seen) fields += (fields.empty() ? "" : ", ") + f;
      fail("plot: ", path, ": no row has both '", x_field, "' and '", s.label, "'", filters,
           " (fields seen: ", fields.empty() ? "none" : fields, ")");
    }
  return out;
}

}  // namespace dg::plot
