#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <tuple>

#include "atrous/core/error.h"
#include "atrous/data/dataset_descriptor.h"
#include "atrous/data/hdf5_attributes.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/data/image_io.h"
#include "atrous/data/pack_builder.h"
#include "atrous/data/pack_reader.h"
#include "atrous/data/pack_writer.h"
#include "scratch_files.h"

namespace atrous::data {
namespace {

namespace fs = std::filesystem;

class PackTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = fs::path(::testing::TempDir()) /
             ("atrous_pack_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    test_support::remove_tree(folder.string());
    fs::create_directories(folder);
    metadata.height = 5;
    metadata.width = 7;
    metadata.num_classes = 3;
    metadata.class_names = {"background", "circle", "ünïcode"};
    metadata.palette = {{0, 0, 0}, {128, 0, 0}, {0, 128, 0}};
    metadata.mean_rgb = {123.5f, 116.25f, 103.0f};
    metadata.resize_policy = "padded to the largest image";
    metadata.source_format = "voc";
    metadata.split = "val";
  }
  void TearDown() override { test_support::remove_tree(folder.string()); }

  std::string write_pack(const std::string& name, int samples, int compress = 0, bool checksums = true) {
    const std::string path = (folder / name).string();
    PackWriter writer(path, metadata, compress, checksums);
    for (int i = 0; i < samples; ++i) {
      at::manual_seed(i);
      at::Tensor image = at::randint(0, 256, {5, 7, 3}, at::kLong).to(at::kByte);
      at::Tensor label = at::randint(0, 3, {5, 7}, at::kLong).to(at::kByte);
      writer.append("sample_" + std::to_string(i), image, label, {5 - i % 2, 7}, {50 + i, 70});
    }
    writer.commit();
    return path;
  }

  std::string error_opening(const std::string& path) {
    try {
      PackReader reader(path);
    } catch (const UserError& error) {
      return error.message();
    }
    return "";
  }

  fs::path folder;
  PackMetadata metadata;
};

// Flips `count` bytes in the middle of sample `index`'s stored chunk of /images.
void corrupt_image_chunk(const std::string& path, int index, int count) {
  haddr_t address = 0;
  hsize_t size = 0;
  {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)));
    Hdf5Handle images(ATROUS_HDF5_CHECK(H5Dopen2(file.get(), "images", H5P_DEFAULT)));
    const hsize_t at[4] = {hsize_t(index), 0, 0, 0};
    unsigned filters = 0;
    ATROUS_HDF5_CHECK(H5Dget_chunk_info_by_coord(images.get(), at, &filters, &address, &size));
  }
  ASSERT_GT(size, hsize_t(count) + 8);
  std::fstream file(path, std::ios::in | std::ios::out | std::ios::binary);
  for (int i = 0; i < count; ++i) {
    file.seekg(std::streamoff(address + size / 2 - count / 2 + i));
    const char byte = char(file.get() ^ 0x5a);
    file.seekp(std::streamoff(address + size / 2 - count / 2 + i));
    file.put(byte);
  }
}

TEST_F(PackTest, AChangedSampleIsRefusedByItsChecksumAndNamed) {
  const std::string path = write_pack("checked.h5", 4);
  corrupt_image_chunk(path, 2, 16);
  PackReader reader(path);
  for (int index : {0, 1, 3}) EXPECT_NO_THROW(reader.read(index));
  try {
    reader.read(2);
    FAIL() << "a corrupted sample was read";
  } catch (const UserError& error) {
    const std::string message = error.message();
    EXPECT_NE(message.find("'" + path + "': sample 2 is corrupted"), std::string::npos) << message;
    EXPECT_NE(message.find("checksum"), std::string::npos) << message;
  }
}

TEST_F(PackTest, WithoutChecksumsTheSameChangeGoesUnnoticed) {
  const std::string path = write_pack("unchecked.h5", 4, 0, /*checksums=*/false);
  const at::Tensor before = PackReader(path).read(2).image.clone();
  corrupt_image_chunk(path, 2, 16);
  EXPECT_FALSE(PackReader(path).read(2).image.equal(before)) << "the bytes changed, silently";
}

