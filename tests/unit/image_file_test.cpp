// What image_io accepts as an image file before decoding: regular files only, and a header whose
// size is an image's.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/data/dataset_sources.h"
#include "atrous/data/image_io.h"
#include "scratch_files.h"
#include "user_error_message.h"

namespace atrous::data {
namespace {

namespace fs = std::filesystem;

class ImageFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = fs::path(::testing::TempDir()) / ("atrous_image_file_" + std::to_string(::getpid()));
    test_support::remove_tree(folder.string());
    fs::create_directories(folder);
  }
  void TearDown() override { test_support::remove_tree(folder.string()); }
  fs::path folder;
};

using test_support::refusal;

// A PNG's signature and IHDR chunk declaring width x height (8-bit grey), with a correct CRC.
std::string png_header(uint32_t width, uint32_t height) {
  std::string chunk = "IHDR";
  for (uint32_t value : {width, height})
    for (int shift = 24; shift >= 0; shift -= 8) chunk += char((value >> shift) & 0xff);
  chunk += std::string("\x08\x00\x00\x00\x00", 5);
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(chunk.data()), uInt(chunk.size()));
  std::string bytes = "\x89PNG\r\n\x1a\n" + std::string("\x00\x00\x00\x0d", 4) + chunk;
  for (int shift = 24; shift >= 0; shift -= 8) bytes += char((crc >> shift) & 0xff);
  return bytes;
}

// A header declaring a side of 0 pixels is a damaged file, named as such (pack stopped at an
// internal invariant).
TEST_F(ImageFileTest, AHeaderWithASideOfZeroNamesTheDamagedFile) {
  const std::string path = (folder / "zero-width.png").string();
  std::ofstream(path, std::ios::binary) << png_header(0, 5);
  const std::string message = refusal([&] { read_image_size(path); });
  EXPECT_NE(message.find("'" + path + "' declares a size of 5 x 0 pixels"), std::string::npos) << message;
  EXPECT_NE(refusal([&] { read_label_image(path); }).find(path), std::string::npos);
}

// Only regular files are images: /dev/zero was read until memory ran out and a FIFO blocked forever.
TEST_F(ImageFileTest, DevicesAndFifosAreRefusedBeforeAByteIsRead) {
  EXPECT_NE(refusal([] { read_rgb_image("/dev/zero"); }).find("is not a regular file"), std::string::npos);
  const std::string fifo = (folder / "pipe.png").string();
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  EXPECT_NE(refusal([&] { read_label_image(fifo); }).find("'" + fifo + "' is not a regular file"),
            std::string::npos);
  EXPECT_NE(refusal([&] { read_image_size(folder.string()); }).find("is not a regular file"),
            std::string::npos);
  const std::string list = (folder / "list.txt").string();
  ASSERT_EQ(::mkfifo(list.c_str(), 0600), 0);
  EXPECT_NE(refusal([&] { list_samples("list", folder.string(), list); }).find("is not a regular file"),
            std::string::npos);
}

// VOC refuses a repeated line; the list format packed the image twice, under one name.
TEST_F(ImageFileTest, AListNamingAnImageTwiceIsRefusedNamingBothLines) {
  const std::string list = (folder / "twice.txt").string();
  std::ofstream(list) << "a.png a_label.png\nb.png b_label.png\n./sub/../a.png other.png\n";
  EXPECT_NE(refusal([&] {
              list_samples("list", folder.string(), list);
            }).find("line 3 names the image './sub/../a.png' that line 1 names already"),
            std::string::npos)
      << refusal([&] { list_samples("list", folder.string(), list); });
}

TEST(SplitListFile, IsTheFileAListedSplitIsReadFrom) {
  EXPECT_EQ(split_list_file("list", "/data", "train.txt"), "/data/train.txt");
  EXPECT_EQ(split_list_file("list", "/data", "/lists/train.txt"), "/lists/train.txt");
  EXPECT_EQ(split_list_file("voc", "/no-such-root", "val"), "/no-such-root/ImageSets/Segmentation/val.txt");
  EXPECT_EQ(split_list_file("cityscapes", "/data", "train"), "");
}

}  // namespace
}  // namespace atrous::data
