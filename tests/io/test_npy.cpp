// .npy reading and writing (autograd/io/npy.h): round trips, hand-built headers, every kind of
// corrupt file (each must give a dg::Error naming the file and the problem), and files written by
// NumPy itself (tests/io/fixtures/, made by tests/io/make_npy_fixtures.py).
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "autograd/error.h"
#include "autograd/io/npy.h"

using dg::io::NpyArray;
namespace fs = std::filesystem;

namespace {

// A whole .npy file from its parts; the header length field is filled in from `header`, which is
// used exactly as given (no padding added), so tests control every byte.
std::vector<uint8_t> make_npy(int major, const std::string& header, const std::vector<uint8_t>& data, int minor = 0) {
  std::vector<uint8_t> b = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(major), uint8_t(minor)};
  const size_t len_bytes = major == 1 ? 2 : 4;
  for (size_t i = 0; i < len_bytes; ++i) b.push_back(uint8_t(header.size() >> (8 * i)));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// The dg::Error message parsing these bytes gives, or "no error".
std::string error_of(const std::vector<uint8_t>& b, const std::string& name = "test.npy") {
  try {
    dg::io::parse_npy(b.data(), b.size(), name);
  } catch (const dg::Error& e) {
    return e.what();
  }
  return "no error";
}

template <class T>
std::vector<T> values_of(const NpyArray& a) {
  std::vector<T> v(a.data.size() / sizeof(T));
  std::memcpy(v.data(), a.data.data(), v.size() * sizeof(T));
  return v;
}

template <class T>
std::vector<uint8_t> bytes_of(const std::vector<T>& v) {
  std::vector<uint8_t> b(v.size() * sizeof(T));
  std::memcpy(b.data(), v.data(), b.size());
  return b;
}

std::vector<uint8_t> read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  REQUIRE_MESSAGE(f.good(), "cannot open ", path);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// A fresh directory under the system temp dir, removed when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("detgrad_npy_test_" + std::to_string(getpid()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

const std::string kFixtures = std::string(DETGRAD_SOURCE_DIR) + "/tests/io/fixtures/";

}  // namespace

TEST_CASE("npy round trip: every dtype, shapes (), (0,), (3,), (2,3,4)") {
  const std::vector<std::string> dtypes = {"f4", "f8", "f2", "i8", "i4", "u1", "b1"};
  const std::vector<std::vector<int64_t>> shapes = {{}, {0}, {3}, {2, 3, 4}};
  for (const std::string& dtype : dtypes) {
    for (const auto& shape : shapes) {
      NpyArray a;
      a.dtype = dtype;
      a.shape = shape;
      const int64_t n = a.numel() * dg::io::npy_itemsize(dtype);
      for (int64_t i = 0; i < n; ++i) a.data.push_back(dtype == "b1" ? uint8_t(i % 3 == 0) : uint8_t(i * 37 + 11));
      const std::vector<uint8_t> file = dg::io::serialize_npy(a);
      const NpyArray b = dg::io::parse_npy(file.data(), file.size(), "roundtrip");
      CAPTURE(dtype);
      CAPTURE(dg::shape_str(shape));
      CHECK(b.dtype == dtype);
      CHECK(b.shape == shape);
      CHECK(b.data == a.data);
      // Layout as NumPy writes it: version 1.0, data starting at a multiple of 64, header ending in '\n'.
      CHECK(file[6] == 1);
      const size_t data_offset = 10 + size_t(file[8]) + 256 * size_t(file[9]);
      CHECK(data_offset % 64 == 0);
      CHECK(file[data_offset - 1] == '\n');
      CHECK(data_offset + size_t(n) == file.size());
    }
  }
  CHECK(NpyArray{"f4", {}, {}}.numel() == 1);
  CHECK(NpyArray{"f4", {2, 0, 5}, {}}.numel() == 0);
}

TEST_CASE("npy round trip through files: write_npy is atomic-ish and read_npy reads it back") {
  TempDir dir;
  const std::string path = (dir.path / "a.npy").string();
  const NpyArray a{"f4", {2, 2}, bytes_of(std::vector<float>{1.0f, -2.0f, 0.5f, 1e30f})};
  dg::io::write_npy(path, a);
  CHECK(!fs::exists(path + ".tmp"));
  const NpyArray b = dg::io::read_npy(path);
  CHECK(b.dtype == "f4");
  CHECK(b.shape == std::vector<int64_t>{2, 2});
  CHECK(values_of<float>(b) == std::vector<float>{1.0f, -2.0f, 0.5f, 1e30f});
  // Overwriting replaces the file whole.
  dg::io::write_npy(path, NpyArray{"u1", {1}, {7}});
  CHECK(dg::io::read_npy(path).data == std::vector<uint8_t>{7});
  // A failed write (bad data) leaves the old file alone and no .tmp behind.
  CHECK_THROWS_AS(dg::io::write_npy(path, NpyArray{"u1", {2}, {7}}), dg::Error);
  CHECK(dg::io::read_npy(path).data == std::vector<uint8_t>{7});
  CHECK(!fs::exists(path + ".tmp"));
}

