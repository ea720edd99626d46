#pragma once
// Image files: JPEG (libjpeg) and PNG (libpng), told apart by their signature, not their name.
//
// read_rgb_image: any JPEG or PNG as RGB uint8 [H, W, 3], for photos. Grey is replicated, grey of 1,
// 2 or 4 bits scaled to 0..255 first (x 255, x 85, x 17); a palette expanded; alpha dropped; 16-bit
// PNGs reduced to their high byte (as PIL does).
// read_label_image: a label, exactly as stored; nothing is scaled. For every PNG that PIL writes:
//   grey of 1, 2, 4 or 8 bits, with or without alpha (dropped): the raw values as [H, W], so a 1-bit
//     label gives 0 and 1 (Cityscapes' labelIds and ADE20K are 8-bit grey);
//   grey of 16 bits (PIL's I;16 and I): the values, when every one is at most 255; a larger value is a
//     UserError naming the file, the pixel and the value, since a label value must fit uint8;
//   palette of 1, 2, 4 or 8 bits (VOC's SegmentationClass): the indices as [H, W], whether or not the
//     palette has an entry for them;
//   RGB or RGBA of 8 bits: the colours [H, W, 3] (is_colour), to be mapped through a palette
//     (colour_to_index); alpha dropped;
//   RGB or RGBA of 16 bits: the colours reduced to 8 bits only when that is exact, every sample a
//     multiple of 257 (an 8-bit colour scaled to 16 bits); any other sample is a UserError naming the
//     pixel, since rounding could turn one class's colour into another's.
// A JPEG label gives its colours (is_colour), as read_rgb_image.
//
// Damaged files are refused rather than decoded into made-up pixels: the decoders' warnings that mean
// the pixels may be wrong (a truncated JPEG, a CRC mismatch in a PNG, ...) are errors; warnings about
// metadata that is not used (colour profiles, gamma, text) are not. data/jpeg_decoder.h and
// data/png_decoder.h list which are which.
//
// Decompression bombs: an image of more pixels (height x width, from the file's header) than
// ImageLimits::max_pixels is refused before any pixel memory is allocated, so that a 1 MB PNG of
// 20000 x 20000 cannot take gigabytes. `atrous pack` sets the limit with pack.max_pixels; other
// callers get the default.
//
// Every failure (missing file, not an image, damaged or truncated data, too many pixels) is a
// UserError naming the file. Any thread may call these functions; they share no state.

#include <ATen/core/Tensor.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace atrous::data {

// PIL's limit (twice Image.MAX_IMAGE_PIXELS, where PIL raises DecompressionBombError): 13377 x 13377,
// 512 MiB as RGB.
inline constexpr int64_t default_max_pixels = 178956970;

struct ImageLimits {
  int64_t max_pixels = default_max_pixels;  // height x width at most; 0: no limit
  // The option that sets max_pixels ("pack.max_pixels"), named in the refusal; empty when none does.
  std::string option;

  // Without overflow for any sizes a header holds (a PNG's are 32-bit: 2^32 - 1 squared is past int64).
  bool allows(int64_t height, int64_t width) const {
    return max_pixels == 0 || height <= 0 || width <= max_pixels / height;
  }
};

// UserError naming the file unless height x width is an image's size (each side 1 to 2^31 - 1; a
// header that says 0 is a damaged file) that `limits` allow: then it names the size, the limit and
// the option that raises it.
void check_image_pixels(const std::string& path, int64_t height, int64_t width, const ImageLimits& limits);

at::Tensor read_rgb_image(const std::string& path, const ImageLimits& limits = {});

// {height, width} of a JPEG or PNG from its header, without decoding the pixels; checked against
// `limits` like the readers.
std::array<int64_t, 2> read_image_size(const std::string& path, const ImageLimits& limits = {});

struct LabelImage {
  at::Tensor values;  // [H, W] uint8 indices, or [H, W, 3] uint8 colours when is_colour
  bool is_colour = false;
};
LabelImage read_label_image(const std::string& path, const ImageLimits& limits = {});

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
