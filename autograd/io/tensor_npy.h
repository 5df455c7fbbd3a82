// Tensor <-> .npy. dtypes map one to one (f4 f8 f2 i8 i4 u1 b1 <-> f32 f64 f16 i64 i32 u8 bool);
// NumPy has no bfloat16, so a bf16 tensor is saved as f4 (widening is exact).
#pragma once
#include <string>

#include "autograd/io/npy.h"
#include "autograd/tensor.h"

namespace dg::io {

Tensor load_npy(const std::string& path);                 // errors name the file
void save_npy(const std::string& path, const Tensor& t);  // atomic (tmp + rename)
Tensor tensor_from_npy(const NpyArray& a);
NpyArray npy_from_tensor(const Tensor& t);

}  // namespace dg::io