TEST_CASE("npy hand-built headers: v1, v2, v3, keys in any order, spacing, trailing commas") {
  const std::vector<uint8_t> six = bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6});
  struct Case {
    int major;
    std::string header;
    std::string dtype;
    std::vector<int64_t> shape;
  };
  const std::vector<Case> cases = {
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n", "f4", {2, 3}},
      {1, "{'shape': (6,), 'descr': '<f4', 'fortran_order': False}", "f4", {6}},
      {1, "{\"fortran_order\":False,\"shape\":(3,2),\"descr\":\"<f4\"}", "f4", {3, 2}},
      {1, "  { 'descr' : '=f4' ,\t'fortran_order' : False , 'shape' : ( 1 , 6 , ) , }  \r\n", "f4", {1, 6}},
      {1, "{'descr': 'f4', 'fortran_order': False, 'shape': (6)}", "f4", {6}},             // "(6)" read as (6,)
      {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2L, 3L), }", "f4", {2, 3}},  // Python 2
      {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" + std::string(50, ' ') + "\n", "f4", {2, 3}},
      {3, "{'descr': '<f4', 'fortran_order': False, 'shape': (6,), }\n", "f4", {6}},
      {1, "{'descr': '<i4', 'fortran_order': False, 'shape': (2, 1, 3), }\n", "i4", {2, 1, 3}},
      {1, "{'descr': '<u1', 'fortran_order': False, 'shape': (4, 6), }\n", "u1", {4, 6}},
      {1, "{'descr': '>u1', 'fortran_order': False, 'shape': (24,), }\n", "u1", {24}},  // 1 byte: order moot
  };
  for (const Case& c : cases) {
    CAPTURE(c.header);
    const std::vector<uint8_t> file = make_npy(c.major, c.header, six);
    const NpyArray a = dg::io::parse_npy(file.data(), file.size(), "hand");
    CHECK(a.dtype == c.dtype);
    CHECK(a.shape == c.shape);
    CHECK(a.data == six);
  }
  // Scalar: shape () holds exactly one element.
  const std::vector<uint8_t> one = bytes_of(std::vector<double>{2.5});
  const auto scalar = make_npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (), }\n", one);
  const NpyArray s = dg::io::parse_npy(scalar.data(), scalar.size(), "scalar");
  CHECK(s.shape.empty());
  CHECK(s.numel() == 1);
  CHECK(values_of<double>(s) == std::vector<double>{2.5});
}

