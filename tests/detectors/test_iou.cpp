// The IoU family: hand-computed values (arithmetic in the comments), the +1 convention, degenerate
// boxes under both `degenerate_boxes` settings, the CIoU alpha gate, paired vs pairwise, errors, and
// f64 gradchecks. torchvision's own values are the golden cases of manifest_boxes.json.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <cmath>
#include <functional>

#include "autograd/generator.h"
#include "autograd/ops.h"
#include "autograd/ops/registry.h"
#include "detectors/boxes.h"
#include "detectors/iou.h"
#include "detectors/ref/ref_ops.h"

using namespace dg;

namespace {
bool all_finite(const Tensor& t) {
  for (double v : t.to_vector())
    if (!std::isfinite(v)) return false;
  return true;
}

Conventions with(const std::string& field, const std::string& value) {
  Conventions c;
  set_convention(c, field, value);
  return c;
}

// NOTE [ Gradchecking CIoU ]
// CIoU treats alpha as a constant (torchvision: torch.no_grad()), so its gradient is not the
// derivative of its value. It is the derivative of the fixed-alpha function
//   F(b1, b2) = DIoU(b1, b2) - alpha0 v(b1, b2),   alpha0 = alpha at the base point.
// check_fixed_alpha (1) gradchecks F and (2) checks that the op's backward equals F's at the base point;
// together they are the gradient check of the CIoU op `name`.
void check_fixed_alpha(const std::string& name, const std::function<Tensor(const Tensor&, const Tensor&)>& op,
                       const std::function<Tensor(const Tensor&, const Tensor&)>& fixed, const Tensor& b1,
                       const Tensor& b2) {
  auto f = [&](const std::vector<Tensor>& v) { return fixed(v[0], v[1]); };
  check_grad(name, f,
             {b1.contiguous_copy_no_grad().set_requires_grad(true),
              b2.contiguous_copy_no_grad().set_requires_grad(true)});
  std::vector<Tensor> ga, gb;
  for (int k = 0; k < 2; ++k) {
    Tensor x1 = b1.contiguous_copy_no_grad().set_requires_grad(true),
           x2 = b2.contiguous_copy_no_grad().set_requires_grad(true);
    Tensor out = k == 0 ? op(x1, x2) : fixed(x1, x2);
    Tensor u = add(mul(arange(0.0, (double)out.numel(), 1.0, DType::f64), 0.37), -0.9);  // non-uniform upstream
    sum(mul(out, reshape(u, out.shape()))).backward();
    (k == 0 ? ga : gb) = {x1.grad(), x2.grad()};
  }
  check_close(ga[0], gb[0], 1e-12, name + ": grad boxes1 of the op vs of the fixed-alpha function");
  check_close(ga[1], gb[1], 1e-12, name + ": grad boxes2 of the op vs of the fixed-alpha function");
}

// v = 4/pi^2 (atan(w1/h1) - atan(w2/h2))^2 as an [N, M] matrix.
Tensor aspect_matrix(const Tensor& b1, const Tensor& b2, const Conventions& c) {
  const double pi = 3.14159265358979323846, o = c.pixel_offset;
  BoxCoords p = unbind_boxes("test", b1), q = unbind_boxes("test", b2);
  Tensor a1 = unsqueeze(aspect_angle(add(sub(p.x2, p.x1), o), add(sub(p.y2, p.y1), o), c), 1);
  Tensor a2 = aspect_angle(add(sub(q.x2, q.x1), o), add(sub(q.y2, q.y1), o), c);
  return mul(pow(sub(a1, a2), 2.0), 4 / (pi * pi));
}

// A = [0, 0, 2, 2], B = [1, 1, 3, 3]: I = 1, areas 4 and 4, U = 7; enclosing box [0, 0, 3, 3]: C = 9,
// diagonal^2 = 18; centres (1, 1) and (2, 2): rho^2 = 2; both square, so v = 0.
const Tensor kA = tensor({0, 0, 2, 2}, {1, 4}, DType::f64);
const Tensor kB = tensor({1, 1, 3, 3}, {1, 4}, DType::f64);
}  // namespace

