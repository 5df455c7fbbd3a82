#include "autograd/io/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>

namespace dg::io {

std::vector<uint8_t> read_gz(const std::string& path, const char* who) {
  gzFile f = gzopen(path.c_str(), "rb");
  if (!f) fail(who, ": ", path, ": cannot open: ", errno ? std::strerror(errno) : "zlib could not open it");
  std::vector<uint8_t> out;
  std::vector<uint8_t> chunk(1 << 20);
  while (true) {
    const int n = gzread(f, chunk.data(), (unsigned)chunk.size());
    if (n < 0) {
      int code = 0;
      const std::string msg = gzerror(f, &code);
      gzclose(f);
      fail(who, ": ", path, ": corrupt gzip data: ", msg);
    }
    if (n == 0) break;
    out.insert(out.end(), chunk.begin(), chunk.begin() + n);
  }
  // A gzip stream cut short reads as a short file; zlib reports it as Z_BUF_ERROR.
  int code = 0;
  const std::string msg = gzerror(f, &code);
  gzclose(f);
  check(code == Z_OK || code == Z_STREAM_END, who, ": ", path, ": corrupt or truncated gzip data: ", msg);
  return out;
}

static uint32_t be32(const uint8_t* p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

Tensor parse_idx(const uint8_t* bytes, size_t size, const std::string& name) {
  const std::string ctx = "idx: " + name + ": ";
  check(size >= 4, ctx, "file too short (", size, " bytes) for the 4-byte magic number");
  check(bytes[0] == 0 && bytes[1] == 0, ctx, "bad magic number (first two bytes must be 0; not an IDX file?)");
  DType dt;
  switch (bytes[2]) {
    case 0x08: dt = DType::u8; break;
    case 0x0C: dt = DType::i32; break;
    case 0x0D: dt = DType::f32; break;
    case 0x0E: dt = DType::f64; break;
    default:
      fail(ctx, "unsupported element type 0x", std::hex, (int)bytes[2],
           " (supported: 0x08 u8, 0x0c i32, 0x0d f32, 0x0e f64)");
  }
  const int ndim = bytes[3];
  check(ndim >= 1, ctx, "zero dimensions");
  check(size >= 4 + 4 * (size_t)ndim, ctx, "file too short (", size, " bytes) for ", ndim, " dimension sizes");
  Shape shape;
  uint64_t numel = 1;
  for (int d = 0; d < ndim; ++d) {
    const uint32_t s = be32(bytes + 4 + 4 * d);
    shape.push_back((int64_t)s);
    numel *= s;
    check(numel < (1ull << 40), ctx, "shape ", shape_text(shape), " is too large");
  }
  const size_t esize = dtype_size(dt), header = 4 + 4 * (size_t)ndim;
  const uint64_t want = numel * esize, have = size - header;
  check(have >= want, ctx, "truncated: shape ", shape_text(shape), " needs ", want, " data bytes, the file has ", have);
  check(have == want, ctx, "shape ", shape_text(shape), " needs ", want, " data bytes, the file has ", have, " (",
        have - want, " trailing bytes)");
  Tensor t = Tensor::empty(shape, dt);
  uint8_t* out = static_cast<uint8_t*>(t.raw());
  const uint8_t* in = bytes + header;
  if (esize == 1) {
    std::memcpy(out, in, want);
  } else {
    for (uint64_t i = 0; i < numel; ++i)  // big-endian -> little-endian
      for (size_t b = 0; b < esize; ++b) out[i * esize + b] = in[i * esize + (esize - 1 - b)];
  }
  return t;
}

Tensor load_idx(const std::string& path) {
  const std::vector<uint8_t> bytes = read_gz(path, "idx");
  return parse_idx(bytes.data(), bytes.size(), path);
}

MnistSplit load_fashion_mnist(bool train, const std::string& dir) {
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  const std::string ipath = prefix + "-images-idx3-ubyte.gz", lpath = prefix + "-labels-idx1-ubyte.gz";
  Tensor images = load_idx(ipath), labels = load_idx(lpath);
  check(images.dtype() == DType::u8 && images.dim() == 3 && images.size(1) == 28 && images.size(2) == 28,
        "idx: ", ipath, ": expected u8 images [N,28,28], got ", dtype_name(images.dtype()), " ",
        shape_text(images.shape()));
  check(labels.dtype() == DType::u8 && labels.dim() == 1, "idx: ", lpath, ": expected u8 labels [N], got ",
        dtype_name(labels.dtype()), " ", shape_text(labels.shape()));
  check(labels.size(0) == images.size(0), "idx: ", lpath, ": ", labels.size(0), " labels for ", images.size(0),
        " images in ", ipath);
  Tensor l64 = Tensor::empty({labels.size(0)}, DType::i64);
  const uint8_t* src = static_cast<const uint8_t*>(labels.raw());
  int64_t* dst = l64.data<int64_t>();
  for (int64_t i = 0; i < labels.size(0); ++i) {
    check(src[i] <= 9, "idx: ", lpath, ": label ", (int)src[i], " at index ", i, " is outside 0..9");
    dst[i] = src[i];
  }
  return {images, l64};
}

}  // namespace dg::io
