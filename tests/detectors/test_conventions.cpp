// Conventions: every preset's values, both sides of the fields this family implements, parsing and
// its error messages, and the attribute reader used by `detgrad ref`.
#include <doctest/doctest.h>

#include "autograd/error.h"
#include "detectors/conventions.h"
#include "tests/support.h"

using namespace dg;

TEST_CASE("conventions: the torchvision preset is the default") {
  Conventions d, tv = conventions_preset("torchvision");
  CHECK(convention_fields(d) == convention_fields(tv));
  CHECK(tv.pixel_offset == 0.0);
  CHECK(tv.degenerate_boxes == "nan");
  CHECK_FALSE(tv.ciou_alpha_gated);
  CHECK_FALSE(tv.nms_suppress_on_equal);
  CHECK_FALSE(tv.iou_loss_plus_one);
}

TEST_CASE("conventions: mmdet and original presets") {
  Conventions m = conventions_preset("mmdet");
  CHECK(m.preset == "mmdet");
  CHECK(m.pixel_offset == 0.0);
  CHECK(m.degenerate_boxes == "finite");
  CHECK(m.ciou_alpha_gated);
  CHECK_FALSE(m.nms_suppress_on_equal);
  CHECK_FALSE(m.iou_loss_plus_one);

  Conventions o = conventions_preset("original");
  CHECK(o.pixel_offset == 1.0);
  CHECK(o.degenerate_boxes == "finite");
  CHECK(o.nms_suppress_on_equal);
  CHECK(o.ciou_alpha_gated);
  CHECK(o.iou_loss_plus_one);

  CHECK(error_of([] { conventions_preset("detectron"); }) ==
        "conventions: unknown preset 'detectron' (known presets: torchvision, mmdet, original)");
  CHECK(convention_presets() == std::vector<std::string>{"torchvision", "mmdet", "original"});
  for (const std::string& p : convention_presets()) CHECK_NOTHROW(check_convention_preset("x", p));
  CHECK(error_of([] { check_convention_preset("fcos assignment", "yolo"); }) ==
        "fcos assignment: unknown preset 'yolo' (known presets: torchvision, mmdet, original)");
}

TEST_CASE("conventions: set_convention parses every field type") {
  Conventions c;
  set_convention(c, "pixel_offset", "1");
  CHECK(c.pixel_offset == 1.0);
  set_convention(c, "pixel_offset", "0");
  CHECK(c.pixel_offset == 0.0);
  set_convention(c, "ciou_alpha_gated", "true");
  CHECK(c.ciou_alpha_gated);
  set_convention(c, "ciou_alpha_gated", "false");
  CHECK_FALSE(c.ciou_alpha_gated);
  set_convention(c, "iou_loss_plus_one", "1");
  CHECK(c.iou_loss_plus_one);
  set_convention(c, "degenerate_boxes", "finite");
  CHECK(c.degenerate_boxes == "finite");
  set_convention(c, "degenerate_boxes", "nan");
  CHECK(c.degenerate_boxes == "nan");

  CHECK(error_of([&] {
          set_convention(c, "pixel_ofset", "1");
        }).rfind("conventions: unknown field 'pixel_ofset' (known fields: pixel_offset, degenerate_boxes,", 0) == 0);
  CHECK(error_of([&] { set_convention(c, "ciou_alpha_gated", "yes"); }) ==
        "conventions: ciou_alpha_gated='yes' is not a boolean (true or false)");
  CHECK(error_of([&] { set_convention(c, "pixel_offset", "wide"); }) ==
        "conventions: pixel_offset='wide' is not a number");
  CHECK(error_of([&] { set_convention(c, "degenerate_boxes", "zero"); }) ==
        "conventions: degenerate_boxes='zero' is not one of nan|finite");
  CHECK(error_of([&] { set_convention(c, "pixel_offset", "2"); }) == "conventions: pixel_offset must be 0 or 1, got 2");
  // One source of truth: a setting read by one detector lives in that detector's options, not here.
  for (const char* moved : {"fcos_center_sampling", "retina_anchor_round", "gaussian_radius_code", "focal_normalizer"})
    CHECK(error_of([&] { set_convention(c, moved, "true"); }).rfind("conventions: unknown field", 0) == 0);
}

TEST_CASE("conventions: from attrs (preset, then overrides) and the list of consumed attrs") {
  std::vector<std::string> used;
  Conventions c = conventions_from_attrs({{"convention", "mmdet"}, {"ciou_alpha_gated", "false"}, {"eps", "0.1"}},
                                         &used);
  CHECK(c.preset == "mmdet");
  CHECK_FALSE(c.ciou_alpha_gated);                                            // overridden
  CHECK(c.degenerate_boxes == "finite");                                      // from the preset
  CHECK(used == std::vector<std::string>{"convention", "ciou_alpha_gated"});  // eps is not a field
  used.clear();
  Conventions d = conventions_from_attrs({{"pixel_offset", "1"}}, &used);
  CHECK(d.preset == "torchvision");
  CHECK(d.pixel_offset == 1.0);
  CHECK(used == std::vector<std::string>{"pixel_offset"});
}

TEST_CASE("conventions: convention_fields lists every field and round-trips") {
  for (const char* p : {"torchvision", "mmdet", "original"}) {
    Conventions c = conventions_preset(p);
    auto fields = convention_fields(c);
    REQUIRE(fields.size() == 6);
    CHECK(fields[0] == std::pair<std::string, std::string>{"preset", p});
    CHECK(fields[1].first == "pixel_offset");
    CHECK(fields.back().first == "iou_loss_plus_one");
    // Writing every printed value into a different preset reproduces this one.
    Conventions other = conventions_preset(std::string(p) == "mmdet" ? "original" : "mmdet");
    other.preset = p;
    for (size_t i = 1; i < fields.size(); ++i) set_convention(other, fields[i].first, fields[i].second);
    CHECK(convention_fields(other) == fields);
  }
}
