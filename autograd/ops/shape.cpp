// Shape ops: every copy here is one call of kernels::copy_strided, which reads a strided view of the
// source and writes a strided view of the destination. Gradients are the adjoint copies:
// permute <-> inverse permute, expand <-> sum_to, slice <-> scatter into zeros, cat <-> narrow,
// pad <-> pad with negated amounts, gather/index_select <-> scatter-add.
#include "autograd/ops/shape.h"

#include <algorithm>
#include <cstring>

#include "autograd/autocast.h"
#include "autograd/kernels/broadcast.h"
#include "autograd/limits.h"
#include "autograd/ops/common.h"
#include "autograd/ops/elementwise.h"

namespace dg {
using namespace ops_detail;

// Binds T to an unsigned integer of the element size: shape ops move bytes, whatever the dtype.
#define DG_DISPATCH_BYTES(ES, T, ...) \
  switch (ES) {                       \
    case 1: {                         \
      using T = uint8_t;              \
      __VA_ARGS__;                    \
      break;                          \
    }                                 \
    case 2: {                         \
      using T = uint16_t;             \
      __VA_ARGS__;                    \
      break;                          \
    }                                 \
    case 4: {                         \
      using T = uint32_t;             \
      __VA_ARGS__;                    \
      break;                          \
    }                                 \
    default: {                        \
      using T = uint64_t;             \
      __VA_ARGS__;                    \
      break;                          \
    }                                 \
  }

// dst-view <- src-view, both described by (offset, strides) over `shape`.
static void copy_view(const Shape& shape, const Tensor& src, int64_t src_off, const std::vector<int64_t>& ss,
                      Tensor& dst, int64_t dst_off, const std::vector<int64_t>& ds) {
  DG_DISPATCH_BYTES(dtype_size(src.dtype()), T,
    kernels::copy_strided(shape, static_cast<const T*>(src.raw()), src_off, ss.data(),
                          static_cast<T*>(dst.raw()), dst_off, ds.data()));
}

// A fresh contiguous tensor holding the strided view (offset, strides, shape) of x.
static Tensor materialize(const Tensor& x, const Shape& shape, int64_t offset, const std::vector<int64_t>& strides) {
  Tensor out = Tensor::empty(shape, x.dtype());
  copy_view(shape, x, offset, strides, out, 0, contiguous_strides(shape));
  return out;
}

// ---- reshape / view ------------------------------------------------------------------------------
// out shares x's storage; dx = reshape(g, x.shape)
Tensor reshape(const Tensor& x, const Shape& shape_in) {
  Shape shape = shape_in;
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      check(infer < 0, "reshape: only one dimension can be -1, got ", shape_text(shape_in));
      infer = (int64_t)i;
    } else {
      check(shape[i] >= 0, "reshape: invalid size ", shape[i], " in ", shape_text(shape_in));
      known *= shape[i];
    }
  }
  if (infer >= 0) {
    check(known != 0 && x.numel() % known == 0, "reshape: shape ", shape_text(shape_in),
          " is invalid for input of shape ", shape_text(x.shape()), " (", x.numel(), " elements)");
    shape[(size_t)infer] = x.numel() / known;
  }
  check(shape_numel(shape) == x.numel(), "reshape: shape ", shape_text(shape_in), " is invalid for input of shape ",
        shape_text(x.shape()), " (", x.numel(), " elements)");
  if (shape == x.shape()) return x;
  auto impl = std::make_shared<TensorImpl>();
  impl->shape = shape;
  impl->dtype = x.dtype();
  impl->storage = x.impl()->storage;
  Shape xs = x.shape();
  return record("reshape", Tensor(std::move(impl)), {x}, [xs](const Tensor& g) { return grads({reshape(g, xs)}); });
}
Tensor view(const Tensor& x, const Shape& shape) { return reshape(x, shape); }

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  if (x.dim() == 0) return reshape(x, {1});
  int64_t s = wrap_dim("flatten", start_dim, x), e = wrap_dim("flatten", end_dim, x);
  check(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
  Shape out;
  for (int64_t d = 0; d < s; ++d) out.push_back(x.shape()[(size_t)d]);
  int64_t m = 1;
  for (int64_t d = s; d <= e; ++d) m *= x.shape()[(size_t)d];
  out.push_back(m);
  for (int64_t d = e + 1; d < x.dim(); ++d) out.push_back(x.shape()[(size_t)d]);
  return reshape(x, out);
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim("unsqueeze", dim, x.dim() + 1, x.shape());
  Shape s = x.shape();
  s.insert(s.begin() + d, 1);
  return reshape(x, s);
}

