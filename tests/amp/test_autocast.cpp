// Autocast: the scope's state (nesting, disabling, thread-locality), the three op classes of
// docs/mixed_precision.md (low-precision ops give f16/bf16 equal bit for bit to the explicit recipe
// "round inputs, compute in f32, round the output"; f32 ops widen; mixed binary ops promote), and the
// gradients through the casts (f32 master-weight grads, equal to the explicit-cast graph's).
#include <doctest/doctest.h>

#include <cmath>
#include <thread>

#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/ops.h"
#include "layers/resnet.h"
#include "layers/scale.h"
#include "tests/support.h"

using namespace dg;
using amp::Autocast;

namespace {

// Values k/8, |k| <= 64, plus 2^-16: rounding to f16 or bf16 drops the 2^-16 (less than half an ulp of
// every grid value in both formats), and products and sums of up to 16 grid values are exact in f32
// and f64. So the exact result of the recipe is the f64 result on the grid, rounded once to `dt`.
Tensor grid(const Shape& s, Generator& gen) {
  Tensor t = Tensor::empty(s);
  for (int64_t i = 0; i < t.numel(); ++i) {
    int64_t k = gen.randint(-64, 65);
    if (k == 0) k = 1;
    t.data<float>()[i] = (float)k / 8.0f + (k > 0 ? 1.0f : -1.0f) * std::ldexp(1.0f, -16);
  }
  return t;
}

// x rounded to dt, as doubles (what the low-precision op sees).
std::vector<double> rounded(const Tensor& x, DType dt) { return x.to(dt).to_vector(); }

// The f64 values v rounded to dt: from_vector(f64) then to(dt) rounds once (f64 -> f16 directly).
Tensor round_to(const std::vector<double>& v, const Shape& s, DType dt) { return from_vector(v, s, DType::f64).to(dt); }

const DType kLow[] = {DType::f16, DType::bf16};

}  // namespace

TEST_CASE("autocast: scope state, nesting, disabled scopes, thread-local, dtype names") {
  CHECK_FALSE(amp::autocast_enabled());
  {
    Autocast outer(DType::bf16);
    CHECK(amp::autocast_enabled());
    CHECK(amp::autocast_dtype() == DType::bf16);
    {
      Autocast inner(DType::f16, false);
      CHECK_FALSE(amp::autocast_enabled());
      Tensor a = ones({2, 2}), b = ones({2, 2});
      CHECK(matmul(a, b).dtype() == DType::f32);  // disabled: plain f32
      {
        Autocast innermost(DType::f16);
        CHECK(amp::autocast_enabled());
        CHECK(amp::autocast_dtype() == DType::f16);
        CHECK(matmul(a, b).dtype() == DType::f16);
      }
      CHECK_FALSE(amp::autocast_enabled());
    }
    CHECK(amp::autocast_enabled());
    CHECK(amp::autocast_dtype() == DType::bf16);
    bool other_thread_enabled = true;
    std::thread t([&] { other_thread_enabled = amp::autocast_enabled(); });
    t.join();
    CHECK_FALSE(other_thread_enabled);
  }
  CHECK_FALSE(amp::autocast_enabled());
  CHECK(amp::autocast_dtype() == DType::f16);

  CHECK(amp::amp_dtype_from_name("fp16") == DType::f16);
  CHECK(amp::amp_dtype_from_name("f16") == DType::f16);
  CHECK(amp::amp_dtype_from_name("bf16") == DType::bf16);
  CHECK_THROWS_WITH_PART(amp::amp_dtype_from_name("f32"), "expected fp16, f16 or bf16");
  CHECK_THROWS_WITH_PART(Autocast(DType::f32), "must be f16 or bf16");
  CHECK(amp::promote_types(DType::f16, DType::f32) == DType::f32);
  CHECK(amp::promote_types(DType::bf16, DType::f16) == DType::f32);
  CHECK(amp::promote_types(DType::f64, DType::bf16) == DType::f64);
  CHECK(amp::promote_types(DType::bf16, DType::bf16) == DType::bf16);
}

