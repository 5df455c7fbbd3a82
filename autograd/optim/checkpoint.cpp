#include "autograd/optim/checkpoint.h"

#include <cstring>
#include <type_traits>

namespace dg::io {

namespace {
constexpr const char* kFormat = "detgrad.checkpoint.v1";

// NOTE [ Generator state bytes ]
// Generator keeps its PCG32 state private and has no state accessor, so the checkpoint stores the
// object's bytes: u64 state, u64 inc, u64 seed, bool has_spare (offset 24), double spare (offset 32).
// The padding bytes 25..31 are zeroed so the same state always gives the same text. The asserts
// stop the build if Generator's layout changes; a Generator::state()/set_state() pair would remove
// the need for this.
static_assert(std::is_trivially_copyable_v<Generator>, "Generator must be trivially copyable");
static_assert(sizeof(Generator) == 40 && alignof(Generator) == 8, "Generator layout changed: update checkpoint.cpp");

int64_t parse_int(const Metadata& m, const std::string& key, const std::string& ctx) {
  auto it = m.find(key);
  check(it != m.end(), ctx, "metadata '", key, "' missing");
  try {
    size_t used = 0;
    const long long v = std::stoll(it->second, &used);
    if (used == it->second.size()) return v;
  } catch (const std::exception&) {
  }
  fail(ctx, "metadata '", key, "' = \"", it->second, "\" is not an integer");
}
}  // namespace

std::string generator_state_hex(const Generator& gen) {
  unsigned char b[sizeof(Generator)];
  std::memcpy(b, &gen, sizeof b);
  std::memset(b + 25, 0, 7);
  static const char* digits = "0123456789abcdef";
  std::string s;
  for (unsigned char c : b) {
    s += digits[c >> 4];
    s += digits[c & 15];
  }
  return s;
}

void set_generator_state_hex(Generator& gen, const std::string& hex, const std::string& ctx) {
  check(hex.size() == 2 * sizeof(Generator), ctx, "rng state has ", hex.size(), " hex digits, expected ",
        2 * sizeof(Generator));
  unsigned char b[sizeof(Generator)];
  auto nibble = [&](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    fail(ctx, "rng state contains '", c, "' (not a lowercase hex digit)");
  };
  for (size_t i = 0; i < sizeof b; ++i) b[i] = (unsigned char)(nibble(hex[2 * i]) << 4 | nibble(hex[2 * i + 1]));
  check(b[24] <= 1, ctx, "rng state is corrupt (has_spare byte ", (int)b[24], ")");
  std::memcpy(static_cast<void*>(&gen), b, sizeof b);
}

void save_checkpoint(const std::string& path, const TensorMap& model_state, const optim::Optimizer* optimizer,
                     const TrainState& state, const optim::LRScheduler* scheduler, const Generator* rng) {
  TensorMap all;
  for (const auto& [k, t] : model_state) all["model." + k] = t;
  Metadata meta = {{"format", kFormat}, {"epoch", std::to_string(state.epoch)}, {"step", std::to_string(state.step)}};
  if (optimizer) {
    for (const auto& [k, t] : optimizer->state_dict()) all["optim." + k] = t;
    meta["optimizer"] = optimizer->name();
  }
  if (scheduler) meta["scheduler_step"] = std::to_string(scheduler->last_step());
  if (rng) meta["rng"] = generator_state_hex(*rng);
  for (const auto& [k, v] : state.extra) meta["extra." + k] = v;
  save_safetensors(path, all, meta);
}

TrainState load_checkpoint(const std::string& path, const TensorMap& model_state, optim::Optimizer* optimizer,
                           optim::LRScheduler* scheduler, Generator* rng) {
  const std::string ctx = "checkpoint: " + path + ": ";
  SafetensorsFile f = load_safetensors(path);
  auto fmt = f.metadata.find("format");
  check(fmt != f.metadata.end() && fmt->second == kFormat, ctx, "not a detgrad checkpoint (metadata format is '",
        fmt == f.metadata.end() ? std::string("absent") : fmt->second, "', expected '", kFormat, "')");
  TensorMap model, optim_state;
  for (const auto& [k, t] : f.tensors) {
    if (k.rfind("model.", 0) == 0) model[k.substr(6)] = t;
    else if (k.rfind("optim.", 0) == 0) optim_state[k.substr(6)] = t;
    else fail(ctx, "unexpected tensor '", k, "' ", shape_str(t.shape()), " (names start with model. or optim.)");
  }
  TrainState st;
  st.epoch = parse_int(f.metadata, "epoch", ctx);
  st.step = parse_int(f.metadata, "step", ctx);
  for (const auto& [k, v] : f.metadata)
    if (k.rfind("extra.", 0) == 0) st.extra[k.substr(6)] = v;

  // Every check before any change.
  check_tensors_match(model, model_state, ctx + "model: ");
  if (optimizer) {
    auto it = f.metadata.find("optimizer");
    check(it != f.metadata.end(), ctx, "holds no optimizer state");
    check(it->second == optimizer->name(), ctx, "optimizer state is for ", it->second, ", not ", optimizer->name());
  } else {
    check(optim_state.empty(), ctx, "holds optimizer state but no optimizer was given");
  }
  int64_t sched_step = 0;
  if (scheduler) sched_step = parse_int(f.metadata, "scheduler_step", ctx);
  Generator restored;
  if (rng) {
    auto it = f.metadata.find("rng");
    check(it != f.metadata.end(), ctx, "holds no rng state");
    set_generator_state_hex(restored, it->second, ctx);
  }
  if (optimizer) optimizer->load_state_dict(optim_state);  // validates everything, then commits
  assign_tensors(model, model_state, ctx + "model: ");
  if (scheduler) scheduler->set_last_step(sched_step);
  if (rng) *rng = restored;
  return st;
}

}  // namespace dg::io
