#include "atrous/data/jpeg_decoder.h"

#include <ATen/ATen.h>
#include <jerror.h>
#include <jpeglib.h>

#include <csetjmp>
#include <cstring>

#include "atrous/core/error.h"

namespace atrous::data {
namespace {

// libjpeg reports errors through error_exit, which must not return; we longjmp back. Corrupt-data
// warnings come through emit_message and are turned into errors the same way.
struct JpegError {
  jpeg_error_mgr manager;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
  int64_t height = 0, width = 0;  // from the header, once read
  bool cmyk = false;              // the header's colour space is CMYK or YCCK (print-ready files)
};

[[noreturn]] void fail(j_common_ptr info) {
  auto* error = reinterpret_cast<JpegError*>(info->err);
  (*info->err->format_message)(info, error->message);
  std::longjmp(error->jump, 1);
}

void on_error_exit(j_common_ptr info) {
  fail(info);
}

// The warnings that leave every pixel as encoded (jpeg_decoder.h).
bool warning_is_benign(const jpeg_error_mgr& manager) {
  switch (manager.msg_code) {
    case JWRN_JFIF_MAJOR:
    case JWRN_ADOBE_XFORM:
    case JWRN_BOGUS_ICC:
      return true;
    case JWRN_EXTRANEOUS_DATA:  // parameters: the number of bytes, the marker that follows them
      return manager.msg_parm.i[1] == JPEG_EOI;
    default:
      return false;
  }
}

// level -1: a warning (corrupt data); 0 and more: trace messages, which are ignored.
void on_message(j_common_ptr info, int level) {
  if (level >= 0) return;
  ++info->err->num_warnings;
  if (!warning_is_benign(*info->err)) fail(info);
}

void print_nothing(j_common_ptr) {}

// Reads the header and, when `pixels` is given and the size is within `limits`, decodes into it
// (RGB). Returns false with `error.message` set on failure, and with it empty for an image over the
// limits. No C++ object with a destructor lives across the setjmp.
bool decode(const std::vector<unsigned char>& bytes, const ImageLimits& limits,
            std::vector<unsigned char>* pixels, JpegError& error) {
  jpeg_decompress_struct info;
  info.err = jpeg_std_error(&error.manager);
  error.manager.error_exit = on_error_exit;
  error.manager.emit_message = on_message;
  error.manager.output_message = print_nothing;
  if (setjmp(error.jump)) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  jpeg_create_decompress(&info);
  jpeg_mem_src(&info, bytes.data(), bytes.size());
  jpeg_read_header(&info, TRUE);
  error.height = info.image_height;
  error.width = info.image_width;
  error.cmyk = info.jpeg_color_space == JCS_CMYK || info.jpeg_color_space == JCS_YCCK;
  if (!limits.allows(error.height, error.width) || (pixels != nullptr && error.cmyk)) {
    jpeg_destroy_decompress(&info);
    return false;
  }
  if (pixels != nullptr) {
    info.out_color_space = JCS_RGB;
    jpeg_start_decompress(&info);
    const size_t row_bytes = size_t(info.output_width) * 3;
    pixels->resize(size_t(info.output_height) * row_bytes);
    while (info.output_scanline < info.output_height) {
      JSAMPROW row = pixels->data() + size_t(info.output_scanline) * row_bytes;
      jpeg_read_scanlines(&info, &row, 1);
    }
    jpeg_finish_decompress(&info);
  }
  jpeg_destroy_decompress(&info);
  return true;
}

void decode_or_throw(const std::string& path, const std::vector<unsigned char>& bytes,
                     const ImageLimits& limits, std::vector<unsigned char>* pixels, JpegError& error) {
  error.message[0] = '\0';
  if (decode(bytes, limits, pixels, error)) return;
  check_image_pixels(path, error.height, error.width, limits);
  if (error.cmyk)
    throw UserError(to_text("image file '", path,
                            "' is a CMYK JPEG (a print colour space); convert it to RGB, e.g. with "
                            "ImageMagick's `convert IN -colorspace sRGB OUT.jpg`"),
                    ATROUS_HERE);
  throw UserError(to_text("image file '", path, "' is not a readable JPEG: ", error.message,
                          "; replace the file with an intact copy"),
                  ATROUS_HERE);
}

}  // namespace

bool is_jpeg(const std::vector<unsigned char>& bytes) {
  return bytes.size() > 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
}

at::Tensor decode_jpeg(const std::string& path, const std::vector<unsigned char>& bytes,
                       const ImageLimits& limits) {
  JpegError error;
  std::vector<unsigned char> pixels;
  decode_or_throw(path, bytes, limits, &pixels, error);
  at::Tensor image = at::empty({error.height, error.width, 3}, at::kByte);
  ATROUS_ASSERT(size_t(image.numel()) == pixels.size(), "JPEG '", path, "' decoded to ", pixels.size(),
                " bytes for ", error.height, " x ", error.width);
  std::memcpy(image.data_ptr<uint8_t>(), pixels.data(), pixels.size());
  return image;
}

std::array<int64_t, 2> jpeg_size(const std::string& path, const std::vector<unsigned char>& bytes,
                                 const ImageLimits& limits) {
  JpegError error;
  decode_or_throw(path, bytes, limits, nullptr, error);
  return {error.height, error.width};
}

}  // namespace atrous::data
