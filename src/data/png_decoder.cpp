#include "atrous/data/png_decoder.h"

#include <ATen/ATen.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>

#include "atrous/core/error.h"

namespace atrous::data {
namespace {

struct PngReadState {
  const std::vector<unsigned char>* bytes = nullptr;
  size_t offset = 8;
  int64_t height = 0, width = 0;  // from the header, once read
  char message[256] = {};
};

// The decoded rows: 8 or 16 (big-endian) bits per sample, 1 or 3 samples per pixel.
struct PngRows {
  std::vector<unsigned char> samples;
  std::vector<png_bytep> rows;
  int channels = 0, bit_depth = 0;
};

void read_bytes(png_structp png, png_bytep out, png_size_t length) {
  auto* state = static_cast<PngReadState*>(png_get_io_ptr(png));
  if (state->offset + length > state->bytes->size()) png_error(png, "the file is truncated");
  std::memcpy(out, state->bytes->data() + state->offset, length);
  state->offset += length;
}

void on_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngReadState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  png_longjmp(png, 1);
}

// libpng's warnings that mean the pixels may be wrong (png_decoder.h). libpng prefixes a chunk's
// warnings with the chunk's name ("IDAT: Extra compressed data", "tEXt: CRC error").
bool warning_means_damage(const char* message) {
  return std::strstr(message, "CRC error") != nullptr || std::strstr(message, "IDAT") != nullptr;
}

void on_warning(png_structp png, png_const_charp message) {
  if (warning_means_damage(message)) png_error(png, message);
}

// The transforms of `mode` (image_io.h). Labels keep 16 bits, narrowed exactly afterwards.
void set_transforms(png_structp png, png_infop info, PngMode mode) {
  const int colour_type = png_get_color_type(png, info);
  const int bit_depth = png_get_bit_depth(png, info);
  png_set_strip_alpha(png);
  png_set_interlace_handling(png);
  if (mode == PngMode::label) {
    if (bit_depth < 8) png_set_packing(png);  // one byte per pixel, the raw value (grey or index)
    return;
  }
  if (bit_depth == 16) png_set_strip_16(png);
  if (colour_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if ((colour_type & PNG_COLOR_MASK_COLOR) == 0) {
    if (bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);  // scaled to 0..255
    png_set_gray_to_rgb(png);
  }
}

// Decodes into `out` unless the header's size is over `limits`. Returns false with `state.message`
// set on failure, and with it empty for an image over the limits. Nothing that lives across the
// setjmp is modified after it but through references.
bool decode(PngMode mode, const ImageLimits& limits, PngReadState& state, PngRows& out) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (png == nullptr || info == nullptr) {
    std::snprintf(state.message, sizeof state.message, "libpng could not start");
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &state, read_bytes);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  state.height = png_get_image_height(png, info);
  state.width = png_get_image_width(png, info);
  if (!limits.allows(state.height, state.width)) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  set_transforms(png, info, mode);
  png_read_update_info(png, info);
  out.channels = png_get_channels(png, info);
  out.bit_depth = png_get_bit_depth(png, info);
  const size_t row_bytes = png_get_rowbytes(png, info);
  if ((out.channels != 1 && out.channels != 3) || (out.bit_depth != 8 && out.bit_depth != 16) ||
      row_bytes != size_t(state.width) * out.channels * (out.bit_depth / 8))
    png_error(png, "unsupported channel layout");
  out.samples.resize(size_t(state.height) * row_bytes);
  out.rows.resize(state.height);
  for (int64_t y = 0; y < state.height; ++y) out.rows[y] = out.samples.data() + size_t(y) * row_bytes;
  png_read_image(png, out.rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

at::Tensor empty_image(int64_t height, int64_t width, int channels) {
  return channels == 1 ? at::empty({height, width}, at::kByte) : at::empty({height, width, 3}, at::kByte);
}

[[noreturn]] void refuse_16_bit_sample(const std::string& path, int64_t sample, int channels, int64_t width,
                                       unsigned value) {
  const int64_t pixel = sample / channels, y = pixel / width, x = pixel % width;
  if (channels == 1)
    throw UserError(to_text("label '", path, "' is a 16-bit grey PNG with value ", value, " at pixel (row ",
                            y, ", column ", x,
                            "); a label value must fit in 8 bits (0..255): store the labels as an "
                            "8-bit grey or palette PNG"),
                    ATROUS_HERE);
  throw UserError(to_text("label '", path, "' is a 16-bit colour PNG whose pixel (row ", y, ", column ", x,
                          ") has the value ", value, " in channel ", sample % channels,
                          ", which is not an 8-bit value scaled to 16 bits (a multiple of 257); store the "
                          "colour mask with 8 bits per channel"),
                  ATROUS_HERE);
}

// A label's 16-bit samples as 8 bits, exactly (image_io.h): grey values up to 255 as they are, colour
// samples that are multiples of 257 divided by 257; any other sample is refused.
at::Tensor narrow_16_bit(const std::string& path, const PngRows& decoded, int64_t height, int64_t width) {
  at::Tensor values = empty_image(height, width, decoded.channels);
  uint8_t* out = values.data_ptr<uint8_t>();
  const unsigned char* in = decoded.samples.data();
  const bool grey = decoded.channels == 1;
  for (int64_t i = 0; i < values.numel(); ++i) {
    const unsigned value = unsigned(in[2 * i]) << 8 | in[2 * i + 1];
    if (grey ? value > 255 : value % 257 != 0) refuse_16_bit_sample(path, i, decoded.channels, width, value);
    out[i] = uint8_t(grey ? value : value / 257);
  }
  return values;
}

}  // namespace

bool is_png(const std::vector<unsigned char>& bytes) {
  return bytes.size() > 8 && png_sig_cmp(bytes.data(), 0, 8) == 0;
}

LabelImage decode_png(const std::string& path, const std::vector<unsigned char>& bytes, PngMode mode,
                      const ImageLimits& limits) {
  PngReadState state;
  state.bytes = &bytes;
  PngRows decoded;
  if (!decode(mode, limits, state, decoded)) {
    // A size over the limit stops decoding on purpose: say so rather than what libpng said then.
    if (state.height > 0 && state.width > 0) check_image_pixels(path, state.height, state.width, limits);
    throw UserError(to_text("image file '", path, "' is not a readable PNG: ", state.message,
                            "; replace the file with an intact copy"),
                    ATROUS_HERE);
  }
  LabelImage image;
  image.is_colour = decoded.channels == 3;
  if (decoded.bit_depth == 16) {
    image.values = narrow_16_bit(path, decoded, state.height, state.width);
  } else {
    image.values = empty_image(state.height, state.width, decoded.channels);
    std::memcpy(image.values.data_ptr<uint8_t>(), decoded.samples.data(), decoded.samples.size());
  }
  return image;
}

std::array<int64_t, 2> png_size(const std::string& path, const std::vector<unsigned char>& bytes,
                                const ImageLimits& limits) {
  // The IHDR chunk comes first: length (4), "IHDR", then width and height, big-endian.
  if (bytes.size() < 24 || std::memcmp(bytes.data() + 12, "IHDR", 4) != 0)
    throw UserError(to_text("image file '", path,
                            "' is not a readable PNG: it does not start with an IHDR "
                            "chunk; replace the file with an intact copy"),
                    ATROUS_HERE);
  auto be32 = [&](size_t at) {
    return int64_t(bytes[at]) << 24 | int64_t(bytes[at + 1]) << 16 | int64_t(bytes[at + 2]) << 8 |
           bytes[at + 3];
  };
  const std::array<int64_t, 2> size{be32(20), be32(16)};
  check_image_pixels(path, size[0], size[1], limits);
  return size;
}

}  // namespace atrous::data
