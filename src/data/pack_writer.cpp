#include "atrous/data/pack_writer.h"

#include <chrono>
#include <filesystem>

#include "atrous/core/error.h"
#include "atrous/data/hdf5_attributes.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/data/hdf5_output.h"

namespace atrous::data {
namespace {

// An extendible [0, row...] dataset with one row per chunk.
Hdf5Handle create_rows(hid_t file, const char* name, hid_t type, const std::vector<hsize_t>& row,
                       int compress, bool checksums) {
  std::vector<hsize_t> dims{0}, max_dims{H5S_UNLIMITED}, chunk{1};
  for (hsize_t d : row) dims.push_back(d), max_dims.push_back(d), chunk.push_back(d);
  Hdf5Handle space(
      ATROUS_HDF5_CHECK(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max_dims.data())));
  Hdf5Handle properties(ATROUS_HDF5_CHECK(H5Pcreate(H5P_DATASET_CREATE)));
  ATROUS_HDF5_CHECK(H5Pset_chunk(properties.get(), static_cast<int>(chunk.size()), chunk.data()));
  if (compress > 0) ATROUS_HDF5_CHECK(H5Pset_deflate(properties.get(), static_cast<unsigned>(compress)));
  if (checksums) ATROUS_HDF5_CHECK(H5Pset_fletcher32(properties.get()));  // of the stored bytes
  return Hdf5Handle(ATROUS_HDF5_CHECK(
      H5Dcreate2(file, name, type, space.get(), H5P_DEFAULT, properties.get(), H5P_DEFAULT)));
}

// A packing process that was killed holds no lock on its temporary for longer than this.
constexpr std::chrono::seconds abandoned_after{60};

}  // namespace

PackWriter::PackWriter(std::string path, PackMetadata metadata, int compress, bool checksums)
    : path_(std::move(path)), metadata_(std::move(metadata)), output_(OutputFile::for_library(path_)) {
  ATROUS_ASSERT(metadata_.height > 0 && metadata_.width > 0, "pack size ", metadata_.height, "x",
                metadata_.width);
  ATROUS_CHECK(compress >= 0 && compress <= 9, "gzip level ", compress, " is not in 0..9");
  const std::string folder = std::filesystem::path(path_).parent_path().string();
  remove_abandoned_outputs(folder.empty() ? "." : folder, abandoned_after);
  file_ = create_hdf5_output(output_);
  const auto h = static_cast<hsize_t>(metadata_.height), w = static_cast<hsize_t>(metadata_.width);
  images_ = create_rows(file_.get(), "images", H5T_NATIVE_UINT8, {h, w, 3}, compress, checksums);
  labels_ = create_rows(file_.get(), "labels", H5T_NATIVE_UINT8, {h, w}, compress, checksums);
  valid_hw_ = create_rows(file_.get(), "valid_hw", H5T_NATIVE_INT32, {2}, 0, checksums);
  source_hw_ = create_rows(file_.get(), "source_hw", H5T_NATIVE_INT32, {2}, 0, checksums);
  Hdf5Handle string_type(utf8_string_type());
  names_ = create_rows(file_.get(), "names", string_type.get(), {}, 0, false);  // variable-length
}

PackWriter::~PackWriter() {  // without commit(), output_ then removes the temporary
  names_.reset(), source_hw_.reset(), valid_hw_.reset(), labels_.reset(), images_.reset(), file_.reset();
}

void PackWriter::append_row(const Hdf5Handle& dataset, hid_t type, const void* data,
                            std::vector<hsize_t> row_dims) {
  std::vector<hsize_t> extent{static_cast<hsize_t>(count_ + 1)}, start{static_cast<hsize_t>(count_)},
      count{1};
  for (hsize_t d : row_dims) extent.push_back(d), start.push_back(0), count.push_back(d);
  ATROUS_HDF5_CHECK(H5Dset_extent(dataset.get(), extent.data()));
  Hdf5Handle file_space(ATROUS_HDF5_CHECK(H5Dget_space(dataset.get())));
  ATROUS_HDF5_CHECK(
      H5Sselect_hyperslab(file_space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr));
  Hdf5Handle memory_space(
      ATROUS_HDF5_CHECK(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr)));
  ATROUS_HDF5_CHECK(H5Dwrite(dataset.get(), type, memory_space.get(), file_space.get(), H5P_DEFAULT, data));
}