TEST_CASE("autocast: matmul, linear, conv2d give f16/bf16 equal bit for bit to round-inputs, exact sum, round-output") {
  for (DType dt : kLow) {
    INFO("dtype ", dtype_name(dt));
    Generator gen(7);
    // matmul [3,16] @ [16,5]
    Tensor a = grid({3, 16}, gen), b = grid({16, 5}, gen);
    Tensor y;
    {
      Autocast ac(dt);
      y = matmul(a, b);
    }
    REQUIRE(y.dtype() == dt);
    auto ra = rounded(a, dt), rb = rounded(b, dt);
    std::vector<double> ref(15, 0.0);
    for (int i = 0; i < 3; ++i)
      for (int j = 0; j < 5; ++j)
        for (int k = 0; k < 16; ++k) ref[(size_t)(i * 5 + j)] += ra[(size_t)(i * 16 + k)] * rb[(size_t)(k * 5 + j)];
    CHECK(same_bytes(y, round_to(ref, {3, 5}, dt)));

    // linear: x [2,3,8], w [4,8], b [4]
    Tensor x = grid({2, 3, 8}, gen), w = grid({4, 8}, gen), bias = grid({4}, gen);
    {
      Autocast ac(dt);
      y = linear(x, w, bias);
    }
    REQUIRE(y.dtype() == dt);
    REQUIRE(y.shape() == Shape{2, 3, 4});
    auto rx = rounded(x, dt), rw = rounded(w, dt), rbias = rounded(bias, dt);
    ref.assign(24, 0.0);
    for (int m = 0; m < 6; ++m)
      for (int o = 0; o < 4; ++o) {
        double s = rbias[(size_t)o];
        for (int k = 0; k < 8; ++k) s += rx[(size_t)(m * 8 + k)] * rw[(size_t)(o * 8 + k)];
        ref[(size_t)(m * 4 + o)] = s;
      }
    CHECK(same_bytes(y, round_to(ref, {2, 3, 4}, dt)));

    // conv2d: x [1,2,5,5], w [3,2,3,3], stride 1, padding 1 (at most 18 products + bias per output)
    Tensor cx = grid({1, 2, 5, 5}, gen), cw = grid({3, 2, 3, 3}, gen), cb = grid({3}, gen);
    {
      Autocast ac(dt);
      y = conv2d(cx, cw, cb, 1, 1);
    }
    REQUIRE(y.dtype() == dt);
    auto rcx = rounded(cx, dt), rcw = rounded(cw, dt), rcb = rounded(cb, dt);
    ref.assign(75, 0.0);
    for (int o = 0; o < 3; ++o)
      for (int i = 0; i < 5; ++i)
        for (int j = 0; j < 5; ++j) {
          double s = rcb[(size_t)o];
          for (int c = 0; c < 2; ++c)
            for (int p = 0; p < 3; ++p)
              for (int q = 0; q < 3; ++q) {
                const int ii = i + p - 1, jj = j + q - 1;
                if (ii < 0 || ii >= 5 || jj < 0 || jj >= 5) continue;
                s += rcx[(size_t)((c * 5 + ii) * 5 + jj)] * rcw[(size_t)(((o * 2 + c) * 3 + p) * 3 + q)];
              }
          ref[(size_t)((o * 5 + i) * 5 + j)] = s;
        }
    CHECK(same_bytes(y, round_to(ref, {1, 3, 5, 5}, dt)));
  }
}

TEST_CASE("autocast: on random inputs the four low-precision ops equal the explicit-cast graph bit for bit") {
  for (DType dt : kLow) {
    INFO("dtype ", dtype_name(dt));
    Generator gen(11);
    Tensor a = randn({4, 37}, gen), b = randn({37, 6}, gen), lw = randn({6, 37}, gen), lb = randn({6}, gen);
    Tensor x = randn({2, 3, 9, 9}, gen), w = randn({4, 3, 3, 3}, gen), bias = randn({4}, gen);
    Tensor tw = randn({3, 2, 3, 3}, gen), tb = randn({2}, gen);
    Tensor m, l, c, t;
    {
      Autocast ac(dt);
      m = matmul(a, b);
      l = linear(a, lw, lb);
      c = conv2d(x, w, bias, 2, 1);
      t = conv_transpose2d(x, tw, tb, 2, 1, 1);
    }
    CHECK(same_bytes(m, matmul(a.to(dt), b.to(dt))));
    CHECK(same_bytes(l, linear(a.to(dt), lw.to(dt), lb.to(dt))));
    CHECK(same_bytes(c, conv2d(x.to(dt), w.to(dt), bias.to(dt), 2, 1)));
    CHECK(same_bytes(t, conv_transpose2d(x.to(dt), tw.to(dt), tb.to(dt), 2, 1, 1)));
    CHECK(t.shape() == Shape{2, 2, 18, 18});
    // and they are not the f32 results (the rounding happened)
    CHECK_FALSE(same_bytes(m.to(DType::f32), matmul(a, b)));
  }
}

