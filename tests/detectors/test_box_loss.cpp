// Box losses: hand-computed values, reductions (empty mean = 0), the CIoU eps quirk, iou_loss modes
// and the FCOS +1 form, L1 / smooth L1 per box, errors, and f64 gradchecks. torchvision's values are
// in manifest_boxes.json.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/registry.h"
#include "detectors/box_loss.h"
#include "detectors/iou.h"
#include "detectors/ref/ref_ops.h"

using namespace dg;

namespace {
// A = [0, 0, 2, 2], B = [1, 1, 3, 3]: I = 1, U = 7, C = 9, diag^2 = 18, rho^2 = 2, v = 0.
const Tensor kA = tensor({0, 0, 2, 2}, {1, 4}, DType::f64);
const Tensor kB = tensor({1, 1, 3, 3}, {1, 4}, DType::f64);
const double kEps = 1e-7;
}  // namespace

TEST_CASE("box_loss: hand-computed values") {
  const double iou = 1 / (7 + kEps);
  CHECK(generalized_box_iou_loss(kA, kB).item() == doctest::Approx(1 - (iou - 2 / (9 + kEps))).epsilon(1e-15));
  CHECK(distance_box_iou_loss(kA, kB).item() == doctest::Approx(1 - iou + 2 / (18 + kEps)).epsilon(1e-15));
  CHECK(complete_box_iou_loss(kA, kB).item() == doctest::Approx(1 - iou + 2 / (18 + kEps)).epsilon(1e-15));
  CHECK(iou_loss(kA, kB).item() == doctest::Approx(1 - iou).epsilon(1e-15));
  CHECK(iou_loss(kA, kB, IoULossMode::log).item() == doctest::Approx(-std::log(iou)).epsilon(1e-15));
  // Identical boxes: every loss is 0 up to eps (1 - 4/(4 + 1e-7) = 2.5e-8).
  CHECK(complete_box_iou_loss(kA, kA).item() == doctest::Approx(1 - 4 / (4 + kEps)).epsilon(1e-12));
  // Disjoint boxes: log IoU loss is clamped at -log(eps) instead of +inf.
  Tensor far = tensor({10, 10, 11, 11}, {1, 4}, DType::f64);
  CHECK(iou_loss(kA, far, IoULossMode::log).item() == doctest::Approx(-std::log(kEps)).epsilon(1e-15));
  // GIoU of disjoint boxes: I = 0, U = 5, C = 11^2 = 121: loss = 1 - (0 - 116/121) ~ 1.9587
  CHECK(generalized_box_iou_loss(kA, far).item() == doctest::Approx(1 + (121 - 5) / (121 + kEps)).epsilon(1e-15));
}

TEST_CASE("box_loss: complete_box_iou_loss passes eps to alpha only (as torchvision)") {
  // A' = [0,0,4,1], B' = [0,0,1,1]: IoU = 1/(4+1e-7), rho^2 = 2.25, diag^2 = 17, v = 4/pi^2 (atan 1 - atan 4)^2.
  Tensor a = tensor({0, 0, 4, 1}, {1, 4}, DType::f64), b = tensor({0, 0, 1, 1}, {1, 4}, DType::f64);
  const double pi = 3.14159265358979323846;
  const double v = 4 / (pi * pi) * std::pow(std::atan(1.0) - std::atan(4.0), 2);
  const double iou = 1 / (4 + kEps), pen = 2.25 / (17 + kEps);
  for (double eps : {1e-7, 0.3}) {
    const double alpha = v / (1 - iou + v + eps);
    CHECK(complete_box_iou_loss(a, b, Reduction::none, eps).item() ==
          doctest::Approx(1 - iou + pen + alpha * v).epsilon(1e-14));
  }
  // Gated (mmdet / original): IoU 1/4 <= 0.5 -> alpha = 0 -> the DIoU loss.
  Conventions gated;
  gated.ciou_alpha_gated = true;
  CHECK(complete_box_iou_loss(a, b, Reduction::none, kEps, gated).item() == distance_box_iou_loss(a, b).item());
}

