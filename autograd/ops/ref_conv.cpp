// `detgrad ref` entries for the convolution family (conv2d, conv_transpose2d), named and with the
// keyword arguments of F.conv2d / F.conv_transpose2d. Pairs are "2" or "2,1" (height, width).
#include "autograd/ops/conv.h"
#include "autograd/ops/registry.h"

namespace dg {

namespace {

// "2" -> (2, 2); "2,1" -> (2, 1); absent -> dflt.
Hw pair_attr(OpArgs& a, const char* op, const std::string& key, int64_t dflt) {
  std::vector<int64_t> v = a.ints(key);
  if (v.empty()) return Hw(dflt);
  check(v.size() <= 2, op, ": attribute ", key, " must be one integer or a pair 'h,w', got ", v.size(), " values");
  return v.size() == 1 ? Hw(v[0]) : Hw(v[0], v[1]);
}

}  // namespace

void add_conv_ref_ops(std::vector<OpSpec>& table) {
  table.push_back(
      {"conv2d", "input, weight, [bias]",
       "stride (1), padding (0; also valid, same), dilation (1), groups (1); pairs as h,w", "", [](OpArgs& a) {
         const char* op = "conv2d";
         const Tensor& x = a.in("input");
         const Tensor& w = a.in("weight");
         Tensor b = a.opt("bias");
         Hw stride = pair_attr(a, op, "stride", 1), dilation = pair_attr(a, op, "dilation", 1);
         const int64_t groups = a.i("groups", 1);
         const std::string pad = a.s("padding", "0");
         if (pad == "same" || pad == "valid")
           return std::vector<Tensor>{
               conv2d(x, w, b, stride, pad == "same" ? Padding::same : Padding::valid, dilation, groups)};
         return std::vector<Tensor>{conv2d(x, w, b, stride, pair_attr(a, op, "padding", 0), dilation, groups)};
       }});
  table.push_back({"conv_transpose2d", "input, weight, [bias]",
                   "stride (1), padding (0), output_padding (0), groups (1), dilation (1); pairs as h,w", "",
                   [](OpArgs& a) {
                     const char* op = "conv_transpose2d";
                     const Tensor& x = a.in("input");
                     const Tensor& w = a.in("weight");
                     Tensor b = a.opt("bias");
                     return std::vector<Tensor>{conv_transpose2d(x, w, b, pair_attr(a, op, "stride", 1),
                                                                 pair_attr(a, op, "padding", 0),
                                                                 pair_attr(a, op, "output_padding", 0),
                                                                 a.i("groups", 1), pair_attr(a, op, "dilation", 1))};
                   }});
}

}  // namespace dg
