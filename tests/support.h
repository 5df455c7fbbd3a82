// Helpers shared by the test suites: one of each. A helper only one suite needs stays in that suite.
//   errors       CHECK_THROWS_WITH_PART, error_of
//   closeness    check_close, ErrorScale           (NOTE [ check_close tolerance ])
//   bits         same_bytes, same_bits_for_threads, ScopedThreads, as_tensor
//   gradients    check_grad, gradcheck_ref_op, GRADCHECK_TEST_CASE, gradcheck_claims
//   f64 inputs   normal64, distinct64
//   files, CLI   fresh_temp_dir, run_detgrad
// Failures name the call site (file:line), because doctest reports the line inside this header.
#pragma once
#include <omp.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <source_location>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <doctest/doctest.h>

#include "autograd/error.h"
#include "autograd/generator.h"
#include "autograd/ops/gradcheck.h"
#include "autograd/ops/registry.h"
#include "autograd/tensor.h"
#include "detectors/ref/ref_ops.h"

namespace support_detail {
inline std::string where(const std::source_location& loc) {
  std::string f = loc.file_name();
  const size_t at = f.rfind("tests/");
  return (at == std::string::npos ? f : f.substr(at)) + ":" + std::to_string(loc.line());
}
inline std::string num(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}
// "[i,j,k]" for flat index `flat` of `shape` (row-major).
inline std::string multi_index(const dg::Shape& shape, int64_t flat) {
  std::vector<int64_t> idx(shape.size());
  for (size_t d = shape.size(); d-- > 0;) {
    idx[d] = shape[d] ? flat % shape[d] : 0;
    flat = shape[d] ? flat / shape[d] : 0;
  }
  return dg::shape_str(idx);
}
}  // namespace support_detail

// ---- errors --------------------------------------------------------------------------------------
// Asserts that `expr` throws dg::Error whose message contains `needle` (and prints the message if not).
#define CHECK_THROWS_WITH_PART(expr, needle)                                            \
  do {                                                                                  \
    std::string msg_;                                                                   \
    try {                                                                               \
      (void)(expr);                                                                     \
    } catch (const dg::Error& e) {                                                      \
      msg_ = e.what();                                                                  \
    }                                                                                   \
    CHECK_MESSAGE(msg_.find(needle) != std::string::npos, "message: '" << msg_ << "'"); \
  } while (0)

// The message of the dg::Error that f throws, or "(no error)".
inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const dg::Error& e) {
    return e.what();
  }
  return "(no error)";
}

// ---- closeness -----------------------------------------------------------------------------------
// NOTE [ check_close tolerance ]
// check_close(got, want, tol) passes when every element i satisfies
//     |got_i - want_i| <= tol * max(|want_i|, min(1, M)),      M = max_j |want_j|
// tol is relative to the element, and near zero it is relative to the tensor's own scale: absolute
// once the expected values reach 1, tol * M for a tensor of small values (a gradient of size 1e-4 is
// not waved through by an absolute 1e-5). An all-zero `want` must be matched exactly.
// With ErrorScale::tensor every element is held to the tensor's scale instead:
//     |got_i - want_i| <= tol * M            (max|got - want| / max|want| <= tol)
// for results whose rounding error grows with the largest magnitude rather than with each element's:
// long f32 accumulations (a conv weight gradient sums thousands of products), whole-network outputs.
// Either way NaN and infinities never pass (a case that expects them checks them with its own CHECK),
// and the rule is no looser than doctest's Approx(want).epsilon(tol) (element) or the max-norm
// relative error above (tensor). tol = 0 asks for equal values.
// Shapes must agree (a tensor against a vector: the same number of elements). got and want are
// Tensors or std::vectors of numbers; `what` names the comparison in the failure message, which
// gives the worst element (index, both values, error and bound), how many are off, and the shapes.
enum class ErrorScale { element, tensor };

