// Decoding of source images and labels (data/image_io.h): every PNG bit depth and colour type that
// PIL writes, decoded exactly for labels and scaled for photos; damaged files refused (truncated
// JPEGs, CRC and IDAT damage in PNGs) while metadata warnings are not; the pixel limit applied from
// the header. Fixtures are written here with libpng and libjpeg, and damaged byte by byte.
#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/data/dataset_descriptor.h"
#include "atrous/data/image_io.h"
#include "scratch_files.h"
#include "user_error_message.h"

namespace atrous::data {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<unsigned char>;

// A PNG to write: samples row-major, `channels` per pixel (alpha included), at `bit_depth`.
struct PngSpec {
  int colour_type = PNG_COLOR_TYPE_GRAY;
  int bit_depth = 8;
  int height = 5, width = 7;  // an odd width leaves padding bits in packed rows
  std::vector<unsigned> samples;
  std::vector<png_color> palette;
  bool interlaced = false;
};

int channels_of(int colour_type) {
  switch (colour_type) {
    case PNG_COLOR_TYPE_GRAY_ALPHA:
      return 2;
    case PNG_COLOR_TYPE_RGB:
      return 3;
    case PNG_COLOR_TYPE_RGB_ALPHA:
      return 4;
    default:
      return 1;
  }
}

// The rows as PNG stores them: samples of less than 8 bits packed from the high bit, 16-bit big-endian.
Bytes packed_rows(const PngSpec& spec) {
  const int per_row = spec.width * channels_of(spec.colour_type);
  const size_t row_bytes = (size_t(per_row) * spec.bit_depth + 7) / 8;
  Bytes rows(row_bytes * spec.height, 0);
  for (int y = 0; y < spec.height; ++y) {
    unsigned char* row = rows.data() + y * row_bytes;
    for (int i = 0; i < per_row; ++i) {
      const unsigned value = spec.samples.at(size_t(y) * per_row + i);
      if (spec.bit_depth == 16) {
        row[2 * i] = value >> 8;
        row[2 * i + 1] = value & 0xFF;
      } else if (spec.bit_depth == 8) {
        row[i] = value;
      } else {
        const int bit = i * spec.bit_depth;
        row[bit / 8] |= value << (8 - spec.bit_depth - bit % 8);
      }
    }
  }
  return rows;
}

void append_bytes(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<Bytes*>(png_get_io_ptr(png));
  out->insert(out->end(), data, data + length);
}
void flush_nothing(png_structp) {}
void fail_writing(png_structp png, png_const_charp message) {
  ADD_FAILURE() << "libpng: " << message;
  png_longjmp(png, 1);
}
void ignore_warning(png_structp, png_const_charp) {}

// Nothing with a destructor is created after the setjmp.
bool encode(const PngSpec& spec, std::vector<png_bytep>& rows, Bytes& out) {
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, fail_writing, ignore_warning);
  png_infop info = png_create_info_struct(png);
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_write_struct(&png, &info);
    return false;
  }
  png_set_write_fn(png, &out, append_bytes, flush_nothing);
  png_set_IHDR(png, info, spec.width, spec.height, spec.bit_depth, spec.colour_type,
               spec.interlaced ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
               PNG_FILTER_TYPE_DEFAULT);
  if (!spec.palette.empty()) png_set_PLTE(png, info, spec.palette.data(), int(spec.palette.size()));
  png_set_check_for_invalid_index(png, 0);  // indices beyond a short palette, as PIL writes them
  png_write_info(png, info);
  png_write_image(png, rows.data());
  png_write_end(png, nullptr);
  png_destroy_write_struct(&png, &info);
  return true;
}

Bytes encode_png(const PngSpec& spec) {
  Bytes packed = packed_rows(spec), out;
  std::vector<png_bytep> rows(spec.height);
  for (int y = 0; y < spec.height; ++y) rows[y] = packed.data() + y * (packed.size() / spec.height);
  EXPECT_TRUE(encode(spec, rows, out));
  return out;
}

