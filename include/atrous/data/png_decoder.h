#pragma once
// PNG decoding with libpng, behind data/image_io.h (which says what each mode gives for each bit depth
// and colour type).
//
// libpng stops at damage in the image data itself (a truncated file, a CRC mismatch in a critical
// chunk, a broken deflate stream while rows are read) and reports everything else as a warning.
// Warnings that mean the pixels may be wrong are errors here, with libpng's message:
//   - a CRC mismatch in any chunk (libpng skips an ancillary chunk whose CRC is wrong; PIL refuses
//     the file, and so do we: the file has been changed since it was written);
//   - anything about the image data stream (IDAT): extra compressed data, too much image data, too
//     many IDATs, a damaged deflate stream or Adler-32 checksum found after the last row.
// All other warnings concern metadata that decoding does not use, and are ignored: colour profiles
// (iCCP and sRGB, such as libpng's "iCCP: known incorrect sRGB profile", which PIL-written and
// Photoshop files commonly carry), gAMA, cHRM, text and time chunks, chunks out of order or too large
// for libpng's memory limits, and palette indices beyond the palette's length (a label's index is its
// value, whatever the palette holds; PIL writes short palettes). Nothing is printed.
// The image's size is checked against ImageLimits from the header, before the pixels are allocated.
// Failures are UserErrors naming `path`. Any thread may call these functions.

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "atrous/data/image_io.h"

namespace atrous::data {

// rgb: read_rgb_image's decoding; label: read_label_image's.
enum class PngMode { rgb, label };

// Whether `bytes` start with PNG's 8-byte signature.
bool is_png(const std::vector<unsigned char>& bytes);

// The PNG in `bytes`, read from `path`: [H, W, 3] colours (is_colour) or, in label mode, [H, W] values.
LabelImage decode_png(const std::string& path, const std::vector<unsigned char>& bytes, PngMode mode,
                      const ImageLimits& limits);

// {height, width} from the PNG's IHDR chunk, without decoding the pixels.
std::array<int64_t, 2> png_size(const std::string& path, const std::vector<unsigned char>& bytes,
                                const ImageLimits& limits);

}  // namespace atrous::data