TEST_CASE("iou: hand-computed IoU, GIoU, DIoU, CIoU") {
  CHECK(box_iou(kA, kB).item() == doctest::Approx(1.0 / 7).epsilon(1e-15));
  CHECK(generalized_box_iou(kA, kB).item() == doctest::Approx(1.0 / 7 - 2.0 / 9).epsilon(1e-15));
  CHECK(distance_box_iou(kA, kB).item() == doctest::Approx(1.0 / 7 - 2.0 / (18 + 1e-7)).epsilon(1e-15));
  CHECK(complete_box_iou(kA, kB).item() == doctest::Approx(1.0 / 7 - 2.0 / (18 + 1e-7)).epsilon(1e-15));
  // paired (loss) forms divide by U + eps and C + eps
  CHECK(paired_box_iou(IoUKind::iou, kA, kB).item() == doctest::Approx(1.0 / (7 + 1e-7)).epsilon(1e-15));
  CHECK(paired_box_iou(IoUKind::giou, kA, kB).item() ==
        doctest::Approx(1.0 / (7 + 1e-7) - 2.0 / (9 + 1e-7)).epsilon(1e-15));
  // CIoU with a 4 x 1 box against a 1 x 1 box sharing its left end: A' = [0,0,4,1], B' = [0,0,1,1]:
  // I = 1, U = 4, IoU = 1/4; C diag^2 = 16 + 1 = 17, centres (2, .5) and (.5, .5): rho^2 = 2.25;
  // v = 4/pi^2 (atan 4 - atan 1)^2, alpha = v / (1 - 1/4 + v + 1e-7).
  Tensor a = tensor({0, 0, 4, 1}, {1, 4}, DType::f64), b = tensor({0, 0, 1, 1}, {1, 4}, DType::f64);
  const double pi = 3.14159265358979323846;
  const double v = 4 / (pi * pi) * std::pow(std::atan(4.0) - std::atan(1.0), 2);
  const double alpha = v / (0.75 + v + 1e-7);
  CHECK(complete_box_iou(a, b).item() == doctest::Approx(0.25 - 2.25 / (17 + 1e-7) - alpha * v).epsilon(1e-14));
}

TEST_CASE("iou: pairwise shapes; paired agrees with the diagonal") {
  Tensor b1 = from_vector({0, 0, 2, 2, 1, 0.5, 4, 3.5, 5, 5, 6, 7}, {3, 4}, DType::f64);
  Tensor b2 = from_vector({1, 1, 3, 3, 0.5, 0, 4.5, 3, 4.5, 6, 6.5, 8.5}, {3, 4}, DType::f64);
  Tensor m = box_iou(b1, b2);
  CHECK(m.shape() == Shape{3, 3});
  CHECK(box_iou(b1, zeros({0, 4}, DType::f64)).shape() == Shape{3, 0});
  Tensor d = paired_box_iou(IoUKind::ciou, b1, b2, 0.0);
  Tensor full = complete_box_iou(b1, b2, 0.0);
  for (int64_t i = 0; i < 3; ++i) CHECK(d.at(i) == doctest::Approx(full.at(i * 3 + i)).epsilon(1e-14));
  CHECK(paired_box_iou(IoUKind::iou, reshape(b1, {3, 1, 4}), reshape(b2, {3, 1, 4})).shape() == Shape{3, 1});
}

TEST_CASE("iou: the +1 pixel convention") {
  // Pixels 0..1 and 1..2 share the pixel column 1 and row 1: with +1, areas 2*2 = 4, I = 1*1, U = 7.
  // Without it the boxes only touch: I = 0.
  Tensor a = tensor({0, 0, 1, 1}, {1, 4}, DType::f64), b = tensor({1, 1, 2, 2}, {1, 4}, DType::f64);
  Conventions plus1 = with("pixel_offset", "1");
  CHECK(box_iou(a, b, plus1).item() == doctest::Approx(1.0 / 7).epsilon(1e-15));
  CHECK(box_iou(a, b).item() == 0.0);
  // GIoU +1: enclosing pixels 0..2 -> C = 9 -> 1/7 - 2/9; without: C = 4, U = 2 -> 0 - 2/4
  CHECK(generalized_box_iou(a, b, plus1).item() == doctest::Approx(1.0 / 7 - 2.0 / 9).epsilon(1e-15));
  CHECK(generalized_box_iou(a, b).item() == doctest::Approx(-0.5).epsilon(1e-15));
  CHECK(paired_box_iou(IoUKind::iou, a, b, 0.0, plus1).item() == doctest::Approx(1.0 / 7).epsilon(1e-15));
  CHECK(paired_box_iou(IoUKind::iou, a, b, 0.0).item() == 0.0);
}

