#include "atrous/data/pack_reader.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "atrous/core/error.h"
#include "atrous/data/hdf5_attributes.h"
#include "atrous/data/hdf5_check.h"

namespace atrous::data {
namespace {

std::vector<hsize_t> dims_of(hid_t dataset) {
  Hdf5Handle space(ATROUS_HDF5_CHECK(H5Dget_space(dataset)));
  const int rank = ATROUS_HDF5_CHECK(H5Sget_simple_extent_ndims(space.get()));
  std::vector<hsize_t> dims(static_cast<size_t>(rank));
  ATROUS_HDF5_CHECK(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr));
  return dims;
}

Hdf5Handle open_dataset(hid_t file, const char* name) {
  ATROUS_CHECK(H5Lexists(file, name, H5P_DEFAULT) > 0, "dataset /", name, " is missing");
  return Hdf5Handle(ATROUS_HDF5_CHECK(H5Dopen2(file, name, H5P_DEFAULT)));
}

// Reads row `index` of a [N, ...] dataset into `data`.
void read_row(hid_t dataset, hid_t type, int64_t index, void* data) {
  std::vector<hsize_t> dims = dims_of(dataset), start(dims.size(), 0), count = dims;
  start[0] = static_cast<hsize_t>(index);
  count[0] = 1;
  Hdf5Handle file_space(ATROUS_HDF5_CHECK(H5Dget_space(dataset)));
  ATROUS_HDF5_CHECK(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr));
  Hdf5Handle memory(
      ATROUS_HDF5_CHECK(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr)));
  ATROUS_HDF5_CHECK(H5Dread(dataset, type, memory.get(), file_space.get(), H5P_DEFAULT, data));
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
  file_.reset(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT));
  ATROUS_CHECK(file_.get() >= 0, "pack '", path,
               "' cannot be opened (truncated or damaged?): ", hdf5_error_text(), advice);
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

void PackReader::check_layout() {
  images_ = open_dataset(file_.get(), "images");
  labels_ = open_dataset(file_.get(), "labels");
  valid_hw_ = open_dataset(file_.get(), "valid_hw");
  source_hw_ = open_dataset(file_.get(), "source_hw");
  names_ = open_dataset(file_.get(), "names");
  const auto images = dims_of(images_.get()), labels = dims_of(labels_.get());
  ATROUS_CHECK(images.size() == 4 && images[3] == 3, "/images is not [N, H, W, 3]");
  ATROUS_CHECK(labels.size() == 3 && labels[1] == images[1] && labels[2] == images[2],
               "/labels is not [N, H, W] of the images' size");
  size_ = static_cast<int64_t>(images[0]);
  metadata_.height = static_cast<int64_t>(images[1]);
  metadata_.width = static_cast<int64_t>(images[2]);
  for (const auto& [name, dataset] : {std::pair<const char*, hid_t>{"labels", labels_.get()},
                                      {"valid_hw", valid_hw_.get()},
                                      {"source_hw", source_hw_.get()},
                                      {"names", names_.get()}})
    ATROUS_CHECK(static_cast<int64_t>(dims_of(dataset)[0]) == size_, "/", name,
                 " does not have one row per image (", dims_of(dataset)[0], " rows for ", size_, " images)");
}

std::string PackReader::description() const {
  return "pack '" + path_ + "'";
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
    Hdf5Handle string_type(utf8_string_type());
    char* name = nullptr;
    read_row(names_.get(), string_type.get(), index, &name);
    record.name = name != nullptr ? name : "";
    H5free_memory(name);
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