TEST_CASE("autocast: f32 ops widen, other ops keep their dtype, mixed binary ops promote") {
  Generator gen(3);
  Tensor x = randn({2, 3, 6, 6}, gen), w = randn({4, 3, 3, 3}, gen), bias = randn({4}, gen);
  Tensor rm = zeros({4}), rv = ones({4}), g = ones({4}), beta = zeros({4});
  Autocast ac(DType::f16);
  Tensor c = conv2d(x, w, bias, 1, 1);
  REQUIRE(c.dtype() == DType::f16);
  // batch_norm takes the f16 input with its f32 parameters and statistics (as PyTorch's): computed in
  // f32 from the exactly widened input, the output rounded once to f16
  Tensor bn16 = batch_norm(c, rm, rv, g, beta, true);
  CHECK(bn16.dtype() == DType::f16);
  CHECK(same_bytes(bn16, batch_norm(c.to(DType::f32), zeros({4}), ones({4}), g, beta, true).to(DType::f16)));
  CHECK(rm.dtype() == DType::f32);
  CHECK(rm.to_vector() != std::vector<double>(4, 0.0));  // running stats (f32) were updated
  const Tensor bn = c.to(DType::f32);                    // an f32 operand for the promotion checks below
  CHECK(group_norm(c, 2).dtype() == DType::f32);
  CHECK(layer_norm(c, {6}).dtype() == DType::f32);
  CHECK(softmax(c, 1).dtype() == DType::f32);
  CHECK(log_softmax(c, 1).dtype() == DType::f32);
  CHECK(sum(c).dtype() == DType::f32);
  CHECK(mean(c).dtype() == DType::f32);
  CHECK(exp(c).dtype() == DType::f32);
  CHECK(log(abs(c)).dtype() == DType::f32);
  CHECK(pow(c, 2.0).dtype() == DType::f32);
  InterpolateOptions up;
  up.scale_factor = {2.0};
  CHECK(interpolate(c, up).dtype() == DType::f32);
  Tensor logits = reshape(mean(c, {2, 3}), {2, 4}).to(DType::f16);
  CHECK(cross_entropy(logits, tensor({1, 3}, {2}, DType::i64)).dtype() == DType::f32);
  CHECK(mse_loss(c, zeros_like(c.detach()).to(DType::f32)).dtype() == DType::f32);
  CHECK(binary_cross_entropy_with_logits(c, zeros({2, 4, 6, 6})).dtype() == DType::f32);
  // everything else keeps the input dtype
  CHECK(relu(c).dtype() == DType::f16);
  CHECK(max_pool2d(c, {2}).dtype() == DType::f16);
  CHECK(sigmoid(c).dtype() == DType::f16);
  CHECK(add(c, c).dtype() == DType::f16);
  // mixed f16 / f32 operands run in f32 (outside a scope they are an error)
  Tensor r = add(c, bn);
  CHECK(r.dtype() == DType::f32);
  CHECK(same_bytes(r, add(c.to(DType::f32), bn)));
  CHECK(mul(bn, c).dtype() == DType::f32);
  CHECK(where(gt(bn, 0.0), c, bn).dtype() == DType::f32);
  CHECK(cat({c, bn}, 1).dtype() == DType::f32);
  CHECK(cat({c.to(DType::bf16), c, c}, 1).dtype() == DType::f32);
  CHECK_THROWS_WITH_PART(cat({c, zeros({2, 4, 6, 6}, DType::i64)}, 1), "cat: tensor 1 is i64");  // no promotion
  CHECK(add(c.to(DType::bf16), c).dtype() == DType::f32);
  {
    Autocast off(DType::f16, false);
    CHECK_THROWS_WITH_PART(add(c, bn), "dtype mismatch");
  }
}

