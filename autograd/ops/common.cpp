#include "autograd/ops/common.h"

namespace dg::ops_detail {

int64_t wrap_dim(const char* op, int64_t dim, int64_t rank, const Shape& shape) {
  int64_t r = rank == 0 ? 1 : rank;  // a scalar accepts dim 0 / -1, as PyTorch
  check(dim >= -r && dim < r, op, ": dim ", dim, " out of range for shape ", shape_text(shape));
  return dim < 0 ? dim + r : dim;
}
int64_t wrap_dim(const char* op, int64_t dim, const Tensor& t) { return wrap_dim(op, dim, t.dim(), t.shape()); }

Shape broadcast_shapes(const char* op, const Shape& a, const Shape& b) {
  size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    check(da == db || da == 1 || db == 1, op, ": shapes ", shape_text(a), " and ", shape_text(b),
          " cannot be broadcast (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

std::vector<int64_t> contiguous_strides(const Shape& s) {
  std::vector<int64_t> st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= s[i];
  }
  return st;
}

std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out) {
  std::vector<int64_t> st(out.size(), 0);
  auto cs = contiguous_strides(in);
  size_t lead = out.size() - in.size();
  for (size_t i = 0; i < in.size(); ++i) st[lead + i] = in[i] == 1 ? 0 : cs[i];
  return st;
}

void require_floating(const char* op, const Tensor& t, const char* arg) {
  check(t.defined(), op, ": ", arg, " is undefined");
  check(is_floating(t.dtype()), op, ": ", arg, " must be floating-point, got ", dtype_name(t.dtype()));
}

void require_same_dtype(const char* op, const Tensor& a, const Tensor& b) {
  check(a.defined() && b.defined(), op, ": undefined operand");
  check(a.dtype() == b.dtype(), op, ": dtype mismatch: ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
  check(is_floating(a.dtype()), op, ": expected floating-point operands, got ", dtype_name(a.dtype()));
}

}  // namespace dg::ops_detail
