// safetensors (Hugging Face's tensor file format), independent of PyTorch's pickle:
//
//   [8 bytes: N, little-endian u64][N bytes: JSON header][raw data: every tensor's bytes]
//   header = {"<name>": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//             "__metadata__": {"<key>": "<string value>", ...}}      (metadata optional)
//
// Offsets are byte ranges [begin, end) into the data part; data is little-endian, row-major.
// dtypes: F32 F64 F16 BF16 I64 I32 U8 BOOL <-> f32 f64 f16 bf16 i64 i32 u8 b8.
// Names are the keys of a PyTorch state_dict, so weights move both ways (docs/checkpoints.md shows
// the Python side). Files are written atomically: temporary file in the same folder, fsync, rename.
// Every problem (missing, truncated or corrupt file, bad dtype, overlapping or out-of-range offsets,
// mismatch with an expected set of tensors) is a dg::Error starting "safetensors: <file>: ".
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace dg::io {

using TensorMap = std::map<std::string, Tensor>;  // by name (sorted: files are reproducible)
using Metadata = std::map<std::string, std::string>;

struct SafetensorsFile {
  TensorMap tensors;
  Metadata metadata;  // the "__metadata__" object (string values only), empty if absent
};

// "F32" <-> DType::f32, ... ; throws for dtypes detgrad does not support.
const char* safetensors_dtype_name(DType t);
DType dtype_from_safetensors(const std::string& s, const std::string& context);

// Write tensors (any dtype above; copied as they are) and metadata. Atomic.
void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata = {});
std::vector<uint8_t> serialize_safetensors(const TensorMap& tensors, const Metadata& metadata = {});

// Read a whole file / parse its bytes. name_for_errors is what messages call it.
SafetensorsFile load_safetensors(const std::string& path);
SafetensorsFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& name_for_errors);

// Copy `loaded` into the tensors of `expected` (in place, no graph), e.g. a module's state_dict.
// Names must match exactly: a missing or unexpected name, or a shape mismatch, is a dg::Error naming
// the tensor and both shapes (every offender is listed). Floating dtypes convert (f64 file -> f32
// model); other dtype differences are errors. `context` starts the messages (e.g. the file name).
void assign_tensors(const TensorMap& loaded, const TensorMap& expected, const std::string& context);
// The checks of assign_tensors alone (nothing is copied).
void check_tensors_match(const TensorMap& loaded, const TensorMap& expected, const std::string& context);

// load_safetensors + assign_tensors; returns the metadata.
Metadata load_safetensors_into(const std::string& path, const TensorMap& expected);

// Atomic file write used by the writers here: path + ".tmp.<pid>", fsync, rename over path, fsync of
// the folder. On any error the temporary file is removed and path is untouched.
void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes, const char* who);

}  // namespace dg::io
