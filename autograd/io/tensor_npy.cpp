#include "autograd/io/tensor_npy.h"

#include <cstring>

namespace dg::io {

static DType dtype_of_npy(const std::string& d) {
  if (d == "f4") return DType::f32;
  if (d == "f8") return DType::f64;
  if (d == "f2") return DType::f16;
  if (d == "i8") return DType::i64;
  if (d == "i4") return DType::i32;
  if (d == "u1") return DType::u8;
  if (d == "b1") return DType::b8;
  fail("npy: unsupported dtype '", d, "'");
}

static std::string npy_of_dtype(DType t) {
  switch (t) {
    case DType::f32: return "f4";
    case DType::f64: return "f8";
    case DType::f16: return "f2";
    case DType::i64: return "i8";
    case DType::i32: return "i4";
    case DType::u8: return "u1";
    case DType::b8: return "b1";
    case DType::bf16: return "f4";
  }
  return "?";
}

Tensor tensor_from_npy(const NpyArray& a) {
  Tensor t = Tensor::empty(a.shape, dtype_of_npy(a.dtype));
  check(a.data.size() == t.nbytes(), "npy: data size ", a.data.size(), " does not match shape ", shape_text(a.shape));
  if (t.nbytes()) std::memcpy(t.raw(), a.data.data(), t.nbytes());
  return t;
}

NpyArray npy_from_tensor(const Tensor& t_in) {
  Tensor t = t_in.dtype() == DType::bf16 ? t_in.detach().to(DType::f32) : t_in;
  NpyArray a;
  a.dtype = npy_of_dtype(t.dtype());
  a.shape = t.shape();
  a.data.resize(t.nbytes());
  if (t.nbytes()) std::memcpy(a.data.data(), t.raw(), t.nbytes());
  return a;
}

Tensor load_npy(const std::string& path) { return tensor_from_npy(read_npy(path)); }
void save_npy(const std::string& path, const Tensor& t) { write_npy(path, npy_from_tensor(t)); }

}  // namespace dg::io
