// Focal losses: hand-computed values (arithmetic in the comments), the alpha < 0 switch, CenterNet's
// no-positive case and clamp, varifocal weighting, errors, and f64 gradchecks. torchvision's
// sigmoid_focal_loss values are in manifest_boxes.json.
#include <doctest/doctest.h>

#include <cmath>

#include "autograd/ops.h"
#include "autograd/ops/registry.h"
#include "detectors/fcos/loss.h"
#include "detectors/focal_loss.h"
#include "detectors/ref/ref_ops.h"
#include "tests/support.h"

using namespace dg;

namespace {
const double kLog2 = std::log(2.0);
}  // namespace

TEST_CASE("focal: sigmoid_focal_loss by hand") {
  // x = 0 -> p = 1/2, BCE = log 2 for y = 1 and y = 0; p_t = 1/2; (1 - p_t)^2 = 1/4.
  // alpha_t = 0.25 (y = 1) or 0.75 (y = 0).
  Tensor x = zeros({2}, DType::f64), y = tensor({1, 0}, {2}, DType::f64);
  Tensor l = sigmoid_focal_loss(x, y);
  CHECK(l.at(0) == doctest::Approx(0.25 * 0.25 * kLog2).epsilon(1e-15));
  CHECK(l.at(1) == doctest::Approx(0.75 * 0.25 * kLog2).epsilon(1e-15));
  // alpha < 0: no alpha_t factor
  CHECK(sigmoid_focal_loss(x, y, -1.0, 2.0, Reduction::sum).item() == doctest::Approx(2 * 0.25 * kLog2).epsilon(1e-15));
  // gamma = 0 and alpha = -1: plain BCE
  CHECK(sigmoid_focal_loss(x, y, -1.0, 0.0, Reduction::mean).item() == doctest::Approx(kLog2).epsilon(1e-15));
  // a confident correct prediction is down-weighted: x = 4, y = 1: p = s(4), (1-p)^2 ~ 3.2e-4
  const double p = 1 / (1 + std::exp(-4.0));
  CHECK(sigmoid_focal_loss(tensor({4}, {1}, DType::f64), tensor({1}, {1}, DType::f64)).item() ==
        doctest::Approx(0.25 * -std::log(p) * (1 - p) * (1 - p)).epsilon(1e-13));
  Tensor e = zeros({0}, DType::f64);
  CHECK(sigmoid_focal_loss(e, e, 0.25, 2.0, Reduction::mean).item() == 0.0);
}

TEST_CASE("focal: CenterNet penalty-reduced focal loss by hand") {
  // Cells (logit 0 -> p = 1/2): y = 1 (positive), y = 0.5, y = 0.
  //   positive: log(1/2) (1/2)^2                 = -0.25 log 2
  //   y = 0.5:  log(1/2) (1/2)^2 (1 - 0.5)^4     = -0.015625 log 2
  //   y = 0:    log(1/2) (1/2)^2 1               = -0.25 log 2
  // loss = (0.25 + 0.015625 + 0.25) log 2 / 1 = 0.515625 log 2
  Tensor x = zeros({1, 1, 1, 3}, DType::f64), y = tensor({1, 0.5, 0}, {1, 1, 1, 3}, DType::f64);
  CHECK(centernet_focal_loss(x, y).item() == doctest::Approx(0.515625 * kLog2).epsilon(1e-15));
  // Probabilities instead of logits: the same numbers.
  CHECK(centernet_focal_loss(full({1, 1, 1, 3}, 0.5, DType::f64), y, false).item() ==
        doctest::Approx(0.515625 * kLog2).epsilon(1e-15));
  // No positive anywhere: the negative sum alone, not divided: (0.015625 + 0.25) log 2
  Tensor yn = tensor({0.9, 0.5, 0}, {1, 1, 1, 3}, DType::f64);
  // y = 0.9: log(1/2) (1/2)^2 (0.1)^4 = -2.5e-5 log 2
  CHECK(centernet_focal_loss(x, yn).item() == doctest::Approx((2.5e-5 + 0.015625 + 0.25) * kLog2).epsilon(1e-13));
  // Two positives: divide by 2.  y = (1, 1, 0): (0.25 + 0.25 + 0.25) log 2 / 2
  CHECK(centernet_focal_loss(x, tensor({1, 1, 0}, {1, 1, 1, 3}, DType::f64)).item() ==
        doctest::Approx(0.375 * kLog2).epsilon(1e-15));
  // The clamp: a logit of 30 gives p = 1 - 1e-4 exactly; a negative there costs log(1e-4) (1-1e-4)^2.
  Tensor big = tensor({30}, {1, 1, 1, 1}, DType::f64);
  CHECK(centernet_focal_loss(big, zeros({1, 1, 1, 1}, DType::f64)).item() ==
        doctest::Approx(-std::log(1e-4) * std::pow(1 - 1e-4, 2)).epsilon(1e-12));
  CHECK(error_of([] {
          centernet_focal_loss(zeros({1, 2}), full({1, 2}, 1.5));
        }) == "centernet_focal_loss: target heatmap values must lie in [0, 1], found 1.5 (shape [1,2])");
}

