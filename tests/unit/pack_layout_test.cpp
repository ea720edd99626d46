// A pack whose datasets or attributes do not have the format's element types and shapes is refused
// when it is opened, naming the file, the dataset and what was expected: HDF5 would otherwise
// convert on read (float images to zeros, int16 labels clamped to 255) or a read would overrun.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/data/hdf5_handle.h"
#include "atrous/data/pack_reader.h"
#include "atrous/data/pack_writer.h"
#include "scratch_files.h"

namespace atrous::data {
namespace {

namespace fs = std::filesystem;

class PackLayoutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    folder =
        fs::path(::testing::TempDir()) /
        ("atrous_layout_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    test_support::remove_tree(folder.string());
    fs::create_directories(folder);
  }
  void TearDown() override { test_support::remove_tree(folder.string()); }

  // A valid pack of 3 samples of 4 x 6 pixels, 3 classes.
  std::string write_pack(const std::string& name) {
    PackMetadata metadata;
    metadata.height = 4;
    metadata.width = 6;
    metadata.num_classes = 3;
    metadata.class_names = {"background", "a", "b"};
    metadata.palette = {{0, 0, 0}, {128, 0, 0}, {0, 128, 0}};
    metadata.source_format = "list";
    metadata.split = "train";
    const std::string path = (folder / name).string();
    PackWriter writer(path, metadata, 0, true);
    for (int i = 0; i < 3; ++i)
      writer.append("sample_" + std::to_string(i), at::full({4, 6, 3}, 100 + i, at::kByte),
                    at::full({4, 6}, i, at::kByte), {4, 6}, {40, 60});
    writer.commit();
    return path;
  }

