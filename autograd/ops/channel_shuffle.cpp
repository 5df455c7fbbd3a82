// channel_shuffle composed from primitives (reshape shares storage, transpose copies): the tape
// records reshape -> transpose -> reshape, whose backwards already exist, so no backward is needed here.
#include "autograd/ops/channel_shuffle.h"

#include "autograd/ops/common.h"
#include "autograd/ops/shape.h"

namespace dg {

// out = flatten(transpose(reshape(x, [N, g, C/g, *]), 1, 2));  dx = the inverse shuffle of g
Tensor channel_shuffle(const Tensor& x, int64_t groups) {
  check(x.dim() >= 3, "channel_shuffle: expected an input [N,C,*] with at least 3 dims, got shape ",
        shape_text(x.shape()));
  const int64_t C = x.size(1);
  check(groups > 0 && C % groups == 0, "channel_shuffle: groups ", groups, " must divide the ", C,
        " channels of input ", shape_text(x.shape()));
  Shape split = x.shape();
  split[1] = C / groups;
  split.insert(split.begin() + 1, groups);  // [N, g, C/g, *]
  return reshape(transpose(reshape(x, split), 1, 2), x.shape());
}

}  // namespace dg
