// Element types. f32 is the compute default, f64 the reference type (gradient checks, `detgrad ref`),
// f16 / bf16 are storage types (arithmetic upcasts to f32 and rounds back), i64 / i32 / u8 / b8 hold
// indices, labels and masks.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace dg {

enum class DType : uint8_t { f32, f64, f16, bf16, i64, i32, u8, b8 };

size_t dtype_size(DType t);                   // bytes per element
const char* dtype_name(DType t);              // "f32", "f64", ...
DType dtype_from_name(const std::string& s);  // inverse of dtype_name; throws dg::Error
inline bool is_floating(DType t) { return t == DType::f32 || t == DType::f64 || t == DType::f16 || t == DType::bf16; }
inline bool is_half(DType t) { return t == DType::f16 || t == DType::bf16; }

}  // namespace dg
