// Image files <-> tensors, through stb_image / stb_image_write (Debian's libstb-dev).
//
// Images live in memory as u8 tensors [H, W, C] (row-major, interleaved channels, C = 3 for RGB or
// 1 for grey): the layout of the files and of the drawing functions in detectors/draw.h. A network
// wants f32 [3, H, W] in [0, 1]: image_to_chw_float converts (and chw_float_to_image goes back).
//
// Every problem is a dg::Error starting "image: <file>: " -- a missing file, a truncated or garbage
// file, and a format stb cannot read (e.g. a GIF-less build, TIFF, WebP) all name the file.
#pragma once
#include <string>

#include "autograd/tensor.h"

namespace dg::io {

// Loads a PNG, JPEG or BMP (anything stb_image reads) as u8 [H, W, 3]; grey and alpha images are
// converted to RGB (alpha is dropped).
Tensor load_image(const std::string& path);

// Writes u8 [H, W, 3] or [H, W, 1] as PNG, atomically (a temporary file renamed over path).
void save_png(const std::string& path, const Tensor& image);
// Writes u8 [H, W, 3] or [H, W, 1] as JPEG (quality 1..100), atomically. Lossy: for tests and previews.
void save_jpg(const std::string& path, const Tensor& image, int quality = 90);

// u8 [H, W, 3] -> f32 [3, H, W] with values v / 255 in [0, 1].
Tensor image_to_chw_float(const Tensor& image);
// f32/f64 [3, H, W] or [1, H, W] in [0, 1] -> u8 [H, W, C], round(clamp(v, 0, 1) * 255).
Tensor chw_float_to_image(const Tensor& chw);

}  // namespace dg::io