Tensor squeeze(const Tensor& x, int64_t dim) {
  if (x.dim() == 0) return x;
  int64_t d = wrap_dim("squeeze", dim, x);
  if (x.shape()[(size_t)d] != 1) return x;
  Shape s = x.shape();
  s.erase(s.begin() + d);
  return reshape(x, s);
}

// ---- permute / transpose -------------------------------------------------------------------------
// out[i_0..] = x[i_{inv(0)}..] (copy);  dx = permute(g, inverse(dims))
Tensor permute(const Tensor& x, const Dims& dims) {
  const int64_t n = x.dim();
  check((int64_t)dims.size() == n, "permute: got ", dims.size(), " dims for a tensor of rank ", n, " (shape ",
        shape_text(x.shape()), ")");
  std::vector<bool> seen((size_t)n, false);
  Dims d((size_t)n), inv((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    d[(size_t)i] = wrap_dim("permute", dims[(size_t)i], x);
    check(!seen[(size_t)d[(size_t)i]], "permute: dim ", dims[(size_t)i], " repeated in ", shape_text(dims));
    seen[(size_t)d[(size_t)i]] = true;
    inv[(size_t)d[(size_t)i]] = i;
  }
  auto cs = contiguous_strides(x.shape());
  Shape shape((size_t)n);
  std::vector<int64_t> strides((size_t)n);
  for (int64_t i = 0; i < n; ++i) {
    shape[(size_t)i] = x.shape()[(size_t)d[(size_t)i]];
    strides[(size_t)i] = cs[(size_t)d[(size_t)i]];
  }
  Tensor out = materialize(x, shape, 0, strides);
  return record("permute", out, {x}, [inv](const Tensor& g) { return grads({permute(g, inv)}); });
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  if (x.dim() < 2) {  // rank 0/1: only dims 0/-1 are valid and the op is the identity
    wrap_dim("transpose", dim0, x);
    wrap_dim("transpose", dim1, x);
    return x;
  }
  Dims p;
  for (int64_t i = 0; i < x.dim(); ++i) p.push_back(i);
  std::swap(p[(size_t)wrap_dim("transpose", dim0, x)], p[(size_t)wrap_dim("transpose", dim1, x)]);
  return permute(x, p);
}

// ---- expand --------------------------------------------------------------------------------------
// out = x broadcast to size (copy);  dx = sum_to(g, x.shape)
Tensor expand(const Tensor& x, const Shape& size) {
  check(size.size() >= x.shape().size(), "expand: cannot expand shape ", shape_text(x.shape()), " to ",
        shape_text(size), " (fewer dimensions)");
  Shape out = size;
  const size_t lead = size.size() - x.shape().size();
  for (size_t i = 0; i < size.size(); ++i) {
    int64_t xs = i < lead ? 1 : x.shape()[i - lead];
    if (size[i] == -1) {
      check(i >= lead, "expand: -1 is not allowed for the new leading dimension ", i, " in ", shape_text(size));
      out[i] = xs;
    }
    check(xs == out[i] || xs == 1, "expand: the expanded size ", out[i], " must match the existing size ", xs,
          " at dimension ", i, " (", shape_text(x.shape()), " -> ", shape_text(size), ")");
  }
  if (out == x.shape()) return x;
  Tensor o = materialize(x, out, 0, broadcast_strides(x.shape(), out));
  Shape xs = x.shape();
  return record("expand", o, {x}, [xs](const Tensor& g) { return grads({sum_to(g, xs)}); });
}

// ---- slice / narrow ------------------------------------------------------------------------------
// out = x[.., start:end:step, ..] (copy);  dx = zeros with g written back at the sliced positions
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
  check(x.dim() > 0, "slice: cannot slice a 0-d tensor");
  check(step > 0, "slice: step must be positive, got ", step);
  int64_t d = wrap_dim("slice", dim, x);
  const int64_t n = x.shape()[(size_t)d];
  auto clampi = [n](int64_t v) { return v < 0 ? std::max<int64_t>(0, v + n) : std::min(v, n); };  // Python rules
  start = clampi(start);
  end = clampi(end);
  const int64_t count = end > start ? (end - start + step - 1) / step : 0;
  Shape shape = x.shape();
  shape[(size_t)d] = count;
  auto strides = contiguous_strides(x.shape());
  const int64_t offset = start * strides[(size_t)d];
  strides[(size_t)d] *= step;
  Tensor out = materialize(x, shape, offset, strides);
  Shape xs = x.shape();
  return record("slice", out, {x}, [xs, shape, offset, strides](const Tensor& g) {
    Tensor dx = zeros(xs, g.dtype());
    copy_view(shape, g, 0, contiguous_strides(shape), dx, offset, strides);
    return grads({dx});
  });
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  check(x.dim() > 0, "narrow: cannot narrow a 0-d tensor");
  int64_t d = wrap_dim("narrow", dim, x);
  const int64_t n = x.shape()[(size_t)d];
  if (start < 0) start += n;
  check(start >= 0 && length >= 0 && start + length <= n, "narrow: start ", start, " + length ", length,
        " exceeds dimension ", d, " of size ", n, " (shape ", shape_text(x.shape()), ")");
  return slice(x, d, start, start + length, 1);
}