  // Replaces dataset `name` of the pack by one of `type` and `dims` holding `data`.
  void replace_dataset(const std::string& path, const char* name, hid_t type, std::vector<hsize_t> dims,
                       const void* data) {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    ATROUS_HDF5_CHECK(H5Ldelete(file.get(), name, H5P_DEFAULT));
    Hdf5Handle space(ATROUS_HDF5_CHECK(H5Screate_simple(int(dims.size()), dims.data(), nullptr)));
    Hdf5Handle dataset(ATROUS_HDF5_CHECK(
        H5Dcreate2(file.get(), name, type, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
    ATROUS_HDF5_CHECK(H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  }

  // The error opening `path`, or "" when it opens.
  static std::string error_opening(const std::string& path) {
    try {
      PackReader reader(path);
    } catch (const UserError& error) {
      return error.message();
    }
    return "";
  }

  void expect_refused(const std::string& path, const std::string& expected) {
    const std::string message = error_opening(path);
    EXPECT_NE(message.find("pack '" + path + "' cannot be used: " + expected), std::string::npos) << message;
  }

  fs::path folder;
};

TEST_F(PackLayoutTest, ElementTypesThatHdf5WouldConvertAreRefused) {
  const std::string floats = write_pack("float_images.h5");
  std::vector<float> unit(3 * 4 * 6 * 3, 0.5f);
  replace_dataset(floats, "images", H5T_NATIVE_FLOAT, {3, 4, 6, 3}, unit.data());
  expect_refused(floats, "/images holds float32 values; expected uint8");

  const std::string wide = write_pack("int16_labels.h5");
  std::vector<int16_t> labels(3 * 4 * 6, 300);
  replace_dataset(wide, "labels", H5T_NATIVE_INT16, {3, 4, 6}, labels.data());
  expect_refused(wide, "/labels holds int16 values; expected uint8");

  const std::string sizes = write_pack("float_sizes.h5");
  std::vector<double> valid(3 * 2, 4.0);
  replace_dataset(sizes, "valid_hw", H5T_NATIVE_DOUBLE, {3, 2}, valid.data());
  expect_refused(sizes, "/valid_hw holds float64 values; expected an integer type");

  const std::string names = write_pack("numeric_names.h5");
  std::vector<int32_t> numbers{1, 2, 3};
  replace_dataset(names, "names", H5T_NATIVE_INT32, {3}, numbers.data());
  expect_refused(names, "/names holds int32 values; expected strings");
}

// Shapes that would make a row read overrun its buffer (a crash before this check) are refused.
TEST_F(PackLayoutTest, ShapesInconsistentWithTheImagesAreRefused) {
  const std::string wide_rows = write_pack("wide_valid_hw.h5");
  std::vector<int32_t> five(3 * 5, 4);
  replace_dataset(wide_rows, "valid_hw", H5T_NATIVE_INT32, {3, 5}, five.data());
  expect_refused(wide_rows, "/valid_hw has the shape [3, 5]; expected [3, 2]");

  const std::string grid_names = write_pack("grid_names.h5");
  Hdf5Handle fixed(ATROUS_HDF5_CHECK(H5Tcopy(H5T_C_S1)));
  ATROUS_HDF5_CHECK(H5Tset_size(fixed.get(), 4));
  replace_dataset(grid_names, "names", fixed.get(), {3, 2}, std::string(24, 'x').data());
  expect_refused(grid_names, "/names has the shape [3, 2]; expected [3]");

  const std::string short_labels = write_pack("short_labels.h5");
  std::vector<uint8_t> label_bytes(3 * 4 * 5, 0);
  replace_dataset(short_labels, "labels", H5T_NATIVE_UINT8, {3, 4, 5}, label_bytes.data());
  expect_refused(short_labels, "/labels has the shape [3, 4, 5]; expected [3, 4, 6]");

  const std::string outside = write_pack("outside.h5");
  std::vector<int32_t> regions{4, 6, 5, 6, 4, 6};
  replace_dataset(outside, "valid_hw", H5T_NATIVE_INT32, {3, 2}, regions.data());
  expect_refused(outside, "/valid_hw of sample 1 is 5 x 6, outside the stored 4 x 6");
}

TEST_F(PackLayoutTest, AttributesOfAnotherTypeAreRefusedByName) {
  const std::string path = write_pack("wide_palette.h5");
  {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    ATROUS_HDF5_CHECK(H5Adelete(file.get(), "palette"));
    const hsize_t dims[2] = {1, 3};
    Hdf5Handle space(ATROUS_HDF5_CHECK(H5Screate_simple(2, dims, nullptr)));
    Hdf5Handle attribute(ATROUS_HDF5_CHECK(
        H5Acreate2(file.get(), "palette", H5T_NATIVE_INT64, space.get(), H5P_DEFAULT, H5P_DEFAULT)));
    const int64_t colour[3] = {300, 0, 0};
    ATROUS_HDF5_CHECK(H5Awrite(attribute.get(), H5T_NATIVE_INT64, colour));
  }
  expect_refused(path, "attribute 'palette' holds int64 values; expected uint8");
}

// numpy's fixed-length bytes (h5py writes np.array(names, dtype="S")) are names too.
TEST_F(PackLayoutTest, FixedLengthNamesAreReadAsTheyAreStored) {
  const std::string path = write_pack("fixed_names.h5");
  Hdf5Handle fixed(ATROUS_HDF5_CHECK(H5Tcopy(H5T_C_S1)));
  ATROUS_HDF5_CHECK(H5Tset_size(fixed.get(), 8));
  ATROUS_HDF5_CHECK(H5Tset_strpad(fixed.get(), H5T_STR_NULLPAD));
  std::string names("cat\0\0\0\0\0dog_0001bird\0\0\0\0", 24);
  replace_dataset(path, "names", fixed.get(), {3}, names.data());
  PackReader reader(path);
  EXPECT_EQ(reader.read(0).name, "cat");
  EXPECT_EQ(reader.read(1).name, "dog_0001");
  EXPECT_EQ(reader.read(2).name, "bird");
  EXPECT_EQ(reader.name(1), "dog_0001");
  EXPECT_EQ(reader.read(2).label[0][0].item<int>(), 2);
}

}  // namespace
}  // namespace atrous::data
