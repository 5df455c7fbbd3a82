// Tier 2: every case of tests/golden/manifest.json (made by PyTorch, see tests/golden/README.md) run
// through the same registry as `detgrad ref`; outputs and gradients must match within the case's
// rtol/atol (numpy allclose), integer outputs exactly.
#include <doctest/doctest.h>

#include <cmath>
#include <sstream>

#include "autograd/io/tensor_npy.h"
#include "autograd/ops/registry.h"
#include "detectors/ref/ref_ops.h"
#include "tests/ops/golden.h"

using namespace dg;

namespace {
const std::string& kGolden = golden_dir();

// "" when close; otherwise the first offending element.
std::string compare(const Tensor& got, const Tensor& want, double rtol, double atol) {
  if (got.shape() != want.shape()) return "shape " + shape_str(got.shape()) + " vs expected " + shape_str(want.shape());
  const bool exact = !is_floating(want.dtype());
  for (int64_t i = 0; i < want.numel(); ++i) {
    double g = got.at(i), w = want.at(i);
    bool ok = exact ? g == w
                    : (std::isnan(w) ? std::isnan(g)
                                     : (std::isinf(w) ? g == w : std::abs(g - w) <= atol + rtol * std::abs(w)));
    if (!ok) {
      std::ostringstream os;
      os << "element " << i << ": got " << g << ", expected " << w;
      return os.str();
    }
  }
  return "";
}
}  // namespace

TEST_CASE("golden: every PyTorch case through the ref registry") {
  register_all_ref_ops();
  std::vector<nlohmann::json> ms = golden_manifests();
  REQUIRE(!ms.empty());
  int failures = 0, checked = 0;
  for (const auto& m : ms)
    for (const auto& c : m["cases"]) {
      const std::string name = c["name"];
      std::vector<std::pair<std::string, Tensor>> inputs = golden_inputs(c);
      std::map<std::string, std::string> attrs;
      for (auto it = c["attrs"].begin(); it != c["attrs"].end(); ++it) attrs[it.key()] = it.value().get<std::string>();
      std::vector<Tensor> grad_outs;
      for (const auto& g : c["grad_outs"])
        grad_outs.push_back(g.is_null() ? Tensor() : io::load_npy(kGolden + g.get<std::string>()));
      // Integer outputs take no grad_out: keep only floating ones, in order.
      std::vector<Tensor> float_grad_outs;
      for (const Tensor& g : grad_outs)
        if (g.defined()) float_grad_outs.push_back(g);
      const double rtol = c["rtol"], atol = c["atol"];
      std::string problem;
      try {
        RefResult r = run_ref(c["op"], inputs, attrs, float_grad_outs);
        if (r.outputs.size() != c["outputs"].size()) {
          problem = "got " + std::to_string(r.outputs.size()) + " outputs, expected " +
                    std::to_string(c["outputs"].size());
        }
        for (size_t k = 0; problem.empty() && k < r.outputs.size(); ++k) {
          std::string d = compare(r.outputs[k], io::load_npy(kGolden + c["outputs"][k].get<std::string>()), rtol, atol);
          if (!d.empty()) problem = "output " + std::to_string(k) + ": " + d;
        }
        for (auto it = c["grads"].begin(); problem.empty() && it != c["grads"].end(); ++it) {
          const Tensor* got = nullptr;
          for (auto& [key, g] : r.grads)
            if (key == it.key()) got = &g;
          if (!got) {
            problem = "no gradient for " + it.key();
            break;
          }
          std::string d = compare(*got, io::load_npy(kGolden + it.value().get<std::string>()), rtol, atol);
          if (!d.empty()) problem = "grad_" + it.key() + ": " + d;
        }
      } catch (const std::exception& e) {
        problem = std::string("threw: ") + e.what();
      }
      ++checked;
      if (!problem.empty()) {
        ++failures;
        FAIL_CHECK(name << " (" << c["op"].get<std::string>() << "): " << problem);
      }
    }
  MESSAGE(checked << " golden cases, " << failures << " failures");
  CHECK(checked > 300);
  CHECK(failures == 0);
}
