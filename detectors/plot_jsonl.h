// Plot series from JSON-lines metric logs (RUN_DIR/metrics.jsonl, the bench/ scripts' output): each
// line is one JSON object, e.g. {"kind": "eval", "images": 6400, "minutes": 1.2, "AP50": 0.31}.
//
// A row contributes a point (x, y) to the series of field y when it has both fields and matches every
// filter. Numbers are taken as they are, null is a missing point (a gap in the curve: that is how
// nlohmann::json and JavaScript write NaN); any other kind of value is an error. A field name with dots
// ("coco.AP50") looks inside nested objects when no top-level key has that exact name.
// Errors name the file, and the line for a line that is not a JSON object.
#pragma once
#include <string>
#include <vector>

#include "detectors/plot.h"

namespace dg::plot {

// --where key=value: a row matches when its field `key` is the string `value`, the number `value`
// (compared as numbers, so 1 matches 1.0) or the boolean `value` ("true"/"false").
struct RowFilter {
  std::string key, value;
};
RowFilter parse_row_filter(const std::string& key_eq_value);  // "kind=eval"; error without '='

// One series per entry of `y_fields` (labelled with the field name), x from field `x_field`, in file
// order. Blank lines are skipped. A y field no matching row has is an error listing the fields seen.
std::vector<Series> read_jsonl_series(const std::string& path, const std::string& x_field,
                                      const std::vector<std::string>& y_fields,
                                      const std::vector<RowFilter>& where = {});

}  // namespace dg::plot
