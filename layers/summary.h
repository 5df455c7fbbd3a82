// Model summary: what every module of a network produces and costs, from one forward pass (like
// torchinfo's summary, fvcore's FLOP count or darknet's layer table). Docs: docs/summary.md.
//
// A forward hook on the root (module.h) records every call of every module: the output shape of its
// first call, how often it ran, and the multiply-adds of each call (Module::multiply_adds). The
// counting rules:
//   multiply-adds (MACs)  one per multiply-accumulate of a weight with an input:
//     Conv2d             output elements x (C_in / groups) x kh x kw
//     ConvTranspose2d    input elements x (C_out / groups) x kh x kw
//     Linear             output elements x in_features
//     everything else    0: BatchNorm, GroupNorm, activations, pooling, interpolation, residual
//                        additions and bias additions cost no multiply-adds (torchvision's, fvcore's and
//                        the papers' "GMACs"/"FLOPs" convention for these networks)
//     A module called several times (a head shared by the pyramid levels) counts every call.
//   parameters            of the module and its descendants; trainable = requires_grad, else frozen
//   activation bytes      each call's output elements x element size, summed over the modules that
//                         have no children (what a forward keeps alive for backward, roughly)
// A row's multiply-adds and parameters include its descendants', so a row collapsed to a depth still
// accounts for everything below it.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "layers/module.h"

namespace dg::nn {

struct SummaryRow {
  std::string path;              // state_dict prefix ("layer1.0.conv1"); "" for the root
  std::string type;              // the module's type name ("Conv2d")
  int depth = 0;                 // 0 for the root, 1 for its children, ...
  Shape output;                  // output shape of the first call (empty: never called through its hook)
  int64_t calls = 0;             // how often it ran in the forward pass
  int64_t own_params = 0;        // parameters of the module itself (a layer; 0 for a pure container)
  int64_t params = 0;            // parameters of the subtree
  int64_t trainable = 0;         // of which require grad
  int64_t macs = 0;              // multiply-adds of the subtree, every call
  int64_t activation_bytes = 0;  // outputs of the subtree's leaf modules, every call
};

struct ModelSummary {
  Shape input;
  std::vector<SummaryRow> rows;  // every module, depth first in registration order (named_modules)
  int64_t params = 0, trainable = 0, frozen = 0, macs = 0, activation_bytes = 0, param_bytes = 0;

  // The table: one line per module down to max_depth (< 0: all), then the totals.
  std::string table(int max_depth = -1) const;
  // {"input", "params", "trainable", "frozen", "macs", "activation_bytes", "param_bytes",
  //  "modules": [{"path", "type", "depth", "output", "calls", "params", "trainable", "macs",
  //  "activation_bytes"}, ...]} with the same rows as table(max_depth).
  nlohmann::json json(int max_depth = -1) const;
};

// Installs a recording hook on m, runs forward() (which must run m once on an input of shape
// `input`), removes the hook and returns the summary. m's mode and parameters are unchanged.
ModelSummary summarize(Module& m, const Shape& input, const std::function<void()>& forward);

// 1814073344 -> "1.81 G"; 2278604 -> "2.28 M"; 512 -> "512".
std::string si_count(int64_t v);
// 1234567 -> "1,234,567".
std::string with_commas(int64_t v);

}  // namespace dg::nn
