// Losses with PyTorch's semantics (torch.nn.functional). `target` broadcasts against `input` for the
// element-wise losses. Class weights (`weight` of nll_loss / cross_entropy) are constants: like
// PyTorch, no gradient flows into them.
#pragma once
#include <string>

#include "autograd/tensor.h"

namespace dg {

enum class Reduction { none, mean, sum, batchmean };  // batchmean: kl_div only
Reduction parse_reduction(const std::string& s);      // "none" | "mean" | "sum" | "batchmean"
const char* reduction_name(Reduction r);

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::mean);  // (x - y)^2
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::mean);   // |x - y|
// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (d = x - y); beta = 0 is l1_loss.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction r = Reduction::mean, double beta = 1.0);
// -w [p y log s(x) + (1 - y) log(1 - s(x))], computed stably from logits x; weight and pos_weight
// (p, broadcast over the last dim) are optional (undefined Tensor).
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor(), Reduction r = Reduction::mean);
// input (N,C,d1..) or (C) log-probabilities; target (N,d1..) or () class indices (i64/i32).
// loss_i = -w[t_i] input[i, t_i]; ignored targets contribute 0; mean divides by sum of w[t_i].
Tensor nll_loss(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(), int64_t ignore_index = -100,
                Reduction r = Reduction::mean);
// log_softmax over dim 1 (dim 0 for 1-D input) then nll_loss, with optional label smoothing. A
// floating-point target of input's shape is read as class probabilities.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const Tensor& weight = Tensor(),
                     int64_t ignore_index = -100, Reduction r = Reduction::mean, double label_smoothing = 0.0);
// input holds log-probabilities; pointwise y (log y - x) (or e^y (y - x) with log_target).
// batchmean divides the sum by input.size(0) (the mathematically correct KL for a batch).
Tensor kl_div(const Tensor& input, const Tensor& target, Reduction r = Reduction::mean, bool log_target = false);

}  // namespace dg