TEST_CASE("iou: degenerate boxes, nan (torchvision) and finite") {
  // Two identical points: I = U = 0. torchvision: 0/0 = NaN; finite: 0, with zero gradients.
  Tensor p = tensor({1, 1, 1, 1}, {1, 4}, DType::f64);
  CHECK(std::isnan(box_iou(p, p).item()));
  CHECK(std::isnan(generalized_box_iou(p, p).item()));
  Conventions fin = with("degenerate_boxes", "finite");
  CHECK(box_iou(p, p, fin).item() == 0.0);
  CHECK(generalized_box_iou(p, p, fin).item() == 0.0);  // IoU 0, enclosing area 0 -> penalty 0
  CHECK(distance_box_iou(p, p, 1e-7, fin).item() == 0.0);
  CHECK(complete_box_iou(p, p, 1e-7, fin).item() == 0.0);
  // Gradients are finite in the finite mode.
  Tensor q = p.contiguous_copy_no_grad().set_requires_grad(true);
  sum(complete_box_iou(q, tensor({0, 0, 2, 3}, {1, 4}, DType::f64), 1e-7, fin)).backward();
  CHECK(all_finite(q.grad()));
  // A zero-height box [0, 0, 2, 0] vs [0, 0, 2, 1]: CIoU's atan(w/h) = atan(2/0) = pi/2. torchvision's
  // value is finite but its gradient is NaN (inf * 0); finite mode: d/dh atan2(w, h) = -w/(w^2+h^2) = -1/2.
  Tensor flat = tensor({0, 0, 2, 0}, {1, 4}, DType::f64), box = tensor({0, 0, 2, 1}, {1, 4}, DType::f64);
  CHECK(std::isfinite(complete_box_iou(flat, box).item()));
  Tensor fn = flat.contiguous_copy_no_grad().set_requires_grad(true);
  sum(complete_box_iou(fn, box)).backward();
  CHECK_FALSE(all_finite(fn.grad()));
  Tensor ff = flat.contiguous_copy_no_grad().set_requires_grad(true);
  sum(complete_box_iou(ff, box, 1e-7, fin)).backward();
  CHECK(all_finite(ff.grad()));
  CHECK(complete_box_iou(flat, box).item() ==
        doctest::Approx(complete_box_iou(flat, box, 1e-7, fin).item()).epsilon(1e-15));
  // The loss forms never divide by zero (eps), in either mode.
  CHECK(paired_box_iou(IoUKind::giou, p, p).item() == 0.0);
}

TEST_CASE("iou: aspect_angle and atan") {
  Conventions fin = with("degenerate_boxes", "finite");
  Tensor w = tensor({2, -2, 0, 3, 1}, {5}, DType::f64), h = tensor({0, 0, 0, 4, -2}, {5}, DType::f64);
  Tensor a = aspect_angle(w, h, fin);
  const double pi = 3.14159265358979323846;
  CHECK(a.at(0) == doctest::Approx(pi / 2));
  CHECK(a.at(1) == doctest::Approx(-pi / 2));
  CHECK(a.at(2) == 0.0);
  CHECK(a.at(3) == std::atan(0.75));
  CHECK(a.at(4) == std::atan(-0.5));  // inverted boxes: atan(w/h), as torchvision (not atan2)
  CHECK(std::isnan(aspect_angle(w, h).at(2)));
  Tensor wn = tensor({0.7, -1.3, 2.0}, {3}, DType::f64), hn = tensor({1.1, 0.4, -0.9}, {3}, DType::f64);
  for (const char* mode : {"nan", "finite"}) {
    Conventions c = with("degenerate_boxes", mode);
    auto f = [c](const std::vector<Tensor>& v) { return aspect_angle(v[0], v[1], c); };
    CAPTURE(mode);
    check_grad("aspect_angle", f,
               {wn.contiguous_copy_no_grad().set_requires_grad(true),
                hn.contiguous_copy_no_grad().set_requires_grad(true)});
  }
}

