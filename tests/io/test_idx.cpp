// IDX reader (autograd/io/idx.h): synthetic files written here (plain and gzip), every kind of bad
// file, and -- when Debian's dataset-fashion-mnist is installed -- the real Fashion-MNIST files.
#include <doctest/doctest.h>
#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>

#include "autograd/io/idx.h"

using namespace dg;
using namespace dg::io;
namespace fs = std::filesystem;

namespace {
std::vector<uint8_t> idx_bytes(uint8_t type, const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b = {0, 0, type, (uint8_t)dims.size()};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) b.push_back((uint8_t)(d >> s));
  b.insert(b.end(), data.begin(), data.end());
  return b;
}
void write_gz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  REQUIRE(gzwrite(f, b.data(), (unsigned)b.size()) == (int)b.size());
  gzclose(f);
}
void write_raw(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary).write((const char*)b.data(), (std::streamsize)b.size());
}
std::string parse_error(const std::vector<uint8_t>& b) {
  try {
    parse_idx(b.data(), b.size(), "f.idx");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
std::string tmp_dir() {
  fs::path d = fs::temp_directory_path() / ("detgrad_idx_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d.string();
}
}  // namespace

TEST_CASE("idx: synthetic u8 / i32 / f32 files, gzip and plain, big-endian converted") {
  const std::string dir = tmp_dir();
  const auto u8 = idx_bytes(0x08, {2, 3}, {0, 1, 2, 250, 254, 255});
  write_gz(dir + "/a.gz", u8);
  write_raw(dir + "/a.raw", u8);
  for (const std::string& p : {dir + "/a.gz", dir + "/a.raw"}) {
    Tensor t = load_idx(p);
    CHECK(t.dtype() == DType::u8);
    CHECK(t.shape() == Shape{2, 3});
    CHECK(t.to_vector() == std::vector<double>{0, 1, 2, 250, 254, 255});
  }
  // i32 0x01020304 and -2 (0xFFFFFFFE); f32 1.5 = 0x3FC00000
  Tensor i = parse_idx(idx_bytes(0x0C, {2}, {1, 2, 3, 4, 0xFF, 0xFF, 0xFF, 0xFE}).data(), 16, "i");
  CHECK(i.to_vector() == std::vector<double>{0x01020304, -2});
  Tensor f = parse_idx(idx_bytes(0x0D, {1}, {0x3F, 0xC0, 0, 0}).data(), 12, "f");
  CHECK(f.item() == 1.5);
  fs::remove_all(dir);
}

TEST_CASE("idx: bad files are errors naming the file and the problem") {
  CHECK(parse_error({0, 0}) == "idx: f.idx: file too short (2 bytes) for the 4-byte magic number");
  CHECK(parse_error({1, 0, 8, 1}) == "idx: f.idx: bad magic number (first two bytes must be 0; not an IDX file?)");
  CHECK(parse_error({0, 0, 9, 1, 0, 0, 0, 0}).find("unsupported element type 0x9") != std::string::npos);
  CHECK(parse_error({0, 0, 8, 2, 0, 0, 0}) == "idx: f.idx: file too short (7 bytes) for 2 dimension sizes");
  CHECK(parse_error(idx_bytes(0x08, {2, 3}, {1, 2, 3})) ==
        "idx: f.idx: truncated: shape [2,3] needs 6 data bytes, the file has 3");
  CHECK(parse_error(idx_bytes(0x08, {2}, {1, 2, 3})) ==
        "idx: f.idx: shape [2] needs 2 data bytes, the file has 3 (1 trailing bytes)");

  const std::string dir = tmp_dir();
  CHECK_THROWS_WITH_AS(load_idx(dir + "/missing.gz"),
                       doctest::Contains(("idx: " + dir + "/missing.gz: cannot open").c_str()), Error);
  // a gzip stream cut in half, and one with garbage after the gzip magic bytes
  std::vector<uint8_t> big(4000);
  for (size_t k = 0; k < big.size(); ++k) big[k] = (uint8_t)(k * 7919 % 251);
  write_gz(dir + "/full.gz", idx_bytes(0x08, {4000}, big));
  std::ifstream in(dir + "/full.gz", std::ios::binary);
  std::vector<uint8_t> gz{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  write_raw(dir + "/cut.gz", std::vector<uint8_t>(gz.begin(), gz.begin() + (long)gz.size() / 2));
  CHECK_THROWS_WITH_AS(load_idx(dir + "/cut.gz"), doctest::Contains(("idx: " + dir + "/cut.gz: ").c_str()), Error);
  std::vector<uint8_t> garbage = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6};
  write_raw(dir + "/garbage.gz", garbage);
  CHECK_THROWS_WITH_AS(load_idx(dir + "/garbage.gz"), doctest::Contains("corrupt"), Error);
  CHECK_THROWS_WITH_AS(load_fashion_mnist(true, dir), doctest::Contains("train-images-idx3-ubyte.gz: cannot open"),
                       Error);
  fs::remove_all(dir);
}

TEST_CASE("idx: Fashion-MNIST from dataset-fashion-mnist (skipped when not installed)") {
  if (!fs::exists(std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz")) {
    MESSAGE("dataset-fashion-mnist is not installed; skipped");
    return;
  }
  MnistSplit test = load_fashion_mnist(false);
  CHECK(test.images.shape() == Shape{10000, 28, 28});
  CHECK(test.labels.shape() == Shape{10000});
  CHECK(test.labels.dtype() == DType::i64);
  const std::vector<double> first = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  for (int k = 0; k < 10; ++k) CHECK(test.labels.at(k) == first[(size_t)k]);
  Tensor train_labels = load_idx(std::string(kFashionMnistDir) + "/train-labels-idx1-ubyte.gz");
  CHECK(train_labels.shape() == Shape{60000});
  const std::vector<double> first_train = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  for (int k = 0; k < 10; ++k) CHECK(train_labels.at(k) == first_train[(size_t)k]);
  // each class appears exactly 1000 times in the test split
  std::vector<int> count(10);
  for (int64_t k = 0; k < 10000; ++k) ++count[(size_t)test.labels.data<int64_t>()[k]];
  CHECK(count == std::vector<int>(10, 1000));
  CHECK(std::string(kFashionMnistClasses[9]) == "Ankle boot");
}
