// dg::Error: the one exception type of detgrad. Messages name the op (or file) and the shapes or values
// involved, e.g. "matmul: inner dimensions differ: [2,3] @ [4,5]".
#pragma once
#include <cstdint>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dg {

struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// "[2,3,4]"
inline std::string shape_str(const std::vector<int64_t>& s) {
  std::string r = "[";
  for (size_t i = 0; i < s.size(); ++i) {
    if (i) r += ',';
    r += std::to_string(s[i]);
  }
  r += ']';
  return r;
}

// What shape_str prints, but formatted only if it ends up in a message: check() evaluates its
// arguments on every call, and building shape strings there cost 5% of a training step.
//   check(a.dim() == 4, "conv2d: expected [N,C,H,W], got ", shape_text(a.shape()));
struct ShapeText {
  const std::vector<int64_t>& shape;  // valid for the full expression, as check() needs
};
inline ShapeText shape_text(const std::vector<int64_t>& s) { return {s}; }
inline std::ostream& operator<<(std::ostream& os, const ShapeText& t) { return os << shape_str(t.shape); }

namespace detail {
inline void cat_to(std::ostringstream&) {}
template <class A, class... R>
void cat_to(std::ostringstream& os, const A& a, const R&... r) {
  os << a;
  cat_to(os, r...);
}
}  // namespace detail

// fail("matmul: inner dimensions differ: ", shape_str(a), " @ ", shape_str(b)) throws dg::Error.
template <class... A>
[[noreturn]] void fail(const A&... parts) {
  std::ostringstream os;
  detail::cat_to(os, parts...);
  throw Error(os.str());
}

// check(cond, parts...) throws dg::Error(parts...) when cond is false.
template <class... A>
void check(bool cond, const A&... parts) {
  if (!cond) fail(parts...);
}

}  // namespace dg