// ---- cat / stack / split / chunk -----------------------------------------------------------------
// out = [x_0 | x_1 | ...] along dim;  dx_k = narrow(g, dim, offset_k, size_k)
Tensor cat(const std::vector<Tensor>& xs, int64_t dim) {
  check(!xs.empty(), "cat: expected a non-empty list of tensors");
  if (amp::autocast_enabled()) {  // autocast: mixed floating dtypes run in the widest (NOTE [ Autocast hooks ])
    bool floating = true, same = true;
    for (const Tensor& t : xs) {
      floating = floating && t.defined() && is_floating(t.dtype());
      same = same && t.defined() && t.dtype() == xs[0].dtype();
    }
    if (floating && !same) {
      DType w = xs[0].dtype();
      for (const Tensor& t : xs) w = amp::promote_types(w, t.dtype());
      std::vector<Tensor> ys;
      for (const Tensor& t : xs) ys.push_back(t.to(w));
      return cat(ys, dim);  // all of dtype w now: no second promotion
    }
  }
  const Tensor& ref = xs[0];
  int64_t d = wrap_dim("cat", dim, ref);
  check(ref.dim() > 0, "cat: zero-dimensional tensor cannot be concatenated");
  Shape shape = ref.shape();
  int64_t total = 0;
  for (size_t k = 0; k < xs.size(); ++k) {
    const Tensor& t = xs[k];
    check(t.dtype() == ref.dtype(), "cat: tensor ", k, " is ", dtype_name(t.dtype()), ", tensor 0 is ",
          dtype_name(ref.dtype()));
    check(t.dim() == ref.dim(), "cat: tensor ", k, " has shape ", shape_text(t.shape()), ", tensor 0 has ",
          shape_text(ref.shape()), " (ranks differ)");
    for (int64_t i = 0; i < ref.dim(); ++i)
      check(i == d || t.shape()[(size_t)i] == ref.shape()[(size_t)i], "cat: sizes must match except in dimension ", d,
            ": tensor ", k, " has shape ", shape_text(t.shape()), ", tensor 0 has ", shape_text(ref.shape()));
    total += t.shape()[(size_t)d];
  }
  shape[(size_t)d] = total;
  Tensor out = Tensor::empty(shape, ref.dtype());
  auto os = contiguous_strides(shape);
  int64_t at = 0;
  std::vector<int64_t> starts;
  for (const Tensor& t : xs) {
    starts.push_back(at);
    copy_view(t.shape(), t, 0, contiguous_strides(t.shape()), out, at * os[(size_t)d], os);
    at += t.shape()[(size_t)d];
  }
  std::vector<int64_t> sizes;
  for (const Tensor& t : xs) sizes.push_back(t.shape()[(size_t)d]);
  return record("cat", out, xs, [d, starts, sizes](const Tensor& g) {
    std::vector<Tensor> r;
    for (size_t k = 0; k < starts.size(); ++k) r.push_back(narrow(g, d, starts[k], sizes[k]));
    return r;
  });
}

