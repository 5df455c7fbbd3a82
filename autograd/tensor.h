// Tensor: a shape, a dtype and shared contiguous row-major (NCHW) storage, plus what autograd needs
// (requires_grad, the accumulated .grad, and grad_fn: the Node that produced it).
//
// NOTE [ Views and copies ]
// reshape/view share storage with their source (writing through one is seen by the other); every
// other shape op (permute, transpose, expand, slice, narrow, ...) returns a fresh contiguous copy.
// Storage is therefore always contiguous with no strides, so every kernel is a plain loop over
// memory and a student can predict exactly what each op allocates. The price is a copy where PyTorch
// would make a strided view; the engine's hot paths (conv, gemm) take transposes as kernel flags
// instead of materialising them.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "autograd/dtype.h"
#include "autograd/error.h"
#include "autograd/memory.h"  // memory_stats(): the storage byte counters

namespace dg {

using Shape = std::vector<int64_t>;
int64_t shape_numel(const Shape& s);

// 64-byte aligned bytes, freed when the last Tensor using it goes away. Counted by memory_stats()
// (autograd/memory.h).
struct Storage {
  explicit Storage(size_t nbytes);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  void* data = nullptr;
  size_t nbytes = 0;
};

struct Node;
struct TensorImpl;

class Tensor {
 public:
  Tensor() = default;  // undefined tensor (no storage)
  explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}
  static Tensor empty(const Shape& shape, DType dtype = DType::f32);  // uninitialised

  bool defined() const { return impl_ != nullptr; }
  const Shape& shape() const;
  int64_t dim() const { return (int64_t)shape().size(); }
  int64_t size(int64_t d) const;  // negative d counts from the end
  int64_t numel() const;
  DType dtype() const;
  size_t nbytes() const { return (size_t)numel() * dtype_size(dtype()); }

  void* raw();  // first element (any dtype)
  const void* raw() const;
  template <class T>
  T* data();  // typed pointer; throws on dtype mismatch
  template <class T>
  const T* data() const;
  double item() const;                    // the value of a one-element tensor, as double
  double at(int64_t flat_index) const;    // element as double (any dtype; for tests/printing)
  std::vector<double> to_vector() const;  // all elements as double

  // autograd
  bool requires_grad() const;
  Tensor& set_requires_grad(bool r = true);  // only on leaves (tensors without grad_fn)
  const Tensor& grad() const;                // accumulated gradient (undefined until backward)
  void zero_grad();                          // drops .grad
  void set_grad(const Tensor& g);
  const std::shared_ptr<Node>& grad_fn() const;
  bool is_leaf() const { return grad_fn() == nullptr; }
  // Reverse-mode pass from this tensor. A non-scalar needs an explicit upstream gradient. Frees the
  // graph unless retain_graph (a second backward through a freed graph is an error).
  void backward(const Tensor& grad_output = Tensor(), bool retain_graph = false) const;
  Tensor detach() const;  // same storage, no graph

  // conversions and copies
  Tensor to(DType t) const;                // differentiable cast; the same tensor if t == dtype()
  Tensor clone() const;                    // differentiable deep copy
  Tensor contiguous_copy_no_grad() const;  // deep copy, no graph

  std::string str(int max_per_dim = 6) const;  // printable form, like torch's repr

  TensorImpl* impl() const { return impl_.get(); }
  const std::shared_ptr<TensorImpl>& impl_ptr() const { return impl_; }

 private:
  std::shared_ptr<TensorImpl> impl_;
};

struct TensorImpl {
  Shape shape;
  DType dtype = DType::f32;
  std::shared_ptr<Storage> storage;
  bool requires_grad = false;
  Tensor grad;                    // accumulated gradient (leaves)
  std::shared_ptr<Node> grad_fn;  // producer (non-leaves that require grad)
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

// ---- creation ----------------------------------------------------------------------------------
Tensor zeros(const Shape& shape, DType dtype = DType::f32);
Tensor ones(const Shape& shape, DType dtype = DType::f32);
Tensor full(const Shape& shape, double value, DType dtype = DType::f32);
Tensor scalar_tensor(double value, DType dtype = DType::f32);  // shape []
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
// [start, start+step, ...) up to end (exclusive), like torch.arange.
Tensor arange(double start, double end, double step = 1.0, DType dtype = DType::f32);
inline Tensor arange(int64_t end, DType dtype = DType::i64) { return arange(0.0, (double)end, 1.0, dtype); }
// from values (converted to dtype); the values' count must equal the shape's numel.
Tensor from_vector(const std::vector<double>& values, const Shape& shape, DType dtype = DType::f32);
Tensor tensor(std::initializer_list<double> values, const Shape& shape, DType dtype = DType::f32);

// element-type dispatch helpers used by ops
template <class T>
DType dtype_of();

}  // namespace dg
