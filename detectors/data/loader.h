// A deterministic, prefetching detection data loader.
//
// Given a sample source (index -> Scene), it yields batches in a fixed order: epoch e visits the
// dataset in a permutation seeded by (seed, e) (or 0..n-1 without shuffle), and sample i of epoch e
// is augmented with a Generator seeded by (seed, e, i). Worker threads build whole batches ahead of
// the consumer (at most `prefetch` batches in flight) and hand them over in order, so the batches are
// bit-identical for any number of workers. An exception in the source or the augmentation is
// rethrown by next() as dg::Error naming the sample index. The destructor stops and joins the workers.
#pragma once
#include <array>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "detectors/data/augment.h"

namespace dg::data {

using SampleSource = std::function<Scene(int64_t index)>;

struct LoaderConfig {
  int64_t batch_size = 8;
  uint64_t seed = 0;
  bool shuffle = true;
  bool drop_last = false;  // drop the last, smaller batch of an epoch
  int workers = 2;         // 0: batches are built in the consumer's thread by next()
  int prefetch = 4;        // batches built ahead of the consumer (>= 1)
  bool augment = true;     // off: samples are used as they are (all must then have one size)
  AugmentConfig augment_config;
  std::array<float, 3> mean{0, 0, 0}, std{1, 1, 1};  // images = (u8 / 255 - mean) / std per channel
  void validate() const;                             // dg::Error "loader: ..."
};

struct Batch {
  Tensor images;                                          // f32 [B, 3, H, W]
  std::vector<std::vector<Box>> boxes;                    // per image, output pixel coords
  std::vector<std::vector<int>> labels;                   // per image
  std::vector<int64_t> indices;                           // dataset index of each image
  std::vector<Affine> transforms;                         // input -> output coords of each image (identity w/o augment)
  std::vector<std::pair<int64_t, int64_t>> source_sizes;  // (H, W) of each image before augmentation
  int64_t epoch = 0, number = 0;                          // batch `number` of `epoch`
};

// Seed of sample `index` in `epoch` (splitmix64 mixing of the three).
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);
// The visiting order of an epoch: a Fisher-Yates permutation seeded by (seed, epoch), or 0..n-1.
std::vector<int64_t> epoch_order(int64_t size, uint64_t seed, int64_t epoch, bool shuffle);

class Loader {
 public:
  Loader(SampleSource source, int64_t size, LoaderConfig cfg);  // starts epoch 0
  ~Loader();
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  // Restart at batch `first_batch` (default: the beginning) of `epoch`; batches of the previous epoch
  // still in flight are dropped. Resuming mid-epoch gives the same batches as running through.
  void start_epoch(int64_t epoch, int64_t first_batch = 0);
  // The next batch of the current epoch; false once the epoch is exhausted.
  bool next(Batch& out);
  int64_t batches_per_epoch() const;
  int64_t epoch() const { return epoch_; }

 private:
  Batch build(int64_t generation_epoch, int64_t number) const;  // may throw dg::Error naming the sample
  void worker_loop();

  SampleSource source_;
  int64_t size_;
  LoaderConfig cfg_;
  std::vector<int64_t> order_;  // of the current epoch; only changed while workers are parked
  int64_t epoch_ = 0;

  std::mutex mu_;
  std::condition_variable cv_work_, cv_done_;
  uint64_t generation_ = 0;  // bumped by start_epoch: results of older generations are dropped
  int64_t next_claim_ = 0;   // next batch number a worker takes
  int64_t next_out_ = 0;     // next batch number next() returns
  int busy_ = 0;             // workers currently building
  bool stop_ = false;
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };
  std::map<int64_t, Slot> ready_;  // finished batches by number
  std::vector<std::thread> threads_;
};

}  // namespace dg::data