Tensor stack(const std::vector<Tensor>& xs, int64_t dim) {
  check(!xs.empty(), "stack: expected a non-empty list of tensors");
  int64_t d = wrap_dim("stack", dim, xs[0].dim() + 1, xs[0].shape());
  std::vector<Tensor> u;
  for (size_t k = 0; k < xs.size(); ++k) {
    check(xs[k].shape() == xs[0].shape(), "stack: tensor ", k, " has shape ", shape_text(xs[k].shape()),
          ", tensor 0 has ", shape_text(xs[0].shape()), " (all must be equal)");
    u.push_back(unsqueeze(xs[k], d));
  }
  return cat(u, d);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sections, int64_t dim) {
  int64_t d = wrap_dim("split", dim, x);
  int64_t total = 0;
  for (int64_t s : sections) {
    check(s >= 0, "split: section sizes must be non-negative, got ", shape_text(sections));
    total += s;
  }
  check(total == x.shape()[(size_t)d], "split: sections ", shape_text(sections), " sum to ", total, " but dimension ",
        d, " has size ", x.shape()[(size_t)d]);
  std::vector<Tensor> r;
  int64_t at = 0;
  for (int64_t s : sections) {
    r.push_back(narrow(x, d, at, s));
    at += s;
  }
  return r;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  int64_t d = wrap_dim("split", dim, x);
  const int64_t n = x.shape()[(size_t)d];
  check(split_size > 0 || (split_size == 0 && n == 0), "split: split_size must be positive, got ", split_size);
  std::vector<int64_t> sections;
  if (n == 0) sections.push_back(0);
  for (int64_t at = 0; at < n; at += split_size) sections.push_back(std::min(split_size, n - at));
  return split(x, sections, d);
}

// torch.chunk: pieces of ceil(n / chunks) elements; there may be fewer than `chunks` pieces.
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  check(chunks > 0, "chunk: chunks must be positive, got ", chunks);
  int64_t d = wrap_dim("chunk", dim, x);
  const int64_t n = x.shape()[(size_t)d];
  const int64_t size = (n + chunks - 1) / chunks;
  if (size == 0) {  // empty dim: `chunks` empty pieces, as PyTorch
    std::vector<Tensor> r;
    for (int64_t i = 0; i < chunks; ++i) r.push_back(narrow(x, d, 0, 0));
    return r;
  }
  return split(x, size, d);
}

// ---- index_select / gather -----------------------------------------------------------------------
static std::vector<int64_t> read_index(const char* op, const Tensor& index, int64_t bound) {
  check(index.dtype() == DType::i64 || index.dtype() == DType::i32, op, ": index must be i64 or i32, got ",
        dtype_name(index.dtype()));
  std::vector<int64_t> v((size_t)index.numel());
  for (int64_t i = 0; i < index.numel(); ++i) {
    int64_t k = index.dtype() == DType::i64 ? index.data<int64_t>()[i] : index.data<int32_t>()[i];
    check(k >= -bound && k < bound, op, ": index ", k, " is out of bounds for dimension of size ", bound);
    v[(size_t)i] = k < 0 ? k + bound : k;
  }
  return v;
}

