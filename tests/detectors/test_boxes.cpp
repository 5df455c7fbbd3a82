// Boxes: format conversions, area, clipping, the +1 pixel convention, errors, and f64 gradchecks
// through the `detgrad ref` entries (golden values from torchvision are in manifest_boxes.json).
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "autograd/ops/registry.h"
#include "detectors/boxes.h"
#include "detectors/ref/ref_ops.h"
#include "tests/support.h"

using namespace dg;

namespace {
const Conventions kPlusOne = [] {
  Conventions c;
  c.pixel_offset = 1.0;
  return c;
}();
}  // namespace

TEST_CASE("boxes: conversions by hand") {
  // [1, 2, 4, 6]: w = 3, h = 4, centre (2.5, 4)
  Tensor b = tensor({1, 2, 4, 6}, {1, 4}, DType::f64);
  check_close(box_convert(b, "xyxy", "xywh"), {1, 2, 3, 4});
  check_close(box_convert(b, "xyxy", "cxcywh"), {2.5, 4, 3, 4});
  check_close(box_convert(tensor({2.5, 4, 3, 4}, {1, 4}, DType::f64), "cxcywh", "xywh"), {1, 2, 3, 4});
  // Every pair round-trips, on a batched [2, 3, 4] tensor.
  Tensor many = from_vector({0, 0, 1, 1, 2, 3, 7, 5, -1, -2, 0.5, 4, 3, 3, 3.5, 9, 0, 1, 8, 2, 1, 1, 1, 1}, {2, 3, 4},
                            DType::f64);
  for (const char* x : {"xyxy", "xywh", "cxcywh"})
    for (const char* y : {"xyxy", "xywh", "cxcywh"}) {
      Tensor back = box_convert(box_convert(many, "xyxy", x), x, y);
      check_close(box_convert(back, y, "xyxy"), many.to_vector());
    }
}

TEST_CASE("boxes: the +1 pixel convention") {
  // pixels 1..4 and 2..6 inclusive: w = 4 - 1 + 1 = 4, h = 6 - 2 + 1 = 5; the centre stays (2.5, 4)
  Tensor b = tensor({1, 2, 4, 6}, {1, 4}, DType::f64);
  check_close(box_convert(b, "xyxy", "xywh", kPlusOne), {1, 2, 4, 5});
  check_close(box_convert(b, "xyxy", "cxcywh", kPlusOne), {2.5, 4, 4, 5});
  check_close(box_convert(tensor({1, 2, 4, 5}, {1, 4}, DType::f64), "xywh", "xyxy", kPlusOne), {1, 2, 4, 6});
  check_close(box_convert(tensor({2.5, 4, 4, 5}, {1, 4}, DType::f64), "cxcywh", "xyxy", kPlusOne), {1, 2, 4, 6});
  check_close(box_area(b), {12});            // 3 * 4
  check_close(box_area(b, kPlusOne), {20});  // 4 * 5
  // A one-pixel box [3, 3, 3, 3] has area 1 under +1, 0 under the default.
  check_close(box_area(tensor({3, 3, 3, 3}, {1, 4}, DType::f64), kPlusOne), {1});
  check_close(box_area(tensor({3, 3, 3, 3}, {1, 4}, DType::f64)), {0});
}

TEST_CASE("boxes: area keeps the batch shape; inverted boxes give negative areas") {
  Tensor b = from_vector({0, 0, 2, 3, 1, 1, 4, 2, 5, 5, 4, 7}, {3, 4});
  Tensor a = box_area(b);
  CHECK(a.shape() == Shape{3});
  check_close(a, {6, 3, -2});
  CHECK(box_area(zeros({2, 0, 4})).shape() == Shape{2, 0});
}

TEST_CASE("boxes: clip_boxes_to_image") {
  Tensor b = tensor({-3, 2, 15, 30, 4, -1, 5, 6}, {2, 4}, DType::f64);
  // torchvision: x in [0, W] = [0, 10], y in [0, H] = [0, 20]
  check_close(clip_boxes_to_image(b, 20, 10), {0, 2, 10, 20, 4, 0, 5, 6});
  // legacy +1 code: x in [0, W - 1], y in [0, H - 1]
  check_close(clip_boxes_to_image(b, 20, 10, kPlusOne), {0, 2, 9, 19, 4, 0, 5, 6});
}

TEST_CASE("boxes: errors name the op and the shape") {
  CHECK(error_of([] { box_area(zeros({3, 5})); }) == "box_area: boxes must have shape [..., 4], got [3,5]");
  CHECK(error_of([] { box_convert(zeros({4}), "xyxy", "xyz"); }) ==
        "box_convert: unknown box format 'xyz' (known: xyxy, xywh, cxcywh)");
  CHECK(error_of([] {
          box_convert(zeros({2, 3}), "xyxy", "xywh");
        }) == "box_convert: boxes must have shape [..., 4], got [2,3]");
  CHECK(error_of([] { box_area(zeros({2, 4}, DType::i64)); }) == "box_area: boxes must be floating-point, got i64");
  CHECK(error_of([] {
          clip_boxes_to_image(zeros({2, 4}), -1, 5);
        }) == "clip_boxes_to_image: size must be non-negative, got (height -1, width 5)");
}

GRADCHECK_TEST_CASE("boxes: ref entries, conventions through attributes, gradchecks in f64", "box_convert", "box_area",
                    "clip_boxes_to_image") {
  register_all_ref_ops();
  Tensor b = tensor({1, 2, 4, 6}, {1, 4}, DType::f64);
  RefResult r = run_ref("box_area", {{"boxes", b}}, {{"convention", "original"}});
  check_close(r.outputs[0], {20});
  check_close(r.grads[0].second, {-5, -4, 5, 4});  // d/dx1 = -(h + 1), d/dy1 = -(w + 1), ...
  CHECK(error_of([&] {
          run_ref("box_area", {{"boxes", b}}, {{"pixel_offst", "1"}});
        }) == "box_area: unknown attribute 'pixel_offst'");

  Tensor bs = from_vector({0.3, 0.1, 2.2, 3.4, 1.1, 1.7, 4.9, 2.6, -2, 4.6, 12, 7.5}, {3, 4}, DType::f64);
  for (const char* in : {"xyxy", "xywh", "cxcywh"})
    for (const char* out : {"xyxy", "xywh", "cxcywh"}) {
      gradcheck_ref_op("box_convert", {{"boxes", bs}}, {{"in_fmt", in}, {"out_fmt", out}});
      gradcheck_ref_op("box_convert", {{"boxes", bs}}, {{"in_fmt", in}, {"out_fmt", out}, {"pixel_offset", "1"}});
    }
  gradcheck_ref_op("box_area", {{"boxes", bs}});
  gradcheck_ref_op("box_area", {{"boxes", bs}}, {{"convention", "original"}});
  gradcheck_ref_op("clip_boxes_to_image", {{"boxes", bs}}, {{"size", "6,10"}});
  gradcheck_ref_op("clip_boxes_to_image", {{"boxes", bs}}, {{"size", "6,10"}, {"pixel_offset", "1"}});
}