void PackWriter::append(const std::string& name, const at::Tensor& image, const at::Tensor& label,
                        std::array<int32_t, 2> valid_hw, std::array<int32_t, 2> source_hw) {
  ATROUS_ASSERT(!committed_, "append after commit");
  const auto h = metadata_.height, w = metadata_.width;
  ATROUS_ASSERT(image.sizes() == at::IntArrayRef({h, w, 3}) && image.scalar_type() == at::kByte,
                "image must be uint8 [", h, ", ", w, ", 3], got ", image.scalar_type(), " ", image.sizes());
  ATROUS_ASSERT(label.sizes() == at::IntArrayRef({h, w}) && label.scalar_type() == at::kByte,
                "label must be uint8 [", h, ", ", w, "], got ", label.scalar_type(), " ", label.sizes());
  const at::Tensor image_data = image.contiguous(), label_data = label.contiguous();
  try {
    append_sample(name, image_data, label_data, valid_hw, source_hw);
  } catch (const LibraryError& error) {
    throw_write_error(error);
  }
  ++count_;
}

void PackWriter::append_sample(const std::string& name, const at::Tensor& image_data,
                               const at::Tensor& label_data, std::array<int32_t, 2> valid_hw,
                               std::array<int32_t, 2> source_hw) {
  const auto h = metadata_.height, w = metadata_.width;
  append_row(images_, H5T_NATIVE_UINT8, image_data.data_ptr(),
             {static_cast<hsize_t>(h), static_cast<hsize_t>(w), 3});
  append_row(labels_, H5T_NATIVE_UINT8, label_data.data_ptr(),
             {static_cast<hsize_t>(h), static_cast<hsize_t>(w)});
  append_row(valid_hw_, H5T_NATIVE_INT32, valid_hw.data(), {2});
  append_row(source_hw_, H5T_NATIVE_INT32, source_hw.data(), {2});
  Hdf5Handle string_type(utf8_string_type());
  const char* text = name.c_str();
  append_row(names_, string_type.get(), &text, {});
}

void PackWriter::throw_write_error(const LibraryError& error) const {
  const std::string reason = hdf5_system_reason(error.library_message());
  throw UserError(
      to_text("cannot write the pack '", path_, "': ", reason.empty() ? "the write failed" : reason,
              "; nothing was written there. Check the space left in its folder (HDF5: ",
              error.library_message(), ")"),
      ATROUS_HERE);
}

void PackWriter::commit() {
  ATROUS_ASSERT(!committed_, "commit twice");
  try {
    write_attributes();
  } catch (const LibraryError& error) {
    throw_write_error(error);
  }
  names_.reset(), source_hw_.reset(), valid_hw_.reset(), labels_.reset(), images_.reset();
  commit_hdf5_output(file_, output_);
  committed_ = true;
}

void PackWriter::write_attributes() {
  const hid_t root = file_.get();
  write_attribute(root, "format", std::string(pack_format_name));
  write_attribute(root, "version", int64_t{pack_format_version});
  write_attribute(root, "num_classes", int64_t{metadata_.num_classes});
  write_attribute(root, "ignore_label", int64_t{metadata_.ignore_label});
  write_attribute(root, "class_names", metadata_.class_names);
  std::vector<uint8_t> palette;
  for (const auto& colour : metadata_.palette) palette.insert(palette.end(), colour.begin(), colour.end());
  write_attribute(root, "palette", palette, metadata_.palette.size(), 3);
  write_attribute(root, "mean_rgb", std::vector<float>(metadata_.mean_rgb.begin(), metadata_.mean_rgb.end()));
  write_attribute(root, "interpolation", metadata_.interpolation);
  write_attribute(root, "resize_policy", metadata_.resize_policy);
  write_attribute(root, "source_format", metadata_.source_format);
  write_attribute(root, "split", metadata_.split);
}

}  // namespace atrous::data