TEST_CASE("box_loss: reductions; the mean of no boxes is 0") {
  Tensor b1 = from_vector({0, 0, 2, 2, 1, 1, 4, 3, 0, 0, 1, 5}, {3, 4}, DType::f64);
  Tensor b2 = from_vector({1, 1, 3, 3, 0.5, 1, 4, 4, 0, 1, 2, 5}, {3, 4}, DType::f64);
  Tensor none = generalized_box_iou_loss(b1, b2);
  CHECK(none.shape() == Shape{3});
  double s = 0;
  for (double v : none.to_vector()) s += v;
  CHECK(generalized_box_iou_loss(b1, b2, Reduction::sum).item() == doctest::Approx(s).epsilon(1e-15));
  CHECK(generalized_box_iou_loss(b1, b2, Reduction::mean).item() == doctest::Approx(s / 3).epsilon(1e-15));
  Tensor e = zeros({0, 4}, DType::f64);
  CHECK(generalized_box_iou_loss(e, e, Reduction::mean).item() == 0.0);
  CHECK(complete_box_iou_loss(e, e, Reduction::mean).item() == 0.0);
  CHECK(iou_loss(e, e, IoULossMode::log, Reduction::mean).item() == 0.0);
  CHECK(error_of([&] { generalized_box_iou_loss(b1, b2, Reduction::batchmean); }) ==
        "generalized_box_iou_loss: reduction must be none, mean or sum, got batchmean");
}

TEST_CASE("box_loss: iou_loss with the FCOS +1 form and the pixel offset") {
  // (I + 1) / (U + 1) = 2 / 8 for A, B.
  Conventions fcos;
  fcos.iou_loss_plus_one = true;
  CHECK(iou_loss(kA, kB, IoULossMode::linear, Reduction::none, kEps, fcos).item() ==
        doctest::Approx(0.75).epsilon(1e-15));
  CHECK(iou_loss(kA, kB, IoULossMode::log, Reduction::none, kEps, fcos).item() ==
        doctest::Approx(std::log(4.0)).epsilon(1e-15));
  // pixel_offset = 1: areas 9 and 9, I = 2*2 = 4, U = 14.
  Conventions plus1;
  plus1.pixel_offset = 1;
  CHECK(iou_loss(kA, kB, IoULossMode::linear, Reduction::none, 0.0, plus1).item() ==
        doctest::Approx(1 - 4.0 / 14).epsilon(1e-15));
  CHECK(parse_iou_loss_mode("log") == IoULossMode::log);
  CHECK(error_of([] { parse_iou_loss_mode("sqrt"); }) == "iou_loss: unknown mode 'sqrt' (known: linear, log)");
}

TEST_CASE("box_loss: L1 and smooth L1 per box") {
  // d = (0.5, -2, 0.1, 1): L1 = 3.6; smooth L1 beta 1: 0.125 + 1.5 + 0.005 + 0.5 = 2.13
  Tensor p = tensor({1.5, 0, 2.1, 4, 0, 0, 1, 1}, {2, 4}, DType::f64);
  Tensor t = tensor({1, 2, 2, 3, 0, 0, 1, 1}, {2, 4}, DType::f64);
  Tensor l1 = box_l1_loss(p, t);
  CHECK(l1.shape() == Shape{2});
  CHECK(l1.at(0) == doctest::Approx(3.6).epsilon(1e-14));
  CHECK(l1.at(1) == 0.0);
  CHECK(box_smooth_l1_loss(p, t, 1.0, Reduction::sum).item() == doctest::Approx(2.13).epsilon(1e-14));
  CHECK(box_smooth_l1_loss(p, t, 0.0, Reduction::mean).item() == doctest::Approx(1.8).epsilon(1e-14));
  CHECK(error_of([] {
          box_l1_loss(zeros({2, 3}), zeros({2, 3}));
        }) == "box_l1_loss: expected boxes1 and boxes2 of one shape [..., 4], got [2,3] and [2,3]");
  CHECK(error_of([] {
          box_smooth_l1_loss(zeros({2, 4}), zeros({4}), 1.0);
        }) == "box_smooth_l1_loss: expected boxes1 and boxes2 of one shape [..., 4], got [2,4] and [4]");
}