namespace {
// conv -> batch_norm -> relu -> global mean -> linear -> cross_entropy, with every parameter f32.
struct TinyNet {
  Tensor w, b, gamma, beta, fw, fb;
  explicit TinyNet(Generator& gen) {
    w = mul(randn({4, 3, 3, 3}, gen), 0.3).detach().set_requires_grad(true);
    b = mul(randn({4}, gen), 0.1).detach().set_requires_grad(true);
    gamma = ones({4}).set_requires_grad(true);
    beta = zeros({4}).set_requires_grad(true);
    fw = mul(randn({5, 4}, gen), 0.5).detach().set_requires_grad(true);
    fb = zeros({5}).set_requires_grad(true);
  }
  std::vector<Tensor> params() const { return {w, b, gamma, beta, fw, fb}; }
  void zero() {
    for (Tensor p : params()) p.zero_grad();
  }
  // cast: the explicit recipe (dt given) or nothing (autocast does it); f32 ops see f32 either way.
  Tensor loss(const Tensor& x, const Tensor& y, DType dt, bool explicit_casts) {
    auto low = [&](const Tensor& t) { return explicit_casts ? t.to(dt) : t; };
    auto wide = [&](const Tensor& t) { return explicit_casts ? t.to(DType::f32) : t; };
    Tensor c = conv2d(low(x), low(w), low(b), 1, 1);
    // batch_norm under autocast: half input, f32 parameters, f32 arithmetic, output rounded to the input type
    Tensor h = relu(batch_norm(c, zeros({4}), ones({4}), gamma, beta, true));
    Tensor feat = mean(wide(h), {2, 3});  // mean is an f32 op
    Tensor logits = linear(low(feat), low(fw), low(fb));
    return cross_entropy(wide(logits), y);
  }
};
}  // namespace

TEST_CASE("autocast: f32 parameter gradients equal the explicit-cast graph's, backward inside or outside the scope") {
  for (DType dt : kLow) {
    INFO("dtype ", dtype_name(dt));
    Generator gen(5);
    TinyNet net(gen);
    Tensor x = randn({3, 3, 6, 6}, gen), y = tensor({0, 4, 2}, {3}, DType::i64);

    Tensor l_explicit = net.loss(x, y, dt, true);
    l_explicit.backward();
    std::vector<Tensor> want;
    for (const Tensor& p : net.params()) want.push_back(p.grad().clone());
    net.zero();

    Tensor l_auto;
    {
      Autocast ac(dt);
      l_auto = net.loss(x, y, dt, false);
    }
    CHECK(l_auto.dtype() == DType::f32);
    CHECK(same_bytes(l_auto, l_explicit));
    l_auto.backward();  // outside the scope
    for (size_t i = 0; i < want.size(); ++i) {
      CAPTURE(i);
      CHECK(net.params()[i].grad().dtype() == DType::f32);
      CHECK(same_bytes(net.params()[i].grad(), want[i]));
    }
    net.zero();
    {
      Autocast ac(dt);
      net.loss(x, y, dt, false).backward();  // inside the scope: the same gradients
    }
    for (size_t i = 0; i < want.size(); ++i) CHECK(same_bytes(net.params()[i].grad(), want[i]));
    // and the rounding is visible: the f32 graph's gradients differ
    net.zero();
    Tensor l32 = net.loss(x, y, DType::f32, false);
    l32.backward();
    CHECK_FALSE(same_bytes(net.w.grad(), want[0]));
  }
}

TEST_CASE("autocast: a ResNet BasicBlock (downsampling) forward + backward runs and stays close to f32") {
  for (DType dt : kLow) {
    INFO("dtype ", dtype_name(dt));
    Generator gen(9);
    nn::BasicBlock block(8, 16, 2, gen);
    block.train();
    Tensor x = randn({2, 8, 12, 12}, gen);
    auto run = [&](bool amp_on) {
      for (Tensor p : block.parameters()) p.zero_grad();
      Tensor out;
      {
        Autocast ac(dt, amp_on);
        out = block.forward(x);
        Tensor loss = mean(mul(out, out));
        loss.backward();
      }
      std::vector<Tensor> gs;
      for (const Tensor& p : block.parameters()) gs.push_back(p.grad().clone());
      return std::make_pair(out, gs);
    };
    auto [o32, g32] = run(false);
    auto [olow, glow] = run(true);
    // bn2 keeps the conv's half type; the downsample's bn too, so the add and relu stay half
    CHECK(olow.dtype() == dt);
    auto rel = [](const Tensor& a, const Tensor& b) {
      auto va = a.to_vector(), vb = b.to_vector();
      double num = 0, den = 0;
      for (size_t i = 0; i < va.size(); ++i) num += (va[i] - vb[i]) * (va[i] - vb[i]), den += vb[i] * vb[i];
      return std::sqrt(num / den);
    };
    // measured: f16 4.4e-4 (output), 7.7e-4 (conv1 grad); bf16 3.8e-3, 6.1e-3 (unit roundoff 2^-11 vs 2^-8)
    const double tol = dt == DType::f16 ? 2e-3 : 1.6e-2;
    CHECK(rel(olow, o32) < tol);
    CHECK(rel(olow, o32) > 0);
    for (size_t i = 0; i < g32.size(); ++i) {
      CAPTURE(i);
      CHECK(glow[i].dtype() == DType::f32);
      CHECK(rel(glow[i], g32[i]) < 2 * tol);
    }
  }
}

