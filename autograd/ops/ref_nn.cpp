// `detgrad ref` entries for pooling, interpolation, normalisation, dropout and channel_shuffle.
#include "autograd/ops/registry.h"

namespace dg {

void add_nn_ref_ops(std::vector<OpSpec>& table) { (void)table; }

}  // namespace dg
