// The Dataset interface: samples in memory checked as a pack is, and the inputs of `atrous infer`
// (files, folders and packs) resolved and read.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "atrous/core/error.h"
#include "atrous/data/dataset_descriptor.h"
#include "atrous/data/image_inputs.h"
#include "atrous/data/image_io.h"
#include "atrous/data/in_memory_dataset.h"
#include "atrous/data/pack_reader.h"
#include "atrous/data/pack_writer.h"
#include "scratch_files.h"

namespace atrous::data {
namespace {

namespace fs = std::filesystem;

PackMetadata two_class_metadata() {
  PackMetadata metadata;
  metadata.num_classes = 2;
  metadata.class_names = {"background", "thing"};
  metadata.palette = {{0, 0, 0}, {200, 10, 10}};
  metadata.mean_rgb = {127.5f, 127.5f, 127.5f};
  return metadata;
}

PackRecord record(int64_t height, int64_t width, std::array<int32_t, 2> valid_hw, const std::string& name) {
  return {at::randint(0, 256, {height, width, 3}, at::kLong).to(at::kByte),
          at::randint(0, 2, {height, width}, at::kLong).to(at::kByte),
          valid_hw,
          {40, 30},
          name};
}

std::string message_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const UserError& error) {
    return error.message();
  }
  return "no UserError";
}

TEST(InMemoryDataset, HoldsSamplesAsAPackDoesAndHandsOutCopies) {
  at::manual_seed(0);
  const InMemoryDataset dataset(two_class_metadata(), {record(6, 5, {6, 4}, "a"), record(6, 5, {3, 5}, "b")});
  EXPECT_EQ(dataset.size(), 2);
  EXPECT_EQ(dataset.metadata().height, 6);
  EXPECT_EQ(dataset.metadata().width, 5);
  EXPECT_EQ(dataset.description(), "in-memory dataset");
  PackRecord first = dataset.read(1);
  EXPECT_EQ(first.name, "b");
  EXPECT_EQ(first.valid_hw, (std::array<int32_t, 2>{3, 5}));
  const at::Tensor original = first.image.clone();
  first.image.fill_(0);
  first.label.fill_(1);
  EXPECT_TRUE(dataset.read(1).image.equal(original));
  EXPECT_THROW(dataset.read(2), InternalError);
}

TEST(InMemoryDataset, RejectsWhatAPackCouldNotHoldNamingTheSample) {
  at::manual_seed(1);
  const PackMetadata metadata = two_class_metadata();
  EXPECT_NE(message_of([&] { InMemoryDataset(metadata, {}, "empty set"); }).find("empty set has no samples"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              InMemoryDataset(metadata, {record(6, 5, {6, 5}, "a"), record(6, 4, {6, 4}, "odd")}, "mixed");
            }).find("mixed: sample 1 ('odd') needs an image uint8 [6, 5, 3]"),
            std::string::npos);
  PackRecord float_label = record(6, 5, {6, 5}, "f");
  float_label.label = float_label.label.to(at::kFloat);
  EXPECT_NE(message_of([&] { InMemoryDataset(metadata, {float_label}); }).find("needs a label uint8 [6, 5]"),
            std::string::npos);
  EXPECT_NE(message_of([&] {
              InMemoryDataset(metadata, {record(6, 5, {7, 5}, "big")});
            }).find("has the valid region 7 x 5, outside its 6 x 5 pixels"),
            std::string::npos);
  PackMetadata sized = metadata;
  sized.height = 8;
  EXPECT_NE(message_of([&] {
              InMemoryDataset(sized, {record(6, 5, {6, 5}, "a")});
            }).find("the metadata says 8 x 0 but the samples are 6 x 5"),
            std::string::npos);
}

// A scratch folder with two PNGs (one in capitals) and a text file in images/, a PNG beside it and a
// pack of two samples.
class ImageInputsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder = (fs::path(::testing::TempDir()) / "atrous_image_inputs_test").string();
    test_support::remove_tree(folder);
    fs::create_directories(folder + "/images");
    at::manual_seed(2);
    write_rgb_png(folder + "/images/b.PNG", at::randint(0, 256, {7, 9, 3}, at::kLong).to(at::kByte));
    write_rgb_png(folder + "/images/a.png", at::randint(0, 256, {5, 4, 3}, at::kLong).to(at::kByte));
    write_rgb_png(folder + "/b.png", at::zeros({2, 2, 3}, at::kByte));
    std::ofstream(folder + "/images/notes.txt") << "not an image\n";
    PackMetadata metadata = two_class_metadata();
    metadata.height = 6;
    metadata.width = 5;
    PackWriter writer(folder + "/val.h5", metadata, 0);
    for (const PackRecord& sample : {record(6, 5, {6, 4}, "s0"), record(6, 5, {3, 5}, "s1")})
      writer.append(sample.name, sample.image, sample.label, sample.valid_hw, sample.source_hw);
    writer.commit();
  }
  void TearDown() override { test_support::remove_tree(folder); }

  std::string folder;
};