TEST_CASE("autocast: f64 stays f64 inside a scope; gradcheck of linear (f64), in and out of a scope") {
  Generator gen(13);
  Tensor x = randn({3, 4}, gen, DType::f64).set_requires_grad(true);
  Tensor w = randn({2, 4}, gen, DType::f64).set_requires_grad(true);
  Tensor b = randn({2}, gen, DType::f64).set_requires_grad(true);
  auto f = [](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); };
  check_grad("linear", f, {x, w, b});
  Autocast ac(DType::bf16);
  CHECK(linear(x, w, b).dtype() == DType::f64);
  CHECK(matmul(x, transpose(w, 0, 1)).dtype() == DType::f64);
  check_grad("linear", f, {x, w, b});
  auto g = [](const std::vector<Tensor>& v) { return linear(v[0], v[1]); };  // no bias
  check_grad("linear", g, {x, w});
  CHECK_THROWS_WITH_PART(linear(x, transpose(w, 0, 1)), "does not match weight");
}

TEST_CASE("half batch_norm / conv2d / relu: the f32 recipe rounded once, and half-size saved tensors") {
  for (DType dt : kLow) {
    INFO("dtype ", dtype_name(dt));
    Generator gen(11);
    Tensor x = randn({4, 3, 5, 5}, gen).to(dt).detach().set_requires_grad(true);
    Tensor w = mul(randn({3}, gen), 0.5).detach().set_requires_grad(true);
    Tensor b = randn({3}, gen).detach().set_requires_grad(true);
    Tensor g = randn({4, 3, 5, 5}, gen).to(dt);
    Tensor y = batch_norm(x, zeros({3}), ones({3}), w, b, true);
    CHECK(y.dtype() == dt);
    y.backward(g);
    // the recipe: widen, f32 batch_norm, round the output and dx once
    Tensor xf = x.detach().to(DType::f32).set_requires_grad(true);
    Tensor w2 = w.detach().clone().set_requires_grad(true), b2 = b.detach().clone().set_requires_grad(true);
    Tensor yf = batch_norm(xf, zeros({3}), ones({3}), w2, b2, true);
    yf.backward(g.to(DType::f32));
    CHECK(same_bytes(y, yf.to(dt)));
    CHECK(x.grad().dtype() == dt);
    CHECK(same_bytes(x.grad(), xf.grad().to(dt)));
    CHECK(same_bytes(w.grad(), w2.grad()));  // f32 parameters get f32 gradients
    CHECK(same_bytes(b.grad(), b2.grad()));
    CHECK_THROWS_WITH_PART(batch_norm(x, zeros({3}, dt), ones({3}), w, b, true),
                           "needs f32 weight, bias and running statistics");

    // conv2d + relu on half tensors keep only half-size tensors alive for backward
    Tensor in = randn({8, 16, 24, 24}, gen);
    Tensor wk = randn({16, 16, 3, 3}, gen);
    auto saved_bytes = [&](DType t) {
      Tensor a = in.to(t).detach().set_requires_grad(true), k = wk.to(t).detach().set_requires_grad(true);
      const int64_t before = memory_stats().current_bytes;
      Tensor out = relu(conv2d(a, k, Tensor(), 1, 1));
      return memory_stats().current_bytes - before;  // the output and what the graph saved
    };
    const int64_t full = saved_bytes(DType::f32), low = saved_bytes(dt);
    CAPTURE(full);
    CAPTURE(low);
    CHECK(low * 2 == full);
  }
}

TEST_CASE("autocast: nn::Scale takes a half input inside a scope (promotes), refuses it outside") {
  nn::Scale s(2.0);
  Tensor x = tensor({1.5, -3}, {2}).to(DType::f16);
  CHECK_THROWS_WITH_PART(s(x), "Scale: input dtype f16 differs from the scale's f32");
  Autocast ac(DType::f16);
  Tensor y = s(x);
  CHECK(y.dtype() == DType::f32);
  CHECK(y.to_vector() == std::vector<double>{3, -6});
}
