#include "atrous/data/image_io.h"

#include <ATen/ATen.h>
#include <jpeglib.h>
#include <png.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <unordered_map>

#include "atrous/core/error.h"

namespace atrous::data {
namespace {

std::vector<unsigned char> read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file)
    throw UserError(to_text("image file '", path, "' does not exist or cannot be read"), ATROUS_HERE);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

bool is_jpeg(const std::vector<unsigned char>& bytes) {
  return bytes.size() > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}
bool is_png(const std::vector<unsigned char>& bytes) {
  return bytes.size() > 8 && png_sig_cmp(bytes.data(), 0, 8) == 0;
}

// --- JPEG: libjpeg reports errors through error_exit, which must not return; we longjmp back.
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void jpeg_error_exit(j_common_ptr info) {
  auto* error = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, error->message);
  std::longjmp(error->jump, 1);
}

// Reads the header and, when `pixels` is given, decodes into it (RGB). Returns false with
// `error.message` set on failure. No C++ object with a destructor lives across the setjmp.
bool decode_jpeg(const std::vector<unsigned char>& bytes, std::vector<unsigned char>* pixels, int& height,
                 int& width, JpegError& error) {
  jpeg_decompress_struct info;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = jpeg_error_exit;
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes.data(), bytes.size());
  jpeg_read_header(&info, TRUE);
  height = static_cast<int>(info.image_height);
  width = static_cast<int>(info.image_width);
  if (pixels != nullptr) {
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    pixels->resize(size_t(height) * width * 3);
    while (info.output_scanline < info.output_height) {
      JSAMPROW row = pixels->data() + size_t(info.output_scanline) * width * 3;
      jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
  }
  jpeg_destroy_decompress(&info);
  return true;
}

// --- PNG: libpng longjmps to png_jmpbuf on errors.
struct PngReadState {
  const std::vector<unsigned char>* bytes;
  size_t offset = 8;
  char message[256] = {};
};

void png_read_bytes(png_structp png, png_bytep out, png_size_t length) {
  auto* state = static_cast<PngReadState*>(png_get_io_ptr(png));
  if (state->offset + length > state->bytes->size()) png_error(png, "the file is truncated");
  std::memcpy(out, state->bytes->data() + state->offset, length);
  state->offset += length;
}

void png_error_handler(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngReadState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  png_longjmp(png, 1);
}

void png_warning_handler(png_structp, png_const_charp) {}

enum class PngMode { rgb, raw };  // rgb: expand everything to RGB; raw: palette indices and grey as is

