// .npy reading and writing. The format (docs/npy.md):
//
//   offset 0   \x93 N U M P Y        magic, 6 bytes
//          6   major, minor          version: 1.0, 2.0 or 3.0
//          8   header length         uint16 LE (v1) or uint32 LE (v2, v3)
//   10 or 12   header                a Python dict literal, e.g.
//                                    {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
//                                    padded with spaces and a final '\n' to a multiple of 64 bytes
//   then       data                  numel * itemsize raw bytes
//
// The header is parsed by a small recursive-descent reader that knows exactly the three keys and the
// three kinds of value a plain array's header holds (string, True/False, tuple of ints); anything else
// is a clear error, not an attempt to evaluate Python.
#include "autograd/io/npy.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "autograd/error.h"

namespace dg::io {

// Data bytes are little-endian and are handed to the rest of detgrad as they are.
static_assert(std::endian::native == std::endian::little, "detgrad's .npy code assumes a little-endian CPU");

namespace {

constexpr uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
constexpr size_t kAlign = 64;  // NumPy pads magic + length + header to a multiple of 64 bytes

struct DtypeInfo {
  const char* name;
  int64_t itemsize;
};
constexpr DtypeInfo kDtypes[] = {{"f4", 4}, {"f8", 8}, {"f2", 2}, {"i8", 8}, {"i4", 4}, {"u1", 1}, {"b1", 1}};

// 0 when detgrad does not support the dtype.
int64_t itemsize_or_zero(const std::string& dtype) {
  for (const DtypeInfo& d : kDtypes)
    if (dtype == d.name) return d.itemsize;
  return 0;
}

// A header excerpt fit for an error message: printable ASCII kept, other bytes as \xNN, cut at 120.
std::string printable(const std::string& s) {
  std::string r;
  for (size_t i = 0; i < s.size() && i < 120; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') r += "\\n";
    else if (c >= 32 && c < 127) r += char(c);
    else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      r += buf;
    }
  }
  if (s.size() > 120) r += "...";
  return r;
}

// numel of a shape, or false if the product does not fit in int64. Any 0 makes it 0, whatever the
// other dimensions are.
bool checked_numel(const std::vector<int64_t>& shape, int64_t* out) {
  int64_t n = 1;
  for (int64_t d : shape)
    if (d == 0) {
      *out = 0;
      return true;
    }
  for (int64_t d : shape)
    if (__builtin_mul_overflow(n, d, &n)) return false;
  *out = n;
  return true;
}

// ---- the header dict ------------------------------------------------------------------------------

struct Header {
  std::string descr;  // as written, e.g. "<f4"
  bool fortran_order = false;
  std::vector<int64_t> shape;
};

class HeaderParser {
 public:
  HeaderParser(const std::string& text, const std::string& file) : s_(text), file_(file) {}

  // dict := '{' [ entry (',' entry)* [','] ] '}' whitespace*
  // entry := string ':' value, for the keys 'descr', 'fortran_order', 'shape' (each exactly once)
  Header parse() {
    Header h;
    bool seen_descr = false, seen_fortran = false, seen_shape = false;
    skip_space();
    expect('{');
    skip_space();
    while (peek() != '}') {
      const std::string key = parse_string("a key");
      skip_space();
      expect(':');
      skip_space();
      if (key == "descr") {
        if (seen_descr) error("key 'descr' appears twice");
        if (peek() == '[') fail("npy: ", file_, ": structured dtypes (a list 'descr') are not supported");
        h.descr = parse_string("the 'descr' value");
        seen_descr = true;
      } else if (key == "fortran_order") {
        if (seen_fortran) error("key 'fortran_order' appears twice");
        h.fortran_order = parse_bool();
        seen_fortran = true;
      } else if (key == "shape") {
        if (seen_shape) error("key 'shape' appears twice");
        h.shape = parse_shape();
        seen_shape = true;
      } else {
        error("unexpected key '" + printable(key) + "'");
      }
      skip_space();
      if (peek() == ',') {  // a trailing comma before '}' is fine, as in Python
        ++pos_;
        skip_space();
      } else if (peek() != '}') {
        error("expected ',' or '}'");
      }
    }
    ++pos_;  // the '}'
    skip_space();
    if (pos_ != s_.size()) error("unexpected text after the closing '}'");
    if (!seen_descr) error("missing key 'descr'");
    if (!seen_fortran) error("missing key 'fortran_order'");
    if (!seen_shape) error("missing key 'shape'");
    return h;
  }

