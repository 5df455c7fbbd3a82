// `detgrad bench amp-memory`: peak tensor-storage bytes of one CenterNet training step in f32, with
// autocast (activations of convs stored in f16/bf16), and with the weights also held in f16.
// Memory only (autograd/memory.h), so the figures do not depend on machine load. docs/memory.md.
#pragma once

namespace dg::bench {

// argv: [--batch N] [--size S] [--classes C] [--seed K]; prints one JSON line per mode and a table.
// Returns 0, or 1 after printing a dg::Error.
int bench_amp_memory(int argc, char** argv);

}  // namespace dg::bench
