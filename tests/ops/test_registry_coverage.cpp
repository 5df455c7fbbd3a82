// Registry coverage: every op of `detgrad ref` (autograd/ops/registry.h, and the detection ops that
// dg::register_all_ref_ops adds) has
//   (a) a gradient check, when it is differentiable: a GRADCHECK_TEST_CASE claiming it (tests/
//       support.h; the claim is verified when that case runs), and
//   (b) a golden case: an entry of tests/golden/manifest*.json made by PyTorch / torchvision,
// unless kExemptions says why not. Both lists are read from the tests themselves, never kept by hand.
// A new op with neither fails here until it gets them (or an honest exemption).
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <string>

#include "autograd/ops/registry.h"
#include "detectors/ref/ref_ops.h"
#include "tests/ops/golden.h"
#include "tests/support.h"

using namespace dg;

namespace {
enum class Missing { gradcheck, golden };

struct Exemption {
  const char* op;
  Missing missing;
  const char* reason;
};

// The only ops allowed to lack (a) or (b). Each entry is checked to be needed: an op that gains the
// missing case must leave this table.
const Exemption kExemptions[] = {
    {"paired_box_iou", Missing::golden,
     "no torchvision counterpart: torchvision has only the pairwise [N,M] IoU family (golden cases); "
     "test_iou checks paired_box_iou against their diagonal"},
};

// NOTE [ Which registry ops are differentiable ]
// OpSpec does not say. What the registry does know is which inputs take no gradient (OpSpec::
// constants, e.g. nms's boxes and scores); run_ref differentiates every other floating input. So an
// op is differentiable when, run on the inputs of one of its golden cases with every floating,
// non-constant input requiring grad (as run_ref sets them up), it returns at least one floating output
// that is on the tape. Ops whose floating inputs are all constants (nms and its variants,
// draw_gaussian, retinanet_match; centernet_targets and fcos_targets, whose labels are integers) and
// ops with no inputs (anchors) are therefore not differentiable. An op without a golden case cannot be
// run here and counts as differentiable: it needs a gradcheck or an exemption.
bool differentiable_on(const OpSpec& spec, const nlohmann::json& c) {
  const std::string constants = "," + spec.constants + ",";
  std::vector<std::pair<std::string, Tensor>> leaves;
  for (auto& [name, t] : golden_inputs(c)) {
    Tensor leaf = t.contiguous_copy_no_grad();
    const bool constant = constants.find("," + name + ",") != std::string::npos;
    if (is_floating(leaf.dtype()) && !constant) leaf.set_requires_grad(true);
    leaves.push_back({name, leaf});
  }
  std::map<std::string, std::string> attrs;
  for (auto it = c["attrs"].begin(); it != c["attrs"].end(); ++it) attrs[it.key()] = it.value().get<std::string>();
  OpArgs args(spec.name, leaves, attrs);
  for (const Tensor& out : spec.run(args))
    if (is_floating(out.dtype()) && out.requires_grad()) return true;
  return false;
}

const char* name_of(Missing m) { return m == Missing::gradcheck ? "gradcheck" : "golden"; }
}  // namespace

TEST_CASE("registry coverage: every op has a gradcheck (if differentiable) and a golden case, or an exemption") {
  register_all_ref_ops();
  std::map<std::string, std::vector<nlohmann::json>> golden;  // op -> its golden cases
  for (const nlohmann::json& m : golden_manifests())
    for (const nlohmann::json& c : m["cases"]) golden[c["op"].get<std::string>()].push_back(c);
  const auto& claims = gradcheck_claims();

  std::set<std::string> ops;
  for (const OpSpec& s : ref_ops()) ops.insert(s.name);
  REQUIRE(ops.size() > 80);
  REQUIRE(golden.size() > 80);
  std::map<std::pair<std::string, Missing>, const Exemption*> exempt;
  for (const Exemption& e : kExemptions) {
    CHECK_MESSAGE(ops.count(e.op), "exemption for '" << e.op << "', which is not a registry op");
    CHECK_MESSAGE(!exempt.count({e.op, e.missing}), "two exemptions for '" << e.op << "'");
    exempt[{e.op, e.missing}] = &e;
  }
  for (const auto& [op, cases] : claims)
    CHECK_MESSAGE(ops.count(op), "GRADCHECK_TEST_CASE \"" << *cases.begin() << "\" claims '" << op
                                                          << "', which is not a registry op (typo? renamed op?)");
  for (const auto& [op, cases] : golden) CHECK_MESSAGE(ops.count(op), "golden cases for unknown op '" << op << "'");

  int n_diff = 0, n_gradchecked = 0, n_golden = 0;
  std::string not_diff;
  std::vector<std::string> missing;  // one line per gap
  for (const OpSpec& spec : ref_ops()) {
    const std::string& op = spec.name;
    bool diff = !golden.count(op);  // see NOTE [ Which registry ops are differentiable ]
    for (const nlohmann::json& c : golden[op]) {
      if (diff) break;
      try {
        diff = differentiable_on(spec, c);
      } catch (const std::exception& e) {
        FAIL_CHECK(op << ": golden case " << c["name"].get<std::string>() << " threw: " << e.what());
      }
    }
    const bool gradchecked = claims.count(op) > 0, has_golden = !golden[op].empty();
    n_diff += diff;
    if (!diff) not_diff += (not_diff.empty() ? "" : ", ") + op;
    n_gradchecked += gradchecked;
    n_golden += has_golden;
    const auto check = [&](Missing what, bool needed, bool have) {
      const auto e = exempt.find({op, what});
      if (needed && !have && e == exempt.end())
        missing.push_back(op + ": no " + name_of(what) +
                          (what == Missing::gradcheck
                               ? " case (differentiable: add a GRADCHECK_TEST_CASE claiming it, e.g. a row of "
                                 "tests/ops/test_gradcheck.cpp)"
                               : " case (add one to tests/golden/gen_golden*.py)"));
      if (e != exempt.end() && (!needed || have))
        missing.push_back(op + ": exempted from " + name_of(what) + " but " +
                          (needed ? "now has one" : "does not need one") + ": remove the exemption");
    };
    check(Missing::gradcheck, diff, gradchecked);
    check(Missing::golden, true, has_golden);
  }
  MESSAGE(ops.size() << " registry ops: " << n_diff << " differentiable, " << n_gradchecked << " with a gradcheck, "
                     << n_golden << " with golden cases, " << std::size(kExemptions)
                     << " exemptions; not differentiable: " << not_diff);
  std::string report;
  for (const std::string& m : missing) report += "\n  " + m;
  CHECK_MESSAGE(missing.empty(), missing.size() << " coverage gaps:" << report);
}