TEST_F(PackTest, RoundTripKeepsEverySampleAndTheMetadata) {
  for (int compress : {0, 6}) {
    const std::string path = write_pack("round_trip_" + std::to_string(compress) + ".h5", 3, compress);
    PackReader reader(path);
    EXPECT_EQ(reader.size(), 3);
    const PackMetadata& read = reader.metadata();
    EXPECT_EQ(read.height, 5);
    EXPECT_EQ(read.width, 7);
    EXPECT_EQ(read.num_classes, 3);
    EXPECT_EQ(read.class_names, metadata.class_names);
    EXPECT_EQ(read.palette, metadata.palette);
    EXPECT_EQ(read.mean_rgb, metadata.mean_rgb);
    EXPECT_EQ(read.resize_policy, metadata.resize_policy);
    EXPECT_EQ(read.split, "val");
    for (int i = 0; i < 3; ++i) {
      at::manual_seed(i);
      at::Tensor image = at::randint(0, 256, {5, 7, 3}, at::kLong).to(at::kByte);
      at::Tensor label = at::randint(0, 3, {5, 7}, at::kLong).to(at::kByte);
      PackRecord record = reader.read(i);
      EXPECT_TRUE(record.image.equal(image)) << i;
      EXPECT_TRUE(record.label.equal(label)) << i;
      EXPECT_EQ(record.valid_hw, (std::array<int32_t, 2>{5 - i % 2, 7}));
      EXPECT_EQ(record.source_hw, (std::array<int32_t, 2>{50 + i, 70}));
      EXPECT_EQ(record.name, "sample_" + std::to_string(i));
    }
  }
}

TEST_F(PackTest, AnInterruptedPackLeavesNoFileBehind) {
  const std::string path = (folder / "interrupted.h5").string();
  std::string partial;
  {
    PackWriter writer(path, metadata, 0);
    writer.append("a", at::zeros({5, 7, 3}, at::kByte), at::zeros({5, 7}, at::kByte), {5, 7}, {5, 7});
    partial = writer.temporary_path();
    EXPECT_TRUE(fs::exists(partial));
    EXPECT_FALSE(fs::exists(path));
  }  // destroyed without commit(), as when packing fails
  EXPECT_FALSE(fs::exists(path));
  EXPECT_FALSE(fs::exists(partial));
}

// Packs 100 samples of 50 x 70 under a 64 KB file-size limit; 0 when that failed with a UserError
// naming the pack and what to check, and left no file in `folder`.
int pack_onto_a_full_disk(const std::string& path, PackMetadata metadata, const fs::path& folder) {
  std::signal(SIGXFSZ, SIG_IGN);
  const rlimit small{64 * 1024, 64 * 1024};
  setrlimit(RLIMIT_FSIZE, &small);
  metadata.height = 50;
  metadata.width = 70;
  std::string message;
  try {
    PackWriter writer(path, metadata, 0);
    for (int i = 0; i < 100; ++i)
      writer.append("s" + std::to_string(i), at::zeros({50, 70, 3}, at::kByte),
                    at::zeros({50, 70}, at::kByte), {50, 70}, {50, 70});
    writer.commit();
  } catch (const UserError& error) {
    message = error.message();
  }
  std::fprintf(stderr, "%s\n", message.c_str());
  const bool named = message.find("'" + path + "'") != std::string::npos &&
                     message.find("Check the space left") != std::string::npos;
  return named && !fs::exists(path) && fs::is_empty(folder) ? 0 : 3;
}

// A full disk (EFBIG under the file-size limit; ENOSPC takes the same path): a UserError naming the
// pack, no file left, and a normal exit. It was a raw HDF5 error, then SIGSEGV at exit inside HDF5's
// clean-up of the file whose close had failed (exit 139).
TEST_F(PackTest, AFullDiskIsAUserErrorNamingThePackAndTheProcessExitsNormally) {
  const std::string path = (folder / "full.h5").string();
  EXPECT_EXIT(std::exit(pack_onto_a_full_disk(path, metadata, folder)), ::testing::ExitedWithCode(0),
              "cannot write");
}

