// Tutorial 02: train a small CNN on Fashion-MNIST, end to end, on the CPU.
//
//   build/example_02_fashion_mnist [--epochs 2] [--batch 128] [--lr 0.006] [--threads 2] [--seed 0]
//                                  [--data /usr/share/datasets/fashion-mnist] [--limit N] [--test-limit N]
//                                  [--checkpoint FILE] [--resume FILE] [--stop-after EPOCH] [--flip]
//                                  [--amp fp16|bf16]
//
// What it shows, top to bottom:
//   1. data     the IDX files of Debian's dataset-fashion-mnist (autograd/io/idx.h), normalised to
//               zero mean / unit variance, shuffled by a seeded Generator (optional random flips);
//   2. model    a stem conv, a depthwise-separable block, an Inception block and ShuffleNetV2 units,
//               global average pooling and a linear classifier (43,418 parameters);
//   3. training AdamW with no weight decay on norms and biases, linear warm-up then cosine decay
//               per step, gradient clipping, a live progress bar, a checkpoint after every epoch
//               (and --resume from one, continuing bit for bit);
//   4. testing  accuracy on the 10000 test images and the confusion matrix with class names.
// --amp fp16|bf16 trains and tests in emulated mixed precision (autograd/autocast.h): convs and
// linears in f16/bf16 with f32 accumulation, f32 master weights; fp16 adds dynamic loss scaling
// (autograd/amp/grad_scaler.h), bf16 needs none (its exponent range is f32's). docs/mixed_precision.md.
// docs/fashion_mnist.md walks through it and lists the measured accuracy and time.
#include <omp.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "autograd/amp/grad_scaler.h"
#include "autograd/autocast.h"
#include "autograd/generator.h"
#include "autograd/graph.h"
#include "autograd/io/idx.h"
#include "autograd/ops.h"
#include "autograd/ops/conv.h"
#include "autograd/ops/pool.h"
#include "autograd/optim/adam.h"
#include "autograd/optim/checkpoint.h"
#include "autograd/optim/clip.h"
#include "autograd/optim/schedule.h"
#include "layers/activation.h"
#include "layers/conv.h"
#include "layers/depthwise_separable.h"
#include "layers/inception.h"
#include "layers/linear.h"
#include "layers/norm.h"
#include "layers/pool.h"
#include "layers/sequential.h"
#include "layers/shufflenet.h"

using namespace dg;
using Clock = std::chrono::steady_clock;

// ---- command line ---------------------------------------------------------------------------------
struct Args {
  int epochs = 2;
  int batch = 128;
  double lr = 6e-3;
  int threads = 2;
  uint64_t seed = 0;
  std::string data = io::kFashionMnistDir;
  int64_t limit = 0;       // use only the first `limit` training images (0: all) -- for a quick try
  int64_t test_limit = 0;  // evaluate on the first `test_limit` test images only (0: all)
  std::string checkpoint;  // save a checkpoint here after every epoch (empty: don't)
  bool flip = false;       // random horizontal flips (helps long runs, slows the first epochs)
  std::string resume;      // continue from this checkpoint (same flags as the run that wrote it)
  int stop_after = 0;      // stop after this epoch (0: run all epochs); with --checkpoint, to try --resume
  std::string amp;         // "" (f32), "fp16" or "bf16": mixed precision
};

static Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", k.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (k == "--epochs") a.epochs = std::stoi(value());
    else if (k == "--batch") a.batch = std::stoi(value());
    else if (k == "--lr") a.lr = std::stod(value());
    else if (k == "--threads") a.threads = std::stoi(value());
    else if (k == "--seed") a.seed = std::stoull(value());
    else if (k == "--data") a.data = value();
    else if (k == "--limit") a.limit = std::stoll(value());
    else if (k == "--test-limit") a.test_limit = std::stoll(value());
    else if (k == "--checkpoint") a.checkpoint = value();
    else if (k == "--flip") a.flip = true;
    else if (k == "--resume") a.resume = value();
    else if (k == "--stop-after") a.stop_after = std::stoi(value());
    else if (k == "--amp") a.amp = value();
    else {
      std::fprintf(stderr,
                   "usage: %s [--epochs N] [--batch N] [--lr X] [--threads N] [--seed N] [--data DIR] "
                   "[--limit N] [--test-limit N] [--checkpoint FILE] [--flip] [--resume FILE] [--stop-after EPOCH] "
                   "[--amp fp16|bf16]\n",
                   argv[0]);
      std::exit(k == "--help" || k == "-h" ? 0 : 2);
    }
  }
  if (a.epochs < 1 || a.batch < 1 || a.threads < 1 || !(a.lr > 0)) {
    std::fprintf(stderr, "--epochs, --batch, --threads must be >= 1 and --lr > 0\n");
    std::exit(2);
  }
  if (!a.amp.empty()) {
    try {
      amp::amp_dtype_from_name(a.amp);
    } catch (const Error& e) {
      std::fprintf(stderr, "--amp %s: %s\n", a.amp.c_str(), e.what());
      std::exit(2);
    }
  }
  return a;
}

// ---- 1. data --------------------------------------------------------------------------------------
// Pixels x in 0..255 become (x/255 - mean) / std with the training set's statistics.
constexpr float kMean = 0.2860f, kStd = 0.3530f;

struct Dataset {
  Tensor images;  // [N, 28, 28] u8
  Tensor labels;  // [N] i64
  int64_t size() const { return labels.size(0); }
};

// The images idx[begin, end) as a [B, 1, 28, 28] f32 batch and their labels [B]; flip[i] mirrors image i.
static std::pair<Tensor, Tensor> make_batch(const Dataset& d, const std::vector<int64_t>& idx, size_t begin, size_t end,
                                            const std::vector<uint8_t>* flip) {
  const int64_t b = (int64_t)(end - begin);
  Tensor x = Tensor::empty({b, 1, 28, 28});
  Tensor y = Tensor::empty({b}, DType::i64);
  const uint8_t* px = static_cast<const uint8_t*>(d.images.raw());
  float* xo = x.data<float>();
  for (int64_t i = 0; i < b; ++i) {
    const int64_t src = idx[begin + (size_t)i];
    const bool mirror = flip && (*flip)[begin + (size_t)i];
    for (int r = 0; r < 28; ++r)
      for (int c = 0; c < 28; ++c) {
        const uint8_t v = px[src * 784 + r * 28 + (mirror ? 27 - c : c)];
        xo[i * 784 + r * 28 + c] = ((float)v / 255.0f - kMean) / kStd;
      }
    y.data<int64_t>()[i] = d.labels.data<int64_t>()[src];
  }
  return {x, y};
}

// ---- 2. model -------------------------------------------------------------------------------------

// The blocks come from layers/ (docs: layers/inception.h, depthwise_separable.h, shufflenet.h):
//   [N,1,28,28] -> stem: 3x3 conv (16) -> BN -> ReLU            -> [N,16,28,28]
//               -> depthwise-separable, stride 2 (48)           -> [N,48,14,14]
//               -> Inception (16 + 24 + 12 + 12 = 64)           -> [N,64,14,14]
//               -> ShuffleNetV2 unit, stride 2 (128)            -> [N,128,7,7]
//               -> 2 ShuffleNetV2 units, stride 1 (128)         -> [N,128,7,7]
//               -> global average pool -> linear                -> [N,10]
class FashionNet : public nn::Module {
 public:
  explicit FashionNet(Generator& gen) : Module("FashionNet") {
    using namespace nn;
    auto f = std::make_shared<Sequential>();
    f->push_back(std::make_shared<BasicConv2d>(1, 16, 3, gen, 1, 1));
    f->push_back(std::make_shared<DepthwiseSeparable>(16, 48, gen, 2));
    f->push_back(std::make_shared<Inception>(48, InceptionChannels{16, 16, 24, 8, 12, 12}, gen));
    f->push_back(std::make_shared<ShuffleNetUnit>(64, 128, 2, gen));
    f->push_back(std::make_shared<ShuffleNetUnit>(128, 128, 1, gen));
    f->push_back(std::make_shared<ShuffleNetUnit>(128, 128, 1, gen));
    features = register_module("features", f);
    fc = register_module("fc", std::make_shared<Linear>(128, 10, gen));
  }
  Tensor forward(const Tensor& x) override {
    Tensor h = (*features)(x);
    return (*fc)(mean(h, {2, 3}));  // global average pooling
  }
  std::shared_ptr<nn::Sequential> features;
  std::shared_ptr<nn::Linear> fc;
};