// --- Chunks: length, type, data, CRC-32 of type and data.
uint32_t read_be32(const Bytes& bytes, size_t at) {
  return uint32_t(bytes[at]) << 24 | uint32_t(bytes[at + 1]) << 16 | uint32_t(bytes[at + 2]) << 8 |
         bytes[at + 3];
}
void write_be32(Bytes& bytes, size_t at, uint32_t value) {
  for (int k = 0; k < 4; ++k) bytes[at + k] = (value >> (24 - 8 * k)) & 0xFF;
}
size_t find_chunk(const Bytes& png, const char* type) {
  for (size_t at = 8; at + 8 <= png.size(); at += 12 + read_be32(png, at))
    if (std::memcmp(png.data() + at + 4, type, 4) == 0) return at;
  ADD_FAILURE() << "no " << type << " chunk";
  return 0;
}
void fix_crc(Bytes& png, size_t chunk) {
  const uint32_t length = read_be32(png, chunk);
  write_be32(png, chunk + 8 + length, crc32(0, png.data() + chunk + 4, 4 + length));
}
// `png` with a chunk of `type` and `data` inserted after IHDR.
Bytes with_chunk(Bytes png, const char* type, const std::string& data) {
  Bytes chunk(12 + data.size());
  write_be32(chunk, 0, uint32_t(data.size()));
  std::memcpy(chunk.data() + 4, type, 4);
  std::memcpy(chunk.data() + 8, data.data(), data.size());
  png.insert(png.begin() + 33, chunk.begin(), chunk.end());
  fix_crc(png, 33);
  return png;
}

// --- JPEG: an RGB image encoded by libjpeg in memory.
Bytes encode_jpeg(const at::Tensor& rgb) {
  jpeg_compress_struct info;
  jpeg_error_mgr errors;
  info.err = jpeg_std_error(&errors);
  jpeg_create_compress(&info);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&info, &buffer, &size);
  info.image_height = rgb.size(0);
  info.image_width = rgb.size(1);
  info.input_components = 3;
  info.in_color_space = JCS_RGB;
  jpeg_set_defaults(&info);
  jpeg_set_quality(&info, 90, TRUE);
  jpeg_start_compress(&info, TRUE);
  const at::Tensor pixels = rgb.contiguous();
  while (info.next_scanline < info.image_height) {
    JSAMPROW row = pixels.data_ptr<uint8_t>() + size_t(info.next_scanline) * info.image_width * 3;
    jpeg_write_scanlines(&info, &row, 1);
  }
  jpeg_finish_compress(&info);
  jpeg_destroy_compress(&info);
  Bytes jpeg(buffer, buffer + size);
  std::free(buffer);
  return jpeg;
}

// A smooth image with some texture, so that the entropy-coded data is spread over the file.
at::Tensor photo(int64_t height, int64_t width) {
  const at::Tensor y = at::arange(height, at::kFloat).view({height, 1, 1});
  const at::Tensor x = at::arange(width, at::kFloat).view({1, width, 1});
  const at::Tensor channel = at::arange(3, at::kFloat).view({1, 1, 3});
  return (128 + 100 * at::sin(y * 0.2 + x * 0.13 + channel)).round().to(at::kByte);
}

class ImageIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder =
        fs::path(::testing::TempDir()) /
        ("atrous_image_io_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    test_support::remove_tree(folder.string());
    fs::create_directories(folder);
  }
  void TearDown() override { test_support::remove_tree(folder.string()); }

  std::string write(const std::string& name, const Bytes& bytes) {
    const std::string path = (folder / name).string();
    std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()), bytes.size());
    return path;
  }
  std::string write_png(const std::string& name, const PngSpec& spec) {
    return write(name, encode_png(spec));
  }

  fs::path folder;
};

using test_support::refusal;