TEST_CASE("npy corrupt or unsupported files: a dg::Error that names the file and the problem") {
  const std::string ok_header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
  const std::vector<uint8_t> six = bytes_of(std::vector<float>{1, 2, 3, 4, 5, 6});
  auto with_header = [&](const std::string& h) { return make_npy(1, h, six); };
  auto with_dict = [&](const std::string& descr, const std::string& fortran, const std::string& shape) {
    return make_npy(1, "{'descr': " + descr + ", 'fortran_order': " + fortran + ", 'shape': " + shape + ", }\n", six);
  };
  std::vector<uint8_t> bad_magic = with_header(ok_header);
  bad_magic[1] = 'X';
  std::vector<uint8_t> huge_v1 = with_header(ok_header);
  huge_v1[8] = 0xFF;
  huge_v1[9] = 0xFF;
  std::vector<uint8_t> huge_v2 = make_npy(2, ok_header, six);
  for (int i = 8; i < 12; ++i) huge_v2[size_t(i)] = 0xFF;
  std::vector<uint8_t> short_data = with_header(ok_header);
  short_data.pop_back();
  std::vector<uint8_t> long_data = with_header(ok_header);
  long_data.push_back(0);

  struct Case {
    const char* what;
    std::vector<uint8_t> bytes;
    std::string expect;  // a piece of the message
  };
  const std::vector<Case> cases = {
      {"empty file", {}, "file too short"},
      {"5 bytes", {0x93, 'N', 'U', 'M', 'P'}, "file too short"},
      {"v2 preamble cut", {0x93, 'N', 'U', 'M', 'P', 'Y', 2, 0, 10, 0}, "file too short"},
      {"bad magic", bad_magic, "not an .npy file (bad magic"},
      {"version 4.0", make_npy(4, ok_header, six), "unsupported .npy format version 4.0"},
      {"version 1.1", make_npy(1, ok_header, six, 1), "unsupported .npy format version 1.1"},
      {"v1 header length past end", huge_v1, "header length 65535 runs past the end of the file"},
      {"v2 header length past end", huge_v2, "header length 4294967295 runs past the end of the file"},
      {"not a dict", with_header("hello"), "malformed header: expected '{'"},
      {"unclosed dict", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3)"),
       "malformed header: expected ',' or '}'"},
      {"missing shape", with_header("{'descr': '<f4', 'fortran_order': False}"), "missing key 'shape'"},
      {"missing descr", with_header("{'shape': (6,), 'fortran_order': False}"), "missing key 'descr'"},
      {"missing fortran_order", with_header("{'shape': (6,), 'descr': '<f4'}"), "missing key 'fortran_order'"},
      {"duplicate key", with_header("{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (6,)}"),
       "key 'descr' appears twice"},
      {"unknown key", with_header("{'descr': '<f4', 'fortran_order': False, 'shape': (6,), 'foo': 1}"),
       "unexpected key 'foo'"},
      {"unterminated string", with_header("{'descr': '<f4"), "unterminated string"},
      {"backslash", with_header("{'descr': '<f\\4', 'fortran_order': False, 'shape': (6,)}"),
       "backslash escapes are not supported"},
      {"bad bool", with_dict("'<f4'", "maybe", "(2, 3)"), "expected True or False for 'fortran_order'"},
      {"text after dict", with_header(ok_header + "x"), "unexpected text after the closing '}'"},
      {"shape not a tuple", with_dict("'<f4'", "False", "[2, 3]"), "malformed header: expected '('"},
      {"shape bad separator", with_dict("'<f4'", "False", "(2; 3)"), "expected ',' or ')' in the shape"},
      {"shape not numbers", with_dict("'<f4'", "False", "(a, 3)"), "expected a dimension"},
      {"fortran order", with_dict("'<f4'", "True", "(2, 3)"),
       "npy: test.npy: Fortran-order arrays are not supported; save with np.ascontiguousarray"},
      {"big-endian", with_dict("'>f4'", "False", "(2, 3)"),
       "big-endian dtype '>f4' is not supported; convert with arr.astype('<f4')"},
      {"big-endian f8", with_dict("'>f8'", "False", "(3,)"), "big-endian dtype '>f8'"},
      {"int16", with_dict("'<i2'", "False", "(12,)"), "unsupported dtype '<i2'"},
      {"int8", with_dict("'|i1'", "False", "(24,)"), "unsupported dtype '|i1'"},
      {"complex", with_dict("'<c8'", "False", "(3,)"), "unsupported dtype '<c8'"},
      {"object", with_dict("'|O'", "False", "(3,)"), "unsupported dtype '|O'"},
      {"unicode", with_dict("'<U3'", "False", "(2,)"), "unsupported dtype '<U3'"},
      {"no byte order for f4", with_dict("'|f4'", "False", "(2, 3)"), "dtype '|f4' has no byte order"},
      {"structured", with_dict("[('a', '<f4')]", "False", "(6,)"),
       "structured dtypes (a list 'descr') are not supported"},
      {"negative dim", with_dict("'<f4'", "False", "(-3, 2)"), "negative dimension -3"},
      {"huge dim", with_dict("'<f4'", "False", "(99999999999999999999,)"),
       "dimension 99999999999999999999 is too large"},
      {"shape product overflow", with_dict("'<f4'", "False", "(4294967296, 4294967296)"), "has too many elements"},
      {"byte count overflow", with_dict("'<f4'", "False", "(4611686018427387904,)"), "has too many elements"},
      {"huge dims, tiny file", with_dict("'<f4'", "False", "(1000000000000000,)"),
       "data is truncated: shape [1000000000000000] of f4 needs 4000000000000000 bytes, the file has 24"},
      {"data one byte short", short_data, "data is truncated: shape [2,3] of f4 needs 24 bytes, the file has 23"},
      {"data one byte long", long_data, "1 unexpected bytes after the data of shape [2,3] of f4"},
      {"bool byte 2", make_npy(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }\n", {1, 0, 2}),
       "b1 (bool) element 2 has byte value 2; bools must be 0 or 1"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.what);
    const std::string msg = error_of(c.bytes);
    CHECK_MESSAGE(msg.find(c.expect) != std::string::npos, "message: ", msg);
    CHECK_MESSAGE(msg.rfind("npy: test.npy: ", 0) == 0, "message: ", msg);
  }
}

