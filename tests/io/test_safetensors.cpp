// safetensors (autograd/io/safetensors.h): round trips of every dtype with metadata, a file written by
// Python with struct+json (tests/io/safetensors_fixtures/, made by tests/io/gen_safetensors_fixture.py),
// every kind of corrupt file (each a dg::Error naming the file and the problem), loading into an
// expected set of tensors (missing / unexpected / mis-shaped), and the atomic write.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "autograd/io/safetensors.h"
#include "tests/support.h"

using namespace dg;
using namespace dg::io;
namespace fs = std::filesystem;

namespace {
std::vector<uint8_t> raw_file(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b;
  for (int i = 0; i < 8; ++i) b.push_back((uint8_t)((uint64_t)header.size() >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}
std::string parse_error(const std::vector<uint8_t>& bytes) {
  try {
    parse_safetensors(bytes.data(), bytes.size(), "bad.safetensors");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}
std::string tmp_dir() {
  fs::path d = fs::temp_directory_path() / ("detgrad_st_" + std::to_string(::getpid()));
  fs::create_directories(d);
  return d.string();
}
std::vector<uint8_t> read_all(const std::string& p) {
  std::ifstream f(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}
}  // namespace

TEST_CASE("safetensors: round trip of every dtype, scalars, empty tensors and metadata") {
  TensorMap m;
  m["a.weight"] = tensor({1.5, -2, 3, 4, 5, 6}, {2, 3});
  m["a.bias"] = tensor({1.0 / 3.0, 1e-300}, {2}, DType::f64);
  m["h"] = tensor({1, -65504, 0.5}, {3}, DType::f16);
  m["b"] = tensor({1, -2.5, 3.140625}, {3}, DType::bf16);
  m["step"] = scalar_tensor(123456789012.0, DType::i64);
  m["i"] = tensor({-1, 7}, {2}, DType::i32);
  m["u"] = tensor({0, 255}, {2}, DType::u8);
  m["mask"] = tensor({1, 0, 1}, {3}, DType::b8);
  m["empty"] = zeros({0, 4});
  const Metadata meta = {{"epoch", "3"}, {"note", "hello \"json\""}};
  const std::string path = tmp_dir() + "/rt.safetensors";
  save_safetensors(path, m, meta);
  SafetensorsFile f = load_safetensors(path);
  CHECK(f.metadata == meta);
  REQUIRE(f.tensors.size() == m.size());
  for (const auto& [k, t] : m) {
    CAPTURE(k);
    CHECK(same_bytes(f.tensors.at(k), t));
  }
  // deterministic: the same tensors give the same bytes; the data part starts 8-byte aligned
  const auto bytes = read_all(path);
  CHECK(bytes == serialize_safetensors(m, meta));
  uint64_t hlen = 0;
  std::memcpy(&hlen, bytes.data(), 8);
  CHECK(hlen % 8 == 0);
  CHECK(bytes[8] == '{');
  fs::remove_all(fs::path(path).parent_path());
}

TEST_CASE("safetensors: reads a file written by Python (struct + json, torch tensors)") {
  SafetensorsFile f = load_safetensors(std::string(DETGRAD_SOURCE_DIR) +
                                       "/tests/io/safetensors_fixtures/torch_written.safetensors");
  CHECK(f.metadata.at("format") == "pt");
  CHECK(f.tensors.size() == 9);
  const Tensor& w = f.tensors.at("layer.weight");
  CHECK(w.dtype() == DType::f32);
  CHECK(w.shape() == Shape{2, 3});
  CHECK(w.to_vector() == std::vector<double>{-1, -0.5, 0, 0.5, 1, 1.5});
  CHECK(f.tensors.at("layer.bias").to_vector() == std::vector<double>{1.0 / 3.0, -2, 1e-300, 7});
  CHECK(f.tensors.at("half").to_vector() == std::vector<double>{1, -65504, 0.0009765625});
  const Tensor& bf = f.tensors.at("bf");
  CHECK(bf.dtype() == DType::bf16);
  CHECK(bf.at(0) == 1.0);
  CHECK(bf.at(1) == -2.5);
  CHECK(bf.at(2) == 3.140625);
  CHECK(bf.at(3) == doctest::Approx(1.0002555517425873e+30));
  const Tensor& nbt = f.tensors.at("bn.num_batches_tracked");
  CHECK(nbt.dim() == 0);
  CHECK(nbt.data<int64_t>()[0] == 123456789012);
  CHECK(f.tensors.at("ids").data<int32_t>()[1] == 2147483647);
  CHECK(f.tensors.at("bytes").to_vector() == std::vector<double>{0, 1, 254, 255});
  CHECK(f.tensors.at("mask").dtype() == DType::b8);
  CHECK(f.tensors.at("mask").to_vector() == std::vector<double>{1, 0, 1});
  CHECK(f.tensors.at("empty").shape() == Shape{0, 2});
}

TEST_CASE("safetensors: corrupt files are errors naming the file, the tensor and the problem") {
  const std::vector<uint8_t> eight(8, 0);
  auto hdr = [](const std::string& dtype, const std::string& shape, const std::string& off) {
    return "{\"t\":{\"dtype\":\"" + dtype + "\",\"shape\":" + shape + ",\"data_offsets\":" + off + "}}";
  };
  CHECK(parse_error({1, 2, 3}) ==
        "safetensors: bad.safetensors: file too short (3 bytes) for the 8-byte header length");
  auto b = raw_file("{}", {});
  b[0] = 200;  // header length 200 > file
  CHECK(parse_error(b) == "safetensors: bad.safetensors: header length 200 goes beyond the end of the file (10 bytes)");
  CHECK(parse_error(raw_file("[1]     ", {})).find("header does not start with '{'") != std::string::npos);
  CHECK(parse_error(raw_file("{\"t\":", {})).find("header is not valid JSON") != std::string::npos);
  CHECK(parse_error(raw_file(hdr("F8_E4M3", "[2]", "[0,2]"), {1, 2})) ==
        "safetensors: bad.safetensors: tensor 't': unsupported dtype \"F8_E4M3\" (detgrad reads F32 F64 F16 BF16 I64 "
        "I32 U8 BOOL)");
  CHECK(parse_error(raw_file(hdr("F32", "[2]", "[0,8]"), {1, 2, 3})) ==
        "safetensors: bad.safetensors: tensor 't': data_offsets [0, 8] go beyond the data (3 bytes; truncated file?)");
  CHECK(parse_error(raw_file(hdr("F32", "[3]", "[0,8]"), eight)) ==
        "safetensors: bad.safetensors: tensor 't': data_offsets [0, 8] hold 8 bytes but F32 [3] needs 12");
  CHECK(parse_error(raw_file(hdr("F32", "[-2]", "[0,8]"), eight)).find("shape entries must be non-negative") !=
        std::string::npos);
  CHECK(parse_error(raw_file(hdr("F32", "[2]", "[8,0]"), eight)).find("are reversed") != std::string::npos);
  CHECK(parse_error(raw_file(hdr("F32", "[2]", "[0]"), eight)).find("data_offsets must be two") != std::string::npos);
  CHECK(parse_error(raw_file(hdr("BOOL", "[2]", "[0,2]"), {1, 2})) ==
        "safetensors: bad.safetensors: tensor 't': BOOL byte 2 at element 1 (must be 0 or 1)");
  CHECK(parse_error(raw_file("{\"t\":{\"dtype\":\"F32\"}}", {})).find("tensor 't': entry needs dtype, shape") !=
        std::string::npos);
  const std::string overlap =
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}";
  CHECK(parse_error(raw_file(overlap, eight)) ==
        "safetensors: bad.safetensors: tensors 'a' [0, 8] and 'b' [4, 8] overlap");
  CHECK(parse_error(raw_file("{\"__metadata__\":{\"k\":1}}", {})).find("__metadata__ value of 'k' is not a string") !=
        std::string::npos);
  // a real file cut short anywhere is an error, never a crash
  TensorMap m{{"x", ones({3, 5})}, {"y", zeros({7}, DType::f64)}};
  const auto good = serialize_safetensors(m);
  for (size_t cut = 0; cut < good.size(); cut += 7) {
    CAPTURE(cut);
    CHECK_THROWS_AS(parse_safetensors(good.data(), cut, "cut"), Error);
  }
  CHECK_THROWS_WITH_AS(load_safetensors("/nonexistent/x.safetensors"),
                       doctest::Contains("safetensors: /nonexistent/x.safetensors: cannot open"), Error);
}

TEST_CASE("safetensors: loading into an expected set lists missing, unexpected and mis-shaped tensors") {
  TensorMap model{{"fc.weight", zeros({2, 3})}, {"fc.bias", zeros({2})}};
  TensorMap file{{"fc.weight", ones({2, 3}, DType::f64)}, {"fc.bias", full({2}, 7.0)}};
  assign_tensors(file, model, "ctx: ");
  CHECK(model["fc.weight"].dtype() == DType::f32);  // converted f64 -> f32 in place
  CHECK(model["fc.weight"].to_vector() == std::vector<double>(6, 1.0));
  CHECK(model["fc.bias"].to_vector() == std::vector<double>{7, 7});

  TensorMap bad{{"fc.weight", ones({3, 2})}, {"fc.extra", ones({1})}};
  CHECK_THROWS_WITH_AS(assign_tensors(bad, model, "m.safetensors: "),
                       "m.safetensors: tensors do not match the expected set:\n  missing 'fc.bias' [2]\n  "
                       "'fc.weight': file has [3,2], expected [2,3]\n  unexpected 'fc.extra' [1]",
                       Error);
  TensorMap wrong_kind{{"fc.weight", ones({2, 3}, DType::i64)}, {"fc.bias", ones({2})}};
  CHECK_THROWS_WITH_AS(assign_tensors(wrong_kind, model, ""), doctest::Contains("file has dtype i64, expected f32"),
                       Error);
  CHECK(model["fc.bias"].to_vector() == std::vector<double>{7, 7});  // a failed load changes nothing
}

TEST_CASE("safetensors: atomic write leaves no temporary file and never a half-written target") {
  const std::string dir = tmp_dir();
  const std::string path = dir + "/w.safetensors";
  save_safetensors(path, {{"x", ones({4})}});
  const auto before = read_all(path);
  // serialisation fails (undefined tensor): the old file is untouched
  CHECK_THROWS_WITH_AS(save_safetensors(path, {{"x", Tensor()}}), "safetensors: tensor 'x' is undefined", Error);
  CHECK(read_all(path) == before);
  // the folder does not exist: an error naming the path
  CHECK_THROWS_WITH_AS(save_safetensors(dir + "/no/such/dir/f.safetensors", {{"x", ones({1})}}),
                       doctest::Contains("cannot create"), Error);
  int files = 0;
  for (auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
  CHECK(files == 1);  // no *.tmp.* left behind
  fs::remove_all(dir);
}
