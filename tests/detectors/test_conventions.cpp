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
  CHECK_FALSE(tv.fcos_half_stride_offset);
  CHECK(tv.fcos_center_sampling);
  CHECK(tv.fcos_score_sqrt);
  CHECK(tv.fcos_box_loss == "giou");
  CHECK(tv.retina_anchor_round);
  CHECK(tv.retina_detections_per_image == 300);
  CHECK(tv.focal_normalizer == "per_image");
}

TEST_CASE("conventions: mmdet and original presets") {
  Conventions m = conventions_preset("mmdet");
  CHECK(m.preset == "mmdet");
  CHECK(m.pixel_offset == 0.0);
  CHECK(m.degenerate_boxes == "finite");
  CHECK(m.ciou_alpha_gated);
  CHECK(m.fcos_half_stride_offset);
  CHECK(m.fcos_range_inclusive);
  CHECK_FALSE(m.fcos_center_sampling);
  CHECK_FALSE(m.fcos_score_sqrt);
  CHECK(m.fcos_nms_threshold == 0.5);
  CHECK(m.fcos_box_loss == "iou");
  CHECK(m.retina_detections_per_image == 100);
  CHECK(m.focal_normalizer == "batch_fg");

  Conventions o = conventions_preset("original");
  CHECK(o.pixel_offset == 1.0);
  CHECK(o.degenerate_boxes == "finite");
  CHECK(o.nms_suppress_on_equal);
  CHECK(o.ciou_alpha_gated);
  CHECK(o.fcos_iou_loss_plus_one);
  CHECK_FALSE(o.fcos_center_sampling);
  CHECK(o.fcos_score_sqrt);
  CHECK(o.fcos_nms_threshold == 0.6);
  CHECK(o.retina_box_loss_beta == 0.11);
  CHECK_FALSE(o.retina_anchor_round);
  CHECK(o.focal_normalizer == "batch_fg");

  CHECK(error_of([] { conventions_preset("detectron"); }) ==
        "conventions: unknown preset 'detectron' (known presets: torchvision, mmdet, original)");
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
  set_convention(c, "degenerate_boxes", "finite");
  CHECK(c.degenerate_boxes == "finite");
  set_convention(c, "degenerate_boxes", "nan");
  CHECK(c.degenerate_boxes == "nan");
  set_convention(c, "fcos_nms_threshold", "0.45");
  CHECK(c.fcos_nms_threshold == 0.45);
  set_convention(c, "retina_detections_per_image", "50");
  CHECK(c.retina_detections_per_image == 50);
  set_convention(c, "fcos_box_loss", "linear_iou");
  CHECK(c.fcos_box_loss == "linear_iou");

  CHECK(error_of([&] { set_convention(c, "pixel_ofset", "1"); }).rfind(
            "conventions: unknown field 'pixel_ofset' (known fields: pixel_offset, degenerate_boxes,", 0) == 0);
  CHECK(error_of([&] { set_convention(c, "ciou_alpha_gated", "yes"); }) ==
        "conventions: ciou_alpha_gated='yes' is not a boolean (true or false)");
  CHECK(error_of([&] { set_convention(c, "fcos_center_radius", "wide"); }) ==
        "conventions: fcos_center_radius='wide' is not a number");
  CHECK(error_of([&] { set_convention(c, "retina_detections_per_image", "2.5"); }) ==
        "conventions: retina_detections_per_image='2.5' is not an integer");
  CHECK(error_of([&] { set_convention(c, "degenerate_boxes", "zero"); }) ==
        "conventions: degenerate_boxes='zero' is not one of nan|finite");
  CHECK(error_of([&] { set_convention(c, "pixel_offset", "2"); }) ==
        "conventions: pixel_offset must be 0 or 1, got 2");
}

TEST_CASE("conventions: from attrs (preset, then overrides) and the list of consumed attrs") {
  std::vector<std::string> used;
  Conventions c = conventions_from_attrs({{"convention", "mmdet"}, {"ciou_alpha_gated", "false"}, {"eps", "0.1"}}, &used);
  CHECK(c.preset == "mmdet");
  CHECK_FALSE(c.ciou_alpha_gated);          // overridden
  CHECK(c.degenerate_boxes == "finite");    // from the preset
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
    REQUIRE(fields.size() == 21);
    CHECK(fields[0] == std::pair<std::string, std::string>{"preset", p});
    CHECK(fields[1].first == "pixel_offset");
    CHECK(fields.back().first == "focal_normalizer");
    // Writing every printed value into a different preset reproduces this one.
    Conventions other = conventions_preset(std::string(p) == "mmdet" ? "original" : "mmdet");
    other.preset = p;
    for (size_t i = 1; i < fields.size(); ++i) set_convention(other, fields[i].first, fields[i].second);
    CHECK(convention_fields(other) == fields);
  }
}