// out[o, j, i] = x[o, index[j], i]  (x viewed as [outer, n, inner]);  dx[o, index[j], i] += g[o, j, i]
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  check(index.dim() <= 1, "index_select: index must be 0-d or 1-d, got shape ", shape_text(index.shape()));
  int64_t d = x.dim() == 0 ? 0 : wrap_dim("index_select", dim, x);
  const int64_t n = x.dim() == 0 ? 1 : x.shape()[(size_t)d];
  auto idx = read_index("index_select", index, n);
  Shape shape = x.shape();
  if (x.dim()) shape[(size_t)d] = (int64_t)idx.size();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < d; ++i) outer *= x.shape()[(size_t)i];
  for (int64_t i = d + 1; i < x.dim(); ++i) inner *= x.shape()[(size_t)i];
  Tensor out = Tensor::empty(shape, x.dtype());
  const size_t es = dtype_size(x.dtype());
  const int64_t m = (int64_t)idx.size();
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t j = 0; j < m; ++j)
      std::memcpy(dst + ((o * m + j) * inner) * es, src + ((o * n + idx[(size_t)j]) * inner) * es, (size_t)inner * es);
  Shape xs = x.shape();
  return record("index_select", out, {x}, [xs, idx, outer, n, inner, m](const Tensor& g) {
    Tensor dx = zeros(xs, g.dtype());
    DG_DISPATCH_FLOAT(g.dtype(), "index_select", T, {
      const T* pg = g.data<T>();
      T* pd = dx.data<T>();
      for (int64_t o = 0; o < outer; ++o)  // sequential: repeated indices accumulate in a fixed order
        for (int64_t j = 0; j < m; ++j)
          for (int64_t i = 0; i < inner; ++i) pd[(o * n + idx[(size_t)j]) * inner + i] += pg[(o * m + j) * inner + i];
    });
    return grads({dx});
  });
}

// Visits every element of `index` (shape S, same rank as the data): calls f(flat_index_pos, data_pos)
// where data_pos is the flat position in a tensor of shape `data_shape` selected along `d`.
template <class F>
static void for_each_gather(const char* op, const Shape& data_shape, int64_t d, const Tensor& index, F f) {
  auto idx = read_index(op, index, data_shape.empty() ? 1 : data_shape[(size_t)d]);
  const Shape& is = index.shape();
  auto ds = contiguous_strides(data_shape);
  std::vector<int64_t> pos(is.size(), 0);
  for (int64_t k = 0; k < index.numel(); ++k) {
    int64_t off = 0;
    for (size_t a = 0; a < is.size(); ++a) off += (a == (size_t)d ? idx[(size_t)k] : pos[a]) * ds[a];
    f(k, off);
    for (size_t a = is.size(); a-- > 0;) {
      if (++pos[a] < is[a]) break;
      pos[a] = 0;
    }
  }
}

static int64_t check_gather(const char* op, const Shape& data_shape, int64_t dim, const Tensor& index) {
  const int64_t rank = (int64_t)data_shape.size();
  check(index.dim() == rank || (rank == 0 && index.dim() <= 1), op, ": index has rank ", index.dim(),
        " but input has rank ", rank, " (shapes ", shape_text(index.shape()), " and ", shape_text(data_shape), ")");
  int64_t d = wrap_dim(op, dim, rank, data_shape);
  for (int64_t a = 0; a < rank; ++a)
    check(a == d || index.shape()[(size_t)a] <= data_shape[(size_t)a], op, ": index shape ", shape_text(index.shape()),
          " exceeds input shape ", shape_text(data_shape), " at dimension ", a);
  return d;
}

// out[..i..] = x[.., index[..i..], ..] (index replaces coordinate `dim`);  dx = scatter_add(g)
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  int64_t d = check_gather("gather", x.shape(), dim, index);
  Tensor out = Tensor::empty(index.shape(), x.dtype());
  const size_t es = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(out.raw());
  for_each_gather("gather", x.shape(), d, index,
                  [&](int64_t k, int64_t off) { std::memcpy(dst + k * (int64_t)es, src + off * (int64_t)es, es); });
  Shape xs = x.shape();
  Tensor sidx = index.detach();
  return record("gather", out, {x},
                [xs, d, sidx](const Tensor& g) { return grads({scatter_add_new(xs, d, sidx, g)}); });
}

