#include "atrous/data/pack_reader.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <tuple>

#include "atrous/core/error.h"
#include "atrous/data/hdf5_attributes.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/data/hdf5_types.h"
#include "atrous/data/image_io.h"
#include "atrous/data/self_contained_hdf5.h"

namespace atrous::data {
namespace {

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string text = "[";
  for (size_t i = 0; i < dims.size(); ++i) text += (i > 0 ? ", " : "") + std::to_string(dims[i]);
  return text + "]";
}

// Reads `rows` rows of a [N, ...] dataset from row `first` on into `data`.
void read_rows(hid_t dataset, hid_t type, int64_t first, int64_t rows, void* data) {
  std::vector<hsize_t> dims = dataset_dims(dataset), start(dims.size(), 0), count = dims;
  start[0] = static_cast<hsize_t>(first);
  count[0] = static_cast<hsize_t>(rows);
  Hdf5Handle file_space(ATROUS_HDF5_CHECK(H5Dget_space(dataset)));
  ATROUS_HDF5_CHECK(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr));
  Hdf5Handle memory(
      ATROUS_HDF5_CHECK(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr)));
  ATROUS_HDF5_CHECK(H5Dread(dataset, type, memory.get(), file_space.get(), H5P_DEFAULT, data));
}

void read_row(hid_t dataset, hid_t type, int64_t index, void* data) {
  read_rows(dataset, type, index, 1, data);
}

PackMetadata read_metadata(hid_t root) {
  PackMetadata metadata;
  metadata.num_classes = static_cast<int>(read_int_attribute(root, "num_classes"));
  metadata.ignore_label = static_cast<int>(read_int_attribute(root, "ignore_label"));
  metadata.class_names = read_strings_attribute(root, "class_names");
  // Labels are uint8: at most 256 classes, and the ignore label is one of those byte values.
  ATROUS_CHECK(metadata.num_classes >= 1 && metadata.num_classes <= 256, "attribute 'num_classes' is ",
               metadata.num_classes, ", not a class count in 1..256");
  ATROUS_CHECK(metadata.ignore_label >= 0 && metadata.ignore_label <= 255, "attribute 'ignore_label' is ",
               metadata.ignore_label, ", not a label value in 0..255");
  ATROUS_CHECK(metadata.class_names.size() == size_t(metadata.num_classes), "attribute 'class_names' has ",
               metadata.class_names.size(), " names for num_classes = ", metadata.num_classes);
  const std::vector<uint8_t> palette = read_bytes_attribute(root, "palette");
  ATROUS_CHECK(palette.size() % 3 == 0, "attribute 'palette' is not a list of RGB colours");
  for (size_t i = 0; i < palette.size(); i += 3)
    metadata.palette.push_back({palette[i], palette[i + 1], palette[i + 2]});
  const std::vector<float> mean = read_floats_attribute(root, "mean_rgb");
  ATROUS_CHECK(mean.size() == 3, "attribute 'mean_rgb' does not hold 3 numbers");
  for (float channel : mean)  // the padding colour, subtracted from every pixel: NaN would poison training
    ATROUS_CHECK(channel >= 0 && channel <= 255, "attribute 'mean_rgb' holds ", channel,
                 ", not a pixel value in 0..255");
  metadata.mean_rgb = {mean[0], mean[1], mean[2]};
  metadata.interpolation = read_string_attribute(root, "interpolation");
  metadata.resize_policy = read_string_attribute(root, "resize_policy");
  metadata.source_format = read_string_attribute(root, "source_format");
  metadata.split = read_string_attribute(root, "split");
  return metadata;
}

}  // namespace

PackReader::PackReader(const std::string& path) : path_(path) {
  const std::string advice = "; repack it with `atrous pack`";
  ATROUS_CHECK(std::filesystem::is_regular_file(path), "pack '", path, "' does not exist or is not a file");
  quiet_hdf5_errors();
  ATROUS_CHECK(H5Fis_hdf5(path.c_str()) > 0, "pack '", path, "' is not an HDF5 file", advice);
  file_ = open_self_contained_file(path);
  try {
    ATROUS_CHECK(has_attribute(file_.get(), "format") &&
                     read_string_attribute(file_.get(), "format") == pack_format_name,
                 "it is an HDF5 file but not an atrous pack (no format = \"", pack_format_name,
                 "\" attribute)");
    const int64_t version = read_int_attribute(file_.get(), "version");
    ATROUS_CHECK(version == pack_format_version, "it has pack format version ", version,
                 ", this atrous reads version ", pack_format_version);
    metadata_ = read_metadata(file_.get());
    check_layout();
  } catch (const Error& error) {
    throw UserError(to_text("pack '", path, "' cannot be used: ", error.message(), advice), ATROUS_HERE);
  }
}

