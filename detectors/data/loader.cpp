// Deterministic prefetching loader. See loader.h.
//
// Scheduling: batch numbers are claimed in increasing order by the workers (under the mutex), each
// worker builds its whole batch alone, and next() hands batches out strictly by number. Nothing a
// batch contains depends on which thread built it or when: its samples come from order_ and each is
// augmented with its own Generator seeded by (seed, epoch, index).
#include "detectors/data/loader.h"

#include <numeric>
#include <string>

#include "autograd/error.h"

namespace dg::data {

namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

}  // namespace

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
  return splitmix64(splitmix64(splitmix64(seed) ^ (uint64_t)epoch) ^ (uint64_t)index);
}

std::vector<int64_t> epoch_order(int64_t size, uint64_t seed, int64_t epoch, bool shuffle) {
  std::vector<int64_t> order((size_t)size);
  std::iota(order.begin(), order.end(), int64_t{0});
  if (!shuffle) return order;
  // Fisher-Yates with a generator of its own stream (index -1 is never a sample index).
  Generator g(sample_seed(seed, epoch, -1));
  for (int64_t i = size - 1; i > 0; --i) std::swap(order[(size_t)i], order[(size_t)g.randint(0, i + 1)]);
  return order;
}

void LoaderConfig::validate() const {
  check(batch_size >= 1, "loader: batch_size must be >= 1, got ", batch_size);
  check(workers >= 0, "loader: workers must be >= 0, got ", workers);
  check(prefetch >= 1, "loader: prefetch must be >= 1, got ", prefetch);
  for (int c = 0; c < 3; ++c) check(std[c] > 0, "loader: std must be > 0, got ", std[c], " for channel ", c);
  if (augment) augment_config.validate();
}

Loader::Loader(SampleSource source, int64_t size, LoaderConfig cfg)
    : source_(std::move(source)), size_(size), cfg_(std::move(cfg)) {
  check(size_ >= 0, "loader: dataset size must be >= 0, got ", size_);
  check((bool)source_, "loader: empty sample source");
  cfg_.validate();
  order_ = epoch_order(size_, cfg_.seed, 0, cfg_.shuffle);
  for (int w = 0; w < cfg_.workers; ++w) threads_.emplace_back([this] { worker_loop(); });
}

Loader::~Loader() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_work_.notify_all();
  for (auto& t : threads_) t.join();
}

int64_t Loader::batches_per_epoch() const {
  return cfg_.drop_last ? size_ / cfg_.batch_size : (size_ + cfg_.batch_size - 1) / cfg_.batch_size;
}

void Loader::start_epoch(int64_t epoch, int64_t first_batch) {
  check(epoch >= 0, "loader: epoch must be >= 0, got ", epoch);
  check(first_batch >= 0 && first_batch <= batches_per_epoch(), "loader: first batch ", first_batch,
        " is outside the epoch's 0..", batches_per_epoch());
  std::unique_lock<std::mutex> lk(mu_);
  next_claim_ = batches_per_epoch();  // no new claims; wait for the batches being built
  cv_done_.wait(lk, [&] { return busy_ == 0; });
  ready_.clear();
  epoch_ = epoch;
  order_ = epoch_order(size_, cfg_.seed, epoch, cfg_.shuffle);
  next_claim_ = first_batch;
  next_out_ = first_batch;
  lk.unlock();
  cv_work_.notify_all();
}

void Loader::worker_loop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    cv_work_.wait(lk, [&] {
      return stop_ || (next_claim_ < batches_per_epoch() && next_claim_ < next_out_ + cfg_.prefetch);
    });
    if (stop_) return;
    const int64_t number = next_claim_++, epoch = epoch_;
    ++busy_;
    lk.unlock();
    Slot slot;
    try {
      slot.batch = build(epoch, number);
    } catch (...) {
      slot.error = std::current_exception();
    }
    lk.lock();
    --busy_;
    ready_[number] = std::move(slot);
    cv_done_.notify_all();
  }
}

bool Loader::next(Batch& out) {
  if (cfg_.workers == 0) {
    if (next_out_ >= batches_per_epoch()) return false;
    out = build(epoch_, next_out_++);
    return true;
  }
  Slot slot;
  {
    std::unique_lock<std::mutex> lk(mu_);
    if (next_out_ >= batches_per_epoch()) return false;
    cv_done_.wait(lk, [&] { return ready_.count(next_out_) > 0; });
    auto it = ready_.find(next_out_);
    slot = std::move(it->second);
    ready_.erase(it);
    ++next_out_;
  }
  cv_work_.notify_all();  // a prefetch slot is free
  if (slot.error) std::rethrow_exception(slot.error);
  out = std::move(slot.batch);
  return true;
}

Batch Loader::build(int64_t epoch, int64_t number) const {
  Batch b;
  b.epoch = epoch;
  b.number = number;
  const int64_t begin = number * cfg_.batch_size, end = std::min(size_, begin + cfg_.batch_size);
  const int64_t n = end - begin;
  int64_t H = 0, W = 0;
  float* dst = nullptr;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t index = order_[(size_t)(begin + j)];
    Scene s;
    Affine m;
    std::pair<int64_t, int64_t> source_hw{0, 0};
    try {
      Scene raw = source_(index);
      if (raw.image.dim() >= 2) source_hw = {raw.image.size(0), raw.image.size(1)};
      if (cfg_.augment) {
        Generator g(sample_seed(cfg_.seed, epoch, index));
        Augmented a = augment(raw, cfg_.augment_config, g);
        s = std::move(a.scene);
        m = a.transform;
      } else {
        check(raw.image.dtype() == DType::u8 && raw.image.dim() == 3 && raw.image.shape()[2] == 3,
              "image must be u8 [H,W,3], got ", shape_text(raw.image.shape()));
        check(raw.boxes.size() == raw.labels.size(), raw.boxes.size(), " boxes but ", raw.labels.size(), " labels");
        s = std::move(raw);
      }
      if (j == 0) {
        H = s.image.shape()[0], W = s.image.shape()[1];
        b.images = Tensor::empty({n, 3, H, W}, DType::f32);
        dst = b.images.data<float>();
      }
      check(s.image.shape()[0] == H && s.image.shape()[1] == W, "image ", shape_text(s.image.shape()),
            " differs from the batch's first [", H, ",", W, ",3]");
    } catch (const std::exception& e) {
      fail("loader: sample ", index, " (epoch ", epoch, ", batch ", number, "): ", e.what());
    }
    // HWC u8 -> CHW f32, (x / 255 - mean) / std.
    const Tensor img = s.image;
    const uint8_t* src = img.data<uint8_t>();
    for (int c = 0; c < 3; ++c) {
      float* o = dst + (j * 3 + c) * H * W;
      for (int64_t p = 0; p < H * W; ++p) o[p] = (src[p * 3 + c] / 255.0f - cfg_.mean[c]) / cfg_.std[c];
    }
    b.boxes.push_back(std::move(s.boxes));
    b.labels.push_back(std::move(s.labels));
    b.indices.push_back(index);
    b.transforms.push_back(m);
    b.source_sizes.push_back(source_hw);
  }
  return b;
}

}  // namespace dg::data
