// Checkpoints: everything needed to resume training bit-identically, in one safetensors file.
//
//   tensors   "model.<name>"   the model's state_dict (parameters and buffers, by name)
//             "optim.<key>"    Optimizer::state_dict(): per-parameter buffers, step counts, group lrs
//   metadata  "format": "detgrad.checkpoint.v1", "epoch", "step", "optimizer" (its name),
//             "scheduler_step" (if a scheduler is given), "rng" (the Generator's state, hex),
//             and the caller's own "extra.<key>" strings
//
// The model state is passed as a name -> Tensor map, so this file knows nothing of layers/ (a Module's
// state_dict() provides it). Loading copies values into the given tensors in place and restores the
// optimizer, scheduler and generator; every check runs before anything is changed, so a bad file leaves
// the training state as it was. Written atomically (see safetensors.h). docs/checkpoints.md.
#pragma once
#include <string>

#include "autograd/generator.h"
#include "autograd/io/safetensors.h"
#include "autograd/optim/optimizer.h"
#include "autograd/optim/schedule.h"

namespace dg::io {

struct TrainState {
  int64_t epoch = 0;  // completed epochs (the caller's convention; stored as given)
  int64_t step = 0;   // completed optimizer steps
  Metadata extra;     // free-form strings, stored as "extra.<key>"
};

// Any of optimizer / scheduler / rng may be null (then it is neither saved nor expected on load).
void save_checkpoint(const std::string& path, const TensorMap& model_state, const optim::Optimizer* optimizer,
                     const TrainState& state, const optim::LRScheduler* scheduler = nullptr,
                     const Generator* rng = nullptr);

// Restores into the given objects; returns epoch/step/extra. The file must hold exactly the model's
// tensors and, for each non-null object, its state (dg::Error naming what is missing or mismatched).
TrainState load_checkpoint(const std::string& path, const TensorMap& model_state, optim::Optimizer* optimizer,
                           optim::LRScheduler* scheduler = nullptr, Generator* rng = nullptr);

// The Generator's state as text and back (used for the "rng" metadata entry).
std::string generator_state_hex(const Generator& gen);
void set_generator_state_hex(Generator& gen, const std::string& hex, const std::string& context);

}  // namespace dg::io
