// A pack whose datasets or attributes do not have the format's element types and shapes is refused
// when it is opened, naming the file, the dataset and what was expected: HDF5 would otherwise
// convert on read (float images to zeros, int16 labels clamped to 255) or a read would overrun.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <vector>

#include "atrous/core/error.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/data/hdf5_handle.h"
#include "atrous/data/hdf5_types.h"
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
  // With `creation` (dataset creation properties) and no data, nothing is written.
  void replace_dataset(const std::string& path, const char* name, hid_t type, std::vector<hsize_t> dims,
                       const void* data, hid_t creation = H5P_DEFAULT) {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    ATROUS_HDF5_CHECK(H5Ldelete(file.get(), name, H5P_DEFAULT));
    Hdf5Handle space(ATROUS_HDF5_CHECK(H5Screate_simple(int(dims.size()), dims.data(), nullptr)));
    Hdf5Handle dataset(ATROUS_HDF5_CHECK(
        H5Dcreate2(file.get(), name, type, space.get(), H5P_DEFAULT, creation, H5P_DEFAULT)));
    if (data != nullptr)
      ATROUS_HDF5_CHECK(H5Dwrite(dataset.get(), type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
  }

  // Replaces the link `name` of the pack by what `link` makes (an external or a soft link).
  void replace_link(const std::string& path, const char* name, const std::function<void(hid_t)>& link) {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(path.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    ATROUS_HDF5_CHECK(H5Ldelete(file.get(), name, H5P_DEFAULT));
    link(file.get());
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

// Sizes come from the file, so damaged ones must not size an allocation: datasets grown far past what
// was written (unwritten chunks read as zeros; the file stays small) are refused before that happens.
TEST_F(PackLayoutTest, SizesPastWhatWasWrittenAreRefusedBeforeAnythingOfThatSizeIsAllocated) {
  const std::string many = write_pack("many_samples.h5");
  {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(many.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    for (const char* name : {"images", "labels", "valid_hw", "source_hw", "names"}) {
      Hdf5Handle dataset(ATROUS_HDF5_CHECK(H5Dopen2(file.get(), name, H5P_DEFAULT)));
      std::vector<hsize_t> dims = dataset_dims(dataset.get());
      dims[0] = hsize_t(1) << 40;  // 16 TiB of sample sizes, were they read at once
      ATROUS_HDF5_CHECK(H5Dset_extent(dataset.get(), dims.data()));
    }
  }
  expect_refused(many, "/valid_hw of sample 3 is 0 x 0, outside the stored 4 x 6");

  const std::string large = write_pack("large_samples.h5");
  {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(large.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    const hsize_t side = hsize_t(1) << 20;  // 3 TiB an image
    for (std::vector<hsize_t> dims : {std::vector<hsize_t>{3, side, side, 3}, {3, side, side}}) {
      const char* name = dims.size() == 4 ? "images" : "labels";
      ATROUS_HDF5_CHECK(H5Ldelete(file.get(), name, H5P_DEFAULT));
      const std::vector<hsize_t> chunk(dims.size(), 1);
      Hdf5Handle space(ATROUS_HDF5_CHECK(H5Screate_simple(int(dims.size()), dims.data(), nullptr)));
      Hdf5Handle properties(ATROUS_HDF5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
      ATROUS_HDF5_CHECK(H5Pset_chunk(properties.get(), int(chunk.size()), chunk.data()));
      Hdf5Handle dataset(ATROUS_HDF5_CHECK(H5Dcreate2(file.get(), name, H5T_NATIVE_UINT8, space.get(),
                                                      H5P_DEFAULT, properties.get(), H5P_DEFAULT)));
    }
  }
  expect_refused(large, "/images has the shape [3, 1048576, 1048576, 3], samples of more than 4 GiB");
}

// A pack reads nothing but itself: a dataset stored in another file, linked to one, or mapping one
// (a virtual dataset) is refused when the pack is opened, naming what it points to. Without this,
// infer painted the bytes of any file into its masks, and training trained on them.
TEST_F(PackLayoutTest, DatasetsWhoseDataLiesOutsideThePackAreRefused) {
  const std::string secret = (folder / "secret").string();
  std::ofstream(secret) << std::string(3 * 4 * 6 * 3, 's');
  const std::string external = write_pack("external.h5");
  Hdf5Handle creation(ATROUS_HDF5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
  ATROUS_HDF5_CHECK(H5Pset_external(creation.get(), secret.c_str(), 0, 3 * 4 * 6 * 3));
  replace_dataset(external, "images", H5T_NATIVE_UINT8, {3, 4, 6, 3}, nullptr, creation.get());
  expect_refused(external, "/images is stored in the external file '" + secret + "'");

  const std::string other = write_pack("other.h5"), linked = write_pack("linked.h5");
  replace_link(linked, "labels", [&](hid_t file) {
    ATROUS_HDF5_CHECK(H5Lcreate_external(other.c_str(), "labels", file, "labels", H5P_DEFAULT, H5P_DEFAULT));
  });
  expect_refused(linked, "/labels is an external link to '" + other + "':labels");

  const std::string soft = write_pack("soft.h5");
  replace_link(soft, "valid_hw", [](hid_t file) {
    ATROUS_HDF5_CHECK(H5Lcreate_soft("/source_hw", file, "valid_hw", H5P_DEFAULT, H5P_DEFAULT));
  });
  expect_refused(soft, "/valid_hw is a soft link to /source_hw");

  const std::string virtual_pack = write_pack("virtual.h5");
  Hdf5Handle mapping(ATROUS_HDF5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
  const hsize_t dims[2] = {3, 2};
  Hdf5Handle space(ATROUS_HDF5_CHECK(H5Screate_simple(2, dims, nullptr)));
  ATROUS_HDF5_CHECK(H5Pset_virtual(mapping.get(), space.get(), other.c_str(), "/source_hw", space.get()));
  replace_dataset(virtual_pack, "source_hw", H5T_NATIVE_INT32, {3, 2}, nullptr, mapping.get());
  expect_refused(virtual_pack, "/source_hw is a virtual dataset reading '" + other + "'");
}

// Sizes a pack declares must not size an allocation past what pack accepts from an image file
// (pack.max_pixels): infer and eval resize predictions to /source_hw, and reading a sample allocates
// the stored size. A 40000 x 40000 source allocated 6.4 GB per class for a file of a few KB.
TEST_F(PackLayoutTest, DeclaredSizesOverThePixelLimitAreRefusedWhenThePackIsOpened) {
  const std::string source = write_pack("huge_source.h5");
  std::vector<int32_t> sizes{40, 60, 40000, 40000, 40, 60};
  replace_dataset(source, "source_hw", H5T_NATIVE_INT32, {3, 2}, sizes.data());
  expect_refused(source, "/source_hw of sample 1 is 40000 x 40000, more than the 178956970 pixels");

  const std::string stored = write_pack("huge_stored.h5");
  {
    Hdf5Handle file(ATROUS_HDF5_CHECK(H5Fopen(stored.c_str(), H5F_ACC_RDWR, H5P_DEFAULT)));
    const hsize_t side = 20000;  // 1.2 GB a sample, under HDF5's 4 GiB chunk bound
    for (std::vector<hsize_t> dims : {std::vector<hsize_t>{3, side, side, 3}, {3, side, side}}) {
      const char* name = dims.size() == 4 ? "images" : "labels";
      ATROUS_HDF5_CHECK(H5Ldelete(file.get(), name, H5P_DEFAULT));
      std::vector<hsize_t> chunk = dims;
      chunk[0] = 1;
      Hdf5Handle space(ATROUS_HDF5_CHECK(H5Screate_simple(int(dims.size()), dims.data(), nullptr)));
      Hdf5Handle properties(ATROUS_HDF5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
      ATROUS_HDF5_CHECK(H5Pset_chunk(properties.get(), int(chunk.size()), chunk.data()));
      Hdf5Handle dataset(ATROUS_HDF5_CHECK(H5Dcreate2(file.get(), name, H5T_NATIVE_UINT8, space.get(),
                                                      H5P_DEFAULT, properties.get(), H5P_DEFAULT)));
    }
  }
  expect_refused(stored,
                 "/images has the shape [3, 20000, 20000, 3]: samples of 400000000 pixels, more than "
                 "the 178956970 a pack may hold");
}

// An attribute's value count sizes the buffer it is read into: a damaged dataspace (here one byte of
// the class names' dimension, as the fuzzer found it) claimed 2^61 names, and std::length_error left
// the reader. More than max_attribute_values is refused before reading.
TEST_F(PackLayoutTest, AnAttributeOfTooManyValuesIsRefusedBeforeItIsRead) {
  const std::string path = write_pack("many_names.h5");
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  // The attribute message: its name, then its datatype and dataspace (version 1, rank 1, flags, five
  // reserved bytes, then the dimension, 3, as 8 bytes).
  const size_t name = bytes.find("class_names");
  ASSERT_NE(name, std::string::npos);
  const std::string three("\3\0\0\0\0\0\0\0", 8);
  size_t dimension = name;
  while ((dimension = bytes.find(three, dimension + 1)) != std::string::npos &&
         bytes.compare(dimension - 8, 2, "\1\1") != 0) {
  }
  ASSERT_NE(dimension, std::string::npos) << "no dataspace of 3 after the attribute's name";
  bytes[dimension + 7] = 0x20;  // 2^61 + 3
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  expect_refused(path, "attribute 'class_names' has 2305843009213693955 values, more than 65536");
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