 private:
  const std::string& s_;
  const std::string& file_;
  size_t pos_ = 0;

  [[noreturn]] void error(const std::string& what) const {
    fail("npy: ", file_, ": malformed header: ", what, " at offset ", pos_, " in \"", printable(s_), "\"");
  }
  // The character at pos_, or '\0' at the end (never a valid character of a header, so every
  // "expected ..." check fails cleanly there).
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  void expect(char c) {
    if (peek() != c) error(std::string("expected '") + c + "'");
    ++pos_;
  }
  // NumPy pads with spaces and ends with '\n'; hand-written headers may use tabs or '\r'.
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\r' || s_[pos_] == '\t')) ++pos_;
  }
  // A Python string literal in single or double quotes, without escapes (no header needs them).
  std::string parse_string(const char* what) {
    const char q = peek();
    if (q != '\'' && q != '"') error(std::string("expected a quoted string for ") + what);
    const size_t start = ++pos_;
    while (pos_ < s_.size() && s_[pos_] != q) {
      if (s_[pos_] == '\\') error("backslash escapes are not supported");
      ++pos_;
    }
    if (pos_ == s_.size()) error("unterminated string");
    return s_.substr(start, pos_++ - start);
  }
  bool parse_bool() {
    if (s_.compare(pos_, 4, "True") == 0) {
      pos_ += 4;
      return true;
    }
    if (s_.compare(pos_, 5, "False") == 0) {
      pos_ += 5;
      return false;
    }
    error("expected True or False for 'fortran_order'");
  }
  // shape := '(' [ int (',' int)* [','] ] ')'   -- also accepts "(3)" for "(3,)"
  std::vector<int64_t> parse_shape() {
    std::vector<int64_t> shape;
    expect('(');
    skip_space();
    while (peek() != ')') {
      shape.push_back(parse_dim());
      skip_space();
      if (peek() == ',') {
        ++pos_;
        skip_space();
      } else if (peek() != ')') {
        error("expected ',' or ')' in the shape");
      }
    }
    ++pos_;  // the ')'
    return shape;
  }
  // A non-negative decimal integer; Python 2 era files may write "3L".
  int64_t parse_dim() {
    if (peek() == '-') {
      const size_t start = pos_++;
      while (peek() >= '0' && peek() <= '9') ++pos_;
      fail("npy: ", file_, ": negative dimension ", s_.substr(start, pos_ - start), " in the shape");
    }
    if (!(peek() >= '0' && peek() <= '9')) error("expected a dimension (a non-negative integer) in the shape");
    int64_t v = 0;
    const size_t start = pos_;
    while (peek() >= '0' && peek() <= '9') {
      const int digit = peek() - '0';
      if (v > (INT64_MAX - digit) / 10) {
        while (peek() >= '0' && peek() <= '9') ++pos_;
        fail("npy: ", file_, ": dimension ", s_.substr(start, pos_ - start), " is too large (over 2^63 - 1)");
      }
      v = v * 10 + digit;
      ++pos_;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;
    return v;
  }
};

// '<f4' -> "f4". Byte order: '<' little, '=' or none native (little on every CPU detgrad builds for),
// '|' not applicable; for 1-byte types any order character means the same thing.
std::string dtype_from_descr(const std::string& descr, const std::string& file) {
  const std::string supported = " (detgrad reads <f4 <f8 <f2 <i8 <i4 |u1 |b1)";
  std::string name = descr;
  char order = '=';
  if (!descr.empty() && std::strchr("<>|=", descr[0])) {
    order = descr[0];
    name = descr.substr(1);
  }
  const int64_t size = itemsize_or_zero(name);
  if (size == 0) fail("npy: ", file, ": unsupported dtype '", printable(descr), "'", supported);
  if (size > 1 && order == '>')
    fail("npy: ", file, ": big-endian dtype '", descr, "' is not supported; convert with arr.astype('<", name, "')");
  if (size > 1 && order == '|') fail("npy: ", file, ": dtype '", descr, "' has no byte order", supported);
  return name;
}

// What read_npy and parse_npy share: check the preamble, parse the header, check the data size.
// Returns the array without data and sets *data_offset.
NpyArray parse_header(const uint8_t* bytes, size_t size, const std::string& file, size_t* data_offset) {
  if (size < 10) fail("npy: ", file, ": file too short for an .npy header (", size, " bytes)");
  if (std::memcmp(bytes, kMagic, sizeof kMagic) != 0)
    fail("npy: ", file, ": not an .npy file (bad magic; expected \\x93NUMPY)");
  const int major = bytes[6], minor = bytes[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    fail("npy: ", file, ": unsupported .npy format version ", major, ".", minor, " (detgrad reads 1.0, 2.0, 3.0)");

  // v1 stores the header length in 2 bytes, v2 and v3 (v3 = v2 with a utf8 header) in 4.
  const size_t len_bytes = major == 1 ? 2 : 4;
  const size_t preamble = 8 + len_bytes;
  if (size < preamble) fail("npy: ", file, ": file too short for an .npy header (", size, " bytes)");
  uint64_t header_len = 0;
  for (size_t i = 0; i < len_bytes; ++i) header_len |= uint64_t(bytes[8 + i]) << (8 * i);
  if (header_len > size - preamble)
    fail("npy: ", file, ": header length ", header_len, " runs past the end of the file (", size, " bytes)");

  const std::string text(reinterpret_cast<const char*>(bytes + preamble), size_t(header_len));
  const Header h = HeaderParser(text, file).parse();

  NpyArray a;
  a.dtype = dtype_from_descr(h.descr, file);
  a.shape = h.shape;
  if (h.fortran_order) fail("npy: ", file, ": Fortran-order arrays are not supported; save with np.ascontiguousarray");

  int64_t numel = 0, nbytes = 0;
  if (!checked_numel(a.shape, &numel) || __builtin_mul_overflow(numel, npy_itemsize(a.dtype), &nbytes))
    fail("npy: ", file, ": shape ", shape_str(a.shape), " has too many elements (the byte count overflows 64 bits)");

  *data_offset = preamble + size_t(header_len);
  const uint64_t have = size - *data_offset;
  if (have < uint64_t(nbytes))
    fail("npy: ", file, ": data is truncated: shape ", shape_str(a.shape), " of ", a.dtype, " needs ", nbytes,
         " bytes, the file has ", have);
  if (have > uint64_t(nbytes))
    fail("npy: ", file, ": ", have - uint64_t(nbytes), " unexpected bytes after the data of shape ", shape_str(a.shape),
         " of ", a.dtype, " (were several arrays saved into one file?)");
  return a;
}

// NumPy writes bools as bytes 0 and 1; anything else would be a corrupt file or not a bool array.
void check_bools(const uint8_t* data, size_t n, const std::string& file) {
  for (size_t i = 0; i < n; ++i)
    if (data[i] > 1)
      fail("npy: ", file, ": b1 (bool) element ", i, " has byte value ", int(data[i]), "; bools must be 0 or 1");
}

std::vector<uint8_t> serialize(const NpyArray& a, const std::string& file) {
  const int64_t itemsize = itemsize_or_zero(a.dtype);
  if (itemsize == 0) fail("npy: ", file, ": unsupported dtype '", a.dtype, "' (detgrad writes f4 f8 f2 i8 i4 u1 b1)");
  for (int64_t d : a.shape)
    if (d < 0) fail("npy: ", file, ": negative dimension in shape ", shape_str(a.shape));
  int64_t numel = 0, nbytes = 0;
  if (!checked_numel(a.shape, &numel) || __builtin_mul_overflow(numel, itemsize, &nbytes))
    fail("npy: ", file, ": shape ", shape_str(a.shape), " has too many elements");
  if (uint64_t(nbytes) != a.data.size())
    fail("npy: ", file, ": data has ", a.data.size(), " bytes but shape ", shape_str(a.shape), " of ", a.dtype,
         " needs ", nbytes);
  if (a.dtype == "b1") check_bools(a.data.data(), a.data.size(), file);

  // The dict exactly as NumPy's repr writes it: sorted keys, ", " separators, a trailing ", ",
  // tuples as "()", "(3,)", "(2, 3)".
  std::string dict = "{'descr': '";
  dict += (itemsize == 1 ? "|" : "<") + a.dtype + "', 'fortran_order': False, 'shape': (";
  for (size_t i = 0; i < a.shape.size(); ++i) dict += (i ? ", " : "") + std::to_string(a.shape[i]);
  dict += a.shape.size() == 1 ? ",), }" : "), }";
  // NumPy leaves room for the first dimension to grow to 21 digits so a file can be appended to
  // in place; copying that makes our files byte-identical to np.save's.
  if (!a.shape.empty()) dict += std::string(21 - std::to_string(a.shape[0]).size(), ' ');

  // Pad with spaces, then '\n', so magic + version + length + header is a multiple of 64. Like NumPy,
  // pad by 1..64 spaces (never 0). Version 1.0 unless the header does not fit its 16-bit length.
  int major = 1;
  size_t preamble = 10;
  size_t pad = kAlign - (preamble + dict.size() + 1) % kAlign;
  if (dict.size() + 1 + pad > 65535) {
    major = 2;
    preamble = 12;
    pad = kAlign - (preamble + dict.size() + 1) % kAlign;
  }
  const uint64_t header_len = dict.size() + pad + 1;
  if (header_len > UINT32_MAX) fail("npy: ", file, ": header too long (", header_len, " bytes)");

  std::vector<uint8_t> out(kMagic, kMagic + sizeof kMagic);
  out.push_back(uint8_t(major));
  out.push_back(0);
  for (size_t i = 0; i < preamble - 8; ++i) out.push_back(uint8_t(header_len >> (8 * i)));  // little-endian
  out.insert(out.end(), dict.begin(), dict.end());
  out.insert(out.end(), pad, ' ');
  out.push_back('\n');
  out.insert(out.end(), a.data.begin(), a.data.end());
  return out;
}

}  // namespace

int64_t NpyArray::numel() const {
  int64_t n = 0;
  check(checked_numel(shape, &n), "npy: shape ", shape_text(shape), " has too many elements");
  return n;
}

int64_t npy_itemsize(const std::string& dtype) {
  const int64_t size = itemsize_or_zero(dtype);
  check(size != 0, "npy: unsupported dtype '", dtype, "' (detgrad supports f4 f8 f2 i8 i4 u1 b1)");
  return size;
}

NpyArray parse_npy(const uint8_t* bytes, size_t size, const std::string& name_for_errors) {
  size_t offset = 0;
  NpyArray a = parse_header(bytes, size, name_for_errors, &offset);
  a.data.assign(bytes + offset, bytes + size);
  if (a.dtype == "b1") check_bools(a.data.data(), a.data.size(), name_for_errors);
  return a;
}

NpyArray read_npy(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) fail("npy: ", path, ": cannot open: ", std::strerror(errno));
  // Read to the end in growing chunks (no reliance on the size the file system reports).
  std::vector<uint8_t> bytes;
  size_t got = 0;
  do {
    bytes.resize(got + std::max(got, size_t(1) << 20));
    got += std::fread(bytes.data() + got, 1, bytes.size() - got, f);
  } while (got == bytes.size());
  const bool read_error = std::ferror(f);
  const int err = errno;
  std::fclose(f);
  if (read_error) fail("npy: ", path, ": read error: ", std::strerror(err));
  bytes.resize(got);

