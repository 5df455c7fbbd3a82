// .npy files (NumPy's array format), independent of Tensor: an array is a dtype name, a shape and
// the raw little-endian C-order bytes. docs/npy.md draws the format and lists what is accepted.
//
// Reads format versions 1.0, 2.0 and 3.0; writes 1.0 (2.0 only if the header passes 65535 bytes),
// with the header laid out byte for byte as NumPy's np.save lays it out.
// dtypes: "f4" "f8" "f2" "i8" "i4" "u1" "b1" (little-endian; bool bytes must be 0 or 1).
// Every problem (missing file, corrupt or truncated file, unsupported dtype, Fortran order, ...) is a
// dg::Error whose message starts "npy: <file>: ".
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dg::io {

struct NpyArray {
  std::string dtype;           // numpy descr without byte order: "f4","f8","f2","i8","i4","u1","b1"
  std::vector<int64_t> shape;  // {} is a scalar (one element); a 0 anywhere means no elements
  std::vector<uint8_t> data;   // numel() * itemsize bytes, little-endian, C (row-major) order
  int64_t numel() const;       // product of shape (1 for a scalar)
};

// Bytes per element of a dtype name ("f4" -> 4); throws dg::Error for a name detgrad does not support.
int64_t npy_itemsize(const std::string& dtype);

// Read a .npy file. Errors name the path.
NpyArray read_npy(const std::string& path);

// Parse the bytes of a whole .npy file; name_for_errors is what error messages call it.
NpyArray parse_npy(const uint8_t* bytes, size_t size, const std::string& name_for_errors);

// Write a .npy file atomically-ish: to path + ".tmp", then rename over path.
void write_npy(const std::string& path, const NpyArray& array);

// The bytes write_npy writes: magic, version, header length, header dict padded to 64, data.
std::vector<uint8_t> serialize_npy(const NpyArray& array);

}  // namespace dg::io
