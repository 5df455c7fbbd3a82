// Image I/O through stb. The stb implementations are compiled here, once, as `static` functions so
// that no other stb copy (examples/heatmap_picture.cpp has its own) can clash with them at link time.
#include "autograd/io/image.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "autograd/io/safetensors.h"  // write_file_atomic

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wsign-compare"
#endif
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

namespace dg::io {

namespace {

// The whole file, or a dg::Error naming it.
std::vector<uint8_t> read_all(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("image: ", path, ": cannot open: ", std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t buf[65536];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) bytes.insert(bytes.end(), buf, buf + n);
  const bool bad = std::ferror(f) != 0;
  std::fclose(f);
  if (bad) fail("image: ", path, ": read error");
  return bytes;
}

void check_hwc_u8(const Tensor& image, const char* who, const std::string& path) {
  if (!image.defined() || image.dtype() != DType::u8 || image.dim() != 3 ||
      (image.size(2) != 1 && image.size(2) != 3) || image.size(0) < 1 || image.size(1) < 1)
    fail(who, ": ", path, ": expected a u8 [H,W,3] or [H,W,1] image, got ",
         image.defined() ? dtype_name(image.dtype()) : "undefined", " ",
         image.defined() ? shape_str(image.shape()) : "[]");
}

// stb_image_write hands the encoded bytes to this callback piece by piece.
void append_bytes(void* ctx, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(ctx);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

uint32_t le32(const std::vector<uint8_t>& b, size_t at) {
  return (uint32_t)b[at] | (uint32_t)b[at + 1] << 8 | (uint32_t)b[at + 2] << 16 | (uint32_t)b[at + 3] << 24;
}

// stb_image reads past the end of a truncated uncompressed BMP as zeros instead of failing, so check
// the size ourselves: an uncompressed (BI_RGB / BI_BITFIELDS) BMP needs offset + row_bytes * |height|
// bytes, rows padded to 4 bytes.
void check_bmp_size(const std::vector<uint8_t>& b, const std::string& path) {
  if (b.size() < 34 || b[0] != 'B' || b[1] != 'M') return;
  const uint32_t header = le32(b, 14);
  if (header < 40) return;  // old OS/2 headers: leave them to stb
  const uint64_t offset = le32(b, 10);
  const int64_t width = (int32_t)le32(b, 18), height = (int32_t)le32(b, 22);
  const uint32_t bits = (uint32_t)b[28] | (uint32_t)b[29] << 8, compression = le32(b, 30);
  if (compression != 0 && compression != 3) return;  // RLE: stb checks as it decodes
  const uint64_t row = ((uint64_t)std::abs(width) * bits + 31) / 32 * 4;
  const uint64_t need = offset + row * (uint64_t)std::abs(height);
  if (b.size() < need)
    fail("image: ", path, ": corrupt or truncated image (BMP needs ", need, " bytes, file has ", b.size(), ")");
}

}  // namespace

Tensor load_image(const std::string& path) {
  const std::vector<uint8_t> bytes = read_all(path);
  if (bytes.empty()) fail("image: ", path, ": empty file");
  int w = 0, h = 0, c = 0;
  // Is it a format stb knows at all? info() reads only the header; a failure here means
  // "not an image stb understands" (unsupported or garbage), distinct from a truncated known format.
  if (!stbi_info_from_memory(bytes.data(), (int)bytes.size(), &w, &h, &c))
    fail("image: ", path, ": unsupported or unrecognised image format (",
         stbi_failure_reason() ? stbi_failure_reason() : "unknown", "); PNG, JPEG and BMP are supported");
  check_bmp_size(bytes, path);
  unsigned char* px = stbi_load_from_memory(bytes.data(), (int)bytes.size(), &w, &h, &c, 3);
  if (!px)
    fail("image: ", path, ": corrupt or truncated image (", stbi_failure_reason() ? stbi_failure_reason() : "unknown",
         ")");
  Tensor out = Tensor::empty({h, w, 3}, DType::u8);
  std::memcpy(out.raw(), px, (size_t)w * h * 3);
  stbi_image_free(px);
  return out;
}

void save_png(const std::string& path, const Tensor& image) {
  check_hwc_u8(image, "save_png", path);
  const int h = (int)image.size(0), w = (int)image.size(1), c = (int)image.size(2);
  std::vector<uint8_t> bytes;
  if (!stbi_write_png_to_func(append_bytes, &bytes, w, h, c, image.raw(), w * c))
    fail("save_png: ", path, ": PNG encoding failed for ", shape_str(image.shape()));
  write_file_atomic(path, bytes, "save_png");
}

void save_jpg(const std::string& path, const Tensor& image, int quality) {
  check_hwc_u8(image, "save_jpg", path);
  if (quality < 1 || quality > 100) fail("save_jpg: ", path, ": quality must be 1..100, got ", quality);
  const int h = (int)image.size(0), w = (int)image.size(1), c = (int)image.size(2);
  std::vector<uint8_t> bytes;
  if (!stbi_write_jpg_to_func(append_bytes, &bytes, w, h, c, image.raw(), quality))
    fail("save_jpg: ", path, ": JPEG encoding failed for ", shape_str(image.shape()));
  write_file_atomic(path, bytes, "save_jpg");
}

Tensor image_to_chw_float(const Tensor& image) {
  if (!image.defined() || image.dtype() != DType::u8 || image.dim() != 3 || image.size(2) != 3)
    fail("image_to_chw_float: expected u8 [H,W,3], got ", image.defined() ? dtype_name(image.dtype()) : "undefined",
         " ", image.defined() ? shape_str(image.shape()) : "[]");
  const int64_t h = image.size(0), w = image.size(1);
  Tensor out = Tensor::empty({3, h, w}, DType::f32);
  const uint8_t* src = image.data<uint8_t>();
  float* dst = out.data<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t i = 0; i < h * w; ++i) dst[c * h * w + i] = (float)src[i * 3 + c] / 255.0f;
  return out;
}

Tensor chw_float_to_image(const Tensor& chw) {
  if (!chw.defined() || (chw.dtype() != DType::f32 && chw.dtype() != DType::f64) || chw.dim() != 3 ||
      (chw.size(0) != 3 && chw.size(0) != 1))
    fail("chw_float_to_image: expected f32/f64 [3,H,W] or [1,H,W], got ",
         chw.defined() ? dtype_name(chw.dtype()) : "undefined", " ", chw.defined() ? shape_str(chw.shape()) : "[]");
  const int64_t c = chw.size(0), h = chw.size(1), w = chw.size(2);
  Tensor f = chw.dtype() == DType::f32 ? chw : chw.detach().to(DType::f32);
  const float* src = f.data<float>();
  Tensor out = Tensor::empty({h, w, c}, DType::u8);
  uint8_t* dst = out.data<uint8_t>();
  for (int64_t k = 0; k < c; ++k)
    for (int64_t i = 0; i < h * w; ++i) {
      float v = std::clamp(src[k * h * w + i], 0.0f, 1.0f);  // NaN clamps to 0 below
      if (!(v == v)) v = 0.0f;
      dst[i * c + k] = (uint8_t)std::lround(v * 255.0f);
    }
  return out;
}

}  // namespace dg::io
