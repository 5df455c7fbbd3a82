// The library names options as its structs do ("batch must be >= 1", "input_size", "steps = 120
// reproduces this run"); the command line speaks in flags. with_flags rewrites a library message
// for the terminal: every whole-word option name of the table in flags.cpp becomes its flag (errors),
// or only the "name = value" forms (progress messages, where "12 steps" is prose).
#pragma once
#include <string>

namespace dg::tools {

std::string with_flags(const std::string& message, bool assignments_only = false);

// `detgrad ref`: the registry's "missing input 'x'" / "missing attribute 'k'" / "unknown ..." errors
// with the flag that gives them ("(pass --in x=FILE.npy)", "(pass --attr k=VALUE)", "(see detgrad ref --list)").
std::string with_ref_hints(const std::string& message);

}  // namespace dg::tools