TEST_CASE("npy robustness: every truncation and every single-byte corruption of the header") {
  NpyArray a{"i4", {2, 3}, bytes_of(std::vector<int32_t>{1, 2, 3, 4, 5, 6})};
  const std::vector<uint8_t> good = dg::io::serialize_npy(a);
  // Every proper prefix is an error, never a crash or a silent success.
  for (size_t n = 0; n < good.size(); ++n) {
    CAPTURE(n);
    CHECK_THROWS_AS(dg::io::parse_npy(good.data(), n, "prefix"), dg::Error);
  }
  // Every header byte set to a few troublesome values: either a valid parse or a dg::Error.
  const size_t data_offset = good.size() - a.data.size();
  for (size_t i = 0; i < data_offset; ++i) {
    for (uint8_t v : {uint8_t(0), uint8_t(0xFF), uint8_t('\''), uint8_t(','), uint8_t('('), uint8_t('9')}) {
      std::vector<uint8_t> b = good;
      b[i] = v;
      try {
        dg::io::parse_npy(b.data(), b.size(), "flip");
      } catch (const dg::Error&) {
      } catch (...) {
        FAIL("byte ", i, " set to ", int(v), ": an exception other than dg::Error");
      }
    }
  }
}

TEST_CASE("npy write errors and read errors name the path") {
  TempDir dir;
  const std::string missing = (dir.path / "no_such.npy").string();
  try {
    dg::io::read_npy(missing);
    FAIL("no error");
  } catch (const dg::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(missing) != std::string::npos);
    CHECK(msg.find("cannot open") != std::string::npos);
  }
  const std::string in_missing_dir = (dir.path / "no_dir" / "a.npy").string();
  try {
    dg::io::write_npy(in_missing_dir, NpyArray{"u1", {1}, {1}});
    FAIL("no error");
  } catch (const dg::Error& e) {
    const std::string msg = e.what();
    CHECK(msg.find(in_missing_dir + ".tmp") != std::string::npos);
    CHECK(msg.find("cannot open for writing") != std::string::npos);
  }
  // A corrupt file on disk: the message names the path.
  const std::string junk = (dir.path / "junk.npy").string();
  std::ofstream(junk, std::ios::binary) << "not numpy at all";
  try {
    dg::io::read_npy(junk);
    FAIL("no error");
  } catch (const dg::Error& e) {
    CHECK(std::string(e.what()) == "npy: " + junk + ": not an .npy file (bad magic; expected \\x93NUMPY)");
  }
}

