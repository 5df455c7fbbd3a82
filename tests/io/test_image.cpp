// Image I/O (autograd/io/image.h): PNG / BMP / JPEG round trips through small files written to a temp
// folder, and a clear error naming the file for missing, empty, garbage, truncated and unsupported files.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "autograd/io/image.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::io;
namespace fs = std::filesystem;

namespace {
struct TempDir {
  fs::path dir;
  TempDir() {
    dir = fs::temp_directory_path() / ("detgrad_image_test_" + std::to_string(::getpid()));
    fs::create_directories(dir);
  }
  ~TempDir() { fs::remove_all(dir); }
  std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

// A deterministic test picture: u8 [h, w, c] with distinct values per pixel and channel.
Tensor pattern(int64_t h, int64_t w, int64_t c) {
  Tensor t = Tensor::empty({h, w, c}, DType::u8);
  uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < h * w * c; ++i) p[i] = (uint8_t)((i * 37 + i / 7) & 0xFF);
  return t;
}

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}
void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write((const char*)b.data(), (std::streamsize)b.size());
}

// An uncompressed 24-bit BMP written by hand (independent of stb): BITMAPFILEHEADER + BITMAPINFOHEADER,
// rows bottom-up, BGR, each row padded to 4 bytes.
std::vector<uint8_t> bmp_bytes(const Tensor& rgb) {
  const int64_t h = rgb.size(0), w = rgb.size(1), row = (w * 3 + 3) / 4 * 4;
  const uint32_t data = 54, size = (uint32_t)(data + row * h);
  std::vector<uint8_t> b(size, 0);
  auto put = [&](size_t at, uint32_t v, int n) {
    for (int k = 0; k < n; ++k) b[at + k] = (uint8_t)(v >> (8 * k));
  };
  b[0] = 'B', b[1] = 'M';
  put(2, size, 4), put(10, data, 4), put(14, 40, 4), put(18, (uint32_t)w, 4), put(22, (uint32_t)h, 4);
  put(26, 1, 2), put(28, 24, 2), put(34, (uint32_t)(row * h), 4);
  const uint8_t* p = rgb.data<uint8_t>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c) b[data + (h - 1 - y) * row + x * 3 + c] = p[(y * w + x) * 3 + (2 - c)];
  return b;
}

}  // namespace

TEST_CASE("image: PNG round trip, RGB and grey") {
  TempDir tmp;
  const Tensor rgb = pattern(5, 7, 3);
  save_png(tmp / "rgb.png", rgb);
  CHECK(same_bytes(load_image(tmp / "rgb.png"), rgb));
  // Saving over an existing file replaces it and leaves no temporary file behind.
  const Tensor rgb2 = pattern(3, 4, 3);
  save_png(tmp / "rgb.png", rgb2);
  CHECK(same_bytes(load_image(tmp / "rgb.png"), rgb2));
  int files = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(tmp.dir)) ++files;
  CHECK(files == 1);  // only rgb.png

  // A grey [H,W,1] image loads back as RGB with the three channels equal.
  const Tensor grey = pattern(4, 6, 1);
  save_png(tmp / "grey.png", grey);
  const Tensor back = load_image(tmp / "grey.png");
  REQUIRE(back.shape() == Shape{4, 6, 3});
  bool ok = true;
  for (int64_t i = 0; i < 24; ++i)
    for (int c = 0; c < 3; ++c) ok &= back.data<uint8_t>()[i * 3 + c] == grey.data<uint8_t>()[i];
  CHECK(ok);
}

TEST_CASE("image: BMP written by hand loads exactly") {
  TempDir tmp;
  const Tensor rgb = pattern(3, 5, 3);  // 15-byte rows: exercises the 4-byte row padding
  write_bytes(tmp / "a.bmp", bmp_bytes(rgb));
  CHECK(same_bytes(load_image(tmp / "a.bmp"), rgb));
}

TEST_CASE("image: JPEG round trip is close") {
  TempDir tmp;
  // A smooth image (JPEG is lossy; smooth content survives well).
  Tensor img = Tensor::empty({16, 16, 3}, DType::u8);
  uint8_t* p = img.data<uint8_t>();
  for (int y = 0; y < 16; ++y)
    for (int x = 0; x < 16; ++x)
      p[(y * 16 + x) * 3 + 0] = (uint8_t)(x * 16), p[(y * 16 + x) * 3 + 1] = (uint8_t)(y * 16),
                           p[(y * 16 + x) * 3 + 2] = 128;
  save_jpg(tmp / "a.jpg", img, 95);
  const Tensor back = load_image(tmp / "a.jpg");
  REQUIRE(back.shape() == Shape{16, 16, 3});
  double err = 0;
  for (int64_t i = 0; i < img.numel(); ++i) err += std::abs((double)back.data<uint8_t>()[i] - p[i]);
  CHECK(err / (double)img.numel() < 6.0);
  CHECK_THROWS_WITH_PART(save_jpg(tmp / "b.jpg", img, 0), "quality must be 1..100");
}

