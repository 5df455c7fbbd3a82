#include "autograd/io/safetensors.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "autograd/graph.h"

namespace dg::io {

using nlohmann::json;

namespace {
struct DtypeName {
  DType dtype;
  const char* name;
};
constexpr DtypeName kDtypes[] = {{DType::f32, "F32"}, {DType::f64, "F64"}, {DType::f16, "F16"}, {DType::bf16, "BF16"},
                                 {DType::i64, "I64"}, {DType::i32, "I32"}, {DType::u8, "U8"},   {DType::b8, "BOOL"}};
// A header this large is surely corrupt (the reference implementation's limit is 100 MB as well).
constexpr uint64_t kMaxHeader = 100u << 20;
}  // namespace

const char* safetensors_dtype_name(DType t) {
  for (const auto& d : kDtypes)
    if (d.dtype == t) return d.name;
  fail("safetensors: unsupported dtype ", dtype_name(t));
}

DType dtype_from_safetensors(const std::string& s, const std::string& context) {
  for (const auto& d : kDtypes)
    if (s == d.name) return d.dtype;
  fail(context, "unsupported dtype \"", s, "\" (detgrad reads F32 F64 F16 BF16 I64 I32 U8 BOOL)");
}

// ---- writing -----------------------------------------------------------------------------------------

std::vector<uint8_t> serialize_safetensors(const TensorMap& tensors, const Metadata& metadata) {
  json header = json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    check(!name.empty() && name != "__metadata__", "safetensors: invalid tensor name '", name, "'");
    check(t.defined(), "safetensors: tensor '", name, "' is undefined");
    const uint64_t n = t.nbytes();
    header[name] = {{"dtype", safetensors_dtype_name(t.dtype())},
                    {"shape", t.shape()},
                    {"data_offsets", {offset, offset + n}}};
    offset += n;
  }
  std::string h = header.dump();          // keys sorted, no spaces: the same tensors give the same bytes
  h.append((8 - h.size() % 8) % 8, ' ');  // pad with spaces so the data starts 8-byte aligned (allowed by the spec)
  std::vector<uint8_t> out;
  out.reserve(8 + h.size() + offset);
  for (int i = 0; i < 8; ++i) out.push_back((uint8_t)((uint64_t)h.size() >> (8 * i)));
  out.insert(out.end(), h.begin(), h.end());
  for (const auto& [name, t] : tensors) {
    const auto* b = static_cast<const uint8_t*>(t.raw());
    if (t.nbytes()) out.insert(out.end(), b, b + t.nbytes());
  }
  return out;
}

void write_file_atomic(const std::string& path, const std::vector<uint8_t>& bytes, const char* who) {
  const std::string tmp = path + ".tmp." + std::to_string((long)getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) fail(who, ": ", path, ": cannot create ", tmp, ": ", std::strerror(errno));
  auto abort_with = [&](const char* what, int err) {
    ::close(fd);
    std::remove(tmp.c_str());
    fail(who, ": ", path, ": ", what, ": ", std::strerror(err));
  };
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t w = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) abort_with("write error", w < 0 ? errno : EIO);
    done += (size_t)w;
  }
  if (::fsync(fd) != 0) abort_with("fsync failed", errno);  // the data is on disk before the rename
  if (::close(fd) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail(who, ": ", path, ": close failed: ", std::strerror(err));
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail(who, ": ", path, ": cannot rename ", tmp, " to it: ", std::strerror(err));
  }
  // Make the rename itself durable: fsync the folder (best effort).
  const size_t slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

void save_safetensors(const std::string& path, const TensorMap& tensors, const Metadata& metadata) {
  write_file_atomic(path, serialize_safetensors(tensors, metadata), "safetensors");
}

// ---- reading -----------------------------------------------------------------------------------------