namespace support_detail {
struct CloseSide {
  std::vector<double> v;
  dg::Shape shape;
  std::string desc;  // "[2,3] f32" or "vector of 6"
};
inline CloseSide close_side(const dg::Tensor& t) {
  return {t.to_vector(), t.shape(), dg::shape_str(t.shape()) + " " + dg::dtype_name(t.dtype())};
}
template <class T>
CloseSide close_side(const std::vector<T>& v) {
  return {std::vector<double>(v.begin(), v.end()), {(int64_t)v.size()}, "vector of " + std::to_string(v.size())};
}
// "" when close, else the report.
inline std::string close_report(const CloseSide& got, const CloseSide& want, double tol, ErrorScale scale) {
  const bool both_tensors = got.desc.rfind("vector", 0) != 0 && want.desc.rfind("vector", 0) != 0;
  if (got.v.size() != want.v.size() || (both_tensors && got.shape != want.shape))
    return "shapes differ: got " + got.desc + ", want " + want.desc;
  double M = 0;
  for (double w : want.v) M = std::max(M, std::abs(w));
  const double floor = scale == ErrorScale::tensor ? M : std::min(1.0, M);
  auto bound_of = [&](double w) { return tol * (scale == ErrorScale::tensor ? M : std::max(std::abs(w), floor)); };
  int64_t off = 0, worst = -1;
  double worst_ratio = -1;
  for (size_t i = 0; i < want.v.size(); ++i) {
    const double g = got.v[i], w = want.v[i], bound = bound_of(w);
    const double err = std::abs(g - w);
    const bool ok = std::isfinite(g) && std::isfinite(w) && err <= bound;
    if (ok) continue;
    ++off;
    // the worst is the largest err / bound; a non-finite value or a zero bound counts as infinite
    const double ratio = std::isfinite(g) && std::isfinite(w) && bound > 0 ? err / bound : INFINITY;
    if (ratio > worst_ratio) worst = (int64_t)i, worst_ratio = ratio;
  }
  if (off == 0) return "";
  const double g = got.v[(size_t)worst], w = want.v[(size_t)worst];
  std::ostringstream os;
  os << off << " of " << want.v.size() << " elements off (tol " << tol
     << (scale == ErrorScale::tensor ? ", ErrorScale::tensor: max|want| = "
                                     : ", ErrorScale::element: floor min(1, max|want|) = ")
     << floor << "); worst at " << multi_index(got.shape, worst) << " (flat " << worst << "): got " << num(g)
     << ", want " << num(w) << ", |diff| " << std::abs(g - w) << " > bound " << bound_of(w) << "; got " << got.desc
     << ", want " << want.desc;
  return os.str();
}
inline void report_close(const std::string& r, const std::string& what, const std::source_location& loc) {
  const bool close = r.empty();
  CHECK_MESSAGE(close, "check_close(" << what << ") at " << where(loc) << ": " << r);
}
}  // namespace support_detail

template <class G, class W>
void check_close(const G& got, const W& want, double tol = 1e-12, const std::string& what = "",
                 ErrorScale scale = ErrorScale::element, std::source_location loc = std::source_location::current()) {
  using namespace support_detail;
  report_close(close_report(close_side(got), close_side(want), tol, scale), what, loc);
}
template <class G>
void check_close(const G& got, const std::vector<double>& want, double tol = 1e-12, const std::string& what = "",
                 ErrorScale scale = ErrorScale::element, std::source_location loc = std::source_location::current()) {
  using namespace support_detail;
  report_close(close_report(close_side(got), close_side(want), tol, scale), what, loc);
}

// ---- bits ----------------------------------------------------------------------------------------
// Same shape, dtype and bytes.
inline bool same_bytes(const dg::Tensor& a, const dg::Tensor& b) {
  return a.shape() == b.shape() && a.dtype() == b.dtype() && std::memcmp(a.raw(), b.raw(), a.nbytes()) == 0;
}

// Sets the OpenMP thread count for a scope; the previous count comes back at its end (also when a
// REQUIRE leaves the scope early).
class ScopedThreads {
 public:
  explicit ScopedThreads(int n) : prev_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ScopedThreads() { omp_set_num_threads(prev_); }
  ScopedThreads(const ScopedThreads&) = delete;
  ScopedThreads& operator=(const ScopedThreads&) = delete;

 private:
  int prev_;
};