// Decodes into `pixels`; channels is 1 (raw indices/grey) or 3 (RGB).
bool decode_png(PngMode mode, std::vector<unsigned char>& pixels, int& height, int& width, int& channels,
                PngReadState& state) {
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, &state, png_error_handler, png_warning_handler);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (png == nullptr || info == nullptr) {
    std::snprintf(state.message, sizeof state.message, "libpng could not start");
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  std::vector<png_bytep> rows;
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    return false;
  }
  png_set_read_fn(png, &state, png_read_bytes);
  png_set_sig_bytes(png, 8);
  png_read_info(png, info);
  const int colour_type = png_get_color_type(png, info);
  if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
  if (png_get_bit_depth(png, info) < 8) png_set_packing(png);
  png_set_strip_alpha(png);
  const bool raw =
      mode == PngMode::raw && (colour_type == PNG_COLOR_TYPE_PALETTE || colour_type == PNG_COLOR_TYPE_GRAY);
  if (!raw) {
    if (colour_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (colour_type == PNG_COLOR_TYPE_GRAY || colour_type == PNG_COLOR_TYPE_GRAY_ALPHA)
      png_set_gray_to_rgb(png);
  } else if (colour_type == PNG_COLOR_TYPE_GRAY && png_get_bit_depth(png, info) < 8) {
    png_set_expand_gray_1_2_4_to_8(png);
  }
  png_read_update_info(png, info);
  height = static_cast<int>(png_get_image_height(png, info));
  width = static_cast<int>(png_get_image_width(png, info));
  channels = png_get_channels(png, info);
  if (channels != 1 && channels != 3) png_error(png, "unsupported channel layout");
  pixels.resize(size_t(height) * width * channels);
  rows.resize(height);
  for (int y = 0; y < height; ++y) rows[y] = pixels.data() + size_t(y) * width * channels;
  png_read_image(png, rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return true;
}

at::Tensor to_tensor(const std::vector<unsigned char>& pixels, int height, int width, int channels) {
  at::Tensor tensor =
      channels == 1 ? at::empty({height, width}, at::kByte) : at::empty({height, width, 3}, at::kByte);
  std::memcpy(tensor.data_ptr<uint8_t>(), pixels.data(), pixels.size());
  return tensor;
}

at::Tensor decode(const std::string& path, PngMode mode, bool& is_colour) {
  const std::vector<unsigned char> bytes = read_file(path);
  std::vector<unsigned char> pixels;
  int height = 0, width = 0, channels = 3;
  if (is_jpeg(bytes)) {
    JpegError error;
    if (!decode_jpeg(bytes, &pixels, height, width, error))
      throw UserError(to_text("image file '", path, "' is not a readable JPEG: ", error.message),
                      ATROUS_HERE);
  } else if (is_png(bytes)) {
    PngReadState state;
    state.bytes = &bytes;
    if (!decode_png(mode, pixels, height, width, channels, state))
      throw UserError(to_text("image file '", path, "' is not a readable PNG: ", state.message), ATROUS_HERE);
  } else {
    throw UserError(to_text("file '", path, "' is neither a JPEG nor a PNG image"), ATROUS_HERE);
  }
  if (height == 0 || width == 0) throw UserError(to_text("image file '", path, "' is empty"), ATROUS_HERE);
  is_colour = channels == 3;
  return to_tensor(pixels, height, width, channels);
}

// Encodes rows into `file`; false with state.message set on failure. Nothing that lives across the
// setjmp is modified after it.
bool encode_png(FILE* file, png_bytep* rows, int height, int width, const png_color* colours,
                int colour_count, PngReadState& state) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, png_error_handler, png_warning_handler);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (png == nullptr || info == nullptr) {
    std::snprintf(state.message, sizeof state.message, "libpng could not start");
    png_destroy_write_struct(&png, &info);
    return false;
  }
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_init_io(png, file);
  png_set_IHDR(png, info, width, height, 8, colours ? PNG_COLOR_TYPE_PALETTE : PNG_COLOR_TYPE_RGB,
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (colours) png_set_PLTE(png, info, colours, colour_count);
  png_write_info(png, info);
  png_write_image(png, rows);
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

void write_png(const std::string& path, const at::Tensor& pixels,
               const std::vector<std::array<uint8_t, 3>>* palette) {
  const at::Tensor data = pixels.contiguous();
  const int height = static_cast<int>(data.size(0)), width = static_cast<int>(data.size(1));
  const int channels = data.dim() == 3 ? 3 : 1;
  std::vector<png_color> colours;
  if (palette)
    for (size_t k = 0; k < std::min<size_t>(palette->size(), 256); ++k)
      colours.push_back({(*palette)[k][0], (*palette)[k][1], (*palette)[k][2]});
  std::vector<png_bytep> rows(height);
  auto* base = const_cast<uint8_t*>(data.data_ptr<uint8_t>());
  for (int y = 0; y < height; ++y) rows[y] = base + size_t(y) * width * channels;

  const std::string partial = path + ".partial";
  FILE* file = std::fopen(partial.c_str(), "wb");
  if (file == nullptr)
    throw UserError(
        to_text("cannot write '", partial, "': ", std::strerror(errno), "; check the output folder"),
        ATROUS_HERE);
  PngReadState state;
  const bool encoded = encode_png(file, rows.data(), height, width, palette ? colours.data() : nullptr,
                                  static_cast<int>(colours.size()), state);
  const bool closed = std::fclose(file) == 0;
  if (!encoded || !closed) {
    std::remove(partial.c_str());
    throw UserError(to_text("could not write PNG '", path, "': ", encoded ? "closing failed" : state.message),
                    ATROUS_HERE);
  }
  std::filesystem::rename(partial, path);
}

}  // namespace

at::Tensor read_rgb_image(const std::string& path) {
  bool is_colour = false;
  return decode(path, PngMode::rgb, is_colour);
}

