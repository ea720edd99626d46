#pragma once
// Image files: JPEG (libjpeg) and PNG (libpng), told apart by their signature, not their name.
//
// read_rgb_image: any JPEG or PNG as RGB uint8 [H, W, 3] (grey is replicated, a palette expanded,
// alpha dropped; 16-bit PNGs reduced to 8 bits).
// read_label_image: a label PNG as written by dataset tools. Palette PNGs (VOC's
// SegmentationClass) and 8-bit grey PNGs (Cityscapes' labelIds, ADE20K) give their raw pixel values,
// the class indices, as [H, W]; RGB(A) PNGs give colours [H, W, 3] to be mapped through a palette
// (colour_to_index).
// Every failure (missing file, not an image, truncated data) is a UserError naming the file.

#include <ATen/core/Tensor.h>

#include <array>
#include <string>
#include <vector>

namespace atrous::data {

at::Tensor read_rgb_image(const std::string& path);

// {height, width} of a JPEG or PNG from its header, without decoding the pixels.
std::array<int64_t, 2> read_image_size(const std::string& path);

struct LabelImage {
  at::Tensor values;  // [H, W] uint8 indices, or [H, W, 3] uint8 colours when is_colour
  bool is_colour = false;
};
LabelImage read_label_image(const std::string& path);

// Maps a colour mask [H, W, 3] to indices [H, W] through `palette` (colour k is index k). A colour
// not in the palette is a UserError naming `path`, the pixel and the colour.
at::Tensor colour_to_index(const at::Tensor& colours, const std::vector<std::array<uint8_t, 3>>& palette,
                           const std::string& path);

// Writes [H, W] uint8 indices as a palette PNG (the palette's first 256 colours) or [H, W, 3] uint8 as
// an RGB PNG; atomically (temporary file, then rename). UserError naming the file on failure.
void write_palette_png(const std::string& path, const at::Tensor& indices,
                       const std::vector<std::array<uint8_t, 3>>& palette);
void write_rgb_png(const std::string& path, const at::Tensor& rgb);
// [H, W, 3] uint8 as the bytes of an RGB PNG file (for TensorBoard's image summaries).
std::string encode_rgb_png(const at::Tensor& rgb);

}  // namespace atrous::data
