// Running the PyTorch side of a benchmark: a committed bench/*.py script, started with the python
// that has torch (/usr/bin/python3), prints one JSON line that the C++ bench reads back.
#pragma once
#include <nlohmann/json.hpp>
#include <string>

namespace dg::bench {

// Runs `command` (a shell command line) and parses the first line it prints as JSON. Returns a null
// json when the command fails, prints nothing, or prints something that is not JSON.
nlohmann::json run_json_command(const std::string& command);

}  // namespace dg::bench