TEST_CASE("npy serialize_npy rejects arrays it cannot write faithfully") {
  auto msg_of = [](const NpyArray& a) {
    try {
      dg::io::serialize_npy(a);
    } catch (const dg::Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(msg_of(NpyArray{"f4", {2}, {0, 0, 0, 0}}).find("data has 4 bytes but shape [2] of f4 needs 8") !=
        std::string::npos);
  CHECK(msg_of(NpyArray{"i2", {1}, {0, 0}}).find("unsupported dtype 'i2'") != std::string::npos);
  CHECK(msg_of(NpyArray{"<f4", {1}, {0, 0, 0, 0}}).find("unsupported dtype '<f4'") != std::string::npos);
  CHECK(msg_of(NpyArray{"u1", {-1}, {}}).find("negative dimension in shape [-1]") != std::string::npos);
  CHECK(msg_of(NpyArray{"b1", {2}, {1, 5}}).find("bools must be 0 or 1") != std::string::npos);
  CHECK_THROWS_AS(dg::io::npy_itemsize("f16"), dg::Error);
}

TEST_CASE("npy writes format 2.0 when the header passes 65535 bytes") {
  // 30000 dimensions of 1: a silly shape, but the only way a plain array's header gets that long.
  NpyArray a{"f4", std::vector<int64_t>(30000, 1), bytes_of(std::vector<float>{42.0f})};
  const std::vector<uint8_t> file = dg::io::serialize_npy(a);
  CHECK(file[6] == 2);
  const size_t header_len = size_t(file[8]) | size_t(file[9]) << 8 | size_t(file[10]) << 16 | size_t(file[11]) << 24;
  CHECK(header_len > 65535);
  CHECK((12 + header_len) % 64 == 0);
  const NpyArray b = dg::io::parse_npy(file.data(), file.size(), "v2");
  CHECK(b.shape == a.shape);
  CHECK(values_of<float>(b) == std::vector<float>{42.0f});
}

TEST_CASE("npy reads files written by NumPy, and writes the same bytes back") {
  SUBCASE("f4 2x3") {
    const NpyArray a = dg::io::read_npy(kFixtures + "f4_2x3.npy");
    CHECK(a.dtype == "f4");
    CHECK(a.shape == std::vector<int64_t>{2, 3});
    CHECK(values_of<float>(a) == std::vector<float>{1.0f, -2.5f, 3.25f, 0.0f, 0.125f, -7.0f});
  }
  SUBCASE("f8 scalar") {
    const NpyArray a = dg::io::read_npy(kFixtures + "f8_scalar.npy");
    CHECK(a.dtype == "f8");
    CHECK(a.shape.empty());
    CHECK(values_of<double>(a) == std::vector<double>{3.141592653589793});
  }
  SUBCASE("f2") {
    const NpyArray a = dg::io::read_npy(kFixtures + "f2_4.npy");
    CHECK(a.dtype == "f2");
    CHECK(a.shape == std::vector<int64_t>{4});
    CHECK(values_of<uint16_t>(a) == std::vector<uint16_t>{0x3C00, 0xC000, 0x7BFF, 0x0001});
  }
  SUBCASE("i8") {
    const NpyArray a = dg::io::read_npy(kFixtures + "i8_3.npy");
    CHECK(a.dtype == "i8");
    CHECK(values_of<int64_t>(a) == std::vector<int64_t>{-1, 0, (int64_t(1) << 40) + 5});
  }
  SUBCASE("i4") {
    const NpyArray a = dg::io::read_npy(kFixtures + "i4_2x2.npy");
    CHECK(a.dtype == "i4");
    CHECK(a.shape == std::vector<int64_t>{2, 2});
    CHECK(values_of<int32_t>(a) == std::vector<int32_t>{1, -2, 2147483647, -2147483647 - 1});
  }
  SUBCASE("u1") {
    const NpyArray a = dg::io::read_npy(kFixtures + "u1_5.npy");
    CHECK(a.dtype == "u1");
    CHECK(a.data == std::vector<uint8_t>{0, 1, 127, 128, 255});
  }
  SUBCASE("b1") {
    const NpyArray a = dg::io::read_npy(kFixtures + "b1_4.npy");
    CHECK(a.dtype == "b1");
    CHECK(a.data == std::vector<uint8_t>{1, 0, 0, 1});
  }
  SUBCASE("empty 0x3") {
    const NpyArray a = dg::io::read_npy(kFixtures + "f4_0x3.npy");
    CHECK(a.shape == std::vector<int64_t>{0, 3});
    CHECK(a.data.empty());
  }
  SUBCASE("15 dimensions") {
    const NpyArray a = dg::io::read_npy(kFixtures + "f4_15d.npy");
    std::vector<int64_t> shape(15, 1);
    shape[0] = 2;
    CHECK(a.shape == shape);
    CHECK(values_of<float>(a) == std::vector<float>{0.5f, -1.0f});
  }
  SUBCASE("format 2.0") {
    const NpyArray a = dg::io::read_npy(kFixtures + "v2_f4_3.npy");
    CHECK(a.shape == std::vector<int64_t>{3});
    CHECK(values_of<float>(a) == std::vector<float>{1.5f, -0.5f, 2.0f});
  }
  SUBCASE("Fortran order is refused") {
    const std::string path = kFixtures + "fortran_f4_2x3.npy";
    CHECK_THROWS_WITH_AS(
        dg::io::read_npy(path),
        ("npy: " + path + ": Fortran-order arrays are not supported; save with np.ascontiguousarray").c_str(),
        dg::Error);
  }
  SUBCASE("big-endian is refused") {
    const std::string path = kFixtures + "bigendian_f4_3.npy";
    CHECK_THROWS_WITH_AS(
        dg::io::read_npy(path),
        ("npy: " + path + ": big-endian dtype '>f4' is not supported; convert with arr.astype('<f4')").c_str(),
        dg::Error);
  }
  SUBCASE("serialize_npy reproduces np.save byte for byte") {
    for (const char* name : {"f4_2x3.npy", "f8_scalar.npy", "f2_4.npy", "i8_3.npy", "i4_2x2.npy", "u1_5.npy",
                             "b1_4.npy", "f4_0x3.npy", "f4_15d.npy"}) {
      const std::string path = kFixtures + name;
      CAPTURE(path);
      CHECK(dg::io::serialize_npy(dg::io::read_npy(path)) == read_file(path));
    }
  }
}