// Samples 0, 1, 2, ... wrapped at `modulus`, as a [height, width(, channels)] tensor.
at::Tensor ramp(const PngSpec& spec, unsigned modulus) {
  std::vector<uint8_t> values;
  for (size_t i = 0; i < size_t(spec.height) * spec.width; ++i) values.push_back(uint8_t(i % modulus));
  return at::tensor(values, at::kByte).view({spec.height, spec.width});
}
std::vector<unsigned> samples_of(const at::Tensor& values) {
  const at::Tensor flat = values.contiguous().view(-1).to(at::kInt);
  return std::vector<unsigned>(flat.data_ptr<int>(), flat.data_ptr<int>() + flat.numel());
}

TEST_F(ImageIoTest, GreyLabelsOfEveryBitDepthGiveTheirRawValues) {
  for (const int depth : {1, 2, 4, 8, 16}) {
    PngSpec spec;
    spec.bit_depth = depth;
    const at::Tensor values = ramp(spec, depth == 16 ? 256 : 1u << depth);
    spec.samples = samples_of(values);
    const LabelImage label = read_label_image(write_png("grey.png", spec));
    EXPECT_FALSE(label.is_colour) << depth;
    EXPECT_TRUE(at::equal(label.values, values)) << depth << " bits:\n" << label.values;
  }
}

TEST_F(ImageIoTest, GreyLabelsWithAlphaGiveTheGreyValues) {
  for (const int depth : {8, 16}) {
    PngSpec spec;
    spec.colour_type = PNG_COLOR_TYPE_GRAY_ALPHA;
    spec.bit_depth = depth;
    const at::Tensor values = ramp(spec, 21);
    const at::Tensor alpha = at::full_like(values, depth == 8 ? 200 : 60000, at::kInt);
    spec.samples = samples_of(at::stack({values.to(at::kInt), alpha}, 2));
    const LabelImage label = read_label_image(write_png("grey_alpha.png", spec));
    EXPECT_FALSE(label.is_colour) << depth;
    EXPECT_TRUE(at::equal(label.values, values)) << depth << " bits:\n" << label.values;
  }
}

TEST_F(ImageIoTest, SixteenBitGreyLabelOver255IsRefusedByPixelAndValue) {
  PngSpec spec;
  spec.bit_depth = 16;
  spec.samples.assign(35, 3);
  spec.samples[2 * 7 + 3] = 300;
  const std::string path = write_png("wide.png", spec);
  const std::string message = refusal([&] { read_label_image(path); });
  EXPECT_NE(
      message.find("label '" + path + "' is a 16-bit grey PNG with value 300 at pixel (row 2, column 3)"),
      std::string::npos)
      << message;
  EXPECT_NE(message.find("must fit in 8 bits"), std::string::npos) << message;
}

TEST_F(ImageIoTest, PaletteLabelsOfEveryBitDepthGiveTheirIndices) {
  const std::vector<std::array<uint8_t, 3>> voc = voc_palette();
  for (const int depth : {1, 2, 4, 8}) {
    PngSpec spec;
    spec.colour_type = PNG_COLOR_TYPE_PALETTE;
    spec.bit_depth = depth;
    // 8 bits: 21 colours and the ignore label 255 beyond them, as PIL writes a short VOC palette.
    const unsigned colours = depth == 8 ? 21 : 1u << depth;
    for (unsigned k = 0; k < colours; ++k) spec.palette.push_back({voc[k][0], voc[k][1], voc[k][2]});
    at::Tensor values = ramp(spec, colours);
    if (depth == 8) values[4][6] = 255;
    spec.samples = samples_of(values);
    const std::string path = write_png("palette.png", spec);
    const LabelImage label = read_label_image(path);
    EXPECT_FALSE(label.is_colour) << depth;
    EXPECT_TRUE(at::equal(label.values, values)) << depth << " bits:\n" << label.values;
    const at::Tensor rgb = read_rgb_image(path);
    EXPECT_EQ(rgb[1][3][0].item<int>(), voc[values[1][3].item<int>()][0]) << depth;
    EXPECT_EQ(rgb[1][3][1].item<int>(), voc[values[1][3].item<int>()][1]) << depth;
  }
}