// A Tensor holding a copy of v with its bits unchanged: f32, f64, i64 or u8 after T; shape [v.size()]
// unless `shape` is given. For handing raw buffers (kernels, file bytes) to same_bits_for_threads.
template <class T>
dg::Tensor as_tensor(const std::vector<T>& v, dg::Shape shape = {}) {
  static_assert(std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int64_t> ||
                    std::is_same_v<T, uint8_t>,
                "as_tensor: a vector of float, double, int64_t or uint8_t");
  const dg::DType dt = std::is_same_v<T, float>     ? dg::DType::f32
                       : std::is_same_v<T, double>  ? dg::DType::f64
                       : std::is_same_v<T, int64_t> ? dg::DType::i64
                                                    : dg::DType::u8;
  if (shape.empty()) shape = {(int64_t)v.size()};
  REQUIRE(dg::shape_numel(shape) == (int64_t)v.size());
  dg::Tensor t = dg::Tensor::empty(shape, dt);
  if (!v.empty()) std::memcpy(t.raw(), v.data(), v.size() * sizeof(T));
  return t;
}

// The bytes of a std::string (a file's contents, say) as a u8 Tensor.
inline dg::Tensor as_tensor(const std::string& bytes) {
  dg::Tensor t = dg::Tensor::empty({(int64_t)bytes.size()}, dg::DType::u8);
  if (!bytes.empty()) std::memcpy(t.raw(), bytes.data(), bytes.size());
  return t;
}

namespace support_detail {
using Named = std::vector<std::pair<std::string, dg::Tensor>>;
inline dg::Tensor frozen(const dg::Tensor& t) { return t.defined() ? t.contiguous_copy_no_grad() : t; }
inline Named named_bits(const dg::Tensor& t) { return {{"result", frozen(t)}}; }
inline Named named_bits(const std::vector<dg::Tensor>& ts) {
  Named r;
  for (size_t i = 0; i < ts.size(); ++i) r.push_back({"result " + std::to_string(i), frozen(ts[i])});
  return r;
}
inline Named named_bits(const Named& ts) {
  Named r;
  for (const auto& [n, t] : ts) r.push_back({n, frozen(t)});
  return r;
}
inline Named named_bits(const std::string& bytes) { return {{"bytes", as_tensor(bytes)}}; }
template <class T>
Named named_bits(const std::vector<T>& v) {
  return {{"values", as_tensor(v)}};
}
// "" when every entry of b has a's bits; else what differs, where first, and the two values.
inline std::string bits_report(const Named& a, const Named& b, int threads) {
  if (a.size() != b.size())
    return std::to_string(b.size()) + " results with " + std::to_string(threads) + " threads, " +
           std::to_string(a.size()) + " with 1";
  std::string r;
  for (size_t k = 0; k < a.size(); ++k) {
    const dg::Tensor &x = a[k].second, &y = b[k].second;
    const std::string name = "'" + a[k].first + "'";
    if (x.defined() != y.defined()) {
      r += name + " is " + (x.defined() ? "defined" : "undefined") + " with 1 thread but not with " +
           std::to_string(threads) + "; ";
      continue;
    }
    if (!x.defined()) continue;
    if (x.shape() != y.shape() || x.dtype() != y.dtype()) {
      r += name + " is " + dg::shape_str(x.shape()) + " " + dg::dtype_name(x.dtype()) + " with 1 thread, " +
           dg::shape_str(y.shape()) + " " + dg::dtype_name(y.dtype()) + " with " + std::to_string(threads) + "; ";
      continue;
    }
    if (std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0) continue;
    const size_t es = dg::dtype_size(x.dtype());
    const auto* px = static_cast<const unsigned char*>(x.raw());
    const auto* py = static_cast<const unsigned char*>(y.raw());
    int64_t n_diff = 0, first = -1;
    for (int64_t i = 0; i < x.numel(); ++i)
      if (std::memcmp(px + (size_t)i * es, py + (size_t)i * es, es) != 0) {
        if (first < 0) first = i;
        ++n_diff;
      }
    r += name + " " + dg::shape_str(x.shape()) + " " + dg::dtype_name(x.dtype()) + ": " + std::to_string(n_diff) +
         " of " + std::to_string(x.numel()) + " elements differ; first at " + multi_index(x.shape(), first) +
         " (flat " + std::to_string(first) + "): " + num(x.at(first)) + " with 1 thread, " + num(y.at(first)) +
         " with " + std::to_string(threads) + " threads; ";
  }
  return r.empty() ? r : r.substr(0, r.size() - 2);
}
}  // namespace support_detail