TEST_CASE("iou: the CIoU alpha gate (ciou_alpha_gated)") {
  // IoU = 1/4 <= 0.5: gated alpha = 0, so CIoU = DIoU; ungated CIoU < DIoU.
  Tensor a = tensor({0, 0, 4, 1}, {1, 4}, DType::f64), b = tensor({0, 0, 1, 1}, {1, 4}, DType::f64);
  Conventions gated = with("ciou_alpha_gated", "true");
  CHECK(complete_box_iou(a, b, 1e-7, gated).item() == distance_box_iou(a, b).item());
  CHECK(complete_box_iou(a, b).item() < distance_box_iou(a, b).item() - 1e-3);
  // IoU = 0.8 > 0.5 (a 5 x 4 box inside a 5 x 5 one): the gate lets alpha through.
  Tensor c = tensor({0, 0, 5, 4}, {1, 4}, DType::f64), d = tensor({0, 0, 5, 5}, {1, 4}, DType::f64);
  CHECK(complete_box_iou(c, d, 1e-7, gated).item() == complete_box_iou(c, d).item());
  CHECK(complete_box_iou(c, d).item() < distance_box_iou(c, d).item());
}

TEST_CASE("iou: errors") {
  CHECK(error_of([] {
          box_iou(zeros({3, 5}), zeros({2, 4}));
        }) == "box_iou: expected boxes1 [N, 4] and boxes2 [M, 4], got [3,5] and [2,4]");
  CHECK(error_of([] {
          complete_box_iou(zeros({2, 2, 4}), zeros({2, 4}));
        }) == "complete_box_iou: expected boxes1 [N, 4] and boxes2 [M, 4], got [2,2,4] and [2,4]");
  CHECK(error_of([] { box_iou(zeros({3, 4}), zeros({2, 4}, DType::f64)); }) == "box_iou: dtype mismatch: f32 and f64");
  CHECK(error_of([] {
          paired_box_iou(IoUKind::giou, zeros({3, 4}), zeros({2, 4}));
        }) == "paired_box_iou: expected boxes1 and boxes2 of one shape [..., 4], got [3,4] and [2,4]");
  CHECK(error_of([] { parse_iou_kind("hiou"); }) == "iou: unknown kind 'hiou' (known: iou, giou, diou, ciou)");
}

GRADCHECK_TEST_CASE("iou: gradchecks in f64 (matrices and paired, every convention side)", "box_iou",
                    "generalized_box_iou", "distance_box_iou", "paired_box_iou") {
  Tensor b1 = from_vector({0.1, 0.2, 2.3, 2.1, 1.05, 0.55, 4.2, 3.45, 5.1, 5.3, 6.2, 7.4}, {3, 4}, DType::f64);
  Tensor b2 = from_vector({1.2, 0.9, 3.1, 3.3, 0.45, 0.15, 4.65, 3.05, 4.35, 6.1, 6.55, 8.45, 2.0, 2.5, 9.0, 4.0},
                          {4, 4}, DType::f64);
  for (const char* op : {"box_iou", "generalized_box_iou", "distance_box_iou"}) {
    gradcheck_ref_op(op, {{"boxes1", b1}, {"boxes2", b2}});
    gradcheck_ref_op(op, {{"boxes1", b1}, {"boxes2", b2}}, {{"convention", "mmdet"}});
    gradcheck_ref_op(op, {{"boxes1", b1}, {"boxes2", b2}}, {{"convention", "original"}});
  }
  Tensor p1 = narrow(b2, 0, 0, 3);
  for (const char* kind : {"iou", "giou", "diou"}) {
    gradcheck_ref_op("paired_box_iou", {{"boxes1", b1}, {"boxes2", p1}}, {{"kind", kind}});
    gradcheck_ref_op("paired_box_iou", {{"boxes1", b1}, {"boxes2", p1}}, {{"kind", kind}, {"convention", "original"}});
  }
}

