// Fuzz target: JPEG and PNG decoding (data/image_io.h, data/jpeg_decoder.h, data/png_decoder.h).
//
// Input: the file's bytes (seeds: small PNGs of every bit depth and colour type, and JPEGs). Only a
// UserError may leave read_image_size, read_rgb_image and read_label_image; a decoded image must have
// the size read_image_size reads from the header, and the shape and type image_io.h promises.
// Decoding runs under a limit of 2^20 pixels, so that the fuzzer does not spend its time filling the
// buffers of headers that claim huge images (the limit itself is checked before any pixel memory is
// allocated, whatever its value); read_image_size runs under the default limit.

#include <ATen/ATen.h>

#include <array>
#include <cstddef>
#include <cstdint>

#include "atrous/data/image_io.h"
#include "fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace atrous::data;
  static atrous::fuzz::InputFile file("");
  const std::string& path = file.write(data, size);
  std::array<int64_t, 2> header{-1, -1};
  atrous::fuzz::expect_only_user_errors("read_image_size", [&] { header = read_image_size(path); });
  ImageLimits limits;
  limits.max_pixels = int64_t(1) << 20;
  atrous::fuzz::expect_only_user_errors("read_rgb_image", [&] {
    const at::Tensor image = read_rgb_image(path, limits);
    const char* what = "read_rgb_image";
    FUZZ_REQUIRE(what, image.scalar_type() == at::kByte && image.is_contiguous());
    FUZZ_REQUIRE(what, image.sizes() == at::IntArrayRef({header[0], header[1], 3}));
  });
  atrous::fuzz::expect_only_user_errors("read_label_image", [&] {
    const LabelImage label = read_label_image(path, limits);
    const char* what = "read_label_image";
    FUZZ_REQUIRE(what, label.values.scalar_type() == at::kByte && label.values.is_contiguous());
    if (label.is_colour)
      FUZZ_REQUIRE(what, label.values.sizes() == at::IntArrayRef({header[0], header[1], 3}));
    else
      FUZZ_REQUIRE(what, label.values.sizes() == at::IntArrayRef({header[0], header[1]}));
  });
  return 0;
}