TEST_CASE("image: errors name the file") {
  TempDir tmp;
  const std::string missing = tmp / "nope.png";
  CHECK_THROWS_WITH_PART(load_image(missing), "image: " + missing + ": cannot open");

  write_bytes(tmp / "empty.png", {});
  CHECK_THROWS_WITH_PART(load_image(tmp / "empty.png"), "empty.png: empty file");

  write_bytes(tmp / "garbage.png", std::vector<uint8_t>(100, 0x5A));
  CHECK_THROWS_WITH_PART(load_image(tmp / "garbage.png"), "garbage.png: unsupported or unrecognised image format");

  // A TIFF header: a real image format that stb does not read.
  write_bytes(tmp / "a.tif", {'I', 'I', 42, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH_PART(load_image(tmp / "a.tif"), "a.tif: unsupported or unrecognised image format");

  // A valid PNG cut in half: the header parses, the pixel data does not.
  save_png(tmp / "full.png", pattern(32, 32, 3));
  std::vector<uint8_t> b = read_bytes(tmp / "full.png");
  b.resize(b.size() / 2);
  write_bytes(tmp / "cut.png", b);
  CHECK_THROWS_WITH_PART(load_image(tmp / "cut.png"), "cut.png: corrupt or truncated image");

  // Same for a BMP missing its last rows.
  std::vector<uint8_t> bmp = bmp_bytes(pattern(8, 8, 3));
  bmp.resize(bmp.size() - 40);
  write_bytes(tmp / "cut.bmp", bmp);
  CHECK_THROWS_WITH_PART(load_image(tmp / "cut.bmp"), "cut.bmp: corrupt or truncated image");

  // Writers: wrong dtype / shape, and a folder that does not exist.
  CHECK_THROWS_WITH_PART(save_png(tmp / "x.png", Tensor::empty({4, 4, 3}, DType::f32)),
                         "save_png: " + (tmp / "x.png") + ": expected a u8 [H,W,3] or [H,W,1] image, got f32 [4,4,3]");
  CHECK_THROWS_WITH_PART(save_png(tmp / "x.png", Tensor::empty({4, 4, 2}, DType::u8)), "got u8 [4,4,2]");
  CHECK_THROWS_WITH_PART(save_png(tmp / "no_dir/x.png", pattern(2, 2, 3)), "no_dir/x.png");
  CHECK(!fs::exists(tmp / "x.png"));
}

TEST_CASE("image: HWC u8 <-> CHW float") {
  const Tensor img = pattern(2, 3, 3);
  const Tensor chw = image_to_chw_float(img);
  REQUIRE(chw.shape() == Shape{3, 2, 3});
  CHECK(chw.dtype() == DType::f32);
  // chw[c, y, x] == img[y, x, c] / 255
  CHECK(chw.at(1 * 6 + 1 * 3 + 2) == doctest::Approx(img.data<uint8_t>()[(1 * 3 + 2) * 3 + 1] / 255.0));
  CHECK(same_bytes(chw_float_to_image(chw), img));
  // Out-of-range values clamp.
  const Tensor f = from_vector({-1.0, 0.5, 2.0}, {1, 1, 3}, DType::f64);
  const Tensor u = chw_float_to_image(f);
  CHECK(u.shape() == Shape{1, 3, 1});
  CHECK(u.to_vector() == std::vector<double>{0, 128, 255});
  CHECK_THROWS_WITH_PART(image_to_chw_float(Tensor::empty({2, 2, 1}, DType::u8)),
                         "image_to_chw_float: expected u8 [H,W,3], got u8 [2,2,1]");
  CHECK_THROWS_WITH_PART(chw_float_to_image(Tensor::empty({2, 2, 2}, DType::f32)), "chw_float_to_image");
}

TEST_CASE("image: truncated JPEG") {
  TempDir tmp;
  save_jpg(tmp / "full.jpg", pattern(32, 32, 3), 90);
  std::vector<uint8_t> b = read_bytes(tmp / "full.jpg");
  b.resize(b.size() / 2);
  write_bytes(tmp / "cut.jpg", b);
  CHECK_THROWS_WITH_PART(load_image(tmp / "cut.jpg"), "cut.jpg: corrupt or truncated image");
}