// out = zeros(shape); out[.., index[..i..], ..] += src[..i..]  (in index order: deterministic)
// f16/bf16 src: the sums are formed in f32 and rounded once (the gradient of a half-precision gather).
Tensor scatter_add_new(const Shape& shape, int64_t dim, const Tensor& index, const Tensor& src) {
  if (is_half(src.dtype())) return scatter_add_new(shape, dim, index, src.to(DType::f32)).to(src.dtype());
  int64_t d = check_gather("scatter_add", shape, dim, index);
  check(src.shape() == index.shape(), "scatter_add: src shape ", shape_text(src.shape()), " differs from index shape ",
        shape_text(index.shape()));
  Tensor out = zeros(shape, src.dtype());
  DG_DISPATCH_FLOAT(src.dtype(), "scatter_add", T, {
    const T* ps = src.data<T>();
    T* po = out.data<T>();
    for_each_gather("scatter_add", shape, d, index, [&](int64_t k, int64_t off) { po[off] += ps[k]; });
  });
  Shape ss = src.shape();
  Tensor sidx = index.detach();
  return record("scatter_add", out, {src}, [d, sidx](const Tensor& g) { return grads({gather(g, d, sidx)}); });
}

// ---- pad -----------------------------------------------------------------------------------------
// out = value outside, x inside (negative amounts crop);  dx = pad(g, -pad)  (crop back / zero-extend)
Tensor pad(const Tensor& x, const std::vector<int64_t>& p, double value) {
  check(p.size() % 2 == 0, "pad: pad length must be even, got ", p.size(), " values ", shape_text(p));
  check((int64_t)p.size() / 2 <= x.dim(), "pad: ", p.size(), " values pad ", p.size() / 2,
        " dims but the input has only ", x.dim(), " (shape ", shape_text(x.shape()), ")");
  Shape shape = x.shape();
  const int64_t n = x.dim();
  std::vector<int64_t> before((size_t)n, 0), after((size_t)n, 0);
  for (size_t k = 0; k < p.size() / 2; ++k) {
    size_t d = (size_t)(n - 1 - (int64_t)k);
    before[d] = p[2 * k];
    after[d] = p[2 * k + 1];
    // In 128 bits: a pad near 2^63 must not wrap around into a plausible size.
    const __int128 size = (__int128)x.shape()[d] + before[d] + after[d];
    check(size >= 0, "pad: dimension ", d, " of size ", x.shape()[d], " padded by (", before[d], ", ", after[d],
          ") would have negative size");
    check(size <= kMaxElements, "pad: dimension ", d, " of size ", x.shape()[d], " padded by (", before[d], ", ",
          after[d], ") is over the limit of ", kMaxElements, " (autograd/limits.h)");
    shape[d] = (int64_t)size;
  }
  Tensor out = full(shape, value, x.dtype());
  // The region of x that survives, and where it lands in out.
  Shape region((size_t)n);
  int64_t src_off = 0, dst_off = 0;
  auto xs_st = contiguous_strides(x.shape()), os_st = contiguous_strides(shape);
  for (size_t d = 0; d < (size_t)n; ++d) {
    const int64_t s0 = std::max<int64_t>(0, -before[d]);
    const int64_t s1 = x.shape()[d] - std::max<int64_t>(0, -after[d]);
    region[d] = std::max<int64_t>(0, s1 - s0);
    src_off += s0 * xs_st[d];
    dst_off += std::max<int64_t>(0, before[d]) * os_st[d];
  }
  if (shape_numel(region) > 0) copy_view(region, x, src_off, xs_st, out, dst_off, os_st);
  std::vector<int64_t> neg_p;
  for (int64_t v : p) neg_p.push_back(-v);
  if (is_floating(x.dtype()))
    return record("pad", out, {x}, [neg_p](const Tensor& g) { return grads({pad(g, neg_p, 0.0)}); });
  return out;
}

}  // namespace dg
