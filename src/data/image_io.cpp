#include "atrous/data/image_io.h"

#include <ATen/ATen.h>
#include <fcntl.h>
#include <png.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
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
#include "atrous/core/output_file.h"
#include "atrous/data/jpeg_decoder.h"
#include "atrous/data/png_decoder.h"

namespace atrous::data {
namespace {

// Images come from regular files only: a device (/dev/zero) would be read forever and a FIFO would
// block, so the file is opened without waiting for a FIFO's writer (O_NONBLOCK) and refused by what
// fstat says it is before a byte is read.
std::vector<unsigned char> read_file(const std::string& path) {
  struct OpenFile {
    int fd;
    ~OpenFile() {
      if (fd >= 0) ::close(fd);
    }
  } const file{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  const int fd = file.fd;
  if (fd < 0)
    throw UserError(to_text("image file '", path, "' does not exist or cannot be read"), ATROUS_HERE);
  struct stat info {};
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode))
    throw UserError(to_text("image file '", path,
                            "' is not a regular file (a device, FIFO, socket or folder); give an image file"),
                    ATROUS_HERE);
  std::vector<unsigned char> bytes(static_cast<size_t>(info.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t got = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0)
      throw UserError(to_text("cannot read image file '", path, "': ", std::strerror(errno)), ATROUS_HERE);
    if (got == 0) break;  // the file shrank while being read: decoding names what is missing
    done += static_cast<size_t>(got);
  }
  bytes.resize(done);
  return bytes;
}

UserError not_an_image(const std::string& path) {
  return UserError(to_text("file '", path, "' is neither a JPEG nor a PNG image"), ATROUS_HERE);
}

// --- PNG writing: libpng longjmps to png_jmpbuf on errors; its warnings are of no use here.
struct PngWriteState {
  char message[256] = {};
};

void png_write_error(png_structp png, png_const_charp message) {
  auto* state = static_cast<PngWriteState*>(png_get_error_ptr(png));
  std::snprintf(state->message, sizeof state->message, "%s", message);
  png_longjmp(png, 1);
}

void png_write_warning(png_structp, png_const_charp) {}

// Encodes rows into `file`; false with state.message set on failure. Nothing that lives across the
// setjmp is modified after it.
bool encode_png(FILE* file, png_bytep* rows, int height, int width, const png_color* colours,
                int colour_count, PngWriteState& state) {
  png_structp png =
      png_create_write_struct(PNG_LIBPNG_VER_STRING, &state, png_write_error, png_write_warning);
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

  OutputFile output(path);
  FILE* file = ::fdopen(::dup(output.descriptor()), "wb");
  if (file == nullptr)
    throw UserError(to_text("cannot write '", path, "': ", std::strerror(errno), "; check the output folder"),
                    ATROUS_HERE);
  PngWriteState state;
  const bool encoded = encode_png(file, rows.data(), height, width, palette ? colours.data() : nullptr,
                                  static_cast<int>(colours.size()), state);
  const int close_error = std::fclose(file) == 0 ? 0 : errno;
  if (!encoded || close_error != 0)
    throw UserError(to_text("could not write PNG '", path,
                            "': ", encoded ? std::string(std::strerror(close_error)) : state.message,
                            "; nothing was written there. Check the space left in its folder"),
                    ATROUS_HERE);
  output.commit();
}

}  // namespace

void check_image_pixels(const std::string& path, int64_t height, int64_t width, const ImageLimits& limits) {
  constexpr int64_t largest_side = (int64_t(1) << 31) - 1;  // PNG's bound, beyond JPEG's 65535
  if (height < 1 || width < 1 || height > largest_side || width > largest_side)
    throw UserError(to_text("image file '", path, "' declares a size of ", height, " x ", width,
                            " pixels, which no image has (each side is 1 to 2^31 - 1); the file is damaged: "
                            "replace it with an intact copy"),
                    ATROUS_HERE);
  if (limits.allows(height, width)) return;
  throw UserError(
      to_text("image file '", path, "' is ", height, " x ", width, " = ", uint64_t(height) * uint64_t(width),
              " pixels, more than the limit of ", limits.max_pixels,
              " (a guard against decompression bombs: a small file that takes gigabytes to "
              "decode); ",
              limits.option.empty() ? std::string("downscale the image")
                                    : "raise " + limits.option + " (0: no limit) if the image is genuine"),
      ATROUS_HERE);
}

at::Tensor read_rgb_image(const std::string& path, const ImageLimits& limits) {
  const std::vector<unsigned char> bytes = read_file(path);
  if (is_jpeg(bytes)) return decode_jpeg(path, bytes, limits);
  if (is_png(bytes)) return decode_png(path, bytes, PngMode::rgb, limits).values;
  throw not_an_image(path);
}

std::array<int64_t, 2> read_image_size(const std::string& path, const ImageLimits& limits) {
  const std::vector<unsigned char> bytes = read_file(path);
  if (is_jpeg(bytes)) return jpeg_size(path, bytes, limits);
  if (is_png(bytes)) return png_size(path, bytes, limits);
  throw not_an_image(path);
}

LabelImage read_label_image(const std::string& path, const ImageLimits& limits) {
  const std::vector<unsigned char> bytes = read_file(path);
  if (is_jpeg(bytes)) return {decode_jpeg(path, bytes, limits), true};
  if (is_png(bytes)) return decode_png(path, bytes, PngMode::label, limits);
  throw not_an_image(path);
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
  PngWriteState state;
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
