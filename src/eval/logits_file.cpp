#include "atrous/eval/logits_file.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "atrous/data/hdf5_attributes.h"
#include "atrous/data/hdf5_check.h"

namespace atrous::eval {

LogitsFile::LogitsFile(std::string path, int64_t num_classes)
    : path_(std::move(path)), partial_(path_ + ".partial") {
  file_ = data::Hdf5Handle(
      ATROUS_HDF5_CHECK(H5Fcreate(partial_.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)));
  group_ = data::Hdf5Handle(
      ATROUS_HDF5_CHECK(H5Gcreate2(file_.get(), "logits", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  data::write_attribute(file_.get(), "num_classes", num_classes);
}

LogitsFile::~LogitsFile() {
  if (committed_) return;
  group_.reset(), file_.reset();
  std::remove(partial_.c_str());
}

void LogitsFile::write(const std::string& name, const at::Tensor& logits) {
  const at::Tensor data = logits.to(at::kFloat).contiguous().cpu();
  std::string key = name;
  std::replace(key.begin(), key.end(), '/', '_');
  const hsize_t dims[3] = {hsize_t(data.size(0)), hsize_t(data.size(1)), hsize_t(data.size(2))};
  data::Hdf5Handle space(ATROUS_HDF5_CHECK(H5Screate_simple(3, dims, nullptr)));
  data::Hdf5Handle dataset(ATROUS_HDF5_CHECK(H5Dcreate2(group_.get(), key.c_str(), H5T_IEEE_F32LE,
                                                        space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  ATROUS_HDF5_CHECK(
      H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data_ptr<float>()));
}

void LogitsFile::commit() {
  group_.reset(), file_.reset();
  std::filesystem::rename(partial_, path_);
  committed_ = true;
}

}  // namespace atrous::eval