TEST_CASE("box_loss: errors") {
  CHECK(error_of([] {
          generalized_box_iou_loss(zeros({3, 4}), zeros({4, 4}));
        }) == "generalized_box_iou_loss: expected boxes1 and boxes2 of one shape [..., 4], got [3,4] and [4,4]");
  CHECK(error_of([] {
          complete_box_iou_loss(zeros({3, 4}), zeros({3, 4}, DType::f64));
        }) == "complete_box_iou_loss: dtype mismatch: f32 and f64");
  CHECK(error_of([] {
          iou_loss(zeros({2, 5}), zeros({2, 5}));
        }) == "iou_loss: expected boxes1 and boxes2 of one shape [..., 4], got [2,5] and [2,5]");
  CHECK(error_of([] {
          distance_box_iou_loss(zeros({2, 4}), zeros({2, 4}, DType::i64));
        }) == "distance_box_iou_loss: dtype mismatch: f32 and i64");
}

GRADCHECK_TEST_CASE("box_loss: gradchecks in f64", "generalized_box_iou_loss", "distance_box_iou_loss", "iou_loss") {
  Tensor b1 = from_vector({0.1, 0.2, 2.3, 2.1, 1.05, 0.55, 4.2, 3.45, 5.1, 5.3, 6.2, 7.4, 0.3, 0.4, 1.2, 0.9},
                          {2, 2, 4}, DType::f64);
  Tensor b2 = from_vector({1.2, 0.9, 3.1, 3.3, 0.45, 0.15, 4.65, 3.05, 4.35, 6.1, 6.55, 8.45, 3.0, 3.5, 4.0, 6.0},
                          {2, 2, 4}, DType::f64);
  for (const char* op : {"generalized_box_iou_loss", "distance_box_iou_loss"})
    for (const char* red : {"none", "mean", "sum"}) {
      gradcheck_ref_op(op, {{"boxes1", b1}, {"boxes2", b2}}, {{"reduction", red}});
      gradcheck_ref_op(op, {{"boxes1", b1}, {"boxes2", b2}},
                       {{"reduction", red}, {"convention", "original"}, {"eps", "0.2"}});
    }
  for (const char* mode : {"linear", "log"}) {
    gradcheck_ref_op("iou_loss", {{"boxes1", b1}, {"boxes2", b2}}, {{"mode", mode}});
    gradcheck_ref_op("iou_loss", {{"boxes1", b1}, {"boxes2", b2}},
                     {{"mode", mode}, {"convention", "original"}, {"reduction", "mean"}});
  }
}