TEST_F(ImageIoTest, ColourLabelsGiveTheirColoursExactly) {
  at::manual_seed(3);
  const at::Tensor colours = at::randint(0, 256, {5, 7, 3}, at::kByte);
  for (const int colour_type : {PNG_COLOR_TYPE_RGB, PNG_COLOR_TYPE_RGB_ALPHA}) {
    for (const int depth : {8, 16}) {
      PngSpec spec;
      spec.colour_type = colour_type;
      spec.bit_depth = depth;
      at::Tensor samples = colours.to(at::kInt) * (depth == 16 ? 257 : 1);
      if (colour_type == PNG_COLOR_TYPE_RGB_ALPHA)
        samples = at::cat({samples, at::full({5, 7, 1}, depth == 16 ? 65535 : 255, at::kInt)}, 2);
      spec.samples = samples_of(samples);
      const LabelImage label = read_label_image(write_png("colours.png", spec));
      EXPECT_TRUE(label.is_colour);
      EXPECT_TRUE(at::equal(label.values, colours)) << colour_type << ", " << depth << " bits";
    }
  }
}

TEST_F(ImageIoTest, SixteenBitColourLabelThatIsNotExactIn8BitsIsRefused) {
  PngSpec spec;
  spec.colour_type = PNG_COLOR_TYPE_RGB;
  spec.bit_depth = 16;
  spec.samples.assign(5 * 7 * 3, 128 * 257);
  spec.samples[(1 * 7 + 4) * 3 + 2] = 1000;
  const std::string path = write_png("colours16.png", spec);
  const std::string message = refusal([&] { read_label_image(path); });
  EXPECT_NE(message.find("label '" + path +
                         "' is a 16-bit colour PNG whose pixel (row 1, column 4) has the value 1000 in "
                         "channel 2"),
            std::string::npos)
      << message;
}

TEST_F(ImageIoTest, LowBitDepthGreyPhotosAreScaledTo255) {
  for (const int depth : {1, 2, 4, 8, 16}) {
    PngSpec spec;
    spec.bit_depth = depth;
    const unsigned top = depth == 16 ? 65535 : (1u << depth) - 1;
    const at::Tensor values = ramp(spec, depth >= 8 ? 256 : top + 1).to(at::kInt);
    spec.samples = samples_of(depth == 16 ? values * 257 : values);
    const at::Tensor expected = (depth >= 8 ? values : values * int(255 / top)).to(at::kByte);
    const at::Tensor rgb = read_rgb_image(write_png("grey.png", spec));
    ASSERT_EQ(rgb.sizes(), (at::IntArrayRef{5, 7, 3})) << depth;
    for (int c = 0; c < 3; ++c)
      EXPECT_TRUE(at::equal(rgb.select(2, c), expected)) << depth << " bits:\n" << rgb.select(2, c);
  }
}

TEST_F(ImageIoTest, InterlacedPngsDecode) {
  PngSpec grey;
  grey.bit_depth = 4;
  grey.height = 11;
  grey.width = 13;
  grey.interlaced = true;
  const at::Tensor values = ramp(grey, 16);
  grey.samples = samples_of(values);
  EXPECT_TRUE(at::equal(read_label_image(write_png("grey.png", grey)).values, values));

  PngSpec rgb = grey;
  rgb.colour_type = PNG_COLOR_TYPE_RGB;
  rgb.bit_depth = 8;
  const at::Tensor colours = photo(11, 13);
  rgb.samples = samples_of(colours);
  EXPECT_TRUE(at::equal(read_rgb_image(write_png("rgb.png", rgb)), colours));
}

