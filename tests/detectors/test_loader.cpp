// Deterministic prefetching loader (detectors/data/loader.h): same bits for 0, 1 and 3 workers,
// deterministic reshuffling per epoch, normalisation, errors from the source with the sample index.
#include <doctest/doctest.h>

#include "tests/support.h"

#include <algorithm>
#include <cstring>
#include <set>

#include "detectors/data/loader.h"

using namespace dg;
using namespace dg::data;

namespace {

// Sample i: a 24x20 image whose content depends on i, with one box around a bright block.
Scene make_sample(int64_t i) {
  const int64_t H = 24, W = 20;
  Scene s;
  s.image = Tensor::empty({H, W, 3}, DType::u8);
  uint8_t* p = s.image.data<uint8_t>();
  for (int64_t k = 0; k < H * W * 3; ++k) p[k] = (uint8_t)((k * 7 + i * 13) % 97);
  int x = (int)(i % 8), y = (int)(i % 10);
  for (int yy = y; yy < y + 8; ++yy)
    for (int xx = x; xx < x + 10; ++xx)
      for (int c = 0; c < 3; ++c) p[(yy * W + xx) * 3 + c] = 250;
  s.boxes = {{(float)x, (float)y, (float)x + 10, (float)y + 8}};
  s.labels = {(int)(i % 10)};
  return s;
}

LoaderConfig small_config(int workers) {
  LoaderConfig c;
  c.batch_size = 4;
  c.seed = 42;
  c.workers = workers;
  c.prefetch = 2;
  c.augment_config.out_height = 16, c.augment_config.out_width = 16;
  return c;
}

std::vector<Batch> run_epoch(Loader& l) {
  std::vector<Batch> r;
  Batch b;
  while (l.next(b)) r.push_back(b);
  return r;
}

bool same(const Batch& a, const Batch& b) {
  return a.images.shape() == b.images.shape() &&
         std::memcmp(a.images.data<float>(), b.images.data<float>(), a.images.nbytes()) == 0 && a.boxes == b.boxes &&
         a.labels == b.labels && a.indices == b.indices && a.epoch == b.epoch && a.number == b.number;
}

}  // namespace

TEST_CASE("loader: identical batches for 0, 1 and 3 workers, over two epochs") {
  std::vector<std::vector<Batch>> runs;
  for (int w : {0, 1, 3}) {
    Loader l(make_sample, 18, small_config(w));
    CHECK(l.batches_per_epoch() == 5);
    auto e0 = run_epoch(l);
    l.start_epoch(1);
    auto e1 = run_epoch(l);
    e0.insert(e0.end(), e1.begin(), e1.end());
    runs.push_back(e0);
  }
  REQUIRE(runs[0].size() == 10);
  CHECK(runs[0][4].images.shape() == Shape{2, 3, 16, 16});  // last, smaller batch
  for (int r = 1; r < 3; ++r) {
    REQUIRE(runs[r].size() == runs[0].size());
    for (size_t k = 0; k < runs[0].size(); ++k) CHECK(same(runs[0][k], runs[r][k]));
  }
}

TEST_CASE("loader: epochs reshuffle deterministically and cover the dataset") {
  auto o0 = epoch_order(50, 3, 0, true), o1 = epoch_order(50, 3, 1, true);
  CHECK(o0 != o1);
  CHECK(o0 == epoch_order(50, 3, 0, true));
  auto s = o1;
  std::sort(s.begin(), s.end());
  for (int64_t i = 0; i < 50; ++i) CHECK(s[(size_t)i] == i);
  auto plain = epoch_order(5, 3, 4, false);
  CHECK(plain == std::vector<int64_t>{0, 1, 2, 3, 4});

  LoaderConfig c = small_config(2);
  c.drop_last = true;
  Loader l(make_sample, 18, c);
  CHECK(l.batches_per_epoch() == 4);
  std::set<int64_t> seen;
  for (const Batch& b : run_epoch(l))
    for (int64_t i : b.indices) seen.insert(i);
  CHECK(seen.size() == 16);
  l.start_epoch(0);  // restart: same batches again
  auto again = run_epoch(l);
  Loader l2(make_sample, 18, c);
  auto ref = run_epoch(l2);
  REQUIRE(again.size() == ref.size());
  for (size_t k = 0; k < ref.size(); ++k) CHECK(same(again[k], ref[k]));
}