GRADCHECK_TEST_CASE("box_loss: complete_box_iou_loss gradients are those of the fixed-alpha loss",
                    "complete_box_iou_loss") {
  // alpha has no gradient (see NOTE [ Gradchecking CIoU ] in test_iou.cpp): the loss's gradient must
  // equal that of F = 1 - iou + penalty + alpha0 v with alpha0 frozen at the base point, and F must
  // pass a gradcheck.
  Tensor b1 = from_vector({0.1, 0.2, 2.3, 2.1, 1.05, 0.55, 4.2, 3.45, 5.1, 5.3, 6.2, 7.4, 0.3, 0.4, 1.2, 0.9}, {4, 4},
                          DType::f64);
  Tensor b2 = from_vector({1.2, 0.9, 3.1, 3.3, 0.45, 0.15, 4.65, 3.05, 4.35, 6.1, 6.55, 8.45, 3.0, 3.5, 4.0, 6.0},
                          {4, 4}, DType::f64);
  for (const char* preset : {"torchvision", "original"})
    for (double eps : {1e-7, 0.2})
      for (Reduction red : {Reduction::none, Reduction::mean}) {
        CAPTURE(preset);
        CAPTURE(eps);
        Conventions c = conventions_preset(preset);
        PairedIoUTerms t0 = paired_iou_terms(IoUKind::ciou, b1, b2, 1e-7, c);
        Tensor alpha0 = ciou_alpha(t0.v, t0.iou, eps, c);
        auto fixed = [&](const Tensor& x, const Tensor& y) {
          PairedIoUTerms t = paired_iou_terms(IoUKind::ciou, x, y, 1e-7, c);
          return reduce_box_loss("fixed", add(add(1.0 - t.iou, t.penalty), mul(alpha0, t.v)), red);
        };
        auto f = [&](const std::vector<Tensor>& v) { return fixed(v[0], v[1]); };
        check_grad("complete_box_iou_loss", f,
                   {b1.contiguous_copy_no_grad().set_requires_grad(true),
                    b2.contiguous_copy_no_grad().set_requires_grad(true)});
        std::vector<Tensor> ga, gb;
        for (int k = 0; k < 2; ++k) {
          Tensor x1 = b1.contiguous_copy_no_grad().set_requires_grad(true);
          Tensor x2 = b2.contiguous_copy_no_grad().set_requires_grad(true);
          Tensor out = k == 0 ? complete_box_iou_loss(x1, x2, red, eps, c) : fixed(x1, x2);
          Tensor u = reshape(add(mul(arange(0.0, (double)out.numel(), 1.0, DType::f64), 0.41), -0.7), out.shape());
          sum(mul(out, u)).backward();
          (k == 0 ? ga : gb) = {x1.grad(), x2.grad()};
        }
        check_close(ga[0], gb[0], 1e-12, "grad boxes1 of the loss vs of the fixed-alpha loss");
        check_close(ga[1], gb[1], 1e-12, "grad boxes2 of the loss vs of the fixed-alpha loss");
      }
}

TEST_CASE("box_loss: f16 and bf16 boxes compute in f32 and round back") {
  Tensor b1 = from_vector({0.1, 0.2, 2.3, 2.1, 1.05, 0.55, 4.2, 3.45}, {2, 4}, DType::f32);
  Tensor b2 = from_vector({1.2, 0.9, 3.1, 3.3, 0.45, 0.15, 4.65, 3.05}, {2, 4}, DType::f32);
  for (DType h : {DType::f16, DType::bf16})
    for (const char* preset : {"torchvision", "mmdet"}) {
      Conventions c = conventions_preset(preset);
      Tensor x1 = b1.to(h), x2 = b2.to(h);
      // reference: the same (rounded) boxes in f32
      Tensor want = complete_box_iou_loss(x1.to(DType::f32), x2.to(DType::f32), Reduction::none, 1e-7, c);
      Tensor got = complete_box_iou_loss(x1, x2, Reduction::none, 1e-7, c);
      CHECK(got.dtype() == h);
      check_close(got, want, h == DType::f16 ? 1e-2 : 5e-2, "half vs f32 on the rounded boxes");
      Tensor m = box_iou(x1, x2, c);
      CHECK(m.dtype() == h);
      CHECK(m.at(0) == doctest::Approx(box_iou(x1.to(DType::f32), x2.to(DType::f32), c).at(0)).epsilon(1e-2));
    }
}

TEST_CASE("box_loss: L1 / smooth L1 gradchecks in f64") {
  // differences kept away from the kinks at 0 and at +-beta
  Tensor p = from_vector({1.6, 0.2, 2.1, 4.0, 0.3, -0.6, 1.0, 1.7}, {2, 4}, DType::f64);
  Tensor t = from_vector({1.0, 2.0, 1.8, 3.2, 0.9, 0.1, 1.45, 0.2}, {2, 4}, DType::f64);
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
    auto l1 = [r](const std::vector<Tensor>& v) { return box_l1_loss(v[0], v[1], r); };
    auto sl1 = [r](const std::vector<Tensor>& v) { return box_smooth_l1_loss(v[0], v[1], 0.5, r); };
    const std::vector<Tensor> in = {p.contiguous_copy_no_grad().set_requires_grad(true),
                                    t.contiguous_copy_no_grad().set_requires_grad(true)};
    check_grad("box_l1_loss", l1, in);
    check_grad("box_smooth_l1_loss", sl1, in);
  }
}
