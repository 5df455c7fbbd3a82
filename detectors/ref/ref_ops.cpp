#include "detectors/ref/ref_ops.h"

namespace dg {

void register_all_ref_ops() {
  static const bool done = [] {
    register_box_ref_ops();
    register_target_ref_ops();
    return true;
  }();
  (void)done;
}

}  // namespace dg
