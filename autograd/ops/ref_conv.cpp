// `detgrad ref` entries for the convolution family (conv2d, conv_transpose2d).
#include "autograd/ops/registry.h"

namespace dg {

void add_conv_ref_ops(std::vector<OpSpec>& table) { (void)table; }

}  // namespace dg