// Runs fn() with 1, 2 and 3 OpenMP threads, restores the caller's thread count, and checks that the
// 2- and 3-thread results have exactly the bits of the 1-thread result (DESIGN.md: the same seed gives
// the same bits for every thread count). fn returns a Tensor, a std::vector<Tensor>, named tensors
// (std::vector<std::pair<std::string, Tensor>>, named in the message), a std::string of bytes, or a
// std::vector of float/double/int64_t/uint8_t. Results are copied, so fn may reuse its buffers.
template <class F>
void same_bits_for_threads(F&& fn, std::source_location loc = std::source_location::current()) {
  using namespace support_detail;
  Named first;
  for (int threads : {1, 2, 3}) {
    Named r;
    {
      ScopedThreads scope(threads);
      r = named_bits(fn());
    }
    if (threads == 1) {
      first = std::move(r);
      continue;
    }
    const std::string diff = bits_report(first, r, threads);
    const bool same_bits = diff.empty();
    CHECK_MESSAGE(same_bits, "same_bits_for_threads at " << where(loc) << ": 1 vs " << threads << " threads: " << diff);
  }
}

// ---- gradients -----------------------------------------------------------------------------------
// Which registry ops have gradient checks (tests/ops/test_registry_coverage.cpp reads this):
// GRADCHECK_TEST_CASE(name, ops...) is a doctest TEST_CASE that claims to gradcheck the registry ops
// `ops` (string literals, or one std::vector<std::string> expression). The claim is recorded before
// main(), so the coverage test sees it whatever subset or order of tests runs; and it is kept honest
// when the case runs: the case fails unless, inside it, check_grad or gradcheck_ref_op ran under each
// claimed op's name on at least one element.
namespace support_detail {
struct GradcheckLedger {
  std::map<std::string, std::set<std::string>> claims;  // op -> names of the test cases claiming it
  std::set<std::string> checked_in_case;                // ops check_grad ran on in the current case
};
inline GradcheckLedger& ledger() {
  static GradcheckLedger l;
  return l;
}
inline bool claim_gradchecks(const std::string& test_case, const std::vector<std::string>& ops) {
  for (const std::string& op : ops) ledger().claims[op].insert(test_case);
  return true;
}
inline void begin_gradcheck_case() { ledger().checked_in_case.clear(); }
inline void end_gradcheck_case(const std::string& test_case) {
  for (const auto& [op, cases] : ledger().claims) {
    if (!cases.count(test_case)) continue;
    const bool checked = ledger().checked_in_case.count(op) > 0;
    CHECK_MESSAGE(checked, "GRADCHECK_TEST_CASE \"" << test_case << "\" claims op '" << op
                                                    << "' but ran no check_grad / gradcheck_ref_op named '" << op
                                                    << "'");
  }
}
}  // namespace support_detail

// op -> the GRADCHECK_TEST_CASEs that claim it.
inline const std::map<std::string, std::set<std::string>>& gradcheck_claims() {
  return support_detail::ledger().claims;
}

#define DG_GRADCHECK_TEST_CASE_IMPL(body, reg, name, ...)                                                             \
  static void body();                                                                                                 \
  [[maybe_unused]] static const bool reg = ::support_detail::claim_gradchecks(name,                                   \
                                                                              std::vector<std::string>{__VA_ARGS__}); \
  TEST_CASE(name) {                                                                                                   \
    ::support_detail::begin_gradcheck_case();                                                                         \
    body();                                                                                                           \
    ::support_detail::end_gradcheck_case(name);                                                                       \
  }                                                                                                                   \
  static void body()
#define GRADCHECK_TEST_CASE(name, ...)                                                                           \
  DG_GRADCHECK_TEST_CASE_IMPL(DOCTEST_ANONYMOUS(DG_GRADCHECK_BODY_), DOCTEST_ANONYMOUS(DG_GRADCHECK_REG_), name, \
                              __VA_ARGS__)

// Gradchecks f at `inputs` (dg::gradcheck: f64, central differences, a random non-uniform upstream
// gradient, a guard against an identically zero analytic gradient); inputs with requires_grad are
// checked. f returns a Tensor or a std::vector<Tensor>. `op` names the check in the failure message
// and, when at least one element was checked, counts as a gradcheck of `op` for GRADCHECK_TEST_CASE.
template <class F>
void check_grad(const std::string& op, F&& f, const std::vector<dg::Tensor>& inputs,
                const dg::GradcheckOptions& opt = {}, std::source_location loc = std::source_location::current()) {
  dg::GradFn g = [&](const std::vector<dg::Tensor>& v) -> std::vector<dg::Tensor> {
    if constexpr (std::is_convertible_v<decltype(f(v)), dg::Tensor>) return {f(v)};
    else return f(v);
  };
  dg::GradcheckResult r = dg::gradcheck(g, inputs, opt);
  CHECK_MESSAGE(r.ok, "check_grad(" << op << ") at " << support_detail::where(loc) << ": " << r.message);
  for (const dg::Tensor& t : inputs)
    if (t.defined() && t.requires_grad() && t.numel() > 0) {
      support_detail::ledger().checked_in_case.insert(op);
      break;
    }
}