TEST_F(PackTest, TruncatedForeignAndMissingFilesAreClearErrors) {
  const std::string good = write_pack("good.h5", 4);
  const std::string truncated = (folder / "truncated.h5").string();
  fs::copy_file(good, truncated);
  fs::resize_file(truncated, fs::file_size(good) / 2);
  EXPECT_NE(error_opening(truncated).find("pack '" + truncated + "'"), std::string::npos)
      << error_opening(truncated);

  const std::string text = (folder / "notes.h5").string();
  std::ofstream(text) << "not a pack";
  EXPECT_NE(error_opening(text).find("is not an HDF5 file"), std::string::npos) << error_opening(text);

  const std::string foreign = (folder / "foreign.h5").string();
  H5Fclose(ATROUS_HDF5_CHECK(H5Fcreate(foreign.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)));
  EXPECT_NE(error_opening(foreign).find("not an atrous pack"), std::string::npos) << error_opening(foreign);

  EXPECT_NE(error_opening((folder / "missing.h5").string()).find("does not exist"), std::string::npos);
}

TEST_F(PackTest, AnotherFormatVersionIsRefused) {
  const std::string path = write_pack("old.h5", 1);
  {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    ATROUS_HDF5_CHECK(H5Adelete(file.get(), "version"));
    write_attribute(file.get(), "version", int64_t{99});
  }
  EXPECT_NE(error_opening(path).find("pack format version 99, this atrous reads version 1"),
            std::string::npos)
      << error_opening(path);
}

// Attributes that no pack written by atrous pack has are refused when the pack is opened, naming
// the attribute, rather than later as an option error or a crash.
TEST_F(PackTest, ImpossibleClassAttributesAreRefusedByName) {
  const std::vector<std::tuple<const char*, int64_t, const char*>> cases{
      {"num_classes", 0, "attribute 'num_classes' is 0, not a class count in 1..256"},
      {"num_classes", 300, "attribute 'num_classes' is 300"},
      {"ignore_label", -1, "attribute 'ignore_label' is -1, not a label value in 0..255"},
      {"num_classes", 2, "attribute 'class_names' has 3 names for num_classes = 2"}};
  for (const auto& [name, value, expected] : cases) {
    const std::string path = write_pack(std::string("bad_") + name + std::to_string(value) + ".h5", 1);
    {
      Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
      ATROUS_HDF5_CHECK(H5Adelete(file.get(), name));
      write_attribute(file.get(), name, value);
    }
    const std::string message = error_opening(path);
    EXPECT_NE(message.find(expected), std::string::npos) << message;
    EXPECT_NE(message.find("pack '" + path + "' cannot be used"), std::string::npos) << message;
  }
  const std::string path = write_pack("bad_mean.h5", 1);
  {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    ATROUS_HDF5_CHECK(H5Adelete(file.get(), "mean_rgb"));
    write_attribute(file.get(), "mean_rgb", std::vector<float>{120.0f, std::nanf(""), 100.0f});
  }
  EXPECT_NE(error_opening(path).find("attribute 'mean_rgb' holds nan, not a pixel value in 0..255"),
            std::string::npos)
      << error_opening(path);
}

