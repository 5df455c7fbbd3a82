// The PyTorch golden cases of tests/golden/ (see its README): the manifests and a case's inputs.
// Shared by test_golden.cpp (runs every case) and test_registry_coverage.cpp (which ops have one).
#pragma once
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "autograd/io/tensor_npy.h"
#include "autograd/tensor.h"

inline const std::string& golden_dir() {
  static const std::string dir = std::string(DETGRAD_SOURCE_DIR) + "/tests/golden/";
  return dir;
}

// Every tests/golden/manifest*.json (one per family's generator script), in file-name order.
inline std::vector<nlohmann::json> golden_manifests() {
  std::vector<std::string> files;
  for (const auto& e : std::filesystem::directory_iterator(golden_dir())) {
    const std::string n = e.path().filename().string();
    if (n.rfind("manifest", 0) == 0 && e.path().extension() == ".json") files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  std::vector<nlohmann::json> r;
  for (const std::string& p : files) {
    std::ifstream f(p);
    r.push_back(nlohmann::json::parse(f));
  }
  return r;
}

// A case's inputs, by name, loaded from their .npy files.
inline std::vector<std::pair<std::string, dg::Tensor>> golden_inputs(const nlohmann::json& c) {
  std::vector<std::pair<std::string, dg::Tensor>> inputs;
  for (const auto& in : c["inputs"])
    inputs.push_back({in[0].get<std::string>(), dg::io::load_npy(golden_dir() + in[1].get<std::string>())});
  return inputs;
}