TEST_CASE("focal: varifocal loss by hand") {
  // x = 0 -> p = 1/2. q = 0.8: BCE = -(0.8 log .5 + 0.2 log .5) = log 2, weight q = 0.8.
  // q = 0: BCE = log 2, weight 0.75 * (1/2)^2 = 0.1875.
  Tensor x = zeros({2}, DType::f64), q = tensor({0.8, 0}, {2}, DType::f64);
  Tensor l = varifocal_loss(x, q);
  CHECK(l.at(0) == doctest::Approx(0.8 * kLog2).epsilon(1e-15));
  CHECK(l.at(1) == doctest::Approx(0.1875 * kLog2).epsilon(1e-15));
  // iou_weighted = false: positives weigh 1
  CHECK(varifocal_loss(x, q, 0.75, 2.0, false).at(0) == doctest::Approx(kLog2).epsilon(1e-15));
  CHECK(varifocal_loss(x, q, 0.75, 2.0, true, Reduction::sum).item() == doctest::Approx(0.9875 * kLog2).epsilon(1e-15));
}

TEST_CASE("focal: centerness loss is BCE with logits") {
  Tensor x = tensor({0.3, -1.2}, {2}, DType::f64), y = tensor({0.7, 0.2}, {2}, DType::f64);
  CHECK(fcos::centerness_loss(x, y).item() ==
        doctest::Approx(binary_cross_entropy_with_logits(x, y, Tensor(), Tensor(), Reduction::sum).item())
            .epsilon(1e-15));
}

TEST_CASE("focal: errors") {
  CHECK(error_of([] {
          sigmoid_focal_loss(zeros({2, 3}), zeros({3, 2}));
        }) == "sigmoid_focal_loss: input [2,3] and target [3,2] must have the same shape");
  CHECK(error_of([] { varifocal_loss(zeros({2}), zeros({2}, DType::f64)); }) ==
        "varifocal_loss: input and target must be floating-point of one dtype, got f32 and f64");
}

GRADCHECK_TEST_CASE("focal: gradchecks in f64", "sigmoid_focal_loss", "varifocal_loss", "centernet_focal_loss") {
  Tensor x = from_vector({-1.3, 0.4, 2.2, -0.2, 0.9, -2.5, 1.7, 0.05}, {2, 4}, DType::f64);
  Tensor y = from_vector({1, 0, 0, 1, 0, 0, 1, 0}, {2, 4}, DType::f64);
  Tensor soft = from_vector({0.9, 0.1, 0.3, 0.6, 0.2, 0.0, 1.0, 0.45}, {2, 4}, DType::f64);
  for (const char* red : {"none", "mean", "sum"}) {
    gradcheck_ref_op("sigmoid_focal_loss", {{"inputs", x}, {"targets", y}}, {{"reduction", red}});
    gradcheck_ref_op("sigmoid_focal_loss", {{"inputs", x}, {"targets", soft}}, {{"reduction", red}, {"alpha", "-1"}});
    gradcheck_ref_op("sigmoid_focal_loss", {{"inputs", x}, {"targets", soft}}, {{"reduction", red}, {"gamma", "1.5"}});
    // the targets of varifocal_loss and centernet_focal_loss are registry constants: no gradient
    Tensor low = mul(soft, lt(soft, 0.5).to(DType::f64)), high = mul(soft, gt(soft, 0.5).to(DType::f64));
    gradcheck_ref_op("varifocal_loss", {{"input", x}, {"target", low}}, {{"reduction", red}});
    gradcheck_ref_op("varifocal_loss", {{"input", x}, {"target", high}},
                     {{"reduction", red}, {"iou_weighted", "false"}});
  }
  Tensor hm = reshape(from_vector({1, 0.5, 0.2, 0, 0, 0.7, 1, 0.3}, {8}, DType::f64), {1, 2, 2, 2});
  Tensor hx = reshape(x, {1, 2, 2, 2});
  gradcheck_ref_op("centernet_focal_loss", {{"input", hx}, {"target", hm}});
  gradcheck_ref_op("centernet_focal_loss", {{"input", hx}, {"target", mul(hm, 0.5)}},
                   {{"alpha", "1.5"}, {"beta", "3"}});
  gradcheck_ref_op("centernet_focal_loss", {{"input", sigmoid(hx)}, {"target", hm}}, {{"logits", "false"}});
}

TEST_CASE("focal: centerness loss gradcheck in f64") {
  Tensor x = from_vector({0.3, -1.2, 2.0, 0.1}, {4}, DType::f64),
         y = from_vector({0.7, 0.2, 0.95, 0.5}, {4}, DType::f64);
  for (Reduction r : {Reduction::none, Reduction::sum, Reduction::mean}) {
    auto f = [r](const std::vector<Tensor>& v) { return fcos::centerness_loss(v[0], v[1], r); };
    check_grad("centerness_loss", f,
               {x.contiguous_copy_no_grad().set_requires_grad(true),
                y.contiguous_copy_no_grad().set_requires_grad(true)});
  }
}
