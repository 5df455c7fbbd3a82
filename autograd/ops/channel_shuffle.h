// ShuffleNet's channel shuffle (Zhang et al. 2018; torch.nn.functional.channel_shuffle): channels
// are dealt out group by group so that the next grouped convolution sees every group.
#pragma once
#include <cstdint>

#include "autograd/tensor.h"

namespace dg {

// input [N,C,*] -> same shape: view as [N, groups, C/groups, *], swap dims 1 and 2, flatten back.
// Output channel j takes input channel (j % groups) * (C / groups) + j / groups.
Tensor channel_shuffle(const Tensor& input, int64_t groups);

}  // namespace dg
