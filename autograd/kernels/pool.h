// 2-D pooling loops on raw pointers: no Tensor here.
//
// Shape legend: the input is `planes` independent H x W planes (planes = N * C, NCHW contiguous), the
// output `planes` OH x OW planes. Every loop runs over planes in parallel (one plane per thread at a
// time), and inside a plane in a fixed order, so forward and backward give the same bits for any
// OpenMP thread count (each gradient plane is written by exactly one thread, in output order).
//
// These plain loops are also the reference: there is no separate vectorised twin yet.
#pragma once
#include <cstdint>

namespace dg::kernels {

// Window geometry of max_pool2d / avg_pool2d (dilation is 1 for avg_pool2d).
struct Pool2dGeom {
  int64_t H = 0, W = 0;    // input plane
  int64_t OH = 0, OW = 0;  // output plane
  int64_t kh = 1, kw = 1;  // kernel
  int64_t sh = 1, sw = 1;  // stride
  int64_t ph = 0, pw = 0;  // padding (both sides)
  int64_t dh = 1, dw = 1;  // dilation
};

// PyTorch's pooling output size along one dim:
//   out = floor((in + 2 pad - dil (k - 1) - 1 + (ceil_mode ? stride - 1 : 0)) / stride) + 1
// and, in ceil mode, the last window must start inside the input or the left padding:
//   if (out - 1) * stride >= in + pad then out -= 1.
int64_t pool_output_size(int64_t in, int64_t k, int64_t pad, int64_t stride, int64_t dil, bool ceil_mode);

// out[p, oh, ow] = max of the window (padding counts as -inf); argmax[p, oh, ow] = flat index
// ih * W + iw of the chosen element (first maximum in row-major window order; a NaN wins, the last
// NaN if several, as PyTorch's CPU kernel), or -1 when the window holds no input element.
template <class T>
void max_pool2d_forward(const T* x, T* out, int64_t* argmax, int64_t planes, const Pool2dGeom& g);
// gx (zeroed by the caller) [p, ih, iw] += gout[p, oh, ow] at each window's argmax.
template <class T>
void max_pool2d_backward(const T* gout, const int64_t* argmax, T* gx, int64_t planes, const Pool2dGeom& g);

// out = sum of the window's input elements / divisor, where (PyTorch's rules)
//   divisor_override > 0:   divisor_override
//   count_include_pad:      cells of the window inside the PADDED input (cells past the padded
//                           border, which only ceil_mode creates, are not counted)
//   otherwise:              cells of the window inside the input
// A window with no input element gives 0.
template <class T>
void avg_pool2d_forward(const T* x, T* out, int64_t planes, const Pool2dGeom& g, bool count_include_pad,
                        int64_t divisor_override);
// gx (zeroed by the caller) += gout / divisor over each window's input elements.
template <class T>
void avg_pool2d_backward(const T* gout, T* gx, int64_t planes, const Pool2dGeom& g, bool count_include_pad,
                         int64_t divisor_override);

// Adaptive average pooling: output cell (i, j) averages rows [floor(i H / OH), ceil((i+1) H / OH))
// and columns [floor(j W / OW), ceil((j+1) W / OW)): windows cover the input and may overlap.
template <class T>
void adaptive_avg_pool2d_forward(const T* x, T* out, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW);
template <class T>
void adaptive_avg_pool2d_backward(const T* gout, T* gx, int64_t planes, int64_t H, int64_t W, int64_t OH, int64_t OW);

// The window bounds of adaptive pooling: [adaptive_start(i), adaptive_end(i)).
inline int64_t adaptive_start(int64_t i, int64_t out, int64_t in) { return (i * in) / out; }
inline int64_t adaptive_end(int64_t i, int64_t out, int64_t in) { return ((i + 1) * in + out - 1) / out; }

}  // namespace dg::kernels