TEST_F(ImageIoTest, PngWithACrcErrorInAnyChunkIsRefused) {
  PngSpec spec;
  spec.samples = samples_of(ramp(spec, 21));
  Bytes png = with_chunk(encode_png(spec), "tEXt", std::string("Comment\0made by a test", 22));
  png[33 + 8 + 2] ^= 0x01;  // in the comment's keyword; the CRC no longer matches
  const std::string path = write("crc.png", png);
  for (const std::string& message :
       {refusal([&] { read_label_image(path); }), refusal([&] { read_rgb_image(path); })}) {
    EXPECT_NE(message.find("image file '" + path + "' is not a readable PNG: tEXt: CRC error"),
              std::string::npos)
        << message;
  }
}

TEST_F(ImageIoTest, PngWithDataAfterTheImageStreamIsRefused) {
  PngSpec spec;
  spec.samples = samples_of(ramp(spec, 21));
  Bytes png = encode_png(spec);
  const size_t idat = find_chunk(png, "IDAT");
  const uint32_t length = read_be32(png, idat);
  png.insert(png.begin() + idat + 8 + length, {0, 0, 0, 0});  // after the deflate stream's end
  write_be32(png, idat, length + 4);
  fix_crc(png, idat);
  const std::string path = write("extra.png", png);
  const std::string message = refusal([&] { read_label_image(path); });
  EXPECT_NE(message.find("image file '" + path + "' is not a readable PNG: IDAT: Extra compressed data"),
            std::string::npos)
      << message;
}

TEST_F(ImageIoTest, PngWithBadColourMetadataDecodes) {
  PngSpec spec;
  const at::Tensor values = ramp(spec, 21);
  spec.samples = samples_of(values);
  const Bytes png = encode_png(spec);
  // libpng warns "gAMA: gamma value out of range" and "iCCP: too short"; neither touches a pixel.
  const Bytes bad_gamma = with_chunk(png, "gAMA", std::string(4, '\0'));
  const Bytes zeros(200, 0);
  Bytes compressed(256);
  uLongf compressed_size = compressed.size();
  ASSERT_EQ(compress(compressed.data(), &compressed_size, zeros.data(), zeros.size()), Z_OK);
  const std::string profile = std::string("ICC Profile\0\0", 13) +
                              std::string(compressed.begin(), compressed.begin() + compressed_size);
  const Bytes bad_profile = with_chunk(png, "iCCP", profile);
  for (const Bytes& file : {bad_gamma, bad_profile}) {
    const std::string path = write("metadata.png", file);
    EXPECT_TRUE(at::equal(read_label_image(path).values, values));
    EXPECT_TRUE(at::equal(read_rgb_image(path).select(2, 0), values));
  }
}

TEST_F(ImageIoTest, TruncatedJpegIsRefusedWithLibjpegsMessage) {
  const at::Tensor source = photo(48, 64);
  const Bytes jpeg = encode_jpeg(source);
  const at::Tensor decoded = read_rgb_image(write("whole.jpg", jpeg));
  ASSERT_EQ(decoded.sizes(), source.sizes());
  EXPECT_LE((decoded.to(at::kInt) - source.to(at::kInt)).abs().max().item<int>(), 24);

  const std::string path = write("cut.jpg", Bytes(jpeg.begin(), jpeg.begin() + jpeg.size() * 6 / 10));
  EXPECT_EQ(read_image_size(path),
            (std::array<int64_t, 2>{48, 64}));  // the header is whole; the cut is in the scan
  for (const std::string& message :
       {refusal([&] { read_rgb_image(path); }), refusal([&] { read_label_image(path); })}) {
    EXPECT_NE(message.find("image file '" + path + "' is not a readable JPEG: Premature end of JPEG file"),
              std::string::npos)
        << message;
  }
}

