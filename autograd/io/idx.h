// IDX files (LeCun's MNIST format, also Fashion-MNIST), plain or gzip-compressed (read through zlib):
//
//   [0x00 0x00][type][ndim] then ndim big-endian u32 sizes, then the data, big-endian, row-major.
//   type: 0x08 u8, 0x0C i32, 0x0D f32, 0x0E f64 (0x09 i8 and 0x0B i16 exist but are not supported).
//
// Debian's dataset-fashion-mnist package installs the four files in /usr/share/datasets/fashion-mnist:
// {train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (60000 / 10000 images of 28x28, labels 0..9).
// Every problem (missing file, bad gzip stream, bad magic, truncated data, trailing bytes) is a
// dg::Error starting "idx: <file>: ".
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "autograd/tensor.h"

namespace dg::io {

// Parse the (decompressed) bytes of an IDX file into a tensor: u8 -> u8, i32 -> i32, f32 -> f32,
// f64 -> f64, converted to the machine's byte order.
Tensor parse_idx(const uint8_t* bytes, size_t size, const std::string& name_for_errors);
// Read an IDX file; gzip-compressed or not (zlib reads both).
Tensor load_idx(const std::string& path);
// The whole decompressed content of a gzip (or plain) file.
std::vector<uint8_t> read_gz(const std::string& path, const char* who);

struct MnistSplit {
  Tensor images;  // [N, 28, 28] u8, 0..255
  Tensor labels;  // [N] i64, 0..9
};

constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";
// The class names of Fashion-MNIST, by label.
constexpr std::array<const char*, 10> kFashionMnistClasses = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                              "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                              "Bag",         "Ankle boot"};

// Loads <dir>/{train|t10k}-images-idx3-ubyte.gz and the matching labels; checks that the counts agree,
// images are [N,28,28] and labels lie in 0..9.
MnistSplit load_fashion_mnist(bool train, const std::string& dir = kFashionMnistDir);

}  // namespace dg::io