std::array<int64_t, 2> read_image_size(const std::string& path) {
  const std::vector<unsigned char> bytes = read_file(path);
  if (is_png(bytes) && bytes.size() >= 24) {  // the IHDR chunk: width, height, big-endian
    auto be32 = [&](size_t at) {
      return int64_t(bytes[at]) << 24 | int64_t(bytes[at + 1]) << 16 | int64_t(bytes[at + 2]) << 8 |
             bytes[at + 3];
    };
    return {be32(20), be32(16)};
  }
  if (is_jpeg(bytes)) {
    JpegError error;
    int height = 0, width = 0;
    if (decode_jpeg(bytes, nullptr, height, width, error)) return {height, width};
    throw UserError(to_text("image file '", path, "' is not a readable JPEG: ", error.message), ATROUS_HERE);
  }
  throw UserError(to_text("file '", path, "' is neither a JPEG nor a PNG image"), ATROUS_HERE);
}

LabelImage read_label_image(const std::string& path) {
  LabelImage label;
  label.values = decode(path, PngMode::raw, label.is_colour);
  return label;
}

at::Tensor colour_to_index(const at::Tensor& colours, const std::vector<std::array<uint8_t, 3>>& palette,
                           const std::string& path) {
  ATROUS_ASSERT(colours.dim() == 3 && colours.size(2) == 3 && colours.scalar_type() == at::kByte, "colours ",
                colours.sizes());
  std::unordered_map<uint32_t, uint8_t> lookup;
  for (size_t k = 0; k < std::min<size_t>(palette.size(), 256); ++k)
    lookup.emplace(uint32_t(palette[k][0]) << 16 | uint32_t(palette[k][1]) << 8 | palette[k][2], uint8_t(k));
  const at::Tensor source = colours.contiguous();
  const uint8_t* in = source.data_ptr<uint8_t>();
  at::Tensor indices = at::empty({colours.size(0), colours.size(1)}, at::kByte);
  uint8_t* out = indices.data_ptr<uint8_t>();
  uint32_t last_key = 0xFFFFFFFF;
  uint8_t last_index = 0;
  for (int64_t i = 0; i < indices.numel(); ++i) {
    const uint32_t key = uint32_t(in[3 * i]) << 16 | uint32_t(in[3 * i + 1]) << 8 | in[3 * i + 2];
    if (key != last_key) {
      auto found = lookup.find(key);
      if (found == lookup.end())
        throw UserError(
            to_text("label '", path, "': pixel (", i / colours.size(1), ", ", i % colours.size(1),
                    ") has colour (", int(in[3 * i]), ", ", int(in[3 * i + 1]), ", ", int(in[3 * i + 2]),
                    ") which is not in the descriptor's palette; fix the palette or the mask"),
            ATROUS_HERE);
      last_key = key;
      last_index = found->second;
    }
    out[i] = last_index;
  }
  return indices;
}

void write_palette_png(const std::string& path, const at::Tensor& indices,
                       const std::vector<std::array<uint8_t, 3>>& palette) {
  ATROUS_ASSERT(indices.dim() == 2 && indices.scalar_type() == at::kByte && !palette.empty(), "indices ",
                indices.sizes());
  write_png(path, indices, &palette);
}

std::string encode_rgb_png(const at::Tensor& rgb) {
  ATROUS_ASSERT(rgb.dim() == 3 && rgb.size(2) == 3 && rgb.scalar_type() == at::kByte,
                "encode_rgb_png needs [H, W, 3] uint8");
  const at::Tensor data = rgb.contiguous();
  const int height = static_cast<int>(data.size(0)), width = static_cast<int>(data.size(1));
  std::vector<png_bytep> rows(height);
  auto* base = const_cast<uint8_t*>(data.data_ptr<uint8_t>());
  for (int y = 0; y < height; ++y) rows[y] = base + size_t(y) * width * 3;
  char* buffer = nullptr;
  size_t size = 0;
  FILE* memory = open_memstream(&buffer, &size);
  ATROUS_ASSERT(memory != nullptr, "open_memstream: ", std::strerror(errno));
  PngReadState state;
  const bool encoded = encode_png(memory, rows.data(), height, width, nullptr, 0, state);
  std::fclose(memory);
  std::string png(buffer, size);
  std::free(buffer);
  ATROUS_ASSERT(encoded, "PNG encoding in memory failed: ", state.message);
  return png;
}

void write_rgb_png(const std::string& path, const at::Tensor& rgb) {
  ATROUS_ASSERT(rgb.dim() == 3 && rgb.size(2) == 3 && rgb.scalar_type() == at::kByte, "rgb ", rgb.sizes());
  write_png(path, rgb, nullptr);
}

}  // namespace atrous::data