TEST_F(ImageIoTest, JpegWithBytesBeforeItsEndMarkerDecodes) {
  Bytes jpeg = encode_jpeg(photo(16, 24));
  const at::Tensor clean = read_rgb_image(write("clean.jpg", jpeg));
  ASSERT_EQ(jpeg[jpeg.size() - 2], 0xFF);
  ASSERT_EQ(jpeg[jpeg.size() - 1], 0xD9);
  jpeg.insert(jpeg.end() - 2, {0x00, 0x00});  // "2 extraneous bytes before marker 0xd9": harmless
  EXPECT_TRUE(at::equal(read_rgb_image(write("padded.jpg", jpeg)), clean));
}

// The JPEG's frame header (SOF0) given another size: height and width follow the marker, its
// length and the sample precision.
void set_jpeg_size(Bytes& jpeg, uint16_t height, uint16_t width) {
  for (size_t at = 2; at + 9 < jpeg.size(); at += 2 + (jpeg[at + 2] << 8 | jpeg[at + 3])) {
    ASSERT_EQ(jpeg[at], 0xFF);
    if (jpeg[at + 1] != 0xC0) continue;
    jpeg[at + 5] = height >> 8, jpeg[at + 6] = height & 0xFF;
    jpeg[at + 7] = width >> 8, jpeg[at + 8] = width & 0xFF;
    return;
  }
  FAIL() << "no SOF0 marker";
}

TEST_F(ImageIoTest, PixelLimitIsAppliedFromTheHeader) {
  PngSpec spec;
  spec.colour_type = PNG_COLOR_TYPE_RGB;
  spec.height = 30;
  spec.width = 40;
  spec.samples = samples_of(photo(30, 40));
  const std::string path = write_png("photo.png", spec);
  const ImageLimits exact{1200, "pack.max_pixels"}, below{1199, "pack.max_pixels"}, none{0, ""};
  EXPECT_EQ(read_rgb_image(path, exact).size(0), 30);
  EXPECT_EQ(read_label_image(path, none).values.size(1), 40);
  EXPECT_EQ(read_image_size(path, exact), (std::array<int64_t, 2>{30, 40}));
  // Sizes at a PNG header's 32-bit maximum: their product is past int64, and still over the limit.
  EXPECT_FALSE(below.allows(0xFFFFFFFF, 0xFFFFFFFF));
  EXPECT_TRUE(none.allows(0xFFFFFFFF, 0xFFFFFFFF));
  for (const std::string& message :
       {refusal([&] { read_rgb_image(path, below); }), refusal([&] { read_label_image(path, below); }),
        refusal([&] { read_image_size(path, below); })}) {
    EXPECT_NE(message.find("image file '" + path + "' is 30 x 40 = 1200 pixels, more than the limit of 1199"),
              std::string::npos)
        << message;
    EXPECT_NE(message.find("raise pack.max_pixels (0: no limit)"), std::string::npos) << message;
  }
}

TEST_F(ImageIoTest, DecompressionBombsAreRefusedBeforeDecoding) {
  // Headers of 20000 x 20000 over the data of 8 x 8 images: decoding would need gigabytes, then fail.
  PngSpec spec;
  spec.bit_depth = 1;
  spec.height = spec.width = 8;
  spec.samples.assign(64, 0);
  Bytes png = encode_png(spec);
  write_be32(png, 16, 20000);
  write_be32(png, 20, 20000);
  fix_crc(png, 8);
  Bytes jpeg = encode_jpeg(photo(8, 8));
  set_jpeg_size(jpeg, 20000, 20000);
  for (const std::string& path : {write("bomb.png", png), write("bomb.jpg", jpeg)}) {
    for (const std::string& message :
         {refusal([&] { read_rgb_image(path); }), refusal([&] { read_label_image(path); }),
          refusal([&] { read_image_size(path); })}) {
      EXPECT_NE(message.find("image file '" + path +
                             "' is 20000 x 20000 = 400000000 pixels, more than the limit "
                             "of 178956970"),
                std::string::npos)
          << message;
      EXPECT_NE(message.find("downscale the image"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace atrous::data