GRADCHECK_TEST_CASE("iou: CIoU gradients are those of the fixed-alpha function (see NOTE [ Gradchecking CIoU ])",
                    "complete_box_iou") {
  Tensor b1 = from_vector({0.1, 0.2, 2.3, 2.1, 1.05, 0.55, 4.2, 3.45, 5.1, 5.3, 6.2, 7.4}, {3, 4}, DType::f64);
  Tensor b2 = from_vector({1.2, 0.9, 3.1, 3.3, 0.45, 0.15, 4.65, 3.05, 4.35, 6.1, 6.55, 8.45, 2.0, 2.5, 9.0, 4.0},
                          {4, 4}, DType::f64);
  for (const char* preset : {"torchvision", "mmdet", "original"})
    for (double eps : {1e-7, 0.3}) {
      CAPTURE(preset);
      CAPTURE(eps);
      Conventions c = conventions_preset(preset);
      Tensor alpha0 = ciou_alpha(aspect_matrix(b1, b2, c), box_iou(b1, b2, c), eps, c);
      check_fixed_alpha(
          "complete_box_iou", [&](const Tensor& x, const Tensor& y) { return complete_box_iou(x, y, eps, c); },
          [&](const Tensor& x, const Tensor& y) {
            return sub(distance_box_iou(x, y, eps, c), mul(alpha0, aspect_matrix(x, y, c)));
          },
          b1, b2);
      // paired: CIoU = iou - penalty - alpha0 v
      Tensor p1 = narrow(b2, 0, 0, 3);
      PairedIoUTerms t0 = paired_iou_terms(IoUKind::ciou, b1, p1, eps, c);
      Tensor palpha0 = ciou_alpha(t0.v, t0.iou, eps, c);
      check_fixed_alpha(
          "paired_box_iou",
          [&](const Tensor& x, const Tensor& y) { return paired_box_iou(IoUKind::ciou, x, y, eps, c); },
          [&](const Tensor& x, const Tensor& y) {
            PairedIoUTerms t = paired_iou_terms(IoUKind::ciou, x, y, eps, c);
            return sub(sub(t.iou, t.penalty), mul(palpha0, t.v));
          },
          b1, p1);
    }
}

TEST_CASE("iou: box_iou's no-grad fast path gives the composed path's bits (NOTE [ box_iou fast path ])") {
  // Random float boxes, integer boxes (ties, touching edges, zero-area boxes), inverted boxes; f32 and
  // f64; both degenerate modes and both pixel offsets. The composed path runs when an input needs a
  // gradient.
  Generator gen(11);
  auto make = [&](int64_t n, bool integer, DType dt) {
    std::vector<double> v;
    for (int64_t i = 0; i < n; ++i) {
      double x = integer ? (double)gen.randint(0, 5) : 10 * gen.uniform01();
      double y = integer ? (double)gen.randint(0, 5) : 10 * gen.uniform01();
      double w = integer ? (double)gen.randint(0, 3) : 4 * gen.uniform01() - 0.5;  // some inverted
      double h = integer ? (double)gen.randint(0, 3) : 4 * gen.uniform01() - 0.5;
      v.insert(v.end(), {x, y, x + w, y + h});
    }
    return from_vector(v, {n, 4}, dt);
  };
  for (DType dt : {DType::f32, DType::f64})
    for (bool integer : {false, true})
      for (const char* preset : {"torchvision", "mmdet", "original"}) {
        Conventions c = conventions_preset(preset);
        Tensor a = make(13, integer, dt), b = make(7, integer, dt);
        Tensor fast = box_iou(a, b, c);
        Tensor slow = box_iou(a.contiguous_copy_no_grad().set_requires_grad(true), b, c).detach();
        REQUIRE(fast.shape() == slow.shape());
        for (int64_t i = 0; i < fast.numel(); ++i) {
          double f = fast.at(i), s = slow.at(i);
          CHECK(((std::isnan(f) && std::isnan(s)) || f == s));
        }
      }
}

TEST_CASE("iou: NaN coordinates propagate (no silent 0)") {
  Tensor a = tensor({0, 0, NAN, 2}, {1, 4}, DType::f64), b = tensor({1, 1, 3, 3}, {1, 4}, DType::f64);
  CHECK(std::isnan(box_iou(a, b).item()));
  CHECK(std::isnan(box_iou(a, b, with("degenerate_boxes", "finite")).item()));
  CHECK(std::isnan(paired_box_iou(IoUKind::giou, a, b).item()));
}

TEST_CASE("iou: same bits for 1, 2 and 3 threads (fast path and composed path with gradients)") {
  Generator gen(5);
  std::vector<double> v;
  for (int i = 0; i < 3000; ++i) {
    double x = 50 * gen.uniform01(), y = 50 * gen.uniform01();
    v.insert(v.end(), {x, y, x + 1 + 9 * gen.uniform01(), y + 1 + 9 * gen.uniform01()});
  }
  Tensor a = from_vector(v, {3000, 4}), b = narrow(a, 0, 0, 12).contiguous_copy_no_grad();
  same_bits_for_threads([&] {
    Tensor x = a.contiguous_copy_no_grad().set_requires_grad(true);
    sum(complete_box_iou(x, b)).backward();
    return std::vector<std::pair<std::string, Tensor>>{{"box_iou (fast path)", box_iou(a, b)},
                                                       {"grad of complete_box_iou", x.grad()}};
  });
}