// ---- progress bar ---------------------------------------------------------------------------------
// One line redrawn with '\r': [=====>    ] step/total, loss, accuracy, images/s, ETA.
static void progress(int epoch, int epochs, int64_t step, int64_t total, double loss, double acc, double ips,
                     double eta_s) {
  const int width = 24;
  const int filled = (int)(width * step / std::max<int64_t>(total, 1));
  char bar[width + 1];
  for (int i = 0; i < width; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
  bar[width] = 0;
  std::printf("\repoch %d/%d [%s] %5lld/%lld  loss %.4f  acc %5.1f%%  %6.0f img/s  ETA %d:%02d ", epoch, epochs, bar,
              (long long)step, (long long)total, loss, 100 * acc, ips, (int)eta_s / 60, (int)eta_s % 60);
  std::fflush(stdout);
}

// ---- 4. evaluation --------------------------------------------------------------------------------
static double evaluate(FashionNet& model, const Dataset& test, std::vector<std::vector<int64_t>>* confusion) {
  model.eval();
  NoGradGuard no_grad;
  std::vector<int64_t> idx((size_t)test.size());
  for (size_t i = 0; i < idx.size(); ++i) idx[i] = (int64_t)i;
  int64_t correct = 0;
  const size_t bs = 500;
  for (size_t b = 0; b < idx.size(); b += bs) {
    auto [x, y] = make_batch(test, idx, b, std::min(idx.size(), b + bs), nullptr);
    Tensor pred = argmax(model(x), 1);
    for (int64_t i = 0; i < y.size(0); ++i) {
      const int64_t t = y.data<int64_t>()[i], p = pred.data<int64_t>()[i];
      correct += t == p;
      if (confusion) ++(*confusion)[(size_t)t][(size_t)p];
    }
  }
  model.train();
  return (double)correct / (double)test.size();
}

static io::TensorMap as_map(const nn::StateDict& sd) { return io::TensorMap(sd.begin(), sd.end()); }

int main(int argc, char** argv) {
  // NOTE [ OpenMP waiting on a busy machine ]
  // By default OpenMP threads spin while they wait for work. On a machine whose cores are shared with
  // other jobs the spinning threads steal the cores from the ones doing the work: measured here under
  // load, one training step took 8x longer. "passive" makes idle threads sleep. The policy is read when
  // the OpenMP runtime starts, so the program restarts itself once with it set (unless you set it).
  if (!std::getenv("OMP_WAIT_POLICY")) {
    setenv("OMP_WAIT_POLICY", "passive", 1);
    execv("/proc/self/exe", argv);  // returns only on failure: then run as we are
  }
  const Args args = parse_args(argc, argv);
  omp_set_num_threads(args.threads);
  try {
    // 1. data
    io::MnistSplit tr = io::load_fashion_mnist(true, args.data), te = io::load_fashion_mnist(false, args.data);
    Dataset train{tr.images, tr.labels}, test{te.images, te.labels};
    if (args.test_limit > 0 && args.test_limit < test.size())
      test = {slice(test.images, 0, 0, args.test_limit), slice(test.labels, 0, 0, args.test_limit)};
    const int64_t n_train = args.limit > 0 ? std::min(args.limit, train.size()) : train.size();
    std::printf("Fashion-MNIST: %lld training images (of %lld), %lld test images\n", (long long)n_train,
                (long long)train.size(), (long long)test.size());

    // 2. model
    Generator gen(args.seed);
    FashionNet model(gen);
    std::printf("model: %lld parameters, %d threads\n", (long long)model.num_parameters(), args.threads);
    // mixed precision: autocast for --amp; loss scaling for fp16 only (bf16 has f32's exponent range)
    const bool use_amp = !args.amp.empty();
    const DType amp_dtype = use_amp ? amp::amp_dtype_from_name(args.amp) : DType::f16;
    amp::GradScaler scaler({.enabled = use_amp && amp_dtype == DType::f16});
    int64_t skipped = 0;  // steps the scaler skipped (inf/NaN gradients)
    if (use_amp)
      std::printf("mixed precision: autocast %s, loss scaling %s\n", dtype_name(amp_dtype),
                  scaler.enabled() ? "on (initial scale 65536)" : "off");

    // 3. training setup
    const int64_t steps_per_epoch = (n_train + args.batch - 1) / args.batch;
    const int64_t total_steps = steps_per_epoch * args.epochs;
    optim::AdamWOptions ao;
    ao.lr = args.lr;
    ao.weight_decay = 5e-4;
    optim::AdamW opt(optim::no_decay_groups(model.named_parameters(), ao.weight_decay), ao);
    const int64_t warm = std::max<int64_t>(1, std::min<int64_t>(300, total_steps / 10));
    optim::LRScheduler sched(opt, optim::warmup(warm, 0.1, optim::cosine_lr(std::max<int64_t>(1, total_steps - warm))));

    std::vector<std::vector<int64_t>> conf;  // confusion matrix of the latest evaluation
    double acc = 0;
    std::vector<int64_t> order((size_t)n_train);
    std::vector<uint8_t> flip((size_t)n_train);
    const auto t0 = Clock::now();
    int64_t step = 0;
    int first_epoch = 1;
    int64_t first_step = 0;  // for the ETA of a resumed run
    // The flags that shape the run: a checkpoint only continues the run that has the same ones.
    io::Metadata run_flags = {{"epochs", std::to_string(args.epochs)},
                              {"batch", std::to_string(args.batch)},
                              {"lr", std::to_string(args.lr)},
                              {"limit", std::to_string(n_train)},
                              {"flip", args.flip ? "1" : "0"}};
    if (use_amp) run_flags["amp"] = args.amp;
    if (!args.resume.empty()) {
      // Model weights and BN statistics, AdamW moments, the schedule's step and the Generator that
      // shuffles: everything the next epoch depends on, so the run continues bit for bit.
      io::TrainState st = io::load_checkpoint(args.resume, as_map(model.state_dict()), &opt, &sched, &gen);
      if (auto it = st.extra.find("grad_scaler"); it != st.extra.end()) {  // the loss scale and its counter
        scaler.load_state_json(it->second);
        st.extra.erase(it);
      }
      check(st.extra == run_flags, "--resume: ", args.resume, " was written by a run with other flags");
      first_epoch = (int)st.epoch + 1;
      step = first_step = st.step;
      std::printf("resumed from %s after epoch %lld (step %lld)\n", args.resume.c_str(), (long long)st.epoch,
                  (long long)st.step);
    }
    const int last_epoch = args.stop_after > 0 ? std::min(args.stop_after, args.epochs) : args.epochs;
    check(first_epoch <= last_epoch, "nothing to do: the checkpoint is already at epoch ", first_epoch - 1);
    for (int epoch = first_epoch; epoch <= last_epoch; ++epoch) {
      // Fisher-Yates shuffle and flips from the seeded Generator: the same seed, the same run.
      for (size_t i = 0; i < order.size(); ++i) order[i] = (int64_t)i;
      for (size_t i = order.size() - 1; i > 0; --i) std::swap(order[i], order[(size_t)gen.randint(0, (int64_t)i + 1)]);
      for (auto& f : flip) f = args.flip && gen.uniform01() < 0.5;
      const auto te0 = Clock::now();
      double loss_avg = 0, acc_avg = 0;
      for (int64_t s = 0; s < steps_per_epoch; ++s) {
        const size_t b0 = (size_t)(s * args.batch), b1 = std::min(order.size(), b0 + (size_t)args.batch);
        auto [x, y] = make_batch(train, order, b0, b1, &flip);
        Tensor logits, loss;
        {
          amp::Autocast autocast(amp_dtype, use_amp);  // no-op without --amp
          logits = model(x);
          loss = cross_entropy(logits, y);  // f32 either way
        }
        opt.zero_grad();
        scaler.scale(loss).backward();  // loss * S (fp16), the loss itself otherwise
        scaler.unscale(opt);            // true gradients before clipping
        optim::clip_grad_norm(model.parameters(), 5.0);
        if (!scaler.step(opt)) ++skipped;  // skipped when a gradient overflowed
        scaler.update();
        sched.step();
        ++step;
        // running averages of the loss and the batch accuracy (exponential, ~50 steps)
        Tensor pred = argmax(logits.detach(), 1);
        int64_t correct = 0;
        for (int64_t i = 0; i < y.size(0); ++i) correct += pred.data<int64_t>()[i] == y.data<int64_t>()[i];
        const double a = (double)correct / (double)y.size(0), w = s == 0 ? 1.0 : 0.02;
        loss_avg += w * (loss.item() - loss_avg);
        acc_avg += w * (a - acc_avg);
        if (s % 10 == 0 || s + 1 == steps_per_epoch) {
          const double el = std::chrono::duration<double>(Clock::now() - te0).count();
          const double ips = (double)b1 / std::max(el, 1e-9);
          const double total_el = std::chrono::duration<double>(Clock::now() - t0).count();
          const double eta = total_el / (double)(step - first_step) * (double)(total_steps - step);
          progress(epoch, args.epochs, s + 1, steps_per_epoch, loss_avg, acc_avg, ips, eta);
        }
      }
      conf.assign(10, std::vector<int64_t>(10, 0));
      {
        amp::Autocast autocast(amp_dtype, use_amp);  // tested in the precision it was trained in
        acc = evaluate(model, test, &conf);
      }
      const double el = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("\n  epoch %d: test accuracy %.2f%%, %.1f s elapsed, lr %.2e\n", epoch, 100 * acc, el, opt.lr(0));
      if (!args.checkpoint.empty()) {
        io::TrainState st{epoch, step, run_flags};
        if (scaler.enabled()) st.extra["grad_scaler"] = scaler.state_json();
        io::save_checkpoint(args.checkpoint, as_map(model.state_dict()), &opt, st, &sched, &gen);
        std::printf("  checkpoint: %s\n", args.checkpoint.c_str());
      }
    }

    // 4. the last evaluation's confusion matrix (rows: true class, columns: predicted)
    const double total_s = std::chrono::duration<double>(Clock::now() - t0).count();
    std::printf("\nconfusion matrix (rows: true class, columns: predicted)\n%13s", "");
    for (int c = 0; c < 10; ++c) std::printf(" %5d", c);
    std::printf("   recall\n");
    for (int r = 0; r < 10; ++r) {
      int64_t row = 0;
      for (int c = 0; c < 10; ++c) row += conf[(size_t)r][(size_t)c];
      std::printf("%d %-11s", r, io::kFashionMnistClasses[(size_t)r]);
      for (int c = 0; c < 10; ++c) std::printf(" %5lld", (long long)conf[(size_t)r][(size_t)c]);
      std::printf("   %5.1f%%\n", 100.0 * (double)conf[(size_t)r][(size_t)r] / (double)std::max<int64_t>(row, 1));
    }
    std::printf("\ntest accuracy %.2f%% after %d epochs in %.1f s (%d threads)\n", 100 * acc, last_epoch, total_s,
                args.threads);
    if (scaler.enabled())
      std::printf("mixed precision %s: final loss scale %g, %lld of %lld steps skipped\n", args.amp.c_str(),
                  scaler.scale(), (long long)skipped, (long long)(step - first_step));
    else if (use_amp) std::printf("mixed precision %s: no loss scaling\n", args.amp.c_str());
  } catch (const Error& e) {
    std::fprintf(stderr, "\nerror: %s\n", e.what());
    return 1;
  }
  return 0;
}
