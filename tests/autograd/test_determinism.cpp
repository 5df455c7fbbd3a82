// Same seed, same bits, for any OpenMP thread count: a whole forward/backward pass of an MLP and the
// large reductions, run with 1, 2 and 3 threads, compared byte for byte.
#include <doctest/doctest.h>

#include "autograd/ops.h"
#include "tests/support.h"

using namespace dg;

TEST_CASE("determinism: 1, 2 and 3 threads give identical bits") {
  same_bits_for_threads([] {
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
    return std::vector<std::pair<std::string, Tensor>>{
        {"loss", loss}, {"sum of 2^18", big}, {"var", v}, {"grad w1", w1.grad()}, {"grad w2", w2.grad()}};
  });
}