// The layout of pack_format.h: element types first (HDF5 would convert any numeric type on read),
// then shapes, with one row per sample in every dataset, then the per-sample sizes' values.
void PackReader::check_layout() {
  images_ = open_self_contained_dataset(file_.get(), "images");
  labels_ = open_self_contained_dataset(file_.get(), "labels");
  valid_hw_ = open_self_contained_dataset(file_.get(), "valid_hw");
  source_hw_ = open_self_contained_dataset(file_.get(), "source_hw");
  names_ = open_self_contained_dataset(file_.get(), "names");
  expect_dataset_kind(images_.get(), StoredKind::uint8, "images");
  expect_dataset_kind(labels_.get(), StoredKind::uint8, "labels");
  expect_dataset_kind(valid_hw_.get(), StoredKind::integer, "valid_hw");
  expect_dataset_kind(source_hw_.get(), StoredKind::integer, "source_hw");
  expect_dataset_kind(names_.get(), StoredKind::string, "names");
  const auto images = dataset_dims(images_.get());
  ATROUS_CHECK(images.size() == 4 && images[1] >= 1 && images[2] >= 1 && images[3] == 3,
               "/images has the shape ", shape_text(images), "; expected [N, H, W, 3]");
  // One sample per chunk (pack_format.h), and an HDF5 chunk holds less than 4 GiB: a larger sample is
  // damage, and reading one would first allocate its size.
  ATROUS_CHECK(images[0] <= INT64_MAX && images[1] <= (uint64_t(1) << 32) / 3 / images[2],
               "/images has the shape ", shape_text(images),
               ", samples of more than 4 GiB; expected [N, H, W, 3] with H x W x 3 < 2^32");
  ATROUS_CHECK(images[1] * images[2] <= uint64_t(default_max_pixels), "/images has the shape ",
               shape_text(images), ": samples of ", images[1] * images[2], " pixels, more than the ",
               default_max_pixels, " a pack may hold (the limit of pack.max_pixels)");
  size_ = static_cast<int64_t>(images[0]);
  metadata_.height = static_cast<int64_t>(images[1]);
  metadata_.width = static_cast<int64_t>(images[2]);
  const std::vector<hsize_t> label_shape{images[0], images[1], images[2]}, pair_shape{images[0], 2},
      name_shape{images[0]};
  for (const auto& [name, dataset, expected] :
       {std::tuple<const char*, hid_t, const std::vector<hsize_t>&>{"labels", labels_.get(), label_shape},
        {"valid_hw", valid_hw_.get(), pair_shape},
        {"source_hw", source_hw_.get(), pair_shape},
        {"names", names_.get(), name_shape}})
    ATROUS_CHECK(dataset_dims(dataset) == expected, "/", name, " has the shape ",
                 shape_text(dataset_dims(dataset)), "; expected ", shape_text(expected),
                 " (one row per image of ", shape_text(images), ")");
  check_sizes();
  Hdf5Handle names_type(ATROUS_HDF5_CHECK(H5Dget_type(names_.get())));
  if (H5Tis_variable_str(names_type.get()) <= 0) names_fixed_bytes_ = H5Tget_size(names_type.get());
}

