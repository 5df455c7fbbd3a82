// `detgrad ref` entries for this detection family (see detectors/all_ref_ops.h).
#include "autograd/ops/registry.h"
#include "detectors/all_ref_ops.h"

namespace dg {

void register_target_ref_ops() {}

}  // namespace dg
