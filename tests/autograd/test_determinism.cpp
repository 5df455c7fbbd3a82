// Same seed, same bits, for any OpenMP thread count: a whole forward/backward pass of an MLP and the
// large reductions, run with 1, 2 and 3 threads, compared byte for byte.
#include <doctest/doctest.h>
#include <omp.h>

#include <cstring>

#include "autograd/ops.h"

using namespace dg;

namespace {
// Everything a training step produces, concatenated as bytes.
std::vector<uint8_t> one_step(int threads) {
  omp_set_num_threads(threads);
  Generator gen(3);
  Tensor x = randn({256, 300}, gen);
  Tensor w1 = mul(randn({300, 257}, gen), 0.05).detach().set_requires_grad();
  Tensor w2 = mul(randn({257, 10}, gen), 0.05).detach().set_requires_grad();
  Tensor y = randint({256}, 0, 10, gen);
  Tensor h = relu(matmul(x, w1));
  Tensor logits = matmul(h, w2);
  Tensor loss = add(cross_entropy(logits, y), mul(sum(softmax(h, 1)), 1e-3));
  Tensor big = sum(randn({1 << 18}, gen));  // a long reduction (blocked partial sums)
  Tensor v = var(x, {0});
  loss.backward();
  std::vector<uint8_t> bytes;
  for (const Tensor& t : {loss, big, v, w1.grad(), w2.grad()}) {
    const uint8_t* p = static_cast<const uint8_t*>(t.raw());
    bytes.insert(bytes.end(), p, p + t.nbytes());
  }
  return bytes;
}
}  // namespace

TEST_CASE("determinism: 1, 2 and 3 threads give identical bits") {
  int saved = omp_get_max_threads();
  auto a = one_step(1), b = one_step(2), c = one_step(3);
  omp_set_num_threads(saved);
  REQUIRE(a.size() == b.size());
  CHECK(std::memcmp(a.data(), b.data(), a.size()) == 0);
  CHECK(std::memcmp(a.data(), c.data(), a.size()) == 0);
}
