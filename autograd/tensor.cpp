#include "autograd/tensor.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "autograd/graph.h"
#include "autograd/kernels/half.h"
#include "autograd/limits.h"
#include "autograd/memory.h"

namespace dg {

// ---- dtype ---------------------------------------------------------------------------------------
size_t dtype_size(DType t) {
  switch (t) {
    case DType::f64:
    case DType::i64: return 8;
    case DType::f32:
    case DType::i32: return 4;
    case DType::f16:
    case DType::bf16: return 2;
    case DType::u8:
    case DType::b8: return 1;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::f32: return "f32";
    case DType::f64: return "f64";
    case DType::f16: return "f16";
    case DType::bf16: return "bf16";
    case DType::i64: return "i64";
    case DType::i32: return "i32";
    case DType::u8: return "u8";
    case DType::b8: return "bool";
  }
  return "?";
}

DType dtype_from_name(const std::string& s) {
  for (DType t : {DType::f32, DType::f64, DType::f16, DType::bf16, DType::i64, DType::i32, DType::u8, DType::b8})
    if (s == dtype_name(t)) return t;
  fail("unknown dtype '", s, "' (expected f32, f64, f16, bf16, i64, i32, u8 or bool)");
}

template <>
DType dtype_of<float>() {
  return DType::f32;
}
template <>
DType dtype_of<double>() {
  return DType::f64;
}
template <>
DType dtype_of<int64_t>() {
  return DType::i64;
}
template <>
DType dtype_of<int32_t>() {
  return DType::i32;
}
template <>
DType dtype_of<uint8_t>() {
  return DType::u8;
}
template <>
DType dtype_of<bool>() {
  return DType::b8;
}

int64_t shape_numel(const Shape& s) {
  int64_t n = 1;
  bool over = false;  // the product left the limit (only an error when no dimension is 0)
  for (int64_t d : s) {
    check(d >= 0, "negative dimension in shape ", shape_text(s));
    check(d <= kMaxElements, "shape ", shape_text(s), " has a dimension of ", d, ", over the limit of ", kMaxElements,
          " (autograd/limits.h)");
    over = over || __builtin_mul_overflow(n, d, &n) || n > kMaxElements;
  }
  for (int64_t d : s)
    if (d == 0) return 0;
  check(!over, "shape ", shape_text(s), " has more than ", kMaxElements, " elements (autograd/limits.h)");
  return n;
}

// ---- storage -------------------------------------------------------------------------------------
Storage::Storage(size_t n) : nbytes(n) {
  size_t padded = (n + 63) / 64 * 64;
  data = std::aligned_alloc(64, padded ? padded : 64);
  check(data != nullptr, "out of memory allocating ", n, " bytes");
  detail::note_storage_alloc(n);  // counted once the allocation succeeded (autograd/memory.h)
}
Storage::~Storage() {
  std::free(data);
  detail::note_storage_free(nbytes);
}

// ---- Tensor basics -------------------------------------------------------------------------------
Tensor Tensor::empty(const Shape& shape, DType dtype) {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = dtype;
  impl->storage = std::make_shared<Storage>((size_t)shape_numel(shape) * dtype_size(dtype));  // <= 2^43 bytes
  return Tensor(std::move(impl));
}

static const TensorImpl& need(const std::shared_ptr<TensorImpl>& p) {
  check(p != nullptr, "use of an undefined tensor");
  return *p;
}

const Shape& Tensor::shape() const { return need(impl_).shape; }
int64_t Tensor::numel() const { return shape_numel(shape()); }
DType Tensor::dtype() const { return need(impl_).dtype; }
int64_t Tensor::size(int64_t d) const {
  int64_t n = dim();
  check(d >= -n && d < n, "size: dimension ", d, " out of range for shape ", shape_text(shape()));
  return shape()[(size_t)(d < 0 ? d + n : d)];
}
void* Tensor::raw() { return need(impl_).storage->data; }
const void* Tensor::raw() const { return need(impl_).storage->data; }

template <class T>
T* Tensor::data() {
  check(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">() on a ", dtype_name(dtype()), " tensor");
  return static_cast<T*>(raw());
}
template <class T>
const T* Tensor::data() const {
  check(dtype() == dtype_of<T>(), "data<", dtype_name(dtype_of<T>()), ">() on a ", dtype_name(dtype()), " tensor");
  return static_cast<const T*>(raw());
}
template float* Tensor::data<float>();
template double* Tensor::data<double>();
template int64_t* Tensor::data<int64_t>();
template int32_t* Tensor::data<int32_t>();
template uint8_t* Tensor::data<uint8_t>();
template bool* Tensor::data<bool>();
template const float* Tensor::data<float>() const;
template const double* Tensor::data<double>() const;
template const int64_t* Tensor::data<int64_t>() const;
template const int32_t* Tensor::data<int32_t>() const;
template const uint8_t* Tensor::data<uint8_t>() const;
template const bool* Tensor::data<bool>() const;

// One element of any dtype, as double.
static double load(const void* base, DType t, int64_t i) {
  switch (t) {
    case DType::f32: return static_cast<const float*>(base)[i];
    case DType::f64: return static_cast<const double*>(base)[i];
    case DType::f16: return kernels::f16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::bf16: return kernels::bf16_to_f32(static_cast<const uint16_t*>(base)[i]);
    case DType::i64: return (double)static_cast<const int64_t*>(base)[i];
    case DType::i32: return static_cast<const int32_t*>(base)[i];
    case DType::u8: return static_cast<const uint8_t*>(base)[i];
    case DType::b8: return static_cast<const uint8_t*>(base)[i] ? 1.0 : 0.0;
  }
  return 0;
}

// Store a double into an element of any dtype (rounding to nearest even for floating types;
// integers truncate toward zero as a C cast does).
static void store(void* base, DType t, int64_t i, double v) {
  switch (t) {
    case DType::f32: static_cast<float*>(base)[i] = (float)v; break;
    case DType::f64: static_cast<double*>(base)[i] = v; break;
    case DType::f16: static_cast<uint16_t*>(base)[i] = kernels::f64_to_f16(v); break;
    case DType::bf16: static_cast<uint16_t*>(base)[i] = kernels::f64_to_bf16(v); break;
    case DType::i64: static_cast<int64_t*>(base)[i] = (int64_t)v; break;
    case DType::i32: static_cast<int32_t*>(base)[i] = (int32_t)v; break;
    case DType::u8: static_cast<uint8_t*>(base)[i] = (uint8_t)v; break;
    case DType::b8: static_cast<uint8_t*>(base)[i] = v != 0 ? 1 : 0; break;
  }
}

double Tensor::at(int64_t i) const {
  check(i >= 0 && i < numel(), "at: index ", i, " out of range for ", numel(), " elements");
  return load(raw(), dtype(), i);
}

double Tensor::item() const {
  check(numel() == 1, "item: tensor of shape ", shape_text(shape()), " has ", numel(),
        " elements, expected exactly one");
  return at(0);
}

std::vector<double> Tensor::to_vector() const {
  std::vector<double> v((size_t)numel());
  for (int64_t i = 0; i < numel(); ++i) v[(size_t)i] = load(raw(), dtype(), i);
  return v;
}

// ---- autograd accessors --------------------------------------------------------------------------
bool Tensor::requires_grad() const { return need(impl_).requires_grad; }
Tensor& Tensor::set_requires_grad(bool r) {
  check(is_leaf() || r, "set_requires_grad(false): only leaves can stop requiring grad; use detach()");
  check(!r || is_floating(dtype()),
        "set_requires_grad: only floating-point tensors can require "
        "gradients, got ",
        dtype_name(dtype()));
  impl_->requires_grad = r;
  return *this;
}
const Tensor& Tensor::grad() const { return need(impl_).grad; }
void Tensor::zero_grad() {
  need(impl_);
  impl_->grad = Tensor();
}
void Tensor::set_grad(const Tensor& g) {
  need(impl_);
  check(!g.defined() || g.shape() == shape(), "set_grad: gradient shape ", shape_text(g.shape()),
        " differs from tensor shape ", shape_text(shape()));
  impl_->grad = g;
}
const std::shared_ptr<Node>& Tensor::grad_fn() const { return need(impl_).grad_fn; }

void Tensor::backward(const Tensor& grad_output, bool retain_graph) const {
  run_backward(*this, grad_output, retain_graph);
}

Tensor Tensor::detach() const {
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape();
  impl->dtype = dtype();
  impl->storage = impl_->storage;
  return Tensor(std::move(impl));
}

// ---- conversions ---------------------------------------------------------------------------------
Tensor Tensor::contiguous_copy_no_grad() const {
  Tensor out = empty(shape(), dtype());
  std::memcpy(out.raw(), raw(), nbytes());
  return out;
}

// Element-wise cast without a graph. Fast paths for the f32 <-> f16/bf16 pairs mixed precision uses.
static Tensor cast_no_grad(const Tensor& x, DType to) {
  Tensor out = Tensor::empty(x.shape(), to);
  const int64_t n = x.numel();
  const DType from = x.dtype();
  if (from == DType::f32 && to == DType::f16) {
    kernels::convert_f32_to_f16(static_cast<const float*>(x.raw()), static_cast<uint16_t*>(out.raw()), n);
  } else if (from == DType::f16 && to == DType::f32) {
    kernels::convert_f16_to_f32(static_cast<const uint16_t*>(x.raw()), static_cast<float*>(out.raw()), n);
  } else if (from == DType::f32 && to == DType::bf16) {
    kernels::convert_f32_to_bf16(static_cast<const float*>(x.raw()), static_cast<uint16_t*>(out.raw()), n);
  } else if (from == DType::bf16 && to == DType::f32) {
    kernels::convert_bf16_to_f32(static_cast<const uint16_t*>(x.raw()), static_cast<float*>(out.raw()), n);
  } else {
    // Through double: exact for every source dtype here, and store() rounds once to the target.
    for (int64_t i = 0; i < n; ++i) store(out.raw(), to, i, load(x.raw(), from, i));
  }
  return out;
}

Tensor Tensor::to(DType t) const {
  if (t == dtype()) return *this;
  Tensor out = cast_no_grad(*this, t);
  if (!is_floating(t) || !is_floating(dtype())) return out;  // casts to/from integers carry no gradient
  DType from = dtype();
  // d(cast x)/dx = 1: the gradient is cast back to the source dtype.
  return record("to", out, {*this}, [from](const Tensor& g) { return std::vector<Tensor>{g.to(from)}; });
}

Tensor Tensor::clone() const {
  Tensor out = contiguous_copy_no_grad();
  return record("clone", out, {*this}, [](const Tensor& g) { return std::vector<Tensor>{g}; });
}

// ---- printing ------------------------------------------------------------------------------------
static void print_rec(std::ostream& os, const Tensor& t, size_t d, int64_t offset, int max_per_dim, int indent) {
  const Shape& s = t.shape();
  if (d == s.size()) {
    double v = t.at(offset);
    if (is_floating(t.dtype())) os << std::setprecision(6) << v;
    else os << (int64_t)v;
    return;
  }
  int64_t stride = 1;
  for (size_t k = d + 1; k < s.size(); ++k) stride *= s[k];
  os << "[";
  int64_t n = s[d];
  bool elide = n > max_per_dim;
  for (int64_t i = 0; i < n; ++i) {
    if (elide && i == max_per_dim / 2) {
      os << (d + 1 == s.size() ? "..., " : "...,\n" + std::string((size_t)indent + 1, ' '));
      i = n - max_per_dim / 2;
    }
    print_rec(os, t, d + 1, offset + i * stride, max_per_dim, indent + 1);
    if (i + 1 < n) os << (d + 1 == s.size() ? ", " : ",\n" + std::string((size_t)indent + 1, ' '));
  }
  os << "]";
}

std::string Tensor::str(int max_per_dim) const {
  if (!defined()) return "tensor(undefined)";
  std::ostringstream os;
  os << "tensor(";
  print_rec(os, *this, 0, 0, max_per_dim, 7);
  os << ", shape=" << shape_str(shape()) << ", dtype=" << dtype_name(dtype());
  if (requires_grad()) os << ", requires_grad";
  if (grad_fn()) os << ", grad_fn=" << grad_fn()->name;
  os << ")";
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const Tensor& t) { return os << t.str(); }

// ---- creation ------------------------------------------------------------------------------------
Tensor full(const Shape& shape, double value, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  const int64_t n = t.numel();
  if (n == 0) return t;
  store(t.raw(), dtype, 0, value);
  const size_t es = dtype_size(dtype);
  char* p = static_cast<char*>(t.raw());
  for (int64_t i = 1; i < n; ++i) std::memcpy(p + i * es, p, es);
  return t;
}
Tensor zeros(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  std::memset(t.raw(), 0, t.nbytes());
  return t;
}
Tensor ones(const Shape& shape, DType dtype) { return full(shape, 1.0, dtype); }
Tensor scalar_tensor(double value, DType dtype) { return full({}, value, dtype); }
Tensor zeros_like(const Tensor& t) { return zeros(t.shape(), t.dtype()); }
Tensor ones_like(const Tensor& t) { return ones(t.shape(), t.dtype()); }
Tensor full_like(const Tensor& t, double value) { return full(t.shape(), value, t.dtype()); }

Tensor arange(double start, double end, double step, DType dtype) {
  check(step != 0, "arange: step must be non-zero");
  check(std::isfinite(start) && std::isfinite(end), "arange: start and end must be finite");
  double count = std::ceil((end - start) / step);
  int64_t n = count > 0 ? (int64_t)count : 0;
  Tensor t = Tensor::empty({n}, dtype);
  for (int64_t i = 0; i < n; ++i) store(t.raw(), dtype, i, start + (double)i * step);
  return t;
}

Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype) {
  check((int64_t)values.size() == shape_numel(shape), "from_vector: ", values.size(), " values do not fill shape ",
        shape_text(shape), " (", shape_numel(shape), " elements)");
  Tensor t = Tensor::empty(shape, dtype);
  for (size_t i = 0; i < values.size(); ++i) store(t.raw(), dtype, (int64_t)i, values[i]);
  return t;
}

Tensor tensor(std::initializer_list<double> values, const Shape& shape, DType dtype) {
  return from_vector(std::vector<double>(values), shape, dtype);
}

}  // namespace dg