// Every sample's valid region lies inside the stored H x W and its source size is positive. Read a
// block of samples at a time: the sample count comes from the file, and a damaged one must not size
// an allocation (the rows past the written ones read as zeros, refused at the first).
void PackReader::check_sizes() {
  constexpr int64_t block = 4096;
  std::vector<int64_t> valid, source;
  for (int64_t first = 0; first < size_; first += block) {
    const int64_t rows = std::min(block, size_ - first);
    valid.resize(static_cast<size_t>(rows) * 2);
    source.resize(valid.size());
    read_rows(valid_hw_.get(), H5T_NATIVE_INT64, first, rows, valid.data());
    read_rows(source_hw_.get(), H5T_NATIVE_INT64, first, rows, source.data());
    for (int64_t i = 0; i < rows; ++i) {
      const int64_t h = valid[2 * i], w = valid[2 * i + 1], sample = first + i;
      ATROUS_CHECK(h >= 1 && h <= metadata_.height && w >= 1 && w <= metadata_.width, "/valid_hw of sample ",
                   sample, " is ", h, " x ", w, ", outside the stored ", metadata_.height, " x ",
                   metadata_.width);
      const int64_t source_h = source[2 * i], source_w = source[2 * i + 1];
      ATROUS_CHECK(source_h >= 1 && source_w >= 1 && source_h <= INT32_MAX && source_w <= INT32_MAX,
                   "/source_hw of sample ", sample, " is ", source_h, " x ", source_w,
                   "; expected positive sizes");
      // Predictions are resized to the source size: a declared size must not size an allocation.
      ATROUS_CHECK(source_h * source_w <= default_max_pixels, "/source_hw of sample ", sample, " is ",
                   source_h, " x ", source_w, ", more than the ", default_max_pixels,
                   " pixels a source image may have (the limit of pack.max_pixels)");
    }
  }
}

std::string PackReader::description() const {
  return "pack '" + path_ + "'";
}

// /names holds variable-length strings (atrous pack, h5py's str) or fixed-length ones (numpy's
// bytes_), read as they are stored; fixed-length padding is dropped.
std::string PackReader::read_name(int64_t index) const {
  if (names_fixed_bytes_ == 0) {
    Hdf5Handle string_type(utf8_string_type());
    char* name = nullptr;
    read_row(names_.get(), string_type.get(), index, &name);
    std::string text = name != nullptr ? name : "";
    H5free_memory(name);
    return text;
  }
  Hdf5Handle stored(ATROUS_HDF5_CHECK(H5Dget_type(names_.get())));
  Hdf5Handle fixed(ATROUS_HDF5_CHECK(H5Tcopy(stored.get())));
  ATROUS_HDF5_CHECK(H5Tset_strpad(fixed.get(), H5T_STR_NULLPAD));
  std::string text(names_fixed_bytes_, '\0');
  read_row(names_.get(), fixed.get(), index, text.data());
  text.resize(text.find('\0') == std::string::npos ? text.size() : text.find('\0'));
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

std::string PackReader::name(int64_t index) const {
  ATROUS_ASSERT(index >= 0 && index < size_, "sample ", index, " of a pack of ", size_);
  std::lock_guard<std::mutex> lock(mutex_);
  try {
    return read_name(index);
  } catch (const LibraryError& error) {
    throw UserError(to_text("pack '", path_, "': the name of sample ", index,
                            " cannot be read (damaged file?): ", error.library_message()),
                    ATROUS_HERE);
  }
}

PackRecord PackReader::read(int64_t index) const {
  ATROUS_ASSERT(index >= 0 && index < size_, "sample ", index, " of a pack of ", size_);
  std::lock_guard<std::mutex> lock(mutex_);
  PackRecord record;
  record.image = at::empty({metadata_.height, metadata_.width, 3}, at::kByte);
  record.label = at::empty({metadata_.height, metadata_.width}, at::kByte);
  try {
    read_row(images_.get(), H5T_NATIVE_UINT8, index, record.image.data_ptr());
    read_row(labels_.get(), H5T_NATIVE_UINT8, index, record.label.data_ptr());
    read_row(valid_hw_.get(), H5T_NATIVE_INT32, index, record.valid_hw.data());
    read_row(source_hw_.get(), H5T_NATIVE_INT32, index, record.source_hw.data());
    record.name = read_name(index);
  } catch (const LibraryError& error) {
    const std::string& why = error.library_message();
    if (why.find("checksum") != std::string::npos || why.find("Fletcher32") != std::string::npos)
      throw UserError(to_text("pack '", path_, "': sample ", index,
                              " is corrupted: its stored bytes no longer match their checksum (", why,
                              "); restore the file or pack the dataset again"),
                      ATROUS_HERE);
    throw UserError(to_text("pack '", path_, "': sample ", index, " cannot be read (damaged file?): ", why),
                    ATROUS_HERE);
  }
  return record;
}

}  // namespace atrous::data
