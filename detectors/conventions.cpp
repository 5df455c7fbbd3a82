// Conventions: presets, and reading/writing single fields by name. The facts behind each preset are
// in ../shared/DETECTION_NOTES.md; docs/conventions.md tables every field.
//
// One table (fields()) lists every field once with a pointer to its member, so parsing, printing and
// the attribute reader can never disagree about the set of fields or their names.
#include "detectors/conventions.h"

#include <cstdlib>
#include <sstream>
#include <type_traits>
#include <variant>

#include "autograd/error.h"

namespace dg {

namespace {

// A field: its name and a pointer to the member it lives in (one of three types).
using Member = std::variant<double Conventions::*, bool Conventions::*, std::string Conventions::*>;
struct Field {
  const char* name;
  Member member;
  const char* choices;  // allowed values of a string field, "|"-separated ("" = any)
};

const std::vector<Field>& fields() {
  static const std::vector<Field> f = {
      {"pixel_offset", &Conventions::pixel_offset, ""},
      {"degenerate_boxes", &Conventions::degenerate_boxes, "nan|finite"},
      {"nms_suppress_on_equal", &Conventions::nms_suppress_on_equal, ""},
      {"ciou_alpha_gated", &Conventions::ciou_alpha_gated, ""},
      {"iou_loss_plus_one", &Conventions::iou_loss_plus_one, ""},
  };
  return f;
}

const Field* find_field(const std::string& name) {
  for (const Field& f : fields())
    if (name == f.name) return &f;
  return nullptr;
}

std::string field_names() {
  std::string r;
  for (const Field& f : fields()) r += (r.empty() ? "" : ", ") + std::string(f.name);
  return r;
}

// "0.5" -> 0.5; the whole string must be a number.
double parse_number(const std::string& field, const std::string& v) {
  char* end = nullptr;
  double d = std::strtod(v.c_str(), &end);
  check(!v.empty() && end && *end == 0, "conventions: ", field, "='", v, "' is not a number");
  return d;
}

std::string format_number(double d) {
  std::ostringstream os;
  os << d;
  return os.str();
}

}  // namespace

// The presets. torchvision is the struct's defaults; the others list only what differs, each line
// with the reference it follows (see DETECTION_NOTES.md).
const std::vector<std::string>& convention_presets() {
  static const std::vector<std::string> names = {"torchvision", "mmdet", "original"};
  return names;
}

void check_convention_preset(const std::string& what, const std::string& name) {
  for (const std::string& p : convention_presets())
    if (p == name) return;
  fail(what, ": unknown preset '", name, "' (known presets: torchvision, mmdet, original)");
}

Conventions conventions_preset(const std::string& name) {
  check_convention_preset("conventions", name);
  Conventions c;
  c.preset = name;
  if (name == "torchvision") return c;
  if (name == "mmdet") {
    c.degenerate_boxes = "finite";  // mmcv bbox_overlaps clamps the union to eps: 0/eps = 0
    c.ciou_alpha_gated = true;      // mmdet ciou_loss: alpha = (iou > 0.5) * v / (1 - iou + v)
    return c;
  }
  if (name == "original") {
    c.pixel_offset = 1.0;            // py-faster-rcnn / Detectron / VOC: width = x2 - x1 + 1
    c.degenerate_boxes = "finite";   // with +1 no union is ever zero; keep everything finite
    c.nms_suppress_on_equal = true;  // legacy +1 NMS suppresses on IoU >= thr
    c.ciou_alpha_gated = true;       // the CIoU authors' detectron/YOLACT code: S = (IoU > 0.5)
    c.iou_loss_plus_one = true;      // FCOS IOULoss: (I + 1) / (U + 1)
    return c;
  }
  return c;
}

void set_convention(Conventions& c, const std::string& field, const std::string& value) {
  const Field* f = find_field(field);
  check(f != nullptr, "conventions: unknown field '", field, "' (known fields: ", field_names(), ")");
  std::visit(
      [&](auto m) {
        using V = std::remove_cvref_t<decltype(c.*m)>;
        if constexpr (std::is_same_v<V, bool>) {
          if (value == "true" || value == "1") c.*m = true;
          else if (value == "false" || value == "0") c.*m = false;
          else fail("conventions: ", field, "='", value, "' is not a boolean (true or false)");
        } else if constexpr (std::is_same_v<V, double>) {
          c.*m = parse_number(field, value);
        } else {
          std::string allowed = std::string("|") + f->choices + "|";
          check(!*f->choices || allowed.find("|" + value + "|") != std::string::npos, "conventions: ", field, "='",
                value, "' is not one of ", f->choices);
          c.*m = value;
        }
      },
      f->member);
  if (field == "pixel_offset")
    check(c.pixel_offset == 0.0 || c.pixel_offset == 1.0, "conventions: pixel_offset must be 0 or 1, got ", value);
}

Conventions conventions_from_attrs(const std::map<std::string, std::string>& attrs,
                                   std::vector<std::string>* consumed) {
  auto it = attrs.find("convention");
  Conventions c = conventions_preset(it == attrs.end() ? "torchvision" : it->second);
  if (consumed && it != attrs.end()) consumed->push_back("convention");
  for (const auto& [k, v] : attrs) {
    if (!find_field(k)) continue;
    set_convention(c, k, v);
    if (consumed) consumed->push_back(k);
  }
  return c;
}

std::vector<std::pair<std::string, std::string>> convention_fields(const Conventions& c) {
  std::vector<std::pair<std::string, std::string>> r;
  r.push_back({"preset", c.preset});
  for (const Field& f : fields()) {
    std::string v = std::visit(
        [&](auto m) -> std::string {
          using V = std::remove_cvref_t<decltype(c.*m)>;
          if constexpr (std::is_same_v<V, bool>) return c.*m ? "true" : "false";
          else if constexpr (std::is_same_v<V, double>) return format_number(c.*m);
          else return c.*m;
        },
        f.member);
    r.push_back({f.name, v});
  }
  return r;
}

}  // namespace dg