TEST_CASE("loader: no augmentation, order, normalisation") {
  LoaderConfig c;
  c.batch_size = 3, c.shuffle = false, c.augment = false, c.workers = 2;
  c.mean = {0.5f, 0.25f, 0.f}, c.std = {0.5f, 1.f, 2.f};
  Loader l(make_sample, 5, c);
  Batch b;
  REQUIRE(l.next(b));
  CHECK(b.indices == std::vector<int64_t>{0, 1, 2});
  CHECK(b.images.shape() == Shape{3, 3, 24, 20});
  Scene s1 = make_sample(1);
  const uint8_t* p = s1.image.data<uint8_t>();
  const float* f = b.images.data<float>();
  // image 1, channel c, pixel (y=2, x=5)
  for (int ch = 0; ch < 3; ++ch) {
    float want = (p[(2 * 20 + 5) * 3 + ch] / 255.0f - c.mean[ch]) / c.std[ch];
    CHECK(f[((1 * 3 + ch) * 24 + 2) * 20 + 5] == want);
  }
  CHECK(b.boxes[1] == s1.boxes);
  REQUIRE(l.next(b));
  CHECK(b.indices == std::vector<int64_t>{3, 4});
  CHECK(!l.next(b));
  CHECK(!l.next(b));
}

TEST_CASE("loader: an exception in the source surfaces in the consumer with the sample index") {
  auto source = [](int64_t i) -> Scene {
    if (i == 6) throw std::runtime_error("disk on fire");
    return make_sample(i);
  };
  for (int w : {0, 3}) {
    LoaderConfig c = small_config(w);
    c.shuffle = false;
    Loader l(source, 12, c);
    Batch b;
    CHECK(l.next(b));
    CHECK_THROWS_WITH_PART(l.next(b), "loader: sample 6 (epoch 0, batch 1): disk on fire");
    CHECK(l.next(b));  // the loader goes on with the next batch
    CHECK(b.number == 2);
  }
  // Mixed image sizes without augmentation are reported too.
  LoaderConfig c;
  c.augment = false, c.shuffle = false, c.batch_size = 2, c.workers = 1;
  Loader l(
      [](int64_t i) {
        Scene s = make_sample(i);
        if (i == 1) s.image = Tensor::empty({5, 5, 3}, DType::u8);
        return s;
      },
      2, c);
  Batch b;
  CHECK_THROWS_WITH_PART(l.next(b), "loader: sample 1 (epoch 0, batch 0): image [5,5,3] differs");
}

TEST_CASE("loader: bad configs and early destruction") {
  LoaderConfig c;
  c.batch_size = 0;
  CHECK_THROWS_WITH_PART(Loader(make_sample, 4, c), "loader: batch_size must be >= 1, got 0");
  c = LoaderConfig{};
  CHECK_THROWS_WITH_PART(Loader(make_sample, -1, c), "loader: dataset size must be >= 0, got -1");
  // Destroyed with batches in flight: must join cleanly.
  Loader l(make_sample, 64, small_config(3));
  Batch b;
  CHECK(l.next(b));
}

TEST_CASE("loader: starting an epoch at batch k gives the batches k.. of a full pass") {
  Loader full(make_sample, 18, small_config(2));
  auto all = run_epoch(full);
  Loader late(make_sample, 18, small_config(2));
  late.start_epoch(0, 3);
  auto tail = run_epoch(late);
  REQUIRE(tail.size() == 2);
  CHECK(same(tail[0], all[3]));
  CHECK(same(tail[1], all[4]));
  CHECK_THROWS_WITH_PART(late.start_epoch(0, 6), "first batch 6 is outside the epoch's 0..5");
}