SafetensorsFile parse_safetensors(const uint8_t* bytes, size_t size, const std::string& name) {
  const std::string ctx = "safetensors: " + name + ": ";
  check(size >= 8, ctx, "file too short (", size, " bytes) for the 8-byte header length");
  uint64_t hlen = 0;
  for (int i = 0; i < 8; ++i) hlen |= (uint64_t)bytes[i] << (8 * i);
  check(hlen <= size - 8, ctx, "header length ", hlen, " goes beyond the end of the file (", size, " bytes)");
  check(hlen <= kMaxHeader, ctx, "header length ", hlen, " is larger than the 100 MB limit");
  check(hlen >= 2 && bytes[8] == '{', ctx, "header does not start with '{' (not a safetensors file?)");
  json header;
  try {
    header = json::parse(bytes + 8, bytes + 8 + hlen);
  } catch (const json::exception& e) {
    fail(ctx, "header is not valid JSON: ", e.what());
  }
  check(header.is_object(), ctx, "header is not a JSON object");
  const uint8_t* data = bytes + 8 + hlen;
  const uint64_t data_size = size - 8 - hlen;

  SafetensorsFile out;
  std::vector<std::pair<std::pair<uint64_t, uint64_t>, std::string>> ranges;
  for (auto it = header.begin(); it != header.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "__metadata__") {
      check(v.is_object(), ctx, "__metadata__ is not an object");
      for (auto m = v.begin(); m != v.end(); ++m) {
        check(m.value().is_string(), ctx, "__metadata__ value of '", m.key(), "' is not a string");
        out.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const std::string tctx = ctx + "tensor '" + key + "': ";
    check(v.is_object() && v.contains("dtype") && v.contains("shape") && v.contains("data_offsets"), tctx,
          "entry needs dtype, shape and data_offsets");
    check(v["dtype"].is_string(), tctx, "dtype is not a string");
    const DType dt = dtype_from_safetensors(v["dtype"].get<std::string>(), tctx);
    const json& js = v["shape"];
    check(js.is_array(), tctx, "shape is not a list");
    Shape shape;
    uint64_t numel = 1;
    for (const json& d : js) {
      check(d.is_number_unsigned() || (d.is_number_integer() && d.get<int64_t>() >= 0), tctx,
            "shape entries must be non-negative integers, got ", js.dump());
      const uint64_t e = d.get<uint64_t>();
      check(e < (1ull << 40) && (e == 0 || numel <= (1ull << 40) / e), tctx, "shape ", js.dump(), " is too large");
      shape.push_back((int64_t)e);
      numel *= e;
    }
    const json& off = v["data_offsets"];
    check(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(), tctx,
          "data_offsets must be two non-negative integers, got ", off.dump());
    const uint64_t begin = off[0].get<uint64_t>(), end = off[1].get<uint64_t>();
    check(begin <= end, tctx, "data_offsets [", begin, ", ", end, "] are reversed");
    check(end <= data_size, tctx, "data_offsets [", begin, ", ", end, "] go beyond the data (", data_size,
          " bytes; truncated file?)");
    const uint64_t want = numel * dtype_size(dt);
    check(end - begin == want, tctx, "data_offsets [", begin, ", ", end, "] hold ", end - begin, " bytes but ",
          v["dtype"].get<std::string>(), " ", shape_text(shape), " needs ", want);
    Tensor t = Tensor::empty(shape, dt);
    if (want) std::memcpy(t.raw(), data + begin, want);
    if (dt == DType::b8) {
      const uint8_t* b = static_cast<const uint8_t*>(t.raw());
      for (uint64_t i = 0; i < numel; ++i)
        check(b[i] <= 1, tctx, "BOOL byte ", (int)b[i], " at element ", i, " (must be 0 or 1)");
    }
    out.tensors[key] = t;
    if (want) ranges.push_back({{begin, end}, key});
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    check(ranges[i].first.first >= ranges[i - 1].first.second, ctx, "tensors '", ranges[i - 1].second, "' [",
          ranges[i - 1].first.first, ", ", ranges[i - 1].first.second, "] and '", ranges[i].second, "' [",
          ranges[i].first.first, ", ", ranges[i].first.second, "] overlap");
  return out;
}

SafetensorsFile load_safetensors(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) fail("safetensors: ", path, ": cannot open: ", std::strerror(errno));
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  check(!f.bad(), "safetensors: ", path, ": read error");
  return parse_safetensors(bytes.data(), bytes.size(), path);
}

// ---- loading into an expected set ----------------------------------------------------------------------

void check_tensors_match(const TensorMap& loaded, const TensorMap& expected, const std::string& context) {
  std::string problems;
  for (const auto& [name, want] : expected) {
    auto it = loaded.find(name);
    if (it == loaded.end()) {
      problems += "\n  missing '" + name + "' " + shape_str(want.shape());
      continue;
    }
    const Tensor& got = it->second;
    if (got.shape() != want.shape())
      problems += "\n  '" + name + "': file has " + shape_str(got.shape()) + ", expected " + shape_str(want.shape());
    else if (got.dtype() != want.dtype() && !(is_floating(got.dtype()) && is_floating(want.dtype())))
      problems += "\n  '" + name + "': file has dtype " + dtype_name(got.dtype()) + ", expected " +
                  dtype_name(want.dtype());
  }
  for (const auto& [name, got] : loaded)
    if (!expected.count(name)) problems += "\n  unexpected '" + name + "' " + shape_str(got.shape());
  check(problems.empty(), context, "tensors do not match the expected set:", problems);
}

void assign_tensors(const TensorMap& loaded, const TensorMap& expected, const std::string& context) {
  check_tensors_match(loaded, expected, context);
  NoGradGuard no_grad;
  for (const auto& [name, want] : expected) {
    const Tensor& got = loaded.at(name);
    const Tensor src = got.dtype() == want.dtype() ? got : got.to(want.dtype());
    Tensor dst = want;
    if (src.nbytes()) std::memcpy(dst.raw(), src.raw(), src.nbytes());
  }
}

Metadata load_safetensors_into(const std::string& path, const TensorMap& expected) {
  SafetensorsFile f = load_safetensors(path);
  assign_tensors(f.tensors, expected, "safetensors: " + path + ": ");
  return f.metadata;
}

}  // namespace dg::io