// check_grad of the registry op `op` run on named inputs, as `detgrad ref` runs it (a list input
// repeats its name): every floating input takes a gradient except the registry's constants (OpSpec::
// constants) and the names in no_grad; attrs as on the command line. Floating inputs must be f64.
inline void gradcheck_ref_op(const std::string& op, const std::vector<std::pair<std::string, dg::Tensor>>& inputs,
                             const std::map<std::string, std::string>& attrs = {},
                             const std::set<std::string>& no_grad = {},
                             std::source_location loc = std::source_location::current()) {
  dg::register_all_ref_ops();
  const dg::OpSpec& spec = dg::find_ref_op(op);
  const std::string constants = "," + spec.constants + ",";
  std::vector<dg::Tensor> xs;
  for (const auto& [name, t] : inputs) {
    dg::Tensor c = t.contiguous_copy_no_grad();
    const bool constant = constants.find("," + name + ",") != std::string::npos || no_grad.count(name);
    if (dg::is_floating(c.dtype()) && !constant) c.set_requires_grad(true);
    xs.push_back(c);
  }
  std::string attr_text;
  for (const auto& [k, v] : attrs) attr_text += " " + k + "=" + v;
  INFO("gradcheck_ref_op attributes:", attr_text);
  check_grad(
      op,
      [&](const std::vector<dg::Tensor>& v) {
        std::vector<std::pair<std::string, dg::Tensor>> named;
        for (size_t i = 0; i < v.size(); ++i) named.push_back({inputs[i].first, v[i]});
        dg::OpArgs args(op, named, attrs);
        return spec.run(args);
      },
      xs, {}, loc);
}

// ---- f64 inputs ----------------------------------------------------------------------------------
// Normal(mean, std) f64 values from a seeded generator; requires_grad when `grad`.
inline dg::Tensor normal64(const dg::Shape& s, uint64_t seed, double mean = 0, double std = 1, bool grad = true) {
  dg::Generator gen(seed);
  dg::Tensor t = dg::normal(s, mean, std, gen, dg::DType::f64);
  if (grad) t.set_requires_grad(true);
  return t;
}

// f64 values that are a shuffled ramp (gaps of 0.1 plus jitter below 0.01): no ties, so max/argmax
// gradients are unambiguous under central differences. requires_grad when `grad`.
inline dg::Tensor distinct64(const dg::Shape& s, uint64_t seed, bool grad = true) {
  dg::Generator gen(seed);
  const int64_t n = dg::shape_numel(s);
  std::vector<double> v((size_t)n);
  for (int64_t i = 0; i < n; ++i) v[(size_t)i] = 0.1 * (double)(i - n / 2) + 0.01 * gen.uniform01();
  for (int64_t i = n - 1; i > 0; --i) std::swap(v[(size_t)i], v[(size_t)gen.randint(0, i + 1)]);
  dg::Tensor t = dg::from_vector(v, s, dg::DType::f64);
  if (grad) t.set_requires_grad(true);
  return t;
}

// ---- files and the CLI ---------------------------------------------------------------------------
// A fresh, empty directory for one test: $TMPDIR/detgrad_<group>_<pid>/<name> (removed and re-created).
inline std::string fresh_temp_dir(const std::string& group, const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / ("detgrad_" + group + "_" + std::to_string(::getpid())) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// A whole file as text ("" when it cannot be read).
inline std::string read_text(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// How often `what` occurs in s (overlapping occurrences counted).
inline int count_of(const std::string& s, const std::string& what) {
  int n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

// Runs the detgrad CLI of this build with `args`; returns its exit status, stdout+stderr in `out`.
inline int run_detgrad(const std::string& args, std::string& out) {
  const std::string cmd = std::string(DETGRAD_BINARY_DIR) + "/detgrad " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  char buf[4096];
  out.clear();
  while (size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  const int st = pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}