TEST_F(ImageInputsTest, ResolvesFilesFoldersAndPacksInOrder) {
  const ImageInputs inputs =
      resolve_image_inputs(folder + "/val.h5," + folder + "/images," + folder + "/b.png");
  ASSERT_EQ(inputs.datasets.size(), 1u);
  ASSERT_EQ(inputs.items.size(), 5u);
  EXPECT_EQ(inputs.items[0].dataset, inputs.datasets[0].get());
  EXPECT_EQ(inputs.items[0].name, "s0");  // a sample's name, known before it is read
  EXPECT_EQ(inputs.items[1].index, 1);
  EXPECT_EQ(describe_input(inputs.items[1]), "sample 1 ('s1') of pack '" + folder + "/val.h5'");
  EXPECT_EQ(inputs.items[2].name, "a");  // the folder's images, sorted, without notes.txt
  EXPECT_EQ(inputs.items[3].name, "b");
  EXPECT_EQ(inputs.items[4].file, folder + "/b.png");
  EXPECT_EQ(describe_input(inputs.items[4]), "'" + folder + "/b.png'");

  const InputImage sample = read_image_input(inputs.items[1]);
  EXPECT_EQ(sample.name, "s1");
  EXPECT_EQ(sample.image.sizes(), (at::IntArrayRef{3, 5, 3}));  // the valid region
  EXPECT_EQ(sample.original_hw, (std::array<int64_t, 2>{40, 30}));
  const InputImage file = read_image_input(inputs.items[3]);
  EXPECT_EQ(file.image.sizes(), (at::IntArrayRef{7, 9, 3}));
  EXPECT_EQ(file.original_hw, (std::array<int64_t, 2>{7, 9}));

  EXPECT_EQ(mask_palette(inputs, "").at(1), (std::array<uint8_t, 3>{200, 10, 10}));  // the pack's
  EXPECT_EQ(mask_palette(resolve_image_inputs(folder + "/images"), ""), voc_palette());
}

TEST_F(ImageInputsTest, AnInputThatIsNothingIsNamed) {
  const std::string missing = folder + "/nowhere.jpg";
  EXPECT_NE(message_of([&] {
              resolve_image_inputs(folder + "/images," + missing);
            }).find("infer input '" + missing + "' is not an image, a folder or a pack"),
            std::string::npos);
  EXPECT_NE(message_of([&] { resolve_image_inputs(folder + "/missing.h5"); }).find("missing.h5"),
            std::string::npos);
}

TEST_F(ImageInputsTest, AnInputWithoutImagesIsNamed) {
  std::filesystem::create_directories(folder + "/empty");
  std::ofstream(folder + "/empty/readme.txt") << "no images here\n";
  EXPECT_NE(message_of([&] {
              resolve_image_inputs(folder + "/images," + folder + "/empty");
            }).find("infer input folder '" + folder + "/empty' holds no image (.jpg, .jpeg or .png)"),
            std::string::npos);
  PackMetadata metadata = two_class_metadata();
  metadata.height = 6;
  metadata.width = 5;
  PackWriter writer(folder + "/none.h5", metadata, 0);
  writer.commit();
  EXPECT_NE(message_of([&] {
              resolve_image_inputs(folder + "/none.h5");
            }).find("infer input pack '" + folder + "/none.h5' holds no samples"),
            std::string::npos);
}

TEST_F(ImageInputsTest, AnImageGivenTwiceIsListedOnce) {
  const std::string images = folder + "/images";
  const ImageInputs inputs =
      resolve_image_inputs(folder + "/val.h5," + images + "," + images + "/a.png," + folder + "/../" +
                           fs::path(folder).filename().string() + "/val.h5," + images + "/../images/b.PNG");
  ASSERT_EQ(inputs.items.size(), 4u);  // s0, s1, a, b: once each
  EXPECT_EQ(inputs.datasets.size(), 1u);
  EXPECT_EQ(inputs.items[3].file, images + "/b.PNG");
  // Files of one stem in two folders are two images: whether their outputs may share a folder is
  // eval::check_distinct_outputs's to say.
  std::filesystem::create_directories(folder + "/other");
  write_rgb_png(folder + "/other/a.png", at::zeros({2, 2, 3}, at::kByte));
  EXPECT_EQ(resolve_image_inputs(images + "," + folder + "/other").items.size(), 3u);
}

// A path with a comma is given with "\,"; it could not be given at all before.
TEST_F(ImageInputsTest, ACommaInsideAPathIsEscaped) {
  EXPECT_EQ(split_input_list("a\\,b.png,c.png"), (std::vector<std::string>{"a,b.png", "c.png"}));
  EXPECT_EQ(split_input_list("x.png"), (std::vector<std::string>{"x.png"}));
  write_rgb_png(folder + "/one,two.png", at::zeros({2, 2, 3}, at::kByte));
  const ImageInputs inputs = resolve_image_inputs(folder + "/one\\,two.png," + folder + "/b.png");
  ASSERT_EQ(inputs.items.size(), 2u);
  EXPECT_EQ(inputs.items[0].name, "one,two");
}

// A link loop among a folder's images was a raw filesystem error ("Too many levels of symbolic links").
TEST_F(ImageInputsTest, AnImageLinkThatCannotBeFollowedIsNamed) {
  fs::create_symlink(folder + "/images/loop.png", folder + "/images/loop.png");
  EXPECT_NE(message_of([&] { resolve_image_inputs(folder + "/images"); })
                .find("infer input folder '" + folder + "/images': '" + folder +
                      "/images/loop.png' cannot be followed"),
            std::string::npos)
      << message_of([&] { resolve_image_inputs(folder + "/images"); });
}

}  // namespace
}  // namespace atrous::data
