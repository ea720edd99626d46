#include "atrous/eval/logits_file.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <map>

#include "atrous/core/error.h"
#include "atrous/data/hdf5_attributes.h"
#include "atrous/data/hdf5_check.h"
#include "atrous/data/hdf5_output.h"
#include "atrous/data/image_inputs.h"

namespace atrous::eval {

LogitsFile::LogitsFile(std::string path, int64_t num_classes)
    : path_(std::move(path)), output_(OutputFile::for_library(path_)) {
  file_ = data::create_hdf5_output(output_);
  group_ = data::Hdf5Handle(
      ATROUS_HDF5_CHECK(H5Gcreate2(file_.get(), "logits", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  data::write_attribute(file_.get(), "num_classes", num_classes);
}

LogitsFile::~LogitsFile() {  // without commit(), output_ then removes the temporary
  group_.reset(), file_.reset();
}

std::string logits_key(const std::string& name) {
  std::string key = name;
  std::replace(key.begin(), key.end(), '/', '_');
  if (key.find_first_not_of('.') == std::string::npos) key = "_" + key;  // "." and ".." name groups in HDF5
  return key;
}

void check_distinct_logits_keys(const data::ImageInputs& inputs) {
  std::map<std::string, const data::ImageInput*> writer_of;
  for (const data::ImageInput& input : inputs.items) {
    const auto [entry, added] = writer_of.emplace(logits_key(input.name), &input);
    if (!added)
      throw UserError(to_text("infer inputs ", data::describe_input(*entry->second), " and ",
                              data::describe_input(input), " would both write /logits/", entry->first,
                              " in infer.logits_out; rename one, or infer them separately"),
                      ATROUS_HERE);
  }
}

void LogitsFile::write(const std::string& name, const at::Tensor& logits) {
  const at::Tensor data = logits.to(at::kFloat).contiguous().cpu();
  const std::string key = logits_key(name);
  ATROUS_CHECK(H5Lexists(group_.get(), key.c_str(), H5P_DEFAULT) == 0, "/logits/", key, " written twice in '",
               path_, "'; check_distinct_logits_keys() should have refused its inputs");
  const hsize_t dims[3] = {hsize_t(data.size(0)), hsize_t(data.size(1)), hsize_t(data.size(2))};
  data::Hdf5Handle space(ATROUS_HDF5_CHECK(H5Screate_simple(3, dims, nullptr)));
  data::Hdf5Handle dataset(ATROUS_HDF5_CHECK(H5Dcreate2(group_.get(), key.c_str(), H5T_IEEE_F32LE,
                                                        space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)));
  ATROUS_HDF5_CHECK(
      H5Dwrite(dataset.get(), H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, data.data_ptr<float>()));
}

void LogitsFile::commit() {
  group_.reset();
  data::commit_hdf5_output(file_, output_);
}

}  // namespace atrous::eval