  size_t offset = 0;
  NpyArray a = parse_header(bytes.data(), bytes.size(), path, &offset);
  bytes.erase(bytes.begin(), bytes.begin() + std::ptrdiff_t(offset));  // keep the buffer: no second copy
  a.data = std::move(bytes);
  if (a.dtype == "b1") check_bools(a.data.data(), a.data.size(), path);
  return a;
}

std::vector<uint8_t> serialize_npy(const NpyArray& array) { return serialize(array, "serialize_npy"); }

// Readers never see a half-written file: the bytes go to path.tmp, which is renamed over path (an
// atomic replace on POSIX) only once it is complete. Not fsync'ed: a power cut can still lose it.
void write_npy(const std::string& path, const NpyArray& array) {
  const std::vector<uint8_t> bytes = serialize(array, path);
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) fail("npy: ", tmp, ": cannot open for writing: ", std::strerror(errno));
  const bool wrote = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  const int write_err = errno;
  const bool closed = std::fclose(f) == 0;  // fclose flushes: a full disk can show up only here
  const int close_err = errno;
  if (!wrote || !closed) {
    std::remove(tmp.c_str());
    fail("npy: ", tmp, ": write error: ", std::strerror(!wrote ? write_err : close_err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail("npy: ", path, ": cannot rename ", tmp, " to it: ", std::strerror(err));
  }
}

}  // namespace dg::io