// pack.max_pixels: a source image over the limit stops the pack, naming the file and the option; with
// skip_bad it is skipped and counted, and left out of the pack's common size.
TEST_F(PackTest, BuilderRefusesOrSkipsImagesOverThePixelLimit) {
  std::vector<SampleSource> samples;
  for (const auto& [name, height, width] : {std::tuple{"small", 6, 8}, std::tuple{"large", 30, 40}}) {
    const std::string image = (folder / (std::string(name) + ".png")).string();
    const std::string label = (folder / (std::string(name) + "_label.png")).string();
    write_rgb_png(image, at::zeros({height, width, 3}, at::kByte));
    write_palette_png(label, at::ones({height, width}, at::kByte), voc_palette());
    samples.push_back({name, image, label});
  }
  DatasetDescriptor descriptor;
  descriptor.num_classes = 3;
  descriptor.class_names = metadata.class_names;
  descriptor.palette = metadata.palette;
  for (int k = 0; k < 256; ++k) descriptor.label_map[k] = uint8_t(k);
  PackOptions options;
  options.format = "list";
  options.out = (folder / "limited.h5").string();
  options.max_pixels = 1000;
  const auto no_progress = [](int64_t, int64_t) {};
  std::string message;
  try {
    build_pack(options, descriptor, samples, 2, no_progress);
  } catch (const UserError& error) {
    message = error.message();
  }
  EXPECT_NE(message.find("image file '" + samples[1].image_path +
                         "' is 30 x 40 = 1200 pixels, more than the "
                         "limit of 1000"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("raise pack.max_pixels (0: no limit)"), std::string::npos) << message;
  EXPECT_FALSE(fs::exists(options.out));

  options.skip_bad = true;
  const PackSummary summary = build_pack(options, descriptor, samples, 2, no_progress);
  EXPECT_EQ(summary.written, 1);
  ASSERT_EQ(summary.skipped.size(), 1u);
  EXPECT_EQ(summary.skipped[0].rfind("large: ", 0), 0u) << summary.skipped[0];
  EXPECT_NE(summary.skipped[0].find("pack.max_pixels"), std::string::npos) << summary.skipped[0];
  EXPECT_EQ(summary.height, 6);
  EXPECT_EQ(summary.width, 8);
  EXPECT_EQ(PackReader(options.out).size(), 1);
}

TEST_F(PackTest, ReadableByTheHdf5CommandLineTools) {
  const std::string path = write_pack("dump.h5", 2);
  const std::string command = "h5dump -H '" + path + "' > '" + (folder / "header.txt").string() + "' 2>&1";
  ASSERT_EQ(std::system("command -v h5dump > /dev/null"), 0)
      << "h5dump is not installed (Debian's hdf5-tools; launch/install-deps installs it)";
  ASSERT_EQ(std::system(command.c_str()), 0);
  std::ifstream header(folder / "header.txt");
  const std::string text((std::istreambuf_iterator<char>(header)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("DATASET \"images\""), std::string::npos) << text;
  EXPECT_NE(text.find("( 2, 5, 7, 3 )"), std::string::npos) << text;
  EXPECT_NE(text.find("ATTRIBUTE \"format\""), std::string::npos) << text;
}

}  // namespace
}  // namespace atrous::data

// PNG writing (masks for `atrous infer`) read back by our own decoder: palette indices and RGB.

namespace atrous::data {
namespace {

TEST(ImageIo, PalettePngAndRgbPngRoundTrip) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "atrous_png_test";
  std::filesystem::create_directories(dir);
  at::manual_seed(2);
  const at::Tensor indices = at::randint(0, 21, {13, 17}, at::kByte);
  indices[0][0] = 255;
  const std::vector<std::array<uint8_t, 3>> palette = voc_palette();
  write_palette_png((dir / "mask.png").string(), indices, palette);
  const LabelImage label = read_label_image((dir / "mask.png").string());
  EXPECT_FALSE(label.is_colour);
  EXPECT_TRUE(at::equal(label.values, indices));
  const at::Tensor colours = read_rgb_image((dir / "mask.png").string());
  EXPECT_EQ(colours[0][0][0].item<int>(), palette[255][0]);
  EXPECT_TRUE(at::equal(colour_to_index(colours, palette, "mask.png"), indices));

  const at::Tensor rgb = at::randint(0, 256, {9, 11, 3}, at::kByte);
  write_rgb_png((dir / "rgb.png").string(), rgb);
  EXPECT_TRUE(at::equal(read_rgb_image((dir / "rgb.png").string()), rgb));
  EXPECT_EQ(read_image_size((dir / "rgb.png").string()), (std::array<int64_t, 2>{9, 11}));
  test_support::remove_tree(dir.string());
}

}  // namespace
}  // namespace atrous::data
